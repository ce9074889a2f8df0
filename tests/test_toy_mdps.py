"""toy_mdps (01–04): exact V, Q, A and ∇J of tabular MDPs against hand-worked values,
naive iterations, finite differences and Monte-Carlo averages."""

import math

import pytest
import torch

import ppo_edu as pe

tm = pe.toy_mdps
F64 = torch.float64


def one_hot_policy(actions, n_actions=2):
    return torch.nn.functional.one_hot(torch.tensor(actions), n_actions).to(F64)


def test_corridor_always_right_by_hand():
    mdp = tm.corridor(n_states=3, slip=0.0, step_reward=-0.1, goal_reward=1.0, gamma=0.9)
    v = tm.state_values(mdp, one_hot_policy([1, 1, 1]))
    # from cell 0: −0.1, then −0.1 (γ), then +1 (γ²); from cell 1: −0.1 + 0.9; from cell 2: +1
    assert torch.allclose(v, torch.tensor([-0.1 - 0.09 + 0.81, -0.1 + 0.9, 1.0], dtype=F64))


def test_corridor_always_left_ends_at_once():
    mdp = tm.corridor(n_states=3, slip=0.0, gamma=0.5)
    v = tm.state_values(mdp, one_hot_policy([0, 0, 0]))
    assert torch.allclose(v, torch.tensor([-0.1, -0.15, -0.175], dtype=F64))


def naive_policy_evaluation(mdp, pi, sweeps=2000):
    v = torch.zeros(mdp.n_states, dtype=F64)
    for _ in range(sweeps):
        new = torch.zeros_like(v)
        for s in range(mdp.n_states):
            for a in range(mdp.n_actions):
                nxt = sum(mdp.P[s, a, s2] * v[s2] for s2 in range(mdp.n_states))
                new[s] += pi[s, a] * (mdp.R[s, a] + mdp.gamma * nxt)
        v = new
    return v


@pytest.mark.parametrize("seed", [0, 1])
def test_values_match_iterative_evaluation(seed):
    mdp = tm.random_mdp(4, 3, end_prob=0.3, gamma=0.95, seed=seed)
    pi = tm.softmax_policy(torch.randn(4, 3, generator=torch.Generator().manual_seed(seed), dtype=F64))
    v = tm.state_values(mdp, pi)
    assert torch.allclose(v, naive_policy_evaluation(mdp, pi, sweeps=300), atol=1e-10)
    q = tm.action_values(mdp, pi)
    assert torch.allclose((pi * q).sum(-1), v)
    a = tm.advantages(mdp, pi)
    assert torch.allclose((pi * a).sum(-1), torch.zeros(4, dtype=F64), atol=1e-12)
    assert float(a.abs().max()) > 1e-3  # not trivially zero


def test_values_match_monte_carlo_returns():
    mdp = tm.corridor()
    pi = tm.softmax_policy(torch.tensor([[0.3, -0.2], [0.0, 0.5], [-1.0, 1.0]], dtype=F64))
    eps = tm.sample_episodes(mdp, pi, 40_000, torch.Generator().manual_seed(0))
    ret = (mdp.gamma ** torch.arange(eps.rewards.shape[0], dtype=F64)[:, None] * eps.rewards).sum(0)
    se = ret.std() / ret.numel() ** 0.5
    assert abs(float(ret.mean() - tm.objective(mdp, torch.log(pi)))) < 4 * float(se)


def test_exact_gradient_matches_finite_differences_and_the_theorem():
    mdp = tm.random_mdp(3, 2, end_prob=0.2, gamma=0.9, seed=3)
    theta = torch.randn(3, 2, generator=torch.Generator().manual_seed(1), dtype=F64)
    grad = tm.exact_gradient(mdp, theta)
    fd = torch.zeros_like(theta)
    h = 1e-6
    for i in range(3):
        for j in range(2):
            e = torch.zeros_like(theta)
            e[i, j] = h
            fd[i, j] = (tm.objective(mdp, theta + e) - tm.objective(mdp, theta - e)) / (2 * h)
    assert torch.allclose(grad, fd, atol=1e-8)
    assert torch.allclose(tm.policy_gradient_theorem(mdp, theta), grad, atol=1e-12)


