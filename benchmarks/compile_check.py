"""What ``torch.compile`` buys the update's minibatch step, and what its compile costs.

    .venv/bin/python benchmarks/compile_check.py                                  # CPU, inductor
    .venv/bin/python benchmarks/compile_check.py --device cuda --mode reduce-overhead  # CUDA graphs
    .venv/bin/python benchmarks/compile_check.py --backend aot_eager --repeats 5  # the plumbing only (tests)

The step measured is the part of ``ppo_update`` that runs once per minibatch and that a compiler
could fuse: :func:`ppo_edu.train.ppo_loss` (both networks' forward passes and the loss) and its
backward, on real minibatches of one ``BENCH_CONFIG`` iteration (``--config`` overrides it, e.g.
``'{"population": 64}'``). Eager and compiled steps alternate over the same minibatches; the
script prints one JSON line: the compile time (the first call), the median milliseconds of each,
their ratio, and the largest difference of loss and gradients between the two (compiled kernels
round differently, so they are close, not bitwise equal). The compile is timed cold (inductor's
on-disk caches off) unless ``--warm-cache``. A benchmark, not a test: it measures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

if "--warm-cache" not in sys.argv:  # a learner's first compile is cold: no kernels cached on disk by an earlier run
    os.environ["TORCHINDUCTOR_FORCE_DISABLE_CACHES"] = "1"
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ours import warm_trainer  # noqa: E402

import ppo_edu as pe  # noqa: E402


def real_minibatches(trainer: pe.train.Trainer) -> list[pe.train.Batch]:
    """One epoch's minibatches (P, M, ...) of a fresh rollout of ``trainer``'s current policy."""
    cfg = trainer.config
    with pe.validate.trusted():
        trainer.collect()
        ro = trainer.rollout
        ro = dataclasses.replace(ro, rewards=ro.rewards * cfg.reward_scale)
        advantages = pe.train.compute_advantages(trainer.agent, ro, trainer.obs, cfg.gamma, cfg.lam)
    fields = (ro.obs, ro.actions, ro.logp, *advantages)  # advantages, returns, values
    batch = pe.train.Batch(*(pe.train.to_members(x, cfg.population) for x in fields))
    batch = pe.train._population_batch(trainer.agent, batch, cfg.num_minibatches)
    return list(pe.train.minibatches(batch, cfg.num_minibatches, torch.Generator(trainer.device).manual_seed(0)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--config", default="{}", help="JSON overrides of BENCH_CONFIG")
    parser.add_argument("--backend", default="inductor", help="torch.compile backend (aot_eager: tracing only, fast)")
    parser.add_argument("--mode", default=None, help="torch.compile mode, e.g. reduce-overhead (CUDA graphs)")
    parser.add_argument("--repeats", type=int, default=100, help="timed steps of each kind")
    parser.add_argument("--warm-cache", action="store_true", help="let inductor reuse kernels compiled by earlier runs")
    args = parser.parse_args()
    trainer = warm_trainer("compile_check.py", args.device, args.config)  # a policy trained for one iteration
    cfg = trainer.config
    agent, mbs = trainer.agent, real_minibatches(trainer)
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    compiled_loss = torch.compile(lambda mb: pe.train.ppo_loss(agent, mb, cfg), backend=args.backend, mode=args.mode)

    def step(loss_fn, mb) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if loss_fn is compiled_loss:
            torch.compiler.cudagraph_mark_step_begin()  # a new training step: CUDA graphs may reuse its output memory
        loss, _seen = loss_fn(mb)
        agent.zero_grad(set_to_none=True)
        loss.backward()
        return loss.detach(), [p.grad for p in agent.parameters()]

    def eager(mb):
        return pe.train.ppo_loss(agent, mb, cfg)

    with pe.validate.trusted():
        start = time.perf_counter()
        step(compiled_loss, mbs[0])
        sync()
        compile_s = time.perf_counter() - start
        for mb in mbs:  # warm both (and let CUDA graphs record)
            step(eager, mb), step(compiled_loss, mb)
        loss_e, grads_e = step(eager, mbs[1])
        grads_e = [g.clone() for g in grads_e]
        loss_c, grads_c = step(compiled_loss, mbs[1])
        grad_diff = max((a - b).abs().max().item() for a, b in zip(grads_e, grads_c, strict=True))
        diff = {"loss": (loss_e - loss_c).abs().item(), "grad": grad_diff}
        ms: dict[str, list[float]] = {"eager": [], "compiled": []}
        for i in range(args.repeats):
            for name, fn in (("eager", eager), ("compiled", compiled_loss)):
                sync()
                t = time.perf_counter()
                step(fn, mbs[i % len(mbs)])
                sync()
                ms[name].append(1000 * (time.perf_counter() - t))
    med = {name: statistics.median(v) for name, v in ms.items()}
    print(json.dumps({
        "device": str(trainer.device), "backend": args.backend, "mode": args.mode, "torch": torch.__version__,
        "population": cfg.population, "minibatch": tuple(mbs[0].actions.shape),
        "compile_s": round(compile_s, 2), "warm_cache": args.warm_cache,
        "eager_ms": round(med["eager"], 3), "compiled_ms": round(med["compiled"], 3),
        "compiled_over_eager": round(med["compiled"] / med["eager"], 3), "max_abs_diff": diff,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
