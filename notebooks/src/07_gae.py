# %% [markdown]
# # 07 · GAE: generalised advantage estimation
#
# Notebook 06 learned V with two targets: the TD target (one reward, then the critic) and the
# MC return (all the rewards, no critic). Advantages come in the same two flavours, and in
# everything between. GAE averages all of them with one knob, λ.
#
# **You will learn**
# 1. the TD residual δ_t and the k-step advantages Â^(k), and why their sum telescopes;
# 2. GAE as the λ-weighted average of the k-step advantages, and the identity
#    (1 − λ) Σ λ^(k−1) Â^(k) = Σ (γλ)^l δ_{t+l}, proved with sympy;
# 3. that λ = 0 is the TD residual and λ = 1 the Monte-Carlo advantage (asserted);
# 4. how *terminated* and *truncated* episodes enter the computation, on a concrete episode;
# 5. **the bias and the variance of GAE as functions of λ**, measured on an MDP whose true
#    advantages are known exactly, with a deliberately imperfect critic.

# %%
import sympy as sp
import torch

import ppo_edu as pe

adv, tm = pe.advantages, pe.toy_mdps

# %% [markdown]
# ## 1. From δ to k-step advantages
#
# With a critic V, the TD residual of step t is
#
# $$\delta_t = r_t + \gamma\,(1 - \text{terminated}_t)\, V(s_{t+1}) - V(s_t). \tag{7.1}$$
#
# If V were the true V^π, E[δ_t | s_t, a_t] = Q(s_t, a_t) − V(s_t) = A(s_t, a_t): δ_t is a
# one-step advantage estimate, unbiased with the true V^π and biased only through the critic's
# error; §4 measures it with a perfect and with an imperfect critic. (The source notes call δ_t
# biased outright, and write Q(s_t, a_t) = r + γV(s_{t+1}) without the expectation over s_{t+1}.)
# Using k real rewards before trusting the critic gives the **k-step advantage**
#
# $$\hat A^{(k)}_t = \sum_{l=0}^{k-1} \gamma^l \delta_{t+l} = r_t + \gamma r_{t+1} + \dots + \gamma^{k-1} r_{t+k-1} + \gamma^k V(s_{t+k}) - V(s_t). \tag{7.2}$$
#
# The second equality is a telescoping sum: every intermediate V(s_{t+l}) appears once with + and
# once with −. sympy confirms it for k = 4:

# %%
# NBVAL_CHECK_OUTPUT
gamma = sp.symbols("gamma", positive=True)
r = sp.symbols("r_0:4")
Vs = sp.symbols("V_0:5")
deltas = [r[l] + gamma * Vs[l + 1] - Vs[l] for l in range(4)]
lhs = sum(gamma**l * deltas[l] for l in range(4))
rhs = sum(gamma**l * r[l] for l in range(4)) + gamma**4 * Vs[4] - Vs[0]
assert sp.expand(lhs - rhs) == 0
print("Σ_l γ^l δ_l − (Σ_l γ^l r_l + γ^4 V_4 − V_0) =", sp.expand(lhs - rhs))

# %% [markdown]
# k = 1 trusts the critic after one reward: little variance (one random reward), but all of the
# critic's error. k = ∞ trusts no critic (except the −V(s_t) baseline): the Monte-Carlo return,
# no bias from the critic, the variance of every reward to the end of the episode.
#
# ## 2. GAE: the λ-average
#
# GAE (Schulman et al., 2016) does not pick one k. It averages them all with geometric weights
# (1 − λ)λ^(k−1), which sum to 1:
#
# $$\hat A^{\text{GAE}(\gamma,\lambda)}_t = (1-\lambda)\big(\hat A^{(1)}_t + \lambda \hat A^{(2)}_t + \lambda^2 \hat A^{(3)}_t + \dots\big) = \sum_{l=0}^{\infty} (\gamma\lambda)^l\, \delta_{t+l}, \tag{7.3}$$
#
# computed backwards in one pass with Â_t = δ_t + γλ(1 − done_t)Â_{t+1}. The second equality is
# the identity that makes GAE cheap. δ_l appears in every Â^(k) with k > l, each time with
# factor γ^l, so its total weight is (1 − λ)γ^l Σ_{k>l} λ^(k−1) = (γλ)^l. (The source notes
# write the recursion once as Â_t = δ_t + γÂ_{t+1}, without the λ, and the λ = 0 case as
# r_t + γV(s_{t+1} − V(s_t)); both are typos of the formulas here.) sympy sums that series:

# %%
# NBVAL_CHECK_OUTPUT
weight, ok = pe.symbolic.gae_identity_coefficient()
print("weight of δ_l:", weight, "  equals (γλ)^l:", ok)
assert ok

