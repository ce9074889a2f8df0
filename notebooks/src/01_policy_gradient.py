# %% [markdown]
# # 01 · Policy gradient
#
# A policy $\pi_\theta(a \mid s)$ picks actions; we want the parameters $\theta$ that collect the
# most reward. The trouble: the reward depends on $\theta$ only through *which actions get
# sampled*, and sampling has no derivative. This notebook derives the way around it and checks every
# step against a small problem whose answer we know exactly.
#
# **You will learn**
# 1. the objective $J(\theta)$ and the probability of a trajectory;
# 2. the *log-derivative trick*, $\nabla p = p\, \nabla\log p$ (checked with sympy), and why the
#    unknown environment drops out of the gradient;
# 3. the score $\nabla_\theta \log \pi_\theta(a \mid s)$ of a softmax policy (checked with sympy and autograd);
# 4. REINFORCE, a Monte-Carlo estimate of $\nabla J$, what its update does (raise the
#    log-probability of each sampled action in proportion to its episode's return), and how its
#    error shrinks like $1/\sqrt N$ against the **exact** gradient of a small MDP;
# 5. why code *minimises* a loss $-J$ while the maths does gradient *ascent* on $J$.

# %%
import itertools

import numpy as np
import sympy as sp
import torch

import ppo_edu as pe

tm, pg = pe.toy_mdps, pe.policy_gradient

# %% [markdown]
# ## 1. The objective
#
# An episode (trajectory) is $\tau = (s_0, a_0, r_0, s_1, a_1, r_1, \dots, s_{T-1}, a_{T-1}, r_{T-1})$
# (notebook 00, §2). Its discounted return and the objective are
#
# $$R(\tau) = \sum_{t=0}^{T-1} \gamma^t r_t, \qquad J(\theta) = \mathbb{E}_{\tau \sim p_\theta}\big[R(\tau)\big] = \sum_\tau p_\theta(\tau)\, R(\tau). \tag{1.1}$$
#
# The probability of a trajectory multiplies the start distribution, the policy's choices,
# the environment's transitions and, after the last action, the probability that the episode
# ends there:
#
# $$p_\theta(\tau) = \nu_0(s_0) \prod_{t=0}^{T-1} \pi_\theta(a_t \mid s_t) \prod_{t=0}^{T-2} P(s_{t+1} \mid s_t, a_t) \cdot \Big(1 - \sum_{s'} P(s' \mid s_{T-1}, a_{T-1})\Big). \tag{1.2}$$
#
# $P(s' \mid s, a)$ is the probability of going on in $s'$; what its row lacks to sum to 1 is
# the probability that the episode ends (this is how `pe.toy_mdps` stores it). Without the last
# factor, (1.2) would be the probability that an episode *begins* with these steps, and the
# $p_\theta(\tau)$ would not sum to 1. If the rewards were random, $\tau$ would also record them
# and (1.2) would gain a factor $\prod_t p(r_t \mid s_t, a_t)$, which does not depend on $\theta$
# either; the corridor below has fixed rewards.
#
# Only the $\pi$ factors depend on $\theta$. The environment (the start distribution $\nu_0$, the
# transitions $P$ and the rewards) is unknown to the agent: all it can do is *sample* episodes.
# (The source notes call $J$ "$\bar R_\theta$", the expected reward; same thing.)
#
# ### A small MDP with an exact answer
#
# To check estimators we need the true value. We use the corridor of notebook 00,
# `pe.toy_mdps.corridor()`: three cells in a row, start in cell 0; `right` and `left` move one
# cell, a move between two cells slips with probability 0.2 (you stay where you are); every
# step costs 0.1; `left` from cell 0 leaves through a dead end, `right` from cell 2 reaches the
# goal and pays +1 instead. Both end the episode. $\gamma = 0.9$.
#
# For a tabular policy the values are exact. The state value $V^\pi(s)$ of notebook 00 (0.3), the
# expected return from $s$, satisfies a one-step consistency: the expected reward now plus
# $\gamma$ times the value of wherever you land. With $r(s, a)$ the reward for $a$ in $s$, this
# **Bellman equation** reads $V(s) = \sum_a \pi(a \mid s) \big[r(s, a) + \gamma \sum_{s'} P(s' \mid s, a)\, V(s')\big]$.
# Writing $r_\pi(s) = \sum_a \pi(a \mid s)\, r(s, a)$ and $P_\pi(s, s') = \sum_a \pi(a \mid s)\, P(s' \mid s, a)$,
# it is a *linear* system:
#
# $$V^\pi = r_\pi + \gamma P_\pi V^\pi \quad\Longleftrightarrow\quad (I - \gamma P_\pi)\, V^\pi = r_\pi, \qquad J = \nu_0^\top V^\pi. \tag{1.3}$$
#
# (Rows of $P_\pi$ sum to less than 1 where an episode can end, so $I - \gamma P_\pi$ is invertible
# even for $\gamma = 1$ when episodes end for sure.) The policy is a softmax of a table of logits
# $\theta[s, a]$,
#
# $$\pi_\theta(a \mid s) = \frac{\exp \theta[s, a]}{\sum_b \exp \theta[s, b]}, \tag{1.4}$$
#
# and we start from $\theta = 0$, the uniform policy.

# %%
# NBVAL_CHECK_OUTPUT
mdp = tm.corridor()
theta0 = torch.zeros(mdp.n_states, mdp.n_actions, dtype=torch.float64)
pi0 = tm.softmax_policy(theta0)
V = tm.state_values(mdp, pi0)
J0 = float(tm.objective(mdp, theta0))
print("V of the uniform policy:", np.round(V.numpy(), 4))
print("J(θ=0) =", round(J0, 4))

