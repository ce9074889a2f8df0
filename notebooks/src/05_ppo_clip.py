# %% [markdown]
# # 05 · PPO-clip
#
# Notebook 04 ended with the surrogate objective: data collected by an old policy
# $\pi_\text{old}$ can score a new policy $\pi_\theta$ through the probability ratio. Maximising
# that surrogate for many gradient steps on one batch is tempting and dangerous: nothing stops
# $\pi_\theta$ from running far from $\pi_\text{old}$, where the surrogate no longer tells the truth
# (04 showed it over-promising). PPO's answer is a clip.
#
# **You will learn**
# 1. the ratio $\rho$ and the clipped objective $L^\text{CLIP}$, and why it takes a *min*
#    (the clip alone would be wrong);
# 2. the **six clipping cases** (ratio below / inside / above $[1-\epsilon, 1+\epsilon]$, for
#    $\hat A > 0$ and $\hat A < 0$): where the objective is flat and autograd's gradient is exactly zero;
# 3. PPO-penalty, a KL penalty whose weight $\beta$ adapts, run side by side with the clip, the
#    unclipped surrogate and one-epoch vanilla PG, on one bandit and on 200;
# 4. what the clip does *not* do: it does not keep the ratio inside $[1-\epsilon, 1+\epsilon]$
#    (Adam's momentum carries it past);
# 5. TRPO's constraint in one page, and a natural-gradient step that lands on the KL budget.

# %%
import math

import numpy as np
import torch

import ppo_edu as pe

# %% [markdown]
# ## 1. From the surrogate to the clip
#
# With $\pi_\text{old}$ the policy that collected the data, the **probability ratio** of a sample is
#
# $$\rho_t(\theta) = \frac{\pi_\theta(a_t \mid s_t)}{\pi_{\theta_\text{old}}(a_t \mid s_t)} = \exp\big(\log \pi_\theta(a_t\mid s_t) - \log \pi_{\theta_\text{old}}(a_t\mid s_t)\big). \tag{5.1}$$
#
# (The source notes and the PPO paper write the ratio $r_t(\theta)$; here it is $\rho_t$, since
# $r_t$ is the reward.) Following the PPO paper, $\mathbb{E}_t[\cdot]$ is the **empirical average
# over the batch**: $\mathbb{E}_t[x_t] = \frac1B\sum_{t} x_t$ over the $B = T\cdot N$ collected steps.
# The surrogate of notebook 04 is $L(\theta) = \mathbb{E}_t[\rho_t \hat A_t]$. At
# $\theta = \theta_\text{old}$ every $\rho_t = 1$ and $\nabla\rho_t = \nabla\log\pi_\theta(a_t|s_t)$, so its
# gradient *is* the policy gradient $\mathbb{E}_t[\nabla\log\pi_\theta(a_t|s_t)\, \hat A_t]$. That is why
# $\rho_t$ may take the place of $\log\pi_\theta$ in the objective (a question the source notes leave
# open). Autograd agrees:

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
# Away from $\theta_\text{old}$ the surrogate is only an approximation (notebook 04 measured how it
# drifts). PPO-clip (Schulman et al., 2017) maximises
#
# $$L^\text{CLIP}(\theta) = \mathbb{E}_t\Big[\min\big(\rho_t \hat A_t,\; \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\, \hat A_t\big)\Big]. \tag{5.2}$$
#
# Read the min as a *pessimistic* bound: of the unclipped and the clipped term, believe the
# less flattering one. Once the ratio has moved past the clip **in the direction the advantage
# wants**, the min picks the clipped term, which is constant in $\theta$, and that sample stops
# pushing. If the ratio moved the *wrong* way, the unclipped term is the smaller one and the
# sample keeps pushing back. The code minimises a loss, $-L^\text{CLIP}$: `pe.losses.clipped_surrogate_loss`.
#
# ## 2. The six cases
#
# Three places for the ratio (below, inside, above $[1-\epsilon, 1+\epsilon]$) times two signs of
# $\hat A$. For each, `pe.losses.six_cases_table` evaluates the objective at a representative ratio
# and asks **autograd** for $\partial/\partial\rho$:

