"""Where one CPU iteration of ppo_edu's trainer goes: torch operations and host syncs, rollout vs update.

    .venv/bin/python benchmarks/profile_iteration.py [--device cpu] [--config '{"num_envs": 32}']

Counts come from torch.profiler (they do not depend on the machine's load, unlike seconds);
the seconds are the profiler's own CPU totals for one iteration after a warm-up iteration.
``--time N`` adds ``wall_ms``: the median wall-clock milliseconds of each phase over N more
iterations run without the profiler (which slows every operation down).
Host syncs are counted as calls of ``aten::_local_scalar_dense`` (what ``float(t)``, ``bool(t)``
and ``.tolist()`` on a tensor do; ``.tolist()`` of a k-vector counts k, but is one copy to the host).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ours import warm_trainer  # noqa: E402

import ppo_edu as pe  # noqa: E402

SYNC_OPS = ("aten::_local_scalar_dense",)
READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__")  # tensor → Python: a device → host sync


class HostReads:
    """Counts the tensor → Python reads made from Python code (each a device → host sync on a GPU)."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> HostReads:
        self._saved = {name: getattr(torch.Tensor, name) for name in READS}
        for name, fn in self._saved.items():
            setattr(torch.Tensor, name, self._counting(fn))
        return self

    def _counting(self, fn):
        def wrapper(t, *args, **kwargs):
            self.count += 1
            return fn(t, *args, **kwargs)

        return wrapper

    def __exit__(self, *exc) -> None:
        for name, fn in self._saved.items():
            setattr(torch.Tensor, name, fn)
OPTIMIZER = "Optimizer.step"  # torch's Adam reads its step counters as Python numbers: not a device sync on the CPU


def count(prof, phase: str) -> dict[str, float]:
    """Operations and host syncs inside the ``record_function(phase)`` block."""
    events = [e for e in prof.events() if e.name.startswith("aten::")]
    window = [e for e in prof.events() if e.name == phase]
    if not window:
        return {}
    start, end = window[0].time_range.start, window[0].time_range.end
    inside = [e for e in events if start <= e.time_range.start <= end]
    top = [e for e in inside if not any(p.name.startswith("aten::") for p in _parents(e))]
    syncs = [e for e in inside if e.name in SYNC_OPS]
    in_optimizer = sum(any(p.name.startswith(OPTIMIZER) for p in _parents(e)) for e in syncs)
    return {
        "top_level_ops": len(top),
        "host_syncs": len(syncs) - in_optimizer,
        "scalar_reads_in_optimizer": in_optimizer,
        "cpu_ms": round((end - start) / 1000, 2),
    }


def _parents(e):
    p = e.cpu_parent
    while p is not None:
        yield p
        p = p.cpu_parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--config", default="{}", help="JSON overrides of BENCH_CONFIG")
    parser.add_argument("--time", type=int, default=0, metavar="N", help="also time N iterations without the profiler")
    args = parser.parse_args()
    tr = warm_trainer("profile_iteration.py", args.device, args.config)
    cfg = tr.config
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if tr.device.type == "cuda" else [])
    reads = {}
    with profile(activities=acts) as prof:
        for phase, call in _phases(tr):
            if phase is None:
                call()
                continue
            with record_function(phase), HostReads() as r:
                call()
            reads[phase] = r.count
    steps, minibatches = cfg.num_steps, cfg.epochs * cfg.num_minibatches
    out = {"config": {k: getattr(cfg, k) for k in ("num_envs", "num_steps", "epochs", "num_minibatches", "population")}}
    phases = (("rollout", steps, "env_step"), ("advantages", 1, "iteration"), ("update", minibatches, "minibatch"))
    for phase, per, unit in phases:
        c = count(prof, phase)
        out[phase] = {**c, "python_host_reads": reads[phase], f"ops_per_{unit}": round(c["top_level_ops"] / per, 1)}
    averages = sorted(prof.key_averages(), key=lambda a: a.self_cpu_time_total, reverse=True)
    out["top_ops_by_self_cpu_ms"] = [
        [a.key, round(a.self_cpu_time_total / 1000, 2), a.count] for a in averages if a.key.startswith("aten::")
    ][:10]
    if args.time:
        out["wall_ms"] = wall_ms(tr, args.time)
    print(json.dumps(out, indent=1))


def _phases(tr: pe.train.Trainer) -> list[tuple[str | None, Callable[[], None]]]:
    """The calls of one ``Trainer.iteration``, in order, as (phase, call) pairs: rollout,
    advantages, assembling the batch (phase None: neither profiled nor timed), update."""
    cfg, done = tr.config, {}

    def rollout() -> None:
        with pe.validate.trusted():
            tr.collect()

    def advantages() -> None:
        with pe.validate.trusted():
            done["advantages"] = pe.train.compute_advantages(tr.agent, tr.rollout, tr.obs, cfg.gamma, cfg.lam)

    def batch() -> None:
        ro = tr.rollout
        fields = (ro.obs, ro.actions, ro.logp, *done["advantages"])  # advantages, returns, values
        done["batch"] = pe.train.Batch(*(pe.train.to_members(x, cfg.population) for x in fields))

    def update() -> None:
        pe.train.ppo_update(tr.agent, tr.optimizer, done["batch"], cfg, tr.generator)

    return [("rollout", rollout), ("advantages", advantages), (None, batch), ("update", update)]


def wall_ms(tr: pe.train.Trainer, iterations: int) -> dict[str, float]:
    """Median wall-clock milliseconds per phase (and per whole iteration) over ``iterations``."""
    sync = torch.cuda.synchronize if tr.device.type == "cuda" else (lambda: None)
    times: dict[str, list[float]] = {"rollout": [], "advantages": [], "update": [], "iteration": []}
    for _ in range(iterations):
        start = last = time.perf_counter()
        for phase, call in _phases(tr):
            call()
            sync()
            now = time.perf_counter()
            if phase is not None:
                times[phase].append(now - last)
            last = now
        times["iteration"].append(last - start)
    return {phase: round(1000 * statistics.median(t), 2) for phase, t in times.items()}


if __name__ == "__main__":
    main()
