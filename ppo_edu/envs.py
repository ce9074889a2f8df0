"""Batched CartPole in torch, and gymnasium's CartPole-v1 behind the same interface.

:class:`TorchCartPole` steps N cart-poles at once as tensors on any device, with the physics,
thresholds, rewards and 500-step time limit of gymnasium's CartPole-v1 (Euler integration,
τ = 0.02 s). With the state s = (x, ẋ, θ, θ̇) and force F = ±10 N:

    c = (F + m_p l θ̇² sin θ) / (m_c + m_p)
    θ̈ = (g sin θ − c cos θ) / (l (4/3 − m_p cos²θ / (m_c + m_p)))                      (10.1)
    ẍ = c − m_p l θ̈ cos θ / (m_c + m_p)
    s ← s + τ (ẋ, ẍ, θ̇, θ̈)

An episode **terminates** when |x| > 2.4 or |θ| > 12° and is **truncated** after 500 steps
(gymnasium's ``TimeLimit``: both flags can be true on the same step). Reward is 1 per step,
including the last.

Like gymnasium's vector environments with ``autoreset_mode=SAME_STEP``, a finished environment
is reset inside the same ``step`` call: the returned observation is the first of the new
episode, and ``info["final_obs"]`` holds the real final observation (valid where
``info["_final_obs"]`` is True) so that a truncated episode can bootstrap from V(final obs).

:class:`GymVectorCartPole` wraps ``gymnasium.make_vec("CartPole-v1", ...)`` (SAME_STEP) so that
it returns the same tensors: the trainer collects rollouts from either.

Shapes: N environments, O = 4 observation entries; actions (N,) in {0, 1}.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .validate import check_int, values_checked

Tensor = torch.Tensor

GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_CART + MASS_POLE
HALF_LENGTH = 0.5
POLEMASS_LENGTH = MASS_POLE * HALF_LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_THRESHOLD = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4
MAX_EPISODE_STEPS = 500
OBS_DIM = 4
N_ACTIONS = 2


def cartpole_dynamics(state: Tensor, action: Tensor) -> Tensor:
    """One Euler step of eq. (10.1) for a batch of states.

    Shapes:
        state (N, 4);  action (N,) in {0, 1};  result (N, 4), same dtype as ``state``.
    """
    x, x_dot, theta, theta_dot = state.unbind(-1)
    force = torch.where(action.bool(), FORCE_MAG, -FORCE_MAG).to(state.dtype)
    cos, sin = torch.cos(theta), torch.sin(theta)
    temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sin) / TOTAL_MASS  # gymnasium's rounding order
    theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * (cos * cos) / TOTAL_MASS))
    x_acc = temp - POLEMASS_LENGTH * theta_acc * cos / TOTAL_MASS
    return state + TAU * torch.stack((x_dot, x_acc, theta_dot, theta_acc), dim=-1)  # Euler: s + τ·ds/dt


def is_terminated(state: Tensor) -> Tensor:
    """True where the cart left the track (|x| > 2.4) or the pole fell (|θ| > 12°, in radians).

    Shapes: state (..., 4) → (...) bool.
    """
    return (state[..., 0].abs() > X_THRESHOLD) | (state[..., 2].abs() > THETA_THRESHOLD)


def _spaces(num_envs: int | None = None):
    """gymnasium's CartPole-v1 observation and action spaces (batched for ``num_envs``)."""
    from gymnasium import spaces
    from gymnasium.vector.utils import batch_space

    high = np.array([X_THRESHOLD * 2, np.inf, THETA_THRESHOLD * 2, np.inf], dtype=np.float32)
    obs, act = spaces.Box(-high, high, dtype=np.float32), spaces.Discrete(N_ACTIONS)
    return (obs, act) if num_envs is None else (batch_space(obs, num_envs), batch_space(act, num_envs))


