"""Notebook 11's exercises: the lab diagnosis (dict or function, every wrong name explained) and steps-to-475."""

import numpy as np
import pytest

import ppo_edu as pe
from ppo_edu.exercises import nb11_ppo_in_practice as nb11

RIGHT = dict(pe.lab.LAB_RUNS)
WRONG = [(run, bug) for run, true in RIGHT.items() for bug in nb11.CHOICES if bug != true]


def test_right_diagnosis_passes_as_dict_and_as_function():
    ex = pe.exercises.lab_diagnosis
    assert ex.check(RIGHT).passed
    assert ex.check(nb11.diagnosis_solution).passed
    assert ex.check(lambda run: RIGHT[run]).passed


@pytest.mark.parametrize(("run", "bug"), WRONG, ids=[f"{r}-{b}" for r, b in WRONG])
def test_each_wrong_name_is_explained(run, bug):
    answer = {**RIGHT, run: bug}  # exactly that wrong answer, every other run right
    result = pe.exercises.lab_diagnosis.check(answer)
    assert result.status == "failed"
    assert result.mistake == f"{run.replace(' ', '_')}_is_not_{bug}"
    assert f"{run} is not `{bug}`" in result.message


def test_every_wrong_pair_has_a_mistake():
    names = {m.name for m in pe.exercises.lab_diagnosis.mistakes}
    assert len(names) == len(WRONG) == len(RIGHT) * (len(nb11.CHOICES) - 1)


def test_unknown_name_missing_run_and_empty_dict_give_feedback():
    ex = pe.exercises.lab_diagnosis
    r = ex.check({**RIGHT, "run A": "entropy"})
    assert r.status == "error" and "'entropy'" in r.message and "run A" in r.message
    missing = dict(RIGHT)
    missing.pop("run D")
    r = ex.check(missing)
    assert r.status == "failed" and "None" in r.message
    assert ex.check({}).status == "not attempted"
    assert ex.check(None).status == "not attempted"


def test_steps_to_475_hand_worked():
    steps = np.array([1000, 2000, 3000, 4000, 5000])
    nan = np.nan
    r = np.array([[10, 480, 300, 475, 500],      # dip at 3000, then ≥ 475 from 4000 on
                  [10, 480, nan, 490, nan],      # NaNs neither break nor start: 2000
                  [480, 490, 500, 500, 470],     # last finite below: never
                  [nan, nan, nan, nan, nan],     # no episode ended: never
                  [10, 20, 30, 40, nan]])        # never
    want = [4000, 2000, np.inf, np.inf, np.inf]
    np.testing.assert_array_equal(pe.ablations.steps_to_threshold(steps, r), want)
    np.testing.assert_array_equal(nb11.steps_solution(steps, r, 475.0), want)
    assert pe.ablations.steps_to_threshold(steps, r[0]) == 4000  # one seed (K,) → ()


def test_steps_to_475_mistakes_named():
    ex = pe.exercises.steps_to_475
    assert ex.check(nb11.steps_solution).passed
    for m in ex.mistakes:
        result = ex.check(m.fn)
        assert result.status == "failed" and result.mistake == m.name, (m.name, result)
