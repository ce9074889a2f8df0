"""Notebook 10's exercises: hand-worked cases, each classic mistake recognised, blanks not attempted."""

import math

import torch

import ppo_edu as pe
from ppo_edu.exercises import nb10_cartpole_gpu as nb10


def test_termination_rule_hand_worked():
    th = 12 * 2 * math.pi / 360
    s = torch.tensor(
        [[2.4, 0, 0, 0], [2.4000001, 0, 0, 0], [0, 0, th, 0], [0, 0, -th - 1e-9, 0], [-1, 5, 0.2, 9]], dtype=torch.float64
    )
    assert pe.envs.is_terminated(s).tolist() == [False, True, False, True, False]


def test_per_seed_normalisation_hand_worked():
    a = torch.tensor([[1.0, 3.0], [10.0, 30.0]], dtype=torch.float64)  # each row: mean m, std √2·(d/2)
    out = pe.train.normalize_per_member(a)
    r = 1 / math.sqrt(2)
    torch.testing.assert_close(out, torch.tensor([[-r, r], [-r, r]], dtype=torch.float64), atol=1e-7, rtol=0)


def test_solutions_pass_and_mistakes_are_named():
    for ex, solution in ((pe.exercises.cartpole_terminated, nb10.termination_solution),
                         (pe.exercises.normalize_per_seed, nb10.population_solution)):  # fmt: skip
        assert ex.check(solution).passed
        for m in ex.mistakes:
            result = ex.check(m.fn)
            assert result.status == "failed" and result.mistake == m.name


def test_blank_is_not_attempted():
    def blank(states):
        raise NotImplementedError

    assert pe.exercises.cartpole_terminated.check(blank).status == "not attempted"
    assert pe.exercises.normalize_per_seed.check(lambda advantages: None).status == "not attempted"
