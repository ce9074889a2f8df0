"""Notebook 05's side-by-side study: unclipped surrogate vs PPO-clip vs PPO-penalty on a bandit."""

import pytest
import torch

from ppo_edu import losses, trust_region


@pytest.fixture(scope="module")
def runs():
    means = trust_region.bandit_means(5, seed=0)
    return means, {m: trust_region.policy_update_study(m, means, n_iterations=6) for m in trust_region.METHODS}


def test_shapes_and_start(runs):
    means, hists = runs
    for h in hists.values():
        assert h["J"].shape == (7,) and h["kl"].shape == (6,)
        assert abs(float(h["J"][0]) - float(means.mean())) < 1e-12  # uniform start: J = mean of μ
        assert bool((h["kl"] >= 0).all())


def test_constrained_methods_move_less(runs):
    _, h = runs
    assert float(h["surrogate"]["kl"].median()) > 5 * float(h["clip"]["kl"].median())
    assert float(h["surrogate"]["kl"].median()) > 5 * float(h["penalty"]["kl"].median())
    assert torch.isnan(h["clip"]["beta"]).all() and not torch.isnan(h["penalty"]["beta"]).any()


def test_penalty_beta_follows_the_adaptive_rule(runs):
    _, h = runs
    b, kl = h["penalty"]["beta"].tolist(), h["penalty"]["kl"].tolist()
    assert b[0] == 1.0
    for i in range(len(b) - 1):
        assert b[i + 1] == losses.adaptive_beta(b[i], kl[i], 0.01)


def test_bad_inputs():
    with pytest.raises(ValueError, match="method"):
        trust_region.policy_update_study("trpo", trust_region.bandit_means())
    with pytest.raises(ValueError, match="n_actions"):
        trust_region.bandit_means(1)
    with pytest.raises(ValueError, match="lr"):
        trust_region.policy_update_study("clip", trust_region.bandit_means(), lr=0.0)
