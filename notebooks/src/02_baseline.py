# %% [markdown]
# # 02 · Baseline
#
# REINFORCE (notebook 01) is unbiased but noisy, and in the corridor most of its returns are
# negative, so it pushes nearly every sampled action down. The first repair is almost free:
# subtract a baseline $b$ from the return. The expectation does not move; the variance does,
# and there is a best $b$.
#
# **You will learn**
# 1. why the score has mean zero, $\mathbb{E}_{a\sim\pi}[\nabla\log \pi(a \mid s)] = 0$ (a sympy proof for the softmax);
# 2. why therefore a baseline leaves the gradient unbiased, and the condition for it: $b_t$ may
#    depend on $s_t$ and the past, **never on $a_t$ or later**;
# 3. that the variance is a quadratic in $b$, and the $b$ that minimises it, $b^* = \mathbb{E}[\lVert g\rVert^2 R]/\mathbb{E}[\lVert g\rVert^2]$;
# 4. that the popular choice $b$ = average return is close to, but not, the best constant;
# 5. why a baseline matters most when returns sit far from zero (CartPole's $+1$ per step): the
#    variance without one grows like $c^2$ with an offset $c$, and what that does to learning,
#    over 100 runs.

# %%
import numpy as np
import torch

import ppo_edu as pe

tm, pg = pe.toy_mdps, pe.policy_gradient

# %% [markdown]
# ## 1. The score has mean zero
#
# For any state $s$, because the probabilities sum to one whatever $\theta$ is,
#
# $$\mathbb{E}_{a\sim\pi_\theta(\cdot|s)}\big[\nabla_\theta \log \pi_\theta(a\mid s)\big] = \sum_a \pi_\theta(a\mid s)\, \frac{\nabla_\theta \pi_\theta(a\mid s)}{\pi_\theta(a\mid s)} = \nabla_\theta \sum_a \pi_\theta(a\mid s) = \nabla_\theta 1 = 0. \tag{2.1}$$
#
# sympy checks it for a softmax over three actions with symbolic logits (each entry is one
# $\partial/\partial\theta_j$ of the expectation):

# %%
# NBVAL_CHECK_OUTPUT
expectation, is_zero = pe.symbolic.expected_score_is_zero(3)
assert is_zero
print("E[∇ log π] =", list(expectation))

# %% [markdown]
# And numerically, on the corridor of notebook 01 with a random policy: $\sum_a \pi(a \mid s)\, \nabla\log\pi(a \mid s)$
# vanishes in every state.

