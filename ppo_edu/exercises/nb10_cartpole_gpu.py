"""Notebook 10's exercises: CartPole's termination rule, and advantage normalisation in a population."""

from __future__ import annotations

import math

import torch

from .. import envs, train
from ._core import Exercise, Mistake

_THETA = 12 * 2 * math.pi / 360


def _termination_cases() -> list[dict]:
    g = torch.Generator().manual_seed(10)
    out = [
        # on the limits (not terminated: the rule is strict), past them, between 12° and 24°, past 24°
        {"states": torch.tensor([[2.4, 0.0, 0.0, 0.0], [-2.4, 0.0, _THETA, 0.0], [2.41, 0.0, 0.0, 0.0],
                                 [0.0, 0.0, -0.3, 0.0], [0.0, 0.0, 0.5, 0.0], [0.0, 1.0, 0.1, -1.0]], dtype=torch.float64)},
    ]  # fmt: skip
    for n in (8, 16, 32):
        s = torch.rand(n, 4, generator=g, dtype=torch.float64) * 2 - 1
        s[:, 0] *= 3.0  # x in (−3, 3)
        s[:, 2] *= 0.5  # θ in (−0.5, 0.5) rad: inside, between 12° and 24°, and past 24°
        out.append({"states": s})
    return out


def termination_solution(states: torch.Tensor) -> torch.Tensor:
    x, theta = states[:, 0], states[:, 2]
    theta_limit = 12 * 2 * math.pi / 360  # 12 degrees in radians
    return (x.abs() > 2.4) | (theta.abs() > theta_limit)


cartpole_terminated = Exercise(
    name="cartpole_terminated",
    title="CartPole's termination rule: |x| > 2.4 or |θ| > 12°",
    reference=lambda states: envs.is_terminated(states),
    cases=_termination_cases,
    solution_fn=termination_solution,
    mistakes=(
        Mistake(
            "degrees_not_radians",
            "θ is in radians: compare |θ| with 12·2π/360 ≈ 0.2095, not with 12.",
            lambda states: (states[:, 0].abs() > 2.4) | (states[:, 2].abs() > 12.0),
        ),
        Mistake(
            "angle_only",
            "The episode also ends when the cart leaves the track, |x| > 2.4.",
            lambda states: states[:, 2].abs() > _THETA,
        ),
        Mistake(
            "observation_bound",
            "24° (0.418 rad) is the bound of the observation space, not the termination angle: the pole has fallen past 12°.",
            lambda states: (states[:, 0].abs() > 2.4) | (states[:, 2].abs() > 2 * _THETA),
        ),
        Mistake(
            "inclusive_limits",
            "The limits are strict: x = 2.4 exactly is still on the track (use >, not >=).",
            lambda states: (states[:, 0].abs() >= 2.4) | (states[:, 2].abs() >= _THETA),
        ),
    ),  # fmt: skip
    hints=(
        "states[:, 0] is the cart position x and states[:, 2] the pole angle θ (radians).",
        "Two strict comparisons joined by `|`: abs(x) > 2.4, abs(θ) > 12 degrees converted to radians.",
    ),
)


def _population_cases() -> list[dict]:
    g = torch.Generator().manual_seed(11)
    out = []
    for p, m in ((2, 6), (3, 16), (4, 5)):
        scale = torch.logspace(-1, 2, p, dtype=torch.float64).unsqueeze(1)  # members on very different scales
        shift = torch.linspace(-5, 5, p, dtype=torch.float64).unsqueeze(1)
        out.append({"advantages": torch.randn(p, m, generator=g, dtype=torch.float64) * scale + shift})
    return out


def population_solution(advantages: torch.Tensor) -> torch.Tensor:
    mean = advantages.mean(dim=1, keepdim=True)
    std = advantages.std(dim=1, keepdim=True)
    return (advantages - mean) / (std + 1e-8)


normalize_per_seed = Exercise(
    name="normalize_per_seed",
    title="Advantage normalisation in a population: each seed with its own mean and std",
    reference=lambda advantages: train.normalize_per_member(advantages),
    cases=_population_cases,
    solution_fn=population_solution,
    mistakes=(
        Mistake(
            "normalised_whole_population",
            "You whitened all members together: each member (row) is its own "
            "PPO run and needs its own mean and standard deviation (dim=1).",
            lambda advantages: (advantages - advantages.mean()) / (advantages.std() + 1e-8),
        ),
        Mistake(
            "normalised_per_column",
            "You normalised down the columns (dim=0, across members): use dim=1.",
            lambda advantages: (advantages - advantages.mean(0, keepdim=True)) / (advantages.std(0, keepdim=True) + 1e-8),
        ),
        Mistake(
            "not_centred",
            "You divided by the standard deviation but did not subtract the mean first.",
            lambda advantages: advantages / (advantages.std(1, keepdim=True) + 1e-8),
        ),
    ),  # fmt: skip
    hints=(
        "advantages has shape (P, M): P members, M samples each. Reduce over dim=1 with keepdim=True.",
        "(a − a.mean(1, keepdim=True)) / (a.std(1, keepdim=True) + 1e-8)",
    ),
)
