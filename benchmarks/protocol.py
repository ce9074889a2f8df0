"""The evaluation protocol shared by every contestant of the benchmark (ours and the peers').

Every run trains for a fixed budget of ``BUDGET`` environment steps. Training is paused at the
first iteration boundary at or after every ``EVAL_INTERVAL`` environment steps, and once more at
the end of the budget, and the deterministic (greedy) policy plays ``EVAL_EPISODES`` episodes of
gymnasium's CartPole-v1, episode i started with ``reset(seed=EVAL_SEED + i)``. Those start seeds
are held out: no setting of any contestant was tuned on them (the course and the earlier
benchmark evaluate from 1_000_000).

Two rules read the same list of evaluations (their mean returns ``m_1, ..., m_K``):

* **strict** (the headline): solved at the first evaluation k from which *every* later
  evaluation, to the end of the budget, has ``m_j ≥ SOLVED_MEAN`` ("stays ≥ 475"); a run whose
  final evaluation is below it is not solved.
* **3 in a row** (the earlier rule): solved at the first of ``CONFIRM`` consecutive evaluations
  with ``m_j ≥ SOLVED_MEAN``, whatever happens after.

The time-to-solve is the training wall-clock time at evaluation k. Evaluation time is never on
the clock, and neither is building the model and the environments.

This file imports only NumPy and gymnasium, so every virtual environment can use it, and nothing
from ppo_edu.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

BUDGET = 100_000  # env steps every run trains for (RL-Zoo's CartPole budget)
EVAL_INTERVAL = 2048  # env steps between evaluations
EVAL_EPISODES = 10
EVAL_SEED = 5_000_000  # held out: never used to tune any contestant's settings
SOLVED_MEAN = 475.0
CONFIRM = 3  # evaluations in a row for the "3 in a row" rule


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


def strict_solve_index(means: Sequence[float], threshold: float = SOLVED_MEAN) -> int | None:
    """Index of the first evaluation from which every later one is ≥ ``threshold`` (None if the
    last one is below it, or there is none): ``[100, 500, 300, 480, 490] -> 3``."""
    k = None
    for i in range(len(means) - 1, -1, -1):
        if means[i] < threshold:
            break
        k = i
    return k


def confirm_solve_index(means: Sequence[float], confirm: int = CONFIRM, threshold: float = SOLVED_MEAN) -> int | None:
    """Index of the first of ``confirm`` evaluations in a row that are all ≥ ``threshold`` (None if
    there are none): ``[500, 500, 100, 480, 490, 500, 200] -> 3`` with confirm = 3."""
    run = 0
    for i, m in enumerate(means):
        run = run + 1 if m >= threshold else 0
        if run == confirm:
            return i - confirm + 1
    return None


class EvalSchedule:
    """When the protocol evaluates: at the first iteration boundary at or after every ``interval``
    environment steps, and once more at the end of the budget (unless that step was just evaluated).
    :class:`SolveClock` and ``sweep.py`` (which evaluates a whole population) both follow it."""

    def __init__(self, interval: int = EVAL_INTERVAL):
        self.interval = interval
        self.next_eval = interval
        self.last_eval: int | None = None

    def due(self, env_steps: int, final: bool = False) -> bool:
        """Whether to evaluate at ``env_steps`` (``final``: the budget's end); if so, it is recorded as done."""
        if not (env_steps >= self.next_eval or (final and self.last_eval != env_steps)):
            return False
        self.last_eval = env_steps
        while self.next_eval <= env_steps:
            self.next_eval += self.interval
        return True


class SolveClock:
    """Training stopwatch that pauses for evaluations and records them for both rules."""

    def __init__(self, interval: int = EVAL_INTERVAL):
        self.schedule = EvalSchedule(interval)
        self.train_seconds = 0.0
        self.train_cpu_seconds = 0.0  # CPU time of this process while training: robust to a busy machine
        self.eval_seconds = 0.0
        self.evals: list[tuple[int, float, float, float, float]] = []  # (env steps, train s, train CPU s, mean, min)
        self._t0: float | None = None
        self._c0: float | None = None

    def start(self) -> None:
        self._t0, self._c0 = time.perf_counter(), time.process_time()

    def pause(self) -> None:
        if self._t0 is not None:
            self.train_seconds += time.perf_counter() - self._t0
            self.train_cpu_seconds += time.process_time() - self._c0
        self._t0 = self._c0 = None

    def _evaluate(self, env_steps: int, policy: Callable[[np.ndarray], np.ndarray]) -> None:
        t = time.perf_counter()
        returns = evaluate(policy)
        self.eval_seconds += time.perf_counter() - t
        self.evals.append((env_steps, self.train_seconds, self.train_cpu_seconds, float(returns.mean()), float(returns.min())))

    def checkpoint(self, env_steps: int, policy: Callable[[np.ndarray], np.ndarray]) -> None:
        """Call at an iteration boundary: pauses the clock, evaluates when due, resumes it."""
        self.pause()
        if self.schedule.due(env_steps):
            self._evaluate(env_steps, policy)
        self.start()

    def finish(self, env_steps: int, policy: Callable[[np.ndarray], np.ndarray]) -> None:
        """Call once at the end of the budget: stops the clock and evaluates the final policy
        (unless the last evaluation was already at ``env_steps``)."""
        self.pause()
        if self.schedule.due(env_steps, final=True):
            self._evaluate(env_steps, policy)

    def _rule(self, k: int | None) -> dict:
        if k is None:
            return {"solved": False, "time_to_solve_s": float("inf"), "cpu_time_to_solve_s": float("inf"), "steps_to_solve": None}
        steps, secs, cpu = self.evals[k][:3]
        return {"solved": True, "time_to_solve_s": secs, "cpu_time_to_solve_s": cpu, "steps_to_solve": steps}

    def result(self, name: str, seed: int, env_steps: int, **extra) -> dict:
        """One run's JSON record: the strict rule's fields at the top level, the 3-in-a-row
        rule's with the suffix ``_3``."""
        means = [e[3] for e in self.evals]
        strict = self._rule(strict_solve_index(means))
        confirm = {f"{k}_3": v for k, v in self._rule(confirm_solve_index(means)).items()}
        return {
            "name": name,
            "seed": seed,
            **strict,
            **confirm,
            "final_mean": means[-1] if means else float("nan"),
            "train_seconds": self.train_seconds,
            "train_cpu_seconds": self.train_cpu_seconds,
            "eval_seconds": self.eval_seconds,
            "env_steps": env_steps,
            "env_steps_per_s": env_steps / self.train_seconds if self.train_seconds > 0 else float("nan"),
            "evals": self.evals,
            **extra,
        }
