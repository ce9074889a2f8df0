"""policy_gradient: closed-form scores against autograd, weights against naive loops, and the
REINFORCE estimators against the exact gradient of a small MDP."""

import numpy as np
import pytest
import torch

import ppo_edu as pe

pg, tm = pe.policy_gradient, pe.toy_mdps
F64 = torch.float64


@pytest.fixture(scope="module")
def setting():
    mdp = tm.corridor()
    theta = torch.tensor([[0.2, -0.1], [0.0, 0.4], [-0.3, 0.3]], dtype=F64)
    eps = tm.sample_episodes(mdp, tm.softmax_policy(theta), 60_000, torch.Generator().manual_seed(0))
    return mdp, theta, eps


def test_score_matches_autograd():
    theta = torch.randn(3, 4, generator=torch.Generator().manual_seed(0), dtype=F64)
    states, actions = torch.tensor([0, 2, 2, 1]), torch.tensor([3, 0, 1, 1])
    got = pg.score(theta, states, actions)
    assert got.shape == (4, 3, 4)
    for k in range(4):
        th = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(torch.log_softmax(th, -1)[states[k], actions[k]], th)
        assert torch.allclose(got[k], g)
    assert torch.allclose(pg.log_probs(theta, states, actions), torch.log_softmax(theta, -1)[states, actions])


def test_score_by_hand():
    theta = torch.zeros(1, 2, dtype=F64)  # π = (1/2, 1/2)
    assert torch.allclose(pg.score(theta, torch.tensor(0), torch.tensor(1)), torch.tensor([[-0.5, 0.5]], dtype=F64))


def test_weights_against_naive_loops():
    rewards = torch.tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]], dtype=F64)
    mask = torch.tensor([[1, 1], [1, 1], [1, 0]], dtype=torch.bool)
    g = 0.5
    total = pg.total_return_weights(rewards, mask, g)
    rtg = pg.reward_to_go_weights(rewards, mask, g)
    for n in range(2):
        T = int(mask[:, n].sum())
        R = sum(g**t * float(rewards[t, n]) for t in range(T))
        for t in range(3):
            want_total = R if t < T else 0.0
            want_rtg = sum(g**tp * float(rewards[tp, n]) for tp in range(t, T)) if t < T else 0.0
            assert float(total[t, n]) == pytest.approx(want_total)
            assert float(rtg[t, n]) == pytest.approx(want_rtg)
    # γ^t G_t, with G_t from the returns module (episode end at the last real step)
    dones = torch.tensor([[0, 0], [0, 1], [1, 1]], dtype=torch.bool)
    G = pe.returns.discounted_returns(rewards * mask, g, dones=dones)
    assert torch.allclose(rtg, (g ** torch.arange(3, dtype=F64))[:, None] * G * mask)
    assert torch.allclose(pg.discount_weights(rewards, mask, g)[:, 0], torch.tensor([1.0, 0.25, 0.75], dtype=F64))


def test_reinforce_estimates_and_loss_match_autograd():
    g = torch.Generator().manual_seed(2)
    theta = torch.randn(3, 2, generator=g, dtype=F64)
    states = torch.randint(0, 3, (4, 5), generator=g)
    actions = torch.randint(0, 2, (4, 5), generator=g)
    weights = torch.randn(4, 5, generator=g, dtype=F64)
    mask = torch.rand(4, 5, generator=g) > 0.3
    est = pg.reinforce_estimates(theta, states, actions, weights, mask)
    for n in range(5):
        th = theta.clone().requires_grad_(True)
        lp = torch.log_softmax(th, -1)
        total = sum(weights[t, n] * lp[states[t, n], actions[t, n]] for t in range(4) if mask[t, n])
        (want,) = torch.autograd.grad(total, th) if torch.is_tensor(total) else (torch.zeros_like(theta),)
        assert torch.allclose(est[n], want)
    th = theta.clone().requires_grad_(True)
    loss = pg.reinforce_loss(pg.log_probs(th, states, actions), weights, mask)
    (grad,) = torch.autograd.grad(loss, th)
    assert torch.allclose(grad, -est.mean(0))  # descending the loss ascends J


