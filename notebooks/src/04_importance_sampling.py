# %% [markdown]
# # 04 · Importance sampling
#
# Every estimator so far needs episodes sampled from the *current* policy $\pi_\theta$: it is
# *on-policy*. After one gradient step $\theta$ has changed and the batch is stale; collecting a
# new one per step is expensive. Importance sampling reweights old samples so that they estimate
# expectations under the new policy (learning from another policy's data is *off-policy*). It is
# exact on average and treacherous in variance, and the way PPO uses it drops a term that this
# notebook justifies carefully.
#
# **You will learn**
# 1. the importance-sampling identity (checked with sympy) and that the estimate is unbiased;
# 2. how its variance blows up and the effective sample size collapses as the two policies
#    drift apart, and that the ESS is set by the $\chi^2$ divergence, with KL only a proxy;
# 3. why a whole trajectory's ratio is hopeless, and why PPO uses per-step ratios and *drops
#    the ratio of state distributions* $p_\theta(s)/p_{\theta'}(s)$, and what that costs;
# 4. the surrogate objective $L(\theta)$, whose gradient at $\theta = \theta_\text{old}$ is exactly
#    the policy gradient (checked with autograd), and a case where it over-promises, beside
#    TRPO's guaranteed lower bound.

# %%
import numpy as np
import torch

import ppo_edu as pe

tm, pg, imp = pe.toy_mdps, pe.policy_gradient, pe.importance

# %% [markdown]
# ## 1. The identity
#
# We want $\mathbb{E}_{a\sim\pi}[f(a)]$ but have samples from another distribution $\mu$ (the
# *behaviour* policy: the old policy that collected the data). Multiply and divide by $\mu(a)$:
#
# $$\mathbb{E}_{a\sim\pi}[f(a)] = \sum_a \pi(a) f(a) = \sum_a \mu(a)\, \frac{\pi(a)}{\mu(a)}\, f(a) = \mathbb{E}_{a\sim\mu}\big[w(a)\, f(a)\big], \qquad w(a) = \frac{\pi(a)}{\mu(a)}. \tag{4.1}$$
#
# This needs $\mu(a) > 0$ wherever $\pi(a)f(a) \ne 0$: an action the old policy never takes
# cannot be reweighted. sympy, for four actions with symbolic probabilities and values:

# %%
# NBVAL_CHECK_OUTPUT
lhs, rhs, holds = pe.symbolic.importance_sampling_identity(4)
assert holds
print(lhs, "=", rhs)

# %% [markdown]
# A small example: four actions; $\mu$ rarely picks the last one. The target $\pi$ is $\mu$'s
# logits moved by $\alpha u$, where $u$ shifts mass onto that rare action ($\alpha$ is the size
# of the policy shift). For $\alpha = 2$,
# the IS estimate from 2 000 samples of $\mu$, repeated 500 times, averages to the exact
# $\mathbb{E}_\pi[f]$ (within a few standard errors):

# %%
# NBVAL_CHECK_OUTPUT
logits_mu = torch.tensor([1.5, 1.0, 0.0, -1.5], dtype=torch.float64)
u = torch.tensor([-0.5, 0.0, 0.0, 1.0], dtype=torch.float64)
f = torch.tensor([1.0, 0.5, 0.0, 2.0], dtype=torch.float64)
mu = torch.softmax(logits_mu, 0)


def target(shift):
    return torch.softmax(logits_mu + shift * u, 0)


pi = target(2.0)
gen = torch.Generator().manual_seed(0)
a = torch.multinomial(mu, 500 * 2000, replacement=True, generator=gen).reshape(2000, 500)  # 500 columns
estimates = imp.is_estimate(f[a], pi.log()[a], mu.log()[a])  # one estimate per column
exact = float((pi * f).sum())
std_err = float(estimates.std()) / 500**0.5
assert abs(float(estimates.mean()) - exact) < 4 * std_err
print(f"μ = {np.round(mu.numpy(), 3).tolist()}   π = {np.round(pi.numpy(), 3).tolist()}")
print(f"E_π[f] exact = {exact:.3f}   mean of IS estimates = {estimates.mean():.3f} ± {std_err:.3f}")
print(f"plain average of f under μ (no weights) = {float((mu * f).sum()):.3f}  ← the wrong target")

# %% [markdown]
# **Exercise 4.1.** Write the IS estimate (4.1) from samples $a_i \sim \mu$ given as values
# $f(a_i)$ and log-probabilities under both distributions (ratios are computed from
# log-probabilities in practice: products of small probabilities underflow, sums of logs do not).

# %%
def importance_weighted_mean(f_values, logp_target, logp_behaviour):
    ### BEGIN SOLUTION
    w = torch.exp(logp_target - logp_behaviour)
    return (w * f_values).mean()
    ### END SOLUTION


pe.exercises.importance_weighted_mean.check(importance_weighted_mean)

