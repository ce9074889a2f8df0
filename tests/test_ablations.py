"""Ablation machinery: bootstrap intervals against hand-worked and analytic cases, steps-to-475, the runner."""

import dataclasses
import math

import numpy as np
import pytest

import ppo_edu as pe
from ppo_edu import ablations as ab
from ppo_edu.train import PPOConfig


def test_bootstrap_two_values_hand_worked():
    # resample means of {0, 1}: 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4
    assert ab.bootstrap_ci([0.0, 1.0], level=0.95) == (0.5, 0.0, 1.0)
    assert ab.bootstrap_ci([0.0, 1.0], level=0.40) == (0.5, 0.5, 0.5)


def test_bootstrap_constant_and_single_value_are_degenerate():
    assert ab.bootstrap_ci([3.0] * 5) == (3.0, 3.0, 3.0)
    assert ab.bootstrap_ci([7.0], statistic=np.median) == (7.0, 7.0, 7.0)


def test_bootstrap_matches_the_normal_interval_for_a_large_sample():
    # for n large the bootstrap distribution of the mean is ≈ N(x̄, s²/n), s the ddof=0 std
    x = np.random.default_rng(0).normal(3.0, 2.0, size=400)
    est, lo, hi = ab.bootstrap_ci(x, n_boot=20_000)
    half = 1.959964 * x.std() / math.sqrt(len(x))
    assert est == pytest.approx(x.mean())
    assert lo == pytest.approx(x.mean() - half, abs=0.05 * half)
    assert hi == pytest.approx(x.mean() + half, abs=0.05 * half)


def test_bootstrap_is_seeded_and_validates():
    x = [1.0, 5.0, 2.0, 8.0]
    assert ab.bootstrap_ci(x, seed=3) == ab.bootstrap_ci(x, seed=3)
    for bad, match in (([], "values"), ([1.0, np.nan], "NaN"), ([[1.0]], "values")):
        with pytest.raises(ValueError, match=match):
            ab.bootstrap_ci(bad)
    with pytest.raises(ValueError, match="level"):
        ab.bootstrap_ci(x, level=1.0)


def test_steps_to_threshold_naive_loop_agrees():
    rng = np.random.default_rng(1)
    steps = np.arange(1, 31) * 100
    r = rng.choice([np.nan, 100.0, 474.0, 475.0, 500.0], size=(50, 30), p=[0.3, 0.1, 0.1, 0.2, 0.3])
    want = []
    for row in r:  # naive: try every k, the first that works
        hit = np.inf
        for k in range(len(row)):
            tail = row[k:]
            if np.isfinite(row[k]) and (tail[np.isfinite(tail)] >= 475).all():
                hit = steps[k]
                break
        want.append(hit)
    np.testing.assert_array_equal(ab.steps_to_threshold(steps, r), want)
    with pytest.raises(ValueError, match="returns"):
        ab.steps_to_threshold(steps, r[:, :5])


def test_fill_forward():
    r = np.array([[np.nan, 1.0, np.nan, np.nan, 3.0]])
    np.testing.assert_array_equal(ab.fill_forward(r), [[np.nan, 1.0, 1.0, 1.0, 3.0]])


def test_intervals_overlap():
    assert ab.intervals_overlap((1, 0, 2), (3, 2, 4))
    assert not ab.intervals_overlap((1, 0, 1.9), (3, 2, 4))


def _fake(cfg, label, eval_episodes):
    p, k = cfg.population, cfg.num_iterations
    steps = np.arange(1, k + 1) * cfg.batch_size
    level = 500.0 if cfg.norm_adv else 100.0
    returns = np.full((p, k), level)
    return ab.Run(label, cfg, steps, returns, np.full(p, level), ab.steps_to_threshold(steps, returns), {})


def test_summarize_censors_at_the_steps_trained_not_the_requested_budget():
    # total_steps 2000 at 512 steps per iteration trains 4 iterations = 2048 steps; one seed first stays
    # >= 475 only at the last iteration (2048), the other never: both count 2048, neither is cut to 2000
    cfg = PPOConfig(total_steps=2000, num_envs=4, num_steps=128, population=2, device="cpu")
    steps = np.arange(1, cfg.num_iterations + 1) * cfg.batch_size
    assert steps[-1] == 2048
    returns = np.array([[100.0, 480.0, 300.0, 490.0], [100.0, 200.0, 300.0, 400.0]])
    run = ab.Run("x", cfg, steps, returns, returns[:, -1], ab.steps_to_threshold(steps, returns), {})
    row = ab.summarize(run, n_boot=200)
    assert row["solved"] == 1 and row["budget"] == 2048.0
    assert row["steps_to_475"] == (2048.0, 2048.0, 2048.0)
    assert "≥2k" in ab.format_table({"g": [dataclasses.replace(run, label="x (ours)")]})


