"""One benchmark run of Stable-Baselines3 PPO with the RL-Zoo CartPole-v1 settings: prints one JSON line.

Runs in the peers' own virtual environment (``bash benchmarks/setup_peers.sh``):

    benchmarks/.venv-peers/bin/python benchmarks/bench_sb3.py --seed 0

RL-Zoo's hyperparams/ppo.yml, CartPole-v1: n_envs 8, n_timesteps 1e5, n_steps 32, batch_size 256,
gae_lambda 0.8, gamma 0.98, n_epochs 20, ent_coef 0.0, learning_rate lin_0.001, clip_range lin_0.2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import BUDGET, SolveClock  # noqa: E402


def main() -> None:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-steps", type=int, default=BUDGET, help="RL-Zoo's budget, 1e5; the linear schedules run over it")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    env = make_vec_env("CartPole-v1", n_envs=8, seed=args.seed)
    model = PPO(
        "MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
        learning_rate=lambda progress: progress * 1e-3, clip_range=lambda progress: progress * 0.2,
        seed=args.seed, device=args.device, verbose=0,
    )  # fmt: skip

    def policy(obs: np.ndarray) -> np.ndarray:
        actions, _ = model.predict(obs, deterministic=True)
        return actions

    clock = SolveClock()

    class Clock(BaseCallback):
        """Evaluate between one update and the next rollout (where SB3 calls on_rollout_start)."""

        def _on_training_start(self) -> None:
            clock.start()

        def _on_rollout_start(self) -> None:
            if self.num_timesteps > 0:
                clock.checkpoint(self.num_timesteps, policy)

        def _on_step(self) -> bool:
            return True

    model.learn(total_timesteps=args.max_steps, callback=Clock())
    clock.finish(model.num_timesteps, policy)  # the final policy, after the last update
    out = clock.result("sb3", args.seed, model.num_timesteps, budget=args.max_steps, device=str(model.device))
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
