"""Notebook 05's exercises: the clipped PPO loss (checked with its gradients) and the adaptive-β rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import losses
from ._core import CheckResult, Exercise, Mistake, _clone, _to_array


@dataclass
class LossGradientExercise(Exercise):
    """An exercise on a scalar loss, compared by its value **and** its gradients.

    The learner's function receives the arguments named in ``grad_args`` as leaf tensors that
    require grad; its loss is compared as [loss, ∂loss/∂arg₁ (flattened), ∂loss/∂arg₂, …], so a
    ratio that lets gradient flow into ``logp_old`` is caught even though its value is right
    (the feedback then shows the loss followed by the gradient on ``logp_old``, which must be 0).
    """

    grad_args: tuple[str, ...] = ("logp_old", "logp_new")  # logp_old first: its gradient must be 0
    #: mistakes recognised by the loss value alone (however the learner's gradients came out)
    value_only: tuple[str, ...] = ()

    def _wrap(self, fn: Callable[..., Any] | None) -> Callable[..., Any] | None:
        if fn is None or not callable(fn):
            return fn

        def loss_and_grads(**kwargs: Any) -> Any:
            leaves = [kwargs[k].detach().clone().requires_grad_(True) for k in self.grad_args]
            out = fn(**{**kwargs, **dict(zip(self.grad_args, leaves, strict=True))})
            n = 1 + sum(x.numel() for x in leaves)
            if out is None:
                return None  # "not attempted" / "forgot return"
            if not isinstance(out, torch.Tensor):
                try:
                    arr = np.asarray(out, dtype=np.float64)
                except (TypeError, ValueError):
                    return out  # reported as "expected numbers"
                if arr.shape != () or not np.isfinite(arr):
                    return out if arr.shape != () else np.full(n, np.nan)
            elif out.ndim != 0 or not bool(torch.isfinite(out)):
                return out.detach() if out.ndim != 0 else torch.full((n,), float("nan"))
            if not isinstance(out, torch.Tensor) or not out.requires_grad:
                raise ValueError("your loss carries no gradient: build it from the tensors with torch operations "
                                 "(no .item(), .numpy() or float()), so that loss.backward() can train the policy")
            grads = torch.autograd.grad(out, leaves, allow_unused=True)
            parts = [out.detach().reshape(1)]
            parts += [(torch.zeros_like(x) if g is None else g).flatten() for x, g in zip(leaves, grads, strict=True)]
            return torch.cat([p.to(torch.float64) for p in parts])

        return loss_and_grads

    def check(self, fn: Callable[..., Any] | None) -> CheckResult:
        plain = _ValueFirst(
            value_only=self.value_only,
            name=self.name, title=self.title, reference=self._wrap(self.reference), cases=self.cases,
            solution_fn=self.solution_fn, hints=self.hints, rtol=self.rtol, atol=self.atol,
            mistakes=tuple(Mistake(m.name, m.message, self._wrap(m.fn)) for m in self.mistakes),
        )
        return plain.check(self._wrap(fn))


@dataclass
class _ValueFirst(Exercise):
    """Recognises a mistake by the whole output, or for ``value_only`` mistakes by entry 0 (the loss)."""

    value_only: tuple[str, ...] = ()

    def _recognise(self, kwargs: dict[str, Any], got: np.ndarray, want: np.ndarray) -> Mistake | None:
        found = super()._recognise(kwargs, got, want)
        if found is not None or got.shape != want.shape or got.ndim != 1:
            return found
        for m in self.mistakes:
            if m.name in self.value_only:
                wrong = _to_array(m.fn(**_clone(kwargs)))
                if not self._close(wrong[:1], want[:1]) and self._close(got[:1], wrong[:1]):
                    return m
        return None


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


clipped_loss = LossGradientExercise(
    name="clipped_loss",
    title="The PPO-clip loss −mean(min(ρÂ, clip(ρ, 1−ε, 1+ε)Â)), eq. (5.2)",
    reference=lambda logp_new, logp_old, advantages, clip_eps: losses.clipped_surrogate_loss(
        logp_new, logp_old, advantages, clip_eps),
    cases=_clip_cases,
    solution_fn=clipped_loss_solution,
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
