"""Notebook 09's exercise checkers: solutions pass, blanks are "not attempted", each classic mistake is named."""

import pytest

import ppo_edu as pe
from ppo_edu.exercises import nb09_rlhf_ppo as nb09

EXERCISES = [nb09.response_mask, nb09.per_token_rewards, nb09.rloo_advantages, nb09.k3_estimator, nb09.adaptive_kl_update]


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
    assert {"score_on_first_token", "padding_rewarded", "kl_sign", "score_at_length_minus_one"} <= names
    assert {"includes_prompt", "includes_padding", "eos_dropped"} <= {m.name for m in nb09.response_mask.mistakes}


def test_cases_have_prompts_early_eos_and_unfinished_responses():
    for ex in (nb09.response_mask, nb09.per_token_rewards):
        for kwargs in ex.cases():
            m = kwargs.get("mask", kwargs.get("attention_mask"))
            assert not bool(m[:, 0].all()), "some row is left-padded"
        rows = nb09._rows_cases(29)
        lengths = [int(r.responses_mask.sum(1).min()) for r in rows]
        assert min(lengths) == 1  # a response that is only its EOS
        assert any(not bool(r.ended.all()) for r in rows) and all(bool(r.ended.any()) for r in rows)
        assert all(bool((r.response_mask & ~r.attention_mask).sum() == 0) for r in rows)
        assert all(int(r.response_mask[:, : pe.toy_lm.PROMPT_WIDTH].sum()) == 0 for r in rows)


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