# %%
# NBVAL_CHECK_OUTPUT
rows = pe.losses.six_cases_table(clip_eps=0.2, advantage=1.0)
print(f"{'case':>4}  {'A':>5}  {'where the ratio is':<20}{'ρ':>5}  {'objective':>9}  {'∂/∂ρ':>5}  gradient")
for r in rows:
    print(f"{r['case']:>4}  {r['A']:>+5.1f}  {r['where']:<20}{r['rho']:>5.2f}  {r['objective']:>9.2f}  "
          f"{'0' if r['clipped'] else format(r['grad'], '+.1f'):>5}  {'ZERO (clipped)' if r['clipped'] else 'flows'}")
assert [r["clipped"] for r in rows] == [False, False, True, True, False, False]

# %% [markdown]
# | case | $\hat A$ | ratio | which term the min picks | gradient | in words |
# |---|---|---|---|---|---|
# | 1 | > 0 | $\rho < 1-\epsilon$ | $\rho\hat A$ (unclipped) | $\hat A$ | a good action became *less* likely: keep pushing it up |
# | 2 | > 0 | inside | both equal | $\hat A$ | ordinary policy-gradient step |
# | 3 | > 0 | $\rho > 1+\epsilon$ | $(1+\epsilon)\hat A$ (clipped) | **0** | already made more likely enough: stop |
# | 4 | < 0 | $\rho < 1-\epsilon$ | $(1-\epsilon)\hat A$ (clipped) | **0** | already made less likely enough: stop |
# | 5 | < 0 | inside | both equal | $\hat A$ | ordinary policy-gradient step |
# | 6 | < 0 | $\rho > 1+\epsilon$ | $\rho\hat A$ (unclipped) | $\hat A$ | a bad action became *more* likely: keep pushing it down |
#
# The source notes number the cases after Bick's table (①② inside, ③④ below, ⑤⑥ above);
# here they go by the sign of $\hat A$ first. Their explanation of the zero gradient is right: the
# clipped term $(1\pm\epsilon)\hat A$ does not depend on $\theta$.

# %%
pe.plots.six_clipping_cases(clip_eps=0.2)

# %% [markdown]
# Notice that the orange regions are exactly cases 3 and 4, and that the objective is
# continuous: at $\rho = 1 \pm \epsilon$ the clipped and unclipped terms meet. The same check, done
# on a fine grid rather than at one point per case:

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
# ### Why the min, and not the clip alone
#
# Why not simply maximise $\mathbb{E}_t[\operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\hat A_t]$? The
# clipped term is constant in $\theta$ whenever $\rho$ is outside the range, *whichever way it left*.
# So the clip alone also switches off cases 1 and 6, where the ratio has moved the wrong way (a
# good action became less likely, a bad one more likely) and the sample must keep pushing back.
# The min keeps the unclipped term there. Autograd on the six cases:

# %%
# NBVAL_CHECK_OUTPUT
rho6 = torch.tensor([0.6, 1.0, 1.4, 0.6, 1.0, 1.4], dtype=torch.float64, requires_grad=True)
adv6 = torch.tensor([1.0, 1.0, 1.0, -1.0, -1.0, -1.0], dtype=torch.float64)
(g_min,) = torch.autograd.grad(pe.losses.clipped_surrogate(rho6, adv6, 0.2).sum(), rho6)
(g_clip,) = torch.autograd.grad((torch.clamp(rho6, 0.8, 1.2) * adv6).sum(), rho6)
print("case:                     ", [1, 2, 3, 4, 5, 6])
print("∂/∂ρ of min(ρÂ, clip(ρ)Â):", [round(x, 1) + 0.0 for x in g_min.tolist()])
print("∂/∂ρ of clip(ρ)Â alone:    ", [round(x, 1) + 0.0 for x in g_clip.tolist()])
assert (g_min == 0).tolist() == [False, False, True, True, False, False]
assert (g_clip == 0).tolist() == [True, False, True, True, False, True]  # cases 1 and 6 lost too

# %% [markdown]
# ### $\epsilon$ as a slider
#
# $\epsilon$ sets where a sample's incentive stops: how far its ratio may move in the direction
# $\hat A$ wants before its gradient is switched off. It is *not* a hard bound on the ratio (§3
# shows ratios well outside the range). Move it and watch the flat, zero-gradient zones grow or
# shrink (the static figure above is $\epsilon = 0.2$; the slider needs a live kernel).

