"""Time-to-solve CartPole-v1: ppo_edu against Stable-Baselines3 (RL-Zoo settings), side by side.

One command, from the repository root:

    bash benchmarks/run.sh                # = setup_peers.sh, then this script
    .venv/bin/python benchmarks/run.py --seeds 0 1 2 3 4 5 6

For every seed it runs one training of each contestant, alternating, each in its own process
and virtual environment (ours in .venv, SB3 in benchmarks/.venv-peers), with the same torch
thread count. Both follow benchmarks/protocol.py: deterministic evaluation on gymnasium's
CartPole-v1 every 2048 env steps (10 episodes, same start seeds), solved when 3 evaluations in
a row average ≥ 475, evaluation and set-up time off the clock. It prints each run, the median
time-to-solve of each (an unsolved run counts as infinitely slow), their ratio and the
training throughput, and writes the raw results to benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _run(python: Path, script: str, seed: int, threads: int, extra: list[str]) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [str(python), str(HERE / script), "--seed", str(seed), "--threads", str(threads), *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{script} failed (seed {seed}):\n{out.stderr[-3000:]}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both (default 1)")
    parser.add_argument("--device", default="auto", help="device for ppo_edu (SB3 stays on the CPU, its best)")
    parser.add_argument("--ours-only", action="store_true", help="skip SB3 (no peers venv needed)")
    parser.add_argument(
        "--cleanrl", action="store_true", help="also run the CleanRL-style single-file PPO (slow: ~1e5+ steps)"
    )
    args = parser.parse_args()
    ours_py = ROOT / ".venv" / "bin" / "python"
    peers_py = HERE / ".venv-peers" / "bin" / "python"
    if not ours_py.exists():
        ours_py = Path(sys.executable)
    if not args.ours_only and not peers_py.exists():
        raise SystemExit("benchmarks/.venv-peers is missing: run  bash benchmarks/setup_peers.sh  first")
    results: dict[str, list[dict]] = {"ppo_edu": [], "sb3": [], "cleanrl_style": []}
    for seed in args.seeds:
        runs = [("ppo_edu", ours_py, "bench_ours.py", ["--device", args.device])]
        if not args.ours_only:
            runs.append(("sb3", peers_py, "bench_sb3.py", []))
        if args.cleanrl:
            runs.append(("cleanrl_style", ours_py, "bench_cleanrl_style.py", []))
        for name, py, script, extra in runs:
            r = _run(py, script, seed, args.threads, extra)
            results[name].append(r)
            solved = (
                f"{r['time_to_solve_s']:6.2f} s (CPU {r['cpu_time_to_solve_s']:5.2f} s) at {r['steps_to_solve']:>6} steps"
                if r["solved"]
                else "not solved"
            )
            print(f"seed {seed}  {name:<13} {solved}   {r['env_steps_per_s']:>8.0f} env steps/s  ({r['device']})", flush=True)
    print()
    summary = {}
    for name, rs in results.items():
        if not rs:
            continue
        summary[name] = {
            "median_time_to_solve_s": _median([r["time_to_solve_s"] for r in rs]),
            "median_cpu_time_to_solve_s": _median([r["cpu_time_to_solve_s"] for r in rs]),
            "median_steps_to_solve": _median([r["steps_to_solve"] or float("inf") for r in rs]),
            "median_env_steps_per_s": _median([r["env_steps_per_s"] for r in rs]),
            "solved": f"{sum(r['solved'] for r in rs)}/{len(rs)}",
        }
        s = summary[name]
        print(
            f"{name:<13} median time-to-solve {s['median_time_to_solve_s']:6.2f} s "
            f"(CPU time {s['median_cpu_time_to_solve_s']:5.2f} s)   "
            f"median steps {s['median_steps_to_solve']:>8}   throughput {s['median_env_steps_per_s']:>8.0f} env steps/s   "
            f"solved {s['solved']}"
        )
    if "sb3" in summary:
        ratio = summary["ppo_edu"]["median_time_to_solve_s"] / summary["sb3"]["median_time_to_solve_s"]
        cpu_ratio = summary["ppo_edu"]["median_cpu_time_to_solve_s"] / summary["sb3"]["median_cpu_time_to_solve_s"]
        print(f"ratio ppo_edu / sb3 = {ratio:.3f} wall clock, {cpu_ratio:.3f} CPU time  (target ≤ 0.333)")
        summary["ratio"], summary["cpu_time_ratio"] = ratio, cpu_ratio
    if "cleanrl_style" in summary:
        ratio = summary["ppo_edu"]["median_time_to_solve_s"] / summary["cleanrl_style"]["median_time_to_solve_s"]
        print(f"ratio ppo_edu / cleanrl_style = {ratio:.3f} wall clock")
        summary["ratio_cleanrl_style"] = ratio
    machine = {
        "cpu": _cpu_name(), "cores": os.cpu_count(), "threads": args.threads,
        "python": platform.python_version(), "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }  # fmt: skip
    print(f"machine: {machine['cpu']}, {machine['cores']} cores, {args.threads} torch thread(s), load {machine['load_average']}")
    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / "latest.json"
    path.write_text(json.dumps({"machine": machine, "summary": summary, "runs": results}, indent=1, default=str))
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