# %% [markdown]
# ## 2. The price: variance and effective sample size
#
# The estimate is unbiased for any $\mu$, but a single weighted sample has variance
#
# $$\operatorname{Var}_{a\sim\mu}\big[w(a) f(a)\big] = \sum_a \frac{\pi(a)^2 f(a)^2}{\mu(a)} - \big(\mathbb{E}_\pi f\big)^2, \tag{4.2}$$
#
# and the $\mu(a)$ in the denominator makes it explode when $\pi$ puts weight where $\mu$ rarely looks.
# A model-free diagnostic is the **effective sample size**
#
# $$\mathrm{ESS} = \frac{\big(\sum_{i=1}^N w_i\big)^2}{\sum_{i=1}^N w_i^2} \;\approx\; \frac{N\, \mathbb{E}_\mu[w]^2}{\mathbb{E}_\mu[w^2]} = \frac{N}{\mathbb{E}_\mu[w^2]}, \tag{4.3}$$
#
# $N$ when all weights are equal, 1 when one weight dominates. ($\mathbb{E}_\mu[w] = \sum_a \pi(a) = 1$.)
# How far apart are the two policies? A common yardstick is
# $\mathrm{KL}(\pi \,\|\, \mu) = \sum_a \pi(a) \log(\pi(a)/\mu(a))$; §2b shows it is only a proxy.
#
# Sweep $\alpha$; at each value compare the exact variance (4.2) and $1/\mathbb{E}_\mu[w^2]$ with
# values measured on samples (the number of samples per point is the notebook's budget):

# %%
n_samples = pe.runtime.budget(200_000, 20_000)
shifts = torch.linspace(0.0, 4.0, 17, dtype=torch.float64)
kls, var_exact, var_measured, ess_exact, ess_measured = [], [], [], [], []
gen = torch.Generator().manual_seed(1)
for shift in shifts:
    p = target(float(shift))
    a = torch.multinomial(mu, n_samples, replacement=True, generator=gen)
    w = (p / mu)[a]
    kls.append(float(imp.kl_divergence(p, mu)))
    var_exact.append(float(imp.is_variance(p, mu, f)))
    by_enumeration = float((mu * (p / mu * f) ** 2).sum() - (mu * (p / mu) * f).sum() ** 2)  # Var by its definition
    assert abs(var_exact[-1] - by_enumeration) < 1e-12  # (4.2)
    var_measured.append(float((w * f[a]).var()))
    ess_exact.append(1 / float(imp.second_moment(p, mu)))
    ess_measured.append(float(imp.effective_sample_size(w.reshape(-1, 100).T).mean()) / 100)  # batches of N = 100
assert np.allclose(var_measured, var_exact, rtol=0.25)
assert np.allclose(ess_measured, ess_exact, atol=0.08)
assert ess_measured[-1] > 1.5 * ess_exact[-1]  # small batches look healthier than they are (see below)
print(f"at α = 4: ESS/N of batches of 100 = {ess_measured[-1]:.3f}, large-N value {ess_exact[-1]:.3f}, "
      f"ratio {ess_measured[-1] / ess_exact[-1]:.1f}")
pe.plots.importance_drift(kls, var_exact, var_measured, ess_exact, ess_measured)

# %% [markdown]
# The measured points follow the exact variance. The measured ESS of batches of 100 sits
# *above* its large-$N$ value $1/\mathbb{E}_\mu[w^2]$ once the policies are far apart (at KL ≈ 2,
# about twice as high, printed above): a small batch often misses the rare, heavy weights
# altogether, so it *looks* healthier than it is. That is
# the treacherous side of importance sampling: the damage hides in rare samples.
#
# The exact numbers behind the curves, at a few points:

# %%
# NBVAL_CHECK_OUTPUT
for shift in (0.0, 1.0, 2.0, 3.0, 4.0):
    p = target(shift)
    print(f"α = {shift}:  KL = {float(imp.kl_divergence(p, mu)):.3f}   Var = {float(imp.is_variance(p, mu, f)):7.3f}"
          f"   ESS/N ≈ {1 / float(imp.second_moment(p, mu)):.3f}")
assert float(imp.is_variance(target(4.0), mu, f)) > 400 * float(imp.is_variance(target(0.0), mu, f))
assert 1 / float(imp.second_moment(target(4.0), mu)) < 0.06
p4 = target(4.0)
var_on_policy = float((p4 * f**2).sum() - (p4 * f).sum() ** 2)  # one sample drawn from π itself
worth = 100 * var_on_policy / float(imp.is_variance(p4, mu, f))  # on-policy samples that 100 weighted ones are worth
print(f"α = 4.0:  Var_π[f] = {var_on_policy:.3f} on-policy;  one weighted sample has "
      f"{float(imp.is_variance(p4, mu, f)) / var_on_policy:.0f}× that;  100 weighted samples are worth {worth:.1f} "
      f"on-policy ones for this f (the f-free ESS says {100 / float(imp.second_moment(p4, mu)):.1f})")
assert worth < 1 and 100 / float(imp.second_moment(p4, mu)) > 5 * worth

# %% [markdown]
# By KL ≈ 2.2 nats the variance of one weighted sample is about 500 times what it was at
# $\alpha = 0$ (where every weight is 1), and 164 times that of one sample drawn from $\pi$
# itself: for this $f$, 100 weighted samples are worth less than one on-policy sample. The
# ESS (4.3) does not look at $f$: it is a rule of thumb for any $f$ (about 5 of 100 here), and for
# this $f$ it flatters importance sampling about eightfold. Either way, **importance sampling only
# works while the policies stay close**, which is the whole motivation for PPO's clipping (05)
# and TRPO's KL constraint.