# %% tags=["nbval-ignore-output"]
pe.interactive.slider(lambda eps: pe.plots.six_clipping_cases(clip_eps=eps), eps=(0.05, 0.5, 0.05, 0.2))

# %% [markdown]
# ## 3. PPO-penalty: a soft constraint with an adaptive weight
#
# The same paper proposes a second variant: keep the unclipped surrogate but subtract a KL
# penalty,
#
# $$L^\text{KLPEN}(\theta) = \mathbb{E}_t\Big[\rho_t \hat A_t - \beta\, \mathrm{KL}\big(\pi_{\theta_\text{old}}(\cdot\mid s_t)\,\|\,\pi_\theta(\cdot\mid s_t)\big)\Big], \tag{5.3}$$
#
# and after every update adapt $\beta$ towards a target divergence $d_\text{targ}$, with $d$ the mean
# KL the update produced:
#
# $$\beta \leftarrow \begin{cases} 2\beta & d > 1.5\, d_\text{targ} \quad\text{(moved too far: penalise more)}\\ \beta/2 & d < d_\text{targ}/1.5 \quad\text{(barely moved: penalise less)} \\ \beta & \text{otherwise.}\end{cases} \tag{5.4}$$
#
# The KL here is old ‖ new, $\mathrm{KL}(\pi_\text{old}\|\pi_\theta)$: an expectation under the policy that
# collected the batch (notebook 04, §2b, on the two directions). `pe.losses.kl_penalty_loss` is
# −(5.3), with the exact categorical KL from `pe.losses.categorical_kl`; `pe.losses.adaptive_beta`
# is (5.4). A check of both on numbers worked by hand:

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
# A 5-armed bandit with mean rewards $\mu_a$ and noisy rewards ($\sigma = 1$) lets us measure what
# matters exactly: the expected reward $J(\theta) = \sum_a \pi_\theta(a)\mu_a$ and the KL of each
# update. Each iteration samples 64 actions from $\pi_\text{old}$, sets $\hat A = r - J(\theta_\text{old})$,
# and takes 20 Adam steps on one loss: the unclipped surrogate, PPO-clip ($\epsilon = 0.2$), or
# PPO-penalty ($d_\text{targ} = 0.01$). A fourth method is the baseline that reuses nothing:
# **vanilla PG**, one Adam step per batch (one epoch of the surrogate, whose gradient at
# $\theta_\text{old}$ is the policy gradient). All start from the same batch
# (`pe.trust_region.policy_update_study`). First one bandit:

# %%
means = pe.trust_region.bandit_means(5, seed=0)
histories = {m: pe.trust_region.policy_update_study(m, means) for m in pe.trust_region.METHODS}
pe.plots.clip_vs_penalty(histories, optimum=float(means.max()), kl_target=0.01)

# %% [markdown]
# The unclipped surrogate jumps: a median KL of 0.7 per update, and twice it throws away much of
# what it had gained (the dips), because 64 noisy rewards are not enough to trust that far. Clip
# and penalty move far less per update (the ratios are printed below) and climb steadily. Yet on
# *this* bandit the unclipped surrogate ends highest. One bandit is one sample: the numbers,
# then 200 bandits.

# %%
# NBVAL_CHECK_OUTPUT
for name, h in histories.items():
    kls = h["kl"]
    drops = int((h["J"][1:] < h["J"][:-1] - 0.05).sum())
    print(f"{name:>9}: median KL {float(kls.median()):.3f}, max KL {float(kls.max()):.3f}, "
          f"final J {float(h['J'][-1]):.3f}, drops of J by > 0.05: {drops}")
median_kl = {m: float(h["kl"].median()) for m, h in histories.items()}
print(f"median KL of the surrogate / clip = {median_kl['surrogate'] / median_kl['clip']:.0f}×, "
      f"/ penalty = {median_kl['surrogate'] / median_kl['penalty']:.0f}×")
