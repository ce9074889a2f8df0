"""Small MDPs with exact solutions: the ground truth that estimators are measured against.

Sections follow the notebooks that use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .validate import as_tensor, check_finite, check_ndim, check_unit_interval

Tensor = torch.Tensor

# --- 01–04 tabular MDPs, exact V, Q, A and exact ∇J ------------------------------------------
#
# A tabular MDP with S states and A actions is three arrays:
#
#     P[s, a, s'] = Pr(s_{t+1} = s' | s_t = s, a_t = a)      (rows may sum to less than 1:
#                                                             the missing mass is the chance
#                                                             that the episode ends)
#     R[s, a]     = the reward for taking a in s
#     μ0[s]       = Pr(s_0 = s)
#
# With a policy π (an (S, A) table of probabilities), V^π solves the Bellman equation
#
#     V = r_π + γ P_π V,   r_π[s] = Σ_a π(a|s) R[s, a],  P_π[s, s'] = Σ_a π(a|s) P[s, a, s']   (1.3)
#
# a linear system, and Q = R + γ P V, A = Q − V (3.3)–(3.4). Everything is float64 and
# differentiable, so autograd through the linear solve gives the *exact* ∇J(θ).


@dataclass(frozen=True)
class TabularMDP:
    """A small episodic MDP given by its tables; see the section comment for the meaning.

    Shapes:
        P: (S, A, S) with rows summing to at most 1;  R: (S, A);  mu0: (S,).
    """

    P: Tensor
    R: Tensor
    mu0: Tensor
    gamma: float
    state_names: tuple[str, ...] = ()
    action_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        P = check_finite("P", as_tensor("P", self.P, torch.float64).to(torch.float64))
        check_ndim("P", P, (3,), "(S, A, S)")
        S, A = P.shape[0], P.shape[1]
        if P.shape[2] != S or S == 0 or A == 0:
            raise ValueError(f"P: expected shape (S, A, S) with S, A >= 1, got {tuple(P.shape)}")
        if bool((P < 0).any()) or bool((P.sum(-1) > 1 + 1e-9).any()):
            raise ValueError("P: expected probabilities >= 0 whose rows P[s, a, :] sum to at most 1")
        R = check_finite("R", as_tensor("R", self.R, torch.float64).to(torch.float64))
        if tuple(R.shape) != (S, A):
            raise ValueError(f"R: expected shape (S, A) = {(S, A)}, got {tuple(R.shape)}")
        mu0 = check_finite("mu0", as_tensor("mu0", self.mu0, torch.float64).to(torch.float64))
        if tuple(mu0.shape) != (S,) or bool((mu0 < 0).any()) or abs(float(mu0.sum()) - 1) > 1e-9:
            raise ValueError(f"mu0: expected {S} probabilities summing to 1, got {mu0.tolist()}")
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "mu0", mu0)
        object.__setattr__(self, "gamma", check_unit_interval("gamma", self.gamma))
        object.__setattr__(self, "state_names", tuple(self.state_names) or tuple(f"s{i}" for i in range(S)))
        object.__setattr__(self, "action_names", tuple(self.action_names) or tuple(f"a{i}" for i in range(A)))

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]

    def with_gamma(self, gamma: float) -> TabularMDP:
        """The same MDP with another discount γ."""
        return TabularMDP(self.P, self.R, self.mu0, gamma, self.state_names, self.action_names)


def corridor(n_states: int = 3, slip: float = 0.2, step_reward: float = -0.1, goal_reward: float = 1.0,
             gamma: float = 0.9) -> TabularMDP:
    """The course's small MDP: a corridor of ``n_states`` cells, start in the leftmost one.

    Actions ``left`` and ``right`` move one cell; with probability ``slip`` an inner move fails
    and the agent stays. ``left`` in the first cell leaves through a dead end (episode over,
    reward ``step_reward``); ``right`` in the last cell reaches the goal (episode over, reward
    ``goal_reward``). Every other step costs ``step_reward``. Episodes end quickly under any policy.
    """
    if int(n_states) != n_states or n_states < 1:
        raise ValueError(f"n_states: expected an integer >= 1, got {n_states!r}")
    if not 0.0 <= float(slip) < 1.0:
        raise ValueError(f"slip: expected a probability in [0, 1), got {slip!r}")
    S = int(n_states)
    P = torch.zeros(S, 2, S, dtype=torch.float64)
    for s in range(S):
        if s > 0:
            P[s, 0, s - 1], P[s, 0, s] = 1 - slip, slip
        if s < S - 1:
            P[s, 1, s + 1], P[s, 1, s] = 1 - slip, slip
    R = torch.full((S, 2), float(step_reward), dtype=torch.float64)
    R[S - 1, 1] = float(goal_reward)
    mu0 = torch.zeros(S, dtype=torch.float64)
    mu0[0] = 1.0
    return TabularMDP(P, R, mu0, gamma, tuple(f"cell {s}" for s in range(S)), ("left", "right"))


def random_mdp(n_states: int, n_actions: int, end_prob: float = 0.3, gamma: float = 0.9, seed: int = 0) -> TabularMDP:
    """A random MDP (for tests): each step ends the episode with probability ``end_prob``."""
    if not 0.0 < float(end_prob) <= 1.0:
        raise ValueError(f"end_prob: expected a probability in (0, 1], got {end_prob!r}")
    g = torch.Generator().manual_seed(seed)
    P = torch.rand(n_states, n_actions, n_states, generator=g, dtype=torch.float64)
    P = (1 - end_prob) * P / P.sum(-1, keepdim=True)
    R = torch.randn(n_states, n_actions, generator=g, dtype=torch.float64)
    mu0 = torch.rand(n_states, generator=g, dtype=torch.float64)
    return TabularMDP(P, R, mu0 / mu0.sum(), gamma)


def _theta(theta: Any, mdp: TabularMDP | None = None) -> Tensor:
    t = check_finite("theta", as_tensor("theta", theta, torch.float64))
    check_ndim("theta", t, (2,), "(S, A)")
    if mdp is not None and tuple(t.shape) != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"theta: expected shape (S, A) = {(mdp.n_states, mdp.n_actions)}, got {tuple(t.shape)}")
    return t if t.dtype == torch.float64 else t.to(torch.float64)


def softmax_policy(theta: Any) -> Tensor:
    """π_θ(a|s) = exp θ[s, a] / Σ_b exp θ[s, b], the tabular softmax policy (1.4).

    Shapes:
        theta: (S, A) logits;  result: (S, A), each row sums to 1.
    """
    return torch.softmax(_theta(theta), dim=-1)


def _policy(mdp: TabularMDP, pi: Any) -> Tensor:
    p = check_finite("pi", as_tensor("pi", pi, torch.float64))
    if p.dtype != torch.float64:
        p = p.to(torch.float64)
    if tuple(p.shape) != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"pi: expected shape (S, A) = {(mdp.n_states, mdp.n_actions)}, got {tuple(p.shape)}")
    if bool((p < 0).any()) or not torch.allclose(p.sum(-1), torch.ones_like(p[:, 0])):
        raise ValueError("pi: expected rows of probabilities that sum to 1 (pass softmax_policy(theta), not theta)")
    return p


def _solve(mdp: TabularMDP, P_pi: Tensor, rhs: Tensor, transpose: bool = False) -> Tensor:
    M = torch.eye(mdp.n_states, dtype=torch.float64) - mdp.gamma * P_pi
    radius = float(torch.linalg.eigvals((mdp.gamma * P_pi).detach()).abs().max())
    if radius > 1 - 1e-10:
        raise ValueError(f"policy: with γ = {mdp.gamma} the episode may never end (spectral radius {radius:.6f}); "
                         "use γ < 1 or an MDP whose episodes terminate")
    return torch.linalg.solve(M.T if transpose else M, rhs)


def state_values(mdp: TabularMDP, pi: Any) -> Tensor:
    """V^π, the solution of the linear Bellman system V = r_π + γ P_π V, eq. (1.3).

    Shapes:
        pi: (S, A);  result: (S,).
    """
    p = _policy(mdp, pi)
    r_pi = (p * mdp.R).sum(-1)
    P_pi = torch.einsum("sa,sat->st", p, mdp.P)
    return _solve(mdp, P_pi, r_pi)


def action_values(mdp: TabularMDP, pi: Any) -> Tensor:
    """Q^π(s, a) = R[s, a] + γ Σ_s' P[s, a, s'] V^π(s'), eq. (3.3).

    Shapes:
        pi: (S, A);  result: (S, A).
    """
    return mdp.R + mdp.gamma * torch.einsum("sat,t->sa", mdp.P, state_values(mdp, pi))


def advantages(mdp: TabularMDP, pi: Any) -> Tensor:
    """A^π(s, a) = Q^π(s, a) − V^π(s), eq. (3.4); Σ_a π(a|s) A(s, a) = 0 in every state.

    Shapes:
        pi: (S, A);  result: (S, A).
    """
    return action_values(mdp, pi) - state_values(mdp, pi)[:, None]


def discounted_visitation(mdp: TabularMDP, pi: Any) -> Tensor:
    """d^π(s) = Σ_t γ^t Pr(s_t = s), the (unnormalised) discounted state visitation; d = μ0ᵀ(I − γP_π)⁻¹.

    Shapes:
        pi: (S, A);  result: (S,).
    """
    p = _policy(mdp, pi)
    P_pi = torch.einsum("sa,sat->st", p, mdp.P)
    return _solve(mdp, P_pi, mdp.mu0, transpose=True)


def objective(mdp: TabularMDP, theta: Any) -> Tensor:
    """J(θ) = E[Σ_t γ^t r_t] = Σ_s μ0(s) V^{π_θ}(s), eq. (1.1); differentiable in θ.

    Shapes:
        theta: (S, A);  result: ().
    """
    return mdp.mu0 @ state_values(mdp, softmax_policy(_theta(theta, mdp)))


def exact_gradient(mdp: TabularMDP, theta: Any) -> Tensor:
    """The exact ∇_θ J(θ), by autograd through the linear solve of (1.3).

    Shapes:
        theta: (S, A);  result: (S, A).
    """
    th = _theta(theta, mdp).detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(objective(mdp, th), th)
    return grad


def policy_gradient_theorem(mdp: TabularMDP, theta: Any) -> Tensor:
    """∂J/∂θ[s, a] = d^π(s) π(a|s) A^π(s, a) for the tabular softmax, eq. (3.6) (no autograd).

    Shapes:
        theta: (S, A);  result: (S, A).
    """
    pi = softmax_policy(_theta(theta, mdp)).detach()
    return discounted_visitation(mdp, pi)[:, None] * pi * advantages(mdp, pi)


def surrogate_objective(mdp: TabularMDP, theta: Any, theta_old: Any, new_state_distribution: bool = False) -> Tensor:
    """Exact L_θold(θ) = Σ_s d^old(s) Σ_a π_θ(a|s) A^old(s, a), eq. (4.6); differentiable in θ.

    With ``new_state_distribution=True`` the states are weighted by d^{π_θ} instead: that is the
    performance-difference identity and equals J(θ) − J(θ_old) exactly, eq. (4.5).

    Shapes:
        theta, theta_old: (S, A);  result: ().
    """
    pi_old = softmax_policy(_theta(theta_old, mdp)).detach()
    pi = softmax_policy(_theta(theta, mdp))
    d = discounted_visitation(mdp, pi if new_state_distribution else pi_old)
    return d @ (pi * advantages(mdp, pi_old)).sum(-1)


@dataclass(frozen=True)
class Episodes:
    """N sampled episodes, padded to the longest one and stored time-major.

    ``mask[t, n]`` is True for real steps; padded steps hold state 0, action 0, reward 0.
    ``truncated[n]`` is True when episode n was still running at ``max_steps``.

    Shapes:
        states, actions, rewards, mask: (T, N);  truncated: (N,).
    """

    states: Tensor
    actions: Tensor
    rewards: Tensor
    mask: Tensor
    truncated: Tensor

    @property
    def lengths(self) -> Tensor:
        return self.mask.sum(0)


def sample_episodes(mdp: TabularMDP, pi: Any, n_episodes: int, generator: torch.Generator | None = None,
                    max_steps: int = 200) -> Episodes:
    """Run ``n_episodes`` episodes of ``pi`` in parallel (vectorised over episodes, loop over time).

    Shapes:
        pi: (S, A);  result: :class:`Episodes` with (T, N) tensors, T ≤ max_steps.
    """
    p = _policy(mdp, pi).detach()
    if int(n_episodes) != n_episodes or n_episodes < 1:
        raise ValueError(f"n_episodes: expected an integer >= 1, got {n_episodes!r}")
    N, S = int(n_episodes), mdp.n_states
    next_p = torch.cat([mdp.P, (1 - mdp.P.sum(-1, keepdim=True)).clamp_min(0)], dim=-1)  # (S, A, S+1), last = end
    s = torch.multinomial(mdp.mu0.expand(N, S), 1, generator=generator).squeeze(-1)
    alive = torch.ones(N, dtype=torch.bool)
    states, actions, rewards, masks = [], [], [], []
    for _ in range(int(max_steps)):
        a = torch.multinomial(p[s], 1, generator=generator).squeeze(-1)
        nxt = torch.multinomial(next_p[s, a], 1, generator=generator).squeeze(-1)
        states.append(torch.where(alive, s, 0))
        actions.append(torch.where(alive, a, 0))
        rewards.append(torch.where(alive, mdp.R[s, a], 0.0))
        masks.append(alive.clone())
        alive = alive & (nxt < S)
        if not bool(alive.any()):
            break
        s = torch.where(alive, nxt, 0)
    return Episodes(torch.stack(states), torch.stack(actions), torch.stack(rewards), torch.stack(masks), alive.clone())


# --- 06–07 random walk and MDPs for TD/MC and GAE ---------------------------------------------
# The 5-state random walk (Sutton & Barto, Example 6.2): states 0..n−1 between two terminals;
# every step moves left or right with probability ½; the episode starts in the middle and
# ends on either side; the only reward is +1 for leaving on the right. With γ = 1 the value of
# state i is the probability of leaving on the right, (i + 1)/(n + 1).


def random_walk_exact_values(n_states: int = 5, gamma: float = 1.0) -> torch.Tensor:
    """Exact V of the random walk under its ½/½ policy, from the Bellman equation (6.1).

    Solves (I − γP) V = r, where P moves between non-terminal states and r is the expected
    one-step reward (½ from the rightmost state). With γ = 1: V(i) = (i + 1)/(n + 1).

    Shapes:
        result: (n_states,), float64.
    """
    n = _check_n_states(n_states)
    g = check_unit_interval("gamma", gamma)
    ones = torch.full((n - 1,), 0.5, dtype=torch.float64)
    P = torch.diag(ones, 1) + torch.diag(ones, -1)
    r = torch.zeros(n, dtype=torch.float64)
    r[-1] = 0.5
    return torch.linalg.solve(torch.eye(n, dtype=torch.float64) - g * P, r)


def random_walk_episodes(
    n_episodes: int, n_states: int = 5, generator: torch.Generator | None = None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Sample episodes of the random walk: a list of ``(states, rewards)``.

    ``states[t]`` is the non-terminal state at step t (the walk starts in the middle,
    ``n_states // 2``); ``rewards[t]`` is the reward of the step out of it. Every episode ends
    by termination after its last step.

    Shapes:
        each states: (T,) int64;  each rewards: (T,) float64 (T varies per episode).
    """
    n = _check_n_states(n_states)
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, int) or n_episodes < 1:
        raise ValueError(f"n_episodes: expected a positive integer, got {n_episodes!r}")
    episodes = []
    for _ in range(n_episodes):
        s, states = n // 2, []
        while 0 <= s < n:
            states.append(s)
            s += 1 if torch.rand((), generator=generator) < 0.5 else -1
        rewards = torch.zeros(len(states), dtype=torch.float64)
        rewards[-1] = 1.0 if s == n else 0.0
        episodes.append((torch.tensor(states, dtype=torch.int64), rewards))
    return episodes


