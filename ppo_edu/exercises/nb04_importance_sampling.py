"""Notebook 04's exercises: the IS estimate, the effective sample size, the surrogate objective."""

from __future__ import annotations

import torch

from .. import importance
from ._core import Exercise, Mistake

F64 = torch.float64


def _is_cases() -> list[dict]:
    g = torch.Generator().manual_seed(7)
    out = []
    for n, k in ((5, 3), (8, 4), (6, 2)):
        mu = torch.softmax(torch.randn(k, generator=g, dtype=F64), 0)
        pi = torch.softmax(torch.randn(k, generator=g, dtype=F64), 0)
        a = torch.multinomial(mu, n, replacement=True, generator=g)
        f = torch.randn(k, generator=g, dtype=F64)
        out.append({"f_values": f[a], "logp_target": pi.log()[a], "logp_behaviour": mu.log()[a]})
    return out


# -- Exercise 4.1: the IS estimate ----------------------------------------------------------------
def is_solution(f_values: torch.Tensor, logp_target: torch.Tensor, logp_behaviour: torch.Tensor) -> torch.Tensor:
    w = torch.exp(logp_target - logp_behaviour)
    return (w * f_values).mean()


importance_weighted_mean = Exercise(
    name="importance_weighted_mean",
    title="The importance-sampling estimate (1/N) Σ_i (π(a_i)/μ(a_i)) f(a_i), a_i ~ μ  (4.1)",
    reference=importance.is_estimate,
    cases=_is_cases,
    solution_fn=is_solution,
    mistakes=(
        Mistake("ratio_inverted", "The ratio is upside down: the samples come from μ, so weight by π/μ, not μ/π.",
                lambda f_values, logp_target, logp_behaviour: (torch.exp(logp_behaviour - logp_target)
                                                               * f_values).mean()),
        Mistake("self_normalised", "You divided by Σ w_i instead of N: that is the self-normalised estimator, "
                                   "biased for finite N. Divide by N.",
                lambda f_values, logp_target, logp_behaviour: importance.self_normalised_estimate(
                    f_values, logp_target, logp_behaviour)),
        Mistake("log_ratio_not_exponentiated", "You used log π − log μ as the weight: exponentiate it.",
                lambda f_values, logp_target, logp_behaviour: ((logp_target - logp_behaviour) * f_values).mean()),
        Mistake("no_weights", "That is the plain average of f under μ: it estimates E_μ[f], not E_π[f].",
                lambda f_values, logp_target, logp_behaviour: f_values.mean()),
    ),
    hints=("w_i = exp(logp_target − logp_behaviour), computed from log-probabilities for numerical safety.",),
)


# -- Exercise 4.2: effective sample size ---------------------------------------------------------
def _ess_cases() -> list[dict]:
    g = torch.Generator().manual_seed(8)
    out = [{"weights": torch.tensor([2.0, 1.0], dtype=F64)}, {"weights": torch.tensor([1.0, 1.0, 1.0], dtype=F64)}]
    for n in (5, 10):
        out.append({"weights": torch.exp(torch.randn(n, generator=g, dtype=F64))})
    return out


def ess_solution(weights: torch.Tensor) -> torch.Tensor:
    return weights.sum() ** 2 / (weights**2).sum()


effective_sample_size = Exercise(
    name="effective_sample_size",
    title="The effective sample size ESS = (Σ w_i)² / Σ w_i²  (4.3)",
    reference=importance.effective_sample_size,
    cases=_ess_cases,
    solution_fn=ess_solution,
    mistakes=(
        Mistake("inverted", "Upside down: ESS = (Σw)²/Σw², which is N for equal weights.",
                lambda weights: (weights**2).sum() / weights.sum() ** 2),
        Mistake("fraction_not_count", "You divided by N: that is the ESS *fraction* ESS/N. Return the count.",
                lambda weights: weights.sum() ** 2 / (weights**2).sum() / len(weights)),
        Mistake("sum_not_squared", "Square the sum in the numerator: (Σ w)².",
                lambda weights: weights.sum() / (weights**2).sum()),
    ),
    hints=("Two sums: of the weights (then squared) and of the squared weights.",),
)


# -- Exercise 4.3: the surrogate objective ------------------------------------------------------
def _surrogate_cases() -> list[dict]:
    g = torch.Generator().manual_seed(9)
    out = []
    for n in (4, 7, 5):
        old = -torch.rand(n, generator=g, dtype=F64) - 0.2
        out.append({"logp_new": old + 0.3 * torch.randn(n, generator=g, dtype=F64), "logp_old": old,
                    "advantages": torch.randn(n, generator=g, dtype=F64)})
    return out


