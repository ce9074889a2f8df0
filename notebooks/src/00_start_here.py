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
# 2. reinforcement learning in one page, on a tiny problem you step through by hand: the
#    agent–environment loop, states, actions, rewards and episodes, the Markov property, what
#    the values $V$ and $Q$ mean, and on-policy versus off-policy learning;
# 3. the notation every later notebook uses (with the Chinese terms of the source notes);
# 4. how to check that your environment works, and on which device it computes;
# 5. how exercises work: `check`, `hint` and `solution`.

# %% [markdown]
# ## 1. The map
#
# | # | notebook | the idea you leave with |
# |---|---|---|
# | 00 | start here | the RL loop, notation, environment, exercises |
# | 01 | policy gradient | $\nabla J(\theta) = \mathbb{E}[\sum_t \nabla\log\pi_\theta(a_t \mid s_t)\, R(\tau)]$, the log-derivative trick, REINFORCE |
# | 02 | baseline | subtracting $b(s_t)$ leaves the gradient unbiased and can cut its variance |
# | 03 | reward-to-go and advantage | only future rewards matter; $A = Q - V$ |
# | 04 | importance sampling | reusing data from an older policy: the ratio and the surrogate |
# | 05 | PPO-clip | the clipped surrogate and its six cases; PPO-penalty; TRPO |
# | 06 | TD and MC | two ways to learn V, their bias and variance |
# | 07 | GAE | the $\lambda$-average of $k$-step advantages, and what $\lambda$ trades |
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
# ## 2. Reinforcement learning in one page
#
# In supervised learning every input comes with the right answer. In reinforcement learning
# (RL) an **agent** acts in an **environment** and only gets a number, the **reward**, for what
# it did; nobody says which action would have been right, and what the agent sees next
# depends on what it did. One round of the loop, at time step $t$:
#
# 1. the agent observes the **state** $s_t$;
# 2. it picks an **action** $a_t$, drawn from its **policy** $\pi(a \mid s_t)$, a probability for each action;
# 3. the environment answers with a reward $r_t$ (in the corridor below it is fixed,
#    $r_t = r(s_t, a_t)$; in general it is random with mean $r(s_t, a_t)$) and the next state
#    $s_{t+1} \sim P(\cdot \mid s_t, a_t)$, or says that the episode is over.
#
# An **episode** runs from a start state $s_0 \sim \nu_0$ until it ends. Its (discounted)
# **return** adds up the rewards along the trajectory $\tau = (s_0, a_0, r_0, s_1, \dots)$,
# each weighted by the discount factor $\gamma \in [0, 1]$ once per step of delay:
#
# $$R(\tau) = \sum_{t=0}^{T-1} \gamma^t r_t. \tag{0.1}$$
#
# The goal: a policy whose episodes have the largest expected return,
# $J(\pi) = \mathbb{E}_{\tau \sim \pi}[R(\tau)]$.
#
# ### The corridor, by hand
#
# The course's test problem has three cells. You start in cell 0; the goal is to the right of
# cell 2.
#
# ```
#  dead end ◀─ [ cell 0 ] ── [ cell 1 ] ── [ cell 2 ] ─▶ goal
#               start
# ```
#
# Actions are `left` and `right`. Every step costs $-0.1$; stepping `right` out of cell 2
# reaches the goal and pays $+1$ instead; `left` out of cell 0 ends in the dead end. Both end
# the episode. A move between two cells *slips* with probability 0.2: you stay where you
# are. `pe.tabular_env.TabularEnv` turns these tables into an environment you can step:
# `reset()` gives $s_0$, `step(action)` gives (next state, reward, terminated, truncated).

# %%
# NBVAL_CHECK_OUTPUT
corridor = pe.toy_mdps.corridor()
env = pe.tabular_env.TabularEnv(corridor, seed=0)
state = env.reset()
print("start in cell", state)
for action in ["right", "right", "right", "right", "right"]:
    next_state, reward, terminated, truncated = env.step(action)
    print(f"in cell {state}, {action:<5} → reward {reward:+.1f}, next state {next_state}, terminated={terminated}")
    state = next_state
    if terminated or truncated:
        break