def test_run_ablations_shares_the_base_and_summarises():
    calls = []

    def runner(cfg, label, episodes):
        calls.append(cfg)
        return _fake(cfg, label, episodes)

    base = PPOConfig(total_steps=2048, num_envs=4, num_steps=16, population=8, device="cpu")
    res = ab.run_ablations(base, ["advantage normalisation", "value clipping"], runner=runner)
    assert len(calls) == 3  # base once, norm_adv off, clip_value on
    assert [r.label for r in res["value clipping"]] == ["off (ours)", "on, 0.2"]
    assert res["value clipping"][0].config == base
    row = ab.summarize(res["advantage normalisation"][1])
    assert row["solved"] == 0 and row["steps_to_475"] == (2048.0, 2048.0, 2048.0)  # censored at the budget
    v = {(x["group"], x["label"]): x for x in ab.verdicts(res)}
    assert v[("advantage normalisation", "off")]["final"] == "lower"
    assert v[("advantage normalisation", "off")]["steps"] == "slower"
    assert v[("value clipping", "on, 0.2")]["final"] == "no clear difference"
    assert "advantage normalisation" in ab.format_table(res)
    with pytest.raises(ValueError, match="groups"):
        ab.run_ablations(base, ["nope"], runner=runner)


def test_every_ablation_setting_is_a_valid_config_and_has_one_base():
    base = ab.base_config(quick=True)
    for group, settings in ab.ABLATIONS.items():
        assert sum("(ours)" in label for label, _ in settings) == 1, group
        for label, changes in settings:
            cfg = base.replace(**changes)
            assert (cfg == base) == ("(ours)" in label), (group, label)


def test_run_setting_small():
    cfg = PPOConfig(total_steps=256, num_envs=4, num_steps=16, population=2, hidden=(8, 8), device="cpu")
    run = ab.run_setting(cfg, "tiny", eval_episodes=2)
    assert run.returns.shape == (2, cfg.num_iterations) and run.final.shape == (2,)
    assert run.steps_to_475.shape == (2,) and set(run.metrics) >= set(pe.train.DIAGNOSTICS)


def test_cached_runner_trains_once_per_config(tmp_path):
    calls = []

    def runner(cfg, label, episodes):
        calls.append(cfg)
        return _fake(cfg, label, episodes)

    base = PPOConfig(total_steps=2048, num_envs=4, num_steps=16, population=3, device="cpu")
    run = ab.cached(runner, tmp_path)
    first = run(base, "a", 10)
    again = run(base, "b", 10)
    assert len(calls) == 1 and again.label == "b" and np.array_equal(again.final, first.final)
    run(base.replace(lam=0.5), "c", 10)
    run(base, "d", 5)  # another evaluation is another run
    assert len(calls) == 3
    assert ab.run_key(base, 10) != ab.run_key(base.replace(seed=1), 10)


def test_kl_early_stopping_seeds_are_separate_runs_not_one_coupled_population():
    """A population's KL stop would end every member's epochs together; the ablation trains the
    P seeds of a target_kl setting as P single-agent runs, seeds SEED_STREAMS apart (no shared
    random stream), and each row is exactly that run."""
    assert pe.train.SEED_STREAMS == 3
    cfg = PPOConfig(total_steps=2048, num_envs=8, num_steps=32, population=2, target_kl=1e-3, seed=5, device="cpu")
    with pytest.raises(ValueError, match="target_kl: KL early stopping with a population of 2"):
        pe.train.Trainer(cfg)
    run = ab.run_setting(cfg, "kl", eval_episodes=2)
    assert run.returns.shape == (2, 8) and run.final.shape == (2,) and run.config == cfg
    alone = [ab.run_setting(cfg.replace(population=1, seed=s), "alone", eval_episodes=2) for s in (5, 8)]  # 3 apart
    for p in range(2):
        np.testing.assert_array_equal(run.returns[p], alone[p].returns[0])
        assert run.final[p] == alone[p].final[0]
    np.testing.assert_allclose(run.metrics["epochs_done"], np.mean([a.metrics["epochs_done"] for a in alone], axis=0))
    assert (run.metrics["epochs_done"] < cfg.epochs).any()  # the stop fired: the setting is really on


