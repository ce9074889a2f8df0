"""Discounted returns and reward-to-go.

The reward-to-go from step t of an episode that ends at step T-1 is

    G_t = r_t + γ r_{t+1} + γ² r_{t+2} + … = Σ_{t'=t}^{T-1} γ^{t'-t} r_{t'}          (3.1)

computed backwards with the recursion G_t = r_t + γ (1 − done_t) G_{t+1}. ``done_t`` marks
the last step of an episode, so a batch that holds several episodes back to back is cut
at each episode end and no reward leaks from one episode into the one before it.

Layout is time-major: rewards are (T,) for one stream or (T, N) for N parallel streams.
"""

from __future__ import annotations

from typing import Any

import torch

from .validate import (
    as_bool_mask,
    as_float,
    check_ndim,
    check_same_shape,
    check_unit_interval,
)

Tensor = torch.Tensor


def _prepare_rewards(rewards: Any) -> Tensor:
    r = check_ndim("rewards", as_float("rewards", rewards), (1, 2), "(T,) or (T, N)")
    if r.shape[0] == 0:
        raise ValueError("rewards: expected at least one time step, got T = 0")
    return r


def discounted_returns(
    rewards: Any,
    gamma: float,
    dones: Any | None = None,
    last_value: Any | None = None,
) -> Tensor:
    """Reward-to-go G_t = r_t + γ(1 − done_t) G_{t+1}, eq. (3.1), cut at episode ends.

    Args:
        rewards: r_t.
        gamma: discount γ in [0, 1].
        dones: True where step t is the last step of an episode (terminated or truncated);
            the return does not look past it. ``None`` means no episode ends inside the batch.
        last_value: optional bootstrap G_T for the step after the batch (e.g. V(s_T)),
            used only for streams whose last step is not done. Default 0.

    Shapes:
        rewards, dones: (T,) or (T, N);  last_value: () or (N,);  returns: like rewards.
    """
    r = _prepare_rewards(rewards)
    g = check_unit_interval("gamma", gamma)
    done = torch.zeros_like(r, dtype=torch.bool) if dones is None else as_bool_mask("dones", dones, r)
    check_same_shape("rewards", r, dones=done)
    running = torch.zeros_like(r[0])
    if last_value is not None:
        lv = as_float("last_value", last_value, like=r)
        if tuple(lv.shape) not in ((), tuple(r.shape[1:])):
            raise ValueError(f"last_value: expected shape () or {tuple(r.shape[1:])}, got {tuple(lv.shape)}")
        running = running + lv
    keep = g * (~done).to(r.dtype)  # γ(1 − done_t), in the rewards' precision
    out = torch.empty_like(r)
    for t in reversed(range(r.shape[0])):
        running = r[t] + keep[t] * running
        out[t] = running
    return out


def total_return(rewards: Any, gamma: float = 1.0) -> Tensor:
    """The discounted return of a whole episode, R(τ) = Σ_t γ^t r_t (what vanilla REINFORCE weights every step by).

    Shapes:
        rewards: (T,) or (T, N);  result: () or (N,).
    """
    r = _prepare_rewards(rewards)
    g = check_unit_interval("gamma", gamma)
    powers = g ** torch.arange(r.shape[0], dtype=r.dtype, device=r.device)
    return torch.einsum("t,t...->...", powers, r)
