"""MC and TD(0) prediction against hand-worked updates, naive loops and the exact random-walk values."""

import pytest
import torch

import ppo_edu as pe
from ppo_edu import toy_mdps, value_learning


def _walk_values(n=5, gamma=1.0):
    walk = toy_mdps.random_walk(n, gamma)
    return toy_mdps.state_values(walk, toy_mdps.uniform_policy(walk))


def _walk_episodes(n_episodes, n_states=5, generator=None):
    walk = toy_mdps.random_walk(n_states)
    return toy_mdps.sample_episodes(walk, toy_mdps.uniform_policy(walk), n_episodes, generator).split()


def test_random_walk_exact_values_are_i_plus_1_over_n_plus_1():
    for n in (1, 3, 5, 19):
        want = torch.arange(1, n + 1, dtype=torch.float64) / (n + 1)
        assert torch.allclose(_walk_values(n), want, atol=1e-12)


def test_random_walk_discounted_values_satisfy_bellman():
    v, g = _walk_values(5, gamma=0.9), 0.9
    padded = torch.cat([torch.zeros(1, dtype=v.dtype), v, torch.zeros(1, dtype=v.dtype)])
    reward = torch.tensor([0, 0, 0, 0, 0.5], dtype=v.dtype)
    assert torch.allclose(v, reward + g * 0.5 * (padded[:-2] + padded[2:]), atol=1e-12)


def test_random_walk_episodes_start_in_middle_and_move_by_one():
    eps = _walk_episodes(200, 5, torch.Generator().manual_seed(0))
    right = 0
    for states, rewards in eps:
        assert states[0] == 2 and bool(((states[1:] - states[:-1]).abs() == 1).all())
        assert states[-1] in (0, 4) and rewards[:-1].abs().sum() == 0
        right += int(rewards[-1] == 1)
        assert (rewards[-1] == 1) == (states[-1] == 4)
    assert 0.35 < right / 200 < 0.65  # from the middle, P(right) = 1/2


def test_mc_hand_worked_episode():
    # states 2 → 3 → 4 → exit right (+1), γ = 1, α = 0.5, V0 = 0.5: every target G_t = 1
    episode = (torch.tensor([2, 3, 4]), torch.tensor([0.0, 0.0, 1.0]))
    hist = value_learning.mc_prediction([episode], 5, alpha=0.5, v0=0.5)
    assert torch.allclose(hist[1], torch.tensor([0.5, 0.5, 0.75, 0.75, 0.75], dtype=torch.float64))
    assert torch.equal(hist[0], torch.full((5,), 0.5, dtype=torch.float64))


def test_td0_hand_worked_episode():
    # same episode: TD moves V(2), V(3) towards r + V(next) = 0.5 (no change); V(4) towards 1
    episode = (torch.tensor([2, 3, 4]), torch.tensor([0.0, 0.0, 1.0]))
    hist = value_learning.td0_prediction([episode], 5, alpha=0.5, v0=0.5)
    assert torch.allclose(hist[1], torch.tensor([0.5, 0.5, 0.5, 0.5, 0.75], dtype=torch.float64))


def _naive_mc(episodes, n, alpha, gamma, v0):
    v = [v0] * n
    for states, rewards in episodes:
        s, r = states.tolist(), rewards.tolist()
        for t in range(len(s)):
            G = sum(gamma ** (j - t) * r[j] for j in range(t, len(r)))
            v[s[t]] += alpha * (G - v[s[t]])
    return torch.tensor(v, dtype=torch.float64)


def _naive_td(episodes, n, alpha, gamma, v0):
    v = [v0] * n
    for states, rewards in episodes:
        s, r = states.tolist(), rewards.tolist()
        for t in range(len(s)):
            target = r[t] + (gamma * v[s[t + 1]] if t + 1 < len(s) else 0.0)
            v[s[t]] += alpha * (target - v[s[t]])
    return torch.tensor(v, dtype=torch.float64)


@pytest.mark.parametrize("gamma", [1.0, 0.8])
def test_mc_and_td_match_naive_loops_with_revisits_and_random_rewards(gamma):
    g = torch.Generator().manual_seed(3)
    eps = [(torch.randint(0, 4, (int(torch.randint(1, 9, (1,), generator=g)),), generator=g),
            torch.randn(8, generator=g, dtype=torch.float64)) for _ in range(20)]
    eps = [(s, r[: len(s)]) for s, r in eps]
    assert torch.allclose(value_learning.mc_prediction(eps, 4, 0.1, gamma, 0.3)[-1], _naive_mc(eps, 4, 0.1, gamma, 0.3))
    assert torch.allclose(value_learning.td0_prediction(eps, 4, 0.1, gamma, 0.3)[-1], _naive_td(eps, 4, 0.1, gamma, 0.3))


