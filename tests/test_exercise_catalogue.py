"""Every registered exercise, whoever wrote it, behaves as the exercise contract promises.

For each exercise in ``pe.exercises.all_exercises()``:

* its solution and its reference pass, and its cases are several and seeded (the same twice);
* every classic mistake it claims to recognise is recognised *by name* when a learner hands in
  exactly that wrong answer, with its message in the feedback;
* a blank (``raise NotImplementedError``, or no ``return``) is "not attempted";
* an exception, a wrong shape, NaN or a non-numeric result gives feedback and never raises;
* hints exist, and ``solution()`` shows the source unless the instructor switch withholds it.

Per-notebook test files add hand-worked cases; this file guarantees the catalogue is complete.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import ppo_edu as pe
from ppo_edu.exercises._core import (
    ERROR,
    FAILED,
    HIDE_SOLUTIONS_ENV,
    NOT_ATTEMPTED,
    PACKAGE_FUNCTION,
    PASSED,
    _to_array,
)

EXERCISES = pe.exercises.all_exercises()
MISTAKES = [(ex, m) for ex in EXERCISES.values() for m in ex.mistakes]


def _ids(value):
    return getattr(value, "name", None)


#: Exercises answered with names (a diagnosis), not computed values: a wrong shape or a NaN cannot be
#: an answer, and the answer key is data (pe.lab.LAB_RUNS), so there is no package function to delegate to.
NAME_ANSWERS = {"lab_diagnosis"}


@pytest.fixture(params=list(EXERCISES.values()), ids=list(EXERCISES))
def exercise(request):
    return request.param


def test_catalogue_is_not_empty():
    assert "discounted_sum" in EXERCISES
    assert len(EXERCISES) >= 1


def _same(a, b) -> bool:
    a, b = _to_array(a), _to_array(b)
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def test_cases_are_several_and_seeded(exercise):
    first, second = list(exercise.cases()), list(exercise.cases())
    assert len(first) >= 3, f"{exercise.name}: expected at least 3 cases, got {len(first)}"
    for a, b in zip(first, second, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(a[key], torch.Tensor | np.ndarray):
                assert _same(a[key], b[key]), f"{exercise.name}: case argument {key!r} differs between two calls"
            else:
                assert a[key] == b[key]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solution_and_reference_pass(exercise, seed):
    # The cases are seeded by the exercise itself: the global seed must not matter.
    pe.seed_everything(seed)
    for fn in (exercise.solution_fn, exercise.reference):
        result = exercise.check(fn, accept_package=True)
        assert result.status == PASSED, f"{exercise.name}: {result}"
        assert result.mistake is None


def test_reference_is_the_package_not_the_solution(exercise):
    if exercise.name in NAME_ANSWERS:
        pytest.skip("answered with names, not values (NAME_ANSWERS)")
    # "solution and reference agree" must prove something: the reference is the package's tested
    # function (or a thin wrapper that calls one directly), never the model solution.
    assert exercise.reference is not exercise.solution_fn, f"{exercise.name}: reference is the solution"
    assert getattr(exercise.reference, "__code__", None) is not getattr(exercise.solution_fn, "__code__", None)
    called = exercise.package_functions()
    assert called, f"{exercise.name}: its reference calls no function of ppo_edu outside ppo_edu.exercises"
    assert all(not name.startswith("pe.exercises") for name in called), called


def test_package_function_as_the_answer_is_reported(exercise):
    if exercise.name in NAME_ANSWERS:
        pytest.skip("answered with names, not values (NAME_ANSWERS)")
    # Delegating to the package is reported by name; the instructor can accept it.
    direct = exercise.check(exercise.reference, strict=True)
    assert direct.status == FAILED and direct.mistake == PACKAGE_FUNCTION, direct

    def delegating(**kwargs):
        return exercise.reference(**kwargs)

    result = exercise.check(delegating, strict=True)  # the graders' setting
    assert result.status == FAILED and result.mistake == PACKAGE_FUNCTION, result
    assert exercise.check(delegating, strict=True, accept_package=True).status == PASSED
    code = exercise.reference.__code__
    if "exercises" not in code.co_filename:  # the reference is a package function itself: refused everywhere
        plain = exercise.check(exercise.reference)
        assert plain.mistake == PACKAGE_FUNCTION and exercise.package_functions()[0] in plain.message


@pytest.mark.parametrize(("ex", "mistake"), MISTAKES, ids=[f"{e.name}-{m.name}" for e, m in MISTAKES])
def test_each_classic_mistake_is_recognised_by_name(ex, mistake):
    result = ex.check(mistake.fn)
    assert result.status == FAILED, f"{ex.name}/{mistake.name}: {result}"
    assert result.mistake == mistake.name, (
        f"{ex.name}: feeding the wrong answer of mistake {mistake.name!r} was reported as {result.mistake!r} "
        f"({result.message}); make the cases tell the mistakes apart"
    )
    assert mistake.message in result.message


def test_mistake_names_are_unique_and_messages_given(exercise):
    names = [m.name for m in exercise.mistakes]
    assert len(names) == len(set(names)), f"{exercise.name}: duplicate mistake names {names}"
    for m in exercise.mistakes:
        assert m.message.strip(), f"{exercise.name}/{m.name}: empty message"


def test_blank_is_not_attempted(exercise):
    def blank(**kwargs):
        raise NotImplementedError

    def forgot_return(**kwargs):
        pass

    for fn in (blank, forgot_return, None):
        result = exercise.check(fn)
        assert result.status == NOT_ATTEMPTED, f"{exercise.name}: {result}"
        assert not result


def test_exception_gives_feedback(exercise):
    def broken(**kwargs):
        return 1 / 0

    result = exercise.check(broken)
    assert result.status == ERROR
    assert "ZeroDivisionError" in result.message and re.search(r"\bcase:\s+1 of \d", result.message)
    assert "line " in result.message and "1 / 0" in result.message  # the learner's own line


def test_wrong_shape_gives_feedback(exercise):
    if exercise.name in NAME_ANSWERS:
        pytest.skip("answered with names, not values (NAME_ANSWERS)")
    def too_long(**kwargs):
        right = _to_array(exercise.reference(**kwargs))
        return np.concatenate([right.ravel(), [0.0]])

    result = exercise.check(too_long, accept_package=True)
    assert result.status == FAILED
    assert "shape" in result.message


def test_nan_gives_feedback(exercise):
    if exercise.name in NAME_ANSWERS:
        pytest.skip("answered with names, not values (NAME_ANSWERS)")
    def nans(**kwargs):
        return np.full(_to_array(exercise.reference(**kwargs)).shape, np.nan)

    result = exercise.check(nans, accept_package=True)
    assert result.status == FAILED
    want = _to_array(exercise.reference(**exercise.cases()[0]))
    if np.isfinite(want).all():
        assert "NaN" in result.message


def test_non_numeric_result_gives_feedback(exercise):
    result = exercise.check(lambda **kwargs: "forty-two")
    assert result.status == ERROR
    assert "str" in result.message


def test_hints_and_solution_switch(exercise, monkeypatch):
    assert exercise.title.strip()
    assert len(exercise.hints) >= 1, f"{exercise.name}: give at least one hint"
    assert exercise.hint(1).startswith("Hint 1/")
    monkeypatch.delenv(HIDE_SOLUTIONS_ENV, raising=False)
    shown = exercise.solution()
    assert "def " in shown or "lambda" in shown
    monkeypatch.setenv(HIDE_SOLUTIONS_ENV, "1")
    withheld = exercise.solution()
    assert "withheld" in withheld and shown not in withheld
