"""The evaluation protocol shared by every contestant of the benchmark (ours and the peers').

Time-to-solve: training is paused at the first iteration boundary at or after every
``EVAL_INTERVAL`` environment steps, and the deterministic (greedy) policy plays
``EVAL_EPISODES`` episodes of gymnasium's CartPole-v1, episode i started with
``reset(seed=EVAL_SEED + i)``. A run is **solved** once ``CONFIRM`` evaluations in a row have a
mean return ≥ ``SOLVED_MEAN`` ("stays ≥ 475"); its time-to-solve is the training wall-clock
time at the first of them. Evaluation time is never on the clock, and neither is building
the model and the environments.

This file imports only NumPy and gymnasium, so both virtual environments can use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

EVAL_INTERVAL = 2048  # env steps between evaluations
EVAL_EPISODES = 10
EVAL_SEED = 1_000_000
SOLVED_MEAN = 475.0
CONFIRM = 3  # evaluations in a row that must all be ≥ SOLVED_MEAN


def evaluate(policy: Callable[[np.ndarray], np.ndarray], episodes: int = EVAL_EPISODES, seed: int = EVAL_SEED) -> np.ndarray:
    """Returns of ``episodes`` episodes of CartPole-v1 played side by side; ``policy`` maps a
    batch of observations (K, 4) to greedy actions (K,)."""
    import gymnasium as gym

    envs = [gym.make("CartPole-v1") for _ in range(episodes)]
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    returns = np.zeros(episodes)
    active = np.ones(episodes, dtype=bool)
    while active.any():
        actions = policy(obs)
        for i in np.flatnonzero(active):
            obs[i], r, term, trunc, _ = envs[i].step(int(actions[i]))
            returns[i] += r
            active[i] = not (term or trunc)
    for env in envs:
        env.close()
    return returns


class SolveClock:
    """Training stopwatch that pauses for evaluations and decides when a run is solved."""

    def __init__(self, interval: int = EVAL_INTERVAL):
        self.interval = interval
        self.next_eval = interval
        self.train_seconds = 0.0
        self.train_cpu_seconds = 0.0  # CPU time of this process while training: robust to a busy machine
        self.eval_seconds = 0.0
        self.evals: list[tuple[int, float, float, float]] = []  # (env steps, train s, train CPU s, mean return)
        self.solved_at: tuple[int, float, float] | None = None  # (env steps, train s, train CPU s)
        self._t0: float | None = None
        self._c0: float | None = None

    def start(self) -> None:
        self._t0, self._c0 = time.perf_counter(), time.process_time()

    def pause(self) -> None:
        if self._t0 is not None:
            self.train_seconds += time.perf_counter() - self._t0
            self.train_cpu_seconds += time.process_time() - self._c0
        self._t0 = self._c0 = None

    def checkpoint(self, env_steps: int, policy: Callable[[np.ndarray], np.ndarray]) -> bool:
        """Call at an iteration boundary: pauses the clock, evaluates when due, resumes it.
        Returns True once the run is solved."""
        self.pause()
        if env_steps >= self.next_eval:
            t = time.perf_counter()
            mean = float(evaluate(policy).mean())
            self.eval_seconds += time.perf_counter() - t
            self.evals.append((env_steps, self.train_seconds, self.train_cpu_seconds, mean))
            while self.next_eval <= env_steps:
                self.next_eval += self.interval
            last = self.evals[-CONFIRM:]
            if len(last) == CONFIRM and all(e[3] >= SOLVED_MEAN for e in last):
                self.solved_at = last[0][:3]
        self.start()
        return self.solved_at is not None

    def result(self, name: str, seed: int, env_steps: int, **extra) -> dict:
        solved = self.solved_at is not None
        return {
            "name": name,
            "seed": seed,
            "solved": solved,
            "time_to_solve_s": self.solved_at[1] if solved else float("inf"),
            "cpu_time_to_solve_s": self.solved_at[2] if solved else float("inf"),
            "steps_to_solve": self.solved_at[0] if solved else None,
            "train_seconds": self.train_seconds,
            "train_cpu_seconds": self.train_cpu_seconds,
            "eval_seconds": self.eval_seconds,
            "env_steps": env_steps,
            "env_steps_per_s": env_steps / self.train_seconds if self.train_seconds > 0 else float("nan"),
            "evals": self.evals,
            **extra,
        }