# %% [markdown]
# Is that right? Sample 20 000 episodes, average their returns, and compare (the difference
# must be within a few standard errors):

# %%
# NBVAL_CHECK_OUTPUT
episodes = tm.sample_episodes(mdp, pi0, 20_000, torch.Generator().manual_seed(0))
discount = mdp.gamma ** torch.arange(episodes.rewards.shape[0], dtype=torch.float64)
returns = (discount[:, None] * episodes.rewards).sum(0)  # R(τ_n), eq. (1.1)
std_err = float(returns.std()) / len(returns) ** 0.5
assert abs(float(returns.mean()) - J0) < 4 * std_err
print(f"Monte-Carlo J = {returns.mean():.3f} ± {std_err:.3f}   exact J = {J0:.3f}")

# %% [markdown]
# The same episodes check (1.2). Grouped by length, the probabilities (1.2) of all trajectories
# add up to $\sum_{T \ge 1} \nu_0^\top P_\pi^{T-1} e_\pi = \nu_0^\top (I - P_\pi)^{-1} e_\pi$, where
# $e_\pi(s) = \sum_a \pi(a \mid s) \big(1 - \sum_{s'} P(s' \mid s, a)\big)$ is the probability of ending from
# $s$; that sum must be 1. And three particular trajectories must turn up as often as (1.2) says:

# %%
# NBVAL_CHECK_OUTPUT
def trajectory_probability(cells, actions, pi):
    """(1.2): ν0(s_0) · Π π(a_t|s_t) · Π P(s_{t+1}|s_t, a_t) · (1 − Σ_s' P(s'|s_{T−1}, a_{T−1}))."""
    p = mdp.mu0[cells[0]] * torch.prod(pi[cells, actions])
    for t in range(len(cells) - 1):
        p = p * mdp.P[cells[t], actions[t], cells[t + 1]]
    return float(p * (1 - mdp.P[cells[-1], actions[-1]].sum()))


P_pi = torch.einsum("sa,sat->st", pi0, mdp.P)
e_pi = (pi0 * (1 - mdp.P.sum(-1))).sum(-1)
total = float(mdp.mu0 @ torch.linalg.solve(torch.eye(mdp.n_states, dtype=torch.float64) - P_pi, e_pi))
assert abs(total - 1) < 1e-12
print(f"Σ_τ p(τ) = {total:.6f}")
lengths = episodes.mask.sum(0)
for cells, acts, name in (([0], [0], "0L"), ([0, 0], [1, 0], "0R 0L"), ([0, 1, 2], [1, 1, 1], "0R 1R 2R")):
    T = len(cells)
    same = (lengths == T) & (episodes.states[:T] == torch.tensor(cells)[:, None]).all(0) \
        & (episodes.actions[:T] == torch.tensor(acts)[:, None]).all(0)
    p, freq = trajectory_probability(cells, acts, pi0), float(same.double().mean())
    assert abs(freq - p) < 4 * (p * (1 - p) / len(lengths)) ** 0.5
    print(f"τ = {name:<9} p(τ) by (1.2) = {p:.4f}   frequency in 20 000 episodes = {freq:.4f}")

# %% [markdown]
# Because (1.3) is differentiable, autograd through the linear solve gives the **exact**
# gradient $\nabla_\theta J$, `pe.toy_mdps.exact_gradient`. We confirm it with finite differences:

# %%
# NBVAL_CHECK_OUTPUT
grad_exact = tm.exact_gradient(mdp, theta0)
h, grad_fd = 1e-6, torch.zeros_like(theta0)
for s, a in itertools.product(range(mdp.n_states), range(mdp.n_actions)):
    e = torch.zeros_like(theta0)
    e[s, a] = h
    grad_fd[s, a] = (tm.objective(mdp, theta0 + e) - tm.objective(mdp, theta0 - e)) / (2 * h)
assert torch.allclose(grad_exact, grad_fd, atol=1e-8)
assert bool((grad_exact[:, 1] > 0).all())  # "more right" in every cell
assert torch.allclose(grad_exact.sum(1), torch.zeros(mdp.n_states, dtype=torch.float64), atol=1e-12)
print("exact ∇J(θ=0), rows = cells, columns = (left, right):")
print(np.round(grad_exact.numpy(), 4))

# %% [markdown]
# Every row says "less left, more right", as it should. Each row sums to zero: adding the
# same number to both logits of a state does not change the softmax, so J cannot change
# in that direction.
#
# An agent does not have $P$ and $r$, so it cannot solve (1.3). It has to estimate $\nabla J$ from
# sampled episodes. How?

# %% [markdown]
# ## 2. The log-derivative trick
#
# For any positive function $p(\theta)$, the chain rule gives $\nabla \log p = \nabla p / p$, that is
#
# $$\nabla_\theta p_\theta = p_\theta\, \nabla_\theta \log p_\theta. \tag{1.5}$$
#
# sympy agrees:

# %%
# NBVAL_CHECK_OUTPUT
lhs, rhs, holds = pe.symbolic.log_derivative_trick()
assert holds
print(lhs, "=", rhs)

