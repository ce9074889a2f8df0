"""Notebook 07's exercises: GAE with terminated/truncated episodes, and the k-step advantage."""

from __future__ import annotations

import torch

from .. import advantages
from ._core import Exercise, Mistake


# --- Exercise 7.1: GAE ----------------------------------------------------------------------------
def _gae_cases() -> list[dict]:
    g = torch.Generator().manual_seed(71)
    out = []
    for T, N, gamma, lam in ((6, 1, 0.9, 0.8), (10, 3, 0.99, 0.95), (8, 2, 0.9, 0.5), (7, 4, 0.95, 1.0)):
        values = torch.randn(T, N, generator=g, dtype=torch.float64)
        terminated = torch.rand(T, N, generator=g) < 0.2
        truncated = (torch.rand(T, N, generator=g) < 0.2) & ~terminated
        terminated[2, 0], truncated[2, 0] = True, False  # every case has both kinds of episode end
        truncated[4, 0], terminated[4, 0] = True, False
        final = torch.randn(T, N, generator=g, dtype=torch.float64)
        next_values = advantages.bootstrap_next_values(values, torch.randn(N, generator=g, dtype=torch.float64),
                                                       truncated, final)
        out.append({"rewards": torch.randn(T, N, generator=g, dtype=torch.float64), "values": values,
                    "next_values": next_values, "terminated": terminated, "truncated": truncated,
                    "gamma": gamma, "lam": lam})
    return out


def gae_solution(rewards, values, next_values, terminated, truncated, gamma, lam):
    T = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(T)):
        not_term = (~terminated[t]).to(rewards.dtype)
        not_done = (~(terminated[t] | truncated[t])).to(rewards.dtype)
        delta = rewards[t] + gamma * not_term * next_values[t] - values[t]
        running = delta + gamma * lam * not_done * running
        adv[t] = running
    return adv


def _gae_variant(rewards, values, next_values, terminated, truncated, gamma, lam, *, mask="done", boot="term",
                 shift=False):
    T = rewards.shape[0]
    done = terminated | truncated
    no_boot = {"term": terminated, "done": done, "never": torch.zeros_like(terminated)}[boot]
    if mask == "none":
        keep = torch.ones_like(rewards)
    elif mask == "term":  # the λ-sum stops at terminations only
        keep = (~terminated).to(rewards.dtype)
    elif shift:  # the mask of the *next* row
        keep = torch.cat([(~done[1:]).to(rewards.dtype), torch.ones_like(rewards[:1])])
    else:
        keep = (~done).to(rewards.dtype)
    adv = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(T)):
        delta = rewards[t] + gamma * (~no_boot[t]).to(rewards.dtype) * next_values[t] - values[t]
        running = delta + gamma * lam * keep[t] * running
        adv[t] = running
    return adv


gae = Exercise(
    name="gae",
    title="GAE Â_t = δ_t + γλ(1 − done_t)Â_{t+1} with terminated and truncated episodes, eq. (7.3)",
    reference=advantages.gae,
    cases=_gae_cases,
    solution_fn=gae_solution,
    mistakes=(
        Mistake("missing_done_mask", "Your λ-sum runs across episode boundaries: multiply γλÂ_{t+1} by (1 − done_t), "
                "where done = terminated or truncated; the next row belongs to another episode.",
                lambda **kw: _gae_variant(**kw, mask="none")),
        Mistake("bootstrap_through_termination", "You bootstrapped through a termination: when terminated_t the "
                "future is worth 0, so δ_t = r_t − V(s_t).", lambda **kw: _gae_variant(**kw, boot="never")),
        Mistake("no_bootstrap_at_truncation", "You treated a truncation as a termination: a time limit cuts the "
                "episode "
                "but the state still has a future, so δ_t keeps γV(s_{t+1}) (the real final observation).",
                lambda **kw: _gae_variant(**kw, boot="done")),
        Mistake("truncation_ignored", "Your λ-sum stops at terminations but runs on through truncations: a time "
                "limit ends the episode too, so multiply γλÂ_{t+1} by (1 − done_t) with done = terminated or "
                "truncated (δ_t still bootstraps from the final observation there).",
                lambda **kw: _gae_variant(**kw, mask="term")),
        Mistake("done_mask_off_by_one", "Your done mask is shifted by one step: Â_t stops at done_t (the end of *this* "
                "step's episode), not at done_{t+1}.", lambda **kw: _gae_variant(**kw, shift=True)),
    ),
    hints=(
        "Go backwards in time with a running sum that starts at 0 after the last row.",
        "δ_t = r_t + γ(1 − terminated_t)V(s_{t+1}) − V(s_t): only a termination removes the bootstrap.",
        "Â_t = δ_t + γλ(1 − done_t)Â_{t+1} with done = terminated | truncated: both stop the λ-sum.",
    ),
)