assert median_kl["surrogate"] > 20 * median_kl["clip"] and median_kl["surrogate"] > 20 * median_kl["penalty"]
assert int((histories["clip"]["J"][1:] < histories["clip"]["J"][:-1] - 0.05).sum()) == 0
assert int((histories["surrogate"]["J"][1:] < histories["surrogate"]["J"][:-1] - 0.05).sum()) == 2
assert float(histories["surrogate"]["J"][-1]) > float(histories["clip"]["J"][-1])  # one bandit: surrogate ends higher
betas = histories["penalty"]["beta"]
for b_now, b_next, d in zip(betas[:-1].tolist(), betas[1:].tolist(), histories["penalty"]["kl"][:-1].tolist(),
                             strict=True):
    assert b_next == pe.losses.adaptive_beta(b_now, d, 0.01)  # β followed rule (5.4)
print("β over the iterations:", [round(b, 3) for b in betas.tolist()])

# %% [markdown]
# ### 200 bandits
#
# `pe.trust_region.bandit_study` runs every method on 200 random 5-armed bandits (bandit $k$ has
# `bandit_means(5, seed=k)`), each with its own batches. Progress is the fraction of the possible
# improvement reached, $(J_t - J_0)/(\max_a\mu_a - J_0)$; a *drop* is an update that lowered $J$ by
# more than 0.05. Means with 95 % intervals over the bandits:

# %%
study = pe.trust_region.bandit_study(n_bandits=200)
pe.plots.bandit_study(study)

# %%
# NBVAL_CHECK_OUTPUT
summary = {}
for name, h in study.items():
    gain, drops, n = h["gain"], h["drops"].double(), len(h["drops"])
    share = float((drops > 0).double().mean())
    summary[name] = {"after 1": float(gain[:, 1].mean()), "after 15": float(gain[:, -1].mean()), "share": share,
                     "ci": 1.96 * float(gain[:, -1].std()) / n**0.5, "ci_share": 1.96 * (share * (1 - share) / n) ** 0.5,
                     "worst": float((h["J"][:, 1:] - h["J"][:, :-1]).min())}
    s_ = summary[name]
    print(f"{name:>9}: progress after 1 update {s_['after 1']:.2f}, after 15 {s_['after 15']:.2f} ± {s_['ci']:.2f};"
          f"  bandits with a drop {s_['share']:.2f} ± {s_['ci_share']:.2f};  worst single update {s_['worst']:+.2f}")
sur, clip, pen, pg = (summary[m] for m in ("surrogate", "clip", "penalty", "pg"))
assert sur["after 1"] > 3 * clip["after 1"]  # the unclipped surrogate is the fastest starter
assert sur["share"] - sur["ci_share"] > 2 * (clip["share"] + clip["ci_share"])  # ... and drops far more often
assert pen["share"] < clip["share"] < sur["share"] and pg["share"] == 0.0
for m in (clip, sur, pen):  # at the same learning rate, reusing a batch 20× beats one PG step per batch
    assert m["after 15"] - m["ci"] > pg["after 15"] + pg["ci"]
assert sur["worst"] < 2 * clip["worst"]  # the surrogate's worst collapse is much deeper
paired = study["clip"]["gain"][:, -1] - study["surrogate"]["gain"][:, -1]  # same bandits, so compare pairwise
diff, diff_ci = float(paired.mean()), 1.96 * float(paired.std()) / len(paired) ** 0.5
below_half = {m: float((h["gain"][:, -1] < 0.5).double().mean()) for m, h in study.items()}
print(f"final progress, clip − surrogate (paired): {diff:+.2f} ± {diff_ci:.2f};  ending below half of the possible "
      f"gain: " + ", ".join(f"{m} {v:.2f}" for m, v in below_half.items()))
assert 0 < diff - diff_ci and diff < 0.1  # the clip ends a little higher, not by much
assert below_half["surrogate"] > 3 * below_half["clip"]

# %% [markdown]
# What the numbers say. At the same learning rate (0.1), reusing each batch for 20 epochs, by any
# of the three losses, gains far more per batch than one vanilla PG step: after 15 batches 0.84 of
# the possible improvement for the clip, 0.78 for the surrogate and 0.74 for the penalty, against
# 0.57 (a fresh Adam's first step moves each logit by about the learning rate, whatever the
# gradient's size: one PG step per batch is a small fixed step; the cell after this paragraph
# gives it larger ones). The unclipped surrogate is by far the **fastest** (0.61 after a single
# update, five times the clip's 0.12) and ends only a little below the clip (paired difference
# 0.05 ± 0.04); what it lacks is **reliability**: three bandits in four see at least one drop
# (up to −0.49 in one update), against one in four for the clip and one in six for the penalty,
# and it ends below half of the possible gain four times as often as the clip. So on a bandit
# the clip buys reliability, not speed. On a bandit every drop can be climbed back from in a few batches;
# in deep RL it often cannot. The PPO paper's Table 1 (seven MuJoCo tasks, scores normalised so
# that a random policy is 0 and the best setting 1) gives the surrogate without clipping or
# penalty **−0.39**: worse than not learning at all, against 0.82 for the clip with $\epsilon = 0.2$.

