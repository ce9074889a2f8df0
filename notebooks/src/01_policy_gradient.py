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
# The probability of a trajectory multiplies the start distribution, the policy's choices
# and the environment's transitions:
#
# $$p_\theta(\tau) = \nu_0(s_0) \prod_{t=0}^{T-1} \pi_\theta(a_t \mid s_t)\, P(s_{t+1} \mid s_t, a_t). \tag{1.2}$$
#
# Only the $\pi$ factors depend on $\theta$. The environment (the start distribution $\nu_0$ and the
# transitions $P$) is unknown to the agent: all it can do is *sample* episodes. (The source
# notes call $J$ "$\bar R_\theta$", the expected reward; same thing.)
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
# is a sum, and $\nu_0$ and $P$ do not depend on $\theta$, so their gradients vanish:
#
# $$\nabla_\theta \log p_\theta(\tau) = \underbrace{\nabla_\theta \log \nu_0(s_0)}_{0} + \sum_{t} \nabla_\theta \log \pi_\theta(a_t \mid s_t) + \sum_t \underbrace{\nabla_\theta \log P(s_{t+1} \mid s_t, a_t)}_{0}, \quad\text{so}\quad \nabla_\theta J = \mathbb{E}\Big[R(\tau) \sum_{t} \nabla_\theta \log \pi_\theta(a_t \mid s_t)\Big]. \tag{1.7}$$
#
# (1.7) is an exact identity about an expectation. The source notes write it directly with
# a sample average and an "=", and call it $\nabla\bar R$; the average over $N$ episodes is an
# *estimate* of it, which is the subject of section 4.

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
# **Exercise 1.3** (derive it first). A *bandit* is an MDP with one state and episodes of one
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
# The gradient of a bandit is $\pi_j\,(r_j - J)$: up for actions better than the policy's own
# average, down for worse ones, each weighted by how often it is taken. The $J$ inside is the
# "everything up" part of the score, done exactly; REINFORCE has to estimate it from samples, and
# that is where notebook 02 begins.

# %% [markdown]
# ## 4. REINFORCE: estimating $\nabla J$ from episodes
#
# Replace the expectation in (1.7) by an average over $N$ sampled episodes:
#
# $$\hat g_N = \frac{1}{N} \sum_{n=1}^{N} \hat g(\tau_n), \qquad \hat g(\tau) = R(\tau) \sum_{t} \nabla_\theta \log \pi_\theta(a_t \mid s_t). \tag{1.9}$$
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
# step into the goal, is pushed up. The second part pushes every row back up by nearly as much,
# and the useful signal is the small difference between large numbers.

# %%
# NBVAL_CHECK_OUTPUT
counts = torch.nn.functional.one_hot(episodes.states * 2 + episodes.actions, 6).double()
counts = (counts * episodes.mask[..., None]).sum(0).reshape(-1, 3, 2)  # times (s, a) was taken in τ_n
raise_part = (returns[:, None, None] * counts).mean(0)  # the 1[b = a_t] part of ĝ
share_negative = float((returns < 0).double().mean())
assert share_negative > 0.75 and bool((raise_part[:2] < 0).all()) and float(raise_part[2, 1]) > 0
assert bool((grad_exact[:2, 1] > 0).all())  # ... although ∇J wants `right` up in cells 0 and 1
assert float(raise_part.abs().max()) > 2 * float(g_hat.abs().max())
print(f"episodes with a negative return: {share_negative:.0%}")
print("'raise the action taken' part, averaged with weights R(τ):")
print(np.round(raise_part.numpy(), 3))
print("the whole estimate ĝ (the second part adds the difference):")
print(np.round(g_hat.numpy(), 3))

# %% [markdown]
# In cells 0 and 1, `right` is pushed down less than `left`, and that difference is all the
# learning signal there. The estimate is unbiased, yet it spends its noise on "everything down,
# then everything up". Adding
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
# buy about three times ($\sqrt{10}$) less error. The fitted slope, and the prediction of (1.10):