# %% [markdown]
# Differentiate (1.1) ($R(\tau)$ does not depend on $\theta$; only the probabilities do), then use (1.5):
#
# $$\nabla_\theta J(\theta) = \sum_\tau R(\tau)\, \nabla_\theta p_\theta(\tau) = \sum_\tau p_\theta(\tau)\, R(\tau)\, \nabla_\theta \log p_\theta(\tau) = \mathbb{E}_{\tau\sim p_\theta}\big[R(\tau)\, \nabla_\theta \log p_\theta(\tau)\big]. \tag{1.6}$$
#
# The gradient of an expectation has become the expectation of something we can compute
# on a sampled episode. And that something does not need the environment: the log of (1.2)
# is a sum, and $\nu_0$, $P$ and the probability of ending do not depend on $\theta$, so their
# gradients vanish (as would those of reward probabilities $p(r_t \mid s_t, a_t)$):
#
# $$\nabla_\theta \log p_\theta(\tau) = \underbrace{\nabla_\theta \log \nu_0(s_0)}_{0} + \sum_{t} \nabla_\theta \log \pi_\theta(a_t \mid s_t) + \sum_t \underbrace{\nabla_\theta \log P(s_{t+1} \mid s_t, a_t)}_{0} + \underbrace{\nabla_\theta \log \Big(1 - \sum_{s'} P(s' \mid s_{T-1}, a_{T-1})\Big)}_{0}, \quad\text{so}\quad \nabla_\theta J = \mathbb{E}\Big[R(\tau) \sum_{t} \nabla_\theta \log \pi_\theta(a_t \mid s_t)\Big]. \tag{1.7}$$
#
# (1.7) is an exact identity about an expectation. The source notes write it directly with
# a sample average and an "=", and call it $\nabla\bar R$; the average over $N$ episodes is an
# *estimate* of it, which is the subject of section 4.
#
# **Why the gradient may go inside the sum.** The sum over $\tau$ in (1.6) is infinite: an
# episode can wander between the cells for any number of steps. A series that converges may be
# differentiated term by term when the series of derivatives converges uniformly near $\theta$ (Rudin,
# *Principles of Mathematical Analysis*, Theorem 7.17); here it does, because episodes end
# geometrically fast. On a bounded set of $\theta$ every action has probability at least some
# $\pi_\text{min} > 0$, so from any cell the episode ends within two steps with probability at least
# $q = 0.8\,\pi_\text{min}^2$ (`left`, `left` into the dead end from cell 1; one step from cells 0 and 2),
# and $\Pr(T > 2k) \le (1 - q)^k$. Each term of the differentiated series is
# $R(\tau)\, \nabla p_\theta(\tau) = p_\theta(\tau)\, R(\tau)\, \nabla \log p_\theta(\tau)$ with $|R(\tau)| \le T$ (no
# reward exceeds 1 in size) and $\lVert \nabla \log p_\theta(\tau) \rVert \le \sqrt 2\, T$ (each score (1.8) has
# norm at most $\sqrt 2$). So the episodes longer than $H$ contribute at most
# $\sqrt 2\, \mathbb{E}_\theta[T^2 ;\, T > H]$, which goes to 0 as $H \to \infty$ uniformly on the bounded set.
# At $\theta = 0$ the tail is exact: $\Pr(T > k) = \nu_0^\top P_\pi^k \mathbf 1$, which falls like $\varrho^k$, with
# $\varrho = 0.718$ the spectral radius of $P_\pi$: ten more steps divide it by $\varrho^{-10} \approx 28$. The
# moments are finite, $\mathbb{E}[T] = 3$ and $\mathbb{E}[T^2] = 17.5$, and the sampled lengths agree:

# %%
# NBVAL_CHECK_OUTPUT
rho = float(torch.linalg.eigvals(P_pi).abs().max())
alive = torch.stack([mdp.mu0 @ torch.linalg.matrix_power(P_pi, k) @ torch.ones(mdp.n_states, dtype=torch.float64)
                     for k in range(400)])  # Pr(T > k), k = 0, 1, …
k = torch.arange(400, dtype=torch.float64)
ET, ET2 = float(alive.sum()), float(((2 * k + 1) * alive).sum())  # E[T] = Σ_k Pr(T > k), E[T²] = Σ_k (2k + 1) Pr(T > k)
assert rho < 1 and float(alive[-1]) < 1e-40 and abs(ET - 3) < 1e-9 and abs(ET2 - 17.5) < 1e-9
assert abs(float(alive[20] / alive[10]) / rho**10 - 1) < 0.01  # geometric, at the rate ϱ
assert all(float(alive[2 * j]) <= (1 - 0.8 * 0.5**2) ** j for j in range(200))  # the bound, q = 0.2 at θ = 0
print(f"spectral radius of P_π at θ = 0: {rho:.4f};  Pr(T > 20) / Pr(T > 10) = {alive[20] / alive[10]:.4f}, "
      f"ϱ^10 = {rho**10:.4f}")
for kk in (5, 10, 20):
    freq = float((lengths > kk).double().mean())
    assert abs(freq - float(alive[kk])) < 4 * (float(alive[kk]) / len(lengths)) ** 0.5
    print(f"Pr(T > {kk:>2}) = {float(alive[kk]):.5f}   frequency in 20 000 episodes = {freq:.5f}")
print(f"E[T] = {ET:.3f}   E[T²] = {ET2:.3f}")


# %% [markdown]
# ## 3. The score of a softmax policy
#
# $\nabla_\theta \log \pi_\theta(a \mid s)$ is called the **score**. For the softmax (1.4),
# $\log \pi(a \mid s) = \theta[s, a] - \log \sum_b \exp \theta[s, b]$, and differentiating gives
#
# $$\frac{\partial \log \pi_\theta(a \mid s)}{\partial \theta[s', b]} = \mathbb{1}[s' = s]\,\big(\mathbb{1}[b = a] - \pi_\theta(b \mid s)\big). \tag{1.8}$$
#
# Only the row of the visited state changes; within it, "one-hot of the action minus the
# probabilities". sympy computes the Jacobian of log softmax for three actions and compares:

# %%
# NBVAL_CHECK_OUTPUT
jacobian, closed_form, holds = pe.symbolic.softmax_score(3)
assert holds
print("∂ log π_0 / ∂θ_0 =", jacobian[0, 0].simplify())
print("closed form       =", closed_form[0, 0])
print("Jacobian − closed form, simplified:", (jacobian - closed_form).applyfunc(sp.simplify).tolist())