# %% [markdown]
# ## 2b. What the ESS depends on: $\chi^2$, with KL a proxy
#
# The large-$N$ ESS fraction is not a function of the KL. Expanding the second moment,
#
# $$\mathbb{E}_\mu[w^2] = \sum_a \frac{\pi(a)^2}{\mu(a)} = 1 + \sum_a \frac{(\pi(a) - \mu(a))^2}{\mu(a)} = 1 + \chi^2(\pi \,\|\, \mu), \qquad \frac{\mathrm{ESS}}{N} \approx \frac{1}{1 + \chi^2(\pi\,\|\,\mu)} \le e^{-\mathrm{KL}(\pi\,\|\,\mu)}. \tag{4.3b}$$
#
# The bound is Jensen's inequality: $\mathrm{KL}(\pi\|\mu) = \mathbb{E}_\pi[\log w] \le \log \mathbb{E}_\pi[w] = \log \mathbb{E}_\mu[w^2]$.
# So a small KL is *necessary* for a healthy ESS but not sufficient: two targets at the same KL
# can have very different ESS. Below, the first moves mass onto the rare action (as above), the
# second onto the common one, with its size chosen so that both have the same KL:
# %%
# NBVAL_CHECK_OUTPUT
for p in (target(float(x)) for x in shifts):  # (4.3b) on the whole sweep
    assert abs(float(imp.second_moment(p, mu)) - (1 + float(imp.chi_squared(p, mu)))) < 1e-12
    assert float(imp.ess_fraction(p, mu)) <= float(torch.exp(-imp.kl_divergence(p, mu))) + 1e-12
v = torch.tensor([1.0, 0.0, 0.0, -0.5], dtype=torch.float64)  # mass onto the common action
to_rare = target(2.0)
kl_rare, lo, hi = float(imp.kl_divergence(to_rare, mu)), 0.0, 20.0
for _ in range(60):  # bisection: the shift along v with the same KL(π ‖ μ)
    mid = (lo + hi) / 2
    lo, hi = (mid, hi) if float(imp.kl_divergence(torch.softmax(logits_mu + mid * v, 0), mu)) < kl_rare else (lo, mid)
to_common = torch.softmax(logits_mu + lo * v, 0)
rows = {}
for name, p in (("towards the rare action", to_rare), ("towards the common action", to_common)):
    rows[name] = [float(imp.kl_divergence(p, mu)), float(imp.chi_squared(p, mu)), float(imp.ess_fraction(p, mu)),
                  float(imp.kl_divergence(mu, p))]
    print(f"{name:>26}: KL(π‖μ) = {rows[name][0]:.3f}   χ² = {rows[name][1]:.3f}   ESS/N ≈ {rows[name][2]:.3f}"
          f"   KL(μ‖π) = {rows[name][3]:.3f}")
rare, common = rows["towards the rare action"], rows["towards the common action"]
assert abs(rare[0] - common[0]) < 1e-9 and rare[2] < 0.7 * common[2]  # same KL, far lower ESS
assert rare[3] < common[3]  # and the reverse KL ranks them the other way round
small = [float(imp.kl_divergence(target(x), mu) / imp.kl_divergence(mu, target(x))) for x in (0.2, 0.1, 0.05)]
assert all(abs(k - 1) < 0.04 for k in small) and abs(small[2] - 1) < abs(small[0] - 1)
print("KL(π‖μ) / KL(μ‖π) for α = 0.2, 0.1, 0.05:", [round(k, 3) for k in small])

# %% [markdown]
# Same KL, and the ESS is 0.35 against 0.60: the $\chi^2$ divergence, which weighs each
# action's change by $1/\mu(a)$, sees that moving mass onto a rare action is what hurts.

# %% [markdown]
# *Which KL?* This notebook measures $\mathrm{KL}(\pi\|\mu)$, new ‖ old: it is
# $\mathbb{E}_\pi[\log w]$, an expectation under the target, and it is the direction that bounds
# the ESS in (4.3b). Notebook 05 (PPO-penalty, TRPO) uses $\mathrm{KL}(\pi_\text{old}\|\pi_\theta)$,
# old ‖ new, because that one is an expectation under the policy that collected the batch, so the
# batch itself estimates it ($\mathbb{E}_{a\sim\pi_\text{old}}[-\log\rho]$), and it is the
# direction TRPO writes (§4 below; its bound comes from the total-variation distance, which
# bounds both directions alike, so it holds either way). The two directions are not the same divergence (the
# reverse KL above ranks the two targets the other way round), but for small steps both equal
# $\tfrac12\Delta\theta^\top F\Delta\theta$ to second order, and their ratio tends to 1.

# %% [markdown]
# **Exercise 4.2.** Write the effective sample size (4.3) of a 1-D tensor of weights.

# %%
def effective_sample_size(weights):
    ### BEGIN SOLUTION
    return weights.sum() ** 2 / (weights**2).sum()
    ### END SOLUTION


pe.exercises.effective_sample_size.check(effective_sample_size)

# %% [markdown]
# ## 3. Trajectories: which ratio?
#
# For a whole episode, the ratio of trajectory probabilities (1.2) needs no model, because the
# environment's factors cancel:
#
# $$\frac{p_\theta(\tau)}{p_{\theta'}(\tau)} = \frac{\nu_0(s_0)\prod_t \pi_\theta(a_t|s_t)\,P(s_{t+1}|s_t,a_t)}{\nu_0(s_0)\prod_t \pi_{\theta'}(a_t|s_t)\,P(s_{t+1}|s_t,a_t)} = \prod_{t} \frac{\pi_\theta(a_t\mid s_t)}{\pi_{\theta'}(a_t\mid s_t)}. \tag{4.4}$$
#
# A product of $T$ ratios: its variance grows roughly exponentially with the episode length
# (exactly so when the steps are independent: Exercise 4.4), and
# its ESS collapses even when every single-step ratio is tame. On the corridor, episodes of
# $\theta' = 0$ reweighted to $\theta = \theta' + 1.5\,u$ ($u$ the unit gradient direction of notebook 01):

