"""Time-to-solve CartPole-v1 and population throughput: ppo_edu beside SB3 and a JAX PPO, in one run.

One command, from the repository root:

    bash benchmarks/run.sh                # = setup_peers.sh, then this script
    .venv/bin/python benchmarks/run.py --seeds 0 1 2 3 4 5 6
    .venv/bin/python benchmarks/run.py --quick     # ppo_edu only, tiny budget: seconds (what the tests run)

For every seed it runs one training of each contestant, alternating, each in its own process
and virtual environment (ours in .venv, the peers in benchmarks/.venv-peers), with the same
thread count, for the same budget of env steps. All follow benchmarks/protocol.py: greedy
evaluation on gymnasium's CartPole-v1 every 2048 env steps and at the end (10 episodes from
held-out start seeds), evaluation and set-up time off the clock, two rules read from the same
evaluations (strict: stays ≥ 475 to the end of the budget; 3 in a row). The JAX peer is reported
twice: run only, and with its compile time on the clock. Then P = 8, 64, 256 seeds trained at
once, ppo_edu's population Trainer beside the JAX peer's vmap, same batch shape per member.
Raw results go to benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from protocol import BUDGET, EVAL_SEED, SOLVED_MEAN  # noqa: E402

QUICK_STEPS = 4096  # --quick: two evaluations, a few seconds


def _run(python: Path, script: str, threads: int, extra: list[str]) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [str(python), str(HERE / script), "--threads", str(threads), *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[1:])} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _fmt_s(x: float) -> str:
    return f"{x:6.2f} s" if math.isfinite(x) else "   inf  "


def _rows(results: dict[str, list[dict]]) -> dict[str, dict]:
    """One summary row per contestant; each JAX contestant twice (run only, and + compile)."""
    rows = {}
    for name, rs in results.items():
        if not rs:
            continue
        variants = [(" (run only)", False), (" (+compile)", True)] if name.startswith("jax") else [("", False)]
        for suffix, with_compile in variants:

            def add(r: dict, key: str, compile_key: str = "compile_s", with_compile=with_compile) -> float:
                return r[key] + (r[compile_key] if with_compile else 0.0)

            strict = [add(r, "time_to_solve_s") for r in rs]
            confirm = [add(r, "time_to_solve_s_3") for r in rs]
            rows[name + suffix] = {
                "strict_s": strict,  # per seed, in --seeds order (for the ratio's interval)
                "strict_median_s": _median(strict),
                "strict_min_s": min(strict),
                "strict_max_s": max(strict),
                "strict_solved": f"{sum(r['solved'] for r in rs)}/{len(rs)}",
                "strict_median_steps": _median([r["steps_to_solve"] or float("inf") for r in rs]),
                "strict_median_cpu_s": _median([add(r, "cpu_time_to_solve_s", "compile_cpu_s") for r in rs]),
                "confirm3_median_s": _median(confirm),
                "confirm3_solved": f"{sum(r['solved_3'] for r in rs)}/{len(rs)}",
                "confirm3_median_steps": _median([r["steps_to_solve_3"] or float("inf") for r in rs]),
                "median_env_steps_per_s": _median([r["env_steps_per_s"] for r in rs]),
                "median_final_mean": _median([r["final_mean"] for r in rs]),
                "median_compile_s": _median([r.get("compile_s", 0.0) for r in rs]),
            }
    return rows


def _print_rows(rows: dict[str, dict]) -> None:
    print(
        f"{'contestant':<33} {'STRICT median [min-max]':>30} {'solved':>6} {'steps':>7}   "
        f"{'3-IN-A-ROW median':>17} {'solved':>6} {'steps':>7}   {'env steps/s':>11}  {'final':>5}  {'strict CPU s':>12}"
    )
    for name, s in rows.items():
        span = f"[{s['strict_min_s']:.2f}-{s['strict_max_s']:.2f}]" if math.isfinite(s["strict_max_s"]) else ""
        print(
            f"{name:<33} {_fmt_s(s['strict_median_s']):>10} {span:>19} "
            f"{s['strict_solved']:>6} {s['strict_median_steps']:>7.0f}   "
            f"{_fmt_s(s['confirm3_median_s']):>17} {s['confirm3_solved']:>6} {s['confirm3_median_steps']:>7.0f}   "
            f"{s['median_env_steps_per_s']:>11.0f}  {s['median_final_mean']:>5.0f}  {_fmt_s(s['strict_median_cpu_s']):>12}"
        )


def ratio_interval(ours: list[float], peer: list[float], level: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> list[float]:
    """Bootstrap interval of median(ours) / median(peer) over the seeds, resampled in pairs (seed s of
    both contestants together). A run that never solved counts as infinitely slow, as in the medians;
    resamples whose ratio is undefined (both medians infinite) are left out.

    Shapes: ours, peer (S,) → [low, high].
    """
    a, b = np.asarray(ours, float), np.asarray(peer, float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"ours, peer: expected two equally long lists of at least 2 seeds, got {a.shape} and {b.shape}")
    idx = np.random.default_rng(seed).integers(0, len(a), size=(n_boot, len(a)))
    num, den = np.median(a[idx], axis=1), np.median(b[idx], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = num / den
    r = r[~np.isnan(r)]
    if not len(r):
        return [float("nan"), float("nan")]
    return [float(q) for q in np.quantile(r, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")]  # no inf - inf


def _ratios(rows: dict[str, dict]) -> dict[str, dict]:
    ours = rows.get("ppo_edu")
    out = {}
    if ours is None:
        return out
    for name, s in rows.items():
        if name == "ppo_edu":
            continue
        out[name] = {
            "strict": ours["strict_median_s"] / s["strict_median_s"] if s["strict_median_s"] > 0 else float("nan"),
            "confirm3": ours["confirm3_median_s"] / s["confirm3_median_s"] if s["confirm3_median_s"] > 0 else float("nan"),
        }
        strict, confirm = (f"{x:6.3f}" if math.isfinite(x) and x > 0 else "   n/a" for x in out[name].values())
        note = "   (n/a: a median is inf)" if "n/a" in strict + confirm else ""
        if "n/a" not in strict and len(ours["strict_s"]) >= 2 and len(ours["strict_s"]) == len(s["strict_s"]):
            out[name]["strict_interval"] = lo, hi = ratio_interval(ours["strict_s"], s["strict_s"])
            note = f"   strict 95 % interval over seeds [{lo:.3f}-{hi:.3f}]{note}"
        print(f"ratio ppo_edu / {name:<33} strict {strict}   3-in-a-row {confirm}{note}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=1, help="torch threads / XLA cores for every contestant (default 1)")
    parser.add_argument("--device", default="auto", help="device for ppo_edu (the peers stay on the CPU)")
    parser.add_argument("--max-steps", type=int, default=BUDGET, help="budget of every run (env steps)")
    parser.add_argument("--ours-only", action="store_true", help="ppo_edu alone (no peers venv needed)")
    parser.add_argument("--no-sb3", action="store_true")
    parser.add_argument("--no-jax", action="store_true")
    parser.add_argument("--no-jax-defaults", action="store_true", help="skip the JAX peer with PureJaxRL's own defaults")
    parser.add_argument("--cleanrl", action="store_true", help="also the CleanRL-style single-file PPO (slow)")
    parser.add_argument("--populations", type=int, nargs="*", default=[8, 64, 256], help="P values (none: skip)")
    parser.add_argument("--pop-iterations", type=int, default=4, help="timed iterations per population run")
    parser.add_argument("--quick", action="store_true", help=f"ppo_edu only, seed 0, {QUICK_STEPS} steps, P = 2: seconds")
    parser.add_argument("--out", default=None, help="results file (default benchmarks/results/latest.json; quick.json)")
    args = parser.parse_args()
    if args.quick:
        args.ours_only, args.seeds, args.max_steps, args.populations, args.pop_iterations = True, [0], QUICK_STEPS, [2], 1
    ours_py = ROOT / ".venv" / "bin" / "python"
    peers_py = HERE / ".venv-peers" / "bin" / "python"
    if not ours_py.exists():
        ours_py = Path(sys.executable)
    sb3, jax = not (args.ours_only or args.no_sb3), not (args.ours_only or args.no_jax)
    if (sb3 or jax) and not peers_py.exists():
        raise SystemExit("benchmarks/.venv-peers is missing: run  bash benchmarks/setup_peers.sh  first")
    budget = ["--max-steps", str(args.max_steps)]
    contestants = [("ppo_edu", ours_py, "bench_ours.py", ["--device", args.device, *budget])]
    if sb3:
        contestants.append(("sb3", peers_py, "bench_sb3.py", budget))
    if jax:
        contestants.append(("jax_ppo_edu_settings", peers_py, "bench_jax.py", ["--preset", "ppo_edu", *budget]))
        if not args.no_jax_defaults:
            contestants.append(("jax_purejaxrl_defaults", peers_py, "bench_jax.py", ["--preset", "purejaxrl", *budget]))
    if args.cleanrl:
        contestants.append(("cleanrl_style", ours_py, "bench_cleanrl_style.py", budget))

    print(f"budget {args.max_steps} env steps per run; 10 greedy evaluation episodes from seed {EVAL_SEED}; ≥ {SOLVED_MEAN:.0f}")
    results: dict[str, list[dict]] = {name: [] for name, *_ in contestants}
    for seed in args.seeds:
        for name, py, script, extra in contestants:
            r = _run(py, script, args.threads, ["--seed", str(seed), *extra])
            results[name].append(r)
            strict = f"{r['time_to_solve_s']:6.2f} s at {r['steps_to_solve']:>6}" if r["solved"] else "  not solved        "
            confirm = f"{r['time_to_solve_s_3']:6.2f} s" if r["solved_3"] else "  never "
            comp = f"   compile {r['compile_s']:5.1f} s" if "compile_s" in r else ""
            print(
                f"seed {seed}  {name:<23} strict {strict}   3-in-a-row {confirm}   final {r['final_mean']:5.0f}   "
                f"{r['env_steps_per_s']:>7.0f} env steps/s{comp}  ({r['device']})",
                flush=True,
            )
    print()
    rows = _rows(results)
    _print_rows(rows)
    ratios = _ratios(rows)

    population = []
    if args.populations:
        print(f"\npopulations: P seeds at once, 32 envs x 32 steps per member, {args.pop_iterations} timed iterations")
        print(
            f"{'P':>5} {'ppo_edu env steps/s':>20} {'jax vmap env steps/s':>21} {'jax compile':>12} {'ppo_edu / jax':>14}"
            f"   {'per CPU second: ppo_edu':>23} {'jax':>9} {'ratio':>6}"
        )
        for p in args.populations:
            pop = ["--population", str(p), "--iterations", str(args.pop_iterations)]
            row = {"population": p, "ppo_edu": _run(ours_py, "bench_ours.py", args.threads, ["--device", args.device, *pop])}
            if jax:
                row["jax"] = _run(peers_py, "bench_jax.py", args.threads, ["--preset", "ppo_edu", *pop])
            ours_sps = row["ppo_edu"]["env_steps_per_s"]
            jax_sps = row["jax"]["env_steps_per_s"] if jax else float("nan")
            comp = f"{row['jax']['compile_s']:10.1f} s" if jax else f"{'':>12}"
            ours_cpu = row["ppo_edu"]["env_steps"] / row["ppo_edu"]["cpu_seconds"]
            jax_cpu = row["jax"]["env_steps"] / row["jax"]["cpu_seconds"] if jax else float("nan")
            print(
                f"{p:>5} {ours_sps:>20,.0f} {jax_sps:>21,.0f} {comp} {ours_sps / jax_sps:>14.2f}"
                f"   {ours_cpu:>23,.0f} {jax_cpu:>9,.0f} {ours_cpu / jax_cpu:>6.2f}",
                flush=True,
            )
            population.append(row)

    machine = {
        "cpu": _cpu_name(), "cores": os.cpu_count(), "threads": args.threads,
        "python": platform.python_version(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }  # fmt: skip
    print(f"\nmachine: {machine['cpu']}, {machine['cores']} cores, {args.threads} thread(s), load {machine['load_average']}")
    path = Path(args.out) if args.out else HERE / "results" / ("quick.json" if args.quick else "latest.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine, "budget": args.max_steps, "summary": rows, "ratios": ratios, "population": population}
    path.write_text(json.dumps({**payload, "runs": results}, indent=1, default=str))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
