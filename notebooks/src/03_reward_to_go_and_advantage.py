# %% [markdown]
# # 03 · Reward-to-go and advantage
#
# REINFORCE weights every action of an episode by the same number, the whole return $R(\tau)$.
# But an action cannot change rewards that came *before* it. Dropping them gives the
# reward-to-go; replacing the sampled future by its expectation gives $Q$, and subtracting the
# state's value gives the advantage $A = Q - V$. Each step keeps the gradient unbiased; we
# measure what each does to the variance, on the corridor MDP where Q, V and A are exact.
#
# **You will learn**
# 1. the reward-to-go $G_t$ and why past rewards can be dropped (causality), **with** the factor
#    $\gamma^t$ that most code leaves out, and what leaving it out costs;
# 2. $V$, $Q$ and $A = Q - V$, computed exactly by a linear solve;
# 3. the policy gradient in advantage form, and its closed form for a tabular softmax (which you
#    assemble yourself in Exercise 3.4);
# 4. the variance of the total-return, reward-to-go and advantage estimators, side by side, and
#    when the state value $V(s_t)$ is a good baseline;
# 5. how $\gamma$ shapes the values (with a slider).

# %%
import numpy as np
import torch

import ppo_edu as pe

tm, pg = pe.toy_mdps, pe.policy_gradient

# %% [markdown]
# ## 1. Reward-to-go
#
# The return *from step $t$ on*, discounted from $t$:
#
# $$G_t = \sum_{t'=t}^{T-1} \gamma^{t'-t}\, r_{t'} = r_t + \gamma\, G_{t+1}, \qquad G_T = 0. \tag{3.1}$$
#
# The recursion computes all $G_t$ in one backward pass; `pe.returns.discounted_returns` does it
# (and also handles batches of episodes, cut at each episode end):

# %%
# NBVAL_CHECK_OUTPUT
rewards = torch.tensor([-0.1, -0.1, -0.1, 1.0], dtype=torch.float64)
G = pe.returns.discounted_returns(rewards, gamma=0.9)
assert torch.isclose(G[0], pe.returns.total_return(rewards, 0.9))  # G_0 is the whole return R(τ)
print("rewards:", rewards.tolist())
print("G_t    :", np.round(G.numpy(), 4).tolist())

# %% [markdown]
# **Exercise 3.1.** Write the reward-to-go (3.1) of one episode (`rewards` is 1-D).

# %%
def reward_to_go(rewards, gamma):
    ### BEGIN SOLUTION
    out = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out
    ### END SOLUTION


pe.exercises.reward_to_go.check(reward_to_go)

# %% [markdown] tags=["solution-demo"]
# Two classic slips, and what the checker says about them: starting the sum at $t + 1$, and
# discounting from $t = 0$ instead of from $t$.

# %% tags=["solution-demo"]
def reward_to_go_off_by_one(rewards, gamma):
    out = torch.zeros_like(rewards)
    for t in range(len(rewards)):
        out[t] = sum(gamma ** (k - t - 1) * rewards[k] for k in range(t + 1, len(rewards)))
    return out


pe.exercises.reward_to_go.check(reward_to_go_off_by_one)

# %% tags=["solution-demo"]
def reward_to_go_discount_from_zero(rewards, gamma):
    return torch.stack([sum(gamma**k * rewards[k] for k in range(t, len(rewards))) for t in range(len(rewards))])


pe.exercises.reward_to_go.check(reward_to_go_discount_from_zero)

