"""The exercise machinery: check a learner's function, recognise classic mistakes, give hints.

An :class:`Exercise` knows

* a ``reference`` (the package's tested implementation, never the model solution),
* seeded ``cases`` (keyword arguments to call both functions with),
* a list of :class:`Mistake` s: the wrong answers learners classically give, each as a
  function that computes that wrong answer and a message that explains it,
* progressive ``hints`` and a readable ``solution`` function,
* optionally ``grad_args``: then the function must return a scalar loss, and it is compared
  by its value **and** its gradients with respect to those arguments (see :func:`run_case`),
  so that a ``logp_old`` that is not detached is caught although the value is right.

``check(fn)`` never raises for anything the learner did: a blank (``NotImplementedError`` or
``None``), an exception, a wrong shape, NaN, a loss without gradient or a wrong value each come
back as a :class:`CheckResult` whose text says what happened and what to look at. A function
that hands the work to the package's own implementation is reported as such (instructors can
accept it: ``PPO_EDU_ACCEPT_PACKAGE=1``).

Checking happens in two steps: :func:`run_case` calls the learner's function on one case and
records an :class:`Outcome` (its value, or what went wrong, and which package functions it
called); :meth:`Exercise.judge` compares the outcomes with the reference and the mistakes.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import sysconfig
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: Environment variable that withholds ``solution()`` (set it in student installations).
HIDE_SOLUTIONS_ENV = "PPO_EDU_HIDE_SOLUTIONS"
#: Environment variable that accepts a function calling the package's own implementation.
ACCEPT_PACKAGE_ENV = "PPO_EDU_ACCEPT_PACKAGE"

NOT_ATTEMPTED, PASSED, FAILED, ERROR = "not attempted", "passed", "failed", "error"
_ICONS = {NOT_ATTEMPTED: "⏳", PASSED: "✅", FAILED: "❌", ERROR: "⚠️"}
#: ``CheckResult.mistake`` for a function that delegates to the package, and for a loss without gradient.
PACKAGE_FUNCTION, NO_GRADIENT = "package_function", "loss_without_gradient"

_PACKAGE = Path(__file__).resolve().parents[1]  # ppo_edu/ (or the grader's fresh copy of it: same files)
_EXERCISES = _PACKAGE / "exercises"


def _switch(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


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


# -- running the learner's function ---------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the learner's function did on one case.

    ``kind`` is ``"value"`` (``value`` holds the result as float64), ``"blank"`` (it raised
    NotImplementedError), ``"none"`` (it returned None), ``"raised"`` (``error`` and ``where``
    say what and on which of the learner's lines), ``"not_numbers"`` (``error`` names the type)
    or ``"no_gradient"`` (a loss that autograd cannot differentiate). ``calls`` names the
    package functions that the learner's own code called.
    """

    kind: str
    value: np.ndarray | None = None
    error: str = ""
    where: str = ""
    calls: tuple[str, ...] = ()


