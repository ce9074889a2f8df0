"""Reward-to-go against hand-worked examples and a naive double loop."""

import math

import pytest
import torch

import ppo_edu as pe


def naive_reward_to_go(rewards, gamma, dones):
    """G_t = Σ_{t'=t}^{end of t's episode} γ^{t'-t} r_{t'}, written as the definition reads."""
    T = len(rewards)
    out = []
    for t in range(T):
        total, k = 0.0, 0
        for tp in range(t, T):
            total += gamma**k * rewards[tp]
            k += 1
            if dones[tp]:
                break
        out.append(total)
    return out


def test_hand_worked_three_steps():
    # r = (1, 0, 2), γ = 0.5:  G_2 = 2,  G_1 = 0 + 0.5·2 = 1,  G_0 = 1 + 0.5·1 = 1.5
    g = pe.returns.discounted_returns([1.0, 0.0, 2.0], 0.5)
    assert g.tolist() == [1.5, 1.0, 2.0]


def test_cut_at_episode_end():
    # episode 1 = steps 0-1, episode 2 = step 2: G_1 must not see r_2
    g = pe.returns.discounted_returns([1.0, 1.0, 5.0], 0.9, dones=[False, True, False])
    assert g.tolist() == pytest.approx([1.9, 1.0, 5.0])


def test_bootstrap_only_when_not_done():
    g = pe.returns.discounted_returns(torch.tensor([[1.0, 1.0]]), 0.5, dones=[[False, True]], last_value=[10.0, 10.0])
    assert g.tolist() == [[6.0, 1.0]]


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.99, 1.0])
def test_matches_naive_loop_time_major(gamma):
    gen = torch.Generator().manual_seed(1)
    r = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    d = torch.rand(12, 3, generator=gen) < 0.25
    got = pe.returns.discounted_returns(r, gamma, dones=d)
    for n in range(3):
        want = naive_reward_to_go(r[:, n].tolist(), gamma, d[:, n].tolist())
        assert got[:, n].tolist() == pytest.approx(want, abs=1e-12)


def test_total_return():
    assert float(pe.returns.total_return([1.0, 0.0, 2.0], 0.5)) == pytest.approx(1.5)
    col = pe.returns.total_return(torch.tensor([[1.0, 2.0], [1.0, 2.0]]), 0.9)
    assert col.tolist() == pytest.approx([1.9, 3.8])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rewards": [1.0, 2.0], "gamma": 1.5}, r"gamma: expected a number in \[0, 1\], got 1.5"),
        ({"rewards": [1.0, 2.0], "gamma": -0.1}, r"gamma: expected a number in \[0, 1\]"),
        ({"rewards": [1.0, float("nan")], "gamma": 0.9}, r"rewards: expected finite values, got 1 NaN"),
        ({"rewards": torch.zeros(2, 2, 2), "gamma": 0.9}, r"rewards: expected shape \(T,\) or \(T, N\), got shape \(2, 2, 2\)"),
        ({"rewards": [1.0, 2.0], "gamma": 0.9, "dones": [True]}, r"dones: expected the shape of rewards \(2,\), got \(1,\)"),
        ({"rewards": [1.0, 2.0], "gamma": 0.9, "dones": [0, 2]}, r"dones: expected booleans or 0/1 values"),
        ({"rewards": [], "gamma": 0.9}, r"rewards: expected at least one time step"),
        ({"rewards": [[1.0, 2.0]], "gamma": 0.9, "last_value": [1.0, 2.0, 3.0]}, r"last_value: expected shape"),
    ],
)
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pe.returns.discounted_returns(**kwargs)


def test_gamma_nan_rejected():
    with pytest.raises(ValueError, match="gamma"):
        pe.returns.discounted_returns([1.0], math.nan)
