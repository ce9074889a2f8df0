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
from protocol import SolveClock  # noqa: E402

N_TIMESTEPS = 100_000  # RL-Zoo's budget; the linear schedules run from 1 to 0 over it


def main() -> None:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
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

        solved = False

        def _on_training_start(self) -> None:
            clock.start()

        def _on_rollout_start(self) -> None:
            if self.num_timesteps > 0 and not self.solved:
                self.solved = clock.checkpoint(self.num_timesteps, policy)

        def _on_step(self) -> bool:
            return not self.solved

    cb = Clock()
    model.learn(total_timesteps=N_TIMESTEPS, callback=cb)
    if not cb.solved:
        clock.checkpoint(model.num_timesteps, policy)  # the final policy, after the last update
    clock.pause()
    out = clock.result("sb3", args.seed, model.num_timesteps, device=str(model.device))
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