# %%
# NBVAL_CHECK_OUTPUT
mdp = tm.corridor()
theta_rand = torch.randn(mdp.n_states, mdp.n_actions, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
pi_rand = tm.softmax_policy(theta_rand)
states = torch.arange(mdp.n_states).repeat_interleave(mdp.n_actions)
actions = torch.arange(mdp.n_actions).repeat(mdp.n_states)
scores = pg.score(theta_rand, states, actions)  # (S·A, S, A)
mean_score = (pi_rand.reshape(-1)[:, None, None] * scores).reshape(mdp.n_states, mdp.n_actions, -1).sum(1)
assert torch.allclose(mean_score, torch.zeros_like(mean_score), atol=1e-15)
print("max |Σ_a π ∇log π| =", round(float(mean_score.abs().max()), 12))

# %% [markdown]
# ## 2. A baseline does not bias the gradient
#
# The same argument works for whole trajectories: $\sum_\tau p_\theta(\tau) = 1$, so
# $\mathbb{E}_\tau[\nabla\log p_\theta(\tau)] = \sum_\tau \nabla p_\theta(\tau) = \nabla 1 = 0$. Hence for any constant $b$
#
# $$\mathbb{E}\big[(R(\tau) - b)\, \nabla_\theta \log p_\theta(\tau)\big] = \nabla_\theta J - b\,\mathbb{E}\big[\nabla_\theta \log p_\theta(\tau)\big] = \nabla_\theta J. \tag{2.2}$$
#
# sympy, with symbolic values $f(a)$ in place of the return and a symbolic $b$:

# %%
# NBVAL_CHECK_OUTPUT
difference, unbiased = pe.symbolic.baseline_unbiased(3)
assert unbiased
print("E[(f − b)∇log π] − E[f ∇log π] =", list(difference))

# %% [markdown]
# The source notes say $b$ "≈ $\mathbb{E}[R(\tau)]$" and then write the baselined average with "≈".
# There is nothing approximate about (2.2): *any* constant gives an unbiased estimate, a good one
# or a silly one. Here is a silly one, $b = 1$ (more than any return the corridor can pay): on
# 20 000 episodes of the uniform policy the estimate is still within a few standard errors of
# the exact gradient, only noisier.

# %%
# NBVAL_CHECK_OUTPUT
theta0 = torch.zeros(mdp.n_states, mdp.n_actions, dtype=torch.float64)
grad_exact = tm.exact_gradient(mdp, theta0)
episodes = tm.sample_episodes(mdp, tm.softmax_policy(theta0), 20_000, torch.Generator().manual_seed(0))
g = pg.score_sums(theta0, episodes.states, episodes.actions, episodes.mask)  # ∇log p(τ_n), (N, S, A)
R = pg.total_return_weights(episodes.rewards, episodes.mask, mdp.gamma)[0]  # R(τ_n), (N,)
for b in (0.0, 1.0):
    est = (R - b)[:, None, None] * g
    z = ((est.mean(0) - grad_exact).abs() / (est.std(0) / len(est) ** 0.5)).max()
    assert z < 4
    print(f"b = {b}: largest error = {float(z):.1f} standard errors;  total variance = {pg.total_variance(est):.3f}")

# %% [markdown]
# ### What a baseline may depend on
#
# The baseline may also change from step to step, $b_t$, with weights $\psi_t = R(\tau) - b_t$ on
# $\nabla\log\pi_\theta(a_t \mid s_t)$. The argument of (2.1) still works **if $b_t$ is fixed once the
# history up to $s_t$ is known**: a function of $s_t$, of earlier states, actions and rewards, of
# $\theta$ or of past batches, but **not of $a_t$ or of anything after it**. Then
#
# $$\mathbb{E}\big[b_t\, \nabla\log\pi_\theta(a_t \mid s_t)\big] = \mathbb{E}\Big[b_t\; \underbrace{\mathbb{E}_{a_t\sim\pi(\cdot\mid s_t)}\big[\nabla\log\pi_\theta(a_t \mid s_t)\big]}_{=\,0 \text{ by (2.1)}}\Big] = 0. \tag{2.2'}$$
#
# If $b_t$ depends on $a_t$, it cannot be pulled out of the inner expectation, and the estimate is
# in general biased (unless that expectation is computed and added back, as the action-dependent
# control variate of Q-Prop does, Gu et al. 2017). What it adds is, for a softmax over actions
# $j$ with baseline values $b_j$ (held fixed),
#
# $$\mathbb{E}_{a\sim\pi}\big[b_a\, \nabla\log\pi(a)\big] = \sum_i \pi_i\, b_i\, \nabla\log\pi_i, \qquad \text{component } \theta_j\text{:}\quad \pi_j \Big(b_j - \sum_i \pi_i b_i\Big), \tag{2.2''}$$
#
# by (1.8); it vanishes for every $\theta$ only when all $b_j$ are equal, that is for a constant.
# sympy, with a symbolic $b_i$ for each of three actions (the difference is the estimate's
# expectation minus that without the baseline, so it is minus (2.2'')):

# %%
# NBVAL_CHECK_OUTPUT
difference, matches, zero_if_constant, example = pe.symbolic.action_dependent_baseline_bias(3)
assert matches and zero_if_constant and any(e != 0 for e in example)
print("E[(f − b_a)∇log π] − E[f ∇log π] equals −π_j (b_j − Σ_i π_i b_i):", matches)
print("and is 0 when every b_i is the same b:", zero_if_constant)
print("at θ = 0 with b = (1, 0, 0):", list(example))

# %% [markdown]
# (An extreme case: $b = R(\tau)$ makes every estimate exactly zero.) On the same 20 000
# episodes, a baseline that depends on the state, $b(s_t) = (0.5, -1, 2)[s_t]$, against one that
# depends on the action, $b(a_t) = 0.5\cdot\mathbb{1}[a_t = \text{right}]$. Summed over the steps of an
# episode, (2.2'') predicts the second one's expectation exactly: $\nabla J$ minus $n(s)$ times
# (2.2'') in each state, with $n(s)$ the expected number of visits to $s$ (the weight $b(a_t)$
# is not discounted).

# %%
# NBVAL_CHECK_OUTPUT
R_steps = pg.total_return_weights(episodes.rewards, episodes.mask, mdp.gamma)  # R(τ_n) on every step, (T, N)
b_state = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)[episodes.states]
b_action = 0.5 * (episodes.actions == 1).double()
pi0 = tm.softmax_policy(theta0)
visits = tm.discounted_visitation(mdp.with_gamma(1.0), pi0)  # n(s), expected visits per episode
b_values = torch.tensor([0.0, 0.5], dtype=torch.float64)  # b(left), b(right)
added = pi0 * (b_values - (pi0 * b_values).sum(1, keepdim=True))  # (2.2'') in each state, (S, A)
predicted = grad_exact - visits[:, None] * added
for name, b_t in (("b(s_t), depends on the state ", b_state), ("b(a_t), depends on the action", b_action)):
    est = pg.reinforce_estimates(theta0, episodes.states, episodes.actions, R_steps - b_t, episodes.mask)
    z_b = float(((est.mean(0) - grad_exact).abs() / (est.std(0) / len(est) ** 0.5)).max())
    print(f"{name}: largest error = {z_b:5.1f} standard errors;  mean estimate of ∂J/∂θ[0, right] = "
          f"{float(est.mean(0)[0, 1]):+.4f} (exact {float(grad_exact[0, 1]):+.4f})")
    assert (z_b < 4) if b_t is b_state else (z_b > 10)
