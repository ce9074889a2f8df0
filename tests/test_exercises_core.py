"""The exercise machinery: every outcome a learner can produce, and notebook 00's checker."""

import pytest
import torch

import ppo_edu as pe
from ppo_edu.exercises import Exercise, Mistake

EX = pe.exercises.discounted_sum


def correct(rewards, gamma):
    return sum(gamma**t * rewards[t] for t in range(len(rewards)))


def test_correct_answer_passes():
    res = EX.check(correct)
    assert res.passed and bool(res) and res.status == "passed"
    assert "All 5 cases" in repr(res)


def test_solution_passes():
    assert EX.check(EX.solution_fn).passed


@pytest.mark.parametrize("mistake", [m.name for m in EX.mistakes])
def test_each_classic_mistake_is_named(mistake):
    wrong = next(m for m in EX.mistakes if m.name == mistake).fn
    res = EX.check(wrong)
    assert res.status == "failed" and res.mistake == mistake
    assert next(m.message for m in EX.mistakes if m.name == mistake) in res.message
    assert "expected" in res.message and "got" in res.message


def test_blank_is_not_attempted():
    def blank(rewards, gamma):
        raise NotImplementedError

    res = EX.check(blank)
    assert res.status == "not attempted" and not res
    assert EX.check(lambda rewards, gamma: None).status == "not attempted"
    assert EX.check(None).status == "not attempted"


def test_student_exception_becomes_feedback():
    def broken(rewards, gamma):
        return rewards[100]

    res = EX.check(broken)
    assert res.status == "error"
    assert "IndexError" in res.message and "case:     1 of 5" in res.message
    # The learner's own line, not a frame inside torch.
    assert "of `broken`: `return rewards[100]`" in res.message


def test_wrong_shape_and_nan_are_feedback():
    res = EX.check(lambda rewards, gamma: rewards * gamma)
    assert res.status == "failed" and "expected shape ()" in res.message
    res = EX.check(lambda rewards, gamma: torch.tensor(float("nan")))
    assert res.status == "failed" and "NaN" in res.message
    res = EX.check(lambda rewards, gamma: "seven")
    assert res.status == "error" and "expected numbers" in res.message


def test_unrecognised_wrong_answer_still_reports_expected_and_got():
    res = EX.check(lambda rewards, gamma: rewards.sum() + 1.0)
    assert res.status == "failed" and res.mistake is None
    assert "\n  case:     1 of 5\n  expected: [1.5]\n  got:      [4.0]\n  inputs:   rewards: shape (3,)" in res.message


def test_inputs_are_not_shared_with_the_student():
    def mutating(rewards, gamma):
        rewards.zero_()
        return torch.tensor(0.0)

    EX.check(mutating)
    assert EX.check(correct).passed  # the cases were not damaged


def test_hints_progress_and_solution_switch(monkeypatch):
    ex = Exercise("tmp_ex", "t", lambda x: x, lambda: [{"x": torch.ones(2)}], correct, hints=("one", "two"))
    assert ex.hint() == "Hint 1/2: one"
    assert ex.hint() == "Hint 2/2: two"
    assert ex.hint() == "Hint 2/2: two"
    assert "3" not in ex.hint(3) or "ask for 1 to 2" in ex.hint(3)
    monkeypatch.delenv("PPO_EDU_HIDE_SOLUTIONS", raising=False)
    assert "def correct" in ex.solution()
    monkeypatch.setenv("PPO_EDU_HIDE_SOLUTIONS", "1")
    assert "withheld" in ex.solution()


def test_a_mistake_equal_to_the_reference_is_never_blamed():
    ex = Exercise("tmp2", "t", lambda x: x * 2, lambda: [{"x": torch.ones(2)}], lambda x: x * 2,
                  mistakes=(Mistake("same", "never shown", lambda x: x * 2),))
    res = ex.check(lambda x: x * 3)
    assert res.status == "failed" and res.mistake is None


def test_registry_has_the_demo():
    assert pe.exercises.all_exercises()["discounted_sum"] is EX
