"""Notebook 00's demo exercise: the discounted return of one episode."""

from __future__ import annotations

import torch

from .. import returns
from ._core import Exercise, Mistake


def _cases() -> list[dict]:
    g = torch.Generator().manual_seed(0)
    out = [{"rewards": torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64), "gamma": 0.5}]
    for T, gamma in ((5, 0.9), (8, 0.99), (4, 0.0), (6, 1.0)):
        out.append({"rewards": torch.randn(T, generator=g, dtype=torch.float64), "gamma": gamma})
    return out


def solution(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    total = torch.tensor(0.0, dtype=rewards.dtype)
    for t in range(len(rewards)):
        total = total + gamma**t * rewards[t]
    return total


def _powers(rewards: torch.Tensor, start: int, gamma: float) -> torch.Tensor:
    return gamma ** torch.arange(start, start + len(rewards), dtype=rewards.dtype)


discounted_sum = Exercise(
    name="discounted_sum",
    title="The discounted return R(τ) = Σ_t γ^t r_t",
    reference=lambda rewards, gamma: returns.total_return(rewards, gamma),
    cases=_cases,
    solution_fn=solution,
    mistakes=(
        Mistake("no_discount", "You added the rewards without discounting: multiply r_t by γ^t.",
                lambda rewards, gamma: rewards.sum()),
        Mistake("exponent_off_by_one", "The first reward is not discounted: use γ^t with t starting at 0, not 1.",
                lambda rewards, gamma: (_powers(rewards, 1, gamma) * rewards).sum()),
        Mistake("reversed_discount", "You discounted from the end of the episode: the *first* reward gets γ^0.",
                lambda rewards, gamma: (_powers(rewards, 0, gamma).flip(0) * rewards).sum()),
    ),
    hints=(
        "Loop over t = 0, 1, …, T−1 and add γ**t * rewards[t].",
        "Start the total at 0; `len(rewards)` is T. Return a single number (a 0-d tensor is fine).",
    ),
)
