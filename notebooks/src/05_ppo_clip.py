# %% [markdown]
# # 05 · PPO-clip
#
# Notebook 04 ended with the surrogate objective: data collected by an old policy π_old can
# score a new policy π_θ through the probability ratio. Maximising that surrogate for many
# gradient steps on one batch is tempting and dangerous: nothing stops π_θ from running far
# from π_old, where the surrogate no longer tells the truth. PPO's answer is a clip.
#
# **You will learn**
# 1. the ratio ρ and the clipped objective L^CLIP, and why it takes a *min*;
# 2. the **six clipping cases** (ratio below / inside / above [1−ε, 1+ε], for A > 0 and A < 0):
#    where the objective is flat and autograd's gradient is exactly zero;
# 3. what the clip does *not* do: it does not keep the ratio inside [1−ε, 1+ε];
# 4. PPO-penalty, a KL penalty whose weight β adapts, run side by side with the clip on the same data;
# 5. TRPO's constraint in one page, and a natural-gradient step that lands on the KL budget.

# %%
import math

import numpy as np
import torch

import ppo_edu as pe

# %% [markdown]
# ## 1. From the surrogate to the clip
#
# With π_old the policy that collected the data, the **probability ratio** of a sample is
#
# $$\rho_t(\theta) = \frac{\pi_\theta(a_t \mid s_t)}{\pi_{\theta_\text{old}}(a_t \mid s_t)} = \exp\big(\log \pi_\theta(a_t\mid s_t) - \log \pi_{\theta_\text{old}}(a_t\mid s_t)\big). \tag{5.1}$$
#
# (The source notes and the PPO paper write the ratio r_t(θ); here it is ρ_t, since r_t is the reward.)
# The surrogate of notebook 04 is L(θ) = E_t[ρ_t Â_t]. At θ = θ_old every ρ_t = 1 and
# ∇ρ_t = ∇log π_θ(a_t|s_t), so its gradient *is* the policy gradient E_t[∇log π · Â_t]. That is why
# ρ_t may take the place of log π_θ in the objective (a question the source notes leave open).
# Autograd agrees:

# %%
# NBVAL_CHECK_OUTPUT
g = torch.Generator().manual_seed(0)
logits = torch.randn(8, 3, generator=g, dtype=torch.float64, requires_grad=True)  # 8 states, 3 actions
actions = torch.randint(0, 3, (8,), generator=g)
adv = torch.randn(8, generator=g, dtype=torch.float64)
logp = torch.log_softmax(logits, -1)[torch.arange(8), actions]

(grad_surrogate,) = torch.autograd.grad((pe.losses.ratio(logp, logp.detach()) * adv).mean(), logits, retain_graph=True)
(grad_pg,) = torch.autograd.grad((logp * adv).mean(), logits)
assert torch.allclose(grad_surrogate, grad_pg, atol=1e-12)
print("‖∇ surrogate − ∇ policy-gradient objective‖ at θ = θ_old:", round(float((grad_surrogate - grad_pg).norm()), 12))

# %% [markdown]
# Away from θ_old the surrogate is only an approximation (notebook 04 measured how it drifts).
# PPO-clip (Schulman et al., 2017) maximises
#
# $$L^\text{CLIP}(\theta) = \mathbb{E}_t\Big[\min\big(\rho_t \hat A_t,\; \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\, \hat A_t\big)\Big]. \tag{5.2}$$
#
# Read the min as a *pessimistic* bound: of the unclipped and the clipped term, believe the
# less flattering one. Once the ratio has moved past the clip **in the direction the advantage
# wants**, the min picks the clipped term, which is constant in θ, and that sample stops
# pushing. If the ratio moved the *wrong* way, the unclipped term is the smaller one and the
# sample keeps pushing back. The code minimises a loss, −L^CLIP: `pe.losses.clipped_surrogate_loss`.
#
# ## 2. The six cases
#
# Three places for the ratio (below, inside, above [1−ε, 1+ε]) times two signs of Â. For each,
# `pe.losses.six_cases_table` evaluates the objective at a representative ratio and asks
# **autograd** for ∂/∂ρ:

# %%
# NBVAL_CHECK_OUTPUT
rows = pe.losses.six_cases_table(clip_eps=0.2, advantage=1.0)
print(f"{'case':>4}  {'A':>5}  {'where the ratio is':<20}{'ρ':>5}  {'objective':>9}  {'∂/∂ρ':>5}  gradient")
for r in rows:
    print(f"{r['case']:>4}  {r['A']:>+5.1f}  {r['where']:<20}{r['rho']:>5.2f}  {r['objective']:>9.2f}  "
          f"{'0' if r['clipped'] else format(r['grad'], '+.1f'):>5}  {'ZERO (clipped)' if r['clipped'] else 'flows'}")
