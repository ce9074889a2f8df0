# %% [markdown]
# # 09 · PPO for language models (RLHF)
#
# A language model is a policy: it reads a prompt and the tokens so far, and picks the next
# token. RLHF fine-tunes it with PPO against a **reward model** trained on human preferences,
# while a **KL penalty** keeps it close to the model it started from. This notebook builds that
# reward the way TRL's PPO trainer does, trains a tiny model with it on the CPU, and then puts
# PPO beside the two critic-free methods a learner meets next, GRPO and RLOO.
#
# **You will learn**
# 1. generation as an episode, and the batch layout: left-padded prompts, responses that end with
#    EOS (or never end), and the **response mask** that every term must use;
# 2. the per-token RLHF reward: −β·k1 on every response token, the reward-model score on the
#    last real token, nothing on the prompt or the padding, and why its sum is the
#    KL-regularised objective;
# 3. four per-token KL estimators (k1, |k1|, ½k1², k3), the rule behind k3's ratio, and what
#    the gradient of ½k1² really is;
# 4. the best policy for a given β in closed form, reward-score normalisation, and how a fixed or
#    an adaptive β is set (with TRL's defaults);
# 5. a full toy RLHF run, every choice that differs from notebook 08 stated; with β = 0 the gold
#    preference first rises, then collapses: **over-optimisation**, measured;
# 6. PPO beside GRPO and RLOO on the same task and budget, over seeds: what the critic buys and
#    what the group costs.

# %%
import time

import numpy as np
import torch

import ppo_edu as pe

torch.set_num_threads(1)  # small models: one thread is fastest and keeps runs reproducible

# %% [markdown]
# ## 1. Generation as an episode, and the batch
#
# | RL | language model |
# |---|---|
# | state $s_t$ | the prompt $x$ and the response so far, $y_{<t}$ |
# | action $a_t$ | the next token $y_t$, drawn from $\pi_\theta(\cdot \mid x, y_{<t})$ |
# | transition | deterministic: append $y_t$ |
# | episode end | the end-of-sequence token (EOS), or the length limit |
# | reward | from the reward model, once, for the finished response (plus the KL penalty below) |
#
# The **prompt is not an action**: the policy did not choose it, so it gets no reward, no KL
# penalty and no advantage. Both ends are true ends of the episode: the reward model scores the
# response as it stands and nothing follows, so no value is bootstrapped after the last token.
#
# A batch puts one prompt and its response in each row. Prompts have different lengths, so they
# are **left-padded**: every response then starts in the same column, which is what batched
# generation needs. Responses have different lengths too (an EOS can come early, or never), so
# they are **right-padded**. Two masks describe a row:
#
# * the **attention mask**: 1 on the prompt and the response, 0 on padding (the model must not
#   read padding);
# * the **response mask**: 1 on the response's tokens, its EOS included, 0 on the prompt and on
#   padding. Log-probabilities, KL, rewards, advantages and every loss count only where it is 1.
#
# Padding reuses the EOS id (many tokenizers set `pad_token = eos_token`), so token ids alone
# cannot tell a real EOS from padding: only the masks can. Three rows of the toy task below, with
# prompts `b`, `cd`, `bce` (`_` shows a padded position):

# %%
# NBVAL_CHECK_OUTPUT
rows = pe.toy_lm.make_batch([0, 2, 4], *pe.toy_lm.encode(["a.", "bcde.", "aaaaaa"]))
chars = np.array(list("abcde."))[rows.tokens.numpy()]
chars[~rows.attention_mask.numpy()] = "_"
print("columns          ", " ".join(str(c) for c in range(rows.tokens.shape[1])))
for i in range(len(rows)):
    print(f"row {i}  tokens    ", " ".join(chars[i]))
    print("       attention ", " ".join(str(int(v)) for v in rows.attention_mask[i]))
    print("       response  ", " ".join(str(int(v)) for v in rows.response_mask[i]))
print("ended with EOS:", rows.ended.tolist())
assert rows.response_mask[:, : pe.toy_lm.PROMPT_WIDTH].sum() == 0
assert rows.response_mask.sum().item() == 2 + 5 + 6 and rows.ended.tolist() == [True, True, False]

# %% [markdown]
# Row 2 never reached EOS: its response was cut at the 6-token limit. Such a response did not
# *end*, and section 3 shows how TRL can penalise it.
#
# **Exercise 9.1.** Build the response mask from the attention mask, for rows laid out as
# `[left-padded prompt | right-padded response]` whose responses start at column `prompt_width`.

# %%
def response_mask(tokens, attention_mask, prompt_width):
    ### BEGIN SOLUTION
    columns = torch.arange(tokens.shape[1])
    return attention_mask * (columns >= prompt_width)
    ### END SOLUTION


pe.exercises.response_mask.check(response_mask)

# %% [markdown] tags=["solution-demo"]
# The most common real bug, recognised by the checker: the attention mask used as the response
# mask, so the prompt's tokens count as actions.

# %% tags=["solution-demo"]
def response_mask_with_prompt(tokens, attention_mask, prompt_width):
    return attention_mask


result = pe.exercises.response_mask.check(response_mask_with_prompt)
assert result.mistake == "includes_prompt"
print(result)

# %% [markdown]
# ## 2. The toy task
#
# Everything a real RLHF run has, small enough to enumerate:
#
# * six **prompts** of 1 to 3 letters: `b`, `e`, `cd`, `da`, `bce`, `eab`;
# * a **language**: a response continues its prompt with letters `a`–`e` from a hand-written
#   Markov chain (`a` is uncommon, immediate repeats such as `aa` are rare) and ends with `.`
#   (EOS), or is cut at 6 tokens;
# * the **SFT model**: a one-layer GRU (`pe.toy_lm.TinyLM`) fitted by maximum likelihood to
#   4 000 prompts with their responses, the loss over the **response tokens only** (the prompt is
#   context, not a target). A frozen copy is the **reference** $\pi_{\text{ref}}$;
# * a hidden **gold preference**: gold(x, y) = (number of `a` in y) − 1.5·(number of immediate
#   repeats, the prompt's last letter included: prompt `da`, response `ab.` has one). It only
#   labels preference pairs, as human labellers would: of two responses to one prompt, $y^1$ is
#   preferred with probability $\sigma(\text{gold}(y^1) - \text{gold}(y^2))$, so labels are noisy;
# * a **reward model** $s(y)$ fitted to 2 000 such pairs with the Bradley–Terry loss
#   $-\log\sigma(s(y_w) - s(y_l))$. It is a bag of tokens, $s(y) = \sum_t w[y_t]$ over the
#   response: it sees *which* tokens a response holds, not their order, so it **cannot see
#   repeats**. Real reward models have blind spots too; this one is planted where we can watch it
#   being exploited.
#
# There are 19 531 possible responses per prompt, so `pe.toy_lm` lists them all and computes
# exact expectations and exact KL divergences (averaged over the six prompts), instead of
# estimating them.

