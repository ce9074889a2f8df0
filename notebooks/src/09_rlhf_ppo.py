# %% [markdown]
# # 09 · PPO for language models (RLHF)
#
# A language model is a policy: it reads a prefix and picks the next token. RLHF fine-tunes it
# with PPO against a **reward model** trained on human preferences, while a **KL penalty**
# keeps it close to the model it started from. This notebook builds that reward the way TRL's
# `PPOTrainer` does, and trains a tiny model with it on the CPU in seconds.
#
# **You will learn**
# 1. how generation is an episode: states, actions and rewards over tokens;
# 2. the per-token RLHF reward: −β·KL on every token, the reward-model score on the last real
#    token, nothing on padding, and why its sum is the KL-regularised objective;
# 3. four per-token KL estimators (k1, |k1|, ½k1², k3): which are unbiased, which never negative;
# 4. the best policy for a given β in closed form, and how a fixed or an adaptive β is set;
# 5. a full toy RLHF run: the score rises while the KL stays bounded, and with β = 0 the
#    policy *hacks* the reward model: its score goes up, the preference it stands for goes down.

# %%
import numpy as np
import torch

import ppo_edu as pe

torch.set_num_threads(1)  # small models: one thread is fastest and keeps runs reproducible

# %% [markdown]
# ## 1. Generation as an episode
#
# | RL | language model |
# |---|---|
# | state s_t | the prompt and the tokens so far, y_<t |
# | action a_t | the next token y_t, drawn from π_θ(· \| y_<t) |
# | transition | deterministic: append y_t to the prefix |
# | episode end | the end-of-sequence token, or the length limit |
# | reward | from the reward model, once, for the finished sequence (plus the KL penalty below) |
#
# Both ends are true ends of the episode: the reward model scores the string as it stands and
# nothing follows, so no value is bootstrapped after the last token. (CartPole's 500-step limit in
# notebook 10 is different: a *truncation* of a task that could go on.)
#
# Sequences in a batch have different lengths, so they are **padded** to a common length T and
# carried with a **mask**: 1 on real tokens (the end-of-sequence token included), 0 on padding.
# Language-model tensors are batch-major, (B, T), one row per sequence.
#
# ## 2. The toy task
#
# Everything a real RLHF run has, small enough to enumerate:
#
# * a **language**: strings of the letters `a b c d e` ended by `.`, at most 6 tokens, from a
#   hand-written Markov chain in which `a` is uncommon and immediate repeats (`aa`, `bb`) are rare;
# * the **SFT model**: a one-layer GRU (`pe.toy_lm.TinyLM`) fitted to samples of that language
#   by maximum likelihood. A frozen copy is the **reference** π_ref;
# * a hidden **gold preference**: gold(y) = (number of `a`) − 1.5·(number of immediate repeats).
#   It only labels preference pairs, as human labellers would: y¹ is preferred to y² with
#   probability σ(gold(y¹) − gold(y²)), so labels are noisy;
# * a **reward model** s(y) fitted to 2 000 such pairs with the Bradley–Terry loss
#   −log σ(s(y_w) − s(y_l)). It is a bag of tokens, s(y) = Σ_t w[y_t]: it sees *which*
#   tokens a string holds, not their order, so it **cannot see repeats**. Real reward models have
#   blind spots too; this one is planted where we can watch it being exploited.
#
# There are only 19 531 possible strings, so `pe.toy_lm` can list them all and compute exact
# expectations and exact KL divergences, instead of estimating them.

# %%
toy = pe.toy_lm.make_toy(seed=0)
lang = pe.toy_lm.language_logprobs(toy.sequences, toy.sequence_mask)
p_lang = lang.exp()
real = p_lang > 0


def kl_from_language(logp_all):
    return float((p_lang[real] * (lang[real] - logp_all[real])).sum())


torch.manual_seed(0)
untrained = pe.toy_lm.all_sequence_logprobs(pe.toy_lm.TinyLM())
assert kl_from_language(toy.ref_logp_all) < 0.25 * kl_from_language(untrained)
assert abs(float(toy.ref_logp_all.exp().sum()) - 1) < 1e-9

# %%
# NBVAL_CHECK_OUTPUT
print("strings in the sequence space:", toy.sequences.shape[0])
print(f"KL(language ‖ SFT model)       = {kl_from_language(toy.ref_logp_all):.2f} nats per string "
      f"(untrained GRU: {kl_from_language(untrained):.2f})")