assert [r["clipped"] for r in rows] == [False, False, True, True, False, False]

# %% [markdown]
# | case | Â | ratio | which term the min picks | gradient | in words |
# |---|---|---|---|---|---|
# | 1 | > 0 | ρ < 1−ε | ρÂ (unclipped) | Â | a good action became *less* likely: keep pushing it up |
# | 2 | > 0 | inside | both equal | Â | ordinary policy-gradient step |
# | 3 | > 0 | ρ > 1+ε | (1+ε)Â (clipped) | **0** | already made more likely enough: stop |
# | 4 | < 0 | ρ < 1−ε | (1−ε)Â (clipped) | **0** | already made less likely enough: stop |
# | 5 | < 0 | inside | both equal | Â | ordinary policy-gradient step |
# | 6 | < 0 | ρ > 1+ε | ρÂ (unclipped) | Â | a bad action became *more* likely: keep pushing it down |
#
# The source notes number the cases after Bick's table (①② inside, ③④ below, ⑤⑥ above);
# here they go by the sign of Â first. Their explanation of the zero gradient is right: the
# clipped term (1±ε)Â does not depend on θ.

# %%
pe.plots.six_clipping_cases(clip_eps=0.2)

# %% [markdown]
# Notice that the orange regions are exactly cases 3 and 4, and that the objective is
# continuous: at ρ = 1 ± ε the clipped and unclipped terms meet. The same check, done on a
# fine grid rather than at one point per case:

# %%
# NBVAL_CHECK_OUTPUT
eps = 0.2
rho = torch.linspace(0.05, 2.0, 3901, dtype=torch.float64, requires_grad=True)
for a in (1.0, -1.0):
    obj = pe.losses.clipped_surrogate(rho, torch.full_like(rho, a), eps)
    (grad,) = torch.autograd.grad(obj.sum(), rho)
    zero = grad == 0
    expected_zero = (rho > 1 + eps) if a > 0 else (rho < 1 - eps)
    assert torch.equal(zero, expected_zero.detach())
    assert torch.allclose(grad[~zero], torch.full_like(grad[~zero], a))
    print(f"A = {a:+.0f}: gradient is 0 on {int(zero.sum())} of {len(rho)} grid points, and exactly A elsewhere")

# %% [markdown]
# ### ε as a slider
#
# ε sets the width of the trust region. Move it and watch the flat, zero-gradient zones
# grow or shrink (the static figure above is ε = 0.2; the slider needs a live kernel).

# %% tags=["nbval-ignore-output"]
pe.interactive.slider(lambda eps: pe.plots.six_clipping_cases(clip_eps=eps), eps=(0.05, 0.5, 0.05, 0.2))

# %% [markdown]
# ### What the clip does not do
#
# A common reading is "PPO keeps the ratio in [1−ε, 1+ε]". It does not: the clip only removes
# the *incentive* from samples that are already past it. Other samples of the same batch still
# move the shared parameters, and they drag the clipped ones along. In the bandit of §3 below,
# after 20 epochs on a batch a sizeable fraction of the samples ends *outside* the clip range
# (`pe.losses.clip_fraction` counts the samples with |ρ − 1| > ε, whichever case they are in):

# %%
# NBVAL_CHECK_OUTPUT
means = pe.trust_region.bandit_means(5, seed=0)
histories = {m: pe.trust_region.policy_update_study(m, means) for m in pe.trust_region.METHODS}
frac = histories["clip"]["clip_fraction"]
print(f"clip fraction after the update: mean {float(frac.mean()):.2f}, max {float(frac.max()):.2f}")
assert float(frac.max()) > 0.1

# %% [markdown]
# ## 3. PPO-penalty: a soft constraint with an adaptive weight
#
# The same paper proposes a second variant: keep the unclipped surrogate but subtract a KL
# penalty,
#
# $$L^\text{KLPEN}(\theta) = \mathbb{E}_t\Big[\rho_t \hat A_t - \beta\, \mathrm{KL}\big(\pi_{\theta_\text{old}}(\cdot\mid s_t)\,\|\,\pi_\theta(\cdot\mid s_t)\big)\Big], \tag{5.3}$$
#
# and after every update adapt β towards a target divergence d_targ, with d the mean KL the
# update produced:
#
# $$\beta \leftarrow \begin{cases} 2\beta & d > 1.5\, d_\text{targ} \quad\text{(moved too far: penalise more)}\\ \beta/2 & d < d_\text{targ}/1.5 \quad\text{(barely moved: penalise less)} \\ \beta & \text{otherwise.}\end{cases} \tag{5.4}$$
#
# `pe.losses.kl_penalty_loss` is −(5.3), with the exact categorical KL from
# `pe.losses.categorical_kl`; `pe.losses.adaptive_beta` is (5.4). A check of both on numbers
# worked by hand:

# %%
# NBVAL_CHECK_OUTPUT
p, q = torch.tensor([0.5, 0.5]), torch.tensor([0.25, 0.75])
kl = float(pe.losses.categorical_kl(p.log(), q.log()))
by_hand = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
assert abs(kl - by_hand) < 1e-6
print(f"KL([½, ½] ‖ [¼, ¾]) = {kl:.4f} (by hand {by_hand:.4f})")
for d, by_hand in ((0.05, 2.0), (0.012, 1.0), (0.002, 0.5)):  # above 0.015, inside, below 0.0067
    assert pe.losses.adaptive_beta(1.0, d, kl_target=0.01) == by_hand
    print(f"d = {d}: β 1.0 → {pe.losses.adaptive_beta(1.0, d, kl_target=0.01)}")

# %% [markdown]
# ### Side by side on the same data
#
# A 5-armed bandit with mean rewards μ_a and noisy rewards (σ = 1) lets us measure what matters
# exactly: the expected reward J(θ) = Σ_a π_θ(a) μ_a and the KL of each update. Each iteration
# samples 64 actions from π_old, sets Â = r − J(θ_old), and takes 20 Adam steps on one loss:
# the unclipped surrogate, PPO-clip (ε = 0.2), or PPO-penalty (d_targ = 0.01). All three
# start from the same batch (`pe.trust_region.policy_update_study`).

# %%
pe.plots.clip_vs_penalty(histories, optimum=float(means.max()), kl_target=0.01)

# %% [markdown]
# The unclipped surrogate jumps: a median KL of 0.7 per update, and twice it throws away much of what it
# had gained (the dips) because 64 noisy rewards are not enough to trust that far. Clip and
# penalty move 10–100× less per update and climb steadily. Their numbers:

# %%
# NBVAL_CHECK_OUTPUT
for name, h in histories.items():
    kls = h["kl"]
    drops = int((h["J"][1:] < h["J"][:-1] - 0.05).sum())
    print(f"{name:>9}: median KL {float(kls.median()):.3f}, max KL {float(kls.max()):.3f}, "
          f"final J {float(h['J'][-1]):.3f}, drops of J by > 0.05: {drops}")
assert float(histories["surrogate"]["kl"].median()) > 10 * float(histories["clip"]["kl"].median())
assert float(histories["surrogate"]["kl"].median()) > 10 * float(histories["penalty"]["kl"].median())
assert int((histories["clip"]["J"][1:] < histories["clip"]["J"][:-1] - 0.05).sum()) == 0
betas = histories["penalty"]["beta"]
for b_now, b_next, d in zip(betas[:-1].tolist(), betas[1:].tolist(), histories["penalty"]["kl"][:-1].tolist(),
                             strict=True):
    assert b_next == pe.losses.adaptive_beta(b_now, d, 0.01)  # β followed rule (5.4)
print("β over the iterations:", [round(b, 3) for b in betas.tolist()])

# %% [markdown]
# PPO-penalty needs a KL per state (cheap for a categorical policy, an estimate otherwise) and a
# β that lags behind; the clip needs neither, which is why "PPO" usually means PPO-clip. The
# KL penalty returns in notebook 09, where it keeps a language model near its reference.
#
# ## 4. TRPO in one page
#
# Trust Region Policy Optimization (Schulman et al., 2015) states the goal as a constrained problem:
#
# $$\max_\theta\; \mathbb{E}_t\big[\rho_t(\theta)\, \hat A_t\big] \quad\text{subject to}\quad \mathbb{E}_t\big[\mathrm{KL}(\pi_{\theta_\text{old}}(\cdot\mid s_t)\,\|\,\pi_\theta(\cdot\mid s_t))\big] \le \delta. \tag{5.5}$$
#
# Near θ_old the objective is linear, L ≈ gᵀΔθ with g the policy gradient, and the KL is
# quadratic, KL ≈ ½ Δθᵀ F Δθ with F the Fisher information matrix. Maximising a linear function
# on an ellipsoid has a closed form, the **natural gradient** step:
#
# $$\Delta\theta = \sqrt{\frac{2\delta}{g^\top F^{-1} g}}\; F^{-1} g. \tag{5.6}$$
#
# TRPO computes F⁻¹g with conjugate gradients and then backtracks along Δθ until the true KL is
# below δ and L improved. PPO replaces all of this with a first-order loss (the clip) that an
# ordinary optimiser can take many minibatch steps on. For a softmax over logits, F = diag(π) − ππᵀ
# (singular along the all-ones direction, which does not change π; the pseudo-inverse handles it).
# One step on the bandit lands on the budget, as the quadratic model promises:

# %%
# NBVAL_CHECK_OUTPUT
theta = torch.zeros(5, dtype=torch.float64)
pi = torch.softmax(theta, -1)
g_vec = pi * (means - pi @ means)  # exact ∇J for softmax logits: π_a (μ_a − J)
F = torch.diag(pi) - torch.outer(pi, pi)
natural = torch.linalg.pinv(F) @ g_vec
for delta in (0.01, 0.001):
    step = math.sqrt(2 * delta / float(g_vec @ natural)) * natural
    kl_step = float(pe.losses.categorical_kl(theta, theta + step))
    gain = float(torch.softmax(theta + step, -1) @ means - pi @ means)
    assert abs(kl_step - delta) / delta < 0.1
    print(f"δ = {delta}: KL after the natural-gradient step = {kl_step:.5f}, gain in J = {gain:.4f}")

# %% [markdown]
# ## 5. Exercises
#
# **Exercise 5.1** The PPO-clip loss −(5.2). Arguments: `logp_new` (log π_θ of the taken actions,
# requires grad), `logp_old` (from the data), `advantages`, `clip_eps`; all 1-D of length B. The
# check compares the loss *and its gradients* with respect to `logp_new` and `logp_old`.

# %%
def clipped_loss(logp_new, logp_old, advantages, clip_eps):
    ### BEGIN SOLUTION
    ratio = torch.exp(logp_new - logp_old.detach())
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return -torch.minimum(ratio * advantages, clipped * advantages).mean()
    ### END SOLUTION


pe.exercises.clipped_loss.check(clipped_loss)

# %% [markdown] tags=["solution-demo"]
# Why the gradients? Forgetting to detach `logp_old` gives the *right value* and a wrong
# gradient. Wherever logp_old carries a graph (say it is recomputed with the network instead of
# stored from the rollout), gradient also flows through it; if it came from the current network,
# ∇ρ = ρ(∇log π_θ − ∇log π_old) = 0 and nothing learns. The checker sees it:

# %% tags=["solution-demo"]
def clipped_loss_not_detached(logp_new, logp_old, advantages, clip_eps):
    ratio = torch.exp(logp_new - logp_old)  # no .detach()
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return -torch.minimum(ratio * advantages, clipped * advantages).mean()


result = pe.exercises.clipped_loss.check(clipped_loss_not_detached)
assert result.mistake == "ratio_not_detached"
print(result)

# %% [markdown]
# **Exercise 5.2** The adaptive-β rule (5.4): given `beta`, the measured `kl` and `kl_target`,
# return the next β.

# %%
def adaptive_beta(beta, kl, kl_target):
    ### BEGIN SOLUTION
    if kl > 1.5 * kl_target:
        return beta * 2
    if kl < kl_target / 1.5:
        return beta / 2
    return beta
    ### END SOLUTION


pe.exercises.adaptive_beta.check(adaptive_beta)

# %% [markdown]
# Stuck? Each call of `.hint()` shows the next hint of an exercise:

# %%
pe.exercises.clipped_loss.hint()

# %% [markdown]
# ## Recap
#
# * The ratio (5.1) re-weights old data; at θ = θ_old the surrogate's gradient is the policy gradient.
# * PPO-clip (5.2) takes the min of the unclipped and clipped terms. In cases 3 and 4 (the ratio
#   moved past the clip in the direction Â wants) the gradient is exactly zero; in the other four
#   it is Â·∇ρ.
# * The clip removes incentives; it does not bound the ratio.
# * PPO-penalty (5.3) subtracts β·KL and adapts β by (5.4); TRPO (5.5) enforces the KL bound
#   with a natural-gradient step (5.6) and a line search. On the bandit, clip and penalty
#   move 10–100× less per update than the raw surrogate and climb without its collapses.
#
# Next: **06 · TD and MC**, the two ways to learn the critic V whose advantages Â we have been
# taking as given.
