"""Helpers added for notebooks 02–03: hand-worked cases and exact answers."""

import pytest
import sympy as sp
import torch

import ppo_edu as pe

pg, tm = pe.policy_gradient, pe.toy_mdps
F64 = torch.float64


def test_second_moment_split_by_hand():
    # θ = 0, π = (1/2, 1/2): every step's score is ±(1/2, −1/2) in its state's row, ‖·‖² = 1/2.
    theta = torch.zeros(2, 2, dtype=F64)
    states = torch.tensor([[0], [0], [1]])
    actions = torch.tensor([[0], [1], [0]])
    weights = torch.tensor([[1.0], [2.0], [3.0]], dtype=F64)
    own, cross = pg.second_moment_split(theta, states, actions, weights)[0].tolist()
    assert own == pytest.approx(0.5 * (1 + 4 + 9))  # Σ_t ψ_t² ‖∇log π_t‖² = 7
    # ĝ: row 0 = 1·(½, −½) + 2·(−½, ½) = (−½, ½), row 1 = 3·(½, −½): ‖ĝ‖² = ½ + 9/2 = 5, so cross = 5 − 7;
    # the only cross pair is steps 0 and 1 (same state): 2 · ψ_0 ψ_1 ⟨(½, −½), (−½, ½)⟩ = 2 · 2 · (−½) = −2.
    assert cross == pytest.approx(-2.0)


def test_second_moment_split_sums_to_the_squared_norm_and_masks_padding():
    mdp = tm.corridor()
    theta = torch.tensor([[0.2, -0.1], [0.0, 0.4], [-0.3, 0.3]], dtype=F64)
    eps = tm.sample_episodes(mdp, tm.softmax_policy(theta), 50, torch.Generator().manual_seed(0))
    w = pg.reward_to_go_weights(eps.rewards, eps.mask, mdp.gamma)
    split = pg.second_moment_split(theta, eps.states, eps.actions, w + 5.0 * ~eps.mask, eps.mask)  # junk on padding
    est = pg.reinforce_estimates(theta, eps.states, eps.actions, w, eps.mask)
    assert torch.allclose(split.sum(1), (est**2).sum((1, 2)))
    one_step = eps.lengths == 1
    assert one_step.any() and torch.all(split[one_step, 1].abs() < 1e-15)  # one step: no cross term


def test_bootstrap_total_variances_by_hand_and_invariances():
    a, b = torch.tensor([1.0, 2.0], dtype=F64), torch.tensor([3.0, -1.0], dtype=F64)
    est = torch.stack([a, b])  # N = 2: a resample is (a, a), (b, b) — variance 0 — or (a, b), (b, a): ‖a − b‖²/2
    boot = pg.bootstrap_total_variances([est], 400, torch.Generator().manual_seed(0))[:, 0]
    half = float(((a - b) ** 2).sum() / 2)
    assert torch.all((boot.abs() < 1e-12) | ((boot - half).abs() < 1e-12))
    assert 0.35 < float((boot > 1).double().mean()) < 0.65  # about half the resamples mix the two
    x = torch.randn(300, 3, 2, generator=torch.Generator().manual_seed(1), dtype=F64)
    boot = pg.bootstrap_total_variances([x, x + 7.0, 2 * x], 120, torch.Generator().manual_seed(2), chunk=7)
    assert boot.shape == (120, 3)
    assert torch.allclose(boot[:, 1], boot[:, 0]) and torch.allclose(boot[:, 2], 4 * boot[:, 0])  # paired resamples
    assert abs(float(boot[:, 0].mean()) / float(pg.total_variance(x)) - 1) < 0.02
    with pytest.raises(ValueError):
        pg.bootstrap_total_variances([x, x[:10]], 5)


def test_optimal_coordinate_baselines_by_hand():
    g = torch.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]], dtype=F64)
    R = torch.tensor([1.0, 2.0, -1.0], dtype=F64)
    # b_0 = (1·1 + 4·2) / (1 + 4) = 9/5;  b_1 = (1·2 + 9·(−1)) / (1 + 9) = −7/10
    assert torch.allclose(pg.optimal_coordinate_baselines(g, R), torch.tensor([1.8, -0.7], dtype=F64))
    assert torch.allclose(pg.optimal_coordinate_baselines(torch.zeros(3, 2, dtype=F64), R), torch.zeros(2, dtype=F64))
    # each coordinate's variance is minimised on its own, so the total is at most that of the one constant b*
    x = torch.randn(500, 4, generator=torch.Generator().manual_seed(0), dtype=F64)
    ret = 1.0 + x[:, 0] + torch.randn(500, generator=torch.Generator().manual_seed(1), dtype=F64)
    b_i = pg.optimal_coordinate_baselines(x, ret)
    for b in (float(pg.optimal_constant_baseline(x, ret)), 0.0, 1.0):
        per_coordinate = ((ret[:, None] - b_i) * x) ** 2
        one_constant = ((ret[:, None] - b) * x) ** 2
        assert torch.all(per_coordinate.mean(0) <= one_constant.mean(0) + 1e-12)


def test_bandit_estimator_variance_by_hand():
    logits = torch.tensor([0.0, torch.log(torch.tensor(3.0))], dtype=F64)  # π = (1/4, 3/4)
    q = torch.tensor([-1.0, 1.0], dtype=F64)
    # ‖e_0 − π‖² = 9/8, ‖e_1 − π‖² = 1/8, ∇J = (−3/8, 3/8), ‖∇J‖² = 9/32
    assert float(pg.bandit_estimator_variance(logits, q, 0.0)) == pytest.approx(12 / 32 - 9 / 32)  # 3/32
    assert float(pg.bandit_estimator_variance(logits, q, 0.5)) == pytest.approx(84 / 128 - 36 / 128)  # V = 1/2: 3/8
    b_star = float(pg.bandit_optimal_baseline(logits, q))
    assert b_star == pytest.approx(-0.5)
    assert float(pg.bandit_estimator_variance(logits, q, b_star)) == pytest.approx(0.0, abs=1e-15)  # two actions: 0
    # against sampling
    gen = torch.Generator().manual_seed(0)
    a = torch.multinomial(torch.softmax(logits, 0), 200_000, replacement=True, generator=gen)
    est = (q[a] - 0.5)[:, None] * (torch.eye(2, dtype=F64)[a] - torch.softmax(logits, 0))
    assert float(pg.total_variance(est)) == pytest.approx(0.375, rel=0.02)


def test_action_dependent_baseline_bias():
    diff, matches, vanishes, example = pe.symbolic.action_dependent_baseline_bias(3)
    assert matches and vanishes
    assert list(example) == [sp.Rational(-2, 9), sp.Rational(1, 9), sp.Rational(1, 9)]  # −π_j (b_j − 1/3), π_j = 1/3
    _, matches2, vanishes2, example2 = pe.symbolic.action_dependent_baseline_bias(2)
    assert matches2 and vanishes2 and list(example2) == [sp.Rational(-1, 4), sp.Rational(1, 4)]