# --- Exercise 7.2: the k-step advantage -------------------------------------------------------------
def _k_cases() -> list[dict]:
    g = torch.Generator().manual_seed(72)
    out = []
    for T, k, gamma in ((5, 2, 0.9), (8, 3, 0.99), (6, 1, 0.8), (7, 10, 0.9)):
        values = torch.randn(T, generator=g, dtype=torch.float64)
        terminated = torch.zeros(T, dtype=torch.bool)
        terminated[-1] = True
        terminated[T // 2] = True
        next_values = torch.cat([values[1:], torch.zeros(1, dtype=torch.float64)])
        out.append({"rewards": torch.randn(T, generator=g, dtype=torch.float64), "values": values,
                    "next_values": next_values, "terminated": terminated, "gamma": gamma, "k": k})
    return out


def k_step_solution(rewards, values, next_values, terminated, gamma, k):
    T = len(rewards)
    adv = torch.zeros_like(rewards)
    for t in range(T):
        total, discount = 0.0, 1.0
        for j in range(t, min(t + k, T)):
            total = total + discount * rewards[j]
            if terminated[j]:
                break  # no future after a termination
            if j == min(t + k, T) - 1:
                total = total + discount * gamma * next_values[j]  # then the critic
            discount *= gamma
        adv[t] = total - values[t]
    return adv


def _k_variant(rewards, values, next_values, terminated, gamma, k, *, boot=True, minus_v=True, power_shift=0):
    T = len(rewards)
    adv = torch.zeros_like(rewards)
    for t in range(T):
        total = 0.0
        for i, j in enumerate(range(t, min(t + k, T))):
            total = total + gamma**i * rewards[j]
            if terminated[j] and boot:
                break
            if j == min(t + k, T) - 1 or terminated[j]:
                total = total + gamma ** (i + 1 - power_shift) * next_values[j]
                break
        adv[t] = total - (values[t] if minus_v else 0.0)
    return adv


k_step_advantage = Exercise(
    name="k_step_advantage",
    title="The k-step advantage Â^(k)_t = Σ_{l<k} γ^l r_{t+l} + γ^k V(s_{t+k}) − V(s_t), eq. (7.2)",
    reference=lambda rewards, values, next_values, terminated, gamma, k: advantages.k_step_advantages(
        rewards, values, next_values, terminated, None, gamma, k),
    cases=_k_cases,
    solution_fn=k_step_solution,
    mistakes=(
        Mistake("bootstrap_through_termination", "You added γ^l V(s') after a termination: a terminated episode has no "
                "future, stop at its last reward.", lambda **kw: _k_variant(**kw, boot=False)),
        Mistake("missing_baseline", "You estimated Q, not A: subtract V(s_t).",
                lambda **kw: _k_variant(**kw, minus_v=False)),
        Mistake("bootstrap_discount_off_by_one", "The bootstrap after k rewards is weighted γ^k, not γ^(k−1).",
                lambda **kw: _k_variant(**kw, power_shift=1)),
    ),
    hints=("For each t, add up to k discounted rewards, stopping early at a termination or at the batch end.",
           "If you stopped because you used k rewards (or ran out of batch), add γ^(number of rewards) · V(s_next); "
           "next_values[j] is V(s_{j+1})."),
)


# --- Exercise 7.3: the variance of GAE with a perfect critic (derive) ------------------------------
def _variance_cases() -> list[dict]:
    g = torch.Generator().manual_seed(73)
    out = [{"delta_variances": torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64), "gamma": 0.5, "lam": 0.9}]
    for L, gamma, lam in ((6, 0.9, 0.8), (10, 0.99, 0.95), (8, 0.95, 0.3)):
        out.append({"delta_variances": torch.rand(L, generator=g, dtype=torch.float64) * 2, "gamma": gamma, "lam": lam})
    return out


def gae_variance_solution(delta_variances, gamma, lam):
    weights = (gamma * lam) ** torch.arange(len(delta_variances), dtype=torch.float64)
    return (weights**2 * delta_variances).sum()  # uncorrelated terms: the variances add, with squared weights


def _weighted(delta_variances, base, power):
    return (base ** (power * torch.arange(len(delta_variances), dtype=torch.float64)) * delta_variances).sum()


gae_variance = Exercise(
    name="gae_variance",
    title="Var[Â_0] = Σ_l (γλ)^(2l) Var[δ_l] for uncorrelated δ's (a perfect critic), derived from (7.3)",
    reference=advantages.uncorrelated_gae_variance,
    cases=_variance_cases,
    solution_fn=gae_variance_solution,
    mistakes=(
        Mistake("weights_not_squared", "Var[c·X] = c²·Var[X]: each variance is weighted by (γλ)^(2l), the square of "
                "δ_l's weight in Â_0, not by (γλ)^l.",
                lambda delta_variances, gamma, lam: _weighted(delta_variances, gamma * lam, 1)),
        Mistake("treated_as_correlated", "You added standard deviations and squared the sum: that is the variance "
                "of perfectly correlated terms. With a perfect critic the δ's are uncorrelated, so the variances add.",
                lambda delta_variances, gamma, lam: (((gamma * lam) ** torch.arange(
                    len(delta_variances), dtype=torch.float64)) * delta_variances.sqrt()).sum() ** 2),
        Mistake("gamma_missing", "δ_l enters Â_0 with the weight (γλ)^l, not λ^l: the discount is part of it.",
                lambda delta_variances, gamma, lam: _weighted(delta_variances, lam, 2)),
        Mistake("lambda_missing", "δ_l enters Â_0 with the weight (γλ)^l, not γ^l: λ is what shortens the sum.",
                lambda delta_variances, gamma, lam: _weighted(delta_variances, gamma, 2)),
    ),
    hints=(
        "Â_0 = Σ_l w_l δ_l with w_l = (γλ)^l. For uncorrelated terms, Var[Σ_l w_l δ_l] = Σ_l Var[w_l δ_l].",
        "Var[w δ] = w² Var[δ].",
    ),
)