def _to_array(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().to(torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _clone(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}


@functools.lru_cache(maxsize=4096)
def _where(filename: str) -> str:
    """``"reference"`` for a file of ppo_edu outside ``exercises/``, ``"exercises"``, or ``"other"``."""
    try:
        parents = Path(filename).resolve().parents
    except (OSError, ValueError):
        return "other"
    if _EXERCISES in parents:
        return "exercises"
    return "reference" if _PACKAGE in parents else "other"


def _in_package(filename: str) -> bool:
    """True for a file of ppo_edu itself, outside ``exercises/`` (a reference implementation)."""
    return _where(filename) == "reference"


def _anywhere_in_package(filename: str) -> bool:
    return _where(filename) != "other"


def _package_name(code: Any) -> str:
    """``pe.advantages.gae`` for the code object of ``ppo_edu/advantages.py``'s ``gae``."""
    relative = Path(code.co_filename).resolve().relative_to(_PACKAGE).with_suffix("")
    qualname = getattr(code, "co_qualname", code.co_name)
    return "pe." + ".".join((*relative.parts, qualname))


class _CallRecorder:
    """A profile hook: the package functions called directly from code for which ``caller(file)`` is True."""

    def __init__(self, caller: Callable[[str], bool]) -> None:
        self.caller, self.found, self._previous = caller, {}, None

    def _hook(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_back is not None:
            callee, parent = frame.f_code.co_filename, frame.f_back.f_code.co_filename
            if _anywhere_in_package(callee) and self.caller(parent):
                self.found.setdefault(_package_name(frame.f_code), None)

    def __enter__(self) -> _CallRecorder:
        self._previous = sys.getprofile()
        sys.setprofile(self._hook)
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.setprofile(self._previous)


def _library_dirs() -> tuple[Path, ...]:
    dirs = {_PACKAGE, Path(torch.__file__).resolve().parent, Path(np.__file__).resolve().parent}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if sysconfig.get_paths().get(key):
            dirs.add(Path(sysconfig.get_paths()[key]).resolve())
    return tuple(dirs)


def _learner_frame(exc: BaseException, fn: Callable[..., Any]) -> str:
    """Where in the learner's own code ``exc`` was raised: ``line 3 of `gae`: `code```."""
    frames = traceback.extract_tb(exc.__traceback__)
    libraries = _library_dirs()

    def own(frame: traceback.FrameSummary) -> bool:
        path = Path(frame.filename)
        return not frame.filename.startswith("<frozen") and not any(d == path or d in path.parents for d in libraries)

    mine = [f for f in frames if own(f)]
    if not mine:
        code = getattr(fn, "__code__", None)
        return f"inside a function your `{getattr(fn, '__name__', 'function')}` called" if code else ""
    f = mine[-1]
    return f"line {f.lineno} of `{f.name}`" + (f": `{f.line.strip()}`" if f.line else "")


def run_case(fn: Callable[..., Any], kwargs: dict[str, Any], grad_args: Sequence[str] = ()) -> Outcome:
    """Call ``fn(**kwargs)`` (on copies) and record what happened; never raises for the learner's errors.

    With ``grad_args`` the named arguments are passed as leaf tensors that require grad, the
    result must be a scalar tensor, and the recorded value is [loss, ∂loss/∂arg₁ (flattened), …].
    """
    kwargs = _clone(kwargs)
    leaves = [kwargs[k].detach().clone().requires_grad_(True) for k in grad_args]
    kwargs.update(zip(grad_args, leaves, strict=True))
    recorder = _CallRecorder(lambda file: not _anywhere_in_package(file))
    try:
        with recorder:
            out = fn(**kwargs)
    except NotImplementedError:
        return Outcome("blank")
    except Exception as exc:  # noqa: BLE001 - any learner error becomes feedback
        return Outcome("raised", error=f"{type(exc).__name__}: {exc}", where=_learner_frame(exc, fn),
                       calls=tuple(recorder.found))  # fmt: skip
    calls = tuple(recorder.found)
    if out is None:
        return Outcome("none", calls=calls)
    if grad_args:
        return _loss_outcome(out, leaves, calls)
    try:
        return Outcome("value", _to_array(out), calls=calls)
    except Exception:  # noqa: BLE001 - whatever the object does when turned into numbers
        return Outcome("not_numbers", error=type(out).__name__, calls=calls)


def _loss_outcome(out: Any, leaves: list[torch.Tensor], calls: tuple[str, ...]) -> Outcome:
    n = 1 + sum(x.numel() for x in leaves)
    if not isinstance(out, torch.Tensor):
        try:
            arr = np.asarray(out, dtype=np.float64)
        except Exception:  # noqa: BLE001 - whatever the object does when turned into numbers
            return Outcome("not_numbers", error=type(out).__name__, calls=calls)
        if arr.shape != ():
            return Outcome("value", arr, calls=calls)
        if not np.isfinite(arr):
            return Outcome("value", np.full(n, np.nan), calls=calls)
        return Outcome("no_gradient", error=type(out).__name__, calls=calls)
    if out.ndim != 0:
        return Outcome("value", _to_array(out), calls=calls)
    if not bool(torch.isfinite(out.detach())):
        return Outcome("value", np.full(n, np.nan), calls=calls)
    if not out.requires_grad:
        return Outcome("no_gradient", error="tensor", calls=calls)
    try:
        grads = torch.autograd.grad(out, leaves, allow_unused=True)
    except RuntimeError as exc:
        return Outcome("raised", error=f"RuntimeError: {exc}", where="while differentiating your loss", calls=calls)
    parts = [out.detach().reshape(1)]
    parts += [(torch.zeros_like(x) if g is None else g).flatten() for x, g in zip(leaves, grads, strict=True)]
    return Outcome("value", torch.cat([p.to(torch.float64) for p in parts]).numpy(), calls=calls)


# -- describing values ------------------------------------------------------------------------


def _number(u: Any) -> str:
    if isinstance(u, bool | np.bool_):
        return str(bool(u))
    if isinstance(u, int | np.integer):
        return str(int(u))
    return str(round(float(u), 4) + 0.0)  # + 0.0: no "-0.0"


def _values(x: Any, limit: int = 6) -> str:
    """``[0.1, 0.2, …]`` (booleans as True/False, integers as integers); shape first for tensors."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    flat = a.reshape(-1)[:limit].tolist()
    more = ", …" if a.size > limit else ""
    return f"[{', '.join(_number(u) for u in flat)}{more}]"


def _describe(kwargs: dict[str, Any], limit: int = 6) -> str:
    """One line per argument: ``name: shape (6, 1), bool [False, True, …]`` or ``name = 0.9``."""
    lines = []
    for k, v in kwargs.items():
        if isinstance(v, torch.Tensor | np.ndarray):
            dtype = str(v.dtype).replace("torch.", "")
            lines.append(f"{k}: shape {tuple(v.shape)}, {dtype} {_values(v, limit)}")
        else:
            lines.append(f"{k} = {v!r}")
    return "\n            ".join(lines)


# -- the exercise ------------------------------------------------------------------------------


@dataclass
class Exercise:
    """One exercise: reference, seeded cases, classic mistakes, hints and a solution.

    ``grad_args`` (e.g. ``("logp_old", "logp_new")``) makes it a loss exercise compared by value
    and gradients; ``value_only`` names mistakes recognised by the loss value alone, whatever
    the learner's gradients are.
    """

    name: str
    title: str
    reference: Callable[..., Any]
    cases: Callable[[], Sequence[dict[str, Any]]]
    solution_fn: Callable[..., Any]
    mistakes: Sequence[Mistake] = ()
    hints: Sequence[str] = ()
    rtol: float = 1e-5
    atol: float = 1e-6
    grad_args: tuple[str, ...] = ()
    value_only: tuple[str, ...] = ()
    _hint_index: int = field(default=0, repr=False)
    _callees: tuple[str, ...] | None = field(default=None, repr=False)

    # -- comparing -------------------------------------------------------------------------
    def _close(self, got: np.ndarray, want: np.ndarray) -> bool:
        return got.shape == want.shape and bool(np.allclose(got, want, rtol=self.rtol, atol=self.atol))

    def _result(self, status: str, message: str, mistake: str | None = None) -> CheckResult:
        return CheckResult(self.name, status, message, mistake)

    def _expected(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> np.ndarray:
        """The output of one of *our* functions (reference or mistake), as compared."""
        outcome = run_case(fn, kwargs, self.grad_args)
        if outcome.kind != "value":
            raise RuntimeError(f"{self.name}: {getattr(fn, '__name__', fn)} gave {outcome} on a case")
        return outcome.value

    def _recognise(self, kwargs: dict[str, Any], got: np.ndarray, want: np.ndarray) -> Mistake | None:
        wrongs = [(m, self._expected(m.fn, kwargs)) for m in self.mistakes]
        for m, wrong in wrongs:
            if not self._close(wrong, want) and self._close(got, wrong):
                return m
        if self.grad_args and got.shape == want.shape:  # then by the loss value alone
            for m, wrong in wrongs:
                if m.name in self.value_only and not self._close(wrong[:1], want[:1]) and self._close(got[:1], wrong[:1]):
                    return m
        return None

    def _show(self, a: np.ndarray, kwargs: dict[str, Any]) -> str:
        """A compared output, labelled: for a loss exercise, ``loss …, ∂loss/∂logp_old […], …``."""
        if not self.grad_args or a.ndim != 1:
            return _values(a)
        sizes = [int(np.prod(np.shape(kwargs[k]))) for k in self.grad_args]
        if a.size != 1 + sum(sizes):
            return _values(a)
        parts, at = [f"loss {_number(a[0])}"], 1
        for k, size in zip(self.grad_args, sizes, strict=True):
            parts.append(f"∂loss/∂{k} {_values(a[at : at + size])}")
            at += size
        return ";  ".join(parts)

    def package_functions(self) -> tuple[str, ...]:
        """The package functions that ``reference`` is (or calls directly), e.g. ``("pe.advantages.gae",)``."""
        if self._callees is None:
            code = getattr(self.reference, "__code__", None)
            if code is not None and _in_package(code.co_filename):
                found: tuple[str, ...] = (_package_name(code),)
            else:
                own = code.co_filename if code is not None else None
                recorder = _CallRecorder(lambda file: file == own)
                with recorder:
                    self.reference(**_clone(list(self.cases())[0]))
                found = tuple(c for c in recorder.found if not c.startswith("pe.exercises."))
            self._callees = found
        return self._callees

    def _delegated(self, fn: Callable[..., Any], outcomes: Sequence[Outcome], strict: bool) -> list[str]:
        """The package's functions that ``fn`` is or calls; ``strict`` also counts pe.exercises' own functions."""
        code = getattr(fn, "__code__", None)
        if code is not None and _in_package(code.co_filename):
            return [_package_name(code)]
        if strict and code is not None and _anywhere_in_package(code.co_filename):
            return [f"`{getattr(fn, '__qualname__', '?')}` of pe.exercises"]
        ours = set(self.package_functions())
        own = (lambda c: c.startswith("pe.exercises.")) if strict else (lambda c: False)
        return list(dict.fromkeys(c for o in outcomes for c in o.calls if c in ours or own(c)))

    # -- the learner's API -----------------------------------------------------------------
    def check(self, fn: Callable[..., Any] | None, *, accept_package: bool | None = None,
              strict: bool = False) -> CheckResult:  # fmt: skip
        """Run ``fn`` on every case and compare with the reference; never raises.

        ``accept_package`` (default: the ``PPO_EDU_ACCEPT_PACKAGE`` switch) accepts a function
        that is or calls the package's own implementation of this exercise. ``strict`` (the
        graders' setting) also refuses the functions of ``pe.exercises`` itself (the model
        solution, the reference wrappers).
        """
        if fn is None or not callable(fn):
            return self._result(NOT_ATTEMPTED, "Pass your function itself, e.g. check(my_function).")
        cases = list(self.cases())
        outcomes: list[Outcome] = []
        for kwargs in cases:
            outcomes.append(run_case(fn, kwargs, self.grad_args))
            if outcomes[-1].kind != "value":
                break
        return self.judge(fn, cases, outcomes, accept_package, strict)

    def judge(self, fn: Callable[..., Any], cases: Sequence[dict[str, Any]], outcomes: Sequence[Outcome],
              accept_package: bool | None = None, strict: bool = False) -> CheckResult:  # fmt: skip
        """The verdict on the ``outcomes`` of ``fn`` on ``cases`` (the first failure stops the run)."""
        accept = _switch(ACCEPT_PACKAGE_ENV) if accept_package is None else accept_package
        delegated = self._delegated(fn, outcomes, strict)
        if delegated and not accept:
            return self._result(
                FAILED,
                f"Your function uses the package's own answer, {', '.join(delegated)}: write the computation "
                "yourself (the package is what your function is checked against).",
                PACKAGE_FUNCTION,
            )
        n = len(cases)
        for i, (kwargs, outcome) in enumerate(zip(cases, outcomes, strict=False), start=1):
            where = f"\n  case:     {i} of {n}\n  inputs:   {_describe(kwargs)}"
            if outcome.kind == "blank":
                return self._result(
                    NOT_ATTEMPTED, "Replace `raise NotImplementedError` with your code, then run this cell again."
                )
            if outcome.kind == "raised":
                at = f"\n  where:    {outcome.where}" if outcome.where else ""
                return self._result(ERROR, f"Your function raised {outcome.error}{at}{where}")
            if outcome.kind == "none":
                if i == 1:
                    return self._result(NOT_ATTEMPTED, "Your function returned None: did you forget `return`?")
                return self._result(FAILED, f"Your function returned None.{where}")
            if outcome.kind == "not_numbers":
                message = f"Your function returned a {outcome.error}; expected numbers (a tensor or array)."
                return self._result(ERROR, message + where)
            if outcome.kind == "no_gradient":
                return self._result(
                    ERROR,
                    f"Your loss has no gradient (it is a {outcome.error} cut off from "
                    f"{' and '.join(self.grad_args)}): .item(), float(), .numpy() or torch.tensor(…) turn it into "
                    "plain numbers. Build it from the tensors with torch operations only, so that loss.backward() "
                    f"can train the policy.{where}",
                    NO_GRADIENT,
                )
            want = self._expected(self.reference, kwargs)
            got = outcome.value
            if self.grad_args and got.ndim == 0:
                got = got.reshape(1)
            if got.shape != want.shape:
                expected = "a single number (the loss)" if self.grad_args else f"shape {want.shape}"
                shown = got.shape if not self.grad_args else f"shape {got.shape}"
                return self._result(FAILED, f"Wrong shape: expected {expected}, got {shown}.{where}")
            if not np.isfinite(got).all() and np.isfinite(want).all():
                return self._result(FAILED, f"Your result contains NaN or inf: {self._show(got, kwargs)}.{where}")
            if not self._close(got, want):
                mistake = self._recognise(kwargs, got, want)
                detail = (f"\n  case:     {i} of {n}\n  expected: {self._show(want, kwargs)}\n"
                          f"  got:      {self._show(got, kwargs)}\n  inputs:   {_describe(kwargs)}")  # fmt: skip
                if mistake is not None:
                    return self._result(FAILED, f"{mistake.message}{detail}", mistake.name)
                return self._result(FAILED, f"Your result differs from the reference.{detail}")
        note = f" It uses {', '.join(delegated)}, accepted by the instructor's setting." if delegated else ""
        return self._result(PASSED, f"All {n} cases match the reference.{note}")

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
    return _switch(HIDE_SOLUTIONS_ENV)