# %%
toy = pe.toy_lm.make_toy(seed=0)
lang, p_lang = toy.lang_logp_all, toy.lang_logp_all.exp()
real = p_lang > 0


def kl_from_language(logp_all):
    """KL(language ‖ model), nats per response, averaged over the prompts."""
    return float((p_lang[real] * (lang[real] - logp_all[real])).sum()) / len(pe.toy_lm.PROMPTS)


torch.manual_seed(0)
untrained = pe.toy_lm.all_sequence_logprobs(pe.toy_lm.TinyLM())
assert kl_from_language(toy.ref_logp_all) < 0.25 * kl_from_language(untrained)
assert torch.allclose(toy.ref_logp_all.exp().sum(1), torch.ones(6, dtype=torch.float64))
bayes = pe.toy_lm.bayes_ceiling(toy)
se_acc = (toy.rm_heldout_accuracy * (1 - toy.rm_heldout_accuracy) / toy.heldout_pairs) ** 0.5

# %%
# NBVAL_CHECK_OUTPUT
print("responses per prompt:", toy.sequences.shape[0], "  prompts:", pe.toy_lm.PROMPTS)
print(f"KL(language ‖ SFT model) = {kl_from_language(toy.ref_logp_all):.2f} nats per response "
      f"(untrained GRU: {kl_from_language(untrained):.2f})")
weights = toy.reward_model.weight.tolist()
print("reward-model weights w[token]:", {t: round(w, 2) for t, w in zip("abcde.", weights, strict=True)})
print(f"reward model agrees with {toy.heldout_pairs} held-out noisy labels on {toy.rm_heldout_accuracy:.1%} "
      f"(± {se_acc:.1%} standard error)")
print(f"Bayes ceiling of these labels: {bayes['ceiling']:.1%};  pairs with a gold tie: {bayes['ties']:.1%}")
g = torch.Generator().manual_seed(1)
sft_rows = pe.toy_lm.sample(toy.reference, torch.arange(6), g)
print("SFT responses to each prompt:", list(zip(pe.toy_lm.PROMPTS,
                                                pe.toy_lm.decode(sft_rows.responses, sft_rows.responses_mask),
                                                strict=True)))

# %% [markdown]
# The reward model found the liked letter from the pairs alone: w[a] is far above the other
# weights. Its agreement with held-out labels looks poor, but no scorer could do much better:
# the **Bayes ceiling** is the agreement of a scorer that knows the gold preference,
# $\mathbb{E}[\max(\sigma(\Delta), \sigma(-\Delta))]$ over pairs with gold difference $\Delta$,
# computed exactly from the language. In 40 % of the pairs the two responses have the same gold
# value, and there every scorer is right half the time; elsewhere the labels are noisy coin
# flips. So even a perfect reward model would agree with only about two labels in three. Ours
# is about 5 points below that ceiling (a tie in score counts ½, as in the ceiling) and well
# above chance, and it is blind to repeats.

# %%
assert weights[0] > max(weights[1:5]) + 0.5
assert 0.5 + 4 * se_acc < toy.rm_heldout_accuracy < bayes["ceiling"] < 0.7
assert 0.04 < bayes["ceiling"] - toy.rm_heldout_accuracy < 0.06 and 0.35 < bayes["ties"] < 0.45  # "about 5 points"

# %% [markdown]
# ## 3. The per-token reward
#
# The reward model scores a finished response once. PPO needs a reward per action, and it also
# needs a leash: with only the score, the policy drifts wherever the reward model is wrong
# (section 6 shows it). The InstructGPT recipe and TRL's original `PPOTrainer` give each response token
#
# $$
# r_t = -\beta\, k_{1,t} + \mathbb{1}[t = \text{last}]\; s(y),
# \qquad k_{1,t} = \log \pi_\theta(y_t \mid x, y_{<t}) - \log \pi_{\text{ref}}(y_t \mid x, y_{<t}),
# \tag{9.1, 9.2}
# $$
#
# and $r_t = 0$ on the prompt and on padding. The score lands on the **last real token** of the
# response, not on the last column of the batch, and not at index `mask.sum() − 1` (that is
# inside the prompt when the response starts after one). TRL's current PPO trainer
# (`trl.experimental.ppo`) puts it one position later instead, on the first padding slot
# (`sequence_lengths + 1`), and keeps the critic's value there: its last real token then gets the
# advantage −βk₁ + λs + (1 − λ)V(after it) − V instead of −βk₁ + s − V, and the slot holding the
# score gets no policy gradient. This notebook follows the original layout.
#
# **Why this is the right reward.** With $\gamma = 1$ the return of the episode is
# $\sum_t r_t = s(y) - \beta \sum_t k_{1,t}$. The chain rule of probability gives
# $\log \pi_\theta(y \mid x) = \sum_t \log \pi_\theta(y_t \mid x, y_{<t})$, the same for
# $\pi_{\text{ref}}$, so $\sum_t k_{1,t} = \log \pi_\theta(y|x)/\pi_{\text{ref}}(y|x)$ and, over
# $y \sim \pi_\theta(\cdot|x)$,
#
# $$
# \mathbb{E}_{y\sim\pi_\theta}\Big[\sum_t r_t\Big] = \mathbb{E}_{\pi_\theta}[s(y)] - \beta\,
# \mathrm{KL}(\pi_\theta(\cdot|x) \,\|\, \pi_{\text{ref}}(\cdot|x)). \tag{9.3}
# $$
#
# PPO maximises the expected return, so it maximises the KL-regularised objective (9.3). The sum
# runs over the **response** tokens only: the prompt's log-ratios are not part of
# $\log \pi_\theta(y|x)/\pi_{\text{ref}}(y|x)$. A correction to a common reading (the source
# notes write it as KL(t)): $k_{1,t}$ is the log-ratio of **one sampled token**, not a KL
# divergence; it is negative whenever the token is less likely under $\pi_\theta$ than under
# $\pi_{\text{ref}}$. Only its expectation is a KL.
#
# A hand-built batch: two prompt columns, then the response; row 1's response is only its EOS.