# %% [markdown]
# On a batch of finite length T, every Â^(k) with k ≥ T equals Â^(T) (the sum has run out of
# steps), so the tail weights Σ_{k≥T}(1 − λ)λ^(k−1) = λ^(T−1) all land on Â^(T):
#
# $$(1-\lambda)\sum_{k=1}^{T-1}\lambda^{k-1}\hat A^{(k)}_t + \lambda^{T-1}\hat A^{(T)}_t = \sum_{l=0}^{T-1}(\gamma\lambda)^l\delta_{t+l}. \tag{7.4}$$
#
# sympy proves (7.4) for T = 1, …, 8 with symbolic δ, γ and λ:

# %%
# NBVAL_CHECK_OUTPUT
for T in range(1, 9):
    _, right, same = pe.symbolic.gae_identity(T)
    assert same
print("identity (7.4) holds for T = 1..8; for T = 3 both sides equal", pe.symbolic.gae_identity(3)[1])

# %% [markdown]
# And numerically, on a batch with several environments and episode ends of both kinds,
# `pe.advantages.lambda_average` of the k-step estimates (`pe.advantages.k_step_advantages`)
# equals `pe.advantages.gae`. λ = 0 is δ_t, and λ = 1 is the Monte-Carlo advantage:

# %%
# NBVAL_CHECK_OUTPUT
g = torch.Generator().manual_seed(0)
T, N, gam = 12, 4, 0.9
rewards = torch.randn(T, N, generator=g, dtype=torch.float64)
values = torch.randn(T, N, generator=g, dtype=torch.float64)
terminated = torch.rand(T, N, generator=g) < 0.1
truncated = (torch.rand(T, N, generator=g) < 0.1) & ~terminated
next_values = adv.bootstrap_next_values(values, torch.randn(N, generator=g, dtype=torch.float64), truncated,
                                        final_values=torch.randn(T, N, generator=g, dtype=torch.float64))
k_step = torch.stack([adv.k_step_advantages(rewards, values, next_values, terminated, truncated, gam, k)
                      for k in range(1, T + 1)])
for lam in (0.0, 0.5, 0.95, 1.0):
    gae = adv.gae(rewards, values, next_values, terminated, truncated, gam, lam)
    err = float((adv.lambda_average(k_step, lam) - gae).abs().max())
    assert err < 1e-12
    print(f"λ = {lam}: max |λ-average of k-step − GAE| = {err:.1e}")
assert torch.allclose(adv.gae(rewards, values, next_values, terminated, truncated, gam, 0.0),
                      adv.td_residuals(rewards, values, next_values, terminated, gam))  # λ = 0 is TD

# λ = 1 is Monte Carlo: one complete episode that terminates, G_t − V(s_t)
ep_r, ep_v = rewards[:6, 0], values[:6, 0]
ep_term = torch.tensor([False] * 5 + [True])
ep_next = torch.cat([ep_v[1:], torch.zeros(1, dtype=torch.float64)])
mc_adv = pe.returns.discounted_returns(ep_r, gam) - ep_v
assert torch.allclose(adv.gae(ep_r, ep_v, ep_next, ep_term, None, gam, 1.0), mc_adv)
print("λ = 1 on a terminated episode equals G_t − V(s_t):", [round(x, 3) for x in mc_adv.tolist()])

# %% [markdown]
# ## 3. Terminated versus truncated, on one episode
#
# CartPole ends an episode in two ways. The pole falls: **terminated**, the future is worth 0.
# The 500-step limit is hit: **truncated**, the episode is cut but the pole is still up, and the
# state has a future worth V(s_final). In both cases the λ-sum stops (the next row of a vector
# environment's rollout is a new episode), but only termination drops the bootstrap in δ.
#
# Four steps, rewards 1, V = 5 everywhere, γ = 0.9, λ = 0.95; the episode ends after step 2, and
# step 3 is the first step of the next episode. V of the real final observation is 5.

# %%
# NBVAL_CHECK_OUTPUT
r4 = torch.ones(4, dtype=torch.float64)
v4 = torch.full((4,), 5.0, dtype=torch.float64)
end = torch.tensor([False, False, True, False])
none = torch.zeros(4, dtype=torch.bool)
final_v = torch.full((4,), 5.0, dtype=torch.float64)  # V(real final observation), used where truncated
last_v = torch.tensor(5.0, dtype=torch.float64)
cases = {"terminated": (end, none), "truncated": (none, end)}
for name, (term, trunc) in cases.items():
    nv = adv.bootstrap_next_values(v4, last_v, trunc, final_v)
    d = adv.td_residuals(r4, v4, nv, term, 0.9)
    a = adv.gae(r4, v4, nv, term, trunc, 0.9, 0.95)
    print(f"{name:>10}: δ = {[round(x, 3) for x in d.tolist()]}, Â = {[round(x, 3) for x in a.tolist()]}")
    if name == "terminated":
        assert abs(float(d[2]) - (1 - 5)) < 1e-12  # no future: δ = r − V
    else:
        assert abs(float(d[2]) - (1 + 0.9 * 5 - 5)) < 1e-12  # bootstrapped from V(final obs)
    assert abs(float(a[3]) - float(d[3])) < 1e-12  # the new episode's row is untouched by the old one