def test_discounted_visitation_is_the_sum_of_discounted_state_probabilities():
    mdp = tm.random_mdp(4, 2, end_prob=0.1, gamma=0.8, seed=2)
    pi = tm.softmax_policy(torch.zeros(4, 2, dtype=F64))
    P_pi = torch.einsum("sa,sat->st", pi, mdp.P)
    p_t, total = mdp.mu0.clone(), torch.zeros(4, dtype=F64)
    for t in range(400):
        total += mdp.gamma**t * p_t
        p_t = p_t @ P_pi
    assert torch.allclose(tm.discounted_visitation(mdp, pi), total, atol=1e-12)


def test_visitation_with_gamma_one_is_the_expected_episode_length():
    mdp = tm.corridor(gamma=1.0)
    pi = tm.softmax_policy(torch.zeros(3, 2, dtype=F64))
    eps = tm.sample_episodes(mdp, pi, 20_000, torch.Generator().manual_seed(1))
    lengths = eps.lengths.to(F64)
    d = tm.discounted_visitation(mdp, pi)
    assert abs(float(d.sum() - lengths.mean())) < 4 * float(lengths.std() / lengths.numel() ** 0.5)
    assert not bool(eps.truncated.any())


def test_surrogate_is_first_order_exact_and_performance_difference_is_exact():
    mdp = tm.random_mdp(4, 3, end_prob=0.25, gamma=0.9, seed=5)
    g = torch.Generator().manual_seed(0)
    old = torch.randn(4, 3, generator=g, dtype=F64)
    new = old + 0.7 * torch.randn(4, 3, generator=g, dtype=F64)
    gap = tm.objective(mdp, new) - tm.objective(mdp, old)
    assert torch.allclose(tm.surrogate_objective(mdp, new, old, new_state_distribution=True), gap, atol=1e-12)
    assert abs(float(tm.surrogate_objective(mdp, new, old) - gap)) > 1e-4  # dropping the state ratio is not exact
    assert abs(float(tm.surrogate_objective(mdp, old, old))) < 1e-12
    th = old.clone().requires_grad_(True)
    (grad_l,) = torch.autograd.grad(tm.surrogate_objective(mdp, th, old), th)
    assert torch.allclose(grad_l, tm.exact_gradient(mdp, old), atol=1e-12)


def test_sample_episodes_layout_and_action_frequencies():
    mdp = tm.corridor()
    pi = tm.softmax_policy(torch.tensor([[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]], dtype=F64))
    eps = tm.sample_episodes(mdp, pi, 20_000, torch.Generator().manual_seed(0))
    T, N = eps.states.shape
    assert eps.actions.shape == eps.rewards.shape == eps.mask.shape == (T, N)
    assert bool(eps.mask[0].all())
    assert bool((eps.mask[1:] <= eps.mask[:-1]).all())  # real steps form a prefix
    assert float(eps.rewards[~eps.mask].abs().sum()) == 0.0
    assert bool((eps.states[0] == 0).all())
    freq_right = eps.actions[0].to(F64).mean()
    assert abs(float(freq_right - pi[0, 1])) < 4 * (0.25 / N) ** 0.5
    same = tm.sample_episodes(mdp, pi, 20_000, torch.Generator().manual_seed(0))
    assert torch.equal(same.actions, eps.actions)


