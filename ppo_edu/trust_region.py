"""Keeping the new policy near the old one: unclipped surrogate, PPO-clip and PPO-penalty side by side.

Notebook 05 compares the three ways of reusing one batch for several gradient steps on a
multi-armed bandit, where everything that matters is exact: the expected reward
J(θ) = Σ_a π_θ(a) μ_a and the divergence KL(π_old ‖ π_θ).

Each iteration samples a batch of actions from π_old, scores them with noisy rewards, uses
Â = r − J(θ_old) (the exact baseline V), then takes ``n_epochs`` Adam steps on one of

    surrogate:  −mean(ρ Â)                                   (no constraint)
    clip:       −mean(min(ρ Â, clip(ρ, 1 − ε, 1 + ε) Â))     (5.2)
    penalty:    −mean(ρ Â − β KL(π_old ‖ π_θ))               (5.3), β adapted by (5.4)

all from :mod:`ppo_edu.losses`.
"""

from __future__ import annotations

import torch

from . import losses
from .validate import check_int, check_positive

Tensor = torch.Tensor
METHODS = ("surrogate", "clip", "penalty")


def bandit_means(n_actions: int = 5, seed: int = 0) -> Tensor:
    """Seeded mean rewards μ_a of a bandit, spread over [0, 1] (float64, shape (A,))."""
    check_int("n_actions", n_actions, minimum=2)
    return torch.rand(n_actions, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def policy_update_study(
    method: str,
    means: Tensor,
    n_iterations: int = 15,
    n_epochs: int = 20,
    batch_size: int = 64,
    lr: float = 0.1,
    clip_eps: float = 0.2,
    kl_target: float = 0.01,
    beta0: float = 1.0,
    reward_std: float = 1.0,
    seed: int = 0,
) -> dict[str, Tensor]:
    """Run ``n_iterations`` of collect-then-update with one of :data:`METHODS`.

    Every method sees the same batches in its first iteration (the generator is seeded the
    same way). Returns per-iteration tensors (length ``n_iterations + 1`` for ``J``, which
    includes the start): ``J`` (exact expected reward), ``kl`` (exact KL(π_old ‖ π_new) of each
    update), ``beta`` (the β used, penalty only; NaN otherwise) and ``clip_fraction``.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    check_positive("lr", lr)
    g = torch.Generator().manual_seed(seed)
    logits = torch.zeros(len(means), dtype=torch.float64, requires_grad=True)
    beta = float(beta0)
    hist: dict[str, list[float]] = {"J": [float(torch.softmax(logits.detach(), -1) @ means)], "kl": [], "beta": [],
                                    "clip_fraction": []}
    for _ in range(n_iterations):
        old_logits = logits.detach().clone()
        pi_old = torch.softmax(old_logits, -1)
        actions = torch.multinomial(pi_old, batch_size, replacement=True, generator=g)
        rewards = means[actions] + reward_std * torch.randn(batch_size, generator=g, dtype=torch.float64)
        adv = rewards - float(pi_old @ means)  # Â = r − V, with the exact V = J(θ_old)
        logp_old = torch.log_softmax(old_logits, -1)[actions]
        opt = torch.optim.Adam([logits], lr=lr)
        for _ in range(n_epochs):
            logp_new = torch.log_softmax(logits, -1)[actions]
            if method == "surrogate":
                loss = -(losses.ratio(logp_new, logp_old) * adv).mean()
            elif method == "clip":
                loss = losses.clipped_surrogate_loss(logp_new, logp_old, adv, clip_eps)
            else:
                kl = losses.categorical_kl(old_logits, logits).expand(batch_size)
                loss = losses.kl_penalty_loss(logp_new, logp_old, adv, kl, beta)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            kl_now = float(losses.categorical_kl(old_logits, logits))
            rho = losses.ratio(torch.log_softmax(logits, -1)[actions], logp_old)
            hist["clip_fraction"].append(float(losses.clip_fraction(rho, clip_eps)))
            hist["J"].append(float(torch.softmax(logits, -1) @ means))
        hist["kl"].append(kl_now)
        hist["beta"].append(beta if method == "penalty" else float("nan"))
        if method == "penalty":
            beta = losses.adaptive_beta(beta, kl_now, kl_target)
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in hist.items()}