z_pred = float(((est.mean(0) - predicted).abs() / (est.std(0) / len(est) ** 0.5)).max())
assert z_pred < 4
print(f"predicted by (2.2''): ∂J/∂θ[0, right] − n(0)·π(right)·(0.5 − 0.25) = {float(predicted[0, 1]):+.4f};  "
      f"largest error of b(a_t)'s mean against the prediction: {z_pred:.1f} standard errors")

# %% [markdown]
# The action-dependent "baseline" moves the estimate far from $\nabla J$, and in the wrong direction
# for `right`: it subtracts $0.5$ exactly when `right` was taken, so it argues against `right`.
#
# **Exercise 2.1.** Given the per-episode scores $\nabla\log p(\tau_n)$ (shape $(N, D)$, flattened),
# the returns $R(\tau_n)$ (shape $(N,)$) and a constant $b$, return the $N$ one-episode estimates
# $(R(\tau_n) - b)\,\nabla\log p(\tau_n)$.

# %%
def baselined_estimates(score_sums, returns, b):
    ### BEGIN SOLUTION
    return (returns - b)[:, None] * score_sums
    ### END SOLUTION


pe.exercises.baselined_estimates.check(baselined_estimates)

# %% [markdown]
# ## 3. The variance is a quadratic in b
#
# Write $g = \nabla\log p_\theta(\tau)$. The mean of $(R - b)g$ is $\nabla J$ for every $b$, so its total
# variance (the sum of the variances of all components) is the second moment minus a constant:
#
# $$\operatorname{tr}\operatorname{Var}\big[(R - b)\,g\big] = \mathbb{E}\big[\lVert g\rVert^2 (R - b)^2\big] - \lVert\nabla J\rVert^2 = \underbrace{\mathbb{E}[\lVert g\rVert^2 R^2]}_{m_2} - 2b\,\underbrace{\mathbb{E}[\lVert g\rVert^2 R]}_{m_1} + b^2\,\underbrace{\mathbb{E}[\lVert g\rVert^2]}_{m_0} - \lVert\nabla J\rVert^2. \tag{2.3}$$
#
# A parabola in $b$, opening upwards ($m_0 > 0$). Setting its derivative to zero,
#
# $$b^* = \frac{\mathbb{E}\big[\lVert \nabla\log p_\theta(\tau)\rVert^2\, R(\tau)\big]}{\mathbb{E}\big[\lVert \nabla\log p_\theta(\tau)\rVert^2\big]}, \tag{2.4}$$
#
# an average of the returns, weighted by the squared length of the score. It minimises the
# *total* variance (2.3) over constants. Weaver & Tao (2001) first asked for the variance-minimising
# constant baseline (of the per-step reward, in the long-run average-reward setting, where in a
# limit it is the average reward); Greensmith, Bartlett & Baxter (2004, JMLR 5) derive the
# minimiser, of the form (2.4), and show that the average is in general not it. sympy does the
# minimisation:

# %%
# NBVAL_CHECK_OUTPUT
quadratic, best, is_minimum = pe.symbolic.optimal_baseline()
assert is_minimum
print("second moment:", quadratic, "  minimised at b* =", best)

# %% [markdown]
# `pe.policy_gradient.optimal_constant_baseline` computes (2.4) from samples and
# `pe.policy_gradient.baseline_variance_curve` evaluates (2.3) (as a sample variance) on a grid.
# On the episodes it is fitted on, $b^*$ is the grid's minimum by construction, so we also score it
# on 100 000 **new** episodes (seed 1; section 5 uses them again), with a paired bootstrap
# interval (1 000 resamples of those episodes) for each difference:

# %%
# NBVAL_CHECK_OUTPUT
b_star = float(pg.optimal_constant_baseline(g, R))
b_mean = float(R.mean())
v0, v_star, v_mean = pg.baseline_variance_curve(g, R, torch.tensor([0.0, b_star, b_mean])).tolist()  # fitted on
grid = torch.linspace(-0.8, 0.6, 141, dtype=torch.float64)
curve = pg.baseline_variance_curve(g, R, grid)
assert abs(float(grid[curve.argmin()]) - b_star) < 0.02  # the grid's minimum is at b*
pool = tm.sample_episodes(mdp, tm.softmax_policy(theta0), 100_000, torch.Generator().manual_seed(1))
pool_g = pg.score_sums(theta0, pool.states, pool.actions, pool.mask)
pool_R = pg.total_return_weights(pool.rewards, pool.mask, mdp.gamma)[0]
new_est = [pg.baselined_estimates(pool_g, pool_R, b) for b in (0.0, b_mean, b_star)]
new_v0, new_v_mean, new_v_star = (float(pg.total_variance(e)) for e in new_est)
boot = pg.bootstrap_total_variances(new_est, 1000, torch.Generator().manual_seed(2))


def interval(x):
    """The 2.5 % and 97.5 % quantiles of bootstrap values x, (B,)."""
    return torch.quantile(x, torch.tensor([0.025, 0.975], dtype=x.dtype)).tolist()


gap_mean, gap_star = interval(boot[:, 0] - boot[:, 1]), interval(boot[:, 1] - boot[:, 2])
assert new_v_star < new_v_mean < new_v0 and gap_mean[0] > 0 and gap_star[0] > 0
print(f"b* = {b_star:.3f}   mean return = {b_mean:.3f}   (both from the 20 000 episodes)")
print(f"total variance on them:          b = 0: {v0:.4f}   b = mean return: {v_mean:.4f}   b = b*: {v_star:.4f}")
print(f"on 100 000 new episodes:         b = 0: {new_v0:.4f}   b = mean return: {new_v_mean:.4f}   b = b*: {new_v_star:.4f}")
print(f"new episodes, 95% intervals:     (b = 0) − (mean return) in [{gap_mean[0]:.4f}, {gap_mean[1]:.4f}]   "
      f"(mean return) − (b*) in [{gap_star[0]:.4f}, {gap_star[1]:.4f}]")
print(f"variance cut by b*: {1 - v_star / v0:.0%} on the 20 000 episodes, {1 - new_v_star / new_v0:.0%} on the new ones")

# %%
pe.plots.baseline_variance(grid, curve, b_best=b_star, b_mean=b_mean)

# %% [markdown]
# Notice that $b^*$ is *below* the mean return. Episodes with a large $\lVert\nabla\log p(\tau)\rVert^2$
# weigh more in (2.4), and those are the long ones (every step adds a term to $\nabla\log p$), which
# in the corridor are the ones that wandered and paid many step costs. The check:

# %%
# NBVAL_CHECK_OUTPUT
sq_norm = (g**2).sum((1, 2))
lengths = episodes.lengths.double()
corr_len = float(np.corrcoef(sq_norm.numpy(), lengths.numpy())[0, 1])
corr_ret = float(np.corrcoef(sq_norm.numpy(), R.numpy())[0, 1])
assert corr_len > 0.5 and corr_ret < 0 and b_star < b_mean
print(f"corr(‖g‖², length) = {corr_len:.2f}   corr(‖g‖², R) = {corr_ret:.2f}")

# %% [markdown]
# $b^*$ is the best *single* number for the whole gradient. Each coordinate $i$ of the estimate
# $(R - b)\,g$ has its own variance, and (2.3) for coordinate $i$ alone is minimised by
#
# $$b_i = \frac{\mathbb{E}\big[g_i^2\, R(\tau)\big]}{\mathbb{E}\big[g_i^2\big]}, \tag{2.5}$$
#
# one constant per coordinate (Peters & Schaal 2008). A single $b^*$ is one of the choices (2.5)
# minimises over, so with exact expectations (2.5) does at least as well in total. With two actions
# $g[s, \text{left}] = -g[s, \text{right}]$, so the $b_i$ are one number per state. Fitted on the
# 20 000 episodes and scored on the 100 000 new ones:

# %%
# NBVAL_CHECK_OUTPUT
b_coord = pg.optimal_coordinate_baselines(g, R)  # (2.5), (S, A)
coord_est = (pool_R[:, None, None] - b_coord) * pool_g
new_v_coord = float(pg.total_variance(coord_est))
boot_coord = pg.bootstrap_total_variances([new_est[2], coord_est], 1000, torch.Generator().manual_seed(3))
gap_coord = interval(boot_coord[:, 0] - boot_coord[:, 1])
assert torch.allclose(b_coord[:, 0], b_coord[:, 1]) and new_v_coord < new_v_star and gap_coord[0] > 0
print("b_i per state:", np.round(b_coord[:, 1].numpy(), 3).tolist(), f"  (b* = {b_star:.3f})")
print(f"new episodes: variance with b*: {new_v_star:.4f}   with b_i: {new_v_coord:.4f}   "
      f"(b*) − (b_i) in [{gap_coord[0]:.4f}, {gap_coord[1]:.4f}] (95%)")

# %% [markdown]
# Lower on the new episodes too, with the interval above zero, but by under 1 %: the $b_i$ lie on
# both sides of $b^*$ and close to it.
#
# **Exercise 2.2.** Compute $b^*$ (2.4) from per-episode scores $(N, D)$ and returns $(N,)$.

# %%
def optimal_baseline(score_sums, returns):
    ### BEGIN SOLUTION
    sq_norms = (score_sums**2).sum(dim=1)
    return (sq_norms * returns).sum() / sq_norms.sum()
    ### END SOLUTION


pe.exercises.optimal_baseline.check(optimal_baseline)

# %% [markdown] tags=["solution-demo"]
# The average return is the answer most people give; the checker says why it is not (2.4):

# %% tags=["solution-demo"]
pe.exercises.optimal_baseline.check(lambda score_sums, returns: returns.mean())

# %% [markdown]
# **Exercise 2.3** (derive, and predict first). For a softmax *bandit* (one state, one action per
# episode, as in Exercise 1.2) the expectations in (2.4) are finite sums over the actions, so
# $b^*$ has a closed form. Derive it and code it: given logits and rewards (1-D, length $K$),
# return the exact $b^*$.
#
# *Predict before you run:* two actions with $\pi = (\tfrac14, \tfrac34)$ and rewards $r = (1, 0)$. The
# expected return is $J = 0.25$. Is $b^*$ closer to $0.25$, to $0.5$ or to $0.75$? Why?

# %%
def bandit_optimal_baseline(logits, rewards):
    ### BEGIN SOLUTION
    pi = torch.softmax(logits, dim=-1)
    sq_norms = ((torch.eye(len(pi), dtype=pi.dtype) - pi) ** 2).sum(dim=1)  # ‖onehot(a) − π‖²
    return (pi * sq_norms * rewards).sum() / (pi * sq_norms).sum()
    ### END SOLUTION


pe.exercises.bandit_optimal_baseline.check(bandit_optimal_baseline)