weights = toy.reward_model.weight.tolist()
print("reward-model weights w[token]:", {t: round(w, 2) for t, w in zip("abcde.", weights, strict=True)})
print(f"reward model agrees with held-out noisy labels on {toy.rm_heldout_accuracy:.1%} of pairs")
g = torch.Generator().manual_seed(1)
print("SFT samples:", pe.toy_lm.decode(*pe.toy_lm.sample(toy.reference, 8, g)))

# %% [markdown]
# The reward model found the liked letter from the pairs alone: w[a] is far above the other
# weights. Only about 60 % agreement with held-out labels is expected: the labels are coin
# flips weighted by small gold differences.

# %%
assert weights[0] > max(weights[1:5]) + 0.5
assert 0.55 < toy.rm_heldout_accuracy < 0.75

# %% [markdown]
# ## 3. The per-token reward
#
# The reward model scores a finished string once. PPO needs a reward per action, and it also
# needs a leash: with only the score, the policy drifts wherever the reward model is wrong
# (section 6 shows it). TRL's `PPOTrainer` (and the InstructGPT recipe) give each token
#
# $$
# r_t = -\beta\, k_{1,t} + \mathbb{1}[t = L-1]\; s(y),
# \qquad k_{1,t} = \log \pi_\theta(y_t \mid y_{<t}) - \log \pi_{\text{ref}}(y_t \mid y_{<t}),
# \tag{9.1, 9.2}
# $$
#
# for the real tokens t = 0, …, L − 1 of a string of length L, and r_t = 0 on padding. The
# score lands on the **last real token**, not on the last column of the padded batch.
#
# **Why this is the right reward.** With γ = 1 the return of the episode is
# Σ_t r_t = s(y) − β Σ_t k_{1,t}. The chain rule of probability gives
# log π_θ(y) = Σ_t log π_θ(y_t | y_<t), the same for π_ref, so Σ_t k_{1,t} = log π_θ(y)/π_ref(y)
# and, taking the expectation over y ~ π_θ,
#
# $$
# \mathbb{E}_{y\sim\pi_\theta}\Big[\sum_t r_t\Big] = \mathbb{E}_{\pi_\theta}[s(y)] - \beta\,
# \mathrm{KL}(\pi_\theta \,\|\, \pi_{\text{ref}}). \tag{9.3}
# $$
#
# PPO maximises the expected return, so it maximises the KL-regularised objective (9.3).
# A correction to a common reading (the source notes write it as KL(t)): k_{1,t} is the
# log-ratio of **one sampled token**, not a KL divergence. It is negative whenever the sampled
# token is less likely under π_θ than under π_ref; only its expectation is a KL.
#
# A hand-built batch: two strings of different lengths, right-padded, β = 0.1.

# %%
# NBVAL_CHECK_OUTPUT
logp = torch.tensor([[-1.0, -2.0, -0.5, -9.0], [-0.2, -3.0, -3.0, -3.0]], dtype=torch.float64)
logp_ref = torch.tensor([[-1.5, -1.0, -0.5, 0.0], [-0.7, 0.0, 0.0, 0.0]], dtype=torch.float64)
mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0]])
scores = torch.tensor([2.0, -1.0], dtype=torch.float64)
rewards = pe.rlhf.per_token_rewards(scores, logp, logp_ref, mask, beta=0.1)
print(rewards.numpy().round(3))
# row 0: k1 = (0.5, −1, 0) → −β·k1 = (−0.05, 0.1, 0) and the score 2 on t = 2; row 1: L = 1
assert torch.allclose(rewards, torch.tensor([[-0.05, 0.1, 2.0, 0.0], [-1.05, 0.0, 0.0, 0.0]], dtype=torch.float64))
assert torch.allclose(rewards.sum(1), scores - 0.1 * pe.rlhf.sequence_kl(logp, logp_ref, mask))

# %% [markdown]
# Now a real string. π_θ here is the SFT model *nudged* towards `a` (its output bias for `a`
# raised by 1), so that it differs from π_ref. We check (9.3) exactly: over all 19 531 strings,
# the expected sum of k1 equals KL(π_θ ‖ π_ref).

# %%
nudged = pe.toy_lm.nudged_policy(toy.reference, token=0, amount=1.0)
logp_nudged_all = pe.toy_lm.all_sequence_logprobs(nudged)
with torch.no_grad():
    k1_all = (pe.toy_lm.token_logprobs(nudged, toy.sequences)
              - pe.toy_lm.token_logprobs(toy.reference, toy.sequences)) * toy.sequence_mask