# %% [markdown]
# ## 2. Causality: an action only answers for the future
#
# Start from (1.7): $\nabla J = \mathbb{E}[\sum_t \nabla\log\pi(a_t \mid s_t) \cdot \sum_{t'} \gamma^{t'} r_{t'}]$. Take a
# reward that came *before* the action, $t' < t$. Given the history up to $s_t$, $r_{t'}$ is a fixed
# number, and $a_t$ is drawn from $\pi(\cdot \mid s_t)$, so by (2.1) (this is the condition (2.2') of notebook 02)
#
# $$\mathbb{E}\big[r_{t'}\, \nabla\log\pi_\theta(a_t\mid s_t)\big] = \mathbb{E}\Big[r_{t'}\; \underbrace{\mathbb{E}_{a_t\sim\pi(\cdot|s_t)}\big[\nabla\log\pi_\theta(a_t\mid s_t)\big]}_{=\,0}\Big] = 0 \qquad (t' < t).$$
#
# Those terms vanish *in expectation*, so we can drop them; what is left for step $t$ is
# $\sum_{t' \ge t} \gamma^{t'} r_{t'} = \gamma^t G_t$:
#
# $$\nabla_\theta J = \mathbb{E}\Big[\sum_t \gamma^t\, G_t\, \nabla_\theta\log\pi_\theta(a_t\mid s_t)\Big]. \tag{3.2}$$
#
# Mind the **$\gamma^t$** in front. The source notes (and nearly every implementation) weight step
# $t$ by $G_t$ alone. That is not the gradient of $J$: it over-weights late steps, the ones the
# discounted objective cares less about. With exact values we can compute what that estimator
# converges to, $\mathbb{E}[\sum_t G_t \nabla\log\pi(a_t \mid s_t)] = \sum_s d_1(s) \sum_a \pi(a \mid s)\, A(s, a)\, \nabla\log\pi(a \mid s)$,
# where $d_1(s)$ is the *undiscounted* expected number of visits (we derive the discounted version,
# (3.6), in section 4). In the tabular case that is $d_1(s)\,\pi(a \mid s)\,A(s, a)$:

# %%
# NBVAL_CHECK_OUTPUT
mdp = tm.corridor()
theta0 = torch.zeros(mdp.n_states, mdp.n_actions, dtype=torch.float64)
pi0 = tm.softmax_policy(theta0)
grad_exact = tm.exact_gradient(mdp, theta0)
visits_undiscounted = tm.discounted_visitation(mdp.with_gamma(1.0), pi0)
limit_without_gamma_t = visits_undiscounted[:, None] * pi0 * tm.advantages(mdp, pi0)
print("exact ∇J (right column):               ", np.round(grad_exact[:, 1].numpy(), 4))
print("what G_t-without-γ^t converges to:     ", np.round(limit_without_gamma_t[:, 1].numpy(), 4))
print(f"relative bias: {float((limit_without_gamma_t - grad_exact).norm() / grad_exact.norm()):.0%}")

# %% [markdown]
# Here the biased direction still points "right". Implementations drop $\gamma^t$ almost everywhere and
# still learn, but that is an observation, not a theorem: in general the resulting update is not
# the gradient of any objective (Nota & Thomas, "Is the policy gradient a gradient?", 2020). And
# it is a bias, not noise: more episodes do not remove it. Sampling confirms both limits
# (20 000 episodes):

# %%
# NBVAL_CHECK_OUTPUT
episodes = tm.sample_episodes(mdp, pi0, 20_000, torch.Generator().manual_seed(0))
T = episodes.rewards.shape[0]
w_rtg = pg.reward_to_go_weights(episodes.rewards, episodes.mask, mdp.gamma)  # γ^t G_t
w_no_gamma = w_rtg / (mdp.gamma ** torch.arange(T, dtype=torch.float64))[:, None]  # G_t alone


def z_score(estimates, target):
    """Largest |mean − target| in standard errors of the mean."""
    return float(((estimates.mean(0) - target).abs() / (estimates.std(0) / len(estimates) ** 0.5)).max())