# %% [markdown]
# Treating the time limit as a termination gives the last step before it an advantage of −4
# instead of +0.5 here (and drags the earlier steps down with it): a penalty for being good at
# the task. Treating a termination
# as a truncation would let the value of a fallen pole leak into the advantage.
#
# ## 4. Bias and variance against λ, measured
#
# Now the trade λ makes, measured. We need an MDP whose true advantages we know and a critic that
# is wrong in a known way.
#
# * `pe.toy_mdps.gae_study_mdp()`: 6 states, 2 actions, a fixed stochastic policy, noisy
#   rewards (σ = 1), γ = 0.95, and termination with probability 8–20 % per step (≈ 8 steps per
#   episode). `pe.toy_mdps.exact_values` solves for V, Q and A = Q − V.
# * The critic V̂ = V + e, with a fixed error e(s) ~ N(0, 2²) on every state except the start
#   state, where it is exact (`pe.toy_mdps.imperfect_critic`). So the only bias of Â_0 is
#   the one that bootstrapping on the wrong V̂(s') brings in.
#
# For each first action we sample 4000 episodes from the start state, compute GAE for every λ
# on the same episodes, and measure, for the first step, bias² = (mean(Â_0) − A(s_0, a_0))² and
# variance = Var(Â_0), each averaged over the first actions with weights π(a|s_0).
# The expected value E[Â_0] can also be computed **exactly** by propagating the state
# distribution (`pe.toy_mdps.expected_gae_first_step`); the red line is that exact bias².

# %%
# NBVAL_CHECK_OUTPUT
mdp = tm.gae_study_mdp()
V, Q, A = tm.exact_values(mdp)
critic = tm.imperfect_critic(mdp, error_scale=2.0)
print("exact A(s0, ·):", [round(x, 3) for x in A[mdp.start].tolist()], " π(·|s0):",
      [round(x, 3) for x in mdp.policy[mdp.start].tolist()])
print("critic error V̂ − V:", [round(x, 2) for x in (critic - V).tolist()])
assert abs(float((mdp.policy * A).sum(-1).abs().max())) < 1e-12  # E_π[A] = 0 in every state

# %%
lambdas = [round(0.05 * i, 2) for i in range(21)]
study = tm.gae_bias_variance(mdp, critic, lambdas, n_rollouts=4000, horizon=80, seed=0)
pe.plots.gae_bias_variance(lambdas, study)

# %% [markdown]
# Notice that the bias² falls to zero as λ → 1 while the variance climbs steeply near λ = 1;
# their sum, the mean squared error of Â_0, is lowest in between. The variance is not lowest at
# λ = 0 here: the wrong V̂(s') differs from one next state to the other, and that spread is
# variance too; larger λ shrinks its weight before the rewards' noise takes over.

# %%
# NBVAL_CHECK_OUTPUT
print("  λ     bias² (exact)  bias² (measured)  variance   MSE")
for lam in (0.0, 0.5, 0.7, 0.9, 0.95, 1.0):
    i = lambdas.index(lam)
    print(f"{lam:5.2f}   {float(study['exact_bias2'][i]):10.3f}   {float(study['bias2'][i]):12.3f}"
          f"   {float(study['variance'][i]):10.3f}  {float(study['mse'][i]):6.3f}")
best = lambdas[int(study["mse"].argmin())]
print("lowest MSE at λ =", best)
exact_b2 = study["exact_bias2"]
assert bool((exact_b2[1:] <= exact_b2[:-1] + 1e-12).all()) and float(exact_b2[-1]) < 1e-6  # bias → 0 at λ = 1
assert float(study["variance"][-1]) > 2 * float(study["variance"][0])  # variance grows towards MC
assert 0.0 < best < 1.0  # the best λ is in between
assert float(study["variance"][lambdas.index(0.5)]) < float(study["variance"][0])  # the dip
# the measurement agrees with the exact bias, within its Monte-Carlo error
se = (study["variance"] / 4000).sqrt()
assert bool(((study["bias2"].sqrt() - exact_b2.sqrt()).abs() < 4 * se + 1e-9).all())