def test_both_converge_to_exact_random_walk_values():
    true = _walk_values()
    eps = _walk_episodes(3000, 5, torch.Generator().manual_seed(1))
    for learner in (value_learning.mc_prediction, value_learning.td0_prediction):
        hist = learner(eps, 5, alpha=0.01, v0=0.5)
        final = hist[-1000:].mean(0)  # average out the constant-α jitter
        assert float(value_learning.rms_error(final, true)) < 0.03


def test_rms_error_and_curves():
    true = torch.tensor([0.0, 1.0])
    assert torch.allclose(value_learning.rms_error(torch.tensor([[0.0, 1.0], [1.0, 0.0], [3.0, 1.0]]), true),
                          torch.tensor([0.0, 1.0, 3 / 2**0.5], dtype=torch.float64))
    rw = _walk_values()

    def sample(n, g):
        return _walk_episodes(n, 5, g)

    curves = value_learning.rms_curves("td", [0.1], rw, 30, 5, sample, v0=0.5)
    assert curves.shape == (1, 31)
    assert abs(float(curves[0, 0]) - float(value_learning.rms_error(torch.full((5,), 0.5), rw))) < 1e-12
    assert curves[0, -1] < curves[0, 0]
    same = value_learning.rms_curves("td", [0.1], rw, 30, 5, sample, v0=0.5)
    assert torch.equal(curves, same)  # seeded per run


def test_bad_inputs_raise_clear_errors():
    ep = [(torch.tensor([0, 1]), torch.tensor([0.0, 1.0]))]
    with pytest.raises(ValueError, match="alpha"):
        value_learning.mc_prediction(ep, 2, alpha=0.0)
    with pytest.raises(ValueError, match="alpha"):
        value_learning.td0_prediction(ep, 2, alpha=1.5)
    with pytest.raises(ValueError, match="gamma"):
        value_learning.td0_prediction(ep, 2, alpha=0.1, gamma=1.1)
    with pytest.raises(ValueError, match=r"indices in \[0, 2\)"):
        value_learning.mc_prediction([(torch.tensor([0, 2]), torch.tensor([0.0, 1.0]))], 2, 0.1)
    with pytest.raises(ValueError, match="equal length"):
        value_learning.mc_prediction([(torch.tensor([0, 1]), torch.tensor([1.0]))], 2, 0.1)
    with pytest.raises(ValueError, match="finite"):
        value_learning.td0_prediction([(torch.tensor([0]), torch.tensor([float("nan")]))], 2, 0.1)
    with pytest.raises(ValueError, match="integer state"):
        value_learning.td0_prediction([(torch.tensor([0.5]), torch.tensor([1.0]))], 2, 0.1)
    with pytest.raises(ValueError, match="v0"):
        value_learning.td0_prediction(ep, 2, 0.1, v0=torch.zeros(3))
    with pytest.raises(ValueError, match="method"):
        value_learning.rms_curves("sarsa", [0.1], torch.zeros(2), 1, 1, lambda n, g: ep)
    with pytest.raises(ValueError, match="estimates"):
        value_learning.rms_error(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="n_episodes"):
        _walk_episodes(0)
    walk = toy_mdps.random_walk(5)
    with pytest.raises(ValueError, match="truncated"):  # a cut episode has no Monte-Carlo return
        toy_mdps.sample_episodes(walk, toy_mdps.uniform_policy(walk), 50, max_steps=2).split()
    assert pe.value_learning is value_learning


def test_td0_update_single_steps():
    v = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    # V(0) += 0.5 (1 + 0.9·2 − 0) = 1.4
    assert torch.allclose(value_learning.td0_update(v, 0, 1.0, 2, False, 0.5, 0.9),
                          torch.tensor([1.4, 1.0, 2.0], dtype=torch.float64))
    # terminated: the next state's value is not used: V(1) += 0.5 (1 − 1) = 1
    assert torch.allclose(value_learning.td0_update(v, 1, 1.0, 2, True, 0.5, 0.9), v)
    assert torch.equal(v, torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64))  # input untouched
    with pytest.raises(ValueError, match="next_state"):
        value_learning.td0_update(v, 0, 1.0, 3, False, 0.5, 0.9)


