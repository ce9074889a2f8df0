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

Between the two, n-step TD moves V(s_t) towards n rewards and then γ^n V(s_{t+n}) (6.6). Batch
updating sweeps one fixed batch until the estimate stops moving: batch MC gives the average
returns, batch TD(0) the values of the batch's maximum-likelihood model (6.5).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .validate import as_tensor, check_finite, check_int, check_ndim, check_positive, check_unit_interval

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


class _Checked(list):
    """Episodes already validated for ``n_states`` states, as plain (states, rewards) lists."""

    n_states: int = 0


def _checked(episodes: Sequence[Episode], n_states: int) -> _Checked:
    if isinstance(episodes, _Checked) and episodes.n_states == n_states:
        return episodes
    out = _Checked()
    for i, episode in enumerate(episodes):
        states, rewards = _episode(i, episode, n_states)
        out.append((states.tolist(), rewards.tolist()))
    out.n_states = n_states
    return out


def _learn(
    episodes: Sequence[Episode], n_states: int, alpha: float, gamma: float, v0: Any,
    update: Callable[[list[float], list[int], list[float], float, float], None],
) -> Tensor:
    """Run ``update(v, states, rewards, α, γ)`` over each episode in order; V after each episode, V_0 first."""
    a, g = _check_alpha(alpha), check_unit_interval("gamma", gamma)
    v = _start(v0, n_states).tolist()  # plain floats: tabular updates are scalar work
    history = [list(v)]
    for states, rewards in _checked(episodes, n_states):
        update(v, states, rewards, a, g)
        history.append(list(v))
    return torch.tensor(history, dtype=torch.float64)


def _mc_update(v: list[float], states: list[int], rewards: list[float], a: float, g: float) -> None:
    targets, G = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):  # G_t = r_t + γ G_{t+1}, eq. (3.1)
        G = rewards[t] + g * G
        targets[t] = G
    for s, G in zip(states, targets, strict=True):
        v[s] += a * (G - v[s])


def _td0_update(v: list[float], states: list[int], rewards: list[float], a: float, g: float) -> None:
    for t, (s, r) in enumerate(zip(states, rewards, strict=True)):
        v_next = v[states[t + 1]] if t + 1 < len(states) else 0.0  # terminal after the last step
        v[s] += a * (r + g * v_next - v[s])


def _td0_offline_update(v: list[float], states: list[int], rewards: list[float], a: float, g: float) -> None:
    increments = [0.0] * len(v)
    for t, (s, r) in enumerate(zip(states, rewards, strict=True)):
        v_next = v[states[t + 1]] if t + 1 < len(states) else 0.0
        increments[s] += a * (r + g * v_next - v[s])  # targets from V as it was when the episode began
    for s, inc in enumerate(increments):
        v[s] += inc


def _nstep_update(n: int) -> Callable[[list[float], list[int], list[float], float, float], None]:
    def update(v: list[float], states: list[int], rewards: list[float], a: float, g: float) -> None:
        T = len(states)
        to_go = [0.0] * (T + 1)  # to_go[t] = Σ_{k ≥ t} γ^(k−t) r_k, so Σ_{t ≤ k < e} γ^(k−t) r_k = to_go[t] − γ^(e−t) to_go[e]
        for t in reversed(range(T)):
            to_go[t] = rewards[t] + g * to_go[t + 1]
        g_n = g**n
        for t in range(T):  # V(s_t) is updated at time t + n (after the episode for the last ones), in order
            end = min(t + n, T)
            target = to_go[t] - g ** (end - t) * to_go[end]
            if end < T:
                target += g_n * v[states[end]]
            v[states[t]] += a * (target - v[states[t]])

    return update


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
    episodes: Sequence[Episode], n_states: int, alpha: float, gamma: float = 1.0, v0: Any = 0.0,
    online: bool = True,
) -> Tensor:
    """Tabular TD(0), eq. (6.3), updating online after every step of ``episodes``.

    With ``online=False`` the increments of an episode are computed from V as it was when the
    episode began and applied together at its end (offline TD(0)).

    Returns the estimate after each episode, with the starting estimate in row 0.

    Shapes:
        v0: () or (S,);  result: (n_episodes + 1, S), float64.
    """
    return _learn(episodes, n_states, alpha, gamma, v0, _td0_update if online else _td0_offline_update)


