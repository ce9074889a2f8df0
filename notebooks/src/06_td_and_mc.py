# %% [markdown]
# # 06 · TD and MC: two ways to learn V
#
# PPO's advantages need a critic V(s). This notebook learns V from experience in the two
# classic ways, Monte Carlo (MC) and temporal difference (TD), on a problem small enough that
# we know the true answer, and measures what each one gets wrong.
#
# **You will learn**
# 1. the exact values of the 5-state random walk, from the Bellman equation (checked with sympy);
# 2. the constant-α MC update towards the return G_t, and the TD(0) update towards r + γV(s');
# 3. what *bias* and *variance* of a target mean, computed exactly for both targets;
# 4. how the RMS error against the exact V falls with experience, for several step sizes α,
#    averaged over 100 runs;
# 5. why the critic's gradient is −δ∇V (a *semi*-gradient); the source notes' version has a stray
#    factor r.

# %%
import sympy as sp
import torch

import ppo_edu as pe

vl, tm = pe.value_learning, pe.toy_mdps

# %% [markdown]
# ## 1. The random walk and its exact values
#
# Five states A–E in a row, terminals on both sides. Every episode starts in C and moves left or
# right with probability ½ each. Leaving on the right pays +1, everything else pays 0; γ = 1.
# (Sutton & Barto, Example 6.2.) The value of a state under this policy satisfies the Bellman equation
#
# $$V(s) = \sum_{s'} P(s' \mid s)\,\big[r(s, s') + \gamma V(s')\big], \qquad V(\text{terminal}) = 0, \tag{6.1}$$
#
# five linear equations. sympy solves them exactly:

# %%
# NBVAL_CHECK_OUTPUT
VA, VB, VC, VD, VE = V = sp.symbols("V_A V_B V_C V_D V_E")
half = sp.Rational(1, 2)
equations = [
    sp.Eq(VA, half * 0 + half * VB),
    sp.Eq(VB, half * VA + half * VC),
    sp.Eq(VC, half * VB + half * VD),
    sp.Eq(VD, half * VC + half * VE),
    sp.Eq(VE, half * VD + half * (1 + 0)),  # right of E: reward 1, then terminal
]
exact = sp.solve(equations, V)
print({str(k): v for k, v in exact.items()})
true_v = tm.random_walk_exact_values(5)
assert [exact[s] for s in V] == [sp.Rational(i, 6) for i in range(1, 6)]
assert torch.allclose(true_v, torch.tensor([i / 6 for i in range(1, 6)], dtype=torch.float64))

# %% [markdown]
# V(s) is the probability of leaving on the right: 1/6, 2/6, …, 5/6. `pe.toy_mdps.random_walk_exact_values`
# gets the same numbers by solving (I − γP)V = r, and `pe.toy_mdps.random_walk_episodes` samples
# episodes as (states, rewards) pairs:

# %%
# NBVAL_CHECK_OUTPUT
episodes = tm.random_walk_episodes(3, 5, torch.Generator().manual_seed(0))
for states, rewards in episodes:
    print("states", "".join("ABCDE"[s] for s in states.tolist()), " rewards", rewards.tolist())

# %% [markdown]
# ## 2. Two updates
#
# Both methods keep a table V and nudge V(s_t) a fraction α towards a **target**:
#
# $$\text{MC:}\qquad V(s_t) \leftarrow V(s_t) + \alpha\,\big(G_t - V(s_t)\big), \qquad G_t = \sum_{k \ge 0} \gamma^k r_{t+k}, \tag{6.2}$$
#
# $$\text{TD(0):}\qquad V(s_t) \leftarrow V(s_t) + \alpha\,\big(\underbrace{r_t + \gamma (1 - \text{terminated}_t)\, V(s_{t+1}) - V(s_t)}_{\delta_t,\ \text{the TD error}}\big). \tag{6.3}$$
#
# MC waits until the episode ends to know G_t. TD updates after every step, *bootstrapping*
# from its own current guess V(s_{t+1}). One episode C → D → E → exit right, starting from
# V ≡ 0.5 with α = 0.5, worked by hand: every G_t = 1, so MC moves C, D and E half-way to 1. TD moves C
# towards r + V(D) = 0.5 and D towards r + V(E) = 0.5 (no change), and only E towards 1:

