# %% [markdown]
# # 07 · GAE: generalised advantage estimation
#
# Notebook 06 learned $V$ with the TD target (one reward, then the critic), the MC return (all
# the rewards, no critic) and the $n$-step targets between them. Advantages come in the same
# flavours. GAE averages all of them with one knob, $\lambda$.
#
# **You will learn**
# 1. the TD residual $\delta_t$ and the $k$-step advantages $\hat A^{(k)}$, and why their sum telescopes;
# 2. GAE as the $\lambda$-weighted average of the $k$-step advantages, and the identity
#    $(1 - \lambda)\sum_k \lambda^{k-1}\hat A^{(k)} = \sum_l (\gamma\lambda)^l\delta_{t+l}$, proved with sympy;
# 3. that $\lambda = 0$ is the TD residual and $\lambda = 1$ the Monte-Carlo advantage (asserted);
# 4. how *terminated* and *truncated* episodes enter the computation, on a concrete episode;
# 5. **the bias and the variance of GAE as functions of $\lambda$**, measured on an MDP whose true
#    advantages are known exactly, with a deliberately imperfect critic;
# 6. how the best $\lambda$ moves with the critic's error (which reconciles this study's 0.7, for
#    one critic, with PPO's usual 0.95), and $\gamma$ as a second bias–variance knob.

# %%
import sympy as sp
import torch

import ppo_edu as pe

adv, tm = pe.advantages, pe.toy_mdps

# %% [markdown]
# ## 1. From $\delta$ to $k$-step advantages
#
# With a critic V, the TD residual of step t is
#
# $$\delta_t = r_t + \gamma\,(1 - \text{terminated}_t)\, V(s_{t+1}) - V(s_t). \tag{7.1}$$
#
# If $V$ were the true $V^\pi$, $\mathbb{E}[\delta_t | s_t, a_t] = Q(s_t, a_t) - V(s_t) = A(s_t, a_t)$:
# $\delta_t$ is a one-step advantage estimate, unbiased with the true $V^\pi$ and biased only through
# the critic's error; §4 measures it with a perfect and with an imperfect critic. (The source notes
# call $\delta_t$ biased outright, and write $Q(s_t, a_t) = r + \gamma V(s_{t+1})$ without the
# expectation over $s_{t+1}$.) Using $k$ real rewards before trusting the critic gives the
# **$k$-step advantage**
#
# $$\hat A^{(k)}_t = \sum_{l=0}^{k-1} \gamma^l \delta_{t+l} = r_t + \gamma r_{t+1} + \dots + \gamma^{k-1} r_{t+k-1} + \gamma^k V(s_{t+k}) - V(s_t). \tag{7.2}$$
#
# The second equality is a telescoping sum: every intermediate $V(s_{t+l})$ appears once with +
# and once with −. sympy confirms it for $k = 4$:

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
# $k = 1$ trusts the critic after one reward: little variance (one random reward and one random
# next state), but all of the critic's error. $k = \infty$ trusts no critic (except the $-V(s_t)$ baseline): the Monte-Carlo
# return, no bias from the critic, the variance of every reward to the end of the episode.
#
# ## 2. GAE: the $\lambda$-average
#
# GAE (Schulman et al., 2016) does not pick one $k$. It averages them all with geometric weights
# $(1 - \lambda)\lambda^{k-1}$, which sum to 1:
#
# $$\hat A^{\text{GAE}(\gamma,\lambda)}_t = (1-\lambda)\big(\hat A^{(1)}_t + \lambda \hat A^{(2)}_t + \lambda^2 \hat A^{(3)}_t + \dots\big) = \sum_{l=0}^{\infty} (\gamma\lambda)^l\, \delta_{t+l}, \tag{7.3}$$
#
# computed backwards in one pass with $\hat A_t = \delta_t + \gamma\lambda(1 - \text{done}_t)\hat A_{t+1}$.
# The second equality is the identity that makes GAE cheap. $\delta_l$ appears in every
# $\hat A^{(k)}$ with $k > l$, each time with factor $\gamma^l$, so its total weight is
# $(1 - \lambda)\gamma^l\sum_{k>l}\lambda^{k-1} = (\gamma\lambda)^l$. (The source notes write the recursion
# once as $\hat A_t = \delta_t + \gamma\hat A_{t+1}$, without the $\lambda$, and the $\lambda = 0$ case as
# $r_t + \gamma V(s_{t+1} - V(s_t))$; both are typos of the formulas here.) sympy sums that series:

# %%
# NBVAL_CHECK_OUTPUT
weight, ok = pe.symbolic.gae_identity_coefficient()
print("weight of δ_l:", weight, "  equals (γλ)^l:", ok)
assert ok

# %% [markdown]
# On a batch of finite length $T$, every $\hat A^{(k)}$ with $k \ge T$ equals $\hat A^{(T)}$ (the sum
# has run out of steps), so the tail weights $\sum_{k\ge T}(1 - \lambda)\lambda^{k-1} = \lambda^{T-1}$ all
# land on $\hat A^{(T)}$:
#
# $$(1-\lambda)\sum_{k=1}^{T-1}\lambda^{k-1}\hat A^{(k)}_t + \lambda^{T-1}\hat A^{(T)}_t = \sum_{l=0}^{T-1}(\gamma\lambda)^l\delta_{t+l}. \tag{7.4}$$
#
# sympy proves (7.4) for $T = 1, \dots, 8$ with symbolic $\delta$, $\gamma$ and $\lambda$:

# %%
# NBVAL_CHECK_OUTPUT
for T in range(1, 9):
    _, right, same = pe.symbolic.gae_identity(T)
    assert same
print("identity (7.4) holds for T = 1..8; for T = 3 both sides equal", pe.symbolic.gae_identity(3)[1])

# %% [markdown]
# And numerically, on a batch with several environments and episode ends of both kinds,
# `pe.advantages.lambda_average` of the k-step estimates (`pe.advantages.k_step_advantages`)
# equals `pe.advantages.gae`. $\lambda = 0$ is $\delta_t$, and $\lambda = 1$ is the Monte-Carlo advantage:

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
# state has a future worth $V(s_\text{final})$. In both cases the $\lambda$-sum stops (the next row of
# a vector environment's rollout is a new episode), but only termination drops the bootstrap in
# $\delta$.
#
# Four steps, rewards 1, $V = 5$ everywhere, $\gamma = 0.9$, $\lambda = 0.95$; the episode ends after
# step 2, and step 3 is the first step of the next episode. $V$ of the real final observation is 5.

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
# ## 4. Bias and variance against $\lambda$, measured
#
# Now the trade $\lambda$ makes, measured. We need an MDP whose true advantages we know and a
# critic that is wrong in a known way.
#
# * `pe.toy_mdps.gae_study_mdp()`: a `TabularMDP` (the same form as the corridor of 01–04 and the
#   walk of 06) with 6 states and 2 actions, and a fixed stochastic policy; noisy rewards
#   ($\sigma = 1$, the MDP's `reward_std`), $\gamma = 0.95$, and termination with probability 8–20 %
#   per step (≈ 8 steps per episode). `pe.toy_mdps.state_values`, `action_values` and `advantages`
#   give $V$, $Q$ and $A = Q - V$ by the one Bellman solve.
# * The critic $\hat V = V + e$, with a fixed error $e(s) \sim \mathcal N(0, 2^2)$ on every state except
#   the start state, where it is exact (`pe.toy_mdps.imperfect_critic`). Why exact there? An
#   error $c$ in $\hat V(s_0)$ enters $\hat A_0$ as $-c$ for *every* first action: a baseline, which
#   leaves the policy gradient $\sum_a \pi(a|s_0)\nabla\log\pi(a|s_0)\hat A_0$ unchanged
#   ($\sum_a \pi\nabla\log\pi = 0$) but would shift every action's bias by about $-c$ (exactly, at
#   the first step; returns to $s_0$ add a little), so the bias² we measure would grow by about
#   $c^2 - 2c\,\bar b$ ($\bar b$ the mean bias, of the same sign as $-c$ here: more than $c^2$; the
#   check at the end of this section prints it). Zeroing it removes that shift; the bias left is the one that
#   bootstrapping on the wrong $\hat V(s')$ brings in (checked at the end of this section). Much of
#   that too is shared by both actions (a shift, harmless to the gradient); only its difference
#   between actions bends the gradient, so the bias² below overstates what λ costs the policy.
#
# For each first action we sample 4000 episodes from the start state, compute GAE for every
# $\lambda$ on the same episodes, and measure, for the first step,
# bias² $= (\operatorname{mean}(\hat A_0) - A(s_0, a_0))^2$ and variance $= \operatorname{Var}(\hat A_0)$, each
# averaged over the first actions with weights $\pi(a|s_0)$. The expected value $\mathbb{E}[\hat A_0]$
# can also be computed **exactly** by propagating the state distribution
# (`pe.toy_mdps.expected_gae_first_step`); the red line is that exact bias².