assert terminated and reward == 1.0  # we reached the goal

# %% [markdown]
# Your turn: run the next cell a few times (each run takes one step); change the action to
# `"left"`, start again with `env.reset()`, and try to fall into the dead end. Where you end
# up after a `right` in cell 0 is random (the slip), but the reward is not.

# %% tags=["nbval-ignore-output"]
print("now in cell", env.state if env.state is not None else "— (episode over)")
if env.state is None:
    print("new episode, in cell", env.reset())
print(env.step("right"))

# %% [markdown]
# A **policy** is a table here: one row per state, one probability per action. The *uniform*
# policy tosses a coin in every cell. Its episodes differ from run to run, and so do their
# returns: the return is a random variable, and what we optimise is its expectation.

# %%
# NBVAL_CHECK_OUTPUT
import torch

uniform = torch.full((3, 2), 0.5, dtype=torch.float64)
env = pe.tabular_env.TabularEnv(corridor, seed=1)
for _ in range(3):
    steps = pe.tabular_env.run_episode(env, uniform)
    ret = sum(corridor.gamma**t * r for t, (_, _, r) in enumerate(steps))
    path = " ".join(f"{s}{corridor.action_names[a][0].upper()}" for s, a, _ in steps)
    print(f"cells and actions: {path:<22} steps {len(steps)}   return {ret:+.3f}")

# %% [markdown]
# ### The Markov property
#
# The next state and the reward depend only on the current state and action, not on how the
# agent got there:
#
# $$\Pr(s_{t+1}, r_t \mid s_t, a_t, r_{t-1}, s_{t-1}, a_{t-1}, \dots, r_0, s_0, a_0) = p(s_{t+1}, r_t \mid s_t, a_t). \tag{0.2}$$
#
# ("The episode ends" counts as one of the possible $s_{t+1}$.) Summing over $r_t$ gives the
# transition probabilities $P(s_{t+1} \mid s_t, a_t)$; the mean of $r_t$ is $r(s_t, a_t)$.
# That is what makes the state a *state*: it holds everything about the past that matters for
# the future. A test on 20 000 episodes of the uniform policy: from cell 1, `right` reaches
# cell 2 with probability 0.8, whether the step before was a `left` or a `right`; and every
# reward is the table's $r(s_t, a_t)$, whatever came before.

# %%
# NBVAL_CHECK_OUTPUT
episodes = pe.toy_mdps.sample_episodes(corridor, uniform, 20_000, torch.Generator().manual_seed(0))
s, a, m = episodes.states, episodes.actions, episodes.mask
here = (s[1:-1] == 1) & (a[1:-1] == 1) & m[1:-1] & m[:-2]  # in cell 1, `right`, with a step before
arrived = (s[2:] == 2) & m[2:]  # the next step happens in cell 2
for name, prev in (("left", 0), ("right", 1)):
    cases = here & (a[:-2] == prev)
    p = float(arrived[cases].double().mean())
    se = (0.8 * 0.2 / int(cases.sum())) ** 0.5
    assert abs(p - 0.8) < 4 * se
    print(f"previous action {name:<5}: Pr(cell 2 | cell 1, right) = {p:.3f} ± {se:.3f}   ({int(cases.sum())} cases)")
assert torch.equal(episodes.rewards[m], corridor.R[s[m], a[m]])  # r_t = r(s_t, a_t) on every real step
print(f"r_t = r(s_t, a_t) on all {int(m.sum())} steps")