# %%
# NBVAL_CHECK_OUTPUT
b_bandit = float(pg.bandit_optimal_baseline(torch.tensor([0.0, np.log(3.0)], dtype=torch.float64), [1.0, 0.0]))
assert abs(b_bandit - 0.75) < 1e-12
print(f"π = (1/4, 3/4), r = (1, 0):  J = 0.25,  b* = {b_bandit:.4f}")

# %% [markdown]
# The rare action's score is long, $\lVert g(0)\rVert^2 = 2\cdot(\tfrac34)^2$, nine times the common one's,
# so its reward dominates $b^*$: the baseline is set where the gradient's noise comes from, not
# where the probability mass is.

# %% [markdown]
# ## 4. When returns sit far from zero
#
# The corridor's returns lie near 0, so there is little for a baseline to remove. In CartPole
# every step pays $+1$ and returns run into the hundreds. Take the corridor and shift **every
# return** by a constant $c$ (for instance by adding $c$ to the first reward of each episode).
# $\nabla J$ does not change (2.2). By (2.3) the variance at $b = 0$ grows like $c^2$: $m_2$ gains
# $2c\,m_1 + c^2 m_0$, $m_1$ gains $c\,m_0$. The best constant moves with the offset, $b^* \to b^* + c$,
# and the variance at $b^*$ does not change at all. The same 20 000 episodes, with $c$ from 0 to 4:

# %%
# NBVAL_CHECK_OUTPUT
offsets = [0.0, 0.5, 1.0, 2.0, 4.0]
shifted = {}
for c in offsets:
    b_c = float(pg.optimal_constant_baseline(g, R + c))
    shifted[c] = (b_c, *pg.baseline_variance_curve(g, R + c, torch.tensor([0.0, b_c])).tolist())
    print(f"c = {c}:  b* = {b_c:+.3f}   variance at b = 0: {shifted[c][1]:8.4f}   at b*: {shifted[c][2]:.4f}")
v0_c = np.array([shifted[c][1] for c in offsets])
assert np.allclose(np.polyval(np.polyfit(offsets, v0_c, 2), offsets), v0_c)  # a parabola in c
assert np.allclose([shifted[c][0] - c for c in offsets], b_star)  # b* moves with the offset
assert np.allclose([shifted[c][2] for c in offsets], v_star)  # and absorbs it completely

# %% [markdown]
# CartPole's offset is not the same for every episode: $+1$ per step adds $\sum_t \gamma^t$, more for
# long episodes than for short ones. Add $c$ to **every reward** of the corridor instead, so that
# $R(\tau)$ gains $c\sum_{t<T}\gamma^t$. (This changes the problem and its $\nabla J$; we compare the
# variances of unbiased estimates of the new $\nabla J$, on the same episodes.)

# %%
# NBVAL_CHECK_OUTPUT
discount_sum = pg.total_return_weights(episodes.mask.double(), episodes.mask, mdp.gamma)[0]  # Σ_t γ^t of each τ_n
per_step = {}
for c in offsets:
    R_c = R + c * discount_sum
    b_c = float(pg.optimal_constant_baseline(g, R_c))
    per_step[c] = pg.baseline_variance_curve(g, R_c, torch.tensor([0.0, b_c])).tolist()
    print(f"c = {c} per step:  variance at b = 0: {per_step[c][0]:8.3f}   at b*: {per_step[c][1]:7.3f}"
          f"   cut by b*: {1 - per_step[c][1] / per_step[c][0]:.0%}")
assert 3.5 < per_step[4.0][0] / per_step[2.0][0] < 4.5  # grows like c²
assert all(per_step[c][1] < 0.2 * per_step[c][0] for c in (1.0, 2.0, 4.0))  # b* removes most of it
assert per_step[4.0][1] > 50 * v_star  # but not all: the offset differs between episodes

# %% [markdown]
# A constant $b^*$ removes most of the offset, but not the part that differs between short and
# long episodes. A baseline $b_t$ that depends on the state and the past (notebook 03 uses $V(s_t)$,
# with the reward-to-go) can remove the part of the offset already paid before step $t$ and its
# expected remainder given $s_t$, but not the randomness of the episode's remaining length.