# %%
# NBVAL_CHECK_OUTPUT
mdp, pi = tm.gae_study_mdp()
s0 = tm.start_state(mdp)
V, Q, A = tm.state_values(mdp, pi), tm.action_values(mdp, pi), tm.advantages(mdp, pi)
critic = tm.imperfect_critic(mdp, pi, error_scale=2.0)
print("exact A(s0, ·):", [round(x, 3) for x in A[s0].tolist()], " π(·|s0):", [round(x, 3) for x in pi[s0].tolist()])
print("critic error V̂ − V:", [round(x, 2) for x in (critic - V).tolist()])
assert abs(float((pi * A).sum(-1).abs().max())) < 1e-12  # E_π[A] = 0 in every state

# %%
lambdas = [round(0.05 * i, 2) for i in range(21)]
study = tm.gae_bias_variance(mdp, pi, critic, lambdas, n_rollouts=4000, horizon=80, seed=0)
pe.plots.gae_bias_variance(lambdas, study)

# %% [markdown]
# Notice that the bias² falls to zero as $\lambda \to 1$ while the variance climbs steeply near
# $\lambda = 1$; their sum, the mean squared error of $\hat A_0$, is lowest in between. The variance
# is not lowest at $\lambda = 0$ here: the wrong $\hat V(s')$ differs from one next state to the
# other, and that spread is variance too; larger $\lambda$ shrinks its weight before the rewards'
# noise takes over.

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
# With a **perfect** critic every $\lambda$ is unbiased, by the telescoping of (7.2):
# $\mathbb{E}[\delta_{t+l}] = 0$ for $l \ge 1$ under the policy. The $\delta$'s are then uncorrelated, so
# $\operatorname{Var}[\hat A_0]$ only grows with $\lambda$ (Exercise 7.3 derives by how much), and
# $\lambda = 0$ is best. Exact expectations and measured variances with $\hat V = V$:

# %%
# NBVAL_CHECK_OUTPUT
perfect = tm.gae_bias_variance(mdp, pi, V, [0.0, 0.5, 1.0], n_rollouts=4000, horizon=80, seed=0)
for i, lam in enumerate((0.0, 0.5, 1.0)):
    e = [tm.expected_gae_first_step(mdp, pi, V, a, lam, 80) - float(A[s0, a]) for a in range(2)]
    assert max(abs(x) for x in e) < 1e-9
    print(f"perfect critic, λ = {lam}: E[Â_0] − A = {[round(x, 9) + 0.0 for x in e]}, "
          f"variance {float(perfect['variance'][i]):.3f}")
assert bool((perfect["variance"][1:] > perfect["variance"][:-1]).all())  # λ only adds variance