# %%
# NBVAL_CHECK_OUTPUT
episode = (torch.tensor([2, 3, 4]), torch.tensor([0.0, 0.0, 1.0]))
after_mc = vl.mc_prediction([episode], 5, alpha=0.5, v0=0.5)[-1]
after_td = vl.td0_prediction([episode], 5, alpha=0.5, v0=0.5)[-1]
print("MC :", after_mc.tolist())
print("TD :", after_td.tolist())
assert after_mc.tolist() == [0.5, 0.5, 0.75, 0.75, 0.75]
assert after_td.tolist() == [0.5, 0.5, 0.5, 0.5, 0.75]

# %% [markdown]
# TD needs more episodes to carry the +1 back from E to C, one state per visit. But each of its
# targets is far less noisy. That is the whole trade.
#
# ## 3. Bias and variance of the two targets
#
# Take an estimate V̂ and a state s. A target Y is an estimate of the true V(s); its
# **bias** is E[Y] − V(s) and its **variance** Var[Y]. For the random walk both are exact:
#
# * MC: G from s is 1 with probability V(s), else 0. Unbiased, with variance V(s)(1 − V(s)):
#   the whole rest of the episode's randomness is in it.
# * TD(0): r + V̂(s') with s' one step left or right. Its mean is
#   ½[V̂(s−1) + V̂(s+1)] (+½ from E): biased wherever V̂ is wrong, with variance from one coin flip only.
#
# With the typical starting guess V̂ ≡ 0.5:

# %%
# NBVAL_CHECK_OUTPUT
v_hat = torch.full((5,), 0.5, dtype=torch.float64)
padded = torch.cat([torch.zeros(1, dtype=torch.float64), v_hat, torch.zeros(1, dtype=torch.float64)])
right_reward = torch.tensor([0, 0, 0, 0, 1.0], dtype=torch.float64)
left_target, right_target = padded[:-2], padded[2:] + right_reward  # r + V̂(s') for each move
td_mean = 0.5 * (left_target + right_target)
td_var = 0.25 * (right_target - left_target) ** 2
mc_mean, mc_var = true_v, true_v * (1 - true_v)
print("state   true V   MC bias  MC var   TD bias  TD var")
for s in range(5):
    print(f"  {'ABCDE'[s]}     {float(true_v[s]):.3f}    {float(mc_mean[s] - true_v[s]):+.3f}   {float(mc_var[s]):.3f}"
          f"    {float(td_mean[s] - true_v[s]):+.3f}   {float(td_var[s]):.3f}")
assert bool((td_var <= mc_var + 1e-12).all())

# %% [markdown]
# And sampled, to be sure the algebra above is right: many episodes from C give the MC target's
# mean and variance, and the first step of each gives the TD target's.

# %%
# NBVAL_CHECK_OUTPUT
many = tm.random_walk_episodes(20000, 5, torch.Generator().manual_seed(1))
G = torch.tensor([float(r.sum()) for _, r in many], dtype=torch.float64)  # γ = 1: G from C
td_targets = torch.tensor([float(r[0]) + float(v_hat[s[1]]) if len(s) > 1 else float(r[0]) for s, r in many])
print(f"MC target from C: mean {float(G.mean()):.3f} (exact 0.500), variance {float(G.var()):.3f} (exact 0.250)")
print(f"TD target from C: mean {float(td_targets.mean()):.3f} (exact 0.500), variance {float(td_targets.var()):.3f} "
      f"(exact 0.000)")
assert abs(float(G.mean()) - 0.5) < 0.02 and abs(float(G.var()) - 0.25) < 0.01
assert abs(float(td_targets.mean()) - 0.5) < 1e-6 and float(td_targets.var()) < 1e-6

