"""The benchmark's protocol (benchmarks/protocol.py) and its quick mode (ppo_edu's side only).

Speeds are printed by the benchmark, never asserted here: these tests check the rules that turn a
list of evaluations into a time-to-solve, and that ``run.py --quick`` runs end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import protocol  # noqa: E402


@pytest.mark.parametrize(
    "means, strict, confirm",
    [
        ([100, 500, 300, 480, 490], 3, None),  # solved for good at index 3; never 3 in a row
        ([500, 500, 500, 100, 480, 490, 500], 4, 0),  # 3 in a row early, then a dip: strict waits for the last streak
        ([500, 500, 500, 500, 100], None, 0),  # a dip at the very end: never solved under the strict rule
        ([475, 475, 475], 0, 0),  # exactly 475 counts
        ([474.9, 500, 500, 500], 1, 1),
        ([], None, None),
    ],
)
def test_solve_rules_hand_worked(means, strict, confirm):
    assert protocol.strict_solve_index(means) == strict
    assert protocol.confirm_solve_index(means) == confirm


def test_strict_rule_is_not_the_first_crossing_nor_three_in_a_row():
    """The two wrong readings of "stays ≥ 475" give different answers on this run."""
    means = [200, 480, 300, 490, 500, 500, 420, 500, 500]
    first_crossing = next(i for i, m in enumerate(means) if m >= 475)
    assert first_crossing == 1
    assert protocol.confirm_solve_index(means) == 3
    assert protocol.strict_solve_index(means) == 7


def test_solve_clock_evaluates_on_schedule_and_at_the_end():
    clock = protocol.SolveClock(interval=2048)
    left = lambda obs: np.zeros(len(obs), dtype=int)  # noqa: E731  (always push left: fails fast)
    clock.start()
    for steps in range(1000, 7000, 1000):  # boundaries 1000, 2000, ..., 6000
        clock.checkpoint(steps, left)
    clock.finish(6500, left)
    assert [e[0] for e in clock.evals] == [3000, 5000, 6500]  # first boundary at/after 2048, 4096; then the end
    r = clock.result("x", 0, 6500)
    assert not r["solved"] and not r["solved_3"] and r["time_to_solve_s"] == float("inf")
    assert all(e[3] < 50 for e in clock.evals)  # pushing left never balances the pole
    clock.finish(6500, left)  # the end already evaluated: no second evaluation
    assert len(clock.evals) == 3


def test_eval_schedule_is_the_clocks_and_the_sweeps():
    """Iterations of 1024 steps, evaluations every 2048 and at the budget's end (5120): the schedule
    sweep.py follows for a population is the one SolveClock follows for one policy."""
    schedule = protocol.EvalSchedule(2048)
    due = [s for s in range(1024, 5121, 1024) if schedule.due(s, final=s >= 5120)]
    assert due == [2048, 4096, 5120]
    assert not schedule.due(5120, final=True)  # the end already evaluated
    clock = protocol.SolveClock(interval=2048)
    left = lambda obs: np.zeros(len(obs), dtype=int)  # noqa: E731
    for s in range(1024, 5121, 1024):
        clock.checkpoint(s, left)
    clock.finish(5120, left)
    assert [e[0] for e in clock.evals] == due


def test_evaluation_seeds_are_held_out():
    """The course and the earlier benchmark evaluated from 1_000_000; the benchmark does not."""
    assert protocol.EVAL_SEED >= 1_000_000 + protocol.EVAL_EPISODES or protocol.EVAL_SEED + protocol.EVAL_EPISODES <= 1_000_000


def test_run_quick_mode(tmp_path):
    out = tmp_path / "quick.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--device", "cpu", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "STRICT" in proc.stdout and "3-IN-A-ROW" in proc.stdout and "populations" in proc.stdout
    data = json.loads(out.read_text())
    (run,) = data["runs"]["ppo_edu"]
    assert run["env_steps"] >= 4096 and run["evals"][-1][0] == run["env_steps"]  # evaluated at the end of the budget
    assert set(data["summary"]) == {"ppo_edu"}
    (pop,) = data["population"]
    assert pop["population"] == 2 and pop["ppo_edu"]["env_steps"] == 2 * 1024


def _jax_presets() -> dict[str, dict]:
    """bench_jax.py's PUREJAXRL and PPO_EDU dictionaries, read from its source (the course venv has no JAX)."""
    import ast

    tree = ast.parse((ROOT / "benchmarks" / "bench_jax.py").read_text())
    found: dict[str, dict] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in ("PUREJAXRL", "PPO_EDU"):
            value = node.value
            if isinstance(value, ast.Call):  # dict(key=value, ...)
                d = {kw.arg: ast.literal_eval(kw.value) for kw in value.keywords}
            else:  # {**PUREJAXRL, "key": value, ...}
                d = {}
                for k, v in zip(value.keys, value.values, strict=True):
                    d.update(found[v.id] if k is None else {ast.literal_eval(k): ast.literal_eval(v)})
            found[node.targets[0].id] = d
    return found


