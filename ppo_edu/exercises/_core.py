"""The exercise machinery: check a learner's function, recognise classic mistakes, give hints.

An :class:`Exercise` knows

* a ``reference`` (the package's tested implementation),
* seeded ``cases`` (keyword arguments to call both functions with),
* a list of :class:`Mistake` s: the wrong answers learners classically give, each as a
  function that computes that wrong answer and a message that explains it,
* progressive ``hints`` and a readable ``solution`` function.

``check(fn)`` never raises for anything the learner did: a blank (``NotImplementedError`` or
``None``), an exception, a wrong shape, NaN, or a wrong value each come back as a
:class:`CheckResult` whose text says what happened and what to look at.
"""

from __future__ import annotations

import inspect
import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

#: Environment variable that withholds ``solution()`` (set it in student installations).
HIDE_SOLUTIONS_ENV = "PPO_EDU_HIDE_SOLUTIONS"

NOT_ATTEMPTED, PASSED, FAILED, ERROR = "not attempted", "passed", "failed", "error"
_ICONS = {NOT_ATTEMPTED: "⏳", PASSED: "✅", FAILED: "❌", ERROR: "⚠️"}


@dataclass(frozen=True)
class Mistake:
    """A classic wrong answer: ``fn`` computes it from the same inputs as the reference."""

    name: str
    message: str
    fn: Callable[..., Any]


@dataclass(frozen=True)
class CheckResult:
    """What ``check`` found. ``bool(result)`` is True only when the exercise passed."""

    exercise: str
    status: str
    message: str
    mistake: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"{_ICONS[self.status]} {self.exercise}: {self.status}. {self.message}"

    __str__ = __repr__


class Text(str):
    """A string that a notebook displays as plain text (no quotes), e.g. a hint or a solution."""

    def __repr__(self) -> str:
        return str(self)


def _to_array(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().to(torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _clone(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}


def _describe(kwargs: dict[str, Any], limit: int = 6) -> str:
    parts = []
    for k, v in kwargs.items():
        if isinstance(v, torch.Tensor):
            flat = [round(float(u), 3) for u in v.detach().flatten()[:limit]]
            more = ", …" if v.numel() > limit else ""
            parts.append(f"{k}={tuple(v.shape)} [{', '.join(map(str, flat))}{more}]")
        else:
            parts.append(f"{k}={v!r}")
    return ", ".join(parts)


def _short(a: np.ndarray, limit: int = 6) -> str:
    flat = np.round(a.flatten()[:limit], 4).tolist()
    return f"{flat}{' …' if a.size > limit else ''}"


def _student_frame(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "ppo_edu" not in f.filename.replace("\\", "/").split("/site-packages/")[-1]]
    f = (own or frames)[-1]
    return f" (line {f.lineno}: `{(f.line or '').strip()}`)" if f.line else ""


@dataclass
class Exercise:
    """One exercise: reference, seeded cases, classic mistakes, hints and a solution."""

    name: str
    title: str
    reference: Callable[..., Any]
    cases: Callable[[], Sequence[dict[str, Any]]]
    solution_fn: Callable[..., Any]
    mistakes: Sequence[Mistake] = ()
    hints: Sequence[str] = ()
    rtol: float = 1e-5
    atol: float = 1e-6
    _hint_index: int = field(default=0, repr=False)

    # -- comparing -------------------------------------------------------------------------
    def _close(self, got: np.ndarray, want: np.ndarray) -> bool:
        return got.shape == want.shape and bool(np.allclose(got, want, rtol=self.rtol, atol=self.atol))

    def _result(self, status: str, message: str, mistake: str | None = None) -> CheckResult:
        return CheckResult(self.name, status, message, mistake)

    def _recognise(self, kwargs: dict[str, Any], got: np.ndarray, want: np.ndarray) -> Mistake | None:
        for m in self.mistakes:
            wrong = _to_array(m.fn(**_clone(kwargs)))
            if not self._close(wrong, want) and self._close(got, wrong):
                return m
        return None

    # -- the learner's API -----------------------------------------------------------------
    def check(self, fn: Callable[..., Any] | None) -> CheckResult:
        """Run ``fn`` on every case and compare with the reference; never raises."""
        if fn is None or not callable(fn):
            return self._result(NOT_ATTEMPTED, "Pass your function itself, e.g. check(my_function).")
        cases = list(self.cases())
        for i, kwargs in enumerate(cases, start=1):
            want = _to_array(self.reference(**_clone(kwargs)))
            try:
                out = fn(**_clone(kwargs))
            except NotImplementedError:
                return self._result(
                    NOT_ATTEMPTED, "Replace `raise NotImplementedError` with your code, then run this cell again."
                )
            except Exception as exc:  # noqa: BLE001 - any learner error becomes feedback
                return self._result(
                    ERROR,
                    f"Your function raised {type(exc).__name__}: {exc}{_student_frame(exc)} on case {i} "
                    f"with inputs {_describe(kwargs)}.",
                )
            if out is None:
                if i == 1:
                    return self._result(NOT_ATTEMPTED, "Your function returned None: did you forget `return`?")
                return self._result(FAILED, f"Case {i}: your function returned None.")
            try:
                got = _to_array(out)
            except (TypeError, ValueError):
                return self._result(ERROR, f"Case {i}: expected numbers (a tensor or array), got {type(out).__name__}.")
            if got.shape != want.shape:
                return self._result(
                    FAILED, f"Case {i}: expected shape {want.shape}, got {got.shape}. Inputs: {_describe(kwargs)}."
                )
            if not np.isfinite(got).all() and np.isfinite(want).all():
                return self._result(FAILED, f"Case {i}: your result contains NaN or inf: {_short(got)}.")
            if not self._close(got, want):
                mistake = self._recognise(kwargs, got, want)
                detail = f"Case {i}: expected {_short(want)}, got {_short(got)}. Inputs: {_describe(kwargs)}."
                if mistake is not None:
                    return self._result(FAILED, f"{mistake.message} {detail}", mistake.name)
                return self._result(FAILED, detail)
        return self._result(PASSED, f"All {len(cases)} cases match the reference.")

    def hint(self, number: int | None = None) -> Text:
        """The next hint (or hint ``number``, counting from 1), shown as the cell's output."""
        if not self.hints:
            text = "No hints for this one: re-read the equation above the exercise."
        else:
            if number is None:
                number = min(self._hint_index, len(self.hints) - 1) + 1
                self._hint_index += 1
            if not 1 <= number <= len(self.hints):
                text = f"There are {len(self.hints)} hints; ask for 1 to {len(self.hints)}."
            else:
                text = f"Hint {number}/{len(self.hints)}: {self.hints[number - 1]}"
        return Text(text)

    def solution(self) -> Text:
        """The source of a model solution, unless solutions are withheld (``PPO_EDU_HIDE_SOLUTIONS=1``)."""
        if solutions_hidden():
            text = "Solutions are withheld for this course run. Ask your instructor, or try hint() again."
        else:
            text = inspect.getsource(self.solution_fn)
        return Text(text)


def solutions_hidden() -> bool:
    """True when the instructor switch withholds solutions."""
    return os.environ.get(HIDE_SOLUTIONS_ENV, "").strip().lower() in {"1", "true", "yes", "on"}
