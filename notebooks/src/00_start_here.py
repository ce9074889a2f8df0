# %% [markdown]
# # 00 · Start here
#
# This course builds **Proximal Policy Optimization (PPO)** from the ground up: from the
# policy-gradient theorem to a PPO agent that balances CartPole on a GPU. Every formula is
# derived or checked (with sympy, or numerically against an exact answer), and every
# figure is drawn by tested code in the small package `ppo_edu` that these notebooks import.
#
# **You will learn** in this notebook
# 1. how the course is organised and how to move through it;
# 2. the notation every later notebook uses (with the Chinese terms of the source notes);
# 3. how to check that your environment works, and on which device it computes;
# 4. how exercises work: `check`, `hint` and `solution`.

# %% [markdown]
# ## 1. The map
#
# | # | notebook | the idea you leave with |
# |---|---|---|
# | 00 | start here | notation, environment, exercises |
# | 01 | policy gradient | ∇J(θ) = E[Σ_t ∇log π_θ(a_t\|s_t) · R(τ)], the log-derivative trick, REINFORCE |
# | 02 | baseline | subtracting b(s) leaves the gradient unbiased and can cut its variance |
# | 03 | reward-to-go and advantage | only future rewards matter; A = Q − V |
# | 04 | importance sampling | reusing data from an older policy: the ratio and the surrogate |
# | 05 | PPO-clip | the clipped surrogate and its six cases; PPO-penalty; TRPO |
# | 06 | TD and MC | two ways to learn V, their bias and variance |
# | 07 | GAE | the λ-average of k-step advantages, and what λ trades |
# | 08 | actor-critic PPO | the complete update with its diagnostics |
# | 09 | PPO for language models | per-token KL reward, KL control, a toy RLHF run |
# | 10 | CartPole on the GPU | everything together, trained to 500 |
# | 11 | PPO in practice | a debugging lab of broken runs; ablations of the details over seeds |
#
# Go in order: each notebook uses the ideas of the ones before. Each one has a
# *you will learn* list, the theory with numbered equations, code that calls `ppo_edu`,
# figures, exercises and a recap.
#
# The code lives in `ppo_edu`, one module per concept, and the notebooks call it
# module-qualified so that you always see where an idea lives: `pe.returns.discounted_returns`,
# `pe.advantages.gae`, `pe.losses.clipped_surrogate_loss`.

# %%
import ppo_edu as pe

print("ppo_edu", pe.__version__)

# %% [markdown]
# ## 2. Notation
#
# The same symbols in every notebook. The last column gives the terms used in the Chinese
# notes this course started from, for readers who come from them.
#
# | symbol | meaning | 中文 |
# |---|---|---|
# | s_t, a_t, r_t | state, action, reward at step t | 状态, 动作, 奖励 |
# | τ = (s_0, a_0, r_0, s_1, …) | a trajectory (one episode) | 轨迹 |
# | π_θ(a\|s) | the policy with parameters θ | 策略 |
# | γ ∈ [0, 1] | discount factor | 折扣因子 |
# | R(τ) = Σ_t γ^t r_t | the (discounted) return of a whole episode | 总回报 |
# | G_t = Σ_{t'≥t} γ^{t'−t} r_{t'} | reward-to-go, the return from step t on | 回报 / reward-to-go |
# | J(θ) = E_τ~π_θ[R(τ)] | the objective (in the notes: R̄_θ, the expected reward) | 期望回报 |
# | V(s), Q(s, a) | state value, action value | 状态价值, 动作价值 |
# | A(s, a) = Q(s, a) − V(s) | advantage | 优势函数 |
# | b | baseline | 基线 |
# | d^π(s) = Σ_t γ^t Pr(s_t = s) | discounted state visits (not normalised) | 状态访问分布 (the notes multiply by 1 − γ) |
# | θ_old (also θ′) | the parameters that collected the data | 旧策略 |
# | ρ_t = π_θ(a_t\|s_t) / π_θ_old(a_t\|s_t) | probability ratio (importance weight) | 概率比率 / 重要性权重 |
# | ε | clip range of the ratio | 裁剪范围 |
# | δ_t = r_t + γV(s_{t+1}) − V(s_t) | TD residual (TD error) | 时序差分误差 |
# | λ ∈ [0, 1] | GAE parameter | 广义优势估计 (GAE) 的 λ |
# | terminated / truncated | the episode ended / was cut by a time limit | 终止 / 截断 |
# | β | weight of a KL penalty | KL 惩罚系数 |
# | π_ref | frozen reference policy (language models) | 参考模型 |
#
# Shapes use **T** for time, **N** for parallel environments, **B = T·N** for a batch,
# **O** for observation size and **A** for the number of actions. Rollouts are
# **time-major**: a reward tensor has shape (T, N), row t holds step t of every environment.
#
# Two conventions worth fixing now, because the source notes are loose about them:
# * J(θ) is **maximised**. Optimisers minimise, so code minimises a loss = −objective.
# * An episode that **terminates** (the pole falls) has no future; one that is **truncated**
#   (the 500-step limit) still has one, and we bootstrap it with V of the last observation.

