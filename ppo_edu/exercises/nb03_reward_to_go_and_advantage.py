"""Notebook 03's exercises: reward-to-go, the exact state values by a linear solve, A = Q − V, and the
tabular policy-gradient theorem (3.6) assembled from the tables."""

from __future__ import annotations

import torch

from .. import advantages, toy_mdps
from .. import returns as returns_module
from ._core import Exercise, Mistake

F64 = torch.float64


# -- Exercise 3.1: reward-to-go ------------------------------------------------------------------
def _rtg_cases() -> list[dict]:
    g = torch.Generator().manual_seed(4)
    out = [{"rewards": torch.tensor([1.0, 0.0, 2.0], dtype=F64), "gamma": 0.5}]
    for T, gamma in ((5, 0.9), (7, 0.99), (4, 1.0), (6, 0.7)):
        out.append({"rewards": torch.randn(T, generator=g, dtype=F64), "gamma": gamma})
    return out


def rtg_solution(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    out = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def _power(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    return gamma ** torch.arange(len(rewards), dtype=rewards.dtype)


reward_to_go = Exercise(
    name="reward_to_go",
    title="Reward-to-go G_t = Σ_{t'≥t} γ^(t'−t) r_t'  (3.1)",
    reference=lambda rewards, gamma: returns_module.discounted_returns(rewards, gamma),
    cases=_rtg_cases,
    solution_fn=rtg_solution,
    mistakes=(
        Mistake("off_by_one", "Off by one: G_t starts with r_t itself (the reward of the action taken at t).",
                lambda rewards, gamma: torch.cat([returns_module.discounted_returns(rewards, gamma)[1:],
                                                  rewards.new_zeros(1)])),
        Mistake("discount_from_zero", "You discounted from t = 0 (γ^t' instead of γ^(t'−t)): inside G_t the first "
                                      "reward r_t gets weight 1.",
                lambda rewards, gamma: (_power(rewards, gamma) * rewards).flip(0).cumsum(0).flip(0)),
        Mistake("no_discount", "No discount: multiply each later reward by γ per step of delay.",
                lambda rewards, gamma: rewards.flip(0).cumsum(0).flip(0)),
        Mistake("total_return_everywhere", "You used the whole-episode return at every step; reward-to-go keeps only "
                                           "the rewards from t on.",
                lambda rewards, gamma: (_power(rewards, gamma) * rewards).sum().expand(len(rewards)).clone()),
    ),
    hints=(
        "Go backwards: G_{T−1} = r_{T−1}, and G_t = r_t + γ G_{t+1}.",
        "out = torch.zeros_like(rewards); running = 0.0; for t in reversed(range(len(rewards))): …",
    ),
)


# -- Exercise 3.2: V by a linear solve -------------------------------------------------------------
def _v_cases() -> list[dict]:
    g = torch.Generator().manual_seed(5)
    out = []
    for S, gamma in ((2, 0.9), (3, 0.5), (4, 0.95)):
        P = torch.rand(S, S, generator=g, dtype=F64)
        P = 0.8 * P / P.sum(1, keepdim=True)  # each step ends the episode with probability 0.2
        out.append({"P_pi": P, "r_pi": torch.randn(S, generator=g, dtype=F64), "gamma": gamma})
    return out


def _one_action_mdp(P_pi, r_pi, gamma):
    """An MDP with one action whose tables are P_π and r_π: its V is the V of (1.3)."""
    S = len(r_pi)
    return toy_mdps.TabularMDP(P_pi[:, None, :], r_pi[:, None], torch.full((S,), 1.0 / S, dtype=F64), gamma)


def v_solution(P_pi: torch.Tensor, r_pi: torch.Tensor, gamma: float) -> torch.Tensor:
    identity = torch.eye(len(r_pi), dtype=r_pi.dtype)
    return torch.linalg.solve(identity - gamma * P_pi, r_pi)


def _v_by_package(P_pi: torch.Tensor, r_pi: torch.Tensor, gamma: float) -> torch.Tensor:
    """V^π by ``toy_mdps.state_values`` on the one-action MDP whose tables are P_π and r_π."""
    S = len(r_pi)
    mdp = toy_mdps.TabularMDP(P_pi[:, None, :], r_pi[:, None], torch.full((S,), 1.0 / S, dtype=F64), gamma)
    return toy_mdps.state_values(mdp, torch.ones(S, 1, dtype=F64))


state_values_solve = Exercise(
    name="state_values_solve",
    title="Exact V^π from the Bellman equation V = r_π + γ P_π V  (1.3)",
    reference=_v_by_package,
    cases=_v_cases,
    solution_fn=v_solution,
    mistakes=(
        Mistake("forgot_gamma", "γ is missing: the system is (I − γ P_π) V = r_π.",
                lambda P_pi, r_pi, gamma: torch.linalg.solve(torch.eye(len(r_pi), dtype=r_pi.dtype) - P_pi, r_pi)),
        Mistake("transposed", "P_π is transposed: row s of P_π holds the probabilities of the *next* states of s.",
                lambda P_pi, r_pi, gamma: torch.linalg.solve(torch.eye(len(r_pi), dtype=r_pi.dtype) - gamma * P_pi.T,
                                                             r_pi)),
        Mistake("one_step", "That is only r_π + γ P_π r_π, two steps of the future. Solve the linear system instead.",
                lambda P_pi, r_pi, gamma: r_pi + gamma * P_pi @ r_pi),
    ),
    hints=(
        "Move γ P_π V to the left: (I − γ P_π) V = r_π.",
        "torch.linalg.solve(A, b) solves A x = b; torch.eye(S, dtype=r_pi.dtype) is I.",
    ),
)


# -- Exercise 3.3: A = Q − V -----------------------------------------------------------------------
def _a_cases() -> list[dict]:
    g = torch.Generator().manual_seed(6)
    out = []
    for S, A in ((2, 2), (3, 3), (4, 2)):
        out.append({"q": torch.randn(S, A, generator=g, dtype=F64),
                    "pi": torch.softmax(2 * torch.randn(S, A, generator=g, dtype=F64), dim=1)})
    return out


def a_solution(q: torch.Tensor, pi: torch.Tensor) -> torch.Tensor:
    v = (pi * q).sum(dim=1, keepdim=True)  # V(s) = Σ_a π(a|s) Q(s, a)
    return q - v


advantage_from_q = Exercise(
    name="advantage_from_q",
    title="The advantage A(s, a) = Q(s, a) − V(s) with V(s) = Σ_a π(a|s) Q(s, a)  (3.4)",
    reference=lambda q, pi: advantages.from_action_values(q, pi),
    cases=_a_cases,
    solution_fn=a_solution,
    mistakes=(
        Mistake("v_is_max", "You subtracted max_a Q: that is the value of the greedy policy, not of π.",
                lambda q, pi: q - q.max(dim=1, keepdim=True).values),
        Mistake("v_is_plain_mean", "You averaged Q over actions uniformly; V(s) weights each action by π(a|s).",
                lambda q, pi: q - q.mean(dim=1, keepdim=True)),
        Mistake("sign_flipped", "Sign flipped: A = Q − V, positive for actions better than π's average.",
                lambda q, pi: (pi * q).sum(1, keepdim=True) - q),
    ),
    hints=("V has one number per state: (pi * q).sum(dim=1, keepdim=True) keeps the shape (S, 1) for broadcasting.",),
)


# -- Exercise 3.4: the policy-gradient theorem (3.6), assembled from the tables -------------------
def _pgt_cases() -> list[dict]:
    out = []
    for S, A, gamma, seed in ((3, 2, 0.9, 0), (2, 3, 0.5, 1), (4, 2, 0.95, 2)):
        mdp = toy_mdps.random_mdp(S, A, end_prob=0.3, gamma=gamma, seed=seed)
        g = torch.Generator().manual_seed(20 + seed)
        pi = torch.softmax(torch.randn(S, A, generator=g, dtype=F64), dim=1)
        out.append({"P": mdp.P, "R": mdp.R, "nu0": mdp.mu0, "gamma": gamma, "pi": pi})
    return out


def _pgt_reference(P, R, nu0, gamma, pi):
    return toy_mdps.policy_gradient_theorem(toy_mdps.TabularMDP(P, R, nu0, gamma), pi.log())


def pgt_solution(P, R, nu0, gamma, pi):
    S = len(nu0)
    P_pi = torch.einsum("sa,sat->st", pi, P)  # P_π(s, s') = Σ_a π(a|s) P(s'|s, a)
    r_pi = (pi * R).sum(dim=1)
    I = torch.eye(S, dtype=P.dtype)
    V = torch.linalg.solve(I - gamma * P_pi, r_pi)  # (1.3)
    Q = R + gamma * torch.einsum("sat,t->sa", P, V)  # (3.3)
    d = torch.linalg.solve((I - gamma * P_pi).T, nu0)  # d = Σ_t γ^t ν0ᵀ P_π^t, so (I − γP_π)ᵀ d = ν0
    return d[:, None] * pi * (Q - V[:, None])  # (3.6)


def _pgt_parts(P, R, nu0, gamma, pi, visits_gamma=None, transpose=True):
    S = len(nu0)
    P_pi, r_pi, I = torch.einsum("sa,sat->st", pi, P), (pi * R).sum(1), torch.eye(S, dtype=P.dtype)
    V = torch.linalg.solve(I - gamma * P_pi, r_pi)
    Q = R + gamma * torch.einsum("sat,t->sa", P, V)
    g = gamma if visits_gamma is None else visits_gamma
    M = (I - g * P_pi).T if transpose else I - g * P_pi
    return torch.linalg.solve(M, nu0), Q, V


tabular_policy_gradient = Exercise(
    name="tabular_policy_gradient",
    title="∂J/∂θ[s, a] = d^π(s) π(a|s) A^π(s, a) of a tabular softmax, from P, r, ν0, γ and π  (3.6)",
    reference=_pgt_reference,
    cases=_pgt_cases,
    solution_fn=pgt_solution,
    mistakes=(
        Mistake("visits_not_transposed", "d is a row vector: d(s') = ν0(s') + γ Σ_s d(s) P_π(s, s'), so it solves "
                                         "(I − γP_π)ᵀ d = ν0, with the transpose.",
                lambda **kw: (lambda d, Q, V: d[:, None] * kw["pi"] * (Q - V[:, None]))(
                    *_pgt_parts(**kw, transpose=False))),
        Mistake("undiscounted_visits", "The visits are discounted, d(s) = Σ_t γ^t Pr(s_t = s): put γ in the system "
                                       "for d as well.",
                lambda **kw: (lambda d, Q, V: d[:, None] * kw["pi"] * (Q - V[:, None]))(
                    *_pgt_parts(**kw, visits_gamma=1.0))),
        Mistake("q_instead_of_a", "You used Q: the −π(b|s) part of the score (1.8) subtracts "
                                  "Σ_b π(b|s) Q(s, b) = V(s), which leaves d(s) π(a|s) A(s, a).",
                lambda **kw: (lambda d, Q, V: d[:, None] * kw["pi"] * Q)(*_pgt_parts(**kw))),
        Mistake("forgot_pi", "The score (1.8) brings a factor π(a|s): ∂J/∂θ[s, a] = d(s) π(a|s) A(s, a).",
                lambda **kw: (lambda d, Q, V: d[:, None] * (Q - V[:, None]))(*_pgt_parts(**kw))),
    ),
    hints=(
        "Three solves: V from (1.3); Q = r + γ P V from (3.3); and the discounted visits d, which satisfy "
        "d(s') = ν0(s') + γ Σ_s d(s) P_π(s, s').",
        "torch.einsum('sa,sat->st', pi, P) is P_π and torch.einsum('sat,t->sa', P, V) is Σ_s' P(s'|s, a) V(s'). "
        "Write the equation for d as a linear system: which matrix multiplies d?",
    ),
)
