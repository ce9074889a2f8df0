"""Exercises of notebooks 01–04: each solution passes, each named mistake is recognised by name
when fed exactly that wrong answer, a blank is "not attempted", and errors become feedback."""

import pytest
import torch

import ppo_edu as pe
from ppo_edu.exercises import nb01_policy_gradient, nb02_baseline, nb03_reward_to_go_and_advantage, nb04_importance_sampling
from ppo_edu.exercises._core import Exercise

MODULES = (nb01_policy_gradient, nb02_baseline, nb03_reward_to_go_and_advantage, nb04_importance_sampling)
EXERCISES = [v for m in MODULES for v in vars(m).values() if isinstance(v, Exercise)]
MISTAKES = [(ex, m) for ex in EXERCISES for m in ex.mistakes]


def test_each_notebook_has_at_least_two_exercises():
    for m in MODULES:
        assert sum(isinstance(v, Exercise) for v in vars(m).values()) >= 2, m.__name__


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_solution_passes_and_is_registered(ex):
    assert getattr(pe.exercises, ex.name) is ex
    result = ex.check(ex.solution_fn)
    assert result.passed, result


@pytest.mark.parametrize("ex, mistake", MISTAKES, ids=lambda x: getattr(x, "name", None))
def test_mistake_is_recognised(ex, mistake):
    result = ex.check(mistake.fn)
    assert result.status == "failed"
    assert result.mistake == mistake.name, result


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_blank_is_not_attempted_and_errors_are_feedback(ex):
    def blank(**kwargs):
        raise NotImplementedError

    assert ex.check(blank).status == "not attempted"

    def broken(**kwargs):
        raise KeyError("oops")

    assert ex.check(broken).status == "error"


def test_wrong_shape_is_reported():
    import torch

    result = pe.exercises.reward_to_go.check(lambda rewards, gamma: torch.zeros(1))
    assert result.status == "failed" and "shape" in result.message


def test_surrogate_catches_a_missing_detach():
    """Exercise 4.3 is compared by value and gradients: the right value with gradient into logp_old fails."""
    import torch

    def no_detach(logp_new, logp_old, advantages):
        return (torch.exp(logp_new - logp_old) * advantages).mean()

    def detached(logp_new, logp_old, advantages):
        return (torch.exp(logp_new - logp_old.detach()) * advantages).mean()

    result = pe.exercises.surrogate_objective.check(no_detach)
    assert result.mistake == "ratio_not_detached" and "∂loss/∂logp_old" in result.message
    assert pe.exercises.surrogate_objective.check(detached).passed


def test_trajectory_ess_fraction_hand_worked_and_its_mistakes():
    # π = [½, ½], μ = [0.8, 0.2]: E_μ[w²] = 0.25/0.8 + 0.25/0.2 = 1.5625 per step, so 3 steps keep 1.5625^-3 = 0.262
    pi, mu = torch.tensor([0.5, 0.5], dtype=torch.float64), torch.tensor([0.8, 0.2], dtype=torch.float64)
    assert abs(float(pe.importance.trajectory_ess_fraction(pi, mu, 3)) - 1.5625**-3) < 1e-12
    ex = pe.exercises.trajectory_ess_fraction
    assert ex.check(nb04_importance_sampling.trajectory_ess_fraction_solution).passed
    wrong = {
        "single_step": lambda target, behaviour, steps: 1 / (target**2 / behaviour).sum(),
        "linear_in_steps": lambda target, behaviour, steps: 1 / (1 + steps * ((target - behaviour) ** 2 / behaviour).sum()),
        "kl_instead_of_chi2": lambda target, behaviour, steps: torch.exp(-steps * (target * (target / behaviour).log()).sum()),
    }
    for name, fn in wrong.items():
        assert ex.check(fn).mistake == name