est_rtg = pg.reinforce_estimates(theta0, episodes.states, episodes.actions, w_rtg, episodes.mask)
est_no_gamma = pg.reinforce_estimates(theta0, episodes.states, episodes.actions, w_no_gamma, episodes.mask)
assert z_score(est_rtg, grad_exact) < 4.5 and z_score(est_no_gamma, limit_without_gamma_t) < 4.5
assert z_score(est_no_gamma, grad_exact) > 8
print(f"γ^t G_t : {z_score(est_rtg, grad_exact):.1f} standard errors from ∇J")
print(f"G_t     : {z_score(est_no_gamma, grad_exact):.1f} standard errors from ∇J, "
      f"{z_score(est_no_gamma, limit_without_gamma_t):.1f} from its predicted limit")

# %% [markdown]
# ## 3. V, Q and A, exactly
#
# The expected reward-to-go, from a state or from a state and an action:
#
# $$V^\pi(s) = \mathbb{E}\big[G_t \mid s_t = s\big], \qquad Q^\pi(s, a) = \mathbb{E}\big[G_t \mid s_t = s, a_t = a\big] = r(s, a) + \gamma \sum_{s'} P(s'\mid s, a)\, V^\pi(s'), \tag{3.3}$$
#
# These are the values of notebook 00 (0.3), now for the reward-to-go from any step. $V$ comes
# from the linear solve (1.3), then $Q$ in one step. Their difference is the **advantage**,
#
# $$A^\pi(s, a) = Q^\pi(s, a) - V^\pi(s), \qquad \sum_a \pi(a\mid s)\, A^\pi(s, a) = 0, \tag{3.4}$$
#
# how much better $a$ is than the policy's average in $s$. (The sum is zero because
# $V(s) = \sum_a \pi(a \mid s)\, Q(s, a)$.)

# %%
# NBVAL_CHECK_OUTPUT
V = tm.state_values(mdp, pi0)
Q = tm.action_values(mdp, pi0)
A = tm.advantages(mdp, pi0)
assert torch.allclose((pi0 * Q).sum(1), V) and torch.allclose((pi0 * A).sum(1), torch.zeros(3, dtype=torch.float64))
print("V      :", np.round(V.numpy(), 4).tolist())
print("Q left :", np.round(Q[:, 0].numpy(), 4).tolist(), "  Q right:", np.round(Q[:, 1].numpy(), 4).tolist())
print("A right:", np.round(A[:, 1].numpy(), 4).tolist())

# %%
pe.plots.q_v_a(Q, V, A, mdp.state_names, mdp.action_names, mdp.gamma)

# %% [markdown]
# `right` has a positive advantage everywhere, most of all next to the goal. Move $\gamma$ and watch:
# with $\gamma = 0$ only the immediate reward counts, and only the last cell can tell the actions apart.

# %% tags=["nbval-ignore-output"]
def draw_values(gamma):
    m = mdp.with_gamma(gamma)
    return pe.plots.q_v_a(tm.action_values(m, pi0), tm.state_values(m, pi0), tm.advantages(m, pi0),
                          m.state_names, m.action_names, gamma)


pe.interactive.slider(draw_values, gamma=(0.0, 1.0, 0.05, 0.9))

# %%
# NBVAL_CHECK_OUTPUT
A_myopic = tm.advantages(mdp.with_gamma(0.0), pi0)
assert torch.allclose(A_myopic[:2], torch.zeros(2, 2, dtype=torch.float64)) and float(A_myopic[2, 1]) > 0
print("A(s, right) at γ = 0:", np.round(A_myopic[:, 1].numpy(), 4).tolist())

# %% [markdown]
# **Exercise 3.2.** Solve the Bellman equation (1.3) for $V$: given $P_\pi$ $(S \times S)$, $r_\pi$ $(S,)$ and $\gamma$,
# return $V = (I - \gamma P_\pi)^{-1} r_\pi$, without forming the inverse.

# %%
def state_values_solve(P_pi, r_pi, gamma):
    ### BEGIN SOLUTION
    identity = torch.eye(len(r_pi), dtype=r_pi.dtype)
    return torch.linalg.solve(identity - gamma * P_pi, r_pi)
    ### END SOLUTION