# %%
# NBVAL_CHECK_OUTPUT
logp = torch.tensor([[-3.0, -1.0, -1.0, -2.0, -0.5, -9.0], [-2.0, -2.0, -0.2, -3.0, -3.0, -3.0]], dtype=torch.float64)
logp_ref = torch.tensor([[-1.0, -1.0, -1.5, -1.0, -0.5, 0.0], [-1.0, -1.0, -0.7, 0.0, 0.0, 0.0]], dtype=torch.float64)
mask = torch.tensor([[0, 0, 1, 1, 1, 0], [0, 0, 1, 0, 0, 0]])  # response mask: columns 0–1 are the prompt
scores = torch.tensor([2.0, -1.0], dtype=torch.float64)
rewards = pe.rlhf.per_token_rewards(scores, logp, logp_ref, mask, beta=0.1)
print(rewards.numpy().round(3) + 0.0)  # + 0.0 prints −0.0 as 0.0
# row 0: k1 = (0.5, −1, 0) on columns 2–4 → −β·k1 = (−0.05, 0.1, 0), the score 2 on column 4
assert torch.allclose(rewards, torch.tensor([[0, 0, -0.05, 0.1, 2.0, 0], [0, 0, -1.05, 0, 0, 0]], dtype=torch.float64))
assert torch.allclose(rewards.sum(1), scores - 0.1 * pe.rlhf.sequence_kl(logp, logp_ref, mask))
# with the attention mask instead, row 0's prompt log-ratio (−3 − (−1) = −2) would add +0.2 to its return
leaky = pe.rlhf.per_token_rewards(scores, logp, logp_ref, torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0]]), 0.1)
print("return with the prompt wrongly included:", leaky.sum(1).numpy().round(3), " right:", rewards.sum(1).numpy())

# %% [markdown]
# Now real responses. $\pi_\theta$ here is the SFT model *nudged* towards `a` (its output bias for
# `a` raised by 1), so that it differs from $\pi_{\text{ref}}$. We check (9.3) exactly: over all
# responses to every prompt, the expected sum of k1 over the response mask equals
# $\mathrm{KL}(\pi_\theta \| \pi_{\text{ref}})$.

# %%
nudged = pe.toy_lm.nudged_policy(toy.reference, token=0, amount=1.0)
logp_nudged_all = pe.toy_lm.all_sequence_logprobs(nudged)
exact_kl = float((logp_nudged_all.exp() * (logp_nudged_all - toy.ref_logp_all)).sum(1).mean())
expected_k1_sum = []
for k in range(len(pe.toy_lm.PROMPTS)):
    all_k = pe.toy_lm.all_rows(k)
    with torch.no_grad():
        k1_all = (pe.toy_lm.token_logprobs(nudged, all_k.tokens, all_k.attention_mask)
                  - pe.toy_lm.token_logprobs(toy.reference, all_k.tokens, all_k.attention_mask))
    expected_k1_sum.append(float((logp_nudged_all[k].exp() * (k1_all * all_k.response_mask).sum(1).double()).sum()))
expected_k1_sum = float(np.mean(expected_k1_sum))
assert abs(exact_kl - expected_k1_sum) < 1e-5

# %%
# NBVAL_CHECK_OUTPUT
print(f"KL(nudged ‖ ref) by enumeration = {exact_kl:.4f};  E[Σ_t k1_t over the response] = {expected_k1_sum:.4f}")

# %%
beta = 0.3
row = pe.toy_lm.make_batch([2], *pe.toy_lm.encode(["ac."]))  # prompt "cd", response "ac."
with torch.no_grad():
    lp = pe.toy_lm.token_logprobs(nudged, row.tokens, row.attention_mask)
    lr = pe.toy_lm.token_logprobs(toy.reference, row.tokens, row.attention_mask)
    score = toy.reward_model(row.tokens, row.response_mask)
r = pe.rlhf.per_token_rewards(score, lp, lr, row.response_mask, beta)
parts = pe.toy_lm.reward_parts(nudged, toy, row, beta)  # the pieces of r, for the figure
assert torch.allclose(r[0], torch.tensor(parts["kl_part"]) + parts["score"] * (torch.arange(9) == 5))
assert bool((r[~row.response_mask] == 0).all())
assert abs(float(r.sum() - (score - beta * (lp - lr)[row.response_mask].sum()))) < 1e-6
pe.plots.rlhf_token_rewards(**parts)

# %% [markdown]
# The nudged model likes `a` more than the reference does, so the `a` is *penalised*
# ($k_1 > 0$); tokens it likes less get a small *bonus* ($k_1 < 0$). The score sits on the `.`;
# the padding column, the prompt `cd` and the three padded columns after the EOS get nothing.
#
# **Responses that never end.** A response cut at the length limit has no EOS. TRL's
# `missing_eos_penalty` subtracts a fixed amount from the score of such responses. Exactly, over
# all responses: how often does the SFT model never finish, and what does the reward model's
# favourite response look like with and without a penalty of 1?

# %%
# NBVAL_CHECK_OUTPUT
unfinished = ~(toy.sequence_mask & (toy.sequences == pe.toy_lm.EOS)).any(1)
p_unfinished = float((toy.ref_logp_all.exp() * unfinished).sum(1).mean())
print(f"P(the SFT model's response never ends) = {p_unfinished:.3f}")
for penalty in (0.0, 1.0):
    best = pe.toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all - penalty * unfinished, 0.0)
    top = pe.toy_lm.top_sequences(best["logp"], toy, 1)[0][0]
    gold = float((best["logp"].exp() * toy.gold_all).sum(1).mean())
    print(f"missing-EOS penalty {penalty:g}: best-scored response to 'b' = {top!r}, its E[gold] = {gold:.2f}")

# %% [markdown]
# The reward model's favourite, `aaaaaa`, never ends. A penalty of 1 moves the favourite to
# `aaaaa.`: the response now ends, and its gold is still far below the SFT model's 0.18. The
# penalty fixes an *unfinished* response, not a reward model's blind spot.
#
# **Exercise 9.2.** Write the per-token rewards (9.1). `mask` is the response mask (a float
# tensor of 0/1): it starts after a left-padded prompt, and responses end at different columns
# (some at once, some never).

# %%
def per_token_rewards(scores, logp, logp_ref, mask, beta):
    ### BEGIN SOLUTION
    rewards = -beta * (logp - logp_ref) * mask
    last = (mask * torch.arange(mask.shape[1])).argmax(dim=1)
    rewards[torch.arange(len(scores)), last] += scores
    return rewards
    ### END SOLUTION


pe.exercises.per_token_rewards.check(per_token_rewards)

# %% [markdown] tags=["solution-demo"]
# A classic mistake from code written for responses without prompts, recognised by the checker:
# the score at `mask.sum() − 1`.

# %% tags=["solution-demo"]
def per_token_rewards_length_index(scores, logp, logp_ref, mask, beta):
    rewards = -beta * (logp - logp_ref) * mask
    rewards[torch.arange(len(scores)), (mask.sum(dim=1) - 1).long()] += scores
    return rewards


result = pe.exercises.per_token_rewards.check(per_token_rewards_length_index)
assert result.mistake == "score_at_length_minus_one"
print(result)