# %%
# NBVAL_CHECK_OUTPUT
pg_lr = {lr: pe.trust_region.bandit_study(n_bandits=200, methods=("pg",), lr=lr)["pg"] for lr in (0.3, 1.0)}
for lr, h in pg_lr.items():
    share = float((h["drops"] > 0).double().mean())
    print(f"one PG step per batch, lr {lr}: progress after 15 updates {float(h['gain'][:, -1].mean()):.2f}; "
          f"bandits with a drop {share:.2f}")
assert abs(float(pg_lr[0.3]["gain"][:, -1].mean()) - clip["after 15"]) < 0.06  # a 3× step: about the clip's progress
assert float((pg_lr[0.3]["drops"] > 0).double().mean()) < 0.05
assert float((pg_lr[1.0]["drops"] > 0).double().mean()) > 0.4  # 10×: the surrogate's trade again

# %% [markdown]
# So on this bandit one plain step per batch, given the right size (lr 0.3), does about as well
# as the clip's 20 epochs, and a larger one (lr 1.0) is faster and drops on half the bandits: the
# size of a step is the whole question, and PPO's answer is to take many small ones with a brake
# on how far the ratio may be pushed, rather than to tune one large step per batch.
#
# ### The PPO paper's Fig. 2: the objectives along one update
#
# Take the first batch of the bandit above and the logits $\theta_\text{clip}$ after PPO-clip's 20
# epochs on it, and walk the line $\theta = \theta_\text{old} + \alpha(\theta_\text{clip} - \theta_\text{old})$
# (`pe.trust_region.update_line`). Beside $L = \mathbb{E}_t[\rho_t\hat A_t]$ and $L^\text{CLIP}$ we draw
# the penalised $L - \beta\,\mathrm{KL}$ ($\beta = 1$) and the clip alone:

# %%
line_alphas = torch.linspace(0.0, 3.0, 61, dtype=torch.float64)
line = pe.trust_region.update_line(means, line_alphas, beta=1.0)
curves = {"L = E_t[ρÂ]": line["L"], "E_t[clip(ρ)Â] alone": line["clip_only"], "L − β·KL (β = 1)": line["L_pen"],
          "L^CLIP = E_t[min(ρÂ, clip(ρ)Â)]": line["L_clip"]}
pe.plots.surrogates_along_line(line_alphas, curves, line["kl"])

# %%
# NBVAL_CHECK_OUTPUT
at = {a: int((line_alphas - a).abs().argmin()) for a in (0.25, 1.0, 3.0)}
peak = float(line_alphas[line["L_clip"].argmax()])
print(f"L^CLIP peaks at α = {peak:.2f}, where KL = {float(line['kl'][line['L_clip'].argmax()]):.3f}")
for a, i in at.items():
    print(f"α = {a}: L {float(line['L'][i]):.3f}, L^CLIP {float(line['L_clip'][i]):.3f}, "
          f"L − KL {float(line['L_pen'][i]):.3f}, KL {float(line['kl'][i]):.3f}, true gain {float(line['gain'][i]):.3f}")
assert bool((line["L_clip"] <= line["L"] + 1e-12).all())  # a pessimistic (lower) bound on L
assert abs(float(line["L_clip"][at[0.25]] - line["L"][at[0.25]])) < 0.01  # ... that is tight near θ_old
assert 0.75 <= peak <= 1.25 and float(line["L"][-1]) > float(line["L"][at[1.0]])  # L^CLIP peaks, L keeps rising
assert float(line["L_pen"][-1]) < float(line["L_pen"].max()) - 0.05  # the penalty also turns down
assert 0.5 <= float(line_alphas[line["L_pen"].argmax()]) <= 1.25  # ... near the same step
assert bool((line["clip_only"][1:] >= line["clip_only"][:-1] - 1e-12).all())  # the clip alone never turns down

