"""Notebook 09's exercise checkers: solutions pass, blanks are "not attempted", each classic mistake is named."""

import pytest

import ppo_edu as pe
from ppo_edu.exercises import nb09_rlhf_ppo as nb09

EXERCISES = [nb09.per_token_rewards, nb09.k3_estimator, nb09.adaptive_kl_update]


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_solution_passes_and_is_registered(ex):
    assert getattr(pe.exercises, ex.name) is ex
    result = ex.check(ex.solution_fn)
    assert result.passed, result


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.name)
def test_blank_is_not_attempted(ex):
    def blank(**kwargs):
        raise NotImplementedError

    assert ex.check(blank).status == "not attempted"


@pytest.mark.parametrize(
    "ex, mistake",
    [(ex, m) for ex in EXERCISES for m in ex.mistakes],
    ids=lambda v: getattr(v, "name", ""),
)
def test_each_mistake_is_recognised(ex, mistake):
    result = ex.check(mistake.fn)
    assert not result.passed
    assert result.mistake == mistake.name, result


def test_the_named_mistakes_of_the_issue_exist():
    names = {m.name for m in nb09.per_token_rewards.mistakes}
    assert {"score_on_first_token", "padding_rewarded", "kl_sign"} <= names


def test_every_mistake_differs_from_the_reference_on_some_case():
    import numpy as np

    for ex in EXERCISES:
        for m in ex.mistakes:
            differs = False
            for kwargs in ex.cases():
                want = np.asarray(ex.reference(**kwargs), dtype=float)
                wrong = np.asarray(m.fn(**kwargs), dtype=float)
                differs |= not np.allclose(want, wrong)
            assert differs, (ex.name, m.name)


def test_student_error_becomes_feedback():
    def broken(scores, logp, logp_ref, mask, beta):
        return logp[:, :1]

    result = nb09.per_token_rewards.check(broken)
    assert result.status == "failed" and "shape" in result.message
