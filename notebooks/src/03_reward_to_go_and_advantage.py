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

# %% [markdown]
# Mind the **$\gamma^t$** in front. The source notes (and nearly every implementation) weight step
# $t$ by $G_t$ alone. That is not the gradient of $J$: it over-weights late steps, the ones the
# discounted objective cares less about. With exact values we can compute what that estimator
# converges to, $\mathbb{E}[\sum_t G_t \nabla\log\pi(a_t \mid s_t)] = \sum_s d_1(s) \sum_a \pi(a \mid s)\, A(s, a)\, \nabla\log\pi(a \mid s)$,
# where $d_1(s)$ is the *undiscounted* expected number of visits (we derive the discounted version,
# (3.6), in section 4). In the tabular case that is $d_1(s)\,\pi(a \mid s)\,A(s, a)$. Besides the
# relative error against $\nabla J$ we print the cosine between the two and their ratio of lengths
# (a change of length alone is absorbed by the step size), and the relative error against the
# gradient of the *undiscounted* return, $\nabla J_{\gamma=1}$:

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
grad_undiscounted = tm.exact_gradient(mdp.with_gamma(1.0), theta0)  # ∇ of E[Σ_t r_t]
cos_limit = float((limit_without_gamma_t * grad_exact).sum() / (limit_without_gamma_t.norm() * grad_exact.norm()))
length_ratio = float(limit_without_gamma_t.norm() / grad_exact.norm())
error_undiscounted = float((limit_without_gamma_t - grad_undiscounted).norm() / grad_undiscounted.norm())
assert cos_limit > 0.99 and 1.3 < length_ratio < 1.5
print(f"relative bias against ∇J: {float((limit_without_gamma_t - grad_exact).norm() / grad_exact.norm()):.0%}")
print(f"cos(limit, ∇J) = {cos_limit:.3f}   ‖limit‖ / ‖∇J‖ = {length_ratio:.2f}")
print(f"relative error against the undiscounted gradient ∇J_(γ=1): {error_undiscounted:.0%}")

# %% [markdown]
# Nearly all of the 43 % is a change of length: the limit points almost the same way as $\nabla J$
# (cosine 0.998) and is 1.42 times as long, which a step size absorbs. In Schulman et al.'s GAE
# paper (2016, §2) the objective is the *undiscounted* return and $\gamma$ is a knob that lowers
# the variance at the price of some bias; under that reading dropping $\gamma^t$ is natural, and the
# limit is a biased estimate of $\nabla J_{\gamma=1}$ (16 % off here) instead of $\nabla J$. Implementations
# drop $\gamma^t$ almost everywhere and still learn, but that is an observation, not a theorem: in general the resulting update is not
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
assert v[0] > v[1] > v[3] > v[4] and v[4] < v[1] / 3  # (rows 2 and 3 are compared over many sets below)

# %%
pe.plots.estimator_variances(list(variances), list(variances.values()))

# %% [markdown]
# That is one sample of 20 000 episodes. To see which differences are more than sampling noise,
# repeat it on 20 independent sets of 20 000 episodes (seeds 0 to 19; seed 0 is the set above)
# and give, for each ratio of variances, the mean over the sets and a 95 % interval (Student's $t$
# with 19 degrees of freedom: mean ± 2.09 standard errors):

# %%
# NBVAL_CHECK_OUTPUT
n_sets, t_quantile = 20, 2.093  # t_{0.975} for 19 degrees of freedom
per_set = []  # one row per set: the five variances, then (own, cross) for γ^t G_t and γ^t (G_t − V(s_t))
for seed in range(n_sets):
    eps_k = tm.sample_episodes(mdp, pi0, 20_000, torch.Generator().manual_seed(seed))
    s_k, a_k, m_k = eps_k.states, eps_k.actions, eps_k.mask
    rtg_k = pg.reward_to_go_weights(eps_k.rewards, m_k, mdp.gamma)
    w_k = [pg.total_return_weights(eps_k.rewards, m_k, mdp.gamma), rtg_k,
           rtg_k - pg.discount_weights(V[s_k], m_k, mdp.gamma),
           pg.discount_weights(Q[s_k, a_k], m_k, mdp.gamma), pg.discount_weights(A[s_k, a_k], m_k, mdp.gamma)]
    row = [float(pg.total_variance(pg.reinforce_estimates(theta0, s_k, a_k, w, m_k))) for w in w_k]
    for w in w_k[1:3]:
        row += pg.second_moment_split(theta0, s_k, a_k, w, m_k).mean(0).tolist()
    per_set.append(row)
per_set = torch.tensor(per_set, dtype=torch.float64)
assert torch.allclose(per_set[0, :5], torch.tensor(v, dtype=torch.float64))  # seed 0 is the table above


def t_interval(x):
    """Mean and 95 % interval over the sets, x: (n_sets,)."""
    half = t_quantile * float(x.std()) / len(x) ** 0.5
    return float(x.mean()), float(x.mean()) - half, float(x.mean()) + half