# %%
# NBVAL_CHECK_OUTPUT
mdp = tm.corridor()
theta_old = torch.zeros(mdp.n_states, mdp.n_actions, dtype=torch.float64)
grad_old = tm.exact_gradient(mdp, theta_old)
direction = grad_old / grad_old.norm()
theta_new = theta_old + 1.5 * direction
episodes = tm.sample_episodes(mdp, tm.softmax_policy(theta_old), 20_000, torch.Generator().manual_seed(2))
log_ratio = pg.log_probs(theta_new, episodes.states, episodes.actions) - pg.log_probs(
    theta_old, episodes.states, episodes.actions)
step_w = torch.exp(log_ratio[episodes.mask])  # one ratio per step
traj_w = torch.exp((log_ratio * episodes.mask).sum(0))  # one product per episode, eq. (4.4)
ess_step = float(imp.effective_sample_size(step_w)) / len(step_w)
ess_traj = float(imp.effective_sample_size(traj_w)) / len(traj_w)
ess_traj_exact = float(tm.trajectory_ess_fraction(mdp, tm.softmax_policy(theta_new), tm.softmax_policy(theta_old)))
assert ess_traj < ess_step and abs(ess_traj - ess_traj_exact) < 0.05
print(f"ESS/N of per-step ratios: {ess_step:.2f}    of whole-trajectory ratios: {ess_traj:.2f} "
      f"(exact large-N value {ess_traj_exact:.3f}, one linear solve: pe.toy_mdps.trajectory_ess_fraction)")

# %% [markdown]
# Even with episodes of three steps on average, the trajectory ratios keep a much smaller share
# of the sample than the per-step ones. Each step multiplies in one more random factor, so the
# loss compounds with the length of the episode. Grouping the same episodes by length (one- and
# two-step episodes are left out: each of those lengths has a single possible trajectory, hence
# one weight):

# %%
# NBVAL_CHECK_OUTPUT
ess_by_length, longest = [], int(episodes.lengths.max())
for lo, hi in ((3, 4), (5, 8), (9, longest)):
    group = (episodes.lengths >= lo) & (episodes.lengths <= hi)
    ess_by_length.append(float(imp.effective_sample_size(traj_w[group])) / int(group.sum()))
    print(f"episodes of {lo}–{hi} steps: {int(group.sum()):5d} of them, ESS/N of trajectory ratios "
          f"{ess_by_length[-1]:.2f}")
assert ess_by_length[0] > ess_by_length[1] > ess_by_length[2]

# %% [markdown]
# Longer episodes, fewer effective samples. But per-step ratios alone are not an identity:
# a step's *state* $s_t$ was also reached with the old policy's probabilities. Let us see exactly
# what is dropped and why that is acceptable.
#
# ## 4. Dropping the state ratio, and the surrogate
#
# Let $\theta' = \theta_\text{old}$ be the old parameters (the prime keeps the formulas short),
# $V' = V^{\pi_{\theta'}}$ and $A' = A^{\pi_{\theta'}}$ the old policy's value and advantage, and
# $d^\pi(s) = \sum_t \gamma^t \Pr(s_t = s)$ the discounted visits of (3.6). A classical identity
# (the *performance-difference lemma*, Kakade & Langford 2002) expresses the new policy's gain
# through the **old** advantage, with states visited by the **new** policy:
#
# $$J(\theta) - J(\theta') = \sum_s d^{\pi_\theta}(s) \sum_a \pi_\theta(a\mid s)\, A'(s, a) = \sum_s d^{\pi_\theta}(s) \sum_a \pi_{\theta'}(a\mid s)\, \frac{\pi_\theta(a\mid s)}{\pi_{\theta'}(a\mid s)}\, A'(s, a). \tag{4.5}$$
#
# *Proof.* The old advantage is the expected one-step TD residual of the old values, whatever
# policy chose $a_t$: by the definition of $Q'$,
#
# $$\mathbb{E}\big[r_t + \gamma V'(s_{t+1}) - V'(s_t) \,\big|\, s_t, a_t\big] = Q'(s_t, a_t) - V'(s_t) = A'(s_t, a_t),$$
#
# the expectation being over $s_{t+1} \sim P(\cdot|s_t, a_t)$ only. Sum over a trajectory of the
# **new** policy with weights $\gamma^t$: the $V'$ terms telescope,
# $\sum_t \gamma^t(\gamma V'(s_{t+1}) - V'(s_t)) = -V'(s_0)$, so
# $\mathbb{E}_{\tau\sim\pi_\theta}[\sum_t \gamma^t A'(s_t, a_t)] = \mathbb{E}_{\tau\sim\pi_\theta}[\sum_t \gamma^t r_t] - \mathbb{E}[V'(s_0)] = J(\theta) - J(\theta')$,
# and grouping the steps by state gives (4.5).

# %% [markdown]
# *For readers of the source notes.* They write the objective first with the advantage of the
# policy being optimised, $A^{\pi_\theta}$, and a few lines later, without comment, with the old
# policy's $A^{\pi_{\theta_k}}$. Only the old one is right: (4.5) holds with $A'$, and $A'$ is the
# only advantage that the old data can estimate (the new policy's advantage would change with
# every step of the update).