# %% [markdown]
# ## 4. Four KL estimators
#
# The penalty needs KL(π_θ ‖ π_ref) from sampled tokens. With $k_1 = \log \pi_\theta - \log
# \pi_{\text{ref}}$ and the ratio $r = \pi_{\text{ref}}/\pi_\theta = e^{-k_1}$ of one token drawn
# from $\pi_\theta$:
#
# $$
# k_1,\qquad |k_1|,\qquad k_2 = \tfrac12 k_1^2,\qquad k_3 = (r - 1) - \log r .
# \tag{9.4}
# $$
#
# * $k_1$ is unbiased: $\mathbb{E}_\pi[k_1] = \sum_a \pi(a) \log \pi(a)/\pi_{\text{ref}}(a) = \mathrm{KL}$.
#   But one sample can be negative.
# * $k_3$ adds $r - 1$, whose expectation is $\sum_a \pi(a)\,\pi_{\text{ref}}(a)/\pi(a) - 1 = 0$:
#   still unbiased, and never negative, because $e^x \ge 1 + x$ with $x = -k_1$.
# * $|k_1|$ and $\tfrac12 k_1^2$ are never negative but biased (TRL calls them `abs` and `mse`).
#
# **Which ratio?** The rule: to estimate $\mathrm{KL}(p \,\|\, q)$ from samples of $p$, use
# $r = q/p$, whose mean under $p$ is 1. Here the samples come from $p = \pi_\theta$ and
# $q = \pi_{\text{ref}}$, so $r = \pi_{\text{ref}}/\pi_\theta$. Notebook 08 estimates
# $\mathrm{KL}(\pi_{\text{old}} \| \pi_\theta)$ from samples of $\pi_{\text{old}}$, so there
# $r = \pi_\theta/\pi_{\text{old}} = \rho$: the same rule, different $p$ and $q$.
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
# And on whole responses: 4 000 prompts drawn at random, one response each from the nudged
# policy, the per-response sum of each estimator over the response mask, against the exact KL.

# %%
g = torch.Generator().manual_seed(2)
sampled = pe.toy_lm.sample(nudged, pe.toy_lm.sample_prompts(4000, g), g)
with torch.no_grad():
    lp = pe.toy_lm.token_logprobs(nudged, sampled.tokens, sampled.attention_mask)
    lr = pe.toy_lm.token_logprobs(toy.reference, sampled.tokens, sampled.attention_mask)
estimates = {name: pe.rlhf.sequence_kl(lp, lr, sampled.response_mask, name).numpy() for name in pe.rlhf.KL_ESTIMATORS}
se = {name: est.std(ddof=1) / np.sqrt(len(est)) for name, est in estimates.items()}
for name in ("k1", "k3"):  # unbiased: within 4 standard errors of the exact value
    assert abs(estimates[name].mean() - exact_kl) < 4 * se[name]
assert estimates["abs"].mean() > exact_kl + 4 * se["abs"]  # biased upwards
assert estimates["k1"].min() < 0 <= estimates["k3"].min()  # k1 can be negative, k3 never
assert estimates["k2"].mean() > exact_kl + 4 * se["k2"]  # biased as well
assert estimates["k3"].std() < estimates["k1"].std()
with torch.no_grad():
    sampled_scores = toy.reward_model(sampled.tokens, sampled.response_mask).numpy()
noise = {"score": sampled_scores.std(ddof=1), "β·Σk1": 0.3 * estimates["k1"].std(ddof=1)}

# %%
# NBVAL_CHECK_OUTPUT
print(f"exact KL = {exact_kl:.3f}")
for name, est in estimates.items():
    print(f"{name:>4}: mean {est.mean():.3f}   std {est.std(ddof=1):.3f}   min {est.min():+.3f}")
print(f"spread over responses: std of the score {noise['score']:.2f}, std of β·Σk1 (β = 0.3) {noise['β·Σk1']:.2f}")

# %%
pe.plots.rlhf_kl_estimators(estimates, exact_kl)

# %% [markdown]
# k1 and k3 centre on the exact KL; k3 has the smaller spread here and is never negative. |k1|
# sits far above it, and ½k1² above it too: both are biased as *values*. PPO's reward (9.1)
# uses k1, as TRL does by default: its sum over a response is exactly the log-ratio of (9.3), so
# the return is an unbiased estimate of the objective. Its noise is also smaller than the
# score's: across responses, β·Σk1 spreads about a third as much as the score does.

# %%
assert noise["β·Σk1"] < 0.4 * noise["score"]

# %% [markdown]
# **½k1² as a loss.** Its gradient for a sampled response is
# $k_1(y)\,\nabla \log \pi_\theta(y|x)$. When $y$ is sampled from the current $\pi_\theta$,
#
# $$
# \nabla\, \mathrm{KL}(\pi_\theta \| \pi_{\text{ref}})
# = \sum_y \nabla\pi_\theta(y)\, k_1(y) + \sum_y \pi_\theta(y)\, \nabla\log\pi_\theta(y)
# = \mathbb{E}_{\pi_\theta}\big[k_1(y)\, \nabla\log\pi_\theta(y)\big],
# $$
#
# (the second sum is $\nabla \sum_y \pi_\theta(y) = 0$), so **at the level of whole responses the
# gradient of ½k1² is an unbiased estimate of ∇KL, exactly**, not only near
# $\pi_\theta = \pi_{\text{ref}}$. Applied *per token*, $\sum_t \tfrac12 k_{1,t}^2$ has gradient
# $\sum_t k_{1,t} \nabla\log\pi_\theta(y_t|\cdot)$: it drops the later tokens' log-ratios from each
# token's weight, and is not ∇KL. Both checked exactly by enumeration (responses to prompt `b`):

# %%
# NBVAL_CHECK_OUTPUT
theta = pe.toy_lm.nudged_policy(toy.reference).requires_grad_(True)
params = list(theta.parameters())
logp_theta = pe.toy_lm.all_sequence_logprobs(theta, requires_grad=True)[0]
ref0, w0 = toy.ref_logp_all[0], logp_theta.detach().exp()
grad_kl = torch.autograd.grad((logp_theta.exp() * (logp_theta - ref0)).sum(), params, retain_graph=True)
grad_seq = torch.autograd.grad((w0 * 0.5 * (logp_theta - ref0) ** 2).sum(), params)
rows0 = pe.toy_lm.all_rows(0)
k1_tok = (pe.toy_lm.token_logprobs(theta, rows0.tokens, rows0.attention_mask)
          - pe.toy_lm.token_logprobs(toy.reference, rows0.tokens, rows0.attention_mask)) * rows0.response_mask
grad_tok = torch.autograd.grad((w0.float() * 0.5 * (k1_tok**2).sum(1)).sum(), params)


def rel_error(a, b):
    a, b = torch.cat([x.flatten() for x in a]).double(), torch.cat([x.flatten() for x in b]).double()
    return float((a - b).norm() / b.norm())


err_seq, err_tok = rel_error(grad_seq, grad_kl), rel_error(grad_tok, grad_kl)
print(f"relative error against ∇KL:  sequence-level ½k1² below 1e-4: {err_seq < 1e-4},  per-token ½k1² {err_tok:.2f}")
assert err_seq < 1e-4 and err_tok > 0.1