ratios = {
    "γ^t G_t / R(τ)": per_set[:, 1] / per_set[:, 0],
    "γ^t Q / γ^t G_t": per_set[:, 3] / per_set[:, 1],
    "γ^t A / γ^t G_t": per_set[:, 4] / per_set[:, 1],
    "γ^t A / γ^t Q": per_set[:, 4] / per_set[:, 3],
    "γ^t A / R(τ)": per_set[:, 4] / per_set[:, 0],
    "γ^t (G_t − V(s_t)) / γ^t G_t": per_set[:, 2] / per_set[:, 1],
}
ci = {name: t_interval(x) for name, x in ratios.items()}
for name, (mean, lo, hi) in ci.items():
    print(f"variance ratio {name:<30} {mean:.3f}   95% interval [{lo:.3f}, {hi:.3f}]")
assert 0.6 < ci["γ^t G_t / R(τ)"][1] and ci["γ^t G_t / R(τ)"][2] < 0.7  # a third less
assert ci["γ^t A / γ^t G_t"][2] < 1 / 3 < ci["γ^t Q / γ^t G_t"][1] < ci["γ^t Q / γ^t G_t"][2] < 0.4  # G_t → Q, A
assert ci["γ^t A / γ^t Q"][2] < 0.85  # V(s_t) helps Q
assert 1 < ci["γ^t (G_t − V(s_t)) / γ^t G_t"][1] < ci["γ^t (G_t − V(s_t)) / γ^t G_t"][2] < 1.03  # a little worse

# %% [markdown]
# Why does $V(s_t)$ not help the sampled $G_t$? Write the squared length of one estimate,
# $\lVert\hat g\rVert^2 = \lVert\sum_t \psi_t \nabla\log\pi(a_t \mid s_t)\rVert^2$, as each step's own term
# $\sum_t \psi_t^2 \lVert\nabla\log\pi(a_t \mid s_t)\rVert^2$ plus the cross terms
# $\sum_{t \ne t'} \psi_t \psi_{t'} \langle\nabla\log\pi(a_t \mid s_t), \nabla\log\pi(a_{t'} \mid s_{t'})\rangle$ between two steps of one
# episode (in the tabular case only two visits to the same state have a cross term: a step's
# score lives in its state's row). Averaged over episodes the two parts add up to $\mathbb{E}\lVert\hat g\rVert^2$,
# and the variance is that minus $\lVert\nabla J\rVert^2$, which is the same for both rows.
# `pe.policy_gradient.second_moment_split` computes the two parts (set 0, and the ratios over the 20 sets):

# %%
# NBVAL_CHECK_OUTPUT
own_G, cross_G, own_V, cross_V = per_set[0, 5:].tolist()
print(f"γ^t G_t            : own terms {own_G:.3f}   cross terms {cross_G:.3f}   sum {own_G + cross_G:.3f}")
print(f"γ^t (G_t − V(s_t)) : own terms {own_V:.3f}   cross terms {cross_V:.3f}   sum {own_V + cross_V:.3f}")
own_ratio, cross_ratio = t_interval(per_set[:, 7] / per_set[:, 5]), t_interval(per_set[:, 8] / per_set[:, 6])
print(f"over the 20 sets: own terms × {own_ratio[0]:.3f} [{own_ratio[1]:.3f}, {own_ratio[2]:.3f}],   "
      f"cross terms × {cross_ratio[0]:.2f} [{cross_ratio[1]:.2f}, {cross_ratio[2]:.2f}]")
net = (own_V + cross_V) - (own_G + cross_G)
print(f"set 0: own terms {own_V - own_G:+.3f}, cross terms {cross_V - cross_G:+.3f}, net {net:+.3f}")
assert own_ratio[2] < 0.9 and cross_ratio[1] > 2.5  # V(s_t) lowers the own terms, raises the cross terms
assert abs(net) < 0.15 * (own_G - own_V)  # and the two changes nearly cancel