# %% [markdown]
# The action part of (4.5) is an importance ratio we can compute. The state part,
# $d^{\pi_\theta}$, needs the ratio $d^{\pi_\theta}(s)/d^{\pi_{\theta'}}(s)$, which depends on the
# unknown dynamics; estimated from the old episodes, the state of step $t$ is reweighted by the
# ratios of all the steps before it, $\prod_{k<t}\rho_k$: the exploding product (4.4) again. So we
# **drop it**: replace $d^{\pi_\theta}$ by $d^{\pi_{\theta'}}$. That gives the surrogate
#
# $$L_{\theta'}(\theta) = \sum_s d^{\pi_{\theta'}}(s) \sum_a \pi_\theta(a\mid s)\, A'(s, a) = \mathbb{E}_{\tau\sim\pi_{\theta'}}\Big[\sum_t \gamma^t\, \frac{\pi_\theta(a_t\mid s_t)}{\pi_{\theta'}(a_t\mid s_t)}\, A'(s_t, a_t)\Big], \tag{4.6}$$
#
# which uses only old data. Why is that allowed? Because at $\theta = \theta'$ the surrogate and
# the true gain agree in value *and* gradient:
#
# $$L_{\theta'}(\theta') = 0 = J(\theta') - J(\theta'), \qquad \nabla_\theta L_{\theta'}(\theta)\big|_{\theta=\theta'} = \sum_s d^{\pi_{\theta'}}(s) \sum_a \nabla\pi_{\theta'}(a\mid s)\, A'(s, a) = \nabla_\theta J(\theta'), \tag{4.7}$$
#
# the last step being the policy-gradient theorem (3.5)–(3.6). The state distribution changes
# only to first order in $\theta - \theta'$, and it multiplies $\sum_a \pi_\theta A'$, which is
# itself zero at $\theta = \theta'$; so the error of dropping the state ratio is second order,
# $O(\|\theta - \theta'\|^2)$. The source notes drop $p_\theta(s)/p_{\theta'}(s)$ with a bare "≈",
# or argue that the state distribution "changes little"; (4.7) is the precise version of that
# argument, and it also says *when* it fails: far from $\theta'$.
#
# The statements, checked on the corridor with exact quantities (first the identity
# $\mathbb{E}[r_t + \gamma V'(s_{t+1}) - V'(s_t) | s_t, a_t] = A'$, from the tables):

# %%
# NBVAL_CHECK_OUTPUT
pi_old = tm.softmax_policy(theta_old)
V_old = tm.state_values(mdp, pi_old)
expected_td = mdp.R + mdp.gamma * torch.einsum("sat,t->sa", mdp.P, V_old) - V_old[:, None]  # E[r + γV'(s') − V'(s)]
assert torch.allclose(expected_td, tm.advantages(mdp, pi_old), atol=1e-12)
gain = float(tm.objective(mdp, theta_new) - tm.objective(mdp, theta_old))
pdl = float(tm.surrogate_objective(mdp, theta_new, theta_old, new_state_distribution=True))
surr = float(tm.surrogate_objective(mdp, theta_new, theta_old))
assert abs(pdl - gain) < 1e-12  # (4.5) is exact
theta_req = theta_old.clone().requires_grad_(True)
(grad_surrogate,) = torch.autograd.grad(tm.surrogate_objective(mdp, theta_req, theta_old), theta_req)
assert torch.allclose(grad_surrogate, grad_old, atol=1e-12)  # (4.7)
print(f"true gain J(θ) − J(θ') = {gain:.4f}   (4.5) with new states = {pdl:.4f}   surrogate (4.6) = {surr:.4f}")
print("∇L at θ' equals ∇J(θ'):", bool(torch.allclose(grad_surrogate, grad_old, atol=1e-12)))

# %% [markdown]
# The same two numbers from the sampled episodes of §3. Weighting step $t$ by the ratios of all
# the steps up to it, $\prod_{k\le t}\rho_k$ (*per-decision* importance sampling), estimates the
# true gain without bias: the state ratio is the $\prod_{k<t}$ part. Keeping only $\rho_t$ estimates
# the surrogate. What separates the two estimates is exactly the dropped state ratio:

# %%
# NBVAL_CHECK_OUTPUT
A_old = tm.advantages(mdp, tm.softmax_policy(theta_old))  # the exact A' as the advantage estimate
adv_steps = A_old[episodes.states, episodes.actions] * episodes.mask
discount = mdp.gamma ** torch.arange(log_ratio.shape[0], dtype=torch.float64)[:, None]
masked_log_ratio = log_ratio * episodes.mask
per_decision = (discount * torch.exp(masked_log_ratio.cumsum(0)) * adv_steps).sum(0)  # Π_{k≤t} ρ_k, per episode
per_step = (discount * torch.exp(masked_log_ratio) * adv_steps).sum(0)  # ρ_t alone: the surrogate (4.6)
for name, est, exact_value in (("Π_{k≤t} ρ_k (unbiased for the gain)", per_decision, gain), ("ρ_t alone (the surrogate)", per_step, surr)):
    se = float(est.std()) / len(est) ** 0.5
    print(f"{name:<36}: {float(est.mean()):.4f} ± {se:.4f} (s.e.)   exact {exact_value:.4f}")
    assert abs(float(est.mean()) - exact_value) < 4 * se