exact_kl = float((logp_nudged_all.exp() * (logp_nudged_all - toy.ref_logp_all)).sum())
expected_k1_sum = float((logp_nudged_all.exp() * k1_all.sum(1).double()).sum())
assert abs(exact_kl - expected_k1_sum) < 1e-5

# %%
# NBVAL_CHECK_OUTPUT
print(f"KL(nudged ‖ ref) by enumeration = {exact_kl:.4f};  E[Σ_t k1_t] = {expected_k1_sum:.4f}")

# %%
beta = 0.3
tok, msk = pe.toy_lm.encode(["ac."])  # one string: 3 real tokens, 3 of padding
with torch.no_grad():
    lp, lr = pe.toy_lm.token_logprobs(nudged, tok), pe.toy_lm.token_logprobs(toy.reference, tok)
    score = toy.reward_model(tok, msk)
r = pe.rlhf.per_token_rewards(score, lp, lr, msk, beta)
parts = pe.toy_lm.reward_parts(nudged, toy, tok, msk, beta)  # the pieces of r, for the figure
assert torch.allclose(r[0], torch.tensor(parts["kl_part"]) + torch.tensor([0, 0, parts["score"], 0, 0, 0]))
assert bool((r[~msk] == 0).all()) and abs(float(r.sum() - (score - beta * (lp - lr)[msk].sum()))) < 1e-6
pe.plots.rlhf_token_rewards(**parts)

# %% [markdown]
# The nudged model likes `a` more than the reference does, so the `a` is *penalised*
# (k1 > 0); the tokens it likes less get a small *bonus* (k1 < 0). The score sits on the `.`,
# and the padded positions get nothing.
#
# **Exercise 9.1.** Write the per-token rewards (9.1) for a right-padded batch. `mask` is a
# float tensor of 0/1; every row has at least one real token.

# %%
def per_token_rewards(scores, logp, logp_ref, mask, beta):
    ### BEGIN SOLUTION
    rewards = -beta * (logp - logp_ref) * mask
    last = mask.sum(dim=1).long() - 1
    rewards[torch.arange(len(scores)), last] += scores
    return rewards
    ### END SOLUTION


pe.exercises.per_token_rewards.check(per_token_rewards)

# %% [markdown] tags=["solution-demo"]
# A classic mistake, recognised by the checker: the score on the first token.

# %% tags=["solution-demo"]
def per_token_rewards_score_first(scores, logp, logp_ref, mask, beta):
    rewards = -beta * (logp - logp_ref) * mask
    rewards[:, 0] += scores
    return rewards


result = pe.exercises.per_token_rewards.check(per_token_rewards_score_first)
assert result.mistake == "score_on_first_token"
print(result)

# %% [markdown]
# ## 4. Four KL estimators
#
# The penalty needs KL(π_θ ‖ π_ref) from sampled tokens. With k1 = log π_θ − log π_ref and the
# ratio r = π_ref/π_θ = e^(−k1) of one token drawn from π_θ:
#
# $$
# k_1,\qquad |k_1|,\qquad k_2 = \tfrac12 k_1^2,\qquad k_3 = (r - 1) - \log r .
# \tag{9.4}
# $$
#
# * k1 is unbiased: E_π[k1] = Σ_a π(a) log π(a)/π_ref(a) = KL. But one sample can be negative.
# * k3 adds r − 1, whose expectation is Σ_a π(a)·π_ref(a)/π(a) − 1 = 1 − 1 = 0: still
#   unbiased, and never negative, because e^x ≥ 1 + x with x = −k1.
# * |k1| and ½k1² are never negative but biased (TRL calls them `abs` and `mse`).
#
# sympy checks the unbiasedness of k3 for a two-outcome distribution:

# %%
import sympy as sp

p, q = sp.symbols("p q", positive=True)
kl = p * sp.log(p / q) + (1 - p) * sp.log((1 - p) / (1 - q))
e_k3 = p * (q / p - 1 - sp.log(q / p)) + (1 - p) * ((1 - q) / (1 - p) - 1 - sp.log((1 - q) / (1 - p)))
difference = sp.simplify(sp.expand_log(e_k3 - kl, force=True))
assert difference == 0
print("E[k3] − KL simplifies to", difference)