# %% [markdown]
# The course's environments are Markov by construction. A real system observed only in part
# is not: CartPole described by the cart's position alone hides the velocities that decide
# where it goes next. Then one feeds the agent more (the full state, or a history).
#
# ### Values: how good a state, how good an action
#
# Two expectations carry most of RL. The **state value** $V^\pi(s)$ is the expected return when
# you start in $s$ and follow $\pi$. The **action value** $Q^\pi(s, a)$ is the expected return
# when you start in $s$, take $a$ first, and follow $\pi$ after that. Averaging $Q$ over the
# policy's own choice gives $V$:
#
# $$V^\pi(s) = \mathbb{E}_\pi\big[R \mid s_0 = s\big], \qquad Q^\pi(s, a) = \mathbb{E}_\pi\big[R \mid s_0 = s, a_0 = a\big], \qquad V^\pi(s) = \sum_a \pi(a \mid s)\, Q^\pi(s, a). \tag{0.3}$$
#
# Every corridor episode starts in cell 0, so the average return of those 20 000 episodes
# estimates $V(\text{cell } 0)$. `pe.toy_mdps` computes the exact values (notebook 01 shows how,
# by solving a linear system); the sample average agrees:

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np

discount = corridor.gamma ** torch.arange(episodes.rewards.shape[0], dtype=torch.float64)
returns = (discount[:, None] * episodes.rewards).sum(0)
V = pe.toy_mdps.state_values(corridor, uniform)
Q = pe.toy_mdps.action_values(corridor, uniform)
se = float(returns.std()) / len(returns) ** 0.5
assert abs(float(returns.mean()) - float(V[0])) < 4 * se
assert torch.allclose((uniform * Q).sum(1), V)  # V = Σ_a π(a|s) Q(s, a)
assert bool((Q[:, 1] > Q[:, 0]).all()) and float(Q[2, 1]) == 1.0  # right is better everywhere
print(f"average return of 20 000 episodes = {returns.mean():.3f} ± {se:.3f};  exact V(cell 0) = {V[0]:.3f}")
print("V(s)         :", np.round(V.numpy(), 3).tolist())
print("Q(s, left)   :", np.round(Q[:, 0].numpy(), 3).tolist())
print("Q(s, right)  :", np.round(Q[:, 1].numpy(), 3).tolist())

# %% [markdown]
# Read the numbers: in every cell $Q(s, \text{right}) > Q(s, \text{left})$, so moving right is
# better than the coin toss; $Q(\text{cell } 2, \text{right}) = 1$ exactly (the goal, for sure).
# Notebook 03 uses the difference $A = Q - V$, the **advantage**; notebooks 06–07 learn $V$
# from data when no one gives us the tables.
#
# ### On-policy and off-policy
#
# An average of returns estimates the value of the policy that *collected* them, and of no other.
# The 20 000 uniform episodes estimate $J$(uniform); they say nothing directly about the policy
# "always right":

# %%
# NBVAL_CHECK_OUTPUT
always_right = torch.tensor([[0.0, 1.0]] * 3, dtype=torch.float64)
J_right = float(pe.toy_mdps.state_values(corridor, always_right)[0])
right_eps = pe.toy_mdps.sample_episodes(corridor, always_right, 20_000, torch.Generator().manual_seed(1))
right_returns = (discount[: right_eps.rewards.shape[0], None] * right_eps.rewards).sum(0)
assert abs(float(right_returns.mean()) - J_right) < 0.01 and abs(float(returns.mean()) - J_right) > 0.5
print(f"exact J(always right) = {J_right:.3f}")
print(f"average return of its own episodes      = {right_returns.mean():.3f}")
print(f"average return of the uniform episodes  = {returns.mean():.3f}   (the value of the uniform policy)")

# %% [markdown]
# A method is **on-policy** when it learns about the policy that collects its data:
# REINFORCE (notebooks 01–03) samples episodes with the current policy, takes one step, and
# must throw them away, because after the step they came from another policy. A method is
# **off-policy** when it learns about one policy (the *target*) from data of another (the
# *behaviour policy*, written $\mu$). Notebook 04 shows how: reweight each sample by the ratio
# of the two policies' probabilities. PPO (05) is on-policy with a little reuse: it collects
# with $\pi_{\theta_\text{old}}$, then takes a few epochs of steps on that batch, corrected by the
# ratio, before collecting again.

