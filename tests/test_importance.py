"""importance: hand-worked ratios, estimators and ESS; exact variance against sampling."""

import math

import pytest
import torch

import ppo_edu as pe

imp = pe.importance
F64 = torch.float64


def test_ratios_and_estimators_by_hand():
    lt = torch.log(torch.tensor([0.5, 0.2], dtype=F64))
    lb = torch.log(torch.tensor([0.25, 0.4], dtype=F64))
    f = torch.tensor([1.0, 3.0], dtype=F64)
    assert torch.allclose(imp.ratios(lt, lb), torch.tensor([2.0, 0.5], dtype=F64))
    assert float(imp.is_estimate(f, lt, lb)) == pytest.approx((2 * 1 + 0.5 * 3) / 2)
    assert float(imp.self_normalised_estimate(f, lt, lb)) == pytest.approx((2 * 1 + 0.5 * 3) / 2.5)


def test_effective_sample_size_by_hand():
    assert float(imp.effective_sample_size(torch.ones(4))) == pytest.approx(4)
    assert float(imp.effective_sample_size(torch.tensor([1.0, 0, 0, 0]))) == pytest.approx(1)
    assert float(imp.effective_sample_size(torch.tensor([2.0, 1.0]))) == pytest.approx(9 / 5)
    cols = imp.effective_sample_size(torch.tensor([[1.0, 2.0], [1.0, 1.0]]))
    assert torch.allclose(cols, torch.tensor([2.0, 9 / 5]))


def test_kl_and_second_moment_by_hand():
    p, q = torch.tensor([0.5, 0.5], dtype=F64), torch.tensor([0.25, 0.75], dtype=F64)
    assert float(imp.kl_divergence(p, q)) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert float(imp.kl_divergence(p, p)) == 0.0
    assert math.isinf(float(imp.kl_divergence(p, torch.tensor([1.0, 0.0], dtype=F64))))
    assert float(imp.second_moment(p, q)) == pytest.approx(0.25 / 0.25 + 0.25 / 0.75)
    assert float(imp.second_moment(q, q)) == pytest.approx(1.0)


def test_unbiased_and_exact_variance_against_sampling():
    g = torch.Generator().manual_seed(0)
    mu = torch.tensor([0.5, 0.3, 0.2], dtype=F64)
    pi = torch.tensor([0.1, 0.3, 0.6], dtype=F64)
    f = torch.tensor([1.0, -2.0, 4.0], dtype=F64)
    a = torch.multinomial(mu, 200_000, replacement=True, generator=g)
    samples = (pi / mu)[a] * f[a]
    est = imp.is_estimate(f[a], pi.log()[a], mu.log()[a])
    assert abs(float(est - (pi * f).sum())) < 4 * float(samples.std()) / 200_000**0.5
    naive = sum(mu[i] * ((pi[i] / mu[i]) * f[i]) ** 2 for i in range(3)) - float((pi * f).sum()) ** 2
    assert float(imp.is_variance(pi, mu, f)) == pytest.approx(float(naive))
    assert float(samples.var()) == pytest.approx(float(imp.is_variance(pi, mu, f)), rel=0.03)
    ess = imp.effective_sample_size((pi / mu)[a].reshape(1000, 200))  # 200 columns of 1000 samples
    assert float(ess.mean()) == pytest.approx(1000 / float(imp.second_moment(pi, mu)), rel=0.05)


def test_surrogate_value_and_gradient_at_old_policy():
    g = torch.Generator().manual_seed(1)
    theta = torch.randn(3, 2, generator=g, dtype=F64)
    states, actions = torch.randint(0, 3, (5, 4), generator=g), torch.randint(0, 2, (5, 4), generator=g)
    adv, mask = torch.randn(5, 4, generator=g, dtype=F64), torch.rand(5, 4, generator=g) > 0.2
    old = pe.policy_gradient.log_probs(theta, states, actions)
    th = theta.clone().requires_grad_(True)
    L = imp.surrogate(pe.policy_gradient.log_probs(th, states, actions), old, adv, mask)
    assert float(L.detach()) == pytest.approx(float((adv * mask).sum() / 4))
    (grad,) = torch.autograd.grad(L, th)
    want = pe.policy_gradient.reinforce_estimates(theta, states, actions, adv, mask).mean(0)
    assert torch.allclose(grad, want)


def test_bad_inputs_raise():
    p = torch.tensor([0.5, 0.5])
    with pytest.raises(ValueError, match="p:"):
        imp.kl_divergence(torch.tensor([0.5, 0.6]), p)
    with pytest.raises(ValueError, match="behaviour"):
        imp.second_moment(p, torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="weights"):
        imp.effective_sample_size(torch.tensor([-1.0, 2.0]))
    with pytest.raises(ValueError, match="weights"):
        imp.effective_sample_size(torch.zeros(3))
    with pytest.raises(ValueError, match="logp_behaviour"):
        imp.ratios(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="f_values"):
        imp.is_estimate(torch.tensor([float("nan")]), torch.zeros(1), torch.zeros(1))
    with pytest.raises(ValueError, match="logp_new"):
        imp.surrogate(torch.zeros(3), torch.zeros(3), torch.zeros(3))


def test_chi_squared_and_ess_fraction_by_hand():
    p, q = torch.tensor([0.5, 0.5], dtype=torch.float64), torch.tensor([0.25, 0.75], dtype=torch.float64)
    chi2 = 0.25**2 / 0.25 + 0.25**2 / 0.75  # Σ (p − q)²/q
    assert float(imp.chi_squared(p, q)) == pytest.approx(chi2)
    assert float(imp.second_moment(p, q)) == pytest.approx(1 + chi2)  # E_q[w²] = 1 + χ²
    assert float(imp.ess_fraction(p, q)) == pytest.approx(1 / (1 + chi2))
    assert float(imp.ess_fraction(p, q)) <= math.exp(-float(imp.kl_divergence(p, q)))  # Jensen
    assert float(imp.chi_squared(q, q)) == 0.0
    with pytest.raises(ValueError, match="behaviour"):
        imp.chi_squared(p, torch.tensor([1.0, 0.0]))


def test_trajectory_ess_fraction_is_the_step_fraction_to_the_power_t():
    p, q = torch.tensor([0.5, 0.5], dtype=torch.float64), torch.tensor([0.8, 0.2], dtype=torch.float64)
    assert float(imp.trajectory_ess_fraction(p, q, 1)) == pytest.approx(0.64)
    assert float(imp.trajectory_ess_fraction(p, q, 4)) == pytest.approx(0.64**4)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="steps"):
            imp.trajectory_ess_fraction(p, q, bad)
