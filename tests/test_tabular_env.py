"""The hand-steppable tabular environment: its transitions follow P and r, episodes end as they should."""

import pytest
import torch

import ppo_edu as pe


def test_always_right_walks_to_the_goal_without_slips():
    env = pe.tabular_env.TabularEnv(pe.toy_mdps.corridor(slip=0.0), seed=0)
    assert env.reset() == 0
    assert env.step("right") == (1, -0.1, False, False)
    assert env.step(1) == (2, -0.1, False, False)
    assert env.step("right") == (None, 1.0, True, False)
    with pytest.raises(ValueError, match="reset"):
        env.step("right")


def test_left_from_the_first_cell_is_a_dead_end():
    env = pe.tabular_env.TabularEnv(pe.toy_mdps.corridor(), seed=1)
    env.reset()
    assert env.step("left") == (None, -0.1, True, False)


def test_transition_frequencies_match_P():
    mdp = pe.toy_mdps.corridor(slip=0.3)
    env = pe.tabular_env.TabularEnv(mdp, seed=2, max_steps=10_000)
    stays = 0
    n = 4000
    for _ in range(n):
        env.state = 1  # put the agent in cell 1 and try to move right
        s_next, r, terminated, truncated = env.step("right")
        stays += s_next == 1
        assert r == -0.1 and not terminated
    assert abs(stays / n - 0.3) < 4 * (0.3 * 0.7 / n) ** 0.5


def test_time_limit_truncates():
    env = pe.tabular_env.TabularEnv(pe.toy_mdps.corridor(n_states=5, slip=0.9), seed=0, max_steps=2)
    env.reset()
    env.step("right")
    s_next, _, terminated, truncated = env.step("right")
    assert truncated and not terminated and s_next is not None and env.state is None


def test_run_episode_and_returns_average_to_V():
    mdp = pe.toy_mdps.corridor()
    env = pe.tabular_env.TabularEnv(mdp, seed=3)
    pi = torch.full((3, 2), 0.5, dtype=torch.float64)
    returns = []
    for _ in range(3000):
        steps = pe.tabular_env.run_episode(env, pi)
        returns.append(sum(mdp.gamma**t * r for t, (_, _, r) in enumerate(steps)))
        assert steps[0][0] == 0
    mean, se = torch.tensor(returns).mean(), torch.tensor(returns).std() / len(returns) ** 0.5
    assert abs(float(mean) - float(pe.toy_mdps.state_values(mdp, pi)[0])) < 4 * float(se)


def test_bad_inputs_raise():
    mdp = pe.toy_mdps.corridor()
    with pytest.raises(ValueError, match="mdp"):
        pe.tabular_env.TabularEnv("corridor")
    with pytest.raises(ValueError, match="max_steps"):
        pe.tabular_env.TabularEnv(mdp, max_steps=0)
    env = pe.tabular_env.TabularEnv(mdp)
    env.reset()
    with pytest.raises(ValueError, match="action"):
        env.step("up")
    with pytest.raises(ValueError, match="action"):
        env.step(2)
    with pytest.raises(ValueError, match="policy"):
        pe.tabular_env.run_episode(env, torch.ones(2, 2))