@pytest.mark.parametrize("kind", ["total", "reward_to_go", "advantage"])
def test_estimators_are_unbiased(setting, kind):
    mdp, theta, eps = setting
    pi = tm.softmax_policy(theta)
    if kind == "total":
        w = pg.total_return_weights(eps.rewards, eps.mask, mdp.gamma)
    elif kind == "reward_to_go":
        w = pg.reward_to_go_weights(eps.rewards, eps.mask, mdp.gamma)
    else:
        w = pg.discount_weights(tm.advantages(mdp, pi)[eps.states, eps.actions], eps.mask, mdp.gamma)
    est = pg.reinforce_estimates(theta, eps.states, eps.actions, w, eps.mask)
    se = est.std(0) / est.shape[0] ** 0.5
    z = (est.mean(0) - tm.exact_gradient(mdp, theta)).abs() / se
    assert float(z.max()) < 4.5


def test_dropping_the_discount_factor_biases_the_estimate(setting):
    mdp, theta, eps = setting
    T = eps.rewards.shape[0]
    G = pg.reward_to_go_weights(eps.rewards, eps.mask, mdp.gamma) / (mdp.gamma ** torch.arange(T, dtype=F64))[:, None]
    est = pg.reinforce_estimates(theta, eps.states, eps.actions, G, eps.mask)
    se = est.std(0) / est.shape[0] ** 0.5
    z = (est.mean(0) - tm.exact_gradient(mdp, theta)).abs() / se
    assert float(z.max()) > 8


def test_total_variance_and_baselines():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(500, 2, 3, generator=g, dtype=F64)
    R = 2.0 + torch.randn(500, generator=g, dtype=F64) + scores[:, 0, 0]
    flat = scores.numpy().reshape(500, -1) * R.numpy()[:, None]
    assert float(pg.total_variance(scores * R[:, None, None])) == pytest.approx(flat.var(0, ddof=1).sum())
    sq = (scores**2).sum((1, 2))
    b_star = pg.optimal_constant_baseline(scores, R)
    assert float(b_star) == pytest.approx(float((sq * R).sum() / sq.sum()))
    bs = torch.tensor([float(b_star) - 0.1, float(b_star), float(b_star) + 0.1], dtype=F64)
    curve = pg.baseline_variance_curve(scores, R, bs)
    assert float(curve[1]) < float(curve[0]) and float(curve[1]) < float(curve[2])
    direct = [pg.total_variance((R - b)[:, None, None] * scores) for b in bs]
    assert torch.allclose(curve, torch.stack(direct))
    # the sample curve is a parabola whose minimum is close to (not exactly at) the formula's b*
    fine = torch.linspace(float(b_star) - 1, float(b_star) + 1, 2001, dtype=F64)
    assert abs(float(fine[pg.baseline_variance_curve(scores, R, fine).argmin()] - b_star)) < 0.05


def test_mc_gradient_errors_by_hand():
    est = torch.tensor([[1.0], [3.0], [1.0], [3.0]], dtype=F64)
    err = pg.mc_gradient_errors(est, torch.tensor([2.0], dtype=F64), [1, 2])
    assert torch.allclose(err, torch.tensor([1.0, 0.0], dtype=F64))


def test_mc_error_shrinks_like_one_over_sqrt_n(setting):
    mdp, theta, eps = setting
    w = pg.total_return_weights(eps.rewards, eps.mask, mdp.gamma)
    est = pg.reinforce_estimates(theta, eps.states, eps.actions, w, eps.mask)
    sizes = [10, 100, 1000]
    err = pg.mc_gradient_errors(est, tm.exact_gradient(mdp, theta), sizes).numpy()
    slope = np.polyfit(np.log(sizes), np.log(err), 1)[0]
    assert -0.65 < slope < -0.35


def test_bad_inputs_raise():
    theta = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="states"):
        pg.score(theta, torch.tensor([2]), torch.tensor([0]))
    with pytest.raises(ValueError, match="integer"):
        pg.score(theta, torch.tensor([0.5]), torch.tensor([0]))
    with pytest.raises(ValueError, match="gamma"):
        pg.reward_to_go_weights(torch.zeros(2, 1), torch.ones(2, 1), 1.5)
    with pytest.raises(ValueError, match="rewards"):
        pg.total_return_weights(torch.tensor([[float("nan")]]), torch.ones(1, 1), 0.9)
    with pytest.raises(ValueError, match="mask"):
        pg.reward_to_go_weights(torch.zeros(2, 1), torch.ones(3, 1), 0.9)
    with pytest.raises(ValueError, match="weights"):
        pg.reinforce_estimates(theta, torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long),
                               torch.zeros(3, 1))
    with pytest.raises(ValueError, match="estimates"):
        pg.total_variance(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="sizes"):
        pg.mc_gradient_errors(torch.zeros(4, 1), torch.zeros(1), [3])
    with pytest.raises(ValueError, match="theta"):
        pg.log_probs(torch.zeros(3), torch.tensor([0]), torch.tensor([0]))


