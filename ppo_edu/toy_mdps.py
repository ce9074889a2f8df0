"""Small MDPs with exact solutions: the ground truth that estimators are measured against.

Sections follow the notebooks that use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .validate import as_tensor, check_finite, check_int, check_ndim, check_unit_interval

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

    ``R[s, a]`` is the *mean* reward; samplers add Gaussian noise of standard deviation
    ``reward_std`` (0: rewards are exactly ``R``). Every notebook's toy MDP has this one form.
    """

    P: Tensor
    R: Tensor
    mu0: Tensor
    gamma: float
    state_names: tuple[str, ...] = ()
    action_names: tuple[str, ...] = ()
    reward_std: float = 0.0

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
        if not float(self.reward_std) >= 0.0 or not torch.isfinite(torch.tensor(float(self.reward_std))):
            raise ValueError(f"reward_std: expected a finite number >= 0, got {self.reward_std!r}")
        object.__setattr__(self, "reward_std", float(self.reward_std))
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
        return TabularMDP(self.P, self.R, self.mu0, gamma, self.state_names, self.action_names, self.reward_std)


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


def max_kl(theta_old: Any, theta: Any) -> Tensor:
    """KL_max = max_s KL(π_old(·|s) ‖ π_θ(·|s)) for tabular softmax policies (TRPO's D_KL^max).

    Shapes:
        theta_old, theta: (S, A);  result: ().
    """
    logp_old, logp = torch.log_softmax(_theta(theta_old), -1), torch.log_softmax(_theta(theta), -1)
    if logp.shape != logp_old.shape:
        raise ValueError(f"theta: expected the shape of theta_old {tuple(logp_old.shape)}, got {tuple(logp.shape)}")
    return (logp_old.exp() * (logp_old - logp)).sum(-1).max()


def trpo_lower_bound(mdp: TabularMDP, theta: Any, theta_old: Any) -> Tensor:
    """TRPO's guaranteed lower bound on the gain, L_θold(θ) − C·KL_max, C = 4 ε γ/(1 − γ)², ε = max |A_old|.

    Schulman et al. (2015), Theorem 1: J(θ) − J(θ_old) ≥ L_θold(θ) − C·KL_max(θ_old, θ), eq. (4.9).

    Shapes:
        theta, theta_old: (S, A);  result: ().
    """
    if mdp.gamma >= 1:
        raise ValueError(f"mdp: the bound needs γ < 1, got γ = {mdp.gamma}")
    eps = float(advantages(mdp, softmax_policy(_theta(theta_old, mdp))).abs().max())
    C = 4 * eps * mdp.gamma / (1 - mdp.gamma) ** 2
    return surrogate_objective(mdp, theta, theta_old) - C * max_kl(theta_old, theta)


def mean_tv_lower_bound(mdp: TabularMDP, theta: Any, theta_old: Any) -> Tensor:
    """The bound with the *average* distance (Achiam et al. 2017, Corollary 1), eq. (4.10):

    J(θ) − J(θ_old) ≥ L_θold(θ) − 2γε/(1 − γ) · Σ_s d^old(s) TV_s,  ε = max_s |Σ_a π_θ(a|s) A^old(s, a)|,
    TV_s = ½ Σ_a |π_θ(a|s) − π_old(a|s)|, with d^old the unnormalised discounted visits of :func:`discounted_visitation`
    (the paper's (1 − γ)-normalised d, times 1/(1 − γ)). Terminal states count as absorbing, where both
    policies agree and the advantage is 0, so the sum runs over the states of the table.

    Shapes:
        theta, theta_old: (S, A);  result: ().
    """
    if mdp.gamma >= 1:
        raise ValueError(f"mdp: the bound needs γ < 1, got γ = {mdp.gamma}")
    pi_old = softmax_policy(_theta(theta_old, mdp)).detach()
    pi = softmax_policy(_theta(theta, mdp))
    if pi.shape != pi_old.shape:
        raise ValueError(f"theta: expected the shape of theta_old {tuple(pi_old.shape)}, got {tuple(pi.shape)}")
    eps = (pi * advantages(mdp, pi_old)).sum(-1).abs().max()
    tv = 0.5 * (pi - pi_old).abs().sum(-1)
    penalty = 2 * mdp.gamma * eps / (1 - mdp.gamma) * (discounted_visitation(mdp, pi_old) @ tv)
    return surrogate_objective(mdp, theta, theta_old) - penalty