# %% [markdown]
# `pe.policy_gradient.score` implements (1.8) for a whole batch; autograd agrees:

# %%
# NBVAL_CHECK_OUTPUT
theta_test = torch.tensor([[0.5, -0.3], [1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
s_t, a_t = torch.tensor(1), torch.tensor(0)
theta_req = theta_test.clone().requires_grad_(True)
(autograd_score,) = torch.autograd.grad(torch.log_softmax(theta_req, -1)[s_t, a_t], theta_req)
assert torch.allclose(pg.score(theta_test, s_t, a_t), autograd_score)
print(np.round(pg.score(theta_test, s_t, a_t).numpy(), 4) + 0.0)  # + 0.0 turns −0.0 into 0.0

# %% [markdown]
# **Exercise 1.1.** Write the score of a softmax over the actions of one state: given the
# logits (a 1-D tensor of length $K$) and an action index, return $\nabla_\text{logits} \log \operatorname{softmax}(\text{logits})[\text{action}]$.

# %%
def softmax_score(logits, action):
    ### BEGIN SOLUTION
    pi = torch.softmax(logits, dim=-1)
    one_hot = torch.zeros_like(logits)
    one_hot[action] = 1.0
    return one_hot - pi
    ### END SOLUTION


pe.exercises.softmax_score.check(softmax_score)

# %% [markdown] tags=["solution-demo"]
# A classic slip is to differentiate $\pi$ instead of $\log \pi$. The checker knows it:

# %% tags=["solution-demo"]
def softmax_score_of_pi(logits, action):
    pi = torch.softmax(logits, dim=-1)
    one_hot = torch.zeros_like(logits)
    one_hot[action] = 1.0
    return pi[action] * (one_hot - pi)


pe.exercises.softmax_score.check(softmax_score_of_pi)

# %% [markdown]
# **Exercise 1.2** (derive it first). A *bandit* is an MDP with one state and episodes of one
# step: pick an action $a \sim \pi_\theta = \operatorname{softmax}(\theta)$, receive $r(a)$, done. So
# $J(\theta) = \sum_a \pi_\theta(a)\, r(a)$. Use (1.7) and (1.8) to find $\partial J / \partial \theta_j$
# in closed form, then code it: given the logits and the rewards (1-D, length $K$), return the
# exact $\nabla J$ (no sampling, no autograd).
#
# *Predict before you run:* for logits $(0, 1, -1)$ and rewards $(1, 0, 2)$, which entries of
# $\nabla J$ are positive? (Hint: compare each $r_j$ with $J$.)

# %%
def bandit_gradient(logits, rewards):
    ### BEGIN SOLUTION
    pi = torch.softmax(logits, dim=-1)
    J = (pi * rewards).sum()
    return pi * (rewards - J)
    ### END SOLUTION


pe.exercises.bandit_gradient.check(bandit_gradient)

# %%
# NBVAL_CHECK_OUTPUT
logits_b = torch.tensor([0.0, 1.0, -1.0], dtype=torch.float64)
rewards_b = torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64)
bandit = tm.TabularMDP(torch.zeros(1, 3, 1, dtype=torch.float64), rewards_b[None], torch.ones(1, dtype=torch.float64), 0.9)
grad_b = tm.exact_gradient(bandit, logits_b[None])[0]
J_b = float(tm.objective(bandit, logits_b[None]))
assert torch.equal(grad_b > 0, rewards_b > J_b)  # pushed up exactly where r(a) beats the average J
print(f"J = {J_b:.4f};  exact ∇J (autograd through the linear solve) = {np.round(grad_b.numpy(), 4).tolist()}")

# %% [markdown]
# **The derivation.** An episode is one action $a$; its return is $r(a)$ and its score is
# $\nabla \log \pi_\theta(a) = \operatorname{onehot}(a) - \pi$ by (1.8). So (1.7) is a finite sum over the actions,
# and entry $j$ splits along the two parts of the score:
#
# $$\frac{\partial J}{\partial \theta_j} = \sum_a \pi(a)\, r(a)\, \big(\mathbb{1}[a = j] - \pi_j\big) = \underbrace{\pi_j\, r_j}_{\mathbb{1}[a = j]\ \text{part}} \; \underbrace{-\ \pi_j \sum_a \pi(a)\, r(a)}_{-\pi\ \text{part}} = \pi_j\, r_j - \pi_j\, J = \pi_j\,(r_j - J).$$
#
# The first part, "raise the action taken", gives $\pi_j r_j$: action $j$ is taken with probability
# $\pi_j$ and then raised by $r_j$. The $J$ comes from the second part, "lower the whole row":
# whichever action is taken, $\theta_j$ is lowered by $\pi_j$ times the reward received, and those
# rewards average to $J$. Together: up for actions better than the policy's own average, down for
# worse ones, each weighted by how often it is taken. The two parts for the example above:

# %%
# NBVAL_CHECK_OUTPUT
pi_b = torch.softmax(logits_b, -1)
raise_b, lower_b = pi_b * rewards_b, -pi_b * J_b  # the 1[a = j] part and the −π part
assert torch.allclose(grad_b, raise_b + lower_b)
assert torch.allclose(grad_b, torch.softmax(logits_b, -1) * (rewards_b - J_b))
print("π_j r_j   (1[a = j] part):", np.round(raise_b.numpy(), 4).tolist())
print("−π_j J    (−π part)      :", np.round(lower_b.numpy(), 4).tolist())
print("π_j (r_j − J) = ∇J       :", np.round((raise_b + lower_b).numpy(), 4).tolist())

# %% [markdown]
# Here both parts are exact. REINFORCE, next, only samples them: each sampled action contributes
# $r(a)\,(\operatorname{onehot}(a) - \pi)$, whose $-\pi$ part averages to $-\pi J$ only over many samples.
# How large the two sampled parts are, and what that costs, is where notebook 02 begins.

# %% [markdown]
# ## 4. REINFORCE: estimating $\nabla J$ from episodes
#
# Replace the expectation in (1.7) by an average over $N$ sampled episodes:
#
# $$\hat g_N = \frac{1}{N} \sum_{n=1}^{N} \hat g(\tau_n), \qquad \hat g(\tau) = R(\tau) \sum_{t} \nabla_\theta \log \pi_\theta(a_t \mid s_t). \tag{1.9}$$
#
# (1.9) is **REINFORCE** in its total-return form: every step of an episode has the same weight
# $R(\tau)$. The name comes from Williams (1992, "Simple statistical gradient-following
# algorithms for connectionist reinforcement learning", *Machine Learning* 8:229–256), who
# introduced the REINFORCE family of such estimators, with a baseline subtracted from the
# return (notebook 02). Sutton & Barto (*Reinforcement Learning: An Introduction*, 2nd ed., 2018,
# §13.3) state REINFORCE with the weight $\gamma^t G_t$, the discounted return from step $t$ on
# (notebook 03).
#
# Each one-episode estimate $\hat g(\tau_n)$ is unbiased (its expectation is $\nabla J$, by (1.7)), and they are
# independent, so the average has covariance $\operatorname{Cov}[\hat g(\tau)]/N$: its error shrinks like
#
# $$\sqrt{\mathbb{E}\,\lVert \hat g_N - \nabla J \rVert^2} = \sqrt{\operatorname{tr}\operatorname{Cov}[\hat g(\tau)] / N}. \tag{1.10}$$
#
# **What the update does.** A step $\theta \leftarrow \theta + \alpha\, \hat g_N$ moves along
# $\nabla\log\pi_\theta(a_t \mid s_t)$, the direction that raises the log-probability of the action
# taken, once for every step of every episode, each scaled by its episode's return $R(\tau_n)$:
# actions of high-return episodes become more likely, actions of low-return episodes less likely,
# in proportion to the return. It is a weighted maximum-likelihood step on the agent's own
# actions, the return playing the part of the weight.
#
# `pe.policy_gradient.total_return_weights` puts $R(\tau)$ on every step of its episode and
# `pe.policy_gradient.reinforce_estimates` returns one $\hat g(\tau_n)$ per episode, shape $(N, S, A)$.

# %%
# NBVAL_CHECK_OUTPUT
w_total = pg.total_return_weights(episodes.rewards, episodes.mask, mdp.gamma)
per_episode = pg.reinforce_estimates(theta0, episodes.states, episodes.actions, w_total, episodes.mask)
g_hat = per_episode.mean(0)
std_err = per_episode.std(0) / len(per_episode) ** 0.5
assert bool(((g_hat - grad_exact).abs() < 4 * std_err).all())  # unbiased: within 4 standard errors
print("REINFORCE estimate from 20 000 episodes:")
print(np.round(g_hat.numpy(), 3))
print("exact:")
print(np.round(grad_exact.numpy(), 3))

# %% [markdown]
# Look at the returns that weight those steps. Most corridor episodes end in the dead end or
# wander, paying step costs: their return is negative, and in such an episode **every** action
# taken is pushed *down*, the good ones with the bad. Split the softmax score (1.8) into its two
# parts, $\mathbb{1}[b = a_t]$ ("raise the action taken") and $-\pi_\theta(b \mid s_t)$ ("lower the
# whole row"). The first part, averaged with the weights $R(\tau_n)$, is negative in cells 0 and 1
# for *both* actions, `right` included, which $\nabla J$ wants up; only `right` in cell 2, the
# step into the goal, is pushed up. The second part is $-\pi_\theta(b \mid s)$ times the
# return-weighted number of visits to $s$, $\frac1N \sum_n R(\tau_n)\, n_s(\tau_n)$, so at $\theta = 0$ it adds
# the same amount to both actions of a row. Visits to cells 0 and 1 carry negative returns, and
# the second part lifts those rows by +0.137 and +0.101. Visits to cell 2 carry returns that
# nearly cancel (episodes that reach the goal against those that turn back), and it adds only
# +0.0004 there: in cell 2 the first part alone is the estimate. In cell 0 the estimate, ±0.014,
# is a small difference between large numbers: −0.151 or −0.123, plus 0.137.

# %%
# NBVAL_CHECK_OUTPUT
counts = torch.nn.functional.one_hot(episodes.states * 2 + episodes.actions, 6).double()
counts = (counts * episodes.mask[..., None]).sum(0).reshape(-1, 3, 2)  # times (s, a) was taken in τ_n
raise_part = (returns[:, None, None] * counts).mean(0)  # the 1[b = a_t] part of ĝ
weighted_visits = (returns[:, None] * counts.sum(-1)).mean(0)  # (1/N) Σ_n R(τ_n) n_s(τ_n), one per cell
lower_part = -pi0 * weighted_visits[:, None]  # the −π(b|s_t) part of ĝ
share_negative = float((returns < 0).double().mean())
assert share_negative > 0.75 and bool((raise_part[:2] < 0).all()) and float(raise_part[2, 1]) > 0
assert bool((grad_exact[:2, 1] > 0).all())  # ... although ∇J wants `right` up in cells 0 and 1
assert torch.allclose(raise_part + lower_part, g_hat)  # the two parts make up ĝ
assert bool((lower_part[:2] > 0.09).all()) and float(lower_part[2].abs().max()) < 0.001
assert float(raise_part[0].abs().min()) > 5 * float(g_hat[0].abs().max())  # cell 0: a small difference of large numbers
print(f"episodes with a negative return: {share_negative:.0%}")
print("'raise the action taken' part, averaged with weights R(τ):")
print(np.round(raise_part.numpy(), 3))
print("return-weighted visits per cell:", np.round(weighted_visits.numpy(), 4).tolist())
print("'lower the whole row' part, the same for both actions of a row:", np.round(lower_part[:, 0].numpy(), 4).tolist())
print("the whole estimate ĝ, the sum of the two parts:")
print(np.round(g_hat.numpy(), 3))

# %% [markdown]
# In cells 0 and 1, `right` is pushed down less than `left`, and that difference is all the
# learning signal there. The estimate is unbiased, yet in those cells it spends its noise on
# "both actions down, then both up". Adding
# a constant to every return would not change $\nabla J$ (notebook 02 proves it) but would change
# these pushes and their noise: subtracting a **baseline**, so that better-than-usual episodes
# push their actions *up*, is the subject of notebook 02.

# %% [markdown]
# Now the error against $N$. We draw one big pool of episodes, cut it into batches of $N$,
# and measure the root-mean-square distance of each batch's average to the exact gradient.
# (The pool size is the notebook's budget: smaller in quick mode, same picture.)

# %%
n_pool = pe.runtime.budget(200_000, 30_000)
sizes = pe.runtime.budget([10, 30, 100, 300, 1000, 3000, 10_000, 30_000], [10, 30, 100, 300, 1000, 3000])
pool = tm.sample_episodes(mdp, pi0, n_pool, torch.Generator().manual_seed(1))
pool_w = pg.total_return_weights(pool.rewards, pool.mask, mdp.gamma)
pool_g = pg.reinforce_estimates(theta0, pool.states, pool.actions, pool_w, pool.mask)
errors = pg.mc_gradient_errors(pool_g, grad_exact, sizes)
pe.plots.mc_gradient_error(sizes, errors)

# %% [markdown]
# The measured points sit on a line of slope −1/2 in log–log axes: ten times more episodes
# buy about three times ($\sqrt{10}$) less error. The fitted slope, and the prediction of (1.10).
#
# A point at large $N$ is itself a noisy estimate: the pool holds only `n_pool // N` batches of
# $N$ episodes, and its RMS averages over that many. When $\hat g_N$ is close to Gaussian,
# $\lVert \hat g_N - \nabla J \rVert^2$ has mean $\operatorname{tr}\Sigma / N$ and variance $2 \operatorname{tr}(\Sigma^2) / N^2$, where
# $\Sigma = \operatorname{Cov}[\hat g(\tau)]$; so an RMS over $k$ batches has relative standard error about
# $\sqrt{\operatorname{tr}(\Sigma^2)/2}\, /\, (\operatorname{tr}\Sigma \sqrt k)$. In the full run the last three points average only 66, 20
# and 6 batches, with standard errors of about 5%, 10% and 18%: their dip to 0.91 and 0.89 is
# within two standard errors of 1.

# %% tags=["nbval-ignore-output"]
slope = np.polyfit(np.log(sizes), np.log(errors.numpy()), 1)[0]
predicted = (pg.total_variance(pool_g) / torch.tensor(sizes, dtype=torch.float64)).sqrt()
batches = n_pool // np.array(sizes)
cov = torch.cov(pool_g.reshape(n_pool, -1).T)  # Σ, the covariance of one-episode estimates
rel_se = float((cov @ cov).trace().div(2).sqrt() / cov.trace()) / np.sqrt(batches)
deviation = (errors / predicted - 1).numpy()
assert -0.65 < slope < -0.35
assert bool((np.abs(deviation) < 3 * rel_se).all())  # every point within 3 of its own standard errors
print(f"fitted slope {slope:.3f} (theory −0.5)")
print("N                             :", sizes)
print("batches, n_pool // N          :", batches.tolist())
print("measured / predicted by (1.10):", np.round((errors / predicted).numpy(), 2))
print("its standard error            :", np.round(rel_se, 3))

# %% [markdown]
# ## 5. Ascent, descent and the pseudo-loss
#
# We want to *increase* $J$, so REINFORCE steps **up** the gradient: $\theta \leftarrow \theta + \alpha\, \hat g_N$. Deep-learning
# optimisers *minimise*, so code hands them a loss whose gradient is $-\hat g_N$,
#
# $$L(\theta) = -\frac{1}{N} \sum_{n=1}^{N} R(\tau_n) \sum_t \log \pi_\theta(a^n_t \mid s^n_t), \qquad \nabla_\theta L = -\hat g_N, \tag{1.11}$$
#
# with $R(\tau_n)$ treated as a constant (it is data). Minimising $L$ is ascending $J$: **ascend the
# objective = descend its negative**. Every "ascent" in the maths is a "descent" on a loss with
# a minus sign in the code. $L$'s value is not $J$ and is meaningless on its own: only its gradient
# matters. `pe.policy_gradient.reinforce_loss`
# builds it; autograd confirms $\nabla L = -\hat g$:

# %%
# NBVAL_CHECK_OUTPUT
theta_req = theta0.clone().requires_grad_(True)
logp = pg.log_probs(theta_req, episodes.states, episodes.actions)
loss = pg.reinforce_loss(logp, w_total, episodes.mask)
(grad_loss,) = torch.autograd.grad(loss, theta_req)
assert torch.allclose(grad_loss, -g_hat)
print("∇L == −ĝ:", bool(torch.allclose(grad_loss, -g_hat)))

# %% [markdown]
# **Exercise 1.3.** Write the pseudo-loss (1.11). `log_probs` and `mask` are $(T, N)$ (episodes of
# different lengths are padded; `mask` is True on real steps), `returns` is $(N,)$, one $R(\tau_n)$
# per episode. Return a scalar tensor that autograd can differentiate: the checker compares its
# value *and* its gradient with respect to `log_probs`.

# %%
def reinforce_loss(log_probs, returns, mask):
    ### BEGIN SOLUTION
    per_episode = (log_probs * mask).sum(dim=0)
    return -(returns * per_episode).sum() / log_probs.shape[1]
    ### END SOLUTION


pe.exercises.reinforce_loss.check(reinforce_loss)

# %% [markdown] tags=["solution-demo"]
# A loss turned into a plain number with `.item()` has the right value and no gradient, so an
# optimiser could not learn from it. The checker says so:

# %% tags=["solution-demo"]
def reinforce_loss_as_number(log_probs, returns, mask):
    return -(returns * (log_probs * mask).sum(dim=0)).sum().item() / log_probs.shape[1]


pe.exercises.reinforce_loss.check(reinforce_loss_as_number)

# %%
pe.exercises.reinforce_loss.hint()

# %% [markdown]
# ## 6. REINFORCE learns
#
# First the target. The best possible $J$ comes from trying all $2^3$ deterministic policies (one
# action per cell). That is enough: a finite MDP has a policy that is deterministic, stationary
# (the same in every step) and optimal from every state at once (Sutton & Barto 2018, §3.6;
# Puterman, *Markov Decision Processes*, 1994, §6.2), so the largest $\nu_0^\top V^\pi$ over all policies,
# stochastic ones included, is the largest over those eight. The check: the best of the eight has
# the largest $V$ in every cell, and none of 2000 random stochastic policies beats it in any cell.

# %%
# NBVAL_CHECK_OUTPUT
deterministic = {acts: tm.state_values(mdp, torch.nn.functional.one_hot(torch.tensor(acts), 2).double())
                 for acts in itertools.product(range(2), repeat=mdp.n_states)}
best_acts = max(deterministic, key=lambda acts: float(deterministic[acts] @ mdp.mu0))
best_V = deterministic[best_acts]
best_J = float(best_V @ mdp.mu0)
assert all(bool((best_V >= V_d - 1e-12).all()) for V_d in deterministic.values())  # optimal from every cell
pis = torch.softmax(4 * torch.randn(2000, 3, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64), -1)
r_pis, P_pis = (pis * mdp.R).sum(-1), torch.einsum("ksa,sat->kst", pis, mdp.P)
V_random = torch.linalg.solve(torch.eye(mdp.n_states, dtype=torch.float64) - mdp.gamma * P_pis, r_pis)  # (1.3), each
assert bool((V_random <= best_V + 1e-12).all())
print("J of the 8 deterministic policies:",
      {"".join("LR"[a] for a in acts): round(float(V_d @ mdp.mu0), 4) for acts, V_d in deterministic.items()})
print("best:", [mdp.action_names[a] for a in best_acts], " V =", np.round(best_V.numpy(), 4).tolist())
print(f"best of 2000 random stochastic policies: J = {(V_random @ mdp.mu0).max():.4f}  (best possible J = {best_J:.4f})")

# %% [markdown]
# Now put it together: sample 100 episodes with the current policy, build the pseudo-loss, take
# one optimiser step, repeat. Because we can evaluate $J$ exactly, we watch the true objective,
# not a noisy estimate.

# %%
# NBVAL_CHECK_OUTPUT
gen = torch.Generator().manual_seed(2)
theta = theta0.clone().requires_grad_(True)
optimizer = torch.optim.SGD([theta], lr=2.0)
history = [float(tm.objective(mdp, theta.detach()))]
for _ in range(80):
    batch = tm.sample_episodes(mdp, tm.softmax_policy(theta.detach()), 100, gen)
    weights = pg.total_return_weights(batch.rewards, batch.mask, mdp.gamma)
    loss = pg.reinforce_loss(pg.log_probs(theta, batch.states, batch.actions), weights, batch.mask)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()  # a descent step on L = an ascent step on J
    history.append(float(tm.objective(mdp, theta.detach())))
assert history[-1] > history[0] + 0.3
error_100 = float(pg.total_variance(per_episode) / 100) ** 0.5  # (1.10) at N = 100
noise_100 = error_100 / float(grad_exact.norm())
assert 0.25 < noise_100 < 0.45  # each step's ĝ was noisy: about a third of ‖∇J‖
print(f"J before: {history[0]:.4f}   after 80 updates: {history[-1]:.4f}   best possible: {best_J:.4f}")
print(f"‖∇J(θ = 0)‖ = {grad_exact.norm():.4f};  RMS error of ĝ from 100 episodes there, by (1.10): "
      f"{error_100:.4f} = {noise_100:.2f} × ‖∇J‖")
print("P(right) in each cell:", np.round(tm.softmax_policy(theta.detach())[:, 1].numpy(), 4).tolist())

# %%
pe.plots.learning_curve(range(len(history)), history, optimum=best_J)

# %% [markdown]
# The curve is smooth because it shows the *exact* $J$ after each step; the steps themselves
# were noisy. With 100 episodes per update, the RMS error of $\hat g$ at the start is 0.0525
# against $\lVert\nabla J(\theta = 0)\rVert = 0.1517$: about a third (0.35) of the gradient itself (printed
# above). Notebooks 02 and 03 make $\hat g$ less noisy without changing its expectation.
#
# That was one run, with one seed. The same algorithm, vectorised as
# `pe.policy_gradient.reinforce_learning_curves` (80 updates of 100 episodes, learning rate 2,
# from $\theta = 0$), runs 20 learners with independent samples:

# %%
# NBVAL_CHECK_OUTPUT
curves = pg.reinforce_learning_curves(mdp, 20, 80, 100, 2.0, seed=0)  # (20 seeds, 81): exact J after each update
final = curves[:, -1]
assert torch.allclose(curves[:, 0], torch.full((20,), J0, dtype=torch.float64))
assert bool((final > curves[:, 0] + 0.6).all())  # every seed improved, by more than 0.6
assert bool((final < best_J).all()) and float((best_J - final).max()) < 0.02
print(f"J before: {J0:.4f} (every seed)   best possible: {best_J:.4f}")
print(f"J after 80 updates, 20 seeds: mean {final.mean():.4f}, range {final.min():.4f} to {final.max():.4f}")
print(f"gap to the best: {best_J - final.max():.4f} to {best_J - final.min():.4f}")

# %% [markdown]
# Every seed learns: from −0.0815 to between 0.5317 and 0.5330, and every one stops 0.0090 to
# 0.0102 short of 0.5419. The gap is no accident of the seeds; it has two causes, both in the softmax.
# First, $\pi_\theta(a \mid s) = \exp\theta[s, a] / \sum_b \exp\theta[s, b]$ is positive for every finite $\theta$: the
# policy becomes deterministic only as $\theta \to \infty$, so $J$ stays below the best at every finite
# $\theta$. Second, the gradient shrinks as the policy saturates. The bandit of Exercise 1.2 shows
# the shape, $\partial J / \partial \theta_j = \pi_j (r_j - J)$: when the best action has probability $1 - \varepsilon$,
# every other action has $\pi_j \le \varepsilon$, and $r_\text{best} - J = \sum_{j \ne \text{best}} \pi_j (r_\text{best} - r_j)$ is at most
# $\varepsilon$ times the largest difference of rewards, so every entry of $\nabla J$ is of order $\varepsilon$ (in the
# corridor each cell's row has this form, with action values in place of rewards; notebook 03).
# A logit gap $z$ gives $\varepsilon \approx e^{-z}$, and $z$ grows at a rate proportional to $\varepsilon$, so
# $d\varepsilon/dk \propto -\varepsilon^2$ and $\varepsilon \propto 1/k$ after $k$ updates: the gap to the best should roughly
# halve each time the number of updates doubles.

# %%
# NBVAL_CHECK_OUTPUT
gaps = best_J - curves.mean(0)  # mean over the 20 seeds, after k updates
grad_end = tm.exact_gradient(mdp, theta.detach())
p_left = tm.softmax_policy(theta.detach())[:, 0]
assert 1.7 < float(gaps[20] / gaps[40]) < 2.5 and 1.7 < float(gaps[40] / gaps[80]) < 2.5  # about 1/k
assert bool((p_left > 0).all()) and float(grad_end.norm()) < 0.1 * float(grad_exact.norm())
print("gap best J − J, mean of 20 seeds, after 20, 40, 80 updates:", np.round(gaps[[20, 40, 80]].numpy(), 4).tolist())
print("the single run above: π(left | s) =", np.round(p_left.numpy(), 4).tolist(),
      f"  ‖∇J‖ from {grad_exact.norm():.4f} at θ = 0 to {grad_end.norm():.4f}")

# %% [markdown]
# It does: 0.043, 0.0202, 0.0096. In the single run, `left` keeps a probability of 0.0044 to
# 0.0108, and the exact gradient has fallen from 0.1517 to 0.0082, about 1/18 of its size at
# $\theta = 0$. Reaching the optimum itself would take infinitely many steps.
#
# ## Recap
#
# * $J(\theta) = \mathbb{E}[R(\tau)]$ (1.1); only the policy factors of $p_\theta(\tau)$ (1.2) depend on $\theta$.
# * The log-derivative trick $\nabla p = p\,\nabla\log p$ (1.5) turns $\nabla J$ into an expectation, (1.6)–(1.7), in
#   which the unknown dynamics drop out: $\nabla J = \mathbb{E}[R(\tau) \sum_t \nabla\log \pi_\theta(a_t \mid s_t)]$.
# * For a softmax, $\nabla\log \pi(a \mid s) = \operatorname{onehot}(a) - \pi(\cdot \mid s)$ on the row of $s$ (1.8);
#   for a bandit this gives $\partial J/\partial\theta_j = \pi_j (r_j - J)$ (Exercise 1.2), where $-\pi_j J$ comes from the
#   $-\pi$ part of the score.
# * REINFORCE (Williams 1992; here in its total-return form) averages this over $N$ episodes (1.9):
#   unbiased, with error $\propto 1/\sqrt N$ (1.10), checked against the exact gradient of a small MDP
#   obtained by a linear solve (1.3).
# * Its update raises the log-probability of each sampled action in proportion to its episode's
#   return. With the corridor's mostly negative returns, the "raise the action taken" part pushes
#   both actions of cells 0 and 1 down; the "lower the whole row" part lifts those rows back up
#   (+0.137, +0.101), and the learning signal is what remains.
# * Code minimises the pseudo-loss $L = -\frac1N \sum_n R(\tau_n) \sum_t \log \pi$ (1.11); its gradient is $-\hat g$, so descent on $L$
#   is ascent on $J$ (Exercise 1.3).
# * Over 20 seeds, 80 updates of 100 episodes take $J$ from −0.08 to 0.53, 0.009 to 0.010 below the
#   best, 0.54; the softmax reaches the best only as $\theta \to \infty$, and its gradient shrinks on the way.
#
# Next: **02 · baseline**, where we subtract a constant from $R(\tau)$ and the variance drops while the
# expectation stays put.