def test_jax_peer_trains_with_bench_config():
    """The JAX peer's "ppo_edu settings" are BENCH_CONFIG: same network, batch shape and update."""
    from bench_ours import BENCH_CONFIG

    jax_cfg = _jax_presets()["PPO_EDU"]
    shared = [k for k in BENCH_CONFIG if k in jax_cfg]
    assert {"hidden", "lr", "num_envs", "num_steps", "epochs", "num_minibatches", "reward_scale"} <= set(shared)
    assert {k: tuple(jax_cfg[k]) if k == "hidden" else jax_cfg[k] for k in shared} == {
        k: tuple(BENCH_CONFIG[k]) if k == "hidden" else BENCH_CONFIG[k] for k in shared
    }


def test_sweep_runs_and_tunes_on_the_tuning_seeds():
    """benchmarks/sweep.py end to end on a tiny budget: one JSON line per candidate, one count per seed."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import sweep

    assert sweep.TUNING_SEED != protocol.EVAL_SEED  # it never looks at the benchmark's held-out starts
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sweep.py"),
         '{"tiny": {"num_envs": 4, "num_steps": 8}, "tiny kl": {"num_envs": 4, "num_steps": 8, "target_kl": 0.01}}',
         "--seeds", "2", "--budget", "2048", "--time-iterations", "1"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [row["name"] for row in rows] == ["tiny", "tiny kl"]  # "tiny kl": one run per seed (a population would couple them)
    for row in rows:
        assert len(row["strict_steps"]) == 2
        assert all(s == 2048 or s == float("inf") for s in row["strict_steps"])  # one evaluation, at the end of the budget
        assert row["us_per_step"] > 0
        assert row["eval_seed"] == sweep.TUNING_SEED


@pytest.mark.parametrize("config", ['{"num_envs": 8, "num_steps": 16}', '{"num_envs": 8, "num_steps": 16, "population": 2}'])
def test_floor_check_gradient_by_hand_is_autograds(config):
    """benchmarks/floor_check.py: its hand-derived gradient of ppo_loss equals autograd's (it times both)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "floor_check.py"), "--config", config, "--repeats", "3"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads(proc.stdout.splitlines()[-1])
    assert row["max_abs_grad_diff"] < 1e-6 and row["max_abs_grad"] > 1e-2  # agreement on gradients that are not all ~0
    assert row["population"] == json.loads(config).get("population", 1)
    assert row["autograd_ms"] > 0 and row["by_hand_ms"] > 0 and row["arithmetic_only_ms"] > 0


def test_floor_check_refuses_a_loss_it_does_not_derive():
    """An entropy bonus is not in the hand-written gradient: a clear refusal, not a wrong comparison."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "floor_check.py"), "--config", '{"ent_coef": 0.01}', "--repeats", "1"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert proc.returncode != 0 and "ent_coef" in proc.stderr and "hand-written gradient" in proc.stderr


def test_ratio_interval_resamples_seeds_in_pairs():
    """benchmarks/run.py's interval of the ratio of medians: hand-worked cases and bad input."""
    import run

    assert run.ratio_interval([1.0, 1.0, 1.0], [2.0, 2.0, 2.0]) == [0.5, 0.5]  # no spread, no interval
    lo, hi = run.ratio_interval([1.0, 2.0, 3.0, 4.0, 5.0], [10.0, 10.0, 10.0, 10.0, 10.0])
    assert 0.1 <= lo < 0.3 < hi <= 0.5  # medians of resampled seeds lie between the extremes 1 and 5
    # pairs: ours is half the peer on every seed, so every resample's ratio is 1/2 whatever the spread
    assert run.ratio_interval([1.0, 2.0, 4.0, 8.0], [2.0, 4.0, 8.0, 16.0]) == [0.5, 0.5]
    lo, hi = run.ratio_interval([1.0, 1.0, float("inf")], [2.0, 2.0, 2.0])  # an unsolved run is infinitely slow
    assert lo == 0.5 and hi == float("inf")
    with pytest.raises(ValueError, match="equally long"):
        run.ratio_interval([1.0, 2.0], [1.0, 2.0, 3.0])