class TorchCartPole:
    """N CartPole-v1 environments as tensors on ``device`` (gymnasium ``VectorEnv`` API, SAME_STEP autoreset).

    Args:
        num_envs: N.  device: where the state lives ("cpu", "cuda", ...).
        dtype: dtype of the internal state; float32 (fast, the default) or float64 (gymnasium
            keeps float64 internally). Observations are always float32.
        max_episode_steps: time limit (500 for CartPole-v1).
        seed: seed of the environment's own generator (reset states).

    ``step`` returns ``(obs, reward, terminated, truncated, info)`` with ``info`` =
    ``{"final_obs": (N, 4) tensor, "_final_obs": (N,) bool, "episode_return": (N,),
    "episode_length": (N,)}``; the last two are the finished episodes' return/length where
    ``_final_obs`` is True.
    """

    metadata = {"autoreset_mode": "SameStep"}

    def __init__(
        self,
        num_envs: int,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        max_episode_steps: int = MAX_EPISODE_STEPS,
        seed: int | None = None,
    ):
        self.num_envs = check_int("num_envs", num_envs)
        self.max_episode_steps = check_int("max_episode_steps", max_episode_steps)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype: expected torch.float32 or torch.float64, got {dtype!r}")
        self.device, self.dtype = torch.device(device), dtype
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(0 if seed is None else int(seed))
        self.state = torch.zeros(self.num_envs, OBS_DIM, device=self.device, dtype=dtype)
        self.steps = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        self.returns = torch.zeros(self.num_envs, device=self.device)
        self.single_observation_shape, self.n_actions = (OBS_DIM,), N_ACTIONS
        self.single_observation_space, self.single_action_space = _spaces()
        self.observation_space, self.action_space = _spaces(self.num_envs)

    def _random_states(self, n: int) -> Tensor:
        u = torch.rand(n, OBS_DIM, generator=self.generator, device=self.device, dtype=self.dtype)
        return u * 0.1 - 0.05

    def reset(self, seed: int | None = None) -> tuple[Tensor, dict]:
        """Start every environment anew at a uniform state in (−0.05, 0.05)⁴. Shapes: obs (N, 4)."""
        if seed is not None:
            self.generator.manual_seed(int(seed))
        self.state = self._random_states(self.num_envs)
        self.steps.zero_()
        self.returns.zero_()
        return self.state.float(), {}

    def set_state(self, state: Any, mask: Any | None = None) -> None:
        """Overwrite the (x, ẋ, θ, θ̇) of every environment, or of those where ``mask`` is True.

        Shapes: state (N, 4);  mask (N,) bool.
        """
        s = torch.as_tensor(np.asarray(state) if not isinstance(state, Tensor) else state)
        s = s.to(device=self.device, dtype=self.dtype)
        if tuple(s.shape) != (self.num_envs, OBS_DIM):
            raise ValueError(f"state: expected shape ({self.num_envs}, {OBS_DIM}), got {tuple(s.shape)}")
        if mask is None:
            self.state = s.clone()
        else:
            m = torch.as_tensor(mask, device=self.device).bool()
            self.state = torch.where(m.unsqueeze(-1), s, self.state)

    def step(self, actions: Any) -> tuple[Tensor, Tensor, Tensor, Tensor, dict]:
        """Advance every environment by one step; finished ones restart in the same call.

        Shapes:
            actions (N,);  obs (N, 4) float32;  reward (N,) float32;  terminated, truncated (N,) bool.
        """
        a = torch.as_tensor(actions, device=self.device)
        if tuple(a.shape) != (self.num_envs,):
            raise ValueError(f"actions: expected shape ({self.num_envs},), got {tuple(a.shape)}")
        if a.dtype == torch.bool or a.is_floating_point() or a.is_complex():
            raise ValueError(f"actions: expected integers 0 (push left) or 1 (push right), got dtype {a.dtype}")
        if values_checked() and not bool(((a == 0) | (a == 1)).all()):  # the trainer's own actions skip this sync
            bad = a[(a != 0) & (a != 1)][:3].tolist()
            raise ValueError(f"actions: expected 0 (push left) or 1 (push right), got values such as {bad}")
        state = cartpole_dynamics(self.state, a)
        terminated = is_terminated(state)  # |x| > 2.4 ⟺ x < −2.4 or x > 2.4 exactly (abs is exact)
        self.steps += 1
        self.returns += 1.0
        truncated = self.steps >= self.max_episode_steps
        done = terminated | truncated
        final_obs = state.float()
        ep_return, ep_length = self.returns, self.steps
        self.state = torch.where(done.unsqueeze(-1), self._random_states(self.num_envs), state)
        self.steps = torch.where(done, 0, self.steps)  # new tensors: ep_return/ep_length keep their values
        self.returns = torch.where(done, 0.0, self.returns)
        info = {"final_obs": final_obs, "_final_obs": done, "episode_return": ep_return, "episode_length": ep_length}
        reward = torch.ones(self.num_envs, device=self.device)
        return self.state.float(), reward, terminated, truncated, info

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this environment is (for checkpoints)."""
        return {
            "state": self.state.cpu(),
            "steps": self.steps.cpu(),
            "returns": self.returns.cpu(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        self.state = d["state"].to(self.device, self.dtype)
        self.steps = d["steps"].to(self.device)
        self.returns = d["returns"].to(self.device)
        self.generator.set_state(d["generator"])

    def close(self) -> None:
        pass


class GymVectorCartPole:
    """gymnasium's CartPole-v1 vector environment returning torch tensors, like :class:`TorchCartPole`.

    Uses ``gymnasium.make_vec(..., vectorization_mode="sync")`` with ``autoreset_mode=SAME_STEP``,
    so the final observation of a finished episode arrives in the same step (in ``info``) and the
    returned observation already starts the next episode.
    """

    def __init__(self, num_envs: int, device: str | torch.device = "cpu", seed: int | None = None):
        import gymnasium as gym
        from gymnasium.vector import AutoresetMode

        self.num_envs = check_int("num_envs", num_envs)
        self.device = torch.device(device)
        self.env = gym.make_vec(
            "CartPole-v1",
            num_envs=self.num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        )
        self.seed = seed
        self.single_observation_shape, self.n_actions = (OBS_DIM,), N_ACTIONS
        self.returns = np.zeros(self.num_envs)
        self.lengths = np.zeros(self.num_envs, dtype=np.int64)

    def _t(self, x: np.ndarray, dtype: torch.dtype) -> Tensor:
        return torch.tensor(np.asarray(x), dtype=dtype, device=self.device)  # a copy, never a view

    def reset(self, seed: int | None = None) -> tuple[Tensor, dict]:
        obs, info = self.env.reset(seed=self.seed if seed is None else seed)
        self.returns[:], self.lengths[:] = 0.0, 0
        return self._t(obs, torch.float32), info

    def step(self, actions: Any) -> tuple[Tensor, Tensor, Tensor, Tensor, dict]:
        a = actions.detach().cpu().numpy() if isinstance(actions, Tensor) else np.asarray(actions)
        obs, reward, terminated, truncated, info = self.env.step(a.astype(np.int64))
        self.returns += reward
        self.lengths += 1
        done = np.logical_or(terminated, truncated)
        final = np.asarray(obs, dtype=np.float32).copy()
        if "final_obs" in info:
            for i in np.flatnonzero(info["_final_obs"]):
                final[i] = info["final_obs"][i]
        out = {
            "final_obs": self._t(final, torch.float32),
            "_final_obs": self._t(done, torch.bool),
            "episode_return": self._t(self.returns, torch.float32),
            "episode_length": self._t(self.lengths, torch.int64),
        }
        self.returns[done], self.lengths[done] = 0.0, 0
        return (
            self._t(obs, torch.float32),
            self._t(reward, torch.float32),
            self._t(terminated, torch.bool),
            self._t(truncated, torch.bool),
            out,
        )

    def close(self) -> None:
        self.env.close()


def make_cartpole(num_envs: int, backend: str = "torch", device: str | torch.device = "cpu", seed: int | None = None):
    """A batch of CartPole-v1 environments: ``backend="torch"`` (:class:`TorchCartPole`) or ``"gymnasium"``."""
    if backend == "torch":
        return TorchCartPole(num_envs, device=device, seed=seed)
    if backend == "gymnasium":
        return GymVectorCartPole(num_envs, device=device, seed=seed)
    raise ValueError(f"backend: expected 'torch' or 'gymnasium', got {backend!r}")