# %% [markdown]
# ## 5. What the smaller variance buys
#
# Variance is an abstract number; the error of a gradient estimate is what training feels.
# Repeat "estimate $\nabla J$ from 100 episodes" many times, with $b = 0$ and with $b = b^*$, and
# measure the RMS distance to the exact gradient, on the new episodes of section 3 cut into
# disjoint batches of 100 (the number of batches is the notebook's budget). By (1.10) the error
# ratio should be about $\sqrt{v^*/v_0}$, with the variances measured on those same episodes.

# %% tags=["nbval-ignore-output"]
n_repeats = pe.runtime.budget(1000, 300)
err = {b: float(pg.mc_gradient_errors(e[: 100 * n_repeats], grad_exact, [100])[0])
       for b, e in ((0.0, new_est[0]), (b_star, new_est[2]))}
assert err[b_star] < err[0.0]
print(f"RMS error with 100 episodes ({n_repeats} batches):  b = 0: {err[0.0]:.4f}   b = b*: {err[b_star]:.4f}")
print(f"ratio {err[b_star] / err[0.0]:.3f}   predicted √(v*/v0) = {(new_v_star / new_v0) ** 0.5:.3f}")

# %% [markdown]
# On the corridor as it is, a constant baseline helps a little. What does it do to learning,
# and what when the returns carry an offset?
#
# ## 6. Learning with and without a baseline
#
# REINFORCE as in notebook 01, with 10 episodes per update and step size $\alpha = 1$, run 100
# times from $\theta = 0$ with different seeds (30 in quick mode); we plot the exact $J$ after
# each update: the mean over runs and a band holding the middle 80 % of them. 100 runs, as in
# Sutton & Barto's Fig. 13.2 (which plots only the mean, with a learned state-value baseline;
# the band is ours). Our baseline is the average return of the learner's *previous* batch: it
# depends only on past data, so it is allowed by (2.2'). Two settings: the corridor's returns as
# they are, and every return shifted by $c = +2$ (section 4), which leaves $\nabla J$ and the best
# policy unchanged. The step size is the same in all four settings (not tuned for either; a sweep
# over $\alpha$ follows the figure).

# %% tags=["nbval-ignore-output"]
n_runs = pe.runtime.budget(100, 30)
runs_of = (("no baseline", "none", 10), ("baseline: previous batch's mean", "previous_batch", 11))
curves = {}
for c in (0.0, 2.0):
    for label, base, seed in runs_of:
        curves[(c, label)] = pg.reinforce_learning_curves(mdp, n_runs, 60, 10, 1.0, base, c, seed)
area = {k: v.mean(1) for k, v in curves.items()}  # each run's average J over its 60 updates
for (c, label), a_k in area.items():
    print(f"c = {c}, {label:<32}: average J over training {a_k.mean():.3f} ± {a_k.std() / n_runs**0.5:.3f} (± s.e.)"
          f"   runs ending below J = 0.3: {int((curves[(c, label)][:, -1] < 0.3).sum())}/{n_runs}")
with_b, without_b = area[(2.0, "baseline: previous batch's mean")], area[(2.0, "no baseline")]
se_diff = float((with_b.var() / n_runs + without_b.var() / n_runs) ** 0.5)
assert float(with_b.mean() - without_b.mean()) > 2 * se_diff  # with the offset, the baseline learns faster
stuck = {k: int((v[:, -1] < 0.3).sum()) for k, v in curves.items()}
assert stuck[(2.0, "no baseline")] > 0 and stuck[(2.0, "baseline: previous batch's mean")] == 0  # ... and more reliably
same_b, same_0 = area[(0.0, "baseline: previous batch's mean")], area[(0.0, "no baseline")]
assert abs(float(same_b.mean() - same_0.mean())) < 3 * float((same_b.var() / n_runs + same_0.var() / n_runs) ** 0.5)

# %%
best_J = float(tm.state_values(mdp, torch.tensor([[0.0, 1.0]] * 3, dtype=torch.float64))[0])
pe.plots.baseline_learning_curves(
    {f"returns shifted by c = {c:g}": {label: curves[(c, label)] for (cc, label) in curves if cc == c}
     for c in (0.0, 2.0)}, optimum=best_J)