def _check_n_states(n_states: int) -> int:
    if isinstance(n_states, bool) or not isinstance(n_states, int) or n_states < 1:
        raise ValueError(f"n_states: expected a positive integer, got {n_states!r}")
    return n_states


@dataclass(frozen=True)
class EpisodicMDP:
    """A small episodic MDP with a fixed stochastic policy, small enough to solve exactly.

    From state s the agent draws a ~ policy[s], receives a reward with mean ``reward_mean[s, a]``
    and standard deviation ``reward_std``, then the episode terminates with probability
    ``terminate[s, a]`` or moves to s' ~ transition[s, a]. Episodes start in ``start``.

    Shapes:
        transition: (S, A, S);  reward_mean, terminate: (S, A);  policy: (S, A).
    """

    transition: torch.Tensor
    reward_mean: torch.Tensor
    terminate: torch.Tensor
    policy: torch.Tensor
    reward_std: float = 1.0
    gamma: float = 0.95
    start: int = 0


def gae_study_mdp(n_states: int = 6, n_actions: int = 2, seed: int = 0) -> EpisodicMDP:
    """The seeded random MDP of notebook 07's bias/variance study (episodes last ≈ 8 steps)."""
    n = _check_n_states(n_states)
    g = torch.Generator().manual_seed(seed)
    transition = torch.rand(n, n_actions, n, generator=g, dtype=torch.float64) ** 3
    transition = transition / transition.sum(-1, keepdim=True)
    reward_mean = torch.randn(n, n_actions, generator=g, dtype=torch.float64)
    terminate = 0.08 + 0.12 * torch.rand(n, n_actions, generator=g, dtype=torch.float64)
    logits = torch.randn(n, n_actions, generator=g, dtype=torch.float64)
    return EpisodicMDP(transition, reward_mean, terminate, torch.softmax(logits, -1))