# %% [markdown]
# ## 3. Notation
#
# The same symbols in every notebook. The last column gives the terms used in the Chinese
# notes this course started from, for readers who come from them. Two of those notes use
# symbols of their own, given in the middle column: the *derivation notes* (《PPO是怎么从Policy
# gradient演化而来的》, from the policy gradient through TRPO to PPO) and the *TRL notes* (on
# trl's `PPOTrainer`).
#
# | symbol | meaning | 中文 |
# |---|---|---|
# | $s_t, a_t, r_t$ | state, action, reward at step $t$ | 状态, 动作, 奖励 |
# | $\nu_0(s)$ | start distribution, $\Pr(s_0 = s)$ (`mdp.mu0` in the code; the TRL notes: $p(s_1)$) | 初始状态分布 |
# | $P(s' \mid s, a)$ | transition probabilities of the environment | 状态转移概率 |
# | $r(s, a)$ | expected reward for $a$ in $s$ (the table `mdp.R`); $r_t$ is the sampled one | 奖励函数 |
# | $\tau = (s_0, a_0, r_0, s_1, \dots)$ | a trajectory (one episode); steps count $t = 0, 1, \dots, T-1$ (the TRL notes, and the REINFORCE pseudocode of the derivation notes: $t = 1, \dots, T$) | 轨迹 |
# | $\pi_\theta(a \mid s)$ | the policy with parameters $\theta$ (the TRL notes: $p_\theta(a \mid s)$) | 策略 |
# | $\gamma \in [0, 1]$ | discount factor | 折扣因子 |
# | $R(\tau) = \sum_t \gamma^t r_t$ | the (discounted) return of a whole episode | 总回报 |
# | $G_t = \sum_{t' \ge t} \gamma^{t'-t} r_{t'}$ | reward-to-go, the return from step $t$ on (the TRL notes: $R_t(\tau)$; in their section 3, $R_t$ is the reward of step $t$) | 回报 / reward-to-go |
# | $\psi_t$ | the weight on step $t$'s score in $\nabla J = \mathbb{E}[\sum_t \psi_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)]$: $R(\tau)$ (01), $R(\tau) - b$ (02), $\gamma^t G_t$ (03), $\hat A_t$ (05–08); the derivation notes list such forms under the same name, with $G_t$ where 03 has $\gamma^t G_t$ | $\psi_t$ (as in the derivation notes) |
# | $J(\theta) = \mathbb{E}_{\tau \sim \pi_\theta}[R(\tau)]$ | the objective (in the notes: $\bar R_\theta$, the expected reward) | 期望回报 |
# | $V^\pi(s)$, $Q^\pi(s, a)$ | state value, action value | 状态价值, 动作价值 |
# | $A^\pi(s, a) = Q^\pi(s, a) - V^\pi(s)$ | advantage | 优势函数 |
# | $\hat A_t$ | an estimate of $A(s_t, a_t)$ computed from data (notebooks 05–08: GAE) | 优势估计 |
# | $b$, $b(s_t)$ | baseline | 基线 |
# | $d^\pi(s) = \sum_t \gamma^t \Pr(s_t = s)$ | discounted state visits, not normalised (the derivation notes: $\nu^\pi(s) = (1 - \gamma) \sum_t \gamma^t P^\pi_t(s)$, normalised to sum to 1) | 状态访问分布 |
# | on-policy / off-policy | learning from data of the current policy / of another one | 同策略 / 异策略 |
# | $\mu$ | behaviour policy, the one that collected the data (notebook 04) | 行为策略 |
# | $\theta_\text{old}$ | the parameters that collected the data. The derivation notes call them $\theta$ (in TRPO's $L_\theta(\theta')$) and $\theta_k$ (in TRPO's KL constraint and in PPO); their $\theta'$ is the *new* policy being sought. Only the TRL notes use $\theta'$ for the old one | 旧策略 |
# | $\rho_t = \pi_\theta(a_t \mid s_t) / \pi_{\theta_\text{old}}(a_t \mid s_t)$ | probability ratio (importance weight) | 概率比率 / 重要性权重 |
# | $\mathbb{E}_t[\cdot]$ | average over the steps $t$ of a collected batch (the PPO paper's $\hat{\mathbb{E}}_t$) | 经验平均 |
# | $\alpha$ | a step length: the learning rate, or how far along a direction $u$ we move, $\theta_\text{old} + \alpha u$ | 学习率 / 步长 |
# | $\epsilon$ | clip range of the ratio | 裁剪范围 |
# | $\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)$ | TD residual (TD error); $\delta$ means nothing else in the course | 时序差分误差 |
# | $\lambda \in [0, 1]$ | GAE parameter | 广义优势估计 (GAE) 的 $\lambda$ |
# | terminated / truncated | the episode ended / was cut by a time limit | 终止 / 截断 |
# | $\beta$ | weight of a KL penalty | KL 惩罚系数 |
# | $\kappa$ | the KL budget of a trust region (TRPO, notebook 05; the derivation notes: $\delta$) | 信赖域 (KL 约束上限) |
# | $\pi_\text{ref}$ | frozen reference policy (language models) | 参考模型 |
#
# Shapes use **T** for time, **N** for parallel environments, **B = T·N** for a batch,
# **O** for observation size and **A** for the number of actions. Rollouts are
# **time-major**: a reward tensor has shape $(T, N)$, row $t$ holds step $t$ of every environment.
#
# Two conventions worth fixing now, because the source notes are loose about them:
# * $J(\theta)$ is **maximised**. Optimisers minimise, so code minimises a loss $= -$objective.
# * An episode that **terminates** (the pole falls) has no future; one that is **truncated**
#   (the 500-step limit) still has one: cut after its last action $a_{T-1}$, we bootstrap it
#   with $V(s_T)$, the value of the *next* observation $s_T$, the one the time limit kept us from
#   acting in.

