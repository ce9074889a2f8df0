"""The batched torch CartPole against gymnasium's CartPole-v1, step by step."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import ppo_edu as pe
from ppo_edu.envs import GymVectorCartPole, TorchCartPole, cartpole_dynamics


def _balancer(state: np.ndarray) -> int:
    """A hand-made controller that keeps the pole up for 500 steps (to reach truncation)."""
    x, x_dot, theta, theta_dot = state
    return int(theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot > 0)


def _lock_step(dtype: torch.dtype, resync_every_step: bool, n_envs: int, n_steps: int, max_steps: int = 500):
    """Step TorchCartPole beside n_envs gymnasium CartPole-v1 from identical states.

    Half the envs act at random, half use the balancer (so episodes also end by truncation).
    Returns counts of (steps, terminations, truncations) for the caller to check coverage.
    """
    rng = np.random.default_rng(0)
    gyms = [gym.make("CartPole-v1", max_episode_steps=max_steps) for _ in range(n_envs)]
    for i, g in enumerate(gyms):
        g.reset(seed=i)
    env = TorchCartPole(n_envs, dtype=dtype, max_episode_steps=max_steps, seed=123)
    env.reset()
    env.set_state(np.stack([g.unwrapped.state for g in gyms]))
    counts = np.zeros(3, dtype=int)
    for _ in range(n_steps):
        states = np.stack([g.unwrapped.state for g in gyms])
        if resync_every_step:
            env.set_state(states)
        actions = np.array([rng.integers(2) if i % 2 == 0 else _balancer(s) for i, s in enumerate(states)])
        obs, reward, term, trunc, info = env.step(torch.as_tensor(actions))
        g_obs, g_term, g_trunc = [], [], []
        for g, a in zip(gyms, actions, strict=False):
            o, r, te, tr, _ = g.step(int(a))
            assert r == 1.0
            g_obs.append(o)
            g_term.append(te)
            g_trunc.append(tr)
        g_obs, g_term, g_trunc = np.stack(g_obs), np.array(g_term), np.array(g_trunc)
        np.testing.assert_array_equal(term.numpy(), g_term)
        np.testing.assert_array_equal(trunc.numpy(), g_trunc)
        np.testing.assert_array_equal(reward.numpy(), np.ones(n_envs, dtype=np.float32))
        done = g_term | g_trunc
        np.testing.assert_array_equal(info["_final_obs"].numpy(), done)
        # the final observation of finished episodes, the running observation of the others
        np.testing.assert_allclose(info["final_obs"].numpy(), g_obs, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(obs.numpy()[~done], g_obs[~done], rtol=1e-5, atol=1e-6)
        # finished episodes: torch reset itself (states in (-0.05, 0.05)); copy gymnasium's reset state
        assert bool((obs[torch.as_tensor(done)].abs() < 0.05).all())
        for i in np.flatnonzero(done):
            gyms[i].reset(seed=int(rng.integers(1 << 30)))
        env.set_state(np.stack([g.unwrapped.state for g in gyms]), mask=torch.as_tensor(done))
        counts += (n_envs, g_term.sum(), g_trunc.sum())
    return counts


def test_lock_step_float64_free_running_10k_steps():
    """float64 state (as gymnasium keeps it), never resynchronised except at resets."""
    counts = _lock_step(torch.float64, resync_every_step=False, n_envs=16, n_steps=700)
    assert counts[0] >= 10_000
    assert counts[1] >= 100 and counts[2] >= 8  # many terminations and several 500-step truncations


def test_lock_step_float32_state_10k_steps():
    """float32 state (the fast default) from gymnasium's state at every step: obs to float32 tolerance."""
    counts = _lock_step(torch.float32, resync_every_step=True, n_envs=16, n_steps=700)
    assert counts[0] >= 10_000 and counts[1] >= 100 and counts[2] >= 8


def test_time_limit_sets_both_flags_like_gymnasium():
    """A short time limit: truncated exactly at step max_episode_steps, even on a terminating step."""
    counts = _lock_step(torch.float64, resync_every_step=False, n_envs=6, n_steps=300, max_steps=7)
    assert counts[2] > 100


def test_dynamics_hand_worked_step():
    """From rest with θ = 0 and F = +10 N: c = 10/1.1, θ̈ = −c / (0.5 (4/3 − 0.1/1.1)), ẍ = c − 0.05 θ̈ / 1.1."""
    c = 10.0 / 1.1
    theta_acc = -c / (0.5 * (4.0 / 3.0 - 0.1 / 1.1))
    x_acc = c - 0.05 * theta_acc / 1.1
    out = cartpole_dynamics(torch.zeros(1, 4, dtype=torch.float64), torch.tensor([1]))
    np.testing.assert_allclose(out[0].numpy(), [0.0, 0.02 * x_acc, 0.0, 0.02 * theta_acc], rtol=1e-12)
    # pushing left mirrors it
    left = cartpole_dynamics(torch.zeros(1, 4, dtype=torch.float64), torch.tensor([0]))
    np.testing.assert_allclose(left.numpy(), -out.numpy(), rtol=1e-12)