def trajectory_ess_fraction(mdp: TabularMDP, target: Any, behaviour: Any) -> Tensor:
    """The exact large-N ESS/N of whole-episode weights W(τ) = Π_t π(a_t|s_t)/μ(a_t|s_t), τ ~ μ: 1/E_μ[W²].

    With k(s, a) = π(a|s)²/μ(a|s), the second moment from state s, M(s) = E_μ[W² | s_0 = s], obeys
    M(s) = Σ_a k(s, a) [(1 − Σ_s' P(s'|s, a)) + Σ_s' P(s'|s, a) M(s')]: one linear solve, then
    E_μ[W²] = μ0ᵀM. Where that recursion does not converge (spectral radius of Σ_a k P at least 1)
    E_μ[W²] is infinite and the fraction is 0.

    Shapes:
        target, behaviour: (S, A) probabilities;  result: ().
    """
    pi, mu = _policy(mdp, target), _policy(mdp, behaviour)
    if bool(((mu == 0) & (pi > 0)).any()):
        raise ValueError("behaviour: expected μ(a|s) > 0 wherever π(a|s) > 0 (otherwise IS cannot see those actions)")
    k = torch.where(pi > 0, pi**2 / mu.clamp_min(torch.finfo(mu.dtype).tiny), torch.zeros_like(pi))
    K = torch.einsum("sa,sat->st", k, mdp.P)
    if float(torch.linalg.eigvals(K).abs().max()) >= 1.0:
        return torch.tensor(0.0, dtype=torch.float64)
    M = torch.linalg.solve(torch.eye(mdp.n_states, dtype=torch.float64) - K, (k * (1 - mdp.P.sum(-1))).sum(-1))
    return 1 / (mdp.mu0 @ M)


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

    def split(self) -> list[tuple[Tensor, Tensor]]:
        """The episodes as a list of ``(states, rewards)`` pairs, each of its own length (06's format).

        Raises if an episode was truncated: the Monte-Carlo return of a cut episode is not known.

        Shapes:
            each states: (T_n,) int64;  each rewards: (T_n,) float64.
        """
        if bool(self.truncated.any()):
            raise ValueError(f"episodes: {int(self.truncated.sum())} episode(s) were truncated at max_steps; "
                             "sample with a larger max_steps")
        return [(self.states[:T, n], self.rewards[:T, n]) for n, T in enumerate(self.lengths.tolist())]


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
        r = mdp.R[s, a]
        if mdp.reward_std > 0:
            r = r + mdp.reward_std * torch.randn(N, generator=generator, dtype=torch.float64)
        rewards.append(torch.where(alive, r, 0.0))
        masks.append(alive.clone())
        alive = alive & (nxt < S)
        if not bool(alive.any()):
            break
        s = torch.where(alive, nxt, 0)
    return Episodes(torch.stack(states), torch.stack(actions), torch.stack(rewards), torch.stack(masks), alive.clone())


# --- 06–07 the random walk and the GAE study MDP, in the same tabular form -------------------
# The 5-state random walk (Sutton & Barto, Example 6.2) is a TabularMDP with actions
# ``left``/``right`` between two terminals, walked with the uniform policy: start in the middle,
# the only reward is +1 for leaving on the right. With γ = 1, V(i) = (i + 1)/(n + 1), the
# probability of leaving on the right. Its exact values are ``state_values(walk, uniform_policy(walk))``.


def uniform_policy(mdp: TabularMDP) -> Tensor:
    """π(a|s) = 1/A in every state (the random walk's ½/½ policy).

    Shapes:
        result: (S, A), float64.
    """
    return torch.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions, dtype=torch.float64)