# %% [markdown]
# With a **perfect** critic every λ is unbiased, by the telescoping of (7.2): E[δ_{t+l}] = 0 for
# l ≥ 1 under the policy. The δ's are then uncorrelated, so Var[Â_0] = Σ_l (γλ)^(2l) Var[δ_l]
# only grows with λ, and λ = 0 is best. Critics are never perfect, which is why PPO's usual
# λ = 0.95 sits near the Monte-Carlo end: it accepts some variance to stay mostly clear of the
# critic's errors. Exact expectations and measured variances with V̂ = V:

# %%
# NBVAL_CHECK_OUTPUT
perfect = tm.gae_bias_variance(mdp, V, [0.0, 0.5, 1.0], n_rollouts=4000, horizon=80, seed=0)
for i, lam in enumerate((0.0, 0.5, 1.0)):
    e = [tm.expected_gae_first_step(mdp, V, a, lam, 80) - float(A[mdp.start, a]) for a in range(2)]
    assert max(abs(x) for x in e) < 1e-9
    print(f"perfect critic, λ = {lam}: E[Â_0] − A = {[round(x, 9) + 0.0 for x in e]}, "
          f"variance {float(perfect['variance'][i]):.3f}")
assert bool((perfect["variance"][1:] > perfect["variance"][:-1]).all())  # λ only adds variance

# %% [markdown]
# ### λ as a slider
#
# The static figure above is the whole sweep; the slider marks one λ and prints its numbers
# (live kernel only).

# %% tags=["nbval-ignore-output"]
pe.interactive.slider(lambda lam: pe.plots.gae_bias_variance(lambdas, study, lam=lam), lam=(0.0, 1.0, 0.05, 0.95))

# %% [markdown]
# ## 5. Exercises
#
# **Exercise 7.1** GAE (7.3) for a time-major batch (T, N) with `terminated` and `truncated`
# flags. `next_values[t]` is V(s_{t+1}), already the real final observation's value where
# `truncated[t]`.

# %%
def gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    ### BEGIN SOLUTION
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(T)):
        not_terminated = (~terminated[t]).to(rewards.dtype)
        not_done = (~(terminated[t] | truncated[t])).to(rewards.dtype)
        delta = rewards[t] + gamma * not_terminated * next_values[t] - values[t]
        running = delta + gamma * lam * not_done * running
        advantages[t] = running
    return advantages
    ### END SOLUTION


pe.exercises.gae.check(gae)

# %% [markdown] tags=["solution-demo"]
# The most common bug, a λ-sum that runs across episode boundaries, is recognised:

# %% tags=["solution-demo"]
def gae_no_mask(rewards, values, next_values, terminated, truncated, gamma, lam):
    advantages, running = torch.zeros_like(rewards), torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + gamma * (~terminated[t]).to(rewards.dtype) * next_values[t] - values[t]
        running = delta + gamma * lam * running  # no (1 − done)
        advantages[t] = running
    return advantages


result = pe.exercises.gae.check(gae_no_mask)
assert result.mistake == "missing_done_mask"
print(result)

# %% [markdown]
# **Exercise 7.2** The k-step advantage (7.2) for one stream (T,) with terminations
# (no truncations): at most k rewards (fewer where the batch ends first), then
# γ^(number of rewards used)·V(s_next), unless the episode terminated first; minus V(s_t).

# %%
def k_step_advantage(rewards, values, next_values, terminated, gamma, k):
    ### BEGIN SOLUTION
    T = len(rewards)
    out = torch.zeros_like(rewards)
    for t in range(T):
        total, discount = 0.0, 1.0
        for j in range(t, min(t + k, T)):
            total = total + discount * rewards[j]
            if terminated[j]:
                break
            if j == min(t + k, T) - 1:
                total = total + discount * gamma * next_values[j]
            discount *= gamma
        out[t] = total - values[t]
    return out
    ### END SOLUTION


pe.exercises.k_step_advantage.check(k_step_advantage)

# %% [markdown]
# Stuck? Each call of `.hint()` shows the next hint of an exercise:

# %%
pe.exercises.gae.hint()

# %% [markdown]
# ## Recap
#
# * δ_t (7.1) is a one-step advantage; Â^(k) (7.2) uses k rewards and telescopes into a sum of δ's.
# * GAE (7.3) is the (1 − λ)λ^(k−1)-weighted average of all Â^(k), equal to Σ(γλ)^l δ_{t+l}
#   ((7.4), proved with sympy). λ = 0 is TD, λ = 1 is Monte Carlo.
# * Terminated: no bootstrap and the sum stops. Truncated: bootstrap from V(final observation),
#   and the sum stops.
# * Measured against exact advantages with an imperfect critic: bias² falls to 0 as λ → 1,
#   variance rises steeply near λ = 1, and the mean squared error is lowest in between. With a
#   perfect critic every λ is unbiased and λ = 0 has the least variance.
#
# Next: **08 · actor-critic PPO**, where GAE feeds the full PPO update.
