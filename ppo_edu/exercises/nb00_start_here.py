"""Notebook 00's exercises: the discounted return of one episode (the demo), and the values of the
"always right" policy in the corridor, derived by hand."""

from __future__ import annotations

import torch

from .. import returns, toy_mdps
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


# -- Exercise 0.2: V of "always right" in the corridor, by hand ----------------------------------
def _corridor_cases() -> list[dict]:
    return [
        {"n_states": 3, "slip": 0.2, "step_reward": -0.1, "goal_reward": 1.0, "gamma": 0.9},
        {"n_states": 5, "slip": 0.5, "step_reward": -1.0, "goal_reward": 10.0, "gamma": 0.95},
        {"n_states": 4, "slip": 0.0, "step_reward": -0.2, "goal_reward": 2.0, "gamma": 0.8},
        {"n_states": 2, "slip": 0.3, "step_reward": 0.5, "goal_reward": -1.0, "gamma": 0.99},
    ]


def _always_right(n_states: int) -> torch.Tensor:
    return torch.tensor([[0.0, 1.0]] * n_states, dtype=torch.float64)


def _corridor_reference(n_states, slip, step_reward, goal_reward, gamma):
    mdp = toy_mdps.corridor(n_states, slip, step_reward, goal_reward, gamma)
    return toy_mdps.state_values(mdp, _always_right(n_states))


def always_right_solution(n_states, slip, step_reward, goal_reward, gamma):
    V = torch.zeros(n_states, dtype=torch.float64)
    V[-1] = goal_reward  # right in the last cell always reaches the goal, and the episode ends
    for s in reversed(range(n_states - 1)):
        # V(s) = r + γ[(1 − p) V(s + 1) + p V(s)]: a slip keeps you in s. Solve for V(s):
        V[s] = (step_reward + gamma * (1 - slip) * V[s + 1]) / (1 - gamma * slip)
    return V


def _backward(n_states, last, update):
    V = torch.zeros(n_states, dtype=torch.float64)
    V[-1] = last
    for s in reversed(range(n_states - 1)):
        V[s] = update(V[s + 1])
    return V


always_right_values = Exercise(
    name="always_right_values",
    title="V of the policy \"always right\" in every cell of the corridor, derived by hand",
    reference=_corridor_reference,
    cases=_corridor_cases,
    solution_fn=always_right_solution,
    mistakes=(
        Mistake("ignored_slip", "You moved right for sure: with probability `slip` the move fails and you stay "
                                "in s (paying the step again).",
                lambda n_states, slip, step_reward, goal_reward, gamma: _backward(
                    n_states, goal_reward, lambda v: step_reward + gamma * v)),
        Mistake("slip_ends_episode", "A slip does not end the episode: you stay in s, whose value V(s) is still "
                                     "ahead of you. V(s) = r + γ[(1 − p)V(s+1) + p V(s)]; solve for V(s).",
                lambda n_states, slip, step_reward, goal_reward, gamma: _backward(
                    n_states, goal_reward, lambda v: step_reward + gamma * (1 - slip) * v)),
        Mistake("goal_also_costs_a_step", "In the last cell `right` pays the goal reward *instead of* the step "
                                          "reward, so V(last) = goal_reward.",
                lambda n_states, slip, step_reward, goal_reward, gamma: _backward(
                    n_states, goal_reward + step_reward,
                    lambda v: (step_reward + gamma * (1 - slip) * v) / (1 - gamma * slip))),
        Mistake("no_discount", "The future is discounted: the value one step ahead counts γ times.",
                lambda n_states, slip, step_reward, goal_reward, gamma: _backward(
                    n_states, goal_reward, lambda v: (step_reward + (1 - slip) * v) / (1 - slip))),
    ),
    hints=(
        "Start at the end: in the last cell, `right` reaches the goal for sure. What is V there?",
        "In cell s < last: you pay the step reward now; next you are in s + 1 with probability 1 − slip and still "
        "in s with probability slip. Write V(s) with V(s) on both sides.",
    ),
)