# %% [markdown]
# As in the paper's figure, $L^\text{CLIP}$ is a lower bound on $L$ that agrees with it near
# $\theta_\text{old}$ and has a maximum at a finite step (here where the clip update landed, at a
# KL of about 0.03), while $L$ keeps rising. The penalised objective turns down too, near the same
# step, and then falls faster as the KL grows. The clip alone flattens out but never turns down:
# it has no reason to stop a step that goes too far. (On this batch the true gain in J still rises
# to the end of the line, so a longer step would not have hurt here: the bound is on the surrogate
# L, which over-promises far from θ_old, not a guarantee about J.)
#
# PPO-penalty needs a KL per state and a $\beta$ that lags behind. The KL is in closed form for
# the usual policies: for a categorical policy it is a sum over the actions, and for the Gaussian
# policies of continuous control too, per dimension
# $\mathrm{KL}(\mathcal N(m_1, s_1^2)\|\mathcal N(m_2, s_2^2)) = \log\frac{s_2}{s_1} + \frac{s_1^2 + (m_1 - m_2)^2}{2 s_2^2} - \frac12$:

# %%
# NBVAL_CHECK_OUTPUT
m1, s1, m2, s2 = 0.3, 0.5, -0.1, 0.8
closed_form = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
by_torch = float(torch.distributions.kl_divergence(torch.distributions.Normal(m1, s1), torch.distributions.Normal(m2, s2)))
assert abs(closed_form - by_torch) < 1e-6
print(f"KL(N(0.3, 0.5²) ‖ N(−0.1, 0.8²)) = {closed_form:.4f} (closed form), {by_torch:.4f} (torch.distributions)")

# %% [markdown]
# An estimate such as $\mathbb{E}_t[-\log\rho_t]$ is needed only when no closed form exists (the KL
# of a whole sequence under a language model, notebook 09). The clip needs neither a KL nor a
# $\beta$, which is why "PPO" usually means PPO-clip. The KL penalty returns in notebook 09, where
# it keeps a language model near its reference.
#
# ### What the clip does not do
#
# A common reading is "PPO keeps the ratio in $[1-\epsilon, 1+\epsilon]$". It does not: the clip only
# removes the *incentive* from samples that are already past it. Other samples of the same batch
# still move the shared parameters, and they drag the clipped ones along. In the bandit above,
# after 20 epochs on a batch a sizeable fraction of the samples ends *outside* the clip range
# (`pe.losses.clip_fraction` counts the samples with $|\rho - 1| > \epsilon$, whichever case they are in):

# %%
# NBVAL_CHECK_OUTPUT
frac = histories["clip"]["clip_fraction"]
print(f"clip fraction after the update: mean {float(frac.mean()):.2f}, max {float(frac.max()):.2f}")
assert float(frac.max()) > 0.1

# %% [markdown]
# A second reason is the optimiser. A zero gradient stops plain gradient descent, but **Adam's
# momentum** keeps moving the parameters for a while after the gradient has vanished. One sample
# with $\hat A = +1$, 30 steps of learning rate 0.1 on its clipped loss:

# %%
# NBVAL_CHECK_OUTPUT
final_ratio = {}
for name in ("SGD", "Adam"):
    z = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([z], lr=0.1) if name == "SGD" else torch.optim.Adam([z], lr=0.1)
    logp0 = torch.log_softmax(z.detach(), -1)[:1]
    for _ in range(30):
        loss = pe.losses.clipped_surrogate_loss(torch.log_softmax(z, -1)[:1], logp0, torch.ones(1, dtype=torch.float64))
        opt.zero_grad()
        loss.backward()
        opt.step()
    final_ratio[name] = float(torch.exp(torch.log_softmax(z.detach(), -1)[0] - logp0[0]))
    print(f"{name:>4}: ratio after 30 steps {final_ratio[name]:.2f}  (clip range ends at 1.2)")
assert 1.2 < final_ratio["SGD"] < 1.25 and final_ratio["Adam"] > 1.8