def nstep_td_prediction(
    episodes: Sequence[Episode], n_states: int, alpha: float, gamma: float = 1.0, v0: Any = 0.0, n: int = 1
) -> Tensor:
    """Tabular n-step TD: V(s_t) moves towards G_{t:t+n} = Σ_{k<n} γ^k r_{t+k} + γ^n V(s_{t+n}), eq. (6.6).

    The update of V(s_t) happens at time t + n, as soon as its target is known (Sutton & Barto
    §7.1); where the episode ends first, the target is the plain return. ``n = 1`` is TD(0);
    ``n`` ≥ the episode length is constant-α Monte Carlo.

    Shapes:
        v0: () or (S,);  result: (n_episodes + 1, S), float64.
    """
    check_int("n", n)
    return _learn(episodes, n_states, alpha, gamma, v0, _nstep_update(n))


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

    ``method`` is ``"mc"``, ``"td"`` or a learner with the signature of :func:`td0_prediction`
    (e.g. ``functools.partial(nstep_td_prediction, n=4)``).

    ``sample_episodes(n_episodes, generator)`` draws the episodes of one run; run k uses a
    generator seeded with k, so MC and TD (and every α) see the *same* episodes.

    Shapes:
        result: (len(alphas), n_episodes + 1).
    """
    learners = {"mc": mc_prediction, "td": td0_prediction}
    if not callable(method) and method not in learners:
        raise ValueError(f"method: expected 'mc', 'td' or a learner function, got {method!r}")
    learn = method if callable(method) else learners[method]
    true = as_tensor("true_values", true_values, torch.float64)
    check_int("n_runs", n_runs)
    curves = torch.zeros(len(alphas), n_episodes + 1, dtype=torch.float64)
    for run in range(n_runs):
        episodes = _checked(sample_episodes(n_episodes, torch.Generator().manual_seed(run)), len(true))
        for j, alpha in enumerate(alphas):
            history = learn(episodes, len(true), alpha, gamma, v0)
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


def run_histories(
    learner: Callable[..., Tensor], alpha: float, n_episodes: int, n_runs: int, sample_episodes: Any,
    n_states: int, v0: Any = 0.5, gamma: float = 1.0,
) -> Tensor:
    """Every run's estimates after every episode (run k's episodes drawn with a generator seeded k).

    Shapes:
        result: (n_runs, n_episodes + 1, n_states).
    """
    check_int("n_runs", n_runs)
    return torch.stack([learner(sample_episodes(n_episodes, torch.Generator().manual_seed(run)), n_states, alpha,
                                gamma, v0) for run in range(n_runs)])


def error_decomposition(estimates: Any, true_values: Any) -> Tensor:
    """Mean squared error over runs split as bias² + variance, each averaged over states, eq. (6.4).

    With R runs: bias² = mean_s (mean_r V̂_r(s) − V(s))², variance = mean_s mean_r (V̂_r(s) − mean_r V̂_r(s))²
    (the population variance, so that bias² + variance = mean_r mean_s (V̂_r(s) − V(s))² exactly).

    Shapes:
        estimates: (R, ..., S);  true_values: (S,);  result: (..., 2) holding [bias², variance].
    """
    est = check_finite("estimates", as_tensor("estimates", estimates, torch.float64))
    true = check_finite("true_values", as_tensor("true_values", true_values, torch.float64))
    check_ndim("true_values", true, (1,), "(S,)")
    if est.ndim < 2 or est.shape[-1] != true.shape[0]:
        raise ValueError(f"estimates: expected shape (R, ..., {true.shape[0]}) with R runs, got {tuple(est.shape)}")
    mean = est.mean(0)
    bias2 = ((mean - true) ** 2).mean(-1)
    variance = ((est - mean) ** 2).mean(0).mean(-1)
    return torch.stack([bias2, variance], -1)


def _batch_steps(episodes: Sequence[Episode], n_states: int, gamma: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """All steps of a batch as flat tensors: state, next state (−1 when terminal), reward, return G_t."""
    s_all: list[int] = []
    nxt_all: list[int] = []
    r_all: list[float] = []
    g_all: list[float] = []
    for states, rewards in _checked(episodes, n_states):
        G, back = 0.0, []
        for r in reversed(rewards):
            G = r + gamma * G
            back.append(G)
        s_all += states
        nxt_all += states[1:] + [-1]
        r_all += rewards
        g_all += back[::-1]
    if not s_all:
        raise ValueError("episodes: expected at least one episode")
    f64 = torch.float64
    return (torch.tensor(s_all), torch.tensor(nxt_all), torch.tensor(r_all, dtype=f64), torch.tensor(g_all, dtype=f64))


def batch_mc(episodes: Sequence[Episode], n_states: int, gamma: float = 1.0, v0: float = 0.5) -> Tensor:
    """Batch Monte Carlo: V(s) = the average return G_t over every visit to s in the batch.

    This is what constant-α MC converges to when it sweeps the same batch again and again with
    a small α (Sutton & Barto §6.3). Unvisited states keep ``v0``.

    Shapes:
        result: (n_states,), float64.
    """
    s, _, _, G = _batch_steps(episodes, n_states, check_unit_interval("gamma", gamma))
    count = torch.bincount(s, minlength=n_states).to(torch.float64)
    total = torch.zeros(n_states, dtype=torch.float64).index_add_(0, s, G)
    return torch.where(count > 0, total / count.clamp_min(1), torch.tensor(float(v0), dtype=torch.float64))


def certainty_equivalence(episodes: Sequence[Episode], n_states: int, gamma: float = 1.0, v0: float = 0.5) -> Tensor:
    """The values of the maximum-likelihood model of the batch, eq. (6.5): what batch TD(0) converges to.

    Counts give P̂(s'|s) and the mean reward r̂(s); V solves V = r̂ + γ P̂ V (one Bellman solve,
    :func:`ppo_edu.toy_mdps.state_values`). Unvisited states keep ``v0``.

    Shapes:
        result: (n_states,), float64.
    """
    from . import toy_mdps  # the one Bellman solve

    s, nxt, r, _ = _batch_steps(episodes, n_states, 1.0)
    count = torch.bincount(s, minlength=n_states).to(torch.float64)
    P = torch.zeros(n_states, 1, n_states, dtype=torch.float64)
    cont = nxt >= 0
    P[:, 0].index_put_((s[cont], nxt[cont]), torch.ones(int(cont.sum()), dtype=torch.float64), accumulate=True)
    P = P / count.clamp_min(1)[:, None, None]
    R = (torch.zeros(n_states, dtype=torch.float64).index_add_(0, s, r) / count.clamp_min(1))[:, None]
    mdp = toy_mdps.TabularMDP(P, R, torch.full((n_states,), 1.0 / n_states, dtype=torch.float64), gamma)
    v = toy_mdps.state_values(mdp, torch.ones(n_states, 1, dtype=torch.float64))
    return torch.where(count > 0, v, torch.tensor(float(v0), dtype=torch.float64))


def batch_td(episodes: Sequence[Episode], n_states: int, gamma: float = 1.0, v0: float = 0.5, alpha: float = 0.5,
             tol: float = 1e-12, max_sweeps: int = 100_000) -> Tensor:
    """Batch TD(0): sweep the whole batch, move each V(s) by α × the mean TD error of its visits, repeat.

    Iterates until the largest change is below ``tol``; the fixed point is
    :func:`certainty_equivalence` (every visited state's mean TD error is zero there).

    Shapes:
        result: (n_states,), float64.
    """
    a, g = _check_alpha(alpha), check_unit_interval("gamma", gamma)
    s, nxt, r, _ = _batch_steps(episodes, n_states, g)
    count = torch.bincount(s, minlength=n_states).to(torch.float64)
    v = torch.full((n_states,), float(v0), dtype=torch.float64)
    for _ in range(int(max_sweeps)):
        v_next = torch.where(nxt >= 0, v[nxt.clamp_min(0)], torch.zeros_like(r))
        delta = r + g * v_next - v[s]
        step = a * torch.zeros(n_states, dtype=torch.float64).index_add_(0, s, delta) / count.clamp_min(1)
        v = v + step
        if float(step.abs().max()) < tol:
            return v
    raise ValueError(f"max_sweeps: batch TD did not converge in {max_sweeps} sweeps (try a larger alpha)")