# %% [markdown]
# And on whole strings: 4 000 samples from the nudged policy, the per-string sum of each
# estimator, against the exact KL from enumeration.

# %%
g = torch.Generator().manual_seed(2)
tok, msk = pe.toy_lm.sample(nudged, 4000, g)
with torch.no_grad():
    lp, lr = pe.toy_lm.token_logprobs(nudged, tok), pe.toy_lm.token_logprobs(toy.reference, tok)
estimates = {name: pe.rlhf.sequence_kl(lp, lr, msk, name).numpy() for name in pe.rlhf.KL_ESTIMATORS}
se = {name: est.std(ddof=1) / np.sqrt(len(est)) for name, est in estimates.items()}
for name in ("k1", "k3"):  # unbiased: within 4 standard errors of the exact value
    assert abs(estimates[name].mean() - exact_kl) < 4 * se[name]
assert estimates["abs"].mean() > exact_kl + 4 * se["abs"]  # biased upwards
assert estimates["k1"].min() < 0 <= estimates["k3"].min()  # k1 can be negative, k3 never
assert estimates["k2"].mean() > exact_kl + 4 * se["k2"]  # biased as well
assert estimates["k3"].std() < estimates["k1"].std()

# %%
# NBVAL_CHECK_OUTPUT
print(f"exact KL = {exact_kl:.3f}")
for name, est in estimates.items():
    print(f"{name:>4}: mean {est.mean():.3f}   std {est.std(ddof=1):.3f}   min {est.min():+.3f}")

# %%
pe.plots.rlhf_kl_estimators(estimates, exact_kl)

# %% [markdown]
# k1 and k3 centre on the exact KL; k3 has the smaller spread here and is never negative.
# |k1| sits far above it, and ½k1² above it too: both are biased. (½k1² is still useful as a
# *loss*: its gradient matches the KL's near π_θ = π_ref, and its variance is small.)
# PPO's reward (9.1) uses k1 by default, as TRL does: the score term dwarfs its noise, and
# its sum over a string is exactly the sequence log-ratio of (9.3).
#
# **Exercise 9.2.** Write the per-token k3 estimator from `logp` and `logp_ref`.

# %%
def k3_estimator(logp, logp_ref):
    ### BEGIN SOLUTION
    log_r = logp_ref - logp
    return torch.exp(log_r) - 1 - log_r
    ### END SOLUTION


pe.exercises.k3_estimator.check(k3_estimator)

# %% [markdown]
# ## 5. How strong a leash? β, exactly
#
# For a fixed β, which policy maximises (9.3)? Write π*(y) = π_ref(y) e^(s(y)/β) / Z with
# Z = Σ_y π_ref(y) e^(s(y)/β). Then for any π,
#
# $$
# \mathbb{E}_\pi[s] - \beta\,\mathrm{KL}(\pi\|\pi_{\text{ref}})
# = \beta \log Z - \beta\,\mathrm{KL}(\pi \,\|\, \pi^*)
# \tag{9.5}
# $$
#
# (expand KL(π‖π*) = E_π[log π − log π_ref − s/β + log Z]). KL ≥ 0, so the maximum is β log Z,
# reached at π = π*. Our sequence space is small enough to compute π*_β for every β: the
# best any training run can do. We check (9.5) numerically, then sweep β.

# %%
beta = 0.3
opt = pe.toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, beta)
for other in (toy.ref_logp_all, logp_nudged_all):
    stats = pe.toy_lm.distribution_stats(other, toy.ref_logp_all, toy.score_all, toy.gold_all)
    kl_to_opt = float((other.exp() * (other - opt["logp"])).sum())
    assert abs(stats["score"] - beta * stats["kl"] - (opt["objective"] - beta * kl_to_opt)) < 1e-8
betas = np.geomspace(0.01, 10, 61)
sweep = pe.toy_lm.beta_sweep(toy, betas)
best = int(np.argmax(sweep["gold"]))
assert sweep["gold"][0] < sweep["gold_ref"] < sweep["gold"][best]  # too small β hurts the gold
hacked_betas = betas[np.asarray(sweep["gold"]) < sweep["gold_ref"]]  # gold worse than the SFT model's
assert hacked_betas.max() < betas[best] and 0.1 < hacked_betas.max() < 0.25
assert all(a >= b for a, b in zip(sweep["kl"][:-1], sweep["kl"][1:], strict=True))  # KL falls as β grows

