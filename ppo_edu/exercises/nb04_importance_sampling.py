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


# -- Exercise 4.4: the ESS fraction from the two distributions (derive) --------------------------
def _ess_fraction_cases() -> list[dict]:
    g = torch.Generator().manual_seed(44)
    out = [{"target": torch.tensor([0.5, 0.5], dtype=F64), "behaviour": torch.tensor([0.8, 0.2], dtype=F64)}]
    for k in (3, 4, 6):
        out.append({"target": torch.softmax(torch.randn(k, generator=g, dtype=F64), 0),
                    "behaviour": torch.softmax(torch.randn(k, generator=g, dtype=F64), 0)})
    return out


def ess_fraction_solution(target: torch.Tensor, behaviour: torch.Tensor) -> torch.Tensor:
    second_moment = (target**2 / behaviour).sum()  # E_μ[w²] = Σ_a μ(a) (π(a)/μ(a))²
    return 1 / second_moment


ess_fraction = Exercise(
    name="ess_fraction",
    title="The large-N ESS fraction 1/E_μ[w²] = 1/(1 + χ²(π ‖ μ)) from π and μ alone  (4.3b)",
    reference=importance.ess_fraction,
    cases=_ess_fraction_cases,
    solution_fn=ess_fraction_solution,
    mistakes=(
        Mistake("kl_instead_of_chi2", "exp(−KL(π ‖ μ)) is only an upper bound on the ESS fraction (Jensen, 4.3b): "
                "the ESS is set by E_μ[w²] = 1 + χ², which weighs a change in a rare action by 1/μ(a).",
                lambda target, behaviour: torch.exp(-(target * (target / behaviour).log()).sum())),
        Mistake("not_inverted", "That is E_μ[w²] itself (≥ 1): the ESS fraction is its inverse, N/E_μ[w²] divided by N.",
                lambda target, behaviour: (target**2 / behaviour).sum()),
        Mistake("moment_under_target", "You averaged w² under π (Σ π³/μ²): the samples come from μ, so "
                "E_μ[w²] = Σ_a μ(a) w(a)² = Σ_a π(a)²/μ(a).",
                lambda target, behaviour: 1 / (target**3 / behaviour**2).sum()),
        Mistake("ratio_inverted", "Your weight is μ/π: the weight that turns μ-samples into π-expectations is π/μ.",
                lambda target, behaviour: 1 / (behaviour**2 / target).sum()),
        Mistake("missing_one", "You returned 1/χ²: E_μ[w²] = 1 + χ²(π ‖ μ), and E_μ[w] = 1 is where the 1 comes from.",
                lambda target, behaviour: 1 / ((target - behaviour) ** 2 / behaviour).sum()),
    ),
    hints=(
        "In (4.3), ESS ≈ N E_μ[w]² / E_μ[w²], and E_μ[w] = Σ_a μ(a) π(a)/μ(a) = 1.",
        "E_μ[w²] = Σ_a μ(a) (π(a)/μ(a))². Divide the ESS by N.",
    ),
)