# %% [markdown]
# SGD stops one step past $1+\epsilon$; Adam carries the ratio to more than 1.8. This is why
# implementations watch the KL as well: **KL early stopping** (Spinning Up's `target_kl`,
# Stable-Baselines3's `target_kl`, both against 1.5 × `target_kl`) ends the epochs on a batch once the approximate KL of the
# update exceeds a threshold, a hard stop that the clip does not provide.
#
# ## 4. TRPO in one page
#
# Trust Region Policy Optimization (Schulman et al., 2015) states the goal as a constrained problem:
#
# $$\max_\theta\; \mathbb{E}_t\big[\rho_t(\theta)\, \hat A_t\big] \quad\text{subject to}\quad \mathbb{E}_t\big[\mathrm{KL}(\pi_{\theta_\text{old}}(\cdot\mid s_t)\,\|\,\pi_\theta(\cdot\mid s_t))\big] \le \kappa. \tag{5.5}$$
#
# ($\kappa$ is the KL budget; notebook 04's bound (4.9) is where this shape comes from.) Near
# $\theta_\text{old}$ the objective is linear, $L \approx g^\top\Delta\theta$ with $g$ the policy gradient,
# and the KL is quadratic, $\mathrm{KL} \approx \tfrac12\Delta\theta^\top F\Delta\theta$ with $F$ the Fisher
# information matrix. Maximising a linear function on an ellipsoid has a closed form, the
# **natural gradient** step:
#
# $$\Delta\theta = \sqrt{\frac{2\kappa}{g^\top F^{-1} g}}\; F^{-1} g. \tag{5.6}$$
#
# TRPO computes $F^{-1}g$ with conjugate gradients and then backtracks along $\Delta\theta$ until the
# true KL is below $\kappa$ and $L$ improved. PPO replaces all of this with a first-order loss (the
# clip) that an ordinary optimiser can take many minibatch steps on. For a softmax over logits,
# $F = \operatorname{diag}(\pi) - \pi\pi^\top$ (singular along the all-ones direction, which does not
# change $\pi$; the pseudo-inverse handles it). One step on the bandit lands on the budget, as the
# quadratic model promises:

# %%
# NBVAL_CHECK_OUTPUT
theta = torch.zeros(5, dtype=torch.float64)
pi = torch.softmax(theta, -1)
g_vec = pi * (means - pi @ means)  # exact ∇J for softmax logits: π_a (μ_a − J)
F = torch.diag(pi) - torch.outer(pi, pi)
natural = torch.linalg.pinv(F) @ g_vec
for kappa in (0.01, 0.001):
    step = math.sqrt(2 * kappa / float(g_vec @ natural)) * natural
    kl_step = float(pe.losses.categorical_kl(theta, theta + step))
    gain = float(torch.softmax(theta + step, -1) @ means - pi @ means)
    assert abs(kl_step - kappa) / kappa < 0.1
    print(f"κ = {kappa}: KL after the natural-gradient step = {kl_step:.5f}, gain in J = {gain:.4f}")

# %% [markdown]
# ## 5. Exercises
#
# **Exercise 5.1** The PPO-clip loss −(5.2). Arguments: `logp_new` ($\log\pi_\theta$ of the taken
# actions, requires grad), `logp_old` (from the data), `advantages`, `clip_eps`; all 1-D of length
# $B$. The check compares the loss *and its gradients* with respect to `logp_new` and `logp_old`.

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
# gradient. Wherever `logp_old` carries a graph (say it is recomputed with the network instead of
# stored from the rollout), gradient also flows through it; if it came from the current network,
# $\nabla\rho = \rho(\nabla\log\pi_\theta - \nabla\log\pi_\text{old}) = 0$ and nothing learns. The checker sees it:

# %% tags=["solution-demo"]
def clipped_loss_not_detached(logp_new, logp_old, advantages, clip_eps):
    ratio = torch.exp(logp_new - logp_old)  # no .detach()
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return -torch.minimum(ratio * advantages, clipped * advantages).mean()


result = pe.exercises.clipped_loss.check(clipped_loss_not_detached)
assert result.mistake == "ratio_not_detached"
print(result)

# %% [markdown] tags=["solution-demo"]
# And the clip without the min, from §2:

# %% tags=["solution-demo"]
def clipped_loss_clip_only(logp_new, logp_old, advantages, clip_eps):
    ratio = torch.exp(logp_new - logp_old.detach())
    return -(torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages).mean()


