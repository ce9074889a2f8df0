"""Notebook 05's exercises: the clipped PPO loss (checked with its gradients) and the adaptive-β rule."""

from __future__ import annotations

import torch

from .. import losses
from ._core import Exercise, Mistake


# --- Exercise 5.1: the clipped surrogate loss ---------------------------------------------------
def _clip_cases() -> list[dict]:
    g = torch.Generator().manual_seed(5)
    out = [{  # one sample in each of the six cases (ε = 0.2)
        "logp_new": torch.log(torch.tensor([0.5, 1.0, 1.5, 0.5, 1.0, 1.5], dtype=torch.float64)),
        "logp_old": torch.zeros(6, dtype=torch.float64),
        "advantages": torch.tensor([1.0, 1.0, 1.0, -1.0, -1.0, -1.0], dtype=torch.float64),
        "clip_eps": 0.2,
    }]
    for n, eps in ((8, 0.2), (16, 0.1), (12, 0.3)):
        logp_old = -torch.rand(n, generator=g, dtype=torch.float64) * 2 - 0.1
        out.append({"logp_new": logp_old + 0.5 * torch.randn(n, generator=g, dtype=torch.float64),
                    "logp_old": logp_old, "advantages": torch.randn(n, generator=g, dtype=torch.float64),
                    "clip_eps": eps})
    return out


def clipped_loss_solution(logp_new, logp_old, advantages, clip_eps):
    ratio = torch.exp(logp_new - logp_old.detach())
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages
    return -torch.minimum(unclipped, clipped).mean()


def _clip_variant(logp_new, logp_old, advantages, clip_eps, *, combine=torch.minimum, sign=-1.0, detach=True,
                  swap=False):
    new, old = (logp_old, logp_new) if swap else (logp_new, logp_old)
    ratio = torch.exp(new - (old.detach() if detach else old))
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages
    return sign * combine(ratio * advantages, clipped).mean()


clipped_loss = Exercise(
    name="clipped_loss",
    title="The PPO-clip loss −mean(min(ρÂ, clip(ρ, 1−ε, 1+ε)Â)), eq. (5.2)",
    reference=lambda logp_new, logp_old, advantages, clip_eps: losses.clipped_surrogate_loss(
        logp_new, logp_old, advantages, clip_eps),
    cases=_clip_cases,
    solution_fn=clipped_loss_solution,
    grad_args=("logp_old", "logp_new"),  # logp_old first: its gradient must be 0
    value_only=("min_max_swapped", "sign_flipped", "ratio_swapped"),
    mistakes=(
        Mistake("min_max_swapped", "You took the max of the two terms: PPO takes the *min*, the pessimistic bound, "
                "so the clip can only ever remove an incentive, never add one.",
                lambda **kw: _clip_variant(**kw, combine=torch.maximum)),
        Mistake("sign_flipped", "You returned the objective, not the loss: optimisers minimise, so return "
                "−mean(min(…)); as written, gradient descent would make good actions *less* likely.",
                lambda **kw: _clip_variant(**kw, sign=1.0)),
        Mistake("ratio_not_detached", "Your ratio lets gradient flow into logp_old: the old policy's log-probs are "
                "data, not parameters. Use logp_old.detach() (the value is right, the gradient is not).",
                lambda **kw: _clip_variant(**kw, detach=False)),
        Mistake("ratio_swapped", "Your ratio is π_old/π_new: it must be π_θ/π_old = exp(logp_new − logp_old).",
                lambda **kw: _clip_variant(**kw, swap=True)),
        Mistake("clip_only", "You used clip(ρ, 1−ε, 1+ε)·Â alone, without the min: that also switches the gradient "
                "off in cases 1 and 6, where the ratio moved the *wrong* way (a good action made less likely, a bad "
                "one more likely) and the sample must keep pushing back. Take min(ρÂ, clip(ρ)Â).",
                lambda logp_new, logp_old, advantages, clip_eps: -(torch.clamp(
                    torch.exp(logp_new - logp_old.detach()), 1 - clip_eps, 1 + clip_eps) * advantages).mean()),
    ),
    hints=(
        "ratio = torch.exp(logp_new − logp_old), with logp_old detached (it is data from the old policy).",
        "torch.clamp(ratio, 1 − clip_eps, 1 + clip_eps) clips; torch.minimum(a, b) takes the element-wise min.",
        "Average over samples and return the *negative*: the loss that an optimiser minimises.",
    ),
)


# --- Exercise 5.2: the adaptive-β rule ----------------------------------------------------------
def _beta_cases() -> list[dict]:
    return [{"beta": b, "kl": kl, "kl_target": 0.01}
            for b, kl in ((1.0, 0.05), (1.0, 0.001), (0.5, 0.012), (2.0, 0.0149), (2.0, 0.0072), (0.25, 0.02))]


def adaptive_beta_solution(beta, kl, kl_target):
    if kl > 1.5 * kl_target:
        return beta * 2.0
    if kl < kl_target / 1.5:
        return beta / 2.0
    return beta


adaptive_beta = Exercise(
    name="adaptive_beta",
    title="The adaptive-β rule of PPO-penalty, eq. (5.4)",
    reference=lambda beta, kl, kl_target: losses.adaptive_beta(beta, kl, kl_target),
    cases=_beta_cases,
    solution_fn=adaptive_beta_solution,
    mistakes=(
        Mistake("direction_reversed", "β moves the wrong way: a KL *above* target means the policy moved too far, so "
                "the penalty must grow (β × 2), and a KL below target lets it shrink.",
                lambda beta, kl, kl_target: beta / 2 if kl > 1.5 * kl_target else (
                    beta * 2 if kl < kl_target / 1.5 else beta)),
        Mistake("no_tolerance_band", "β changes on every update: leave it alone while target/1.5 ≤ KL ≤ 1.5·target, "
                "otherwise it oscillates around the target.",
                lambda beta, kl, kl_target: beta * 2 if kl > kl_target else beta / 2),
    ),
    hints=("Three cases: KL > 1.5·target, KL < target/1.5, and in between.",
           "Too far → stronger penalty (β × 2); too timid → weaker (β / 2); in between → β unchanged."),
)