def surrogate_solution(logp_new: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    ratio = torch.exp(logp_new - logp_old.detach())
    return (ratio * advantages).mean()


surrogate_objective = Exercise(
    name="surrogate_objective",
    title="The surrogate L(θ) = mean of ρ_t A_t with ρ_t = π_θ(a_t|s_t) / π_old(a_t|s_t)  (4.8)",
    reference=lambda logp_new, logp_old, advantages: importance.surrogate(  # one stream: T = 1, N = B
        logp_new[None, :], logp_old[None, :], advantages[None, :]),
    cases=_surrogate_cases,
    solution_fn=surrogate_solution,
    grad_args=("logp_old", "logp_new"),  # logp_old first: its gradient must be 0
    value_only=("log_ratio", "ratio_inverted", "logp_times_advantage"),
    mistakes=(
        Mistake("log_ratio", "You used log ρ = log π_θ − log π_old as the ratio: exponentiate it.",
                lambda logp_new, logp_old, advantages: ((logp_new - logp_old) * advantages).mean()),
        Mistake("ratio_inverted", "The ratio is upside down: π_θ (new) over π_old (the policy that "
                                  "collected the data).",
                lambda logp_new, logp_old, advantages: (torch.exp(logp_old - logp_new) * advantages).mean()),
        Mistake("logp_times_advantage", "That is the REINFORCE objective mean(log π_θ · A): same gradient at "
                                        "θ = θ_old, "
                                        "but without the ratio it cannot reuse old data once θ has moved.",
                lambda logp_new, logp_old, advantages: (logp_new * advantages).mean()),
        Mistake("ratio_not_detached", "Your ratio lets gradient flow into logp_old: the old policy's log-probs are "
                                      "data, not parameters. Use logp_old.detach() (the value is right, the gradient "
                                      "is not).",
                lambda logp_new, logp_old, advantages: (torch.exp(logp_new - logp_old) * advantages).mean()),
    ),
    hints=("ρ = torch.exp(logp_new − logp_old.detach()); the old log-probabilities are data, never differentiated.",),
)


# -- Exercise 4.4: the ESS fraction of whole-trajectory weights (derive) --------------------------
def _trajectory_ess_cases() -> list[dict]:
    g = torch.Generator().manual_seed(44)
    out = [{"target": torch.tensor([0.5, 0.5], dtype=F64), "behaviour": torch.tensor([0.8, 0.2], dtype=F64), "steps": 3}]
    for k, steps in ((3, 1), (4, 5), (6, 10)):
        out.append({"target": torch.softmax(torch.randn(k, generator=g, dtype=F64), 0),
                    "behaviour": torch.softmax(torch.randn(k, generator=g, dtype=F64), 0), "steps": steps})
    return out


def trajectory_ess_fraction_solution(target: torch.Tensor, behaviour: torch.Tensor, steps: int) -> torch.Tensor:
    second_moment = (target**2 / behaviour).sum()  # E_μ[w²] of one step, = 1 + χ²(π ‖ μ)
    return second_moment ** (-steps)  # independent steps: E_μ[W²] = Π_t E_μ[w_t²]


def _chi2(target: torch.Tensor, behaviour: torch.Tensor) -> torch.Tensor:
    return ((target - behaviour) ** 2 / behaviour).sum()


trajectory_ess_fraction = Exercise(
    name="trajectory_ess_fraction",
    title="Large-N ESS/N of the product of T independent ratios: (1 + χ²(π ‖ μ))^(−T)  (4.3b, 4.4)",
    reference=importance.trajectory_ess_fraction,
    cases=_trajectory_ess_cases,
    solution_fn=trajectory_ess_fraction_solution,
    mistakes=(
        Mistake("single_step", "That is the ESS fraction of one step's weights: the weight of a T-step trajectory is a "
                "product of T ratios, and its second moment is the product of theirs.",
                lambda target, behaviour, steps: 1 / (target**2 / behaviour).sum()),
        Mistake("linear_in_steps", "You added the steps' χ² divergences, 1/(1 + T·χ²): the second moments of independent "
                "factors multiply, E_μ[Π w_t²] = Π E_μ[w_t²] = (1 + χ²)^T, which grows much faster.",
                lambda target, behaviour, steps: 1 / (1 + steps * _chi2(target, behaviour))),
        Mistake("kl_instead_of_chi2", "exp(−T·KL(π ‖ μ)) is only an upper bound (Jensen, 4.3b, once per step): the ESS is "
                "set by E_μ[w²] = 1 + χ², which weighs a change in a rare action by 1/μ(a).",
                lambda target, behaviour, steps: torch.exp(-steps * (target * (target / behaviour).log()).sum())),
        Mistake("not_inverted", "That is E_μ[W²] itself (≥ 1): the ESS fraction is its inverse.",
                lambda target, behaviour, steps: (target**2 / behaviour).sum() ** steps),
        Mistake("ratio_inverted", "Your weight is μ/π: the weight that turns μ-samples into π-expectations is π/μ.",
                lambda target, behaviour, steps: (behaviour**2 / target).sum() ** (-steps)),
    ),
    hints=(
        "One step first: ESS/N ≈ 1/E_μ[w²] (4.3), and E_μ[w²] = Σ_a μ(a) (π(a)/μ(a))² = Σ_a π(a)²/μ(a).",
        "The trajectory's weight is W = Π_t w_t with independent factors, so E_μ[W²] = Π_t E_μ[w_t²].",
    ),
)