# %%
# NBVAL_CHECK_OUTPUT
print(f"β = {beta}: best objective β·log Z = {opt['objective']:.3f}, E[s] = {opt['score']:.3f}, KL = {opt['kl']:.3f}")
print(f"gold is highest near β = {betas[best]:.2f}: E[gold] = {sweep['gold'][best]:.2f}"
      f" (SFT {sweep['gold_ref']:.2f}, β → 0: {sweep['gold'][0]:.2f})")
print(f"gold below the SFT model's for every β ≤ {hacked_betas.max():.2f} of the grid")
print("β → 0 favourite:", pe.toy_lm.top_sequences(pe.toy_lm.kl_regularized_optimum(
    toy.ref_logp_all, toy.score_all, 0.0)["logp"], toy, 1))


# %%
def draw_sweep(beta):
    best = pe.toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, beta)
    return pe.plots.rlhf_beta_sweep(sweep, beta, pe.toy_lm.top_sequences(best["logp"], toy, 5), best["kl"])


draw_sweep(0.3)

# %% [markdown]
# Read it from the right. Large β: π*_β is the reference, nothing changes. As β shrinks the
# policy buys score with KL, and at first the gold preference rises with it: more `a`.
# Below β ≈ 0.2 the cheapest score left is `a` repeated, which the reward model cannot tell
# from `a` spread out; the gold preference falls, and for β below about 0.16 it ends *below*
# the SFT model's. This is **reward hacking**
# (over-optimisation of a proxy), and β is what holds it off. Move the slider (the curves
# are precomputed; only π*_β's likeliest strings are recomputed, no training):

# %% tags=["nbval-ignore-output"]
pe.interactive.slider(draw_sweep, beta=(0.02, 2.0, 0.02, 0.3))

# %% [markdown]
# ### Fixed or adaptive β
#
# β can stay fixed (`pe.rlhf.FixedKLController`), or be steered so that the KL hits a target
# (Ziegler et al., 2019; TRL's `AdaptiveKLController`):
#
# $$
# e = \operatorname{clip}\!\Big(\frac{\mathrm{KL}}{\mathrm{KL}_{\text{target}}} - 1,\; -0.2,\; 0.2\Big),
# \qquad \beta \leftarrow \beta\,\Big(1 + e\,\frac{n}{\text{horizon}}\Big) \tag{9.6}
# $$
#
# after each batch of n sequences. Too much KL raises β, too little lowers it, by at most a
# factor 1 ± 0.2·n/horizon per update. Below, an idealised loop where the policy reaches
# π*_β at once, so that the KL the controller sees is KL(π*_β ‖ π_ref): β should settle where
# that KL equals the target.

# %%
target = 4.0
demo = pe.toy_lm.controller_demo(toy, pe.rlhf.AdaptiveKLController(0.05, target, horizon=1000), updates=200)
settled = demo["beta"][-1]
assert abs(demo["kl"][-1] - target) < 1e-3
assert abs(pe.toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, settled)["kl"] - target) < 1e-3
first = demo["beta"][1] / demo["beta"][0]
assert abs(first - (1 + 0.2 * 128 / 1000)) < 1e-12  # KL ≫ target: error clipped to +0.2

# %%
# NBVAL_CHECK_OUTPUT
print(f"β: 0.05 → {settled:.3f};  KL: {demo['kl'][0]:.2f} → {demo['kl'][-1]:.2f} (target {target})")

# %%
pe.plots.rlhf_kl_controller(demo["beta"], demo["kl"], target)

# %% [markdown]
# **Exercise 9.3.** One update of the adaptive controller (9.6): return the new β.

# %%
def adaptive_kl_update(beta, kl, target, n_steps, horizon):
    ### BEGIN SOLUTION
    error = min(max(kl / target - 1.0, -0.2), 0.2)
    return beta * (1.0 + error * n_steps / horizon)
    ### END SOLUTION


pe.exercises.adaptive_kl_update.check(adaptive_kl_update)

