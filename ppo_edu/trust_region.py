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
METHODS = ("pg", "surrogate", "clip", "penalty")


def bandit_means(n_actions: int = 5, seed: int = 0) -> Tensor:
    """Seeded mean rewards μ_a of a bandit, spread over [0, 1] (float64, shape (A,))."""
    check_int("n_actions", n_actions, minimum=2)
    return torch.rand(n_actions, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _objective(method: str, logits: Tensor, old_logits: Tensor, actions: Tensor, logp_old: Tensor, adv: Tensor,
               clip_eps: float, beta: Tensor) -> Tensor:
    """Per-sample objective (K, B) of ``method``, to be maximised."""
    logp_new = torch.log_softmax(logits, -1).gather(-1, actions)
    rho = losses.ratio(logp_new, logp_old)
    if method == "clip":
        return losses.clipped_surrogate(rho, adv, clip_eps)
    if method == "penalty":
        return rho * adv - beta[:, None] * losses.categorical_kl(old_logits, logits)[:, None]
    return rho * adv  # "pg" (one epoch: the vanilla policy gradient) and "surrogate"


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
    return_logits: bool = False,
) -> dict[str, Tensor]:
    """Run ``n_iterations`` of collect-then-update with one of :data:`METHODS`.

    ``pg`` takes a single Adam step per batch (one epoch of the surrogate, whose gradient at
    θ_old is the vanilla policy gradient): the baseline that shows what reusing a batch buys.
    The others take ``n_epochs`` steps. ``means`` may hold K bandits, (K, A): they are run side
    by side, each with its own logits, batches and β (Adam's update is per parameter, so this is
    exactly K separate runs). Every method sees the same first batch (same seed).

    Returns per-iteration tensors, with a leading K axis when ``means`` is (K, A): ``J`` (exact
    expected reward, n_iterations + 1 entries including the start), ``kl`` (exact
    KL(π_old ‖ π_new) of each update), ``beta`` (the β used, penalty only; NaN otherwise) and
    ``clip_fraction``; with ``return_logits``, also the final ``logits``.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    check_positive("lr", lr)
    mu = torch.as_tensor(means, dtype=torch.float64)
    if mu.ndim not in (1, 2) or mu.shape[-1] < 2:
        raise ValueError(f"means: expected shape (A,) or (K, A) with A >= 2, got {tuple(mu.shape)}")
    m2 = mu if mu.ndim == 2 else mu[None]
    K = m2.shape[0]
    g = torch.Generator().manual_seed(seed)
    logits = torch.zeros_like(m2, requires_grad=True)
    beta = torch.full((K,), float(beta0), dtype=torch.float64)
    hist: dict[str, list[Tensor]] = {"J": [(torch.softmax(logits.detach(), -1) * m2).sum(-1)], "kl": [], "beta": [],
                                     "clip_fraction": []}
    for _ in range(n_iterations):
        old_logits = logits.detach().clone()
        pi_old = torch.softmax(old_logits, -1)
        actions = torch.multinomial(pi_old, batch_size, replacement=True, generator=g)  # (K, B)
        noise = torch.randn(K, batch_size, generator=g, dtype=torch.float64)
        adv = m2.gather(-1, actions) + reward_std * noise - (pi_old * m2).sum(-1, keepdim=True)  # Â = r − V, exact V
        logp_old = torch.log_softmax(old_logits, -1).gather(-1, actions)
        opt = torch.optim.Adam([logits], lr=lr)
        for _ in range(1 if method == "pg" else n_epochs):
            per_sample = _objective(method, logits, old_logits, actions, logp_old, adv, clip_eps, beta)
            loss = -per_sample.mean(-1).sum()  # Σ_k of each bandit's own loss
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            kl_now = losses.categorical_kl(old_logits, logits)
            rho = losses.ratio(torch.log_softmax(logits, -1).gather(-1, actions), logp_old)
            hist["clip_fraction"].append(((rho - 1).abs() > clip_eps).to(torch.float64).mean(-1))
            hist["J"].append((torch.softmax(logits, -1) * m2).sum(-1))
        hist["kl"].append(kl_now)
        hist["beta"].append(beta.clone() if method == "penalty" else torch.full((K,), float("nan"), dtype=torch.float64))
        if method == "penalty":
            beta = torch.tensor([losses.adaptive_beta(float(b), float(d), kl_target) for b, d in zip(beta, kl_now, strict=True)],
                                dtype=torch.float64)
    out = {k: torch.stack(v, -1) for k, v in hist.items()}
    if return_logits:
        out["logits"] = logits.detach().clone()
    return out if mu.ndim == 2 else {k: v[0] for k, v in out.items()}


def bandit_study(n_bandits: int = 200, n_actions: int = 5, methods: tuple[str, ...] = METHODS, drop: float = 0.05,
                 **kwargs) -> dict[str, dict[str, Tensor]]:
    """:func:`policy_update_study` on ``n_bandits`` random bandits (bandit k has ``bandit_means(n_actions, k)``).

    For each method, adds per-bandit summaries to its history: ``gain`` = (J_t − J_0)/(max μ − J_0),
    the fraction of the possible improvement reached after each iteration (K, n_iterations + 1),
    and ``drops`` = the number of updates that lowered J by more than ``drop`` (K,).
    """
    check_int("n_bandits", n_bandits)
    means = torch.stack([bandit_means(n_actions, seed=k) for k in range(n_bandits)])
    out = {}
    for m in methods:
        h = policy_update_study(m, means, **kwargs)
        j0, best = h["J"][:, :1], means.max(-1).values[:, None]
        h["gain"] = (h["J"] - j0) / (best - j0)
        h["drops"] = (h["J"][:, 1:] < h["J"][:, :-1] - drop).sum(-1)
        out[m] = h
    return out


def update_line(means: Tensor, alphas: Tensor, beta: float = 1.0, clip_eps: float = 0.2, **kwargs) -> dict[str, Tensor]:
    """The PPO paper's Fig. 2 on one bandit: objectives along θ = θ_old + α (θ_clip − θ_old).

    θ_old is the uniform start, θ_clip the logits after one PPO-clip iteration (``kwargs`` go to
    :func:`policy_update_study`), and the batch is that iteration's batch. Returns, per α:
    ``L`` = mean(ρÂ), ``clip_only`` = mean(clip(ρ)Â), ``L_clip`` = mean(min(ρÂ, clip(ρ)Â)),
    ``L_pen`` = L − β KL, each minus its value at θ_old (= mean(Â), so that all start at 0);
    ``kl`` = KL(π_old ‖ π_θ) and ``gain`` = the exact J(θ) − J(θ_old).

    Shapes:
        means: (A,);  alphas: (M,);  each result: (M,).
    """
    mu = torch.as_tensor(means, dtype=torch.float64)
    n_epochs, batch_size = kwargs.pop("n_epochs", 20), kwargs.pop("batch_size", 64)
    seed, reward_std = kwargs.pop("seed", 0), kwargs.pop("reward_std", 1.0)
    g = torch.Generator().manual_seed(seed)  # the same first batch as policy_update_study(..., seed)
    old = torch.zeros_like(mu)
    actions = torch.multinomial(torch.softmax(old, -1)[None], batch_size, replacement=True, generator=g)[0]
    noise = torch.randn(1, batch_size, generator=g, dtype=torch.float64)[0]
    adv = mu[actions] + reward_std * noise - float(torch.softmax(old, -1) @ mu)
    step = policy_update_study("clip", mu, n_iterations=1, n_epochs=n_epochs, batch_size=batch_size,
                               clip_eps=clip_eps, seed=seed, reward_std=reward_std, return_logits=True, **kwargs)
    direction = step["logits"] - old
    logp_old = torch.log_softmax(old, -1)[actions]
    out: dict[str, list[float]] = {k: [] for k in ("L", "clip_only", "L_clip", "L_pen", "kl", "gain")}
    for a in torch.as_tensor(alphas, dtype=torch.float64):
        theta = old + a * direction
        rho = losses.ratio(torch.log_softmax(theta, -1)[actions], logp_old)
        kl = float(losses.categorical_kl(old, theta))
        out["L"].append(float((rho * adv).mean()))
        out["clip_only"].append(float((torch.clamp(rho, 1 - clip_eps, 1 + clip_eps) * adv).mean()))
        out["L_clip"].append(float(losses.clipped_surrogate(rho, adv, clip_eps).mean()))
        out["L_pen"].append(out["L"][-1] - beta * kl)
        out["kl"].append(kl)
        out["gain"].append(float(torch.softmax(theta, -1) @ mu - torch.softmax(old, -1) @ mu))
    start = float(adv.mean())  # every surrogate equals mean(Â) at θ_old (ρ = 1)
    return {k: torch.tensor(v, dtype=torch.float64) - (start if k in ("L", "clip_only", "L_clip", "L_pen") else 0.0)
            for k, v in out.items()}