# %% [markdown]
# **Exercise 9.3.** Write the per-token k3 estimator from `logp` and `logp_ref` (samples from π).

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
# For a fixed β, which policy maximises (9.3)? For each prompt write
# $\pi^*(y|x) = \pi_{\text{ref}}(y|x)\, e^{s(y)/\beta} / Z(x)$ with
# $Z(x) = \sum_y \pi_{\text{ref}}(y|x)\, e^{s(y)/\beta}$. Then for any π,
#
# $$
# \mathbb{E}_\pi[s] - \beta\,\mathrm{KL}(\pi\|\pi_{\text{ref}})
# = \beta \log Z - \beta\,\mathrm{KL}(\pi \,\|\, \pi^*)
# \tag{9.5}
# $$
#
# (expand $\mathrm{KL}(\pi\|\pi^*) = \mathbb{E}_\pi[\log \pi - \log \pi_{\text{ref}} - s/\beta + \log Z]$).
# KL ≥ 0, so the maximum is $\beta \log Z$, reached at $\pi = \pi^*$. Our response space is small
# enough to compute $\pi^*_\beta$ for every β: the best any training run can do. We check (9.5)
# numerically, then sweep β.

# %%
beta = 0.3
opt = pe.toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, beta)
for other in (toy.ref_logp_all, logp_nudged_all):
    stats = pe.toy_lm.distribution_stats(other, toy.ref_logp_all, toy.score_all, toy.gold_all)
    kl_to_opt = float((other.exp() * (other - opt["logp"])).sum(1).mean())
    assert abs(stats["score"] - beta * stats["kl"] - (opt["objective"] - beta * kl_to_opt)) < 1e-8
betas = np.geomspace(0.01, 10, 61)
sweep = pe.toy_lm.beta_sweep(toy, betas)
best = int(np.argmax(sweep["gold"]))
assert sweep["gold"][0] < sweep["gold_ref"] < sweep["gold"][best]  # too small β hurts the gold
hacked_betas = betas[np.asarray(sweep["gold"]) < sweep["gold_ref"]]  # gold worse than the SFT model's
assert hacked_betas.max() < betas[best]
assert all(a >= b for a, b in zip(sweep["kl"][:-1], sweep["kl"][1:], strict=True))  # KL falls as β grows

# %%
# NBVAL_CHECK_OUTPUT
print(f"β = {beta}: best objective β·E[log Z] = {opt['objective']:.3f}, E[s] = {opt['score']:.3f}, KL = {opt['kl']:.3f}")
print(f"gold is highest near β = {betas[best]:.2f}: E[gold] = {sweep['gold'][best]:.2f}"
      f" (SFT {sweep['gold_ref']:.2f}, β → 0: {sweep['gold'][0]:.2f})")
print(f"gold below the SFT model's for every β ≤ {hacked_betas.max():.2f} of the grid")
print("β → 0 favourite response to 'b':", pe.toy_lm.top_sequences(pe.toy_lm.kl_regularized_optimum(
    toy.ref_logp_all, toy.score_all, 0.0)["logp"], toy, 1))


# %%
def draw_sweep(beta):
    best = pe.toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, beta)
    return pe.plots.rlhf_beta_sweep(sweep, beta, pe.toy_lm.top_sequences(best["logp"], toy, 5), best["kl"])


draw_sweep(0.3)

# %% [markdown]
# Read it from the right. Large β: $\pi^*_\beta$ is the reference, nothing changes. As β shrinks
# the policy buys score with KL, and at first the gold preference rises with it: more `a`.
# Then the cheapest score left is `a` repeated, which the reward model cannot tell from `a` spread
# out; the gold preference falls, and for small enough β it ends *below* the SFT model's. This is
# **reward hacking** (over-optimisation of a proxy), and β is what holds it off. Move the slider
# (the curves are precomputed; only $\pi^*_\beta$'s likeliest responses to `b` are recomputed):

# %% tags=["nbval-ignore-output"]
pe.interactive.slider(draw_sweep, beta=(0.02, 2.0, 0.02, 0.3))

# %% [markdown]
# **Normalising the reward model.** Ziegler et al. (2019) shift and scale the reward model so
# that its score has mean 0 and standard deviation 1 on responses of the initial policy. By
# (9.5) that changes nothing essential: a constant added to every score of a prompt cancels in
# $\pi^* \propto \pi_{\text{ref}}\, e^{s/\beta}$, and dividing the score by σ is the same as
# multiplying β by σ. Normalising fixes the *units* of β (a `kl_coef` like TRL's 0.05 means
# something only for scores of a known scale; TRL itself does not normalise them), and it gives
# the critic targets of a known scale; it does not move the optimum.
# TRL's `whiten_rewards` (off by default) is a different, per-batch step: each per-token reward
# becomes $\mu + (r_t - \mu)/\sigma$, with μ and σ the mean and standard deviation over the
# batch's response tokens (`pe.rlhf.masked_whiten(..., shift_mean=False)`; here
# `RLHFConfig(whiten_rewards=True)`). The common factor 1/σ scales score and KL penalty alike,
# so β keeps its meaning; but the shift $(1 - 1/\sigma)\mu$ lands on *every* token, which adds
# a term proportional to the response's length, so the objective is no longer exactly (9.3).
# This notebook leaves it off, as TRL does.

# %%
# NBVAL_CHECK_OUTPUT
p_ref = toy.ref_logp_all.exp()
mu = float((p_ref * toy.score_all).sum(1).mean())
sigma = float(((p_ref * (toy.score_all - mu) ** 2).sum(1).mean()) ** 0.5)
normalised = pe.toy_lm.kl_regularized_optimum(toy.ref_logp_all, (toy.score_all - mu) / sigma, 0.3 / sigma)
print(f"under π_ref: mean score {mu:.3f}, std {sigma:.3f}; β = 0.3 on the raw score is β = {0.3 / sigma:.3f} "
      f"on the normalised one")
print("same optimal policy:", torch.allclose(normalised["logp"].exp(), opt["logp"].exp(), atol=1e-12))
assert torch.allclose(normalised["logp"].exp(), opt["logp"].exp(), atol=1e-12)

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
# after each batch of n responses. Ziegler et al. write $\beta \leftarrow \beta(1 + K_\beta e)$
# with $K_\beta = 0.1$; TRL's form is the same with $K_\beta = n/\text{horizon}$, so their
# $K_\beta = 0.1$ is a horizon of 10 n. TRL's older PPO trainer used an adaptive β by default
# (initial 0.2, target 6 nats, horizon 10 000: $K_\beta = 0.0256$ with the batch of 256 of its
# early releases, 0.0128 with the later default of 128); its current PPO trainer has a fixed
# `kl_coef = 0.05`. Too much KL raises β, too little lowers it,
# by at most a factor 1 ± 0.2·n/horizon per update. Below, an idealised loop where the policy
# reaches $\pi^*_\beta$ at once, so that the KL the controller sees is
# $\mathrm{KL}(\pi^*_\beta \| \pi_{\text{ref}})$: β should settle where that KL equals the target.

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
print(f"β: 0.05 → {settled:.3f};  KL: {demo['kl'][0]:.2f} → {demo['kl'][-1]:.2f} (target {target}); "
      f"K_β = n/horizon = {128 / 1000:g}")