pe.exercises.state_values_solve.check(state_values_solve)

# %% [markdown]
# **Exercise 3.3.** Given $Q$ $(S \times A)$ and a policy $\pi$ $(S \times A)$, return the advantage (3.4).

# %%
def advantage_from_q(q, pi):
    ### BEGIN SOLUTION
    v = (pi * q).sum(dim=1, keepdim=True)
    return q - v
    ### END SOLUTION


pe.exercises.advantage_from_q.check(advantage_from_q)

# %% [markdown]
# ## 4. The policy gradient in advantage form
#
# In (3.2), $G_t$ is a sample whose expectation given $(s_t, a_t)$ is $Q(s_t, a_t)$ (3.3), and
# $\nabla\log\pi(a_t \mid s_t)$ depends only on $(s_t, a_t)$; so $G_t$ may be replaced by $Q(s_t, a_t)$ without
# changing the expectation. $V(s_t)$ depends only on the state, and a state-dependent baseline
# is unbiased by (2.2'). So
#
# $$\nabla_\theta J = \mathbb{E}\Big[\sum_t \gamma^t\, Q^\pi(s_t, a_t)\, \nabla\log\pi_\theta(a_t\mid s_t)\Big] = \mathbb{E}\Big[\sum_t \gamma^t\, A^\pi(s_t, a_t)\, \nabla\log\pi_\theta(a_t\mid s_t)\Big]. \tag{3.5}$$
#
# Gathering the expectation by state, with $d(s) = \sum_t \gamma^t \Pr(s_t = s)$ the discounted visits,
# $\nabla J = \sum_s d(s) \sum_a \pi(a \mid s)\, A(s, a)\, \nabla\log\pi(a \mid s)$, and for the tabular softmax (1.8) this collapses to
#
# $$\frac{\partial J}{\partial \theta[s, a]} = d^\pi(s)\, \pi_\theta(a\mid s)\, A^\pi(s, a). \tag{3.6}$$
#
# (This is the policy-gradient theorem that the source notes quote "∝" and skip the proof of;
# with the discounted visits $d$ and the $\gamma^t$ inside the expectation, it is an equality.)
# `pe.toy_mdps.policy_gradient_theorem` computes (3.6) with no autograd at all:

# %%
# NBVAL_CHECK_OUTPUT
theta_rand = torch.randn(3, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
pgt = tm.policy_gradient_theorem(mdp, theta_rand)
assert torch.allclose(pgt, tm.exact_gradient(mdp, theta_rand), atol=1e-12)
print("d(s)π(a|s)A(s,a) == autograd ∇J:", bool(torch.allclose(pgt, tm.exact_gradient(mdp, theta_rand))))

# %% [markdown]
# **Exercise 3.4** (assemble the theorem). Compute (3.6) yourself from the tables of an MDP:
# the transitions `P` $(S, A, S)$, the rewards `R` $= r(s, a)$ $(S, A)$, the start distribution
# `nu0` $= \nu_0$ $(S,)$, $\gamma$ and a policy `pi` $(S, A)$. You need three linear solves' worth of
# thinking: $V$ from (1.3), $Q$ from (3.3), and the discounted visits $d$. For $d$, first derive
# the equation it satisfies: the visits to $s'$ are the start there, plus the discounted visits to
# every $s$ times the chance of moving from $s$ to $s'$. Which matrix multiplies $d$ in that system,
# $I - \gamma P_\pi$ or its transpose?

# %%
def tabular_policy_gradient(P, R, nu0, gamma, pi):
    ### BEGIN SOLUTION
    S = len(nu0)
    P_pi = torch.einsum("sa,sat->st", pi, P)
    r_pi = (pi * R).sum(dim=1)
    identity = torch.eye(S, dtype=P.dtype)
    V = torch.linalg.solve(identity - gamma * P_pi, r_pi)
    Q = R + gamma * torch.einsum("sat,t->sa", P, V)
    d = torch.linalg.solve((identity - gamma * P_pi).T, nu0)  # d(s') = ν0(s') + γ Σ_s d(s) P_π(s, s')
    return d[:, None] * pi * (Q - V[:, None])
    ### END SOLUTION


pe.exercises.tabular_policy_gradient.check(tabular_policy_gradient)

# %% [markdown]
# ## 5. Five unbiased estimators, five variances
#
# All of these weights $\psi_t$ give the same expectation, $\nabla J$, in $\hat g(\tau) = \sum_t \psi_t \nabla\log\pi(a_t \mid s_t)$:
#
# | $\psi_t$ | from |
# |---|---|
# | $R(\tau)$ | (1.7), notebook 01 |
# | $\gamma^t G_t$ | (3.2), reward-to-go |
# | $\gamma^t (G_t - V(s_t))$ | (3.2) with a state baseline |
# | $\gamma^t Q(s_t, a_t)$ | (3.5) |
# | $\gamma^t A(s_t, a_t)$ | (3.5) |
#
# On the same 20 000 episodes: the total variance of a one-episode estimate, and the largest
# distance of the 20 000-episode average from the exact $\nabla J$, in standard errors (a few at most
# for an unbiased estimator; the biased $G_t$-without-$\gamma^t$ of section 2 was 22.6 away):

# %%
# NBVAL_CHECK_OUTPUT
states, actions, mask = episodes.states, episodes.actions, episodes.mask
weights = {
    "R(τ)": pg.total_return_weights(episodes.rewards, mask, mdp.gamma),
    "γ^t G_t": w_rtg,
    "γ^t (G_t − V(s_t))": w_rtg - pg.discount_weights(V[states], mask, mdp.gamma),
    "γ^t Q(s_t, a_t)": pg.discount_weights(Q[states, actions], mask, mdp.gamma),
    "γ^t A(s_t, a_t)": pg.discount_weights(A[states, actions], mask, mdp.gamma),
}
variances, z_scores = {}, {}
for name, w in weights.items():
    est = pg.reinforce_estimates(theta0, states, actions, w, mask)
    variances[name], z_scores[name] = float(pg.total_variance(est)), z_score(est, grad_exact)
    assert z_scores[name] < 4.5  # unbiased
    print(f"{name:<20} variance {variances[name]:.4f}   largest |mean − ∇J| = {z_scores[name]:.1f} s.e.")
v = list(variances.values())
assert v[0] > v[1] > v[3] and v[4] < v[1] / 3 and v[2] > v[1]  # V(s_t) as a baseline does not help G_t here
assert v[4] < v[3]  # but subtracting V(s_t) from Q does help: the Q → A rows

# %%
pe.plots.estimator_variances(list(variances), list(variances.values()))

# %% [markdown]
# What to notice:
# * dropping past rewards ($R(\tau) \to \gamma^t G_t$) cuts the variance by a third;
# * replacing the *sampled* future by its *expectation* ($G_t \to Q$ or $A$) cuts it by a further
#   factor of about 3. Given $(s_t, a_t)$ the corridor's reward $r_t$ is fixed; the noise that goes
#   is that of everything after the action: the slips and the later actions of the policy;
# * subtracting $V(s_t)$ from $Q$ **does** help: the $Q \to A$ rows, the same comparison as
#   $G_t \to G_t - V(s_t)$ without the sampled future's noise;
# * subtracting $V(s_t)$ from the sampled $G_t$ does not help here (it even adds a little). The
#   comparison is against the baseline $b = 0$, and the corridor's returns already sit near 0, so
#   0 is a fair baseline; $V$ is not the variance-minimising one either (notebook 02 found the best
#   constant, which is not the mean).
#
# Shift every reward by $+1$ (CartPole's situation, notebook 02 §4) and $b = 0$ becomes a bad
# baseline. The trajectories are the same (rewards do not steer the dynamics); $V$, $Q$ and $A$ are
# those of the shifted corridor:

# %%
# NBVAL_CHECK_OUTPUT
shifted = tm.corridor(step_reward=0.9, goal_reward=2.0)  # every reward + 1
V1, Q1, A1 = tm.state_values(shifted, pi0), tm.action_values(shifted, pi0), tm.advantages(shifted, pi0)
rewards1 = episodes.rewards + mask.double()  # the same episodes, every reward + 1
w_rtg1 = pg.reward_to_go_weights(rewards1, mask, mdp.gamma)
weights1 = {
    "γ^t G_t": w_rtg1,
    "γ^t (G_t − V(s_t))": w_rtg1 - pg.discount_weights(V1[states], mask, mdp.gamma),
    "γ^t Q(s_t, a_t)": pg.discount_weights(Q1[states, actions], mask, mdp.gamma),
    "γ^t A(s_t, a_t)": pg.discount_weights(A1[states, actions], mask, mdp.gamma),
}
grad1 = tm.exact_gradient(shifted, theta0)
var1 = {}
for name, w in weights1.items():
    est = pg.reinforce_estimates(theta0, states, actions, w, mask)
    var1[name] = float(pg.total_variance(est))
    assert z_score(est, grad1) < 4.5  # still unbiased
    print(f"every reward + 1, {name:<20} variance {var1[name]:.3f}")
assert var1["γ^t (G_t − V(s_t))"] < var1["γ^t G_t"] / 4 and var1["γ^t A(s_t, a_t)"] < var1["γ^t Q(s_t, a_t)"] / 10
print(f"V(s_t) as a baseline cuts the variance of γ^t G_t by a factor "
      f"{var1['γ^t G_t'] / var1['γ^t (G_t − V(s_t))']:.1f}")

# %% [markdown]
# Now $V(s_t)$ cuts the variance of $\gamma^t G_t$ by a factor of more than 5, and of $\gamma^t Q$ by a far
# larger one: a state baseline earns its keep when the returns carry an offset that a learner cannot
# tell apart from signal, which is the usual case. This is why actor-critic methods subtract a
# learned $V$.
#
# The source notes say subtracting $V(s)$ "removes a systematic bias". There is no bias to remove:
# every row above has the same expectation, $\nabla J$ (the largest distances from it are a few
# standard errors). A baseline can only change the variance, for the better (the shifted corridor,
# the $Q \to A$ rows) or, as the third row of the first table shows, not at all.
#
# In a real problem Q, V and A are unknown. Actor-critic methods learn V with a critic and
# estimate A from it (notebooks 06–07); that trades some bias for this lower variance.
#
# ## Recap
#
# * Reward-to-go $G_t = \sum_{t' \ge t} \gamma^{t'-t} r_{t'}$ (3.1); past rewards drop out of the gradient
#   in expectation, leaving $\nabla J = \mathbb{E}[\sum_t \gamma^t G_t \nabla\log \pi]$ (3.2). Without the $\gamma^t$ the estimate is
#   biased (measured: bias ≫ noise at 20 000 episodes), here in a harmless direction.
# * $V$, $Q$, $A = Q - V$ come exactly from a linear solve (3.3)–(3.4); $\sum_a \pi A = 0$.
# * $\nabla J = \mathbb{E}[\sum_t \gamma^t A(s_t, a_t) \nabla\log \pi(a_t \mid s_t)]$ (3.5); for a tabular softmax
#   $\partial J/\partial\theta[s, a] = d(s)\,\pi(a \mid s)\,A(s, a)$ (3.6), equal to autograd.
# * All five estimators are unbiased; their variances differ by a factor of five, the exact
#   advantage being the lowest here. $V(s_t)$ helps $Q$ (the $Q \to A$ rows) always, and helps the
#   sampled $G_t$ when the returns carry an offset (every reward $+1$: a factor of more than 5).
#
# Next: **04 · importance sampling**, reusing episodes collected by an older policy.
