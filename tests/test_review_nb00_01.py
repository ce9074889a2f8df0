"""Review fixes of notebooks 00 and 01: Exercise 1.3 (the REINFORCE pseudo-loss) is compared by value
and gradient, so a loss without gradient and the classic divisions are rejected; the exercises of
both notebooks are numbered in reading order."""

import re
from pathlib import Path

import pytest
import torch

import ppo_edu as pe
from ppo_edu.exercises import nb01_policy_gradient
from ppo_edu.exercises._core import NO_GRADIENT

SRC = Path(__file__).resolve().parents[1] / "notebooks" / "src"
EX = pe.exercises.reinforce_loss


def _per_episode(log_probs, mask):
    return (log_probs * mask).sum(dim=0)


def test_reinforce_loss_is_a_loss_exercise_on_log_probs():
    assert EX.grad_args == ("log_probs",)
    assert EX.check(nb01_policy_gradient.loss_solution).passed


@pytest.mark.parametrize("loss", [
    lambda log_probs, returns, mask: -(returns * _per_episode(log_probs, mask)).sum().item() / log_probs.shape[1],
    lambda log_probs, returns, mask: float(-(returns * _per_episode(log_probs, mask)).sum() / log_probs.shape[1]),
    lambda log_probs, returns, mask: (-(returns * _per_episode(log_probs, mask)).sum() / log_probs.shape[1]).detach(),
    lambda log_probs, returns, mask: torch.tensor((-(returns * _per_episode(log_probs, mask)).sum()
                                                   / log_probs.shape[1]).item()),
], ids=["item", "float", "detach", "torch.tensor"])
@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")
def test_a_loss_without_gradient_is_rejected_with_its_reason(loss):
    result = EX.check(loss)
    assert not result.passed and result.status == "error" and result.mistake == NO_GRADIENT, result
    assert "no gradient" in result.message


def test_dividing_by_T_is_recognised():
    result = EX.check(lambda log_probs, returns, mask: -(returns * _per_episode(log_probs, mask)).sum()
                      / log_probs.shape[0])
    assert result.status == "failed" and result.mistake == "divided_by_T", result
    assert "log_probs.shape[1]" in result.message and "∂loss/∂log_probs" in result.message


def test_mean_of_all_entries_is_recognised():
    result = EX.check(lambda log_probs, returns, mask: -(returns * log_probs * mask).mean())
    assert result.status == "failed" and result.mistake == "mean_of_all_entries", result


def test_the_cases_tell_T_N_and_the_number_of_steps_apart():
    """Otherwise dividing by T, by N·T or by the real steps could pass by coincidence."""
    for case in EX.cases():
        T, N = case["log_probs"].shape
        assert len({T, N, T * N, int(case["mask"].sum())}) == 4


@pytest.mark.parametrize("stem, number", [("00_start_here", "0"), ("01_policy_gradient", "1")])
def test_exercises_are_numbered_in_reading_order(stem, number):
    text = (SRC / f"{stem}.py").read_text()
    first = []
    for n in re.findall(rf"\*\*Exercise {number}\.(\d+)", text):
        if int(n) not in first:
            first.append(int(n))
    assert first == list(range(1, len(first) + 1)), first