# %% [markdown]
# What to notice:
# * dropping past rewards ($R(\tau) \to \gamma^t G_t$) cuts the variance by a third (ratio 0.65 over the
#   20 sets);
# * replacing the *sampled* future by its *expectation* ($G_t \to Q$ or $A$) cuts it by a further
#   factor of about 3 (ratios 0.37 and 0.30). Given $(s_t, a_t)$ the corridor's reward $r_t$ is fixed; the
#   noise that goes is that of everything after the action: the slips and the later actions of the policy;
# * subtracting $V(s_t)$ from $Q$ **does** help: the $Q \to A$ rows (ratio 0.81), the same comparison as
#   $G_t \to G_t - V(s_t)$ without the sampled future's noise;
# * subtracting $V(s_t)$ from the sampled $G_t$ does not help here: over the 20 sets it raises the
#   variance by about 1 % (ratio 1.012, interval 1.009 to 1.016). $V(s_t)$ lowers each step's own
#   term by 17 % (0.188 → 0.156 in set 0) but makes the cross terms between steps of one episode
#   more than three times as large (0.014 → 0.049 in set 0; × 3.21 over the 20 sets), and the two
#   changes, −0.032 and +0.036, nearly cancel, leaving that small increase. Nor is $V$ the
#   variance-minimising state baseline in general: Greensmith, Bartlett & Baxter (2004) derive the
#   best one, which weights $Q$ by $\lVert\nabla\log\pi\rVert^2$, and show that any other baseline pays a
#   weighted squared distance to it. (Notebook 02's $b^*$ is a different thing: the best *constant*
#   for the whole return $R(\tau)$.)
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
# the $Q \to A$ rows) or for the worse (notebook 02's $b = 1$: 0.276 → 2.276; slightly, the
# $G_t \to G_t - V(s_t)$ rows of the first table).
#
# Even subtracting $V$ from the exact $Q$ can raise the variance. A one-step bandit with
# $\pi = (\tfrac14, \tfrac34)$ and $Q = (-1, 1)$ has $V = \tfrac12$; `pe.policy_gradient.bandit_estimator_variance` gives
# the exact variance of $(Q(a) - b)\,\nabla\log\pi(a)$, and notebook 02's bandit $b^*$ (Exercise 2.3)
# the best constant:

# %%
# NBVAL_CHECK_OUTPUT
bandit_logits = torch.tensor([0.0, np.log(3.0)], dtype=torch.float64)  # π = (1/4, 3/4)
bandit_q = torch.tensor([-1.0, 1.0], dtype=torch.float64)
bandit_v = float((torch.softmax(bandit_logits, 0) * bandit_q).sum())
bandit_best = float(pg.bandit_optimal_baseline(bandit_logits, bandit_q))
bandit_var = {name: float(pg.bandit_estimator_variance(bandit_logits, bandit_q, b))
              for name, b in (("b = 0", 0.0), (f"b = V = {bandit_v:.2f}", bandit_v), (f"b = b* = {bandit_best:.2f}", bandit_best))}
for name, var_b in bandit_var.items():
    print(f"bandit, {name:<12}: variance {max(var_b, 0.0):.4f}")
assert abs(bandit_var["b = 0"] - 3 / 32) < 1e-12 and abs(bandit_var[f"b = V = {bandit_v:.2f}"] - 3 / 8) < 1e-12
assert abs(bandit_best + 0.5) < 1e-12 and bandit_var[f"b = b* = {bandit_best:.2f}"] < 1e-12

# %% [markdown]
# $V$ raises the variance fourfold, $3/32 \to 3/8$, while the best constant, $b^* = -\tfrac12$, removes it
# completely (with two actions both estimates are then the same vector, $\nabla J$). $V$ weights $Q$ by
# $\pi$; $b^*$ weights it by $\pi\,\lVert\nabla\log\pi\rVert^2$, and the rare action's score is long.
#
# In a real problem Q, V and A are unknown. Actor-critic methods learn V with a critic and
# estimate A from it (notebooks 06–07); that trades some bias for this lower variance.
#
# ## Recap
#
# * Reward-to-go $G_t = \sum_{t' \ge t} \gamma^{t'-t} r_{t'}$ (3.1); past rewards drop out of the gradient
#   in expectation, leaving $\nabla J = \mathbb{E}[\sum_t \gamma^t G_t \nabla\log \pi]$ (3.2). Without the $\gamma^t$ the estimate is
#   biased (measured: bias ≫ noise at 20 000 episodes); here nearly all of it is a change of length
#   (cosine 0.998 with $\nabla J$), and under the GAE reading ($\gamma$ as a variance knob for the
#   undiscounted return) it is the natural estimator.
# * $V$, $Q$, $A = Q - V$ come exactly from a linear solve (3.3)–(3.4); $\sum_a \pi A = 0$.
# * $\nabla J = \mathbb{E}[\sum_t \gamma^t A(s_t, a_t) \nabla\log \pi(a_t \mid s_t)]$ (3.5); for a tabular softmax
#   $\partial J/\partial\theta[s, a] = d(s)\,\pi(a \mid s)\,A(s, a)$ (3.6), equal to autograd.
# * All five estimators are unbiased; their variances differ by a factor of five, the exact
#   advantage being the lowest here (over 20 sets of episodes, with intervals). $V(s_t)$ helps $Q$
#   here, in both corridors; not in general (the best state baseline weights $Q$ by
#   $\lVert\nabla\log\pi\rVert^2$, Greensmith et al. 2004; the bandit above). With the sampled $G_t$ it
#   lowers each step's own term but raises the cross terms, a net +1 % here, and it helps when the
#   returns carry an offset (every reward $+1$: a factor of more than 5).
#
# Next: **04 · importance sampling**, reusing episodes collected by an older policy.