# %% [markdown]
# And the start state's error, zeroed above: give $\hat V(s_0)$ an error of $c = 1.5$ as well. The
# exact $\mathbb{E}[\hat A_0]$ of *both* first actions moves by nearly the same amount ($-c$ at the
# first step, partly undone when the episode comes back to $s_0$), so the measured bias² grows a
# lot, while the policy-gradient direction at $s_0$, $\sum_a \pi(a|s_0)(\mathbf 1_a - \pi(\cdot|s_0))\,\mathbb{E}[\hat A_0|a]$
# for softmax logits, hardly moves ($\lambda = 0.7$):

# %%
# NBVAL_CHECK_OUTPUT
shifted = critic.clone()
shifted[s0] += 1.5
grad_logits, expected = {}, {}
for name, c in (("e(s0) = 0  ", critic), ("e(s0) = 1.5", shifted)):
    expected[name] = torch.tensor([tm.expected_gae_first_step(mdp, pi, c, a, 0.7, 80) for a in range(2)], dtype=torch.float64)
    bias2 = float((pi[s0] * (expected[name] - A[s0]) ** 2).sum())
    grad_logits[name] = (pi[s0][:, None] * (torch.eye(2, dtype=torch.float64) - pi[s0]) * expected[name][:, None]).sum(0)
    print(f"{name}: E[Â_0 | a] − A(s0, a) = {[round(x, 3) for x in (expected[name] - A[s0]).tolist()]}, "
          f"bias² {bias2:.3f}, policy-gradient direction at s0 {[round(x, 3) for x in grad_logits[name].tolist()]}")
shift = expected["e(s0) = 1.5"] - expected["e(s0) = 0  "]
assert abs(float(shift[0] - shift[1])) < 0.1 * abs(float(shift[0]))  # nearly the same shift for both actions
assert float((grad_logits["e(s0) = 1.5"] - grad_logits["e(s0) = 0  "]).norm()) < 0.05 * abs(float(shift[0]))

# %% [markdown]
# ### How the best $\lambda$ moves with the critic's error
#
# This study's best $\lambda$ is 0.7, for this one critic draw (at its error scale the median over
# ten draws is about 0.5, below); PPO's usual value is 0.95. The best $\lambda$ depends on how
# wrong the critic is. The same rollouts, scored with critics of
# error scale 0 to 8 (ten seeded error patterns each, `imperfect_critic(mdp, pi, scale, seed)`):

# %%
scales, critic_seeds = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0), range(10)
critics = torch.stack([tm.imperfect_critic(mdp, pi, sc, seed) for sc in scales for seed in critic_seeds])
sweep = tm.gae_bias_variance(mdp, pi, critics, lambdas, n_rollouts=4000, horizon=80, seed=0)  # (critics, λ)
best_lambda = torch.tensor(lambdas, dtype=torch.float64)[sweep["mse"].argmin(-1)].reshape(len(scales), -1)
pe.plots.best_lambda_vs_critic_error(scales, best_lambda)

# %%
# NBVAL_CHECK_OUTPUT
medians = best_lambda.quantile(0.5, dim=-1)
for sc, b, m in zip(scales, best_lambda, medians, strict=True):
    print(f"error scale {sc:3g}: best λ median {float(m):.2f}, range {float(b.min()):.2f}–{float(b.max()):.2f}")
assert bool((best_lambda[0] == 0).all())  # a perfect critic: λ = 0
assert bool((medians[1:] >= medians[:-1]).all()) and float(medians[-1]) >= 0.9  # worse critic, larger λ
assert float(best_lambda[-1].min()) > float(best_lambda[1].max())
assert abs(float(medians[3]) - 0.5) < 0.1 and abs(float(best_lambda[3][0]) - 0.7) < 1e-9  # scale 2: the median, and the main study's draw
assert 1.1 < float(V.min()) and float(V.max()) < 2.3  # the text's "V itself lies between 1.1 and 2.3"

