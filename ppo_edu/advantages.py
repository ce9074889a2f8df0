"""TD residuals, generalised advantage estimation (GAE) and advantage normalisation.

With V the critic, the TD residual of step t is

    δ_t = r_t + γ (1 − terminated_t) V(s_{t+1}) − V(s_t)                              (7.1)

and GAE(γ, λ) is the exponentially weighted sum of the residuals that follow, inside one
episode:

    Â_t = Σ_{l≥0} (γλ)^l δ_{t+l} = δ_t + γλ (1 − done_t) Â_{t+1}                     (7.3)

where ``done_t = terminated_t or truncated_t``. The two flags play different roles:

* **terminated** (the pole fell): the episode truly ended, the future is worth 0, so the
  bootstrap term γV(s_{t+1}) is dropped from δ_t.
* **truncated** (a time limit): the episode was cut, not ended. The future still has value,
  so δ_t bootstraps from V of the real final observation s_{t+1}.

In both cases the λ-recursion stops at ``done_t``: the next row of the batch belongs to a new
episode. This module therefore takes ``next_values`` explicitly, V(s_{t+1}) for each step,
which is exactly what a vector environment with autoreset provides (use
:func:`bootstrap_next_values` to build it).

Layout is time-major: (T,) for one stream or (T, N) for N parallel environments.
"""

from __future__ import annotations

from typing import Any

import torch

from .validate import (
    as_bool_mask,
    as_float,
    check_int,
    check_ndim,
    check_same_shape,
    check_unit_interval,
)

Tensor = torch.Tensor


def _flags(name: str, x: Any | None, like: Tensor) -> Tensor:
    if x is None:
        return torch.zeros_like(like, dtype=torch.bool)
    flags = as_bool_mask(name, x, like)
    check_same_shape("rewards", like, **{name: flags})
    return flags


def td_residuals(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any | None,
    gamma: float,
) -> Tensor:
    """δ_t = r_t + γ (1 − terminated_t) V(s_{t+1}) − V(s_t), eq. (7.1).

    Args:
        rewards: r_t.  values: V(s_t).  next_values: V(s_{t+1}), the value of the observation
            that followed step t (on truncation: of the real final observation).
        terminated: True where s_{t+1} is terminal (its value is taken as 0); ``None`` = never.
        gamma: discount γ in [0, 1].

    Shapes:
        every tensor argument and the result: (T,) or (T, N).
    """
    r = check_ndim("rewards", as_float("rewards", rewards), (1, 2), "(T,) or (T, N)")
    if r.shape[0] == 0:
        raise ValueError(f"rewards: expected at least one time step (T >= 1), got shape {tuple(r.shape)}")
    v = as_float("values", values, r)
    nv = as_float("next_values", next_values, r)
    check_same_shape("rewards", r, values=v, next_values=nv)
    g = check_unit_interval("gamma", gamma)
    term = _flags("terminated", terminated, r)
    return r + g * (~term).to(r.dtype) * nv - v


@torch.no_grad()
def gae(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any | None,
    truncated: Any | None,
    gamma: float,
    lam: float,
) -> Tensor:
    """Generalised advantage estimates Â_t = δ_t + γλ (1 − done_t) Â_{t+1}, eq. (7.3).

    λ = 0 gives the one-step TD residual δ_t; λ = 1 gives the Monte-Carlo return
    (bootstrapped at truncations and at the end of the batch) minus V(s_t).

    Args:
        rewards, values, next_values, terminated, gamma: as in :func:`td_residuals`.
        truncated: True where the episode was cut by a time limit after step t (bootstrapped
            through ``next_values``, but the λ-sum stops there); ``None`` = never.
        lam: λ in [0, 1].

    The result carries no gradient: advantages are constants in the PPO objective.

    Shapes:
        every tensor argument and the result: (T,) or (T, N).
    """
    l = check_unit_interval("lam", lam)
    delta = td_residuals(rewards, values, next_values, terminated, gamma)
    r = delta  # same shape/device as rewards
    done = _flags("terminated", terminated, r) | _flags("truncated", truncated, r)
    decay = float(gamma) * l * (~done).to(delta.dtype)
    adv = torch.empty_like(delta)
    running = torch.zeros_like(delta[0])
    for t in reversed(range(delta.shape[0])):
        running = delta[t] + decay[t] * running
        adv[t] = running
    return adv


def uncorrelated_gae_variance(delta_variances: Any, gamma: float, lam: float) -> Tensor:
    """Var[Â_t] = Σ_l (γλ)^(2l) Var[δ_{t+l}] when the δ's are uncorrelated (a perfect critic), eq. (7.5).

    With the true V^π, E[δ_{t+l} | everything before t + l] = 0, so the δ's are uncorrelated and
    the variance of their weighted sum (7.3) is the sum of the weighted variances.

    Shapes:
        delta_variances: (L,) for l = 0 … L − 1;  result: ().
    """
    v = check_ndim("delta_variances", as_float("delta_variances", delta_variances, int_dtype=torch.float64), (1,), "(L,)")
    if bool((v < 0).any()):
        raise ValueError("delta_variances: expected variances >= 0")
    g, l = check_unit_interval("gamma", gamma), check_unit_interval("lam", lam)
    return ((g * l) ** (2 * torch.arange(len(v), dtype=v.dtype)) * v).sum()