# %% [markdown]
# In C the TD target happens to be unbiased (V̂(B) and V̂(D) average to 0.5) and has no variance
# at all; in A, B, D, E it is biased by up to 0.17, while MC is never biased but always noisy.
# TD's bias shrinks as V̂ improves, because the target is built from V̂ itself.
#
# ## 4. Learning curves
#
# Each run learns from 100 episodes, starting from V̂ ≡ 0.5; after every episode we record the
# RMS error against the exact V, √(mean_s (V̂(s) − V(s))²), and average over 100 runs. MC and
# TD see the *same* episodes in a run (`pe.value_learning.rms_curves` seeds run k with k).

# %%
def sample(n, generator):
    return tm.random_walk_episodes(n, 5, generator)


n_runs, n_episodes = 100, 100
alphas = {"td": [0.05, 0.1, 0.15], "mc": [0.01, 0.02, 0.03, 0.04]}
curves = {m: dict(zip(a, vl.rms_curves(m, a, true_v, n_episodes, n_runs, sample, v0=0.5), strict=True))
          for m, a in alphas.items()}
one_run = vl.td0_prediction(sample(n_episodes, torch.Generator().manual_seed(0)), 5, alpha=0.1, v0=0.5)
snapshots = {n: one_run[n] for n in (0, 1, 10, n_episodes)}
pe.plots.td_vs_mc(true_v, snapshots, curves, n_runs=n_runs)

# %% [markdown]
# Notice that every TD curve lies below every MC curve after about 15 episodes. For TD, a larger
# α learns faster at first but settles at a higher error: a constant step size keeps jittering
# around the answer, by an amount that grows with α and with the variance of the target. (MC with
# α = 0.01 is still descending after 100 episodes, so its error is above that of α = 0.02.)

# %%
# NBVAL_CHECK_OUTPUT
for m, by_alpha in curves.items():
    for alpha, c in by_alpha.items():
        print(f"{m.upper():>2}, α = {alpha:<4}: RMS after 10 episodes {float(c[10]):.3f}, "
              f"after 100 {float(c[-1]):.3f}, mean over 50–100 {float(c[50:].mean()):.3f}")
best_td = min(float(c[50:].mean()) for c in curves["td"].values())
best_mc = min(float(c[50:].mean()) for c in curves["mc"].values())
assert best_td < best_mc
worst_td_after_15 = torch.stack(list(curves["td"].values()))[:, 15:].max(0).values
best_mc_after_15 = torch.stack(list(curves["mc"].values()))[:, 15:].min(0).values
assert bool((worst_td_after_15 < best_mc_after_15).all())  # every TD curve below every MC curve
assert float(curves["td"][0.15][:10].mean()) < float(curves["td"][0.05][:10].mean())  # large α: faster start
assert float(curves["td"][0.15][50:].mean()) > float(curves["td"][0.05][50:].mean())  # ... higher plateau
assert float(curves["mc"][0.01][50:].mean()) > float(curves["mc"][0.02][50:].mean())  # MC, α = 0.01: not there yet

# %% [markdown]
# With α decreasing over time (e.g. α = 1/n) both methods converge to the exact V; with a
# constant α they hover around it. Both converge *on average*: averaging the last 1000 of 3000
# episodes with α = 0.01 lands within 0.03 of the exact values:

# %%
# NBVAL_CHECK_OUTPUT
long_run = tm.random_walk_episodes(3000, 5, torch.Generator().manual_seed(2))
for name, learner in (("MC", vl.mc_prediction), ("TD", vl.td0_prediction)):
    final = learner(long_run, 5, alpha=0.01, v0=0.5)[-1000:].mean(0)
    err = float(vl.rms_error(final, true_v))
    assert err < 0.03
    print(f"{name}: averaged estimate {[round(x, 2) for x in final.tolist()]}, RMS error {err:.3f}")

