"""Learning V from experience: constant-α Monte Carlo and TD(0) prediction (tabular).

Both methods move the estimate V(s_t) a step α towards a *target*:

    Monte Carlo:  V(s_t) ← V(s_t) + α (G_t − V(s_t))                                   (6.2)
    TD(0):        V(s_t) ← V(s_t) + α (r_t + γ (1 − terminated_t) V(s_{t+1}) − V(s_t))    (6.3)

The MC target G_t (the reward-to-go of eq. 3.1) is an unbiased sample of V^π(s_t) but sums
many random rewards: high variance, and it is known only when the episode has ended. The TD
target r_t + γV(s_{t+1}) uses one random reward and the current *estimate* of the next value:
lower variance, available after one step, but biased while V is wrong.

Episodes are given as ``(states, rewards)`` pairs: ``states[t]`` is the (integer) state at
step t and ``rewards[t]`` the reward that followed; every episode ends by termination after
its last step (the value of a terminal state is 0). MC updates after the episode (every
visit, in time order); TD(0) updates online after each step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from . import returns
from .validate import as_tensor, check_finite, check_ndim, check_positive, check_unit_interval

Tensor = torch.Tensor
Episode = tuple[Any, Any]


def _check_alpha(alpha: float) -> float:
    a = check_positive("alpha", alpha)
    if a > 1.0:
        raise ValueError(f"alpha: expected a step size in (0, 1], got {alpha!r}")
    return a


def _episode(i: int, episode: Episode, n_states: int) -> tuple[Tensor, Tensor]:
    if not isinstance(episode, (tuple, list)) or len(episode) != 2:
        raise ValueError(f"episodes[{i}]: expected a (states, rewards) pair, got {type(episode).__name__}")
    states = check_ndim(f"episodes[{i}] states", as_tensor(f"episodes[{i}] states", episode[0]), (1,), "(T,)")
    rewards = as_tensor(f"episodes[{i}] rewards", episode[1], torch.float64)
    rewards = check_finite(f"episodes[{i}] rewards", check_ndim(f"episodes[{i}] rewards", rewards, (1,), "(T,)"))
    if states.is_floating_point() or states.dtype == torch.bool:
        raise ValueError(f"episodes[{i}] states: expected integer state indices, got dtype {states.dtype}")
    if len(states) != len(rewards) or len(states) == 0:
        raise ValueError(f"episodes[{i}]: expected states and rewards of one equal length T >= 1, "
                         f"got {len(states)} and {len(rewards)}")
    if bool((states < 0).any() or (states >= n_states).any()):
        raise ValueError(f"episodes[{i}] states: expected indices in [0, {n_states}), got {states.tolist()}")
    return states, rewards.to(torch.float64)


def _start(v0: Any, n_states: int) -> Tensor:
    v = as_tensor("v0", v0, torch.float64)
    if v.ndim == 0:
        v = v.expand(n_states)
    if tuple(v.shape) != (n_states,):
        raise ValueError(f"v0: expected a number or shape ({n_states},), got shape {tuple(v.shape)}")
    return check_finite("v0", v).clone().to(torch.float64)


def _learn(
    episodes: Sequence[Episode], n_states: int, alpha: float, gamma: float, v0: Any,
    update: Callable[[list[float], list[int], Tensor, float, float], None],
) -> Tensor:
    """Run ``update(v, states, rewards, α, γ)`` over each episode in order; V after each episode, V_0 first."""
    a, g = _check_alpha(alpha), check_unit_interval("gamma", gamma)
    v = _start(v0, n_states).tolist()  # plain floats: tabular updates are scalar work
    history = [list(v)]
    for i, episode in enumerate(episodes):
        states, rewards = _episode(i, episode, n_states)
        update(v, states.tolist(), rewards, a, g)
        history.append(list(v))
    return torch.tensor(history, dtype=torch.float64)


def _mc_update(v: list[float], states: list[int], rewards: Tensor, a: float, g: float) -> None:
    targets = returns.discounted_returns(rewards, g)  # G_t, eq. (3.1)
    for s, G in zip(states, targets.tolist(), strict=True):
        v[s] += a * (G - v[s])


def _td0_update(v: list[float], states: list[int], rewards: Tensor, a: float, g: float) -> None:
    for t, (s, r) in enumerate(zip(states, rewards.tolist(), strict=True)):
        v_next = v[states[t + 1]] if t + 1 < len(states) else 0.0  # terminal after the last step
        v[s] += a * (r + g * v_next - v[s])


def mc_prediction(
    episodes: Sequence[Episode], n_states: int, alpha: float, gamma: float = 1.0, v0: Any = 0.0
) -> Tensor:
    """Constant-α every-visit Monte Carlo, eq. (6.2), run over ``episodes`` in order.

    Returns the estimate after each episode, with the starting estimate in row 0.

    Shapes:
        v0: () or (S,);  result: (n_episodes + 1, S), float64.
    """
    return _learn(episodes, n_states, alpha, gamma, v0, _mc_update)


def td0_prediction(
    episodes: Sequence[Episode], n_states: int, alpha: float, gamma: float = 1.0, v0: Any = 0.0
) -> Tensor:
    """Tabular TD(0), eq. (6.3), updating online after every step of ``episodes``.

    Returns the estimate after each episode, with the starting estimate in row 0.

    Shapes:
        v0: () or (S,);  result: (n_episodes + 1, S), float64.
    """
    return _learn(episodes, n_states, alpha, gamma, v0, _td0_update)


def rms_error(estimates: Any, true_values: Any) -> Tensor:
    """Root-mean-square error over states, √(mean_s (V̂(s) − V(s))²), for each row of ``estimates``.

    Shapes:
        estimates: (S,) or (..., S);  true_values: (S,);  result: estimates.shape[:-1].
    """
    est = check_finite("estimates", as_tensor("estimates", estimates, torch.float64))
    true = check_finite("true_values", as_tensor("true_values", true_values, torch.float64))
    check_ndim("true_values", true, (1,), "(S,)")
    if est.ndim < 1 or est.shape[-1] != true.shape[0]:
        raise ValueError(f"estimates: expected shape (..., {true.shape[0]}), got {tuple(est.shape)}")
    return ((est - true) ** 2).mean(-1).sqrt()


def rms_curves(
    method: str,
    alphas: Sequence[float],
    true_values: Any,
    n_episodes: int,
    n_runs: int,
    sample_episodes: Any,
    v0: Any = 0.5,
    gamma: float = 1.0,
) -> Tensor:
    """RMS error against the episode number, averaged over ``n_runs`` independent runs, per α.

    ``sample_episodes(n_episodes, generator)`` draws the episodes of one run; run k uses a
    generator seeded with k, so MC and TD (and every α) see the *same* episodes.

    Shapes:
        result: (len(alphas), n_episodes + 1).
    """
    learners = {"mc": mc_prediction, "td": td0_prediction}
    if method not in learners:
        raise ValueError(f"method: expected 'mc' or 'td', got {method!r}")
    true = as_tensor("true_values", true_values, torch.float64)
    if isinstance(n_runs, bool) or not isinstance(n_runs, int) or n_runs < 1:
        raise ValueError(f"n_runs: expected a positive integer, got {n_runs!r}")
    curves = torch.zeros(len(alphas), n_episodes + 1, dtype=torch.float64)
    for run in range(n_runs):
        episodes = sample_episodes(n_episodes, torch.Generator().manual_seed(run))
        for j, alpha in enumerate(alphas):
            history = learners[method](episodes, len(true), alpha, gamma, v0)
            curves[j] += rms_error(history, true)
    return curves / n_runs


def td0_update(
    values: Any, state: int, reward: float, next_state: int, terminated: bool, alpha: float, gamma: float
) -> Tensor:
    """One TD(0) step, eq. (6.3), returned as a new table (the input is not modified).

    V(s) ← V(s) + α (r + γ (1 − terminated) V(s') − V(s)); a terminal s' is worth 0.

    Shapes:
        values, result: (S,).
    """
    v = check_finite("values", check_ndim("values", as_tensor("values", values, torch.float64), (1,), "(S,)"))
    a, g = _check_alpha(alpha), check_unit_interval("gamma", gamma)
    for name, s in (("state", state), ("next_state", next_state)):
        if not 0 <= int(s) < len(v):
            raise ValueError(f"{name}: expected an index in [0, {len(v)}), got {s!r}")
    target = float(reward) + (0.0 if terminated else g * float(v[int(next_state)]))
    out = v.clone()
    out[int(state)] += a * (target - out[int(state)])
    return out