# %% [markdown]
# ## 4. Your environment
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
pe.seed_everything(0)
a = torch.randn(3)
pe.seed_everything(0)
b = torch.randn(3)
assert torch.equal(a, b)
print([round(x, 4) for x in a.tolist()])

# %% [markdown]
# ## 5. How long does the future count? A first figure
#
# Discounting with $\gamma$ weighs a reward $t$ steps ahead by $\gamma^t$. The sum of the weights,
# $\sum_t \gamma^t = 1/(1 - \gamma)$, is the *effective horizon*: $\gamma = 0.99$ looks about 100 steps ahead.
# Figures are drawn by functions in `pe.plots` (data in, figure out); the same figure is
# written to `figures/` by `python -m ppo_edu figures`.

# %%
pe.plots.discount_weights([0.5, 0.9, 0.99], horizon=250)

# %% [markdown]
# Notice the scale: at $t = 1/(1 - \gamma)$ steps the weight has fallen to about $1/e \approx 0.37$ when
# $\gamma$ is close to 1, so rewards several horizons ahead hardly count. The numbers:

# %%
# NBVAL_CHECK_OUTPUT
for g in (0.5, 0.9, 0.99):
    weights = g ** np.arange(10_000)
    horizon = round(1 / (1 - g))
    assert abs(weights.sum() - 1 / (1 - g)) < 1e-6
    print(f"γ = {g}: Σ γ^t = {weights.sum():.2f} = 1/(1−γ);   weight at t = {horizon}: γ^t = {g**horizon:.3f}")
assert abs(0.99**100 - np.exp(-1)) < 0.01