def bootstrap_next_values(
    values: Any,
    last_value: Any,
    truncated: Any | None = None,
    final_values: Any | None = None,
) -> Tensor:
    """Build V(s_{t+1}) for every step of a rollout collected with autoreset.

    Inside an episode the next state's value is simply the next row, ``values[t+1]``; after the
    last row it is ``last_value`` = V(s_T). Where step t was truncated, the next row is already
    the first state of a new episode, so V(s_{t+1}) must come from the real final observation
    instead: ``final_values[t]``. (Rows after a termination keep ``values[t+1]``: GAE multiplies
    them by 0.)

    Shapes:
        values, truncated, final_values, result: (T,) or (T, N);  last_value: () or (N,).
    """
    v = check_ndim("values", as_float("values", values), (1, 2), "(T,) or (T, N)")
    lv = as_float("last_value", last_value, v)
    if tuple(lv.shape) not in ((), tuple(v.shape[1:])):
        raise ValueError(f"last_value: expected shape () or {tuple(v.shape[1:])}, got {tuple(lv.shape)}")
    nxt = torch.cat([v[1:], lv.expand_as(v[:1])], dim=0)
    if truncated is None:
        return nxt
    trunc = _flags("truncated", truncated, v)
    if final_values is None:
        if bool(trunc.any()):
            raise ValueError("final_values: required where truncated is True (the value of the real final observation)")
        return nxt
    fv = as_float("final_values", final_values, v)
    check_same_shape("values", v, final_values=fv)
    return torch.where(trunc, fv, nxt)


def normalize(advantages: Any, eps: float = 1e-8) -> Tensor:
    """Whiten advantages over **all** their entries: (Â − mean) / (std + eps).

    PPO normalises over the minibatch as a whole (every time step and environment
    together), not per column or per row.

    Shapes:
        advantages, result: any shape with at least 2 entries.
    """
    a = as_float("advantages", advantages)
    if a.numel() < 2:
        raise ValueError(f"advantages: expected at least 2 entries to normalise, got {a.numel()}")
    return (a - a.mean()) / (a.std() + eps)


def k_step_advantages(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any | None,
    truncated: Any | None,
    gamma: float,
    k: int,
) -> Tensor:
    """The k-step advantage estimate Â_t^(k) = Σ_{l<k} γ^l δ_{t+l}, eq. (7.2), inside one episode.

    When ``next_values[t] = values[t+1]`` inside an episode (as a rollout gives them) the sum
    telescopes to Â_t^(k) = r_t + γ r_{t+1} + … + γ^{k−1} r_{t+k−1} + γ^k V(s_{t+k}) − V(s_t):
    k rewards, then the critic. The sum stops early where the episode ends (terminated: no
    bootstrap; truncated: bootstrap from ``next_values``) or where the batch ends (bootstrap
    from ``next_values`` of the last row). k = 1 is δ_t; k ≥ T is the Monte-Carlo estimate where
    the episode terminates inside the batch (elsewhere it bootstraps at the truncation or the batch's end).

    Shapes:
        every tensor argument and the result: (T,) or (T, N).
    """
    check_int("k", k)
    delta = td_residuals(rewards, values, next_values, terminated, gamma)
    done = _flags("terminated", terminated, delta) | _flags("truncated", truncated, delta)
    out = delta.clone()
    weight = torch.ones_like(delta)  # γ^l · [no episode end in steps t … t+l−1]
    for l in range(1, min(k, delta.shape[0])):
        weight = weight[:-1] * float(gamma) * (~done[l - 1 : delta.shape[0] - 1]).to(delta.dtype)
        out[:-l] += weight * delta[l:]
    return out


def lambda_average(k_step: Any, lam: float) -> Tensor:
    """(1 − λ) Σ_{k=1}^{K−1} λ^{k−1} Â^(k) + λ^{K−1} Â^(K): the λ-average of k-step estimates, eq. (7.4).

    ``k_step[k−1]`` holds Â^(k). Over a batch of length T every Â^(k) with k ≥ T equals Â^(T)
    (the sum has run out of steps), so the infinite tail of weights (1 − λ)λ^{k−1}, k ≥ K,
    collapses onto the last entry as λ^{K−1}. With K = T this equals :func:`gae` exactly.

    Shapes:
        k_step: (K, T) or (K, T, N);  result: (T,) or (T, N).
    """
    l = check_unit_interval("lam", lam)
    a = check_ndim("k_step", as_float("k_step", k_step), (2, 3), "(K, T) or (K, T, N)")
    K = a.shape[0]
    w = torch.tensor([(1 - l) * l ** (k - 1) for k in range(1, K)] + [l ** (K - 1)], dtype=a.dtype, device=a.device)
    return torch.einsum("k,k...->...", w, a)


def from_action_values(q: Any, pi: Any) -> Tensor:
    """The advantage A(s, a) = Q(s, a) − V(s) with V(s) = Σ_a π(a|s) Q(s, a), eq. (3.4); Σ_a π A = 0.

    Shapes:
        q: (S, A) action values;  pi: (S, A) rows of probabilities;  result: (S, A).
    """
    Q = check_ndim("q", as_float("q", q, None, torch.float64), (2,), "(S, A)")
    p = as_float("pi", pi, Q)
    check_same_shape("q", Q, pi=p)
    if bool((p < 0).any()) or not torch.allclose(p.sum(-1), torch.ones_like(p[:, 0])):
        raise ValueError("pi: expected rows of probabilities that sum to 1")
    return Q - (p * Q).sum(dim=-1, keepdim=True)
