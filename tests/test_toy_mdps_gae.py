"""The GAE study MDP: exact V/Q/A against value iteration and rollouts; exact E[GAE] against sampling."""

import pytest
import torch

from ppo_edu import advantages, toy_mdps


@pytest.fixture(scope="module")
def study():
    return toy_mdps.gae_study_mdp()


@pytest.fixture(scope="module")
def mdp(study):
    return study[0]


@pytest.fixture(scope="module")
def pi(study):
    return study[1]


def _exact(mdp, pi):
    return toy_mdps.state_values(mdp, pi), toy_mdps.action_values(mdp, pi), toy_mdps.advantages(mdp, pi)


def test_exact_values_match_value_iteration(mdp, pi):
    V, Q, A = _exact(mdp, pi)
    v = torch.zeros_like(V)
    for _ in range(2000):  # naive policy evaluation by iteration
        q = mdp.R + mdp.gamma * torch.einsum("sat,t->sa", mdp.P, v)
        v = (pi * q).sum(-1)
    assert torch.allclose(V, v, atol=1e-10) and torch.allclose(Q, q, atol=1e-10)
    assert torch.allclose((pi * A).sum(-1), torch.zeros_like(V), atol=1e-12)  # E_π[A] = 0


def test_study_mdp_is_the_seeded_tabular_form(mdp, pi):
    end = 1 - mdp.P.sum(-1)
    assert bool(((end > 0.08 - 1e-12) & (end < 0.2 + 1e-12)).all())  # ends 8–20 % per step
    assert mdp.reward_std == 1.0 and mdp.gamma == 0.95 and toy_mdps.start_state(mdp) == 0
    assert torch.allclose(pi.sum(-1), torch.ones(6, dtype=torch.float64))
    with pytest.raises(ValueError, match="mu0"):
        toy_mdps.start_state(toy_mdps.random_mdp(3, 2))


def _gae_first_step(mdp, rollouts, critic, lam):
    s = rollouts["states"]
    v, nv = critic[s[:-1]], critic[s[1:]]
    adv = advantages.gae(rollouts["rewards"], v, nv, rollouts["terminated"], rollouts["truncated"], mdp.gamma, lam)
    return adv[0]


def test_rollouts_estimate_q_and_expected_gae_is_exact(mdp, pi):
    V, Q, A = _exact(mdp, pi)
    g = torch.Generator().manual_seed(0)
    critic = V + torch.tensor([0.0, 0.8, -0.6, 0.5, -0.7, 0.4], dtype=torch.float64)
    for a0 in (0, 1):
        ro = toy_mdps.sample_rollouts(mdp, pi, a0, 20000, 80, g)
        for lam, c in ((1.0, V), (0.5, critic), (0.0, critic)):
            est = _gae_first_step(mdp, ro, c, lam)
            exact = toy_mdps.expected_gae_first_step(mdp, pi, c, a0, lam, 80)
            assert abs(float(est.mean()) - exact) < 4 * float(est.std()) / 20000**0.5
        # a perfect critic makes every λ unbiased: E[Â_0] = A(s0, a0)
        for lam in (0.0, 0.5, 1.0):
            assert abs(toy_mdps.expected_gae_first_step(mdp, pi, V, a0, lam, 80) - float(A[0, a0])) < 1e-6


def test_rollout_padding_and_flags(mdp, pi):
    ro = toy_mdps.sample_rollouts(mdp, pi, 1, 500, 30, torch.Generator().manual_seed(1))
    assert bool((ro["actions"][0] == 1).all())
    assert bool((ro["rewards"][~ro["alive"]] == 0).all())
    assert bool(ro["terminated"][~ro["alive"]].all())
    assert not bool((ro["truncated"] & ro["terminated"]).any())
    with pytest.raises(ValueError, match="first_action"):
        toy_mdps.sample_rollouts(mdp, pi, 2, 10, 5)
    with pytest.raises(ValueError, match="horizon"):
        toy_mdps.sample_rollouts(mdp, pi, 0, 10, 0)
    with pytest.raises(ValueError, match="critic"):
        toy_mdps.expected_gae_first_step(mdp, pi, torch.zeros(5, dtype=torch.float64), 0, 0.5, 5)
    with pytest.raises(ValueError, match="first_action"):
        toy_mdps.expected_gae_first_step(mdp, pi, torch.zeros(6, dtype=torch.float64), 3, 0.5, 5)
    with pytest.raises(ValueError, match="lam"):
        toy_mdps.expected_gae_first_step(mdp, pi, torch.zeros(6, dtype=torch.float64), 0, 1.2, 5)


def test_many_critics_at_once_match_one_at_a_time(mdp, pi):
    V = toy_mdps.state_values(mdp, pi)
    critics = torch.stack([V, toy_mdps.imperfect_critic(mdp, pi, 1.0, 3), toy_mdps.imperfect_critic(mdp, pi, 4.0, 5)])
    lams = [0.0, 0.6, 1.0]
    many = toy_mdps.gae_bias_variance(mdp, pi, critics, lams, n_rollouts=300, horizon=40, seed=2)
    for i, c in enumerate(critics):
        one = toy_mdps.gae_bias_variance(mdp, pi, c, lams, n_rollouts=300, horizon=40, seed=2)
        for k in ("bias2", "variance", "exact_bias2", "mse"):
            assert torch.allclose(many[k][i], one[k], atol=1e-10)
    # against the GAE recursion itself, on the same rollouts (the same generator stream)
    g = torch.Generator().manual_seed(2)
    A = toy_mdps.advantages(mdp, pi)
    want_b2 = torch.zeros(3, dtype=torch.float64)
    for a0 in range(2):
        ro = toy_mdps.sample_rollouts(mdp, pi, a0, 300, 40, g)
        for j, lam in enumerate(lams):
            est = _gae_first_step(mdp, ro, critics[1], lam)
            want_b2[j] += pi[0, a0] * (float(est.mean()) - float(A[0, a0])) ** 2
    assert torch.allclose(many["bias2"][1], want_b2, atol=1e-10)
    with pytest.raises(ValueError, match="critic"):
        toy_mdps.gae_bias_variance(mdp, pi, torch.zeros(2, 5, dtype=torch.float64), lams, 10)


def test_uncorrelated_gae_variance_by_hand():
    # weights (γλ)^l = 1, ¼, 1/16: variances 1, 1/16, 1/256 → 1.06640625
    got = advantages.uncorrelated_gae_variance(torch.ones(3, dtype=torch.float64), 0.5, 0.5)
    assert float(got) == 1 + 1 / 16 + 1 / 256
    with pytest.raises(ValueError, match="delta_variances"):
        advantages.uncorrelated_gae_variance(torch.tensor([-1.0]), 0.9, 0.9)
