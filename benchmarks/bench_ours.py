"""One benchmark run of ppo_edu's PPO (course venv): prints one JSON line.

.venv/bin/python benchmarks/bench_ours.py --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import SolveClock  # noqa: E402

import ppo_edu as pe  # noqa: E402

# Tuned for wall-clock time-to-solve on a small CPU (see benchmarks/README.md).
# PPOConfig's defaults except a higher learning rate (7e-3 instead of 5e-3: reaches 475 sooner,
# while the default is surer to *stay* there over a whole 1e5-step run, which notebook 10 asserts).
# Spelled out so the benchmark does not drift when the defaults change. The learning rate is
# annealed linearly to 0 over MAX_STEPS, like SB3's RL-Zoo schedules over 1e5.
BENCH_CONFIG = dict(
    num_envs=32, num_steps=32, epochs=4, num_minibatches=4, lr=7e-3, anneal_lr=True,
    gamma=0.99, lam=0.95, clip_eps=0.2, vf_coef=0.5, ent_coef=0.0, hidden=(64, 64), max_grad_norm=0.5,
)  # fmt: skip
MAX_STEPS = 100_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-steps", type=int, default=MAX_STEPS)
    parser.add_argument("--config", default="{}", help="JSON overrides of BENCH_CONFIG")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = pe.train.PPOConfig(
        **{**BENCH_CONFIG, **json.loads(args.config)}, total_steps=args.max_steps, seed=args.seed, device=args.device
    )
    trainer = pe.train.Trainer(cfg)
    agent = trainer.agent

    def policy(obs):
        with torch.no_grad():
            x = torch.as_tensor(obs, dtype=torch.float32, device=trainer.device).unsqueeze(0)
            return agent.act(x)[0].cpu().numpy()

    clock = SolveClock()
    clock.start()
    while trainer.env_steps < args.max_steps:
        trainer.iteration()
        if clock.checkpoint(trainer.env_steps, policy):
            break
    clock.pause()
    out = clock.result("ppo_edu", args.seed, trainer.env_steps, device=str(trainer.device), config=cfg.__dict__)
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