def random_walk(n_states: int = 5, gamma: float = 1.0) -> TabularMDP:
    """The random walk of notebook 06 as a :class:`TabularMDP`: ``n_states`` cells between two terminals.

    ``left`` and ``right`` move one cell; leaving on the left ends the episode with reward 0, leaving
    on the right with reward +1; every other step pays 0. Episodes start in cell ``n_states // 2``.
    Walked with :func:`uniform_policy`, V(i) = (i + 1)/(n + 1) for γ = 1, eq. (6.1).

    Shapes:
        P: (n, 2, n);  R: (n, 2);  mu0: (n,).
    """
    n = check_int("n_states", n_states)
    P = torch.zeros(n, 2, n, dtype=torch.float64)
    for s in range(n):
        if s > 0:
            P[s, 0, s - 1] = 1.0
        if s < n - 1:
            P[s, 1, s + 1] = 1.0
    R = torch.zeros(n, 2, dtype=torch.float64)
    R[n - 1, 1] = 1.0
    mu0 = torch.zeros(n, dtype=torch.float64)
    mu0[n // 2] = 1.0
    return TabularMDP(P, R, mu0, gamma, tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"[s] if n <= 26 else f"s{s}" for s in range(n)),
                      ("left", "right"))


def gae_study_mdp(n_states: int = 6, n_actions: int = 2, seed: int = 0) -> tuple[TabularMDP, Tensor]:
    """The seeded random MDP of notebook 07's bias/variance study and its fixed stochastic policy.

    Every step ends the episode with probability 8–20 % (≈ 8 steps per episode), rewards are
    noisy (``reward_std`` = 1), γ = 0.95 and episodes start in state 0.

    Shapes:
        returns ``(mdp, pi)`` with pi: (S, A).
    """
    n = check_int("n_states", n_states)
    g = torch.Generator().manual_seed(seed)
    transition = torch.rand(n, n_actions, n, generator=g, dtype=torch.float64) ** 3
    transition = transition / transition.sum(-1, keepdim=True)
    reward_mean = torch.randn(n, n_actions, generator=g, dtype=torch.float64)
    terminate = 0.08 + 0.12 * torch.rand(n, n_actions, generator=g, dtype=torch.float64)
    logits = torch.randn(n, n_actions, generator=g, dtype=torch.float64)
    mu0 = torch.zeros(n, dtype=torch.float64)
    mu0[0] = 1.0
    mdp = TabularMDP((1 - terminate).unsqueeze(-1) * transition, reward_mean, mu0, 0.95, reward_std=1.0)
    return mdp, torch.softmax(logits, -1)


def start_state(mdp: TabularMDP) -> int:
    """The start state of an MDP whose episodes all start in one state (μ0 one-hot)."""
    s = int(mdp.mu0.argmax())
    if float(mdp.mu0[s]) != 1.0:
        raise ValueError(f"mdp: expected a single start state (mu0 one-hot), got mu0 = {mdp.mu0.tolist()}")
    return s


def _first_action(mdp: TabularMDP, first_action: int) -> int:
    if isinstance(first_action, bool) or not isinstance(first_action, int) or not 0 <= first_action < mdp.n_actions:
        raise ValueError(f"first_action: expected an action in [0, {mdp.n_actions}), got {first_action!r}")
    return first_action


def sample_rollouts(
    mdp: TabularMDP, pi: Any, first_action: int, n_rollouts: int, horizon: int,
    generator: torch.Generator | None = None,
) -> dict[str, Tensor]:
    """Run ``n_rollouts`` episodes from the start state whose first action is ``first_action``.

    Later actions follow ``pi``. Every episode runs until it terminates or reaches ``horizon``
    steps (then it is truncated). Steps after an episode's end are padding: reward 0, ``alive``
    False, flagged terminated. Rewards are R[s, a] + ``mdp.reward_std`` · N(0, 1).

    Shapes:
        pi: (S, A);  returns ``states`` (T+1, N) (the last row is the state after step T−1),
        ``actions``, ``rewards``, ``terminated``, ``truncated``, ``alive``: (T, N), T = horizon.
    """
    p = _policy(mdp, pi).detach()
    a_first, s0 = _first_action(mdp, first_action), start_state(mdp)
    N, T = check_int("n_rollouts", n_rollouts), check_int("horizon", horizon)
    end_prob = 1 - mdp.P.sum(-1)  # (S, A): the chance that the step ends the episode
    next_w = torch.where(mdp.P.sum(-1, keepdim=True) > 0, mdp.P, 1.0)  # next state (irrelevant when it ends)
    states = torch.full((T + 1, N), s0, dtype=torch.int64)
    actions = torch.zeros(T, N, dtype=torch.int64)
    rewards = torch.zeros(T, N, dtype=torch.float64)
    terminated = torch.zeros(T, N, dtype=torch.bool)
    alive = torch.zeros(T, N, dtype=torch.bool)
    live = torch.ones(N, dtype=torch.bool)
    for t in range(T):
        s = states[t]
        a = torch.full_like(s, a_first)
        if t > 0:
            a = torch.multinomial(p[s], 1, generator=generator).squeeze(-1)
        noise = torch.randn(N, generator=generator, dtype=torch.float64)
        ends = torch.rand(N, generator=generator, dtype=torch.float64) < end_prob[s, a]
        nxt = torch.multinomial(next_w[s, a], 1, generator=generator).squeeze(-1)
        actions[t], alive[t] = a, live
        rewards[t] = torch.where(live, mdp.R[s, a] + mdp.reward_std * noise, 0.0)
        terminated[t] = ends | ~live
        states[t + 1] = nxt
        live = live & ~ends
    truncated = torch.zeros_like(terminated)
    truncated[-1] = live
    return {"states": states, "actions": actions, "rewards": rewards, "terminated": terminated,
            "truncated": truncated, "alive": alive}


def _expected_delta_terms(mdp: TabularMDP, p: Tensor, first_action: int, horizon: int) -> tuple[Tensor, Tensor]:
    """E[δ_l] = r̄_l + (γ d_{l+1} − d_l) · V̂ for l < horizon: returns r̄ (H,) and the critic weights (H, S)."""
    S = mdp.n_states
    d = torch.zeros(S, dtype=torch.float64)
    d[start_state(mdp)] = 1.0
    pi0 = torch.zeros_like(p)
    pi0[:, first_action] = 1.0
    r_bar, coef = [], []
    for step in range(check_int("horizon", horizon)):
        pi_l = pi0 if step == 0 else p
        d_next = torch.einsum("s,sa,sat->t", d, pi_l, mdp.P)
        r_bar.append((d.unsqueeze(-1) * pi_l * mdp.R).sum())
        coef.append(mdp.gamma * d_next - d)
        d = d_next
    return torch.stack(r_bar), torch.stack(coef)


def _check_critic(mdp: TabularMDP, critic: Any) -> Tensor:
    c = check_finite("critic", as_tensor("critic", critic, torch.float64))
    if c.ndim not in (1, 2) or c.shape[-1] != mdp.n_states:
        raise ValueError(f"critic: expected shape ({mdp.n_states},) or (C, {mdp.n_states}), got {tuple(c.shape)}")
    return c


def expected_gae_first_step(
    mdp: TabularMDP, pi: Any, critic: Tensor, first_action: int, lam: float, horizon: int
) -> float:
    """Exact E[Â_0 | s_0 = start, a_0 = first_action] of GAE(γ, λ) with a given critic V̂.

    E[δ_l] is propagated through the state distribution d_l (the probability of being alive
    in each state at step l): E[Â_0] = Σ_l (γλ)^l Σ_s [d_l(s) (r̄_π(s) − V̂(s)) + γ d_{l+1}(s) V̂(s)],
    with the first step's action fixed and truncation after ``horizon`` steps bootstrapped.

    Shapes:
        pi: (S, A);  critic: (S,).
    """
    lam = check_unit_interval("lam", lam)
    p = _policy(mdp, pi).detach()
    a_first = _first_action(mdp, first_action)
    if tuple(critic.shape) != (mdp.n_states,):
        raise ValueError(f"critic: expected shape ({mdp.n_states},), got {tuple(critic.shape)}")
    r_bar, coef = _expected_delta_terms(mdp, p, a_first, horizon)
    weights = (mdp.gamma * lam) ** torch.arange(len(r_bar), dtype=torch.float64)
    return float(weights @ (r_bar + coef @ _check_critic(mdp, critic)))


def imperfect_critic(mdp: TabularMDP, pi: Any, error_scale: float = 1.0, seed: int = 0) -> Tensor:
    """V̂ = V + e: the exact values plus a fixed, seeded error e(s) ~ N(0, scale²), with e(start) = 0.

    The error is zero at the start state, where the advantages are measured: an error in V̂(s_0)
    only shifts Â_0 by a constant that acts as a baseline (it does not bias the policy gradient),
    so any bias that matters comes from bootstrapping on the wrong values of the states that follow.

    Shapes:
        pi: (S, A);  result: (S,).
    """
    V = state_values(mdp, pi)
    e = float(error_scale) * torch.randn(len(V), generator=torch.Generator().manual_seed(seed), dtype=V.dtype)
    e[start_state(mdp)] = 0.0
    return V + e


def gae_bias_variance(
    mdp: TabularMDP, pi: Any, critic: Tensor, lambdas: list[float], n_rollouts: int, horizon: int = 80,
    seed: int = 0,
) -> dict[str, Tensor]:
    """Measured bias² and variance of the GAE estimate Â_0 of A(start, a_0), for each λ (and each critic).

    For each first action a, ``n_rollouts`` episodes are sampled once and every λ (and every
    critic) is evaluated on the same episodes. Per action, bias_a = mean(Â_0) − A(start, a) and
    var_a = Var(Â_0); both are averaged over a with the policy's weights π(a|start).
    ``exact_bias2`` is the same average with E[Â_0] computed exactly (:func:`expected_gae_first_step`).

    Â_0 = Σ_l (γλ)^l (Π_{k<l} (1 − done_k)) δ_l is the first row of the GAE recursion (7.3), here
    summed directly so that many critics cost little more than one.

    Shapes:
        critic: (S,) or (C, S);  returns ``bias2``, ``variance``, ``mse`` (= bias2 + variance) and
        ``exact_bias2``, each (len(lambdas),) or (C, len(lambdas)).
    """
    p = _policy(mdp, pi).detach()
    c = _check_critic(mdp, critic)
    c2 = c if c.ndim == 2 else c[None]
    lams = torch.tensor([check_unit_interval("lam", lam) for lam in lambdas], dtype=torch.float64)
    A, s0 = advantages(mdp, p), start_state(mdp)
    g = torch.Generator().manual_seed(seed)
    weights = p[s0]
    out = {k: torch.zeros(len(c2), len(lams), dtype=torch.float64) for k in ("bias2", "variance", "exact_bias2")}
    for a0 in range(len(weights)):
        ro = sample_rollouts(mdp, p, a0, n_rollouts, horizon, g)
        cont = (~ro["terminated"]).to(torch.float64)  # (T, N); padding is flagged terminated
        done = (ro["terminated"] | ro["truncated"]).to(torch.float64)
        alive_before = torch.cumprod(torch.cat([torch.ones_like(done[:1]), 1 - done[:-1]]), 0)  # Π_{k<l} (1 − done_k)
        T, N = done.shape
        steps = torch.arange(T, dtype=torch.float64)
        col = torch.arange(N).expand(T, N)
        r_bar, coef = _expected_delta_terms(mdp, p, a0, horizon)
        true = float(A[s0, a0])
        for j, lam in enumerate(lams):
            w = (mdp.gamma * lam) ** steps[:, None] * alive_before  # (T, N): the weight of δ_l in Â_0
            # Â_0 is linear in the critic: Â_0 = Σ_l w_l r_l + B V̂, B[n, s] = Σ_l w_l (γ cont_l [s_{l+1} = s] − [s_l = s])
            B = torch.zeros(N, mdp.n_states, dtype=torch.float64)
            B.index_put_((col.flatten(), ro["states"][1:].flatten()), (mdp.gamma * cont * w).flatten(), accumulate=True)
            B.index_put_((col.flatten(), ro["states"][:-1].flatten()), -w.flatten(), accumulate=True)
            adv0 = (w * ro["rewards"]).sum(0) + c2 @ B.T  # (C, N)
            out["bias2"][:, j] += weights[a0] * (adv0.mean(-1) - true) ** 2
            out["variance"][:, j] += weights[a0] * adv0.var(-1)
            discount = (mdp.gamma * lam) ** steps
            exact = discount @ r_bar + (coef @ c2.T).T @ discount  # (C,)
            out["exact_bias2"][:, j] += weights[a0] * (exact - true) ** 2
    out["mse"] = out["bias2"] + out["variance"]
    return out if c.ndim == 2 else {k: v[0] for k, v in out.items()}