# %% tags=["nbval-ignore-output"]
slope = np.polyfit(np.log(sizes), np.log(errors.numpy()), 1)[0]
predicted = (pg.total_variance(pool_g) / torch.tensor(sizes, dtype=torch.float64)).sqrt()
assert -0.65 < slope < -0.35
assert bool(((errors / predicted - 1).abs() < 0.35).all())
print(f"fitted slope {slope:.3f} (theory −0.5)")
print("measured / predicted by (1.10):", np.round((errors / predicted).numpy(), 2))

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
# **Exercise 1.2.** Write the pseudo-loss (1.11). `log_probs` and `mask` are $(T, N)$ (episodes of
# different lengths are padded; `mask` is True on real steps), `returns` is $(N,)$, one $R(\tau_n)$
# per episode.

# %%
def reinforce_loss(log_probs, returns, mask):
    ### BEGIN SOLUTION
    per_episode = (log_probs * mask).sum(dim=0)
    return -(returns * per_episode).sum() / log_probs.shape[1]
    ### END SOLUTION


pe.exercises.reinforce_loss.check(reinforce_loss)

# %%
pe.exercises.reinforce_loss.hint()

# %% [markdown]
# ## 6. REINFORCE learns
#
# Put it together: sample 100 episodes with the current policy, build the pseudo-loss, take
# one optimiser step, repeat. Because we can evaluate $J$ exactly, we watch the true objective,
# not a noisy estimate. The best possible $J$ comes from trying all $2^3$ deterministic policies.

# %%
# NBVAL_CHECK_OUTPUT
best_J = max(
    float(tm.state_values(mdp, torch.nn.functional.one_hot(torch.tensor(acts), 2).double()) @ mdp.mu0)
    for acts in itertools.product(range(2), repeat=mdp.n_states)
)
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
noise_100 = (pg.total_variance(per_episode) / 100) ** 0.5 / float(grad_exact.norm())  # (1.10) at N = 100
assert 0.25 < noise_100 < 0.45  # each step's ĝ was noisy: about a third of ‖∇J‖
print(f"J before: {history[0]:.2f}   after 80 updates: {history[-1]:.2f}   best possible: {best_J:.2f}")
print(f"error of ĝ from 100 episodes at θ = 0, by (1.10): {noise_100:.2f} × ‖∇J‖")
print("P(right) in each cell:", np.round(tm.softmax_policy(theta.detach())[:, 1].numpy(), 2))

# %%
pe.plots.learning_curve(range(len(history)), history, optimum=best_J)

# %% [markdown]
# The curve is smooth because it shows the *exact* $J$ after each step; the steps themselves
# were noisy. With 100 episodes per update, the error of $\hat g$ is about a third of $\lVert\nabla J\rVert$ at the
# start (printed above; it is also the error figure's value at N = 100). Notebooks 02 and 03
# make $\hat g$ less noisy without changing its expectation.
#
# ## Recap
#
# * $J(\theta) = \mathbb{E}[R(\tau)]$ (1.1); only the policy factors of $p_\theta(\tau)$ (1.2) depend on $\theta$.
# * The log-derivative trick $\nabla p = p\,\nabla\log p$ (1.5) turns $\nabla J$ into an expectation, (1.6)–(1.7), in
#   which the unknown dynamics drop out: $\nabla J = \mathbb{E}[R(\tau) \sum_t \nabla\log \pi_\theta(a_t \mid s_t)]$.
# * For a softmax, $\nabla\log \pi(a \mid s) = \operatorname{onehot}(a) - \pi(\cdot \mid s)$ on the row of $s$ (1.8);
#   for a bandit this gives $\partial J/\partial\theta_j = \pi_j (r_j - J)$ (Exercise 1.3).
# * REINFORCE averages this over $N$ episodes (1.9): unbiased, with error $\propto 1/\sqrt N$ (1.10), checked
#   against the exact gradient of a small MDP obtained by a linear solve (1.3).
# * Its update raises the log-probability of each sampled action in proportion to its episode's
#   return; with the corridor's mostly negative returns it pushes nearly every action down.
# * Code minimises the pseudo-loss $L = -\frac1N \sum_n R(\tau_n) \sum_t \log \pi$ (1.11); its gradient is $-\hat g$, so descent on $L$
#   is ascent on $J$.
#
# Next: **02 · baseline**, where we subtract a constant from $R(\tau)$ and the variance drops while the
# expectation stays put.
