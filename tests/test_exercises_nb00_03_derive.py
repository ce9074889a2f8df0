"""The 'derive it first' exercises of notebooks 00–03: references agree with hand-worked answers, the
solutions pass, and each named mistake is recognised when fed exactly that wrong answer."""

import numpy as np
import pytest
import torch

import ppo_edu as pe

DERIVE = ("always_right_values", "bandit_gradient", "bandit_optimal_baseline", "tabular_policy_gradient")
MISTAKES = [(name, m) for name in DERIVE for m in getattr(pe.exercises, name).mistakes]


def test_always_right_values_by_hand():
    # V(2) = 1; V(1) = (−0.1 + 0.9·0.8·1)/(1 − 0.9·0.2) = 0.62/0.82; V(0) = (−0.1 + 0.72·V(1))/0.82
    v1 = 0.62 / 0.82
    v0 = (-0.1 + 0.72 * v1) / 0.82
    got = pe.exercises.always_right_values.reference(3, 0.2, -0.1, 1.0, 0.9)
    assert np.allclose(got.numpy(), [v0, v1, 1.0])


def test_bandit_gradient_by_hand_and_by_finite_differences():
    logits, rewards = torch.tensor([0.0, 0.0], dtype=torch.float64), torch.tensor([1.0, 0.0], dtype=torch.float64)
    # π = (½, ½), J = ½: ∇J = π ⊙ (r − J) = (¼, −¼)
    assert np.allclose(pe.exercises.bandit_gradient.reference(logits, rewards).numpy(), [0.25, -0.25])
    logits = torch.tensor([0.3, -1.0, 0.7], dtype=torch.float64)
    rewards = torch.tensor([1.0, 2.0, -0.5], dtype=torch.float64)
    h, fd = 1e-6, []
    for j in range(3):
        e = torch.zeros(3, dtype=torch.float64)
        e[j] = h
        fd.append(float(((torch.softmax(logits + e, 0) - torch.softmax(logits - e, 0)) * rewards).sum() / (2 * h)))
    assert np.allclose(pe.exercises.bandit_gradient.reference(logits, rewards).numpy(), fd, atol=1e-8)


def test_bandit_optimal_baseline_by_hand():
    logits = torch.tensor([0.0, np.log(3.0)], dtype=torch.float64)  # π = (¼, ¾)
    assert float(pe.exercises.bandit_optimal_baseline.reference(logits, torch.tensor([1.0, 0.0]))) == pytest.approx(0.75)


def test_tabular_policy_gradient_equals_autograd():
    mdp = pe.toy_mdps.random_mdp(4, 3, seed=7)
    pi = torch.softmax(torch.randn(4, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64), 1)
    got = pe.exercises.tabular_policy_gradient.solution_fn(mdp.P, mdp.R, mdp.mu0, mdp.gamma, pi)
    assert torch.allclose(got, pe.toy_mdps.exact_gradient(mdp, pi.log()), atol=1e-12)


@pytest.mark.parametrize("name", DERIVE)
def test_solution_passes_and_reference_is_a_package_function(name):
    ex = getattr(pe.exercises, name)
    assert ex.check(ex.solution_fn).passed
    assert ex.reference is not ex.solution_fn


@pytest.mark.parametrize("name, mistake", MISTAKES, ids=lambda x: getattr(x, "name", x))
def test_each_mistake_is_named(name, mistake):
    result = getattr(pe.exercises, name).check(mistake.fn)
    assert result.status == "failed" and result.mistake == mistake.name, result


def test_softmax_score_second_hint_is_not_the_solution():
    hint = pe.exercises.softmax_score.hints[1]
    assert "zeros_like" not in hint and "subtract" not in hint