# %%
pe.plots.rlhf_kl_controller(demo["beta"], demo["kl"], target)

# %% [markdown]
# **Exercise 9.4.** One update of the adaptive controller (9.6): return the new β.

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
# `pe.rlhf_train.train_rlhf` is the whole loop, with the course's own pieces, configured by a
# frozen `pe.rlhf_train.RLHFConfig`:
#
# 1. draw 128 prompts, sample one response each from $\pi_\theta$; keep $\log\pi_\theta$ (the
#    detached "old" log-probs), $\log\pi_{\text{ref}}$, the critic's $V$ and the score $s(y)$;
# 2. per-token rewards (9.1): `pe.rlhf.per_token_rewards`, with the response mask;
# 3. GAE over tokens with γ = 1, λ = 0.95: `pe.rlhf.token_advantages`, which calls
#    `pe.advantages.gae` with each response *terminating* at its last real token. (The GAE loop
#    quoted in the source notes runs over the whole padded length; with the score on the last real
#    token it equals ours only if V and the rewards are 0 after it, which terminating says
#    explicitly. TRL's current trainer zeroes V only from the second padding slot on, to match its
#    score one slot later.)
# 4. whiten the advantages over the response tokens of the batch (`pe.rlhf.masked_whiten`);
# 5. 4 epochs of 4 minibatches: `pe.losses.clipped_surrogate_loss` and `pe.losses.value_loss`,
#    both means over the response mask, and the gradient norm clipped.
#
# Where this differs from notebook 08, and why:
#
# | choice | notebook 08 (CartPole) | here | TRL's PPO | reason |
# |---|---|---|---|---|
# | value clipping | off | **off** | `cliprange_value = 0.2` | 08 shows it can freeze the critic; the returns here are scores of a few units, ε = 0.2 would cap the critic's moves at 0.2 |
# | advantage whitening | per minibatch | **over the batch**, response tokens only | over the batch | TRL's choice, kept so the loop reads as TRL's; the statistics of 128 responses are steadier than those of a minibatch of 32 |
# | gradient clipping | 0.5 | **1.0**, policy and critic together | `max_grad_norm = 1.0` (the field exists; its update loop calls no `clip_grad_norm_`, so only a DeepSpeed config applies it) | TRL's field's default |
# | value-loss weight | 0.5 | **0.1** | `vf_coef = 0.1` | TRL's; with a separate critic and Adam it barely matters: Adam divides each parameter's step by its own gradient scale, so only the joint gradient clip sees it |
# | γ, λ | 0.99, 0.95 | 1, 0.95 | 1, 0.95 | the return of a response is its whole score |
# | KL in the reward | — | k1, β = 0.3 (raw score) | k1, `kl_coef = 0.05` (normalised score) | see section 5 |
#
# TRL's PPO trainer left the core trainers for `trl.experimental.ppo` in November 2025; its
# defaults above are those of that `PPOConfig` (4 epochs, `cliprange = 0.2`, `whiten_rewards =
# False`). We run β = 0.3 and, from the same start, β = 0. After every iteration the exact E[s],
# E[gold] and KL of the current policy are computed by enumeration.

# %% tags=["nbval-ignore-output"]
n_iter = pe.runtime.budget(40, 12)
runs = {b: pe.rlhf_train.train_rlhf(toy, pe.rlhf_train.RLHFConfig(beta=b, iterations=n_iter)) for b in (0.3, 0.0)}
for b, run in runs.items():
    print(f"PPO, β = {b}: {n_iter} iterations in {run['seconds']:.1f} s")

# %%
hist, free = runs[0.3]["history"], runs[0.0]["history"]
optima = {b: pe.toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, b) for b in (0.3, 0.0)}
for b in optima:
    optima[b]["gold"] = float((optima[b]["logp"].exp() * toy.gold_all).sum(1).mean())
objective = [s - 0.3 * k for s, k in zip(hist["score"], hist["kl"], strict=True)]
best_s = float(toy.score_all.max(1).values.mean())
# the score rises, and the regularised objective gets most of the way to its exact maximum
assert hist["score"][-1] > hist["score"][0] + 1.0
assert objective[-1] > objective[0] + 0.8 * (optima[0.3]["objective"] - objective[0])
# KL stays bounded: any π with J(π) ≥ J(π_ref) has KL ≤ (E max s − E_ref[s]) / β; the run stays below that,
# and far below β = 0's
assert max(hist["kl"]) < (best_s - hist["score"][0]) / 0.3
assert hist["kl"][-1] < 0.5 * free["kl"][-1]
# late in the run the KL swings from one iteration to the next, but on average it sits near the optimum's
late_kl, late_score = np.mean(hist["kl"][-5:]), np.mean(hist["score"][-5:])
assert abs(late_kl - optima[0.3]["kl"]) < 1.0 and abs(late_score - optima[0.3]["score"]) < 0.3
# the gold preference improved with β = 0.3, and fell below the SFT model's with β = 0
assert hist["gold"][-1] > hist["gold"][0] + 0.5
assert free["gold"][-1] < hist["gold"][0] - 0.5

# %% tags=["nbval-ignore-output"]
print(f"{'':>14} {'E[s]':>7} {'E[gold]':>8} {'KL':>7}")
print(f"{'SFT':>14} {hist['score'][0]:7.2f} {hist['gold'][0]:8.2f} {hist['kl'][0]:7.2f}")
for b, h in ((0.3, hist), (0.0, free)):
    print(f"{'PPO β = ' + str(b):>14} {h['score'][-1]:7.2f} {h['gold'][-1]:8.2f} {h['kl'][-1]:7.2f}")
    print(f"{'best π*_β':>14} {optima[b]['score']:7.2f} {optima[b]['gold']:8.2f} {optima[b]['kl']:7.2f}")
print(f"β = 0.3: largest KL over the run {max(hist['kl']):.2f}, below the bound (E max s − E_ref[s])/β = "
      f"{(best_s - hist['score'][0]) / 0.3:.2f}")
print(f"β = 0.3, mean of the last 5 iterations: E[s] = {late_score:.2f}, KL = {late_kl:.2f}")

# %%
pe.plots.rlhf_training({"β = 0.3": hist, "β = 0 (no KL penalty)": free},
                       {"β = 0.3": optima[0.3], "β = 0 (no KL penalty)": optima[0.0]},
                       mark_peak=["β = 0 (no KL penalty)"])

# %% [markdown]
# With β = 0.3 the score climbs within a few iterations and the KL levels off near the optimum's,
# swinging from one iteration to the next. The gold preference ends well above the SFT model's.
# With β = 0 nothing holds the policy: the KL keeps growing until almost all mass is on one
# response per prompt, while the reward model's score is the highest of all.
#
# **Over-optimisation.** The β = 0 gold curve is not a plain fall: it first *rises*, as the
# policy writes more `a`, and only then collapses, once the cheapest score left is `a` repeated.
# This hump is the classic over-optimisation curve of Gao et al. (2022): the gold reward, as a
# function of the distance from the initial policy, peaks and then falls while the proxy keeps
# climbing. Measured on three seeds (the first 12 iterations of each β = 0 run):