def test_difference_interval_and_permutation_p_value_hand_worked():
    assert ab.difference_ci([1.0, 1.0], [0.0, 0.0]) == (1.0, 1.0, 1.0)
    # {1, 2} against {3, 4}: of the 6 splits of the pooled four, 2 have |mean difference| >= 2
    assert ab.permutation_p_value([1.0, 2.0], [3.0, 4.0]) == pytest.approx(2 / 6)
    # 8 against 8, completely separated: only the observed split and its mirror are as extreme
    a, b = np.arange(8.0), np.arange(8.0) + 100
    assert ab.permutation_p_value(a, b) == pytest.approx(2 / math.comb(16, 8))
    assert ab.rank_sum_p_value(a, b) == pytest.approx(2 / math.comb(16, 8))
    assert ab.rank_sum_p_value(np.full(8, 1.0), np.full(8, 4.0)) == pytest.approx(2 / math.comb(16, 8))  # ties within groups
    # ranks with a tie across groups: pooled (1, 1, 1, 2) get ranks (2, 2, 2, 4); every split is as extreme as {1, 1}
    assert ab.rank_sum_p_value([1.0, 1.0], [1.0, 2.0]) == 1.0
    assert ab.rank_sum_p_value([1.0, 2.0], [3.0, 4.0]) == pytest.approx(2 / 6)
    assert ab.permutation_p_value(a, a.copy()) == 1.0  # identical groups: every split is as extreme
    # sampled relabellings when the splits are too many: close to the exact value, never 0
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 1, 9), rng.normal(1, 1, 9)
    exact = ab.permutation_p_value(x, y)
    sampled = ab.permutation_p_value(x, y, n_perm=5_000)
    assert 0 < sampled <= 1 and abs(sampled - exact) < 0.03
    with pytest.raises(ValueError, match="a, b"):
        ab.permutation_p_value([], [1.0])
    with pytest.raises(ValueError, match="a:"):
        ab.difference_ci([np.nan], [1.0])


def test_holm_hand_worked():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04; running max: 0.03, 0.06, 0.06
    assert ab.holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert ab.holm([0.5, 0.9]).tolist() == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="p_values"):
        ab.holm([1.5])


def test_verdicts_need_a_difference_the_whole_table_supports():
    cfg = PPOConfig(total_steps=4096, num_envs=4, num_steps=16, population=8, device="cpu")
    steps = np.arange(1, cfg.num_iterations + 1) * cfg.batch_size

    def run(label, final, solved_at):
        returns = np.where(steps[None, :] >= np.asarray(solved_at)[:, None], 500.0, 100.0)
        return ab.Run(label, cfg, steps, returns, np.asarray(final, float), ab.steps_to_threshold(steps, returns), {})

    base = run("x (ours)", [500.0] * 8, [1024] * 8)
    worse = run("worse", [300.0] * 8, [4096] * 8)  # every seed lower and slower
    same = run("same", [500.0] * 8, [1024] * 8)
    one_off = run("one seed off", [500.0] * 7 + [400.0], [1024] * 7 + [4096])  # one seed: no verdict
    rows = {r["label"]: r for r in ab.verdicts({"g": [base, worse, same, one_off]}, n_boot=500)}
    assert (rows["worse"]["final"], rows["worse"]["steps"]) == ("lower", "slower")
    assert rows["worse"]["final_diff"][0] == -200.0 and rows["worse"]["steps_diff"][0] == 3072.0
    assert rows["worse"]["p_final_holm"] == pytest.approx(3 * 2 / math.comb(16, 8))  # the smallest of 3, times 3
    assert (rows["same"]["final"], rows["same"]["steps"]) == ("no clear difference",) * 2
    assert rows["same"]["p_final"] == 1.0
    assert rows["one seed off"]["final"] == "no clear difference" and rows["one seed off"]["p_final"] > 0.05
    assert "Δ final return" in ab.format_verdicts(list(rows.values()))