result = pe.exercises.clipped_loss.check(clipped_loss_clip_only)
assert result.mistake == "clip_only"
print(result)

# %% [markdown]
# **Exercise 5.2** The adaptive-$\beta$ rule (5.4): given `beta`, the measured `kl` and `kl_target`,
# return the next $\beta$.

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
# **Exercise 5.3 (derive, then predict).** Without autograd: what is the gradient of one sample's
# objective $\min(\rho\hat A, \operatorname{clip}(\rho, 1-\epsilon, 1+\epsilon)\hat A)$ with respect to
# $\log\pi_\theta(a_t|s_t)$, the quantity the network actually moves? *Predict first*, for
# $\epsilon = 0.2$: $\rho = 0.5$ with $\hat A = +1$; $\rho = 1.5$ with $\hat A = +1$; $\rho = 1.5$ with
# $\hat A = -2$. Then write `clip_gradient(ratio, advantages, clip_eps)`, one value per sample
# (remember $\partial\rho/\partial\log\pi_\theta = \rho$).

# %%
def clip_gradient(ratio, advantages, clip_eps):
    ### BEGIN SOLUTION
    stopped = ((advantages > 0) & (ratio > 1 + clip_eps)) | ((advantages < 0) & (ratio < 1 - clip_eps))
    return torch.where(stopped, torch.zeros_like(ratio), ratio * advantages)
    ### END SOLUTION


pe.exercises.clip_gradient.check(clip_gradient)

# %% [markdown]
# The predictions, and autograd's verdict on the package's closed form:

# %%
# NBVAL_CHECK_OUTPUT
ratio3, adv3 = torch.tensor([0.5, 1.5, 1.5], dtype=torch.float64), torch.tensor([1.0, 1.0, -2.0], dtype=torch.float64)
logp3 = ratio3.log().requires_grad_(True)
(auto,) = torch.autograd.grad(pe.losses.clipped_surrogate(logp3.exp(), adv3, 0.2).sum(), logp3)
closed = pe.losses.clipped_surrogate_grad(ratio3, adv3, 0.2)
assert torch.allclose(auto, closed, atol=1e-12)
print("∂/∂log π for (ρ, Â) = (0.5, +1), (1.5, +1), (1.5, −2):", [round(x, 2) + 0.0 for x in closed.tolist()])

# %% [markdown]
# Stuck? Each call of `.hint()` shows the next hint of an exercise:

# %%
pe.exercises.clipped_loss.hint()

# %% [markdown]
# ## Recap
#
# * The ratio (5.1) re-weights old data; at $\theta = \theta_\text{old}$ the surrogate's gradient is the
#   policy gradient. $\mathbb{E}_t$ is the average over the batch.
# * PPO-clip (5.2) takes the min of the unclipped and clipped terms. In cases 3 and 4 (the ratio
#   moved past the clip in the direction $\hat A$ wants) the gradient is exactly zero; in the other
#   four it is $\hat A\,\nabla\rho$. The clip alone would also switch off cases 1 and 6.
# * PPO-penalty (5.3) subtracts $\beta\,\mathrm{KL}$ and adapts $\beta$ by (5.4). On one bandit clip and
#   penalty moved 25× and 54× less per update than the raw surrogate. Over 200 bandits the raw
#   surrogate was the fastest and ended only a little below the clip, but dropped (J falling by more
#   than 0.05 in one update) at least once in three runs of four (clip: one in four, penalty: one in
#   six). One PG step per batch was reliable and slow at the same learning rate; with a 3× larger one
#   it matched the clip, and with 10× it was faster but dropped on half the bandits.
#   The clip buys reliability, not speed (in the PPO paper, no clip and no penalty scored −0.39).
# * $L^\text{CLIP}$ is a pessimistic lower bound on $L$ along the update, with a maximum at a
#   finite step (the PPO paper's Fig. 2).
# * The clip removes incentives; it does not bound the ratio (other samples and Adam's momentum
#   carry it past), hence KL early stopping in practice.
# * TRPO (5.5) enforces a KL budget $\kappa$ with a natural-gradient step (5.6) and a line search.
#
# Next: **06 · TD and MC**, the two ways to learn the critic $V$ whose advantages $\hat A$ we have been
# taking as given.
