"""Notebook 05's derivation exercise: the per-sample gradient of L^CLIP with respect to log π_θ."""

from __future__ import annotations

import torch

from .. import losses
from ._core import Exercise, Mistake

F64 = torch.float64


def _cases() -> list[dict]:
    six = {"ratio": torch.tensor([0.5, 1.1, 1.5, 0.5, 0.9, 1.5], dtype=F64),
           "advantages": torch.tensor([1.0, 2.0, 1.0, -1.0, -0.5, -2.0], dtype=F64), "clip_eps": 0.2}
    g = torch.Generator().manual_seed(55)
    out = [six]
    for n, eps in ((10, 0.2), (12, 0.1), (9, 0.3)):
        out.append({"ratio": torch.exp(0.4 * torch.randn(n, generator=g, dtype=F64)),
                    "advantages": torch.randn(n, generator=g, dtype=F64), "clip_eps": eps})
    return out


def clip_gradient_solution(ratio: torch.Tensor, advantages: torch.Tensor, clip_eps: float) -> torch.Tensor:
    pushed_far_enough = ((advantages > 0) & (ratio > 1 + clip_eps)) | ((advantages < 0) & (ratio < 1 - clip_eps))
    return torch.where(pushed_far_enough, torch.zeros_like(ratio), ratio * advantages)  # ∂ρ/∂log π = ρ


def _outside(ratio, clip_eps):
    return (ratio - 1).abs() > clip_eps


clip_gradient = Exercise(
    name="clip_gradient",
    title="∂/∂log π_θ of min(ρÂ, clip(ρ, 1−ε, 1+ε)Â) per sample, derived by hand  (5.2g)",
    reference=losses.clipped_surrogate_grad,
    cases=_cases,
    solution_fn=clip_gradient_solution,
    mistakes=(
        Mistake("clip_only", "Your gradient is zero wherever ρ is outside [1−ε, 1+ε]: that is the gradient of "
                "clip(ρ)Â alone. With the min, cases 1 and 6 (the ratio moved the wrong way) keep the unclipped "
                "term ρÂ and its gradient.",
                lambda ratio, advantages, clip_eps: torch.where(_outside(ratio, clip_eps), torch.zeros_like(ratio),
                                                                ratio * advantages)),
        Mistake("gradient_wrt_ratio", "That is ∂/∂ρ (Â where unclipped). The question asks for ∂/∂log π: by the "
                "chain rule ∂ρ/∂log π = ρ, so multiply by ρ.",
                lambda ratio, advantages, clip_eps: torch.where(
                    ((advantages > 0) & (ratio > 1 + clip_eps)) | ((advantages < 0) & (ratio < 1 - clip_eps)),
                    torch.zeros_like(ratio), advantages)),
        Mistake("wrong_cases_zeroed", "You zeroed cases 1 and 6 and kept 3 and 4: the min switches a sample off "
                "once its ratio has moved past the clip *in the direction Â wants* (Â > 0 and ρ > 1+ε, or Â < 0 and "
                "ρ < 1−ε).",
                lambda ratio, advantages, clip_eps: torch.where(
                    ((advantages > 0) & (ratio < 1 - clip_eps)) | ((advantages < 0) & (ratio > 1 + clip_eps)),
                    torch.zeros_like(ratio), ratio * advantages)),
        Mistake("no_clip", "That is the gradient of the unclipped surrogate ρÂ: in cases 3 and 4 the min picks the "
                "constant (1±ε)Â, whose gradient is 0.",
                lambda ratio, advantages, clip_eps: ratio * advantages),
    ),
    hints=(
        "Differentiate each branch of the min: ∂(ρÂ)/∂log π = ρÂ, and ∂((1±ε)Â)/∂log π = 0.",
        "The min picks the clipped constant exactly when Â > 0 and ρ > 1+ε, or Â < 0 and ρ < 1−ε (cases 3, 4).",
    ),
)