def test_n_step_td_is_td0_at_n1_and_mc_for_long_n():
    eps = _walk_episodes(20, 5, torch.Generator().manual_seed(3))
    for gamma in (1.0, 0.9):
        td = value_learning.td0_prediction(eps, 5, 0.1, gamma, 0.5)
        assert torch.allclose(value_learning.nstep_td_prediction(eps, 5, 0.1, gamma, 0.5, n=1), td, atol=1e-12)
        mc = value_learning.mc_prediction(eps, 5, 0.1, gamma, 0.5)
        assert torch.allclose(value_learning.nstep_td_prediction(eps, 5, 0.1, gamma, 0.5, n=10_000), mc, atol=1e-12)
    # hand-worked, n = 2, γ = 1, α = 0.5, V0 = 0.5, episode C → D → E → exit right (+1):
    # V(C) ← 0.5 + 0.5 (0 + 0 + V(E) − 0.5) = 0.5; then V(D), V(E) get the return 1: 0.75 each
    hist = value_learning.nstep_td_prediction([(torch.tensor([2, 3, 4]), torch.tensor([0.0, 0.0, 1.0]))], 5,
                                              alpha=0.5, v0=0.5, n=2)
    assert hist[1].tolist() == [0.5, 0.5, 0.5, 0.75, 0.75]
    with pytest.raises(ValueError, match="n:"):
        value_learning.nstep_td_prediction(eps, 5, 0.1, n=0)


def test_batch_td_is_certainty_equivalence_and_batch_mc_the_mean_return():
    # Sutton & Barto, Example 6.4 ("you are the predictor"): A,0,B,0 once; B,1 six times; B,0 once
    eps = ([(torch.tensor([0, 1]), torch.tensor([0.0, 0.0]))] + [(torch.tensor([1]), torch.tensor([1.0]))] * 6
           + [(torch.tensor([1]), torch.tensor([0.0]))])
    assert value_learning.batch_mc(eps, 2).tolist() == [0.0, 0.75]
    assert torch.allclose(value_learning.certainty_equivalence(eps, 2), torch.tensor([0.75, 0.75], dtype=torch.float64))
    assert torch.allclose(value_learning.batch_td(eps, 2), torch.tensor([0.75, 0.75], dtype=torch.float64))
    walk_eps = _walk_episodes(10, 5, torch.Generator().manual_seed(0))
    ce = value_learning.certainty_equivalence(walk_eps, 5, gamma=0.9)
    assert torch.allclose(value_learning.batch_td(walk_eps, 5, gamma=0.9), ce, atol=1e-9)
    # batch MC by a naive loop: the mean of every-visit returns
    total, count = torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    for states, rewards in walk_eps:
        for t, s in enumerate(states.tolist()):
            total[s] += float(rewards[t:].sum())
            count[s] += 1
    want = torch.where(count > 0, total / count.clamp_min(1), torch.tensor(0.5, dtype=torch.float64))
    assert torch.allclose(value_learning.batch_mc(walk_eps, 5), want)
    assert value_learning.batch_mc([(torch.tensor([2]), torch.tensor([1.0]))], 5).tolist() == [0.5, 0.5, 1.0, 0.5, 0.5]


def test_offline_td_and_error_decomposition():
    ep = (torch.tensor([2, 3, 2, 3, 4]), torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0]))
    # offline: every target uses V0 = 0.5; C visited twice: 2 × 0.5 (0 + 0.5 − 0.5) = 0; E: 0.5 (1 − 0.5)
    off = value_learning.td0_prediction([ep], 5, alpha=0.5, v0=0.5, online=False)[-1]
    assert off.tolist() == [0.5, 0.5, 0.5, 0.5, 0.75]
    est = torch.tensor([[1.0, 2.0], [3.0, 2.0]], dtype=torch.float64)  # two runs, two states
    true = torch.tensor([1.0, 1.0], dtype=torch.float64)
    # means (2, 2): bias² = mean((1, 1)²) = 1; variance = mean(1, 0) = 0.5; MSE = mean(0, 1, 4, 1) = 1.5
    assert value_learning.error_decomposition(est, true).tolist() == [1.0, 0.5]
    with pytest.raises(ValueError, match="estimates"):
        value_learning.error_decomposition(torch.zeros(3), true)