assert float(per_decision.std()) > float(per_step.std())  # the state ratio's price: more variance

# %% [markdown]
# Along the line $\theta = \theta' + \alpha u$ the two curves share their tangent at $\alpha = 0$
# and part as $\alpha$ grows:

# %%
# NBVAL_CHECK_OUTPUT
alphas = torch.linspace(-2.0, 6.0, 81, dtype=torch.float64)
true_gain = torch.stack([tm.objective(mdp, theta_old + al * direction) for al in alphas]) - tm.objective(mdp, theta_old)
surrogate = torch.stack([tm.surrogate_objective(mdp, theta_old + al * direction, theta_old) for al in alphas])
gap = (true_gain - surrogate).abs()
small = [float(gap[(alphas - al).abs().argmin()]) for al in (0.2, 0.1)]
assert 3.0 < small[0] / small[1] < 5.0  # halving α quarters the gap: second order
assert bool((surrogate[alphas > 0] < true_gain[alphas > 0]).all())  # here L under-promises for α > 0
print(f"gap at α = 0.2: {small[0]:.2e}   at α = 0.1: {small[1]:.2e}   ratio {small[0] / small[1]:.2f} (≈ 4)")

# %%
pe.plots.surrogate_vs_objective(alphas, true_gain, surrogate, slope=float(grad_old.norm()))

# %% [markdown]
# Near $\theta'$ the surrogate is a faithful stand-in for $J$; far away it is not. Here it
# under-promises for every $\alpha > 0$, which is harmless. It is **not** a lower bound in general.
# Make the corridor slippery (each inner move fails with probability 0.5 instead of 0.2): now the
# surrogate over-promises along the whole line, and it keeps rising after the true gain has peaked.
#
# TRPO (Schulman et al., 2015) turns the second-order error into a guarantee. Their Theorem 1 is
# stated with the largest total-variation distance $\max_s \mathrm{TV}_s$, squared; since
# $\mathrm{TV}^2 \le \mathrm{KL}$ (Pinsker's inequality, in either direction), it gives their eq. (9):
#
# $$J(\theta) - J(\theta') \;\ge\; L_{\theta'}(\theta) - C\, \mathrm{KL}_\text{max}, \qquad C = \frac{4\varepsilon\gamma}{(1-\gamma)^2},\quad \varepsilon = \max_{s,a}|A'(s,a)|,\quad \mathrm{KL}_\text{max} = \max_s \mathrm{KL}\big(\pi_{\theta'}(\cdot|s)\,\|\,\pi_\theta(\cdot|s)\big). \tag{4.9}$$
#
# `pe.toy_mdps.trpo_lower_bound` computes the right-hand side exactly:

# %%
# NBVAL_CHECK_OUTPUT
slippery = tm.corridor(slip=0.5)
grad_s = tm.exact_gradient(slippery, theta_old)
u_s = grad_s / grad_s.norm()
line = [theta_old + al * u_s for al in alphas]
gain_s = torch.stack([tm.objective(slippery, th) for th in line]) - tm.objective(slippery, theta_old)
surr_s = torch.stack([tm.surrogate_objective(slippery, th, theta_old) for th in line])
bound_s = torch.stack([tm.trpo_lower_bound(slippery, th, theta_old) for th in line])
pos = alphas > 0.05  # the grid steps by 0.1; this skips α = 0
best_true, best_surr = float(alphas[gain_s.argmax()]), float(alphas[pos][surr_s[pos].argmax()])
assert bool((surr_s[pos] > gain_s[pos]).all())  # L over-promises for every α > 0
assert best_surr > 2 * best_true  # and its maximiser overshoots the true one
assert float(gain_s[alphas.argmax()]) < 0.6 * float(gain_s.max())  # ... where most of the gain is lost
assert bool((bound_s <= gain_s + 1e-12).all())  # (4.9) holds on the whole line
assert float(bound_s[pos].max()) < 0.0  # but it is positive nowhere on this grid (α ≥ 0.1)
tiny = [float(tm.trpo_lower_bound(slippery, theta_old + al * u_s, theta_old)) for al in (0.001, 0.01)]
assert tiny[0] > 0 > tiny[1]
print(f"true gain peaks at α = {best_true:.1f} ({float(gain_s.max()):.3f}); L keeps rising to α = {best_surr:.1f}, "
      f"where the true gain is {float(gain_s[alphas.argmax()]):.3f} and L promises {float(surr_s.max()):.3f}")
print(f"TRPO bound: {tiny[0]:.1e} at α = 0.001, {tiny[1]:.1e} at α = 0.01, {float(bound_s[pos].max()):.3f} at best "
      f"for α ≥ 0.1;  C = 4εγ/(1 − γ)² = {4 * float(tm.advantages(slippery, pi_old).abs().max()) * 0.9 / 0.1**2:.1f}")

# %%
pe.plots.surrogate_vs_objective(alphas, gain_s, surr_s, slope=float(grad_s.norm()), bound=bound_s,
                                title="A slippery corridor: the surrogate over-promises")

