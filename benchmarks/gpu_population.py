"""Population throughput: P seeds × N environments trained at once (meant for a GPU).

    .venv/bin/python benchmarks/gpu_population.py                    # P = 1024, N = 64, device auto
    .venv/bin/python benchmarks/gpu_population.py --population 8 --num-envs 16 --device cpu

Prints environment steps per second *including training* (rollouts, GAE and the PPO updates of
all members), measured over ``--iterations`` iterations after one warm-up iteration.
"""

from __future__ import annotations

import argparse
import time

import torch

import ppo_edu as pe


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=1024)
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--num-steps", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    cfg = pe.train.PPOConfig(
        population=args.population, num_envs=args.num_envs, num_steps=args.num_steps, device=args.device,
        total_steps=args.num_envs * args.num_steps * (args.iterations + 1),
    )  # fmt: skip
    trainer = pe.train.Trainer(cfg)

    def sync() -> None:
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()

    trainer.iteration()  # warm-up (kernels, allocator)
    sync()
    start = time.perf_counter()
    for _ in range(args.iterations):
        trainer.iteration()
    sync()
    seconds = time.perf_counter() - start
    steps = args.iterations * cfg.population * cfg.batch_size
    name = torch.cuda.get_device_name(trainer.device) if trainer.device.type == "cuda" else "CPU"
    print(f"device {trainer.device} ({name}): population {cfg.population} × {cfg.num_envs} envs, T = {cfg.num_steps}")
    print(f"{steps:,} env steps in {seconds:.2f} s = {steps / seconds:,.0f} env steps/s including training")


if __name__ == "__main__":
    main()
