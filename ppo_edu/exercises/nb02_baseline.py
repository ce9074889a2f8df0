"""Notebook 02's exercises: estimates with a baseline, the variance-minimising constant baseline from
samples, and the exact b* of a softmax bandit derived by hand."""

from __future__ import annotations

import torch

from .. import policy_gradient
from ._core import Exercise, Mistake

F64 = torch.float64


def _cases() -> list[dict]:
    g = torch.Generator().manual_seed(3)
    out = []
    for n, d in ((4, 2), (6, 3), (5, 6)):
        scores = torch.randn(n, d, generator=g, dtype=F64)
        returns = 1.0 + torch.randn(n, generator=g, dtype=F64) + scores[:, 0]  # return correlated with the score
        out.append({"score_sums": scores, "returns": returns, "b": 0.7})
    return out


# -- Exercise 2.1: (R − b) ∇log p(τ) ------------------------------------------------------------
def baselined_solution(score_sums: torch.Tensor, returns: torch.Tensor, b: float) -> torch.Tensor:
    return (returns - b)[:, None] * score_sums


baselined_estimates = Exercise(
    name="baselined_estimates",
    title="One gradient estimate per episode with a constant baseline, (R(τ_n) − b) ∇log p(τ_n)  (2.2)",
    reference=lambda score_sums, returns, b: policy_gradient.baselined_estimates(score_sums, returns, b),
    cases=_cases,
    solution_fn=baselined_solution,
    mistakes=(
        Mistake("sign_flipped", "You computed (b − R): the baseline is subtracted *from* the return.",
                lambda score_sums, returns, b: (b - returns)[:, None] * score_sums),
        Mistake("baseline_added", "You added b; subtract it: R(τ) − b.",
                lambda score_sums, returns, b: (returns + b)[:, None] * score_sums),
        Mistake("baseline_on_score", "You subtracted b from the score; it belongs with the return: (R − b)·∇log p.",
                lambda score_sums, returns, b: returns[:, None] * (score_sums - b)),
    ),
    hints=("returns has shape (N,), score_sums (N, D): give returns − b a trailing axis with [:, None].",),
)


# -- Exercise 2.2: the best constant baseline ----------------------------------------------------
def optimal_solution(score_sums: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    sq_norms = (score_sums**2).sum(dim=1)
    return (sq_norms * returns).sum() / sq_norms.sum()


def _optimal_cases() -> list[dict]:
    return [{"score_sums": c["score_sums"], "returns": c["returns"]} for c in _cases()]


optimal_baseline = Exercise(
    name="optimal_baseline",
    title="The variance-minimising constant baseline b* = E[‖g‖² R] / E[‖g‖²]  (2.4)",
    reference=policy_gradient.optimal_constant_baseline,
    cases=_optimal_cases,
    solution_fn=optimal_solution,
    mistakes=(
        Mistake("mean_return", "That is the average return: a good, common choice, but not the minimiser of (2.3). "
                               "Weight each return by ‖∇log p(τ)‖².",
                lambda score_sums, returns: returns.mean()),
        Mistake("norm_not_squared", "You weighted by ‖g‖; the variance (2.3) has ‖g‖², so the weights are "
                                    "squared norms.",
                lambda score_sums, returns: (score_sums.norm(dim=1) * returns).sum() / score_sums.norm(dim=1).sum()),
        Mistake("not_normalised", "You forgot to divide by E[‖g‖²]: b* is a weighted *average* of the returns.",
                lambda score_sums, returns: ((score_sums**2).sum(1) * returns).mean()),
    ),
    hints=(
        "‖g_n‖² is (score_sums**2).sum(dim=1), one number per episode.",
        "b* = Σ_n ‖g_n‖² R_n / Σ_n ‖g_n‖² (the 1/N of the two expectations cancel).",
    ),
)


# -- Exercise 2.3: the exact b* of a softmax bandit, derived ------------------------------------
def _bandit_cases() -> list[dict]:
    g = torch.Generator().manual_seed(12)
    out = [{"logits": torch.tensor([0.0, float(torch.tensor(3.0).log())], dtype=F64),  # π = (¼, ¾)
            "rewards": torch.tensor([1.0, 0.0], dtype=F64)}]
    for k in (3, 4, 2):
        out.append({"logits": 1.5 * torch.randn(k, generator=g, dtype=F64),
                    "rewards": torch.randn(k, generator=g, dtype=F64)})
    return out


def bandit_baseline_solution(logits: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    pi = torch.softmax(logits, dim=-1)
    sq_norms = ((torch.eye(len(pi), dtype=pi.dtype) - pi) ** 2).sum(dim=1)  # ‖onehot(a) − π‖² for each a
    return (pi * sq_norms * rewards).sum() / (pi * sq_norms).sum()


def _sq(logits):
    pi = torch.softmax(logits, -1)
    return pi, ((torch.eye(len(pi), dtype=pi.dtype) - pi) ** 2).sum(1)


bandit_optimal_baseline = Exercise(
    name="bandit_optimal_baseline",
    title="The exact b* (2.4) of a softmax bandit: the expectations of (2.4) as sums over the actions",
    reference=policy_gradient.bandit_optimal_baseline,
    cases=_bandit_cases,
    solution_fn=bandit_baseline_solution,
    mistakes=(
        Mistake("expected_reward", "That is J = Σ_a π(a) r(a), the expected return: (2.4) weights each r(a) also "
                                   "by ‖∇log π(a)‖², which is large for *rare* actions.",
                lambda logits, rewards: (torch.softmax(logits, -1) * rewards).sum()),
        Mistake("forgot_probabilities", "The expectations are over a ~ π: weight each action by π(a) ‖∇log π(a)‖², "
                                        "not by ‖∇log π(a)‖² alone.",
                lambda logits, rewards: (_sq(logits)[1] * rewards).sum() / _sq(logits)[1].sum()),
        Mistake("norm_not_squared", "(2.3) has ‖g‖², the squared norm of the score onehot(a) − π.",
                lambda logits, rewards: (_sq(logits)[0] * _sq(logits)[1].sqrt() * rewards).sum()
                / (_sq(logits)[0] * _sq(logits)[1].sqrt()).sum()),
        Mistake("not_normalised", "b* is a weighted *average*: divide by E[‖g‖²] = Σ_a π(a)‖∇log π(a)‖².",
                lambda logits, rewards: (_sq(logits)[0] * _sq(logits)[1] * rewards).sum()),
    ),
    hints=(
        "An episode is one action a ~ π. Its return is r(a), its score g(a) = onehot(a) − π (1.8), so "
        "E[‖g‖² R] = Σ_a π(a) ‖g(a)‖² r(a).",
        "For π = (¼, ¾): ‖g(0)‖² = 2·(¾)² and ‖g(1)‖² = 2·(¼)². Which action's reward dominates b*?",
    ),
)