# %% [markdown]
# Maximising $L$ along this line would jump to the edge of the plot and keep little more than
# half of the gain it could have had. The bound (4.9) is safe, it is below the true gain
# everywhere, but with $\gamma = 0.9$ its constant $C$ is about 150: it is positive at
# $\alpha = 0.001$ and already negative at $\alpha = 0.01$, so maximising it moves almost nowhere. That is why TRPO keeps the
# shape of (4.9) but replaces the penalty $C$ by a constraint on the average KL (05, §4), and why
# PPO replaces both by the clip. A step that maximises $L$ without a leash can go where $L$ and
# $J$ disagree.
#
# TRPO's paper calls its average-KL constraint a heuristic. Achiam et al. (2017, Corollary 1)
# later proved a bound with an *average* distance, weighted by the old policy's visits:
#
# $$J(\theta) - J(\theta') \;\ge\; L_{\theta'}(\theta) - \frac{2\gamma\,\varepsilon''}{1-\gamma} \sum_s d^{\pi_{\theta'}}(s)\, \mathrm{TV}_s, \qquad \varepsilon'' = \max_s \Big|\sum_a \pi_\theta(a|s)\, A'(s,a)\Big|, \quad \mathrm{TV}_s = \tfrac12 \sum_a \big|\pi_\theta(a|s) - \pi_{\theta'}(a|s)\big| \tag{4.10}$$
#
# (their $d$ is normalised by $1 - \gamma$, which turns our $1/(1-\gamma)$ into their
# $1/(1-\gamma)^2$). `pe.toy_mdps.mean_tv_lower_bound` computes it, on the same slippery line,
# near $\theta'$:

# %%
# NBVAL_CHECK_OUTPUT
near = torch.linspace(0.0, 0.2, 2001, dtype=torch.float64)
gain_near = torch.stack([tm.objective(slippery, theta_old + al * u_s) for al in near]) - tm.objective(slippery, theta_old)
trpo_near = torch.stack([tm.trpo_lower_bound(slippery, theta_old + al * u_s, theta_old) for al in near])
tv_near = torch.stack([tm.mean_tv_lower_bound(slippery, theta_old + al * u_s, theta_old) for al in near])
assert bool((tv_near <= gain_near + 1e-12).all()) and bool((tv_near >= trpo_near - 1e-12).all())  # valid, and tighter
for name, b in (("TRPO (4.9)", trpo_near), ("average TV (4.10)", tv_near)):
    i = int(b.argmax())
    print(f"{name:>18}: best at α = {float(near[i]):.4f}, guaranteeing {float(b[i]):.5f} (true gain there "
          f"{float(gain_near[i]):.5f}); positive up to α = {float(near[b > 0].max()):.4f}")
assert float(near[tv_near.argmax()]) > 10 * float(near[trpo_near.argmax()]) and float(tv_near.max()) > 10 * float(trpo_near.max())
print(f"the true gain's peak on the whole line: {float(gain_s.max()):.3f} at α = {best_true:.1f}")

# %% [markdown]
# The average-distance bound is valid too, and tighter everywhere on this line: maximising it
# takes a step about 19 times longer than TRPO's bound allows and guarantees about 19 times more.
# It is still cautious, far short of the true gain's peak: a guarantee that holds for every MDP
# with these constants has to be. It is the rigorous form of what TRPO's average-KL constraint
# and PPO's clip do in practice: keep the new policy close *on average over the states the old one
# visits*.

# %% [markdown]
# *For readers of the source notes.* Their TRPO derivation of this step (written with the
# normalised visits $\nu = (1 - \gamma)d$, and with $\theta'$ for the *new* parameters, the other way round from
# here) has two slips. The factor $1/(1 - \gamma)$ in front of the expectation disappears when the
# ratio is introduced. And after the ratio is introduced the actions are still written as drawn from
# the new policy: with the ratio inside they must come from the *old* one, as in (4.6). Drawing
# them from the new policy *and* multiplying by new/old counts the change twice.

# %% [markdown]
# ## 5. The sample surrogate and its gradient
#
# With episodes from $\theta'$, (4.6) is estimated by averaging over episodes; the advantages and
# old log-probabilities are data (computed once, detached):
#
# $$\hat L(\theta) = \frac{1}{N}\sum_{n}\sum_t \gamma^t\, \rho_t(\theta)\, \hat A_t, \qquad \rho_t(\theta) = \frac{\pi_\theta(a_t\mid s_t)}{\pi_{\theta'}(a_t\mid s_t)} = \exp\big(\log\pi_\theta(a_t|s_t) - \log\pi_{\theta'}(a_t|s_t)\big). \tag{4.8}$$
#
# Since $\nabla\rho = \rho\, \nabla\log\pi$ and $\rho = 1$ at $\theta = \theta'$, the gradient of
# (4.8) at $\theta'$ is *exactly* the REINFORCE estimate with advantage weights (3.5) on the same
# episodes: the surrogate is not a new estimator, it is a way to keep using the old one after
# $\theta$ moves. sympy (for one state, three actions) and autograd (on the corridor episodes,
# with the exact $A'$ as $\hat A$) agree:

# %%
# NBVAL_CHECK_OUTPUT
grad_l, pg_form, same = pe.symbolic.surrogate_gradient_at_old(3)
assert same
w_adv = pg.discount_weights(A_old[episodes.states, episodes.actions], episodes.mask, mdp.gamma)
logp_old = pg.log_probs(theta_old, episodes.states, episodes.actions)
theta_req = theta_old.clone().requires_grad_(True)
L_hat = imp.surrogate(pg.log_probs(theta_req, episodes.states, episodes.actions), logp_old, w_adv, episodes.mask)
(grad_hat,) = torch.autograd.grad(L_hat, theta_req)
reinforce = pg.reinforce_estimates(theta_old, episodes.states, episodes.actions, w_adv, episodes.mask).mean(0)
assert torch.allclose(grad_hat, reinforce, atol=1e-12)
print("sympy: ∇L(θ') = E[A ∇log π]:", same, "   autograd: ∇L̂(θ') = REINFORCE estimate:",
      bool(torch.allclose(grad_hat, reinforce, atol=1e-12)))

