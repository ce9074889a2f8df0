"""Notebook 11's exercises: name the bug of each lab run, and measure steps-to-475 from a learning curve."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from .. import ablations, lab
from ._core import ERROR, NOT_ATTEMPTED, CheckResult, Exercise, Mistake

#: The names a diagnosis may use: the lab's bugs, in the order of their one-hot code.
CHOICES: tuple[str, ...] = tuple(lab.SIGNATURES)

#: What each bug would show (its signature), and what a run without it shows instead.
_WOULD_SHOW = {
    "logp_old_recomputed": "approx KL and clip fraction exactly 0 in every iteration (ρ ≡ 1)",
    "wrong_action": "|ρ − 1| > 0 on the first minibatch of every update, before any gradient step",
    "value_loss_sign": "an explained variance clearly below 0 (V further from the targets than a constant is)",
    "large_rewards_unnormalised": "return targets spread over hundreds and gradient norms in the thousands",
}
_INSTEAD = {
    "logp_old_recomputed": "approx KL and clip fraction are above 0",
    "wrong_action": "|ρ − 1| on the first minibatch is exactly 0 (first_ratio_max_dev), so ρ uses the right action",
    "value_loss_sign": "explained variance never goes below −0.5",
    "large_rewards_unnormalised": "median spread of the return targets stays below 100 (that bug needs both: targets "
    "spread over hundreds and gradients in the hundreds or more)",
}


def _one_hot(bug: str) -> np.ndarray:
    return np.eye(len(CHOICES))[CHOICES.index(bug)]


def _diagnosis_cases() -> list[dict]:
    return [{"run": run} for run in lab.LAB_RUNS]


def diagnosis_solution(run: str) -> str:
    # run A: explained variance far below 0 (the table's min EV) → the critic climbs its own error
    # run B: approx KL and clip fraction 0.0000 in every iteration, entropy still falls → ρ ≡ 1
    # run C: R std ≈ 400 and gradient norms ≈ 3000 → rewards 100× too large, nothing normalised
    # run D: |ρ − 1| > 0 before the first step, policy stuck at ln 2 → ratio of the wrong action
    answers = {"run A": "value_loss_sign", "run B": "logp_old_recomputed",
               "run C": "large_rewards_unnormalised", "run D": "wrong_action"}  # fmt: skip
    return answers[run]


def _wrong(name: str, bug: str) -> Mistake:
    """Naming ``bug`` for the lab run ``name`` (every other run diagnosed right)."""
    message = (
        f"{name} is not `{bug}`: that bug shows {_WOULD_SHOW[bug]}, but {name}'s {_INSTEAD[bug]}. "
        "Compare its panels with the healthy run's, one signal at a time."
    )
    return Mistake(
        f"{name.replace(' ', '_')}_is_not_{bug}",
        message,
        lambda run, _n=name, _b=bug: _one_hot(_b) if run == _n else _one_hot(lab.LAB_RUNS[run]),
    )


class DiagnosisExercise(Exercise):
    """An exercise whose answer is a bug name per run: a dict ``{run: bug}`` or a function ``f(run)``.

    Names are compared as one-hot codes over :data:`CHOICES`, so the usual machinery (cases,
    mistakes recognised by name) applies; a name that is not a lab bug gets its own feedback.
    """

    def check(self, fn: Callable[..., Any] | Mapping[str, str] | None, *, accept_package: bool | None = None,
              strict: bool = False) -> CheckResult:  # fmt: skip
        """As :meth:`Exercise.check`; the answer key is data (``pe.lab.LAB_RUNS``), not a function, so
        there is no package function to refuse and ``accept_package``/``strict`` change nothing."""
        if isinstance(fn, Mapping):
            answers = dict(fn)
            if not answers:
                return self._result(NOT_ATTEMPTED, f"Fill in the dict: one bug name per run, from {list(CHOICES)}.")
            fn = lambda run, _a=answers: _a.get(run)  # noqa: E731 - a missing run reads as None
        if fn is None or not callable(fn):
            return super().check(fn)
        for kwargs in self.cases():
            try:
                out = fn(**kwargs)
            except Exception:  # noqa: BLE001 - the machinery below reports it
                break
            if isinstance(out, str) and out not in CHOICES:
                return self._result(
                    ERROR, f"{kwargs['run']}: got the str {out!r}, which is not one of the lab's bugs {list(CHOICES)}."
                )
        result = super().check(lambda **kw: _encode(fn(**kw)), accept_package=True)
        if result.mistake is not None:  # the explanation only: the one-hot codes would give the answer away
            message = next(m.message for m in self.mistakes if m.name == result.mistake)
            return CheckResult(self.name, result.status, message, result.mistake)
        return result


def _encode(out: Any) -> Any:
    return _one_hot(out) if isinstance(out, str) and out in CHOICES else out


lab_diagnosis = DiagnosisExercise(
    name="lab_diagnosis",
    title="The debugging lab: name the bug of each broken run from its diagnostics",
    reference=lambda run: _one_hot(lab.LAB_RUNS[run]),
    cases=_diagnosis_cases,
    solution_fn=diagnosis_solution,
    mistakes=tuple(_wrong(run, bug) for run, true in lab.LAB_RUNS.items() for bug in CHOICES if bug != true),
    hints=(
        "Start with the two signals that are exactly 0 in a healthy run's first minibatch: "
        "first_ratio_max_dev (ρ before any step) and, in a broken one, approx KL itself.",
        "Explained variance below 0 means V is worse than predicting the mean target: the critic is moving away.",
        "At the course's reward scale (0.1) CartPole's return targets spread by about 1 (the healthy run's median R std is "
        "1.1), and even unscaled they stay below 100: a spread of hundreds means the rewards are scaled wrong.",
    ),
)


# -- steps to 475 -----------------------------------------------------------------------------


def _steps_cases() -> list[dict]:
    nan = float("nan")
    k = 10
    steps = torch.arange(1, k + 1, dtype=torch.float64) * 1024
    case0 = torch.tensor([
        [20, 100, 480, 300, 476, 490, 500, 500, 500, 500],   # a dip after the first crossing
        [20, 475, 475, 480, 500, 500, 500, 500, 500, 500],   # exactly 475 counts (≥)
        [20, 50, 100, 200, 300, 400, 470, 480, 490, 500],    # solved late
    ], dtype=torch.float64)  # fmt: skip
    case1 = torch.tensor([
        [20, 480, nan, 300, nan, 500, nan, 500, nan, 500],   # NaN inside the final stretch: no episode ended
        [20, 100, 200, 300, 400, 500, 500, 500, 500, 470],   # never stays: inf
        [nan, nan, 30, nan, 480, nan, nan, 500, 500, nan],
    ], dtype=torch.float64)  # fmt: skip
    g = torch.Generator().manual_seed(11)
    noisy = (torch.rand(4, k, generator=g, dtype=torch.float64) * 60 + 450).round()
    noisy[torch.rand(4, k, generator=g) < 0.25] = nan
    return [{"env_steps": steps, "returns": case0, "threshold": 475.0},
            {"env_steps": steps, "returns": case1, "threshold": 475.0},
            {"env_steps": steps, "returns": noisy, "threshold": 475.0}]  # fmt: skip


def steps_solution(env_steps, returns, threshold):
    env_steps, returns = np.asarray(env_steps), np.asarray(returns, dtype=float)
    out = np.full(returns.shape[0], np.inf)
    for p, row in enumerate(returns):
        failures = np.flatnonzero(np.isfinite(row) & (row < threshold))
        start = failures[-1] + 1 if len(failures) else 0  # just after the last failure
        later = np.flatnonzero(np.isfinite(row[start:]))  # the first finished episode from there on
        if len(later):
            out[p] = env_steps[start + later[0]]
    return out


def _first_crossing(env_steps, returns, threshold):
    out = np.full(returns.shape[0], np.inf)
    for p, row in enumerate(np.asarray(returns)):
        hit = np.flatnonzero(row >= threshold)
        if len(hit):
            out[p] = float(env_steps[hit[0]])
    return out


def _nan_as_failure(env_steps, returns, threshold):
    r = np.asarray(returns, dtype=float)
    return steps_solution(env_steps, np.where(np.isnan(r), -1.0, r), threshold)  # NaN read as a failed iteration


def _strict(env_steps, returns, threshold):
    return steps_solution(env_steps, returns, np.nextafter(threshold, np.inf))


def _index(env_steps, returns, threshold):
    steps = steps_solution(env_steps, returns, threshold)
    return np.where(np.isfinite(steps), steps / float(env_steps[0]) - 1, np.inf)


def _unsolved_as_budget(env_steps, returns, threshold):
    steps = steps_solution(env_steps, returns, threshold)
    return np.where(np.isfinite(steps), steps, float(env_steps[-1]))


steps_to_475 = Exercise(
    name="steps_to_475",
    title="Steps to 475: from when on does the learning curve stay solved?",
    reference=lambda env_steps, returns, threshold: ablations.steps_to_threshold(env_steps, returns, threshold),
    cases=_steps_cases,
    solution_fn=steps_solution,
    mistakes=(
        Mistake("first_crossing", "That is the first time the return reached the threshold; it must *stay* ≥ it "
                "from there to the end (a later dip restarts the clock).", _first_crossing),
        Mistake("nan_as_failure", "NaN means no training episode ended in that iteration: it is no evidence "
                "either way, so it must neither break nor start a run of success.", _nan_as_failure),
        Mistake("strict_inequality", "A return of exactly 475 counts as solved: use ≥, not >.", _strict),
        Mistake("index_not_steps", "Return the environment steps env_steps[k], not the iteration index k.", _index),
        Mistake("unsolved_as_budget", "A seed that never stays ≥ 475 has no such step: return inf for it "
                "(the summary table treats it as censored at the budget itself).", _unsolved_as_budget),
    ),  # fmt: skip
    hints=(
        "Per seed (row): find the last iteration whose finite return is below the threshold.",
        "The answer is env_steps at the first finite entry after that last failure; inf if there is none.",
    ),
)