def test_sample_episodes_reports_truncation():
    mdp = tm.corridor(slip=0.9)
    eps = tm.sample_episodes(mdp, tm.softmax_policy(torch.zeros(3, 2)), 200, torch.Generator().manual_seed(0),
                             max_steps=2)
    assert eps.states.shape[0] == 2 and bool(eps.truncated.any())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"P": torch.full((2, 1, 2), 0.6), "R": torch.zeros(2, 1), "mu0": [1.0, 0.0], "gamma": 0.9}, "P:"),
        ({"P": -torch.ones(2, 1, 2), "R": torch.zeros(2, 1), "mu0": [1.0, 0.0], "gamma": 0.9}, "P:"),
        ({"P": torch.zeros(2, 1, 3), "R": torch.zeros(2, 1), "mu0": [1.0, 0.0], "gamma": 0.9}, "P:"),
        ({"P": torch.zeros(2, 1, 2), "R": torch.zeros(2, 2), "mu0": [1.0, 0.0], "gamma": 0.9}, "R:"),
        ({"P": torch.zeros(2, 1, 2), "R": torch.zeros(2, 1), "mu0": [0.5, 0.6], "gamma": 0.9}, "mu0"),
        ({"P": torch.zeros(2, 1, 2), "R": torch.zeros(2, 1), "mu0": [1.0, 0.0], "gamma": 1.5}, "gamma"),
        ({"P": torch.zeros(2, 1, 2), "R": torch.tensor([[float("nan")], [0.0]]), "mu0": [1.0, 0.0], "gamma": 0.9},
         "R:"),
    ],
)
def test_bad_mdp_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tm.TabularMDP(**kwargs)


def test_bad_policy_and_never_ending_episodes_raise():
    mdp = tm.corridor()
    with pytest.raises(ValueError, match="pi"):
        tm.state_values(mdp, torch.zeros(3, 2))  # logits passed instead of probabilities
    with pytest.raises(ValueError, match="pi"):
        tm.state_values(mdp, torch.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="theta"):
        tm.objective(mdp, torch.zeros(3, 3))
    loop = tm.TabularMDP(torch.ones(1, 1, 1), torch.ones(1, 1), [1.0], gamma=1.0)
    with pytest.raises(ValueError, match="never end"):
        tm.state_values(loop, torch.ones(1, 1))
    with pytest.raises(ValueError, match="n_episodes"):
        tm.sample_episodes(mdp, tm.softmax_policy(torch.zeros(3, 2)), 0)
    with pytest.raises(ValueError, match="slip"):
        tm.corridor(slip=1.0)