# %% [markdown]
# With a perfect critic $\lambda = 0$ wins; each doubling of the critic's error pushes the best
# $\lambda$ up, to a median of 0.9 at scale 8. These errors are large (V itself lies between 1.1
# and 2.3 here) and independent from state to state, unlike a learned critic's, and the episodes
# are short (≈ 8 steps): the sweep shows the direction, not PPO's number. A PPO critic is a network
# trained alongside the policy on a moving target, far from exact early in training, and a high
# $\lambda$ is the safer side: too high costs variance, which averaging over a large batch
# reduces; too low costs bias, which no amount of data removes. (The figure scores one estimate,
# B = 1; with bias² + variance/B for a large batch B, λ = 1, unbiased here, would win.) The GAE
# paper's experiments, with critics learned during training, found values around 0.95 to work well.
#
# ### $\gamma$ is a bias knob too
#
# Section 3 of the GAE paper treats $\gamma$ the same way: the objective we care about is often
# undiscounted, and $\gamma < 1$ is a *variance-reduction* parameter that down-weights delayed
# effects, at the price of estimating the advantage of a different, discounted problem. Take the
# study MDP's undiscounted advantage $A^{\gamma=1}$ as the target (episodes end on their own), and
# estimate it with Monte-Carlo GAE ($\lambda = 1$) and the perfect critic *for the discount used*:

# %%
# NBVAL_CHECK_OUTPUT
A_target = tm.advantages(mdp.with_gamma(1.0), pi)[s0]
knob = {}
for g_est in (1.0, 0.95, 0.9, 0.8, 0.6, 0.4):
    m = mdp.with_gamma(g_est)
    est = tm.gae_bias_variance(m, pi, tm.state_values(m, pi), [1.0], n_rollouts=4000, horizon=80, seed=0)
    bias2 = float((pi[s0] * (tm.advantages(m, pi)[s0] - A_target) ** 2).sum())  # E[Â_0 | a] = A^γ(s0, a) exactly
    knob[g_est] = (bias2, float(est["variance"][0]))
    print(f"γ = {g_est:4}: bias² against A^(γ=1) {bias2:.4f}, variance {knob[g_est][1]:6.3f}, MSE {sum(knob[g_est]):6.3f}")
gs = list(knob)
assert all(knob[a][0] <= knob[b][0] for a, b in zip(gs, gs[1:], strict=False))  # smaller γ, more bias
assert all(knob[a][1] > knob[b][1] for a, b in zip(gs, gs[1:], strict=False))  # ... and less variance
assert knob[0.4][1] < 0.1 * knob[1.0][1] and knob[0.4][0] > 0.005

# %% [markdown]
# The variance falls by a factor of more than ten from $\gamma = 1$ to $0.4$, and the bias rises
# from zero. On this MDP the advantages at $s_0$ are dominated by the immediate reward, so the
# bias stays small ($\sqrt{0.008} \approx 0.09$ against advantages of about ±1.3); in a problem whose
# actions pay off only later the same $\gamma$ would cost far more. $\gamma$ and $\lambda$ are two knobs on
# one trade: $\lambda$ sets how much of the critic we trust, $\gamma$ how far into the future we look.

# %% [markdown]
# ### $\lambda$ as a slider
#
# The static figure of §4 is the whole sweep; the slider marks one $\lambda$ and prints its numbers
# (live kernel only).

# %% tags=["nbval-ignore-output"]
pe.interactive.slider(lambda lam: pe.plots.gae_bias_variance(lambdas, study, lam=lam), lam=(0.0, 1.0, 0.05, 0.95))

# %% [markdown]
# ## 5. Exercises
#
# **Exercise 7.1** GAE (7.3) for a time-major batch (T, N) with `terminated` and `truncated`
# flags. `next_values[t]` is $V(s_{t+1})$, already the real final observation's value where
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
# The most common bug, a $\lambda$-sum that runs across episode boundaries, is recognised:

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
# **Exercise 7.2** The $k$-step advantage (7.2) for one stream (T,) with terminations
# (no truncations): at most $k$ rewards (fewer where the batch ends first), then
# $\gamma^{\text{number of rewards used}}\,V(s_\text{next})$, unless the episode terminated first; minus $V(s_t)$.

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
# **Exercise 7.3 (derive, then check against the rollouts).** With a perfect critic the
# $\delta$'s are uncorrelated. Derive $\operatorname{Var}[\hat A_0]$ from (7.3) in terms of the per-step
# variances $\operatorname{Var}[\delta_l]$, and write `gae_variance(delta_variances, gamma, lam)`.
# *Predict first*: with every $\operatorname{Var}[\delta_l] = 1$, three steps and $\gamma = \lambda = 0.5$, what
# is it?

