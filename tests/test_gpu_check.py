"""benchmarks/gpu_check.sh, the script prepared for a lent GPU, runs end to end on the CPU at tiny sizes."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_script_runs_on_cpu_at_tiny_sizes(tmp_path):
    out = tmp_path / "gpu_check"
    env = {**os.environ, "PYTHON": sys.executable}
    run = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "--device", "cpu", "--tiny", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    steps = (out / "steps.log").read_text()
    assert steps.count("exit 0") == len(steps.splitlines()) >= 9, steps
    executed = json.loads((out / "10_cartpole_gpu.ipynb").read_text())
    assert any(c.get("outputs") for c in executed["cells"] if c["cell_type"] == "code")  # outputs saved
    single = [json.loads(line) for line in (out / "single_agent.jsonl").read_text().splitlines()]
    assert len(single) == 1 and single[0]["seed"] == 0
    assert (out / "population.txt").read_text().count("env steps/s including training") == 2
    profile = json.loads((out / "profile_single.json").read_text())
    assert profile["rollout"]["host_syncs"] == 0  # no device → host sync in the rollout's hot path
    compiled = json.loads((out / "compile.jsonl").read_text())
    assert compiled["backend"] == "aot_eager" and compiled["max_abs_diff"]["grad"] < 1e-5  # the traced step computes the same
    summary = (out / "SUMMARY.txt").read_text()
    assert "## population.txt" in summary and "device cpu, tiny=1" in summary


def test_gpu_check_rejects_unknown_options():
    run = subprocess.run(["bash", "benchmarks/gpu_check.sh", "--fast"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "unknown option --fast" in run.stderr