def test_trpo_bound_holds_and_max_kl_by_hand():
    mdp = tm.corridor(slip=0.5)
    theta_old = torch.zeros(3, 2, dtype=torch.float64)
    u = torch.randn(3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for alpha in (0.001, 0.1, 1.0, 3.0):
        theta = theta_old + alpha * u
        gain = float(tm.objective(mdp, theta) - tm.objective(mdp, theta_old))
        assert float(tm.trpo_lower_bound(mdp, theta, theta_old)) <= gain + 1e-12  # Schulman et al. 2015, Thm 1
    # max_s KL(π_old ‖ π): state 1 moves to logits (0, log 3), i.e. π = (¼, ¾); KL(½,½ ‖ ¼,¾) by hand
    theta = theta_old.clone()
    theta[1, 1] = math.log(3.0)
    want = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert float(tm.max_kl(theta_old, theta)) == pytest.approx(want)
    # C = 4 ε γ / (1 − γ)², ε = max |A_old|: the bound is L − C·KL_max
    eps = float(tm.advantages(mdp, tm.softmax_policy(theta_old)).abs().max())
    C = 4 * eps * 0.9 / 0.1**2
    want_bound = float(tm.surrogate_objective(mdp, theta, theta_old)) - C * want
    assert float(tm.trpo_lower_bound(mdp, theta, theta_old)) == pytest.approx(want_bound)
    with pytest.raises(ValueError, match="γ < 1"):
        tm.trpo_lower_bound(mdp.with_gamma(1.0), theta, theta_old)


def test_mean_tv_bound_holds_is_tighter_than_trpo_and_matches_a_hand_computation():
    # Achiam et al. (2017), Corollary 1, eq. (4.10): valid on random MDPs and directions, and never below TRPO's (4.9)
    for seed in range(12):
        mdp = tm.random_mdp(4, 3, seed=seed)
        g = torch.Generator().manual_seed(seed)
        theta_old = torch.randn(4, 3, generator=g, dtype=torch.float64)
        for scale in (0.01, 0.1, 1.0, 3.0):
            theta = theta_old + scale * torch.randn(4, 3, generator=g, dtype=torch.float64)
            gain = float(tm.objective(mdp, theta) - tm.objective(mdp, theta_old))
            bound = float(tm.mean_tv_lower_bound(mdp, theta, theta_old))
            assert bound <= gain + 1e-12
            assert bound >= float(tm.trpo_lower_bound(mdp, theta, theta_old)) - 1e-12
    # by hand: corridor, π_old uniform, state 1 moves to π = (¼, ¾): TV_1 = ¼, other states 0
    mdp = tm.corridor(slip=0.5)
    theta_old = torch.zeros(3, 2, dtype=torch.float64)
    theta = theta_old.clone()
    theta[1, 1] = math.log(3.0)
    pi, adv = tm.softmax_policy(theta), tm.advantages(mdp, tm.softmax_policy(theta_old))
    eps = float((pi * adv).sum(-1).abs().max())
    d1 = float(tm.discounted_visitation(mdp, tm.softmax_policy(theta_old))[1])
    want = float(tm.surrogate_objective(mdp, theta, theta_old)) - 2 * 0.9 * eps / 0.1 * d1 * 0.25
    assert float(tm.mean_tv_lower_bound(mdp, theta, theta_old)) == pytest.approx(want)
    with pytest.raises(ValueError, match="γ < 1"):
        tm.mean_tv_lower_bound(mdp.with_gamma(1.0), theta, theta_old)


def test_trajectory_ess_fraction_closed_form_and_monte_carlo():
    # one state, two actions, each step continues with probability c: E[W²] = Σ_T (1 − c) c^(T−1) m^T = m(1 − c)/(1 − cm)
    c = 0.6
    one = tm.TabularMDP(torch.full((1, 2, 1), c, dtype=torch.float64), torch.zeros(1, 2), [1.0], gamma=1.0)
    pi, mu = torch.tensor([[0.5, 0.5]], dtype=torch.float64), torch.tensor([[0.8, 0.2]], dtype=torch.float64)
    m = 0.25 / 0.8 + 0.25 / 0.2
    assert float(tm.trajectory_ess_fraction(one, pi, mu)) == pytest.approx((1 - c * m) / (m * (1 - c)))
    assert float(tm.trajectory_ess_fraction(one, mu, mu)) == pytest.approx(1.0)  # on-policy: every weight is 1
    assert float(tm.trajectory_ess_fraction(tm.TabularMDP(torch.full((1, 2, 1), 0.7, dtype=torch.float64),
                                                          torch.zeros(1, 2), [1.0], gamma=1.0), pi, mu)) == 0.0  # c·m ≥ 1
    # the corridor: against the mean of W² over sampled episodes
    mdp = tm.corridor()
    target = tm.softmax_policy(torch.tensor([[-0.3, 0.3], [0.0, 0.4], [0.2, 0.5]], dtype=torch.float64))
    behaviour = tm.softmax_policy(torch.zeros(3, 2, dtype=torch.float64))
    eps = tm.sample_episodes(mdp, behaviour, 100_000, torch.Generator().manual_seed(0))
    logw = (target.log() - behaviour.log())[eps.states, eps.actions] * eps.mask
    w2 = torch.exp(2 * logw.sum(0))
    exact = 1 / float(tm.trajectory_ess_fraction(mdp, target, behaviour))
    assert abs(float(w2.mean()) - exact) < 5 * float(w2.std()) / len(w2) ** 0.5
    with pytest.raises(ValueError, match="behaviour"):
        tm.trajectory_ess_fraction(mdp, target, torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]], dtype=torch.float64))