# %% tags=["nbval-ignore-output"]
hump_seeds = pe.runtime.budget([0, 1, 2], [0])
humps = [free["gold"][:13]] + [pe.rlhf_train.train_rlhf(toy, pe.rlhf_train.RLHFConfig(beta=0.0, iterations=12, seed=s))
                               ["history"]["gold"] for s in hump_seeds[1:]]
for s, gold in zip(hump_seeds, humps, strict=True):
    i = int(np.argmax(gold))
    print(f"seed {s}: gold {gold[0]:.2f} (SFT) → peak {gold[i]:.2f} at iteration {i} → {gold[-1]:.2f} at iteration 12")

# %%
for gold in humps:
    peak = int(np.argmax(gold))
    assert 0 < peak <= 6 and gold[peak] > gold[0] + 0.8  # a clear rise within a few iterations ...
    assert gold[-1] < gold[0] - 0.5  # ... then below where it started

# %% [markdown]
# On every seed the gold preference climbs from 0.18 to a peak of 1.3–1.7 within 4 or 5
# iterations, then falls to about −1.7, below the SFT model's, while the score keeps rising.
# Stopping early, or a KL leash, keeps the policy on the rising side of the hump.
#
# Samples before and after, with the reward-model score and the gold preference of each
# (prompts `b`, `cd`, `bce`, `da`, `eab`, `e`):

# %% tags=["nbval-ignore-output"]
def show(name, policy, seed=3):
    shown = pe.toy_lm.sample(policy, torch.tensor([0, 2, 4, 3, 5, 1]), torch.Generator().manual_seed(seed))
    with torch.no_grad():
        s = toy.reward_model(shown.tokens, shown.response_mask)
    gold = pe.toy_lm.gold_reward(shown)
    texts = pe.toy_lm.decode(shown.responses, shown.responses_mask)
    cells = [f"{x:<7} s={a:+.1f} g={b:+.1f}" for x, a, b in zip(texts, s, gold, strict=True)]
    print(f"{name:>8}: " + " | ".join(cells[:3]) + "\n" + " " * 10 + " | ".join(cells[3:]))
    return texts


show("SFT", toy.reference)
show("β = 0.3", runs[0.3]["policy"])
hacked = show("β = 0", runs[0.0]["policy"])
assert hacked.count("aaaaaa") >= 4

# %% [markdown]
# The β = 0 policy writes `aaaaaa`: six liked letters for the reward model, five repeats for the
# gold preference, and a response that never ends. The β = 0.3 policy writes more `a` and longer
# responses, and repeats letters more often than the SFT model (the reward model does not see
# repeats), but far less than the β = 0 policy. Exactly, over all responses:

# %% tags=["nbval-ignore-output"]
n_a = ((toy.sequences == 0) & toy.sequence_mask).sum(1).double()
n_repeats = (n_a - toy.gold_all) / 1.5  # gold = #a − 1.5·#repeats
length = toy.sequence_mask.sum(1).double()
table = {"SFT": toy.ref_logp_all, "PPO β = 0.3": pe.toy_lm.all_sequence_logprobs(runs[0.3]["policy"]),
         "PPO β = 0": pe.toy_lm.all_sequence_logprobs(runs[0.0]["policy"])}
print(f"{'':>12} {'E[#a]':>6} {'E[#repeats]':>12} {'E[length]':>10}")
expect = {}
for name, logp_all in table.items():
    p_all = logp_all.exp()
    expect[name] = [float((p_all * x).sum(1).mean()) for x in (n_a, n_repeats, length)]
    print(f"{name:>12} {expect[name][0]:6.2f} {expect[name][1]:12.2f} {expect[name][2]:10.2f}")
assert expect["SFT"][1] < expect["PPO β = 0.3"][1] < 0.5 * expect["PPO β = 0"][1]
assert expect["PPO β = 0.3"][0] > expect["SFT"][0] + 1.0

# %% [markdown]
# The per-token rewards of one response from the trained β = 0.3 policy: the KL penalty is now
# paid on several tokens, and the score on the last real one.

# %%
policy = runs[0.3]["policy"]
picked = pe.toy_lm.sample(policy, torch.full((50,), 2), torch.Generator().manual_seed(5))
pick = int(torch.nonzero(picked.responses_mask.sum(1) == 5)[0])  # a response of 5 tokens to "cd"
parts = pe.toy_lm.reward_parts(policy, toy, picked[[pick]], beta=0.3)
pe.plots.rlhf_token_rewards(**parts)

# %% [markdown]
# ## 7. Beyond PPO: GRPO and RLOO
#
# PPO's critic is a second network, trained alongside the policy, whose only job is a baseline
# per token. Two critic-free methods replace it with **other responses to the same prompt**:
# sample G responses per prompt, and compare each with its group.
#
# * **RLOO** (REINFORCE leave-one-out; Kool et al., 2019, Ahmadian et al., 2024): the return of
#   response $i$ is $R_i = s(y_i) - \beta \sum_t k_{1,t}$ (the same KL-in-the-reward as PPO), and
#   its advantage, on every token of the response, is
#   $A_i = R_i - \frac{1}{G-1}\sum_{j\ne i} R_j$ (9.7). The baseline leaves $R_i$ out, so the
#   gradient stays unbiased.
# * **GRPO** (Shao et al., 2024): $A_i = (s_i - \operatorname{mean}_j s_j)/\operatorname{std}_j s_j$
#   (9.8) on every token, and the KL leaves the reward for the loss, as β times the per-token k3
#   of $\mathrm{KL}(\pi_\theta \| \pi_{\text{ref}})$ (ratio $\pi_{\text{ref}}/\pi_\theta$: the
#   samples come from $\pi_\theta$). k3 is an unbiased estimate of that KL's *value*, but as a
#   loss on the sampled tokens its gradient is $(1 - \pi_{\text{ref}}/\pi_\theta)\nabla\log\pi_\theta$,
#   whose expectation under $\pi_\theta$ is $-\sum_y \pi_{\text{ref}}\nabla\log\pi_\theta =
#   \nabla\,\mathrm{KL}(\pi_{\text{ref}} \| \pi_\theta)$: it pulls along the *other* direction of
#   the KL (section 4 asks the same of ½k1², whose sequence-level gradient is exactly that of
#   KL(π_θ ‖ π_ref)).
#
# Same task, same budget: 128 responses per iteration, the same clipped surrogate, 4 epochs of
# 4 minibatches, β = 0.3, learning rate and gradient clip. PPO spends its 128 responses on 128
# prompts, one each; GRPO and RLOO on 16 prompts, 8 responses each.
#
# **Exercise 9.5.** The RLOO advantage (9.7): `returns` holds consecutive groups of `group_size`
# responses to the same prompt.

