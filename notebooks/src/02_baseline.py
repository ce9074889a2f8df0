# %% [markdown]
# # 02 · Baseline
#
# REINFORCE (notebook 01) is unbiased but noisy. The first repair is almost free: subtract a
# constant b from the return. The expectation does not move; the variance does, and there is
# a best b.
#
# **You will learn**
# 1. why the score has mean zero, E_{a~π}[∇log π(a|s)] = 0 (a sympy proof for the softmax);
# 2. why therefore any constant baseline b leaves the gradient unbiased;
# 3. that the variance is a quadratic in b, and the b that minimises it, b* = E[‖g‖²R]/E[‖g‖²];
# 4. that the popular choice b = average return is close to, but not, the best constant.

# %%
import numpy as np
import torch

import ppo_edu as pe

tm, pg = pe.toy_mdps, pe.policy_gradient

# %% [markdown]
# ## 1. The score has mean zero
#
# For any state s, because the probabilities sum to one whatever θ is,
#
# $$\mathbb{E}_{a\sim\pi_\theta(\cdot|s)}\big[\nabla_\theta \log \pi_\theta(a\mid s)\big] = \sum_a \pi_\theta(a\mid s)\, \frac{\nabla_\theta \pi_\theta(a\mid s)}{\pi_\theta(a\mid s)} = \nabla_\theta \sum_a \pi_\theta(a\mid s) = \nabla_\theta 1 = 0. \tag{2.1}$$
#
# sympy checks it for a softmax over three actions with symbolic logits (each entry is one
# ∂/∂θ_j of the expectation):

# %%
# NBVAL_CHECK_OUTPUT
expectation, is_zero = pe.symbolic.expected_score_is_zero(3)
assert is_zero
print("E[∇ log π] =", list(expectation))

# %% [markdown]
# And numerically, on the corridor of notebook 01 with a random policy: Σ_a π(a|s) ∇log π(a|s)
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
# The same argument works for whole trajectories: Σ_τ p_θ(τ) = 1, so
# E_τ[∇log p_θ(τ)] = Σ_τ ∇p_θ(τ) = ∇1 = 0. Hence for any constant b
#
# $$\mathbb{E}\big[(R(\tau) - b)\, \nabla_\theta \log p_\theta(\tau)\big] = \nabla_\theta J - b\,\mathbb{E}\big[\nabla_\theta \log p_\theta(\tau)\big] = \nabla_\theta J. \tag{2.2}$$
#
# sympy, with symbolic values f(a) in place of the return and a symbolic b:

# %%
# NBVAL_CHECK_OUTPUT
difference, unbiased = pe.symbolic.baseline_unbiased(3)
assert unbiased
print("E[(f − b)∇log π] − E[f ∇log π] =", list(difference))

# %% [markdown]
# The source notes say b "≈ E[R(τ)]" and then write the baselined average with "≈". There is
# nothing approximate about (2.2): *any* constant gives an unbiased estimate, a good one or a
# silly one. Here is a silly one, b = 1 (more than any return the corridor can pay): on 20 000
# episodes of the uniform policy the estimate is still within a few standard errors of the exact
# gradient, only noisier.

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
# **Exercise 2.1.** Given the per-episode scores ∇log p(τ_n) (shape (N, D), flattened), the returns
# R(τ_n) (shape (N,)) and a constant b, return the N one-episode estimates (R(τ_n) − b)∇log p(τ_n).

# %%
def baselined_estimates(score_sums, returns, b):
    ### BEGIN SOLUTION
    return (returns - b)[:, None] * score_sums
    ### END SOLUTION


pe.exercises.baselined_estimates.check(baselined_estimates)

# %% [markdown]
# ## 3. The variance is a quadratic in b
#
# Write g = ∇log p_θ(τ). The mean of (R − b)g is ∇J for every b, so its total variance
# (the sum of the variances of all components) is the second moment minus a constant:
#
# $$\operatorname{tr}\operatorname{Var}\big[(R - b)\,g\big] = \mathbb{E}\big[\lVert g\rVert^2 (R - b)^2\big] - \lVert\nabla J\rVert^2 = \underbrace{\mathbb{E}[\lVert g\rVert^2 R^2]}_{m_2} - 2b\,\underbrace{\mathbb{E}[\lVert g\rVert^2 R]}_{m_1} + b^2\,\underbrace{\mathbb{E}[\lVert g\rVert^2]}_{m_0} - \lVert\nabla J\rVert^2. \tag{2.3}$$
#
# A parabola in b, opening upwards (m_0 > 0). Setting its derivative to zero,
#
# $$b^* = \frac{\mathbb{E}\big[\lVert \nabla\log p_\theta(\tau)\rVert^2\, R(\tau)\big]}{\mathbb{E}\big[\lVert \nabla\log p_\theta(\tau)\rVert^2\big]}, \tag{2.4}$$
#
# an average of the returns, weighted by the squared length of the score. sympy does the
# minimisation:

# %%
# NBVAL_CHECK_OUTPUT
quadratic, best, is_minimum = pe.symbolic.optimal_baseline()
assert is_minimum
print("second moment:", quadratic, "  minimised at b* =", best)

# %% [markdown]
# `pe.policy_gradient.optimal_constant_baseline` computes (2.4) from samples and
# `pe.policy_gradient.baseline_variance_curve` evaluates (2.3) (as a sample variance) on a grid:

# %%
# NBVAL_CHECK_OUTPUT
b_star = float(pg.optimal_constant_baseline(g, R))
b_mean = float(R.mean())
v0, v_star, v_mean = pg.baseline_variance_curve(g, R, torch.tensor([0.0, b_star, b_mean])).tolist()
grid = torch.linspace(-0.8, 0.6, 141, dtype=torch.float64)
curve = pg.baseline_variance_curve(g, R, grid)
assert v_star < v_mean < v0
assert abs(float(grid[curve.argmin()]) - b_star) < 0.02  # the grid's minimum is at b*
print(f"b* = {b_star:.3f}   mean return = {b_mean:.3f}")
print(f"total variance:  b = 0: {v0:.4f}   b = mean return: {v_mean:.4f}   b = b*: {v_star:.4f}")
print(f"variance cut by b*: {1 - v_star / v0:.0%}")

# %%
pe.plots.baseline_variance(grid, curve, b_best=b_star, b_mean=b_mean)

# %% [markdown]
# Notice that b* is *below* the mean return. Episodes with a large ‖∇log p(τ)‖² weigh more in
# (2.4), and those are the long ones (every step adds a term to ∇log p), which in the corridor
# are the ones that wandered and paid many step costs. The check:

# %%
# NBVAL_CHECK_OUTPUT
sq_norm = (g**2).sum((1, 2))
lengths = episodes.lengths.double()
corr_len = float(np.corrcoef(sq_norm.numpy(), lengths.numpy())[0, 1])
corr_ret = float(np.corrcoef(sq_norm.numpy(), R.numpy())[0, 1])
assert corr_len > 0.5 and corr_ret < 0 and b_star < b_mean
print(f"corr(‖g‖², length) = {corr_len:.2f}   corr(‖g‖², R) = {corr_ret:.2f}")

# %% [markdown]
# **Exercise 2.2.** Compute b* (2.4) from per-episode scores (N, D) and returns (N,).

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
# ## 4. What the smaller variance buys
#
# Variance is an abstract number; the error of a gradient estimate is what training feels.
# Repeat "estimate ∇J from 100 episodes" many times, with b = 0 and with b = b*, and measure the
# RMS distance to the exact gradient (the number of repeats is the notebook's budget). By (1.10)
# the error ratio should be about √(v* / v0).

# %% tags=["nbval-ignore-output"]
n_repeats = pe.runtime.budget(2000, 300)
pool = tm.sample_episodes(mdp, tm.softmax_policy(theta0), 100 * n_repeats, torch.Generator().manual_seed(1))
pool_g = pg.score_sums(theta0, pool.states, pool.actions, pool.mask)
pool_R = pg.total_return_weights(pool.rewards, pool.mask, mdp.gamma)[0]
err = {b: float(pg.mc_gradient_errors((pool_R - b)[:, None, None] * pool_g, grad_exact, [100])[0])
       for b in (0.0, b_star)}
assert err[b_star] < err[0.0]
print(f"RMS error with 100 episodes:  b = 0: {err[0.0]:.4f}   b = b*: {err[b_star]:.4f}")
print(f"ratio {err[b_star] / err[0.0]:.3f}   predicted √(v*/v0) = {(v_star / v0) ** 0.5:.3f}")

# %% [markdown]
# A constant baseline helps a little here. A baseline may also depend on the state, b(s_t): it
# is still unbiased (apply (2.1) at step t, given s_t). Notebook 03 combines such baselines with
# two other ideas (drop past rewards; replace sampled returns by their expectations), and that
# is where the big variance cuts come from.
#
# ## Recap
#
# * The score has mean zero (2.1), so subtracting any constant b from R(τ) leaves the
#   gradient unbiased (2.2), checked with sympy and on 20 000 episodes.
# * The total variance is a parabola in b (2.3), minimised at
#   b* = E[‖∇log p‖²R]/E[‖∇log p‖²] (2.4): the average return weighted by the squared score.
# * b = mean return is a good, cheap choice but not the minimiser; long episodes pull b* their way.
# * Less variance means a smaller error for the same number of episodes, ∝ √variance.
#
# Next: **03 · reward-to-go and advantage**, where each step gets its own weight.