# %% [markdown]
# At $\alpha = 1$: without an offset the two curves lie on top of each other (the difference is
# within the noise printed above). With every return shifted by 2, the runs without a baseline
# learn more slowly on average, and many of them go wrong: the runs that end below $J = 0.3$ are
# counted above, none of them with the baseline. Without it, each update pushes every sampled
# action *up*, in proportion to a return near 2, so an unlucky batch can make a poor action much
# more likely, and a run that went that way has not recovered 60 updates later. The baseline
# takes the offset out, and its runs stay together.
#
# One step size could favour one method by accident. With the offset $c = 2$, the same
# comparison at $\alpha$ = 0.5, 1, 2 and 4 (the same seeds; "±" is one standard error over runs):

# %% tags=["nbval-ignore-output"]
step_sizes = (0.5, 1.0, 2.0, 4.0)
sweep = {}
for lr in step_sizes:
    for label, base, seed in runs_of:
        runs = curves[(2.0, label)] if lr == 1.0 else pg.reinforce_learning_curves(mdp, n_runs, 60, 10, lr, base, 2.0, seed)
        sweep[(lr, label)] = runs.mean(1)  # each run's average J over its 60 updates
no_b, with_b_label = runs_of[0][0], runs_of[1][0]


def mean_se(x):
    return float(x.mean()), float(x.std() / len(x) ** 0.5)


for lr in step_sizes:
    (m0, s0), (m1, s1) = mean_se(sweep[(lr, no_b)]), mean_se(sweep[(lr, with_b_label)])
    print(f"α = {lr}:  average J, no baseline {m0:.3f} ± {s0:.3f}   with baseline {m1:.3f} ± {s1:.3f}   "
          f"difference {m1 - m0:+.3f} ± {(s0**2 + s1**2) ** 0.5:.3f}")
    assert m1 - m0 > 2 * (s0**2 + s1**2) ** 0.5  # the baseline is ahead at every step size tried
best_0 = max(step_sizes, key=lambda lr: mean_se(sweep[(lr, no_b)])[0])
best_1 = max(step_sizes, key=lambda lr: mean_se(sweep[(lr, with_b_label)])[0])
(m0, s0), (m1, s1) = mean_se(sweep[(best_0, no_b)]), mean_se(sweep[(best_1, with_b_label)])
assert m1 - m0 > 2 * (s0**2 + s1**2) ** 0.5
print(f"each at its best step size: no baseline (α = {best_0}) {m0:.3f} ± {s0:.3f}   "
      f"with baseline (α = {best_1}) {m1:.3f} ± {s1:.3f}")

# %% [markdown]
# With the offset, the baseline is ahead at every step size tried, by more than two standard
# errors, and also when each method gets the best of the four step sizes (Sutton & Barto's
# Fig. 13.2 likewise runs plain REINFORCE at its best step size). That says "learns faster" on this grid of four $\alpha$ and
# 60 updates, not for every schedule.
#
# ## Recap
#
# * The score has mean zero (2.1), so subtracting any constant $b$ from $R(\tau)$ leaves the
#   gradient unbiased (2.2), checked with sympy and on 20 000 episodes. A baseline $b_t$ may
#   depend on $s_t$ and the past, not on $a_t$ or later (2.2'); one that depends on $a_t$ is in
#   general biased, by exactly (2.2'') summed over the visits, unless that term is added back.
# * The total variance is a parabola in $b$ (2.3), minimised at
#   $b^* = \mathbb{E}[\lVert\nabla\log p\rVert^2 R]/\mathbb{E}[\lVert\nabla\log p\rVert^2]$ (2.4): the average return weighted by the squared score.
#   One constant per coordinate (2.5) does at least as well (here slightly better, on new episodes).
# * $b$ = mean return is a good, cheap choice but not the minimiser; long episodes pull $b^*$ their way
#   (checked on new episodes, with bootstrap intervals).
# * An offset $c$ in the returns makes the variance without a baseline grow like $c^2$; $b^*$ absorbs
#   a constant offset exactly and most of a per-step one. Over 100 runs, with returns shifted by 2,
#   REINFORCE with a baseline learns faster (at each of $\alpha$ = 0.5, 1, 2, 4, and each at its best
#   $\alpha$) and, at $\alpha = 1$, more reliably.
# * Less variance means a smaller error for the same number of episodes, $\propto \sqrt{\text{variance}}$.
#
# Next: **03 · reward-to-go and advantage**, where each step gets its own weight.