# %% [markdown]
# ## 6. How exercises work
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
# **Exercise 0.1** (a warm-up). Write the discounted return (0.1) of one episode,
# $R(\tau) = \sum_{t=0}^{T-1} \gamma^t r_t$. `rewards` is a 1-D tensor of length $T$; return a
# single number.

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
# **Exercise 0.2** (derive it on paper first). What is $V(s)$ of the policy "always right" in
# each cell of a corridor with `n_states` cells, slip probability $p$, step reward $c$, goal
# reward $g$ and discount $\gamma$? No sampling and no linear solve: write the equation that
# $V(s)$ satisfies, one step at a time, starting from the last cell, and solve it by hand.
#
# *Predict before you run:* in the course's corridor ($p = 0.2$, $c = -0.1$, $g = 1$,
# $\gamma = 0.9$), is $V(\text{cell } 0)$ above or below $\gamma^2 g + c(1 + \gamma) = 0.62$, the value
# without slips? By how much? The cell after the exercise prints the answer, and what the slips
# cost when steps are free ($c = 0$, where the value without slips is $\gamma^2 g = 0.81$).

# %%
def always_right_values(n_states, slip, step_reward, goal_reward, gamma):
    ### BEGIN SOLUTION
    V = torch.zeros(n_states, dtype=torch.float64)
    V[-1] = goal_reward  # `right` in the last cell reaches the goal for sure
    for s in reversed(range(n_states - 1)):
        # V(s) = c + γ[(1 − p) V(s + 1) + p V(s)]: a slip keeps you in s. Solve for V(s).
        V[s] = (step_reward + gamma * (1 - slip) * V[s + 1]) / (1 - gamma * slip)
    return V
    ### END SOLUTION


pe.exercises.always_right_values.check(always_right_values)

# %%
# NBVAL_CHECK_OUTPUT
V_right = pe.toy_mdps.state_values(corridor, always_right)
no_slip = corridor.gamma**2 * 1.0 - 0.1 * (1 + corridor.gamma)
gap = no_slip - float(V_right[0])
V_free = pe.toy_mdps.state_values(pe.toy_mdps.corridor(step_reward=0.0), always_right)  # c = 0: only the delay
delay = corridor.gamma**2 - float(V_free[0])
assert V_right[0] < no_slip and abs(gap - 0.0781) < 1e-4
assert abs(delay - 0.0390) < 1e-4 and 0.45 < delay / gap < 0.55  # the delay alone: about half of the gap
print("V of always right:", np.round(V_right.numpy(), 4).tolist(), f"  without slips V(cell 0) = {no_slip:.2f}")
print(f"slips lower V(cell 0) by {gap:.4f}")
print(f"with free steps (c = 0): V(cell 0) = {V_free[0]:.4f}, {delay:.4f} below γ² g = {corridor.gamma**2:.2f}")

# %% [markdown]
# Below, by 0.0781: $V(\text{cell } 0) = 0.5419$ against 0.62. Slips cost in two ways: each one
# repeats a step cost, and delays the goal by a factor $\gamma$. With free steps the delay alone lowers
# $V(\text{cell } 0)$ from 0.81 to 0.7710, by 0.0390, about half of the 0.0781.

# %% [markdown]
# ## Recap
#
# * The course goes 00 → 11; each notebook imports the tested package `ppo_edu`.
# * RL: an agent acts, the environment answers with a reward and the next state; an episode's
#   return (0.1) is the discounted sum of its rewards, and the agent wants a policy with a large
#   expected return. The state is Markov (0.2): the future depends on the past only through it.
# * $V^\pi(s)$ is the expected return from $s$, $Q^\pi(s, a)$ the same after first taking $a$,
#   and $V = \sum_a \pi Q$ (0.3). Averages of returns estimate the value of the policy that
#   collected them: on-policy methods learn from their own fresh data, off-policy methods
#   reweight another policy's data (notebook 04).
# * Notation: time-major $(T, N)$ tensors; $J$ is maximised, losses are $-$objective;
#   *terminated* has no future, *truncated* is bootstrapped with $V(s_T)$.
# * `pe.get_device("auto")` picks the GPU when there is one; `pe.seed_everything` makes runs
#   repeatable.
# * Exercises: fill the blank, run `check`; use `hint()` when stuck.
#
# Next: **01 · policy gradient**, where we differentiate an expectation we cannot compute.