# %% [markdown]
# ## 6. PPO over tokens
#
# `pe.toy_lm.train_rlhf` is the whole loop, with the course's own pieces:
#
# 1. sample a batch of 128 strings from π_θ; keep log π_θ (these are the "old" log-probs),
#    log π_ref, the critic's V(y_<t) and the score s(y);
# 2. per-token rewards (9.1): `pe.rlhf.per_token_rewards`;
# 3. GAE over tokens with γ = 1, λ = 0.95: `pe.rlhf.token_advantages`, which calls
#    `pe.advantages.gae` with each string *terminating* at its last real token. (The GAE loop
#    quoted in the source notes runs over the whole padded length; it is only right because
#    TRL first zeroes values and rewards on padding, so that V after the last real token is 0.
#    Terminating there says the same thing explicitly.)
# 4. whiten the advantages over real tokens only (`pe.rlhf.masked_whiten`);
# 5. 4 epochs of 4 minibatches: `pe.losses.clipped_surrogate_loss` and the clipped
#    `pe.losses.value_loss`, both with the mask so padding never counts.
#
# The critic is a second `TinyLM` with one output. We run 40 iterations with β = 0.3 and,
# from the same start, with β = 0. After every iteration the exact E[s], E[gold] and
# KL(π_θ ‖ π_ref) of the current policy are computed by enumeration. (The same run in
# quick and full mode: a few seconds to a quarter of a minute, depending on the CPU.)

# %% tags=["nbval-ignore-output"]
import time

t0 = time.perf_counter()
runs = {beta: pe.toy_lm.train_rlhf(toy, pe.toy_lm.RLHFConfig(beta=beta, iterations=40)) for beta in (0.3, 0.0)}
print(f"two PPO runs of 40 iterations: {time.perf_counter() - t0:.1f} s")

# %%
hist, free = runs[0.3]["history"], runs[0.0]["history"]
optima = {b: pe.toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, b) for b in (0.3, 0.0)}
for b in optima:
    optima[b]["gold"] = float((optima[b]["logp"].exp() * toy.gold_all).sum())
objective = [s - 0.3 * k for s, k in zip(hist["score"], hist["kl"], strict=True)]
# the score rises, and the regularised objective gets most of the way to its exact maximum
assert hist["score"][-1] > hist["score"][0] + 1.0
assert objective[-1] > objective[0] + 0.8 * (optima[0.3]["objective"] - objective[0])
# KL stays bounded: any π with J(π) ≥ J(π_ref) has KL ≤ (max s − E_ref[s]) / β; the run stays below that,
# and far below β = 0's
assert max(hist["kl"]) < (float(toy.score_all.max()) - hist["score"][0]) / 0.3
assert hist["kl"][-1] < 0.5 * free["kl"][-1]
# late in the run the KL swings from one iteration to the next, but on average it sits at the optimum's
late_kl, late_score = np.mean(hist["kl"][-10:]), np.mean(hist["score"][-10:])
assert abs(late_kl - optima[0.3]["kl"]) < 0.5 and abs(late_score - optima[0.3]["score"]) < 0.2
# the gold preference improved with β = 0.3, and fell below the SFT model's with β = 0
assert hist["gold"][-1] > hist["gold"][0] + 0.5
assert free["gold"][-1] < hist["gold"][0] - 0.5

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'':>14} {'E[s]':>7} {'E[gold]':>8} {'KL':>7}")
print(f"{'SFT':>14} {hist['score'][0]:7.2f} {hist['gold'][0]:8.2f} {hist['kl'][0]:7.2f}")
for b, h in ((0.3, hist), (0.0, free)):
    print(f"{'PPO β = ' + str(b):>14} {h['score'][-1]:7.2f} {h['gold'][-1]:8.2f} {h['kl'][-1]:7.2f}")
    print(f"{'best π*_β':>14} {optima[b]['score']:7.2f} {optima[b]['gold']:8.2f} {optima[b]['kl']:7.2f}")
bound = (float(toy.score_all.max()) - hist["score"][0]) / 0.3
print(f"β = 0.3: largest KL over the run {max(hist['kl']):.2f}, below the bound (max s − E_ref[s])/β = {bound:.2f}")
print(f"β = 0.3, mean of the last 10 iterations: E[s] = {late_score:.2f}, KL = {late_kl:.2f}")

# %%
pe.plots.rlhf_training({"β = 0.3": hist, "β = 0 (no KL penalty)": free},
                       {"β = 0.3": optima[0.3], "β = 0 (no KL penalty)": optima[0.0]})

# %% [markdown]
# With β = 0.3 the score climbs within a few iterations and the KL levels off at the optimum's:
# it swings by up to a nat from one iteration to the next (the last one happens to be low), but
# over the last 10 iterations it averages the optimum's KL. The gold preference ends well above
# the SFT model's. With β = 0 nothing holds the
# policy: the KL keeps growing until almost all mass is on one string, and the gold preference
# drops below where it started, while the reward model's score is the highest of all.
#
# Samples before and after, with the reward-model score and the gold preference of each:

# %%
# NBVAL_CHECK_OUTPUT
def show(name, policy, seed=3, n=6):
    tok, msk = pe.toy_lm.sample(policy, n, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        s = toy.reward_model(tok, msk)
    gold = pe.toy_lm.gold_reward(tok, msk)
    cells = [f"{x:<7} s={a:+.1f} g={b:+.1f}" for x, a, b in zip(pe.toy_lm.decode(tok, msk), s, gold, strict=True)]
    print(f"{name:>8}: " + " | ".join(cells[:3]) + "\n" + " " * 10 + " | ".join(cells[3:]))
    return pe.toy_lm.decode(tok, msk)


show("SFT", toy.reference)
show("β = 0.3", runs[0.3]["policy"])
hacked = show("β = 0", runs[0.0]["policy"])
assert hacked.count("aaaaaa") >= 5

# %% [markdown]
# The β = 0 policy writes `aaaaaa`: six liked letters for the reward model, five repeats for
# the gold preference. The β = 0.3 policy writes more `a` and longer strings, and repeats
# letters more often than the SFT model (the reward model does not see repeats), but far less
# than the β = 0 policy. Exactly, over all strings:

# %%
# NBVAL_CHECK_OUTPUT
n_a = ((toy.sequences == 0) & toy.sequence_mask).sum(1).double()
n_repeats = (n_a - toy.gold_all) / 1.5  # gold = #a − 1.5·#repeats
length = toy.sequence_mask.sum(1).double()
table = {"SFT": toy.ref_logp_all, "PPO β = 0.3": pe.toy_lm.all_sequence_logprobs(runs[0.3]["policy"]),
         "PPO β = 0": pe.toy_lm.all_sequence_logprobs(runs[0.0]["policy"])}
print(f"{'':>12} {'E[#a]':>6} {'E[#repeats]':>12} {'E[length]':>10}")
expect = {}
for name, logp_all in table.items():
    p_all = logp_all.exp()
    expect[name] = [float((p_all * x).sum()) for x in (n_a, n_repeats, length)]
    print(f"{name:>12} {expect[name][0]:6.2f} {expect[name][1]:12.2f} {expect[name][2]:10.2f}")
assert expect["SFT"][1] < expect["PPO β = 0.3"][1] < 0.5 * expect["PPO β = 0"][1]
assert expect["PPO β = 0.3"][0] > expect["SFT"][0] + 1.0

# %% [markdown]
# The per-token rewards of one string from the trained β = 0.3 policy: the KL penalty is now
# paid on several tokens, and the score on the last real one.

# %%
policy = runs[0.3]["policy"]
tok, msk = pe.toy_lm.sample(policy, 50, torch.Generator().manual_seed(5))
pick = int(torch.nonzero(msk.sum(1) == 5)[0])  # a string of 5 real tokens and 1 padding
parts = pe.toy_lm.reward_parts(policy, toy, tok[[pick]], msk[[pick]], beta=0.3)
pe.plots.rlhf_token_rewards(**parts)

# %% [markdown]
# ## Recap
#
# * Generation is an episode over tokens; batches are padded, and a **mask** says which
#   positions are real.
# * The RLHF reward (9.1): −β·(log π_θ − log π_ref) on every real token, the reward-model score
#   added on the **last real token**, nothing on padding. Its expected sum is
#   E[s] − β·KL(π_θ ‖ π_ref) (9.3), checked here exactly by enumeration.
# * Per-token k1 is a log-ratio, not a KL: unbiased but can be negative. k3 = (r − 1) − log r is
#   unbiased and never negative; |k1| and ½k1² are biased (9.4).
# * For a given β the best policy is π_ref·e^(s/β)/Z (9.5). Small β lets the policy exploit the
#   reward model's blind spot; the adaptive controller (9.6) steers β to hit a KL target.
# * PPO over tokens is the PPO of notebook 08 with GAE over the tokens of each string,
#   masked losses and masked advantage whitening. With β = 0.3 the score rose with a bounded
#   KL; with β = 0 the policy collapsed onto `aaaaaa`, the reward hack.
#
# Next: **10 · CartPole on the GPU**, everything together on a classic control task.
