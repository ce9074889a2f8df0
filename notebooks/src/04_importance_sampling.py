# %% [markdown]
# # 04 · Importance sampling
#
# Every estimator so far needs episodes sampled from the *current* policy π_θ. After one
# gradient step θ has changed and the batch is stale; collecting a new one per step is
# expensive. Importance sampling reweights old samples so that they estimate expectations
# under the new policy. It is exact on average and treacherous in variance, and the way PPO
# uses it drops a term that this notebook justifies carefully.
#
# **You will learn**
# 1. the importance-sampling identity (checked with sympy) and that the estimate is unbiased;
# 2. how its variance blows up and the effective sample size collapses as the two policies
#    drift apart, measured against their KL divergence;
# 3. why a whole trajectory's ratio is hopeless, and why PPO uses per-step ratios and *drops
#    the ratio of state distributions* p_θ(s)/p_θ'(s), and what that costs;
# 4. the surrogate objective L(θ), whose gradient at θ = θ_old is exactly the policy gradient
#    (checked with autograd).

# %%
import numpy as np
import torch

import ppo_edu as pe

tm, pg, imp = pe.toy_mdps, pe.policy_gradient, pe.importance

# %% [markdown]
# ## 1. The identity
#
# We want E_{a~π}[f(a)] but have samples from another distribution μ (the *behaviour* policy:
# the old policy that collected the data). Multiply and divide by μ(a):
#
# $$\mathbb{E}_{a\sim\pi}[f(a)] = \sum_a \pi(a) f(a) = \sum_a \mu(a)\, \frac{\pi(a)}{\mu(a)}\, f(a) = \mathbb{E}_{a\sim\mu}\big[w(a)\, f(a)\big], \qquad w(a) = \frac{\pi(a)}{\mu(a)}. \tag{4.1}$$
#
# This needs μ(a) > 0 wherever π(a)f(a) ≠ 0: an action the old policy never takes cannot be
# reweighted. sympy, for four actions with symbolic probabilities and values:

# %%
# NBVAL_CHECK_OUTPUT
lhs, rhs, holds = pe.symbolic.importance_sampling_identity(4)
assert holds
print(lhs, "=", rhs)

# %% [markdown]
# A small example: four actions; μ rarely picks the last one. The target π is μ's logits moved
# by δ·u, where u shifts mass onto that rare action. For δ = 2, the IS estimate from 2 000 samples
# of μ, repeated 500 times, averages to the exact E_π[f] (within a few standard errors):

# %%
# NBVAL_CHECK_OUTPUT
logits_mu = torch.tensor([1.5, 1.0, 0.0, -1.5], dtype=torch.float64)
u = torch.tensor([-0.5, 0.0, 0.0, 1.0], dtype=torch.float64)
f = torch.tensor([1.0, 0.5, 0.0, 2.0], dtype=torch.float64)
mu = torch.softmax(logits_mu, 0)


def target(delta):
    return torch.softmax(logits_mu + delta * u, 0)


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
# **Exercise 4.1.** Write the IS estimate (4.1) from samples a_i ~ μ given as values f(a_i) and
# log-probabilities under both distributions (ratios are computed from log-probabilities in
# practice: products of small probabilities underflow, sums of logs do not).

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
# The estimate is unbiased for any μ, but a single weighted sample has variance
#
# $$\operatorname{Var}_{a\sim\mu}\big[w(a) f(a)\big] = \sum_a \frac{\pi(a)^2 f(a)^2}{\mu(a)} - \big(\mathbb{E}_\pi f\big)^2, \tag{4.2}$$
#
# and the μ(a) in the denominator makes it explode when π puts weight where μ rarely looks.
# A model-free diagnostic is the **effective sample size**
#
# $$\mathrm{ESS} = \frac{\big(\sum_{i=1}^N w_i\big)^2}{\sum_{i=1}^N w_i^2} \;\approx\; \frac{N\, \mathbb{E}_\mu[w]^2}{\mathbb{E}_\mu[w^2]} = \frac{N}{\mathbb{E}_\mu[w^2]}, \tag{4.3}$$
#
# N when all weights are equal, 1 when one weight dominates. (E_μ[w] = Σ_a π(a) = 1.) How far
# apart are the two policies? We measure it with KL(π ‖ μ) = Σ_a π(a) log(π(a)/μ(a)).
#
# Sweep δ; at each value compare the exact variance (4.2) and 1/E_μ[w²] with values measured on
# samples (the number of samples per point is the notebook's budget):

# %%
n_samples = pe.runtime.budget(200_000, 20_000)
deltas = torch.linspace(0.0, 4.0, 17, dtype=torch.float64)
kls, var_exact, var_measured, ess_exact, ess_measured = [], [], [], [], []
gen = torch.Generator().manual_seed(1)
for delta in deltas:
    p = target(float(delta))
    a = torch.multinomial(mu, n_samples, replacement=True, generator=gen)
    w = (p / mu)[a]
    kls.append(float(imp.categorical_kl(p, mu)))
    var_exact.append(float(imp.is_variance(p, mu, f)))
    var_measured.append(float((w * f[a]).var()))
    ess_exact.append(1 / float(imp.second_moment(p, mu)))
    ess_measured.append(float(imp.effective_sample_size(w.reshape(-1, 100).T).mean()) / 100)  # batches of N = 100