def exact_values(mdp: EpisodicMDP) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Exact V, Q and A = Q − V of ``mdp``'s policy, from the Bellman equations.

    Q(s, a) = r̄(s, a) + γ (1 − p_end(s, a)) Σ_s' P(s'|s, a) V(s'),   V(s) = Σ_a π(a|s) Q(s, a).

    Shapes:
        V: (S,);  Q, A: (S, A).
    """
    cont = mdp.gamma * (1 - mdp.terminate).unsqueeze(-1) * mdp.transition  # (S, A, S)
    P_pi = torch.einsum("sa,sat->st", mdp.policy, cont)
    r_pi = (mdp.policy * mdp.reward_mean).sum(-1)
    V = torch.linalg.solve(torch.eye(len(r_pi), dtype=r_pi.dtype) - P_pi, r_pi)
    Q = mdp.reward_mean + torch.einsum("sat,t->sa", cont, V)
    return V, Q, Q - V.unsqueeze(-1)


def sample_rollouts(
    mdp: EpisodicMDP, first_action: int, n_rollouts: int, horizon: int, generator: torch.Generator | None = None
) -> dict[str, torch.Tensor]:
    """Run ``n_rollouts`` episodes from ``mdp.start`` whose first action is ``first_action``.

    Every episode runs until it terminates or reaches ``horizon`` steps (then it is truncated).
    Steps after an episode's end are padding: reward 0, ``alive`` False, flagged terminated.

    Returns ``states`` (T+1, N) (the last row is the state after step T−1), ``actions``,
    ``rewards``, ``terminated``, ``truncated`` and ``alive``, each (T, N), with T = ``horizon``.
    """
    S, A = mdp.policy.shape
    if not 0 <= first_action < A:
        raise ValueError(f"first_action: expected an action in [0, {A}), got {first_action!r}")
    for name, v in (("n_rollouts", n_rollouts), ("horizon", horizon)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    N, T = n_rollouts, horizon
    states = torch.full((T + 1, N), mdp.start, dtype=torch.int64)
    actions = torch.zeros(T, N, dtype=torch.int64)
    rewards = torch.zeros(T, N, dtype=torch.float64)
    terminated = torch.zeros(T, N, dtype=torch.bool)
    alive = torch.zeros(T, N, dtype=torch.bool)
    live = torch.ones(N, dtype=torch.bool)
    for t in range(T):
        s = states[t]
        a = torch.full_like(s, first_action)
        if t > 0:
            a = torch.multinomial(mdp.policy[s], 1, generator=generator).squeeze(-1)
        noise = torch.randn(N, generator=generator, dtype=torch.float64)
        ends = torch.rand(N, generator=generator, dtype=torch.float64) < mdp.terminate[s, a]
        nxt = torch.multinomial(mdp.transition[s, a], 1, generator=generator).squeeze(-1)
        actions[t], alive[t] = a, live
        rewards[t] = torch.where(live, mdp.reward_mean[s, a] + mdp.reward_std * noise, 0.0)
        terminated[t] = ends | ~live
        states[t + 1] = nxt
        live = live & ~ends
    truncated = torch.zeros_like(terminated)
    truncated[-1] = live
    return {"states": states, "actions": actions, "rewards": rewards, "terminated": terminated,
            "truncated": truncated, "alive": alive}


def expected_gae_first_step(
    mdp: EpisodicMDP, critic: torch.Tensor, first_action: int, lam: float, horizon: int
) -> float:
    """Exact E[Â_0 | s_0 = start, a_0 = first_action] of GAE(γ, λ) with a given critic V̂.

    E[δ_l] is propagated through the state distribution d_l (the probability of being alive
    in each state at step l): E[Â_0] = Σ_l (γλ)^l Σ_s [d_l(s) (r̄_π(s) − V̂(s)) + γ d_{l+1}(s) V̂(s)],
    with the first step's action fixed and truncation after ``horizon`` steps bootstrapped.
    """
    lam = check_unit_interval("lam", lam)
    S, n_actions = mdp.policy.shape
    if not 0 <= first_action < n_actions:
        raise ValueError(f"first_action: expected an action in [0, {n_actions}), got {first_action!r}")
    if tuple(critic.shape) != (S,):
        raise ValueError(f"critic: expected shape ({S},), got {tuple(critic.shape)}")
    cont = (1 - mdp.terminate).unsqueeze(-1) * mdp.transition  # (S, A, S)
    d = torch.zeros(S, dtype=torch.float64)
    d[mdp.start] = 1.0
    pi0 = torch.zeros_like(mdp.policy)
    pi0[:, first_action] = 1.0
    total = 0.0
    for l in range(horizon):
        pi = pi0 if l == 0 else mdp.policy
        d_next = torch.einsum("s,sa,sat->t", d, pi, cont)
        r_bar = (d.unsqueeze(-1) * pi * mdp.reward_mean).sum()
        delta = r_bar + mdp.gamma * (d_next @ critic) - d @ critic
        total += (mdp.gamma * lam) ** l * float(delta)
        d = d_next
    return total


def imperfect_critic(mdp: EpisodicMDP, error_scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    """V̂ = V + e: the exact values plus a fixed, seeded error e(s) ~ N(0, scale²), with e(start) = 0.

    The error is zero at the start state, where the advantages are measured (the state every
    episode visits is the one a critic fits best), so any bias of Â_0 comes from bootstrapping
    on the wrong values of the states that follow.

    Shapes:
        result: (S,).
    """
    V, _, _ = exact_values(mdp)
    e = float(error_scale) * torch.randn(len(V), generator=torch.Generator().manual_seed(seed), dtype=V.dtype)
    e[mdp.start] = 0.0
    return V + e


def gae_bias_variance(
    mdp: EpisodicMDP, critic: torch.Tensor, lambdas: list[float], n_rollouts: int, horizon: int = 80, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Measured bias² and variance of the GAE estimate Â_0 of A(start, a_0), for each λ.

    For each first action a, ``n_rollouts`` episodes are sampled once and every λ is evaluated
    on the same episodes. Per action, bias_a = mean(Â_0) − A(start, a) and var_a = Var(Â_0);
    both are averaged over a with the policy's weights π(a|start). ``exact_bias2`` is the same
    average with E[Â_0] computed exactly by :func:`expected_gae_first_step`.

    Returns tensors of shape (len(lambdas),): ``bias2``, ``variance``, ``mse`` (= bias2 +
    variance), ``exact_bias2``.
    """
    from . import advantages as gae_module  # imported here: advantages() above is the exact A of 01–04

    _, _, A = exact_values(mdp)
    g = torch.Generator().manual_seed(seed)
    weights = mdp.policy[mdp.start]
    out = {k: torch.zeros(len(lambdas), dtype=torch.float64) for k in ("bias2", "variance", "exact_bias2")}
    for a0 in range(len(weights)):
        ro = sample_rollouts(mdp, a0, n_rollouts, horizon, g)
        v, nv = critic[ro["states"][:-1]], critic[ro["states"][1:]]
        for j, lam in enumerate(lambdas):
            adv0 = gae_module.gae(ro["rewards"], v, nv, ro["terminated"], ro["truncated"], mdp.gamma, lam)[0]
            true = float(A[mdp.start, a0])
            out["bias2"][j] += weights[a0] * (float(adv0.mean()) - true) ** 2
            out["variance"][j] += weights[a0] * float(adv0.var())
            exact = expected_gae_first_step(mdp, critic, a0, lam, horizon)
            out["exact_bias2"][j] += weights[a0] * (exact - true) ** 2
    out["mse"] = out["bias2"] + out["variance"]
    return out