# %% [markdown]
# ## 3. Your environment
#
# `pe.runtime.environment_report()` lists the versions the course runs on and the device it
# will compute on: `cuda` when PyTorch sees an NVIDIA GPU, else `cpu`. Everything runs on a
# CPU; only notebook 10 is much faster with a GPU. The same report is printed by
# `python -m ppo_edu check-env` in a terminal.

# %% tags=["nbval-ignore-output"]
report = pe.runtime.environment_report()
for key, value in report.items():
    print(f"{key:<12} {value}")

# %% [markdown]
# The device is chosen by `pe.get_device("auto")`. Asking for something this machine does
# not have is an error with a clear message, never a silent fallback:

# %%
print(pe.get_device("cpu"))
try:
    pe.get_device("tpu")
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# Every random number in the course comes from a seed, so a seed gives the same numbers on
# the same machine. `pe.seed_everything(seed)` seeds Python, NumPy and PyTorch at once:

# %%
# NBVAL_CHECK_OUTPUT
import torch

pe.seed_everything(0)
a = torch.randn(3)
pe.seed_everything(0)
b = torch.randn(3)
assert torch.equal(a, b)
print([round(x, 4) for x in a.tolist()])

# %% [markdown]
# ## 4. How long does the future count? A first figure
#
# Discounting with γ weighs a reward t steps ahead by γ^t. The sum of the weights,
# Σ_t γ^t = 1/(1 − γ), is the *effective horizon*: γ = 0.99 looks about 100 steps ahead.
# Figures are drawn by functions in `pe.plots` (data in, figure out); the same figure is
# written to `figures/` by `python -m ppo_edu figures`.

# %%
pe.plots.discount_weights([0.5, 0.9, 0.99], horizon=250)

# %% [markdown]
# Notice the scale: at t = 1/(1 − γ) steps the weight has fallen to about 1/e ≈ 0.37 when γ is
# close to 1, so rewards several horizons ahead hardly count. The numbers:

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np

for g in (0.5, 0.9, 0.99):
    weights = g ** np.arange(10_000)
    horizon = round(1 / (1 - g))
    assert abs(weights.sum() - 1 / (1 - g)) < 1e-6
    print(f"γ = {g}: Σ γ^t = {weights.sum():.2f} = 1/(1−γ);   weight at t = {horizon}: γ^t = {g**horizon:.3f}")
assert abs(0.99**100 - np.exp(-1)) < 0.01

# %% [markdown]
# ## 5. How exercises work
#
# An exercise gives you a function to complete. Write your code between the markers, run the
# cell, and the `check` below it compares your function with the course's reference on
# several seeded cases. It answers one of:
#
# * ⏳ **not attempted**: the function still raises `NotImplementedError`;
# * ✅ **passed**: every case matches;
# * ❌ **failed**: which case, what was expected, what came, and, when your answer matches a
#   classic mistake, what that mistake is;
# * ⚠️ **error**: your code raised an exception; you see which one and where.
#
# `hint()` gives the next hint; `solution()` shows a model solution (your instructor may
# switch solutions off). A wrong answer never crashes the notebook: later cells use the
# package's own implementation.
#
# **Exercise 0.1** (a warm-up). Write the discounted return of one episode,
#
# $$R(\tau) = \sum_{t=0}^{T-1} \gamma^t r_t. \tag{0.1}$$
#
# `rewards` is a 1-D tensor of length T; return a single number.

# %%
def discounted_sum(rewards, gamma):
    ### BEGIN SOLUTION
    total = 0.0
    for t in range(len(rewards)):
        total = total + gamma**t * rewards[t]
    return total
    ### END SOLUTION


pe.exercises.discounted_sum.check(discounted_sum)

# %% [markdown] tags=["solution-demo"]
# Here is what a classic mistake looks like: forgetting to discount. The checker recognises
# it and says so.

# %% tags=["solution-demo"]
def discounted_sum_forgot_gamma(rewards, gamma):
    return rewards.sum()


pe.exercises.discounted_sum.check(discounted_sum_forgot_gamma)

# %% [markdown]
# And a blank, as a student receives it, is simply "not attempted":

# %%
def discounted_sum_blank(rewards, gamma):
    raise NotImplementedError


pe.exercises.discounted_sum.check(discounted_sum_blank)

# %%
pe.exercises.discounted_sum.hint()

# %% [markdown]
# Each `hint()` call gives the next hint. When you are done, or truly stuck, `solution()` shows
# the model solution:

# %%
pe.exercises.discounted_sum.solution()

# %% [markdown]
# ## Recap
#
# * The course goes 00 → 10; each notebook imports the tested package `ppo_edu`.
# * Notation: time-major (T, N) tensors; J is maximised, losses are −objective;
#   *terminated* has no future, *truncated* is bootstrapped.
# * `pe.get_device("auto")` picks the GPU when there is one; `pe.seed_everything` makes runs
#   repeatable.
# * Exercises: fill the blank, run `check`; use `hint()` when stuck.
#
# Next: **01 · policy gradient**, where we differentiate an expectation we cannot compute.