# %%
def rloo_advantages(returns, group_size):
    ### BEGIN SOLUTION
    r = returns.reshape(-1, group_size)
    others = (r.sum(dim=1, keepdim=True) - r) / (group_size - 1)
    return (r - others).reshape(-1)
    ### END SOLUTION


pe.exercises.rloo_advantages.check(rloo_advantages)

# %% [markdown]
# The three methods, each over several seeds (the full notebook runs 4 seeds of 30 iterations,
# the quick test mode 2 of 8):

# %% tags=["nbval-ignore-output"]
seeds, n_cmp = pe.runtime.budget(range(4), range(2)), pe.runtime.budget(30, 8)
comparison = pe.rlhf_train.compare_methods(toy, seeds, n_cmp)
finals = {}
print(f"{'':>20} {'objective':>16} {'E[gold]':>16} {'KL':>16} {'prompts/batch':>14} {'s per run':>10}")
for label, hists in comparison["histories"].items():
    j = np.array([h["score"][-1] - 0.3 * h["kl"][-1] for h in hists])
    gold, kl = np.array([h["gold"][-1] for h in hists]), np.array([h["kl"][-1] for h in hists])
    finals[label] = {"objective": j, "gold": gold, "kl": kl}
    cfg = pe.rlhf_train.METHODS[label]
    cells = [f"{x.mean():6.3f} ± {x.std(ddof=1) / np.sqrt(len(x)):5.3f}" for x in (j, gold, kl)]
    print(f"{label:>20} {cells[0]:>16} {cells[1]:>16} {cells[2]:>16} {cfg.batch_size // cfg.group_size:>14} "
          f"{np.mean(comparison['seconds'][label]):>10.1f}")
print(f"{'best π*_0.3':>20} {optima[0.3]['objective']:>16.3f} {optima[0.3]['gold']:>16.3f} {optima[0.3]['kl']:>16.3f}")
print("(mean ± standard error over seeds, at the last iteration; seconds depend on the machine)")

# %%
pe.plots.rlhf_methods(comparison["histories"], 0.3, optima[0.3])

# %%
start_j = hist["score"][0] - 0.3 * hist["kl"][0]
ppo, grpo, rloo = (finals[k] for k in pe.rlhf_train.METHODS)
for f in (ppo, grpo, rloo):  # every method climbs well above the SFT model's objective ...
    assert f["objective"].min() > start_j + 0.6 * (optima[0.3]["objective"] - start_j)
    assert f["objective"].max() < optima[0.3]["objective"] + 1e-6  # ... and none beats the exact optimum
assert abs(ppo["objective"].mean() - rloo["objective"].mean()) < 0.05  # PPO and RLOO: the same objective
assert grpo["objective"].max() < min(ppo["objective"].min(), rloo["objective"].min())  # GRPO below, every seed
if not pe.runtime.quick_mode():  # at the full budget GRPO also ends with less gold
    assert grpo["gold"].mean() < min(ppo["gold"].mean(), rloo["gold"].mean()) - 0.2

# %% [markdown]
# What the numbers say (the full run: 4 seeds, 30 iterations, mean ± standard error):
#
# * **What the critic buys.** PPO and RLOO reach the same objective, 1.14 and 1.15 against the
#   exact optimum's 1.18, with the same gold (1.34 ± 0.06, 1.40 ± 0.02) and the same KL. On
#   this task the critic buys no extra objective, and it costs a second network trained beside
#   the policy (the seconds column). What it does buy is a baseline *per token* from **one**
#   response per prompt: PPO needs no group, which matters when prompts are many and each
#   generation is expensive.
# * **What the group costs.** GRPO and RLOO need G responses per prompt for their baseline: at a
#   fixed budget of 128 responses they see 16 prompts per batch instead of 128. With 6 prompts
#   in the toy that costs nothing; on real data it is 8× fewer prompts per update for G = 8.
# * **The KL each ends at.** PPO 4.60 ± 0.20 and RLOO 4.59 ± 0.16 nats, against the
#   optimum's 4.55: both put β·k1 in the reward, as (9.3) asks, and settle there within about
#   10 iterations. GRPO climbs more slowly, overshoots and has not settled by iteration 30
#   (4.98 ± 0.13, above the optimum's 4.55) while its gold falls (0.96 ± 0.08, after a peak near
#   iteration 10 in the figure); its objective is below PPO's and RLOO's on every seed. GRPO
#   changes three things at once: the score divided by its group's spread (its advantage has no
#   units while its KL term is in nats), the KL moved into the loss, and that loss's k3, whose
#   gradient is that of KL(π_ref ‖ π_θ), not of the KL in (9.3); this comparison does not tell
#   which of them does it.

# %% [markdown]
# ## Recap
#
# * Generation is an episode over the **response** tokens. A batch row is
#   `[left-padded prompt | right-padded response]`; padding shares the EOS id, so only the masks
#   tell them apart, and the **response mask** (EOS included, prompt and padding excluded) goes
#   into every log-prob, KL, reward, advantage and loss.
# * The RLHF reward (9.1): −β·(log π_θ − log π_ref) on every response token, the score added on
#   the **last real token**, nothing elsewhere. Its expected sum is E[s] − β·KL (9.3), checked
#   here exactly by enumeration. TRL's `missing_eos_penalty` handles responses that never end.
# * Per-token k1 is a log-ratio, not a KL. k3 = (r − 1) − log r with r = q/p for samples of p is
#   unbiased and never negative; |k1| and ½k1² are biased as values, but the gradient of ½k1² on
#   whole responses is exactly ∇KL in expectation (per token it is not).
# * For a given β the best policy is π_ref·e^(s/β)/Z (9.5); normalising the score only changes
#   β's units. Small β lets the policy exploit the reward model's blind spot; the adaptive
#   controller (9.6) steers β with K_β = n/horizon. The reward model sits near the Bayes ceiling
#   of its noisy labels and is still exploitable.
# * PPO over tokens is notebook 08's PPO with GAE over each response, masked losses and batch
#   whitening of advantages, with TRL's choices stated. With β = 0.3 the score rose with a
#   bounded KL; with β = 0 the gold preference rose, peaked within a few iterations, then fell
#   below the SFT model's: over-optimisation.
# * On the same budget (128 responses per iteration, 4 seeds of 30 iterations) RLOO matches PPO
#   without a critic: objective 1.15 and 1.14 (optimum 1.18), gold 1.40 and 1.34, KL 4.6 for
#   both, at 8 responses per prompt instead of 1. GRPO ends lower (objective 1.03, gold 0.96, KL
#   5.0). A PPO run takes longer than an RLOO or GRPO run (it also trains the critic; section 7
#   prints the times of the build you read).
#
# Next: **10 · CartPole on the GPU**, everything together on a classic control task.