# %% [markdown]
# **Exercise 4.3.** Write the surrogate for a flat batch of samples: the mean of $\rho_t A_t$,
# with $\rho_t$ computed from new and old log-probabilities (detach the old ones: they are data).
# This is the form PPO code uses (notebooks 05 and 08): a mean over all $B = T\cdot N$ steps, with
# the $\gamma^t$ of (4.8) left out, which is the bias that notebook 03 measured.

# %%
def surrogate_objective(logp_new, logp_old, advantages):
    ### BEGIN SOLUTION
    ratio = torch.exp(logp_new - logp_old.detach())
    return (ratio * advantages).mean()
    ### END SOLUTION


pe.exercises.surrogate_objective.check(surrogate_objective)

# %% [markdown] tags=["solution-demo"]
# A common confusion is to think the surrogate *is* $\log\pi\cdot A$ (the REINFORCE pseudo-loss).
# They have the same gradient at $\theta = \theta'$, but not the same value, and only the ratio
# form stays correct once $\theta$ has moved:

# %% tags=["solution-demo"]
pe.exercises.surrogate_objective.check(lambda logp_new, logp_old, advantages: (logp_new * advantages).mean())

# %% [markdown]
# **Exercise 4.4 (derive).** §3 saw whole-trajectory weights lose their effective samples as
# episodes get longer. Make that exact in the simplest case: a "trajectory" of $T$ actions drawn
# *independently* from $\mu$, reweighted to $\pi$ by the product of the $T$ ratios (4.4). Derive
# the large-$N$ ESS fraction of these weights from (4.3) and write
# `trajectory_ess_fraction(target, behaviour, steps)` for two categorical distributions given as
# probability vectors and $T$ = `steps`. *Predict first:* for $\pi = [0.5, 0.5]$,
# $\mu = [0.8, 0.2]$ and $T = 3$, is it above or below $1/8$? (Work out $\mathbb{E}_\mu[w^2]$ for one
# step by hand.)

# %%
def trajectory_ess_fraction(target, behaviour, steps):
    ### BEGIN SOLUTION
    second_moment = (target**2 / behaviour).sum()  # one step: E_μ[w²] = Σ_a π(a)²/μ(a) = 1 + χ²
    return second_moment ** (-steps)  # independent factors: E_μ[Π_t w_t²] = Π_t E_μ[w_t²]
    ### END SOLUTION


pe.exercises.trajectory_ess_fraction.check(trajectory_ess_fraction)

# %% [markdown] tags=["solution-demo"]
# A tempting shortcut, $e^{-T\,\mathrm{KL}(\pi\|\mu)}$, is only the upper bound of (4.3b), once per step:

# %% tags=["solution-demo"]
result = pe.exercises.trajectory_ess_fraction.check(
    lambda target, behaviour, steps: torch.exp(-steps * (target * (target / behaviour).log()).sum()))
assert result.mistake == "kl_instead_of_chi2"
print(result)

# %% [markdown]
# ## Recap
#
# * $\mathbb{E}_\pi[f] = \mathbb{E}_\mu[(\pi/\mu) f]$ (4.1): unbiased, as long as $\mu > 0$ wherever $\pi f \ne 0$.
# * Its variance (4.2) explodes and the ESS (4.3) collapses as the policies drift apart: at
#   KL ≈ 2.2 one weighted sample had 164× the variance of an on-policy one (100 were worth less
#   than one), while the f-free ESS rule said 5 %.
# * $\mathbb{E}_\mu[w^2] = 1 + \chi^2(\pi\|\mu)$ (4.3b): the $\chi^2$ divergence sets the ESS; KL is a
#   proxy that only bounds it ($\mathrm{ESS}/N \le e^{-\mathrm{KL}}$), and at equal KL the ESS was 0.35
#   against 0.60.
# * Whole-trajectory ratios (4.4) are products of per-step ratios: far worse, and the worse the
#   longer the episode ($(1 + \chi^2)^{-T}$ for independent steps).
# * The exact gain $J(\theta) - J(\theta')$ uses the new policy's states and the *old* advantage
#   (4.5). Dropping the state ratio gives the surrogate $L_{\theta'}(\theta)$ (4.6), which matches
#   $J$ in value and gradient at $\theta'$ (4.7), so the error is second order: fine near
#   $\theta'$, wrong far away, and in either direction (the slippery corridor over-promised).
#   From samples, per-decision ratios $\prod_{k\le t}\rho_k$ estimate the gain, $\rho_t$ alone the
#   surrogate.
# * TRPO's bound (4.9) is safe but so loose that maximising it barely moves; the average-distance
#   bound (4.10) of Achiam et al. is tighter, still cautious, and is the rigorous basis for
#   constraining the *average* divergence.
# * The sample surrogate (4.8), mean of $\rho_t \hat A_t$, has at $\theta = \theta'$ exactly the
#   REINFORCE gradient.
#
# Next: **05 · PPO-clip**, which keeps the ratio near 1 so that the surrogate stays trustworthy.