# %% [markdown]
# ## 5. From tables to a critic network: the semi-gradient
#
# A neural critic V_w is trained on the same targets by regression. The PPO critic regresses on
# the *return* targets R_t = Â_t + V_old(s_t) (notebook 07: λ = 1 is the MC target, λ = 0 the
# TD target), with loss ½(R_t − V_w(s_t))². The target is treated as a constant. For the TD(0)
# target r_t + γV_w(s_{t+1}) that means we do **not** differentiate through V_w(s_{t+1}), and the
# gradient is
#
# $$\nabla_w\, \tfrac12\big(\underbrace{r_t + \gamma V_w(s_{t+1})}_{\text{held constant}} - V_w(s_t)\big)^2 = -\big(r_t + \gamma V_w(s_{t+1}) - V_w(s_t)\big)\,\nabla_w V_w(s_t) = -\delta_t\, \nabla_w V_w(s_t). \tag{6.4}$$
#
# So gradient *descent* moves w by +α δ_t ∇V, which for a table (∇_w V_w(s) is the indicator of
# s) is exactly (6.3). The source notes get the update w ← w + α Σ_t δ_t ∇V right, but write the
# gradient as −r·δ_t∇V, with a stray factor r (the reward) that the derivation does not produce.
# Checked by autograd on a linear critic:

# %%
# NBVAL_CHECK_OUTPUT
w = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64, requires_grad=True)
phi_s, phi_next = torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64), torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
r, gamma = 1.0, 0.9
target = (r + gamma * w @ phi_next).detach()  # the target is a constant
delta = target - w @ phi_s
(grad_w,) = torch.autograd.grad(0.5 * delta**2, w)
assert torch.allclose(grad_w, -delta.detach() * phi_s)
print("∇ loss =", [round(x, 4) for x in grad_w.tolist()], " −δ∇V =", [round(x, 4) for x in (-delta.detach() * phi_s).tolist()])

# %% [markdown]
# ## 6. Exercises
#
# **Exercise 6.1** One TD(0) step (6.3). `values` is the table (a tensor of length 5); return an
# updated **copy**. `terminated` says whether `next_state` is terminal.

# %%
def td0_step(values, state, reward, next_state, terminated, alpha, gamma):
    ### BEGIN SOLUTION
    new = values.clone()
    next_value = 0.0 if terminated else values[next_state]
    new[state] = values[state] + alpha * (reward + gamma * next_value - values[state])
    return new
    ### END SOLUTION


pe.exercises.td0_step.check(td0_step)

# %% [markdown]
# **Exercise 6.2** Constant-α MC (6.2) over one finished episode: compute every G_t, then update
# V(s_t) for t = 0, 1, … in order (a state visited twice is updated twice). Return the new table.

# %%
def mc_episode(values, states, rewards, alpha, gamma):
    ### BEGIN SOLUTION
    T = len(rewards)
    returns = torch.zeros(T, dtype=torch.float64)
    G = 0.0
    for t in reversed(range(T)):
        G = rewards[t] + gamma * G
        returns[t] = G
    new = values.clone()
    for t in range(T):
        s = states[t]
        new[s] = new[s] + alpha * (returns[t] - new[s])
    return new
    ### END SOLUTION


pe.exercises.mc_episode.check(mc_episode)

# %% [markdown] tags=["solution-demo"]
# A classic mistake, updating every state towards the return of the *whole* episode, is named:

# %% tags=["solution-demo"]
def mc_whole_return(values, states, rewards, alpha, gamma):
    G = sum(gamma**t * rewards[t] for t in range(len(rewards)))
    new = values.clone()
    for s in states:
        new[s] = new[s] + alpha * (G - new[s])
    return new


result = pe.exercises.mc_episode.check(mc_whole_return)
assert result.mistake == "total_return_target"
print(result)

# %% [markdown]
# ## Recap
#
# * The random walk's exact values are 1/6 … 5/6 (6.1), so every estimate can be scored.
# * MC (6.2) moves V towards the return G_t: unbiased, high variance, waits for the episode's end.
# * TD(0) (6.3) moves V towards r + γV(s'): biased while V is wrong, low variance, learns every step.
# * On the random walk TD reaches a lower error than MC for every α tried; for TD a larger α
#   learns faster and plateaus higher.
# * A critic network regresses on a constant target; its gradient is −δ∇V (6.4).
#
# Next: **07 · GAE**, which blends the two targets with one knob, λ.