# %%
def gae_variance(delta_variances, gamma, lam):
    ### BEGIN SOLUTION
    weights = (gamma * lam) ** torch.arange(len(delta_variances), dtype=torch.float64)
    return (weights**2 * delta_variances).sum()
    ### END SOLUTION


pe.exercises.gae_variance.check(gae_variance)

# %% [markdown]
# The formula $\operatorname{Var}[\hat A_0] = \sum_l (\gamma\lambda)^{2l}\operatorname{Var}[\delta_l]$ (7.5)
# (`pe.advantages.uncorrelated_gae_variance`), with the $\operatorname{Var}[\delta_l]$ measured on 4000
# episodes that start with action 0 (steps after the episode's end count as $\delta = 0$), against
# the variance of $\hat A_0$ measured on the same episodes:

# %%
# NBVAL_CHECK_OUTPUT
ro = tm.sample_rollouts(mdp, pi, 0, 4000, 80, torch.Generator().manual_seed(5))
v_now, v_next = V[ro["states"][:-1]], V[ro["states"][1:]]
delta_var = (adv.td_residuals(ro["rewards"], v_now, v_next, ro["terminated"], mdp.gamma) * ro["alive"]).var(-1)
for lam in (0.0, 0.5, 0.9, 1.0):
    measured = float(adv.gae(ro["rewards"], v_now, v_next, ro["terminated"], ro["truncated"], mdp.gamma, lam)[0].var())
    predicted = float(adv.uncorrelated_gae_variance(delta_var, mdp.gamma, lam))
    assert abs(predicted - measured) < 0.03 * measured
    print(f"λ = {lam}: Var[Â_0] measured {measured:.3f}, (7.5) from the per-step variances {predicted:.3f}")
print("prediction for Var[δ] = 1, 1, 1 and γ = λ = 0.5:",
      round(float(adv.uncorrelated_gae_variance(torch.ones(3, dtype=torch.float64), 0.5, 0.5)), 6))

# %% [markdown]
# Stuck? Each call of `.hint()` shows the next hint of an exercise:

# %%
pe.exercises.gae.hint()

# %% [markdown]
# ## Recap
#
# * $\delta_t$ (7.1) is a one-step advantage; $\hat A^{(k)}$ (7.2) uses $k$ rewards and telescopes into
#   a sum of $\delta$'s.
# * GAE (7.3) is the $(1 - \lambda)\lambda^{k-1}$-weighted average of all $\hat A^{(k)}$, equal to
#   $\sum_l(\gamma\lambda)^l\delta_{t+l}$ ((7.4), proved with sympy). $\lambda = 0$ is TD, $\lambda = 1$ is Monte Carlo.
# * Terminated: no bootstrap and the sum stops. Truncated: bootstrap from $V$(final observation),
#   and the sum stops.
# * Measured against exact advantages with an imperfect critic: bias² falls to 0 as $\lambda \to 1$,
#   variance rises steeply near $\lambda = 1$, and the mean squared error is lowest in between. With
#   a perfect critic every $\lambda$ is unbiased, $\operatorname{Var}[\hat A_0] = \sum_l(\gamma\lambda)^{2l}\operatorname{Var}[\delta_l]$
#   (7.5), and $\lambda = 0$ is best. The critic's error at $s_0$ is zeroed because it acts as a baseline.
# * The best $\lambda$ grows with the critic's error (0 for a perfect critic, a median of 0.9 for
#   errors of scale 8), which is the direction of PPO's 0.95 for a critic that is often badly wrong.
# * $\gamma < 1$ is a second knob: less variance, a bias towards a discounted problem.
#
# Next: **08 · actor-critic PPO**, where GAE feeds the full PPO update.