def test_baselined_estimates_by_hand():
    # Two episodes with returns 3 and 1, baseline 2: weights +1 and −1 on each episode's score.
    scores = torch.tensor([[1.0, -2.0], [0.5, 0.5]], dtype=torch.float64)
    got = pe.policy_gradient.baselined_estimates(scores, torch.tensor([3.0, 1.0]), 2.0)
    assert torch.equal(got, torch.tensor([[1.0, -2.0], [-0.5, -0.5]], dtype=torch.float64))
    # (N, S, A) score sums keep their shape; b = 0 gives the plain REINFORCE estimates.
    g = torch.randn(4, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    R = torch.arange(4.0, dtype=torch.float64)
    assert torch.equal(pe.policy_gradient.baselined_estimates(g, R, 0.0), R[:, None, None] * g)
    with pytest.raises(ValueError, match="baseline"):
        pe.policy_gradient.baselined_estimates(g, R, torch.zeros(4))
    with pytest.raises(ValueError, match="score_sums"):
        pe.policy_gradient.baselined_estimates(g[:3], R, 0.0)


def test_bandit_optimal_baseline_by_hand_and_from_samples():
    pg = pe.policy_gradient
    # π = (½, ½): both scores have ‖g‖² = ½, so b* is the plain mean of the rewards
    assert float(pg.bandit_optimal_baseline([0.0, 0.0], [1.0, 3.0])) == pytest.approx(2.0)
    # π = (¼, ¾): ‖g(0)‖² = 2·(¾)², ‖g(1)‖² = 2·(¼)², so b* = (¼·9/8 r0 + ¾·1/8 r1) / (3/8) = ¾ r0 + ¼ r1
    logits = torch.tensor([0.0, float(np.log(3.0))], dtype=torch.float64)
    assert float(pg.bandit_optimal_baseline(logits, [1.0, 0.0])) == pytest.approx(0.75)
    # against the sample formula (2.4) on many one-step episodes
    logits, rewards = torch.tensor([0.3, -1.0, 1.2], dtype=torch.float64), torch.tensor([1.0, -2.0, 0.5])
    a = torch.multinomial(torch.softmax(logits, -1), 200_000, replacement=True, generator=torch.Generator().manual_seed(0))
    g = pg.score(logits[None, :], torch.zeros_like(a), a)
    sampled = float(pg.optimal_constant_baseline(g, rewards.double()[a]))
    assert sampled == pytest.approx(float(pg.bandit_optimal_baseline(logits, rewards)), abs=0.02)
    with pytest.raises(ValueError, match="logits"):
        pg.bandit_optimal_baseline([0.0], [1.0])
    with pytest.raises(ValueError, match="rewards"):
        pg.bandit_optimal_baseline([0.0, 1.0], [1.0, 2.0, 3.0])


def test_reinforce_learning_curves():
    pg, tm = pe.policy_gradient, pe.toy_mdps
    mdp = tm.corridor()
    J0 = float(tm.objective(mdp, torch.zeros(3, 2, dtype=torch.float64)))
    still = pg.reinforce_learning_curves(mdp, 3, 4, 10, lr=0.0)
    assert still.shape == (3, 5) and torch.allclose(still, torch.full_like(still, J0))
    # many episodes and a small step: one update is θ ← θ + lr ∇J, so J rises by about lr ‖∇J‖²
    lr = 0.05
    grad = tm.exact_gradient(mdp, torch.zeros(3, 2, dtype=torch.float64))
    first = pg.reinforce_learning_curves(mdp, 4, 1, 20_000, lr=lr)[:, 1] - J0
    assert float(first.mean()) == pytest.approx(lr * float((grad**2).sum()), rel=0.1)
    # the first update has b = 0 in both settings, so with one seed they agree; then they learn
    a = pg.reinforce_learning_curves(mdp, 2, 1, 50, 1.0, "none", 1.0, seed=3)
    b = pg.reinforce_learning_curves(mdp, 2, 1, 50, 1.0, "previous_batch", 1.0, seed=3)
    assert torch.equal(a, b)
    learnt = pg.reinforce_learning_curves(mdp, 4, 40, 50, 1.0, "previous_batch", 1.0, seed=0)
    assert bool((learnt[:, -1] > J0 + 0.4).all())
    with pytest.raises(ValueError, match="baseline"):
        pg.reinforce_learning_curves(mdp, 1, 1, 1, 1.0, baseline="mean")
    with pytest.raises(ValueError, match="n_episodes"):
        pg.reinforce_learning_curves(mdp, 1, 1, 0, 1.0)