assert np.allclose(var_measured, var_exact, rtol=0.25)
assert np.allclose(ess_measured, ess_exact, atol=0.08)
assert ess_measured[-1] > ess_exact[-1]  # small batches look healthier than they are (see below)
pe.plots.importance_drift(kls, var_exact, var_measured, ess_exact, ess_measured)

# %% [markdown]
# The measured points follow the exact variance. The measured ESS of batches of 100 sits
# *above* its large-N value 1/E_μ[w²] once the policies are far apart (at KL ≈ 2, close to
# twice as high in the full run): a small batch often misses the rare, heavy weights
# altogether, so it *looks* healthier than it is. That is
# the treacherous side of importance sampling: the damage hides in rare samples.
#
# The exact numbers behind the curves, at a few points:

# %%
# NBVAL_CHECK_OUTPUT
for delta in (0.0, 1.0, 2.0, 3.0, 4.0):
    p = target(delta)
    print(f"δ = {delta}:  KL = {float(imp.categorical_kl(p, mu)):.3f}   Var = {float(imp.is_variance(p, mu, f)):7.3f}"
          f"   ESS/N ≈ {1 / float(imp.second_moment(p, mu)):.3f}")
assert float(imp.is_variance(target(4.0), mu, f)) > 400 * float(imp.is_variance(target(0.0), mu, f))
assert 1 / float(imp.second_moment(target(4.0), mu)) < 0.06

# %% [markdown]
# By KL ≈ 2.2 nats the variance of one weighted sample is about 500 times what it was at δ = 0,
# and 100 weighted samples are worth about five (ESS/N ≈ 0.05). **Importance sampling only works while the policies stay close**,
# which is the whole motivation for PPO's clipping (05) and TRPO's KL constraint.
#
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
# $$\frac{p_\theta(\tau)}{p_{\theta'}(\tau)} = \frac{\mu_0(s_0)\prod_t \pi_\theta(a_t|s_t)\,P(s_{t+1}|s_t,a_t)}{\mu_0(s_0)\prod_t \pi_{\theta'}(a_t|s_t)\,P(s_{t+1}|s_t,a_t)} = \prod_{t} \frac{\pi_\theta(a_t\mid s_t)}{\pi_{\theta'}(a_t\mid s_t)}. \tag{4.4}$$
#
# A product of T ratios: its variance grows roughly exponentially with the episode length, and
# its ESS collapses even when every single-step ratio is tame. On the corridor, episodes of
# θ' = 0 reweighted to θ = θ' + 1.5·u (u the unit gradient direction of notebook 01):

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
assert ess_traj < ess_step
print(f"ESS/N of per-step ratios: {ess_step:.2f}    of whole-trajectory ratios: {ess_traj:.2f}")

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
# a step's *state* s_t was also reached with the old policy's probabilities. Let us see exactly
# what is dropped and why that is acceptable.
#
# ## 4. Dropping the state ratio, and the surrogate
#
# Let θ' = θ_old be the old parameters (the prime keeps the formulas short), A' = A^{π_θ'} the
# old policy's advantage and d^π(s) = Σ_t γ^t Pr(s_t = s) the discounted visits of (3.6). A
# classical identity (the *performance-difference lemma*, Kakade & Langford 2002) expresses the
# new policy's gain through the old advantage, with states visited by the **new** policy:
#
# $$J(\theta) - J(\theta') = \sum_s d^{\pi_\theta}(s) \sum_a \pi_\theta(a\mid s)\, A'(s, a) = \sum_s d^{\pi_\theta}(s) \sum_a \pi_{\theta'}(a\mid s)\, \frac{\pi_\theta(a\mid s)}{\pi_{\theta'}(a\mid s)}\, A'(s, a). \tag{4.5}$$
#
# (Proof sketch: Σ_t γ^t A'(s_t, a_t) telescopes to Σ_t γ^t r_t − V'(s_0) in expectation under π_θ.)
# The action part is an importance ratio we can compute. The state part, d^{π_θ}, needs the
# ratio d^{π_θ}(s)/d^{π_θ'}(s), which depends on the unknown dynamics and, written out per
# trajectory, is the exploding product (4.4) again. So we **drop it**: replace d^{π_θ} by d^{π_θ'}.
# That gives the surrogate
#
# $$L_{\theta'}(\theta) = \sum_s d^{\pi_{\theta'}}(s) \sum_a \pi_\theta(a\mid s)\, A'(s, a) = \mathbb{E}_{\tau\sim\pi_{\theta'}}\Big[\sum_t \gamma^t\, \frac{\pi_\theta(a_t\mid s_t)}{\pi_{\theta'}(a_t\mid s_t)}\, A'(s_t, a_t)\Big], \tag{4.6}$$
#
# which uses only old data. Why is that allowed? Because at θ = θ' the surrogate and the true
# gain agree in value *and* gradient:
#
# $$L_{\theta'}(\theta') = 0 = J(\theta') - J(\theta'), \qquad \nabla_\theta L_{\theta'}(\theta)\big|_{\theta=\theta'} = \sum_s d^{\pi_{\theta'}}(s) \sum_a \nabla\pi_{\theta'}(a\mid s)\, A'(s, a) = \nabla_\theta J(\theta'), \tag{4.7}$$
#
# the last step being the policy-gradient theorem (3.5)–(3.6). The state distribution changes
# only to first order in θ − θ', and it multiplies Σ_a π_θ A', which is itself zero at θ = θ';
# so the error of dropping the state ratio is second order, O(‖θ − θ'‖²). The source notes drop
# p_θ(s)/p_θ'(s) with a bare "≈", or argue that the state distribution "changes little"; (4.7) is
# the precise version of that argument, and it also says *when* it fails: far from θ'.
#
# All three statements, checked on the corridor with exact quantities:

# %%
# NBVAL_CHECK_OUTPUT
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
# Along the line θ = θ' + α·u the two curves share their tangent at α = 0 and part as α grows:

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
# Near θ' the surrogate is a faithful stand-in for J; far away it is not (here it keeps
# under-promising, and in other problems it over-promises, which is the dangerous case). A step
# that maximises L without a leash can go where L and J disagree. PPO's leash is the clip (05).
#
# *For readers of the source notes.* Their TRPO derivation of this step (written with the
# normalised visits ν = (1 − γ)d, and with θ′ for the *new* parameters, the other way round from
# here) has two slips. The factor 1/(1 − γ) in front of the expectation disappears when the ratio
# is introduced. And after the ratio is introduced the actions are still written as drawn from
# the new policy: with the ratio inside they must come from the *old* one, as in (4.6). Drawing
# them from the new policy *and* multiplying by new/old counts the change twice.
#
# ## 5. The sample surrogate and its gradient
#
# With episodes from θ', (4.6) is estimated by averaging over episodes; the advantages and old
# log-probabilities are data (computed once, detached):
#
# $$\hat L(\theta) = \frac{1}{N}\sum_{n}\sum_t \gamma^t\, \rho_t(\theta)\, \hat A_t, \qquad \rho_t(\theta) = \frac{\pi_\theta(a_t\mid s_t)}{\pi_{\theta'}(a_t\mid s_t)} = \exp\big(\log\pi_\theta(a_t|s_t) - \log\pi_{\theta'}(a_t|s_t)\big). \tag{4.8}$$
#
# Since ∇ρ = ρ ∇log π and ρ = 1 at θ = θ', the gradient of (4.8) at θ' is *exactly* the REINFORCE
# estimate with advantage weights (3.5) on the same episodes: the surrogate is not a new
# estimator, it is a way to keep using the old one after θ moves. sympy (for one state,
# three actions) and autograd (on the corridor episodes, with the exact A' as Â) agree:

# %%
# NBVAL_CHECK_OUTPUT
grad_l, pg_form, same = pe.symbolic.surrogate_gradient_at_old(3)
assert same
A_old = tm.advantages(mdp, tm.softmax_policy(theta_old))
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
# **Exercise 4.3.** Write the surrogate for a flat batch of samples: the mean of ρ_t·A_t, with
# ρ_t computed from new and old log-probabilities (detach the old ones: they are data). This is
# the form PPO code uses (notebooks 05 and 08): a mean over all B = T·N steps, with the γ^t of
# (4.8) left out, which is the bias that notebook 03 measured.

# %%
def surrogate_objective(logp_new, logp_old, advantages):
    ### BEGIN SOLUTION
    ratio = torch.exp(logp_new - logp_old.detach())
    return (ratio * advantages).mean()
    ### END SOLUTION


pe.exercises.surrogate_objective.check(surrogate_objective)

# %% [markdown] tags=["solution-demo"]
# A common confusion is to think the surrogate *is* log π·A (the REINFORCE pseudo-loss). They
# have the same gradient at θ = θ', but not the same value, and only the ratio form stays
# correct once θ has moved:

# %% tags=["solution-demo"]
pe.exercises.surrogate_objective.check(lambda logp_new, logp_old, advantages: (logp_new * advantages).mean())

# %% [markdown]
# ## Recap
#
# * E_π[f] = E_μ[(π/μ) f] (4.1): unbiased, as long as μ > 0 wherever π f ≠ 0.
# * Its variance (4.2) explodes and the ESS (4.3) collapses as KL(π ‖ μ) grows: measured here,
#   500× the variance and ESS/N ≈ 5 % at KL ≈ 2.
# * Whole-trajectory ratios (4.4) are products of per-step ratios: far worse, and the worse the
#   longer the episode.
# * The exact gain J(θ) − J(θ') uses the new policy's states (4.5). Dropping the state ratio
#   gives the surrogate L_θ'(θ) (4.6), which matches J in value and gradient at θ' (4.7), so the
#   error is second order: fine near θ', wrong far away.
# * The sample surrogate (4.8), mean of ρ_t Â_t, has at θ = θ' exactly the REINFORCE gradient.
#
# Next: **05 · PPO-clip**, which keeps the ratio near 1 so that the surrogate stays trustworthy.