def test_thresholds_terminate_exactly_past_the_limits():
    env = TorchCartPole(4, dtype=torch.float64)
    env.reset()
    th = 12 * 2 * math.pi / 360
    # θ̇ carries θ across the threshold in one step (τ = 0.02): 0.02·θ̇ = 0.001
    env.set_state([[0, 0, th - 0.002, 0.05], [0, 0, th - 0.0005, 0.05], [2.39, 1.0, 0, 0], [-2.39, -1.0, 0, 0]])
    _, _, term, trunc, _ = env.step(torch.tensor([1, 1, 1, 0]))
    assert term.tolist() == [False, True, True, True]
    assert not trunc.any()


def test_reset_states_uniform_and_seeded():
    env = TorchCartPole(5000, seed=3)
    obs, _ = env.reset()
    assert obs.shape == (5000, 4) and obs.dtype == torch.float32
    assert float(obs.abs().max()) < 0.05
    assert abs(float(obs.mean())) < 0.002 and abs(float(obs.var()) - 0.1**2 / 12) < 1e-4
    again, _ = TorchCartPole(5000, seed=3).reset()
    torch.testing.assert_close(obs, again, rtol=0, atol=0)


def test_state_dict_round_trip_continues_identically():
    a = TorchCartPole(8, seed=1)
    a.reset()
    acts = torch.randint(0, 2, (40, 8), generator=torch.Generator().manual_seed(0))
    for t in range(20):
        a.step(acts[t])
    b = TorchCartPole(8, seed=99)
    b.load_state_dict(a.state_dict())
    for t in range(20, 40):
        oa, *_ = a.step(acts[t])
        ob, *_ = b.step(acts[t])
        torch.testing.assert_close(oa, ob, rtol=0, atol=0)


def test_gym_vector_adapter_same_step_final_obs():
    """gymnasium's vector env (SAME_STEP autoreset) through the adapter: the final observation of a
    finished episode is one physics step from the previous observation, and the returned obs restarts."""
    env = GymVectorCartPole(4, seed=0)
    obs, _ = env.reset()
    rng = np.random.default_rng(1)
    n_done = 0
    for _ in range(200):
        a = torch.as_tensor(rng.integers(0, 2, 4))
        prev = obs.clone()
        obs, reward, term, trunc, info = env.step(a)
        expected = cartpole_dynamics(prev.double(), a).float()
        torch.testing.assert_close(info["final_obs"], expected, rtol=1e-4, atol=1e-4)
        done = info["_final_obs"]
        assert torch.equal(done, term | trunc)
        if done.any():
            assert bool((obs[done].abs() < 0.05).all())
            assert bool((info["episode_length"][done] >= 8).all())
            n_done += int(done.sum())
    assert n_done > 10
    env.close()


def test_spaces_match_gymnasium():
    ref = gym.make("CartPole-v1")
    env = TorchCartPole(3)
    assert env.single_observation_space == ref.observation_space
    assert env.single_action_space == ref.action_space
    assert env.observation_space.shape == (3, 4) and env.action_space.shape == (3,)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="num_envs"):
        TorchCartPole(0)
    with pytest.raises(ValueError, match="dtype"):
        TorchCartPole(2, dtype=torch.int32)
    env = TorchCartPole(3)
    env.reset()
    with pytest.raises(ValueError, match=r"actions: expected shape \(3,\)"):
        env.step(torch.zeros(4, dtype=torch.int64))
    with pytest.raises(ValueError, match="state"):
        env.set_state(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="backend"):
        pe.envs.make_cartpole(2, backend="jax")


@pytest.mark.parametrize("actions, message, gym_action", [
    (torch.tensor([0, 2]), r"expected 0 \(push left\) or 1 \(push right\), got values such as \[2\]", 2),
    (torch.tensor([-1, 1]), r"got values such as \[-1\]", -1),
    (torch.tensor([0.5, 1.0]), "expected integers 0 .* got dtype torch.float32", 0.5),
    (torch.tensor([True, False]), "got dtype torch.bool", None),
])
def test_torch_cartpole_rejects_actions_outside_the_space_like_gymnasium(actions, message, gym_action):
    env = TorchCartPole(2, seed=0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(actions)
    if gym_action is not None:
        gym_env = gym.make("CartPole-v1")
        gym_env.reset(seed=0)
        with pytest.raises((AssertionError, ValueError)):  # gymnasium refuses the same action
            gym_env.step(gym_action)
    env.step(torch.tensor([0, 1]))  # the valid actions still work afterwards
