# %% [markdown]
# # 08 · Actor-critic PPO: the full update
#
# Notebooks 05–07 built the pieces: the clipped policy loss, a learned critic, GAE. This notebook
# assembles them into the update that PPO implementations actually run, one step at a time, and
# then trains CartPole with the package's implementation for a few seconds.
#
# **You will learn**
# 1. the actor and the critic as two separate MLPs, and why their last layers start tiny / unit-sized
#    (orthogonal initialisation);
# 2. a rollout from a vector environment, its advantages and return targets;
# 3. the PPO loss: clipped policy loss, value loss (and what clipping it does, correctly, and when
#    that hurts), entropy bonus;
# 4. the update loop: epochs over shuffled minibatches, advantages normalised per minibatch,
#    gradient-norm clipping; and why the ratio is exactly 1 on the first minibatch;
# 5. the diagnostics panel: approximate KL (k1 and k3), clip fraction, entropy, explained variance
#    (and when it means nothing), the critic's spread against its targets, saturated units; KL
#    early stopping; and what a dead critic looks like.

# %%
import copy

import numpy as np
import torch

import ppo_edu as pe

torch.set_num_threads(1)

# %% [markdown]
# ## 1. Actor and critic
#
# The actor maps an observation to the logits of a categorical policy, the critic to a number:
#
# $$\pi_\theta(a \mid s) = \operatorname{softmax}(z_\theta(s))_a, \qquad V_\phi(s) \in \mathbb{R}. \tag{8.1}$$
#
# `pe.agents.ActorCritic` builds them as two separate tanh MLPs (64-64), with no shared layers,
# so that the value loss cannot disturb the policy's features. Every weight matrix starts
# **orthogonal**, scaled by a gain: √2 in the hidden layers, 1 for the value head, and **0.01**
# for the policy head, so the first policy is almost uniform.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
agent = pe.agents.ActorCritic(obs_dim=4, n_actions=2, hidden=(64, 64))
print(agent)
head = agent.actor[-1].weight  # (2, 64): orthogonal rows with norm 0.01
assert torch.allclose(head @ head.T, 0.01**2 * torch.eye(2), atol=1e-7)
hidden_w = agent.actor[2].weight  # (64, 64): √2 · orthogonal
assert torch.allclose(hidden_w @ hidden_w.T, 2.0 * torch.eye(64), atol=1e-4)
value_head = agent.critic[-1].weight  # (1, 64): a unit-norm row
assert abs(float(value_head.detach().norm()) - 1.0) < 1e-6
with torch.no_grad():
    probs = torch.softmax(agent.logits(torch.randn(1000, 4)), -1)
print("largest deviation of the initial π from uniform:", round(float((probs - 0.5).abs().max()), 4))
assert float((probs - 0.5).abs().max()) < 0.02

# %% [markdown]
# ## 2. A rollout and its advantages
#
# N = 8 CartPole environments step together (`pe.envs.make_cartpole(8, "gymnasium")`, gymnasium's
# vector env, asked for `AutoresetMode.SAME_STEP`: a finished episode restarts in the same step,
# and `info["final_obs"]` keeps its real last observation; gymnasium's own default, NEXT_STEP,
# would restart it on the following call instead). For T = 128 steps we store the observation, the action, log π_old(a|s), the
# reward and the two end flags. Time-major, shapes (T, N).

# %%
T, N = 128, 8
env = pe.envs.make_cartpole(N, "gymnasium", seed=0)
obs, _ = env.reset(seed=0)
gen = torch.Generator().manual_seed(1)
store = {k: [] for k in ("obs", "actions", "logp", "rewards", "terminated", "truncated", "final_obs")}
with torch.no_grad():
    for _ in range(T):
        action, logp = agent.sample(obs, gen)
        next_obs, reward, term, trunc, info = env.step(action)
        for k, v in zip(store, (obs, action, logp, reward, term, trunc, info["final_obs"]), strict=True):
            store[k].append(v)
        obs = next_obs
ro = {k: torch.stack(v) for k, v in store.items()}
last_obs = obs
print({k: tuple(v.shape) for k, v in ro.items()})

# %% [markdown]
# The critic scores every stored state. V(s_{t+1}) is the next row inside an episode, V(last_obs)
# after the last row, and V(real final observation) where an episode was truncated
# (`pe.advantages.bootstrap_next_values`). Then GAE (7.3) and the **return targets** the critic
# regresses on,
#
# $$R_t = \hat A_t + V_\text{old}(s_t),$$
#
# the λ-return: the TD target at λ = 0, the Monte-Carlo return at λ = 1 (bootstrapped from V where
# the rollout cuts an episode off).

# %%
# NBVAL_CHECK_OUTPUT
gamma, lam = 0.99, 0.95
with torch.no_grad():
    values = agent.value(ro["obs"])
    next_values = pe.advantages.bootstrap_next_values(values, agent.value(last_obs), ro["truncated"],
                                                      agent.value(ro["final_obs"]))
advantages = pe.advantages.gae(ro["rewards"], values, next_values, ro["terminated"], ro["truncated"], gamma, lam)
returns = advantages + values
n_ends = int(ro["terminated"].sum())
print(f"{n_ends} episodes ended in the rollout; advantages {tuple(advantages.shape)}, "
      f"returns {tuple(returns.shape)}")
assert n_ends > 0 and not bool(ro["truncated"].any())  # a random policy falls long before step 500

# %% [markdown]
# ## 3. The loss
#
# The critic's loss is ½(V − R)², `pe.losses.value_loss`, optionally **clipped** around the
# old prediction:
#
# $$V_\text{clip} = V_\text{old} + \operatorname{clip}(V - V_\text{old}, -\epsilon, \epsilon), \qquad L^V = \tfrac12\,\mathbb{E}_t\Big[\max\big((V - R)^2,\ (V_\text{clip} - R)^2\big)\Big]. \tag{8.2}$$
#
# The max (a pessimistic bound, like the policy's min) means: moving V towards R by more than ε
# from V_old earns nothing. The source notes write V_clip = clip(V_new, V_old + ε, V_old − ε), with
# the bounds swapped and without the max: torch.clamp with min > max returns its max argument,
# V_old − ε, everywhere, a constant, so the critic gets no gradient at all.
#
# For a minibatch, PPO then minimises
#
# $$L = -L^\text{CLIP}(\theta) + c_V\, L^V(\phi) - c_H\, \mathbb{E}_t\big[H[\pi_\theta(\cdot \mid s_t)]\big]. \tag{8.3}$$
#
# * −L^CLIP is (5.2), `pe.losses.clipped_surrogate_loss`, on advantages **normalised within the
#   minibatch** (mean 0, std 1 over all its entries, `pe.advantages.normalize`): the scale of
#   rewards then does not set the step size.
# * The entropy bonus H rewards keeping the policy random (exploration); `pe.losses.categorical_entropy`.
#   For CartPole c_H is 0 in RL-Zoo's tuned settings and in this course; CleanRL's `ppo.py` keeps 0.01.
#
# **When value clipping hurts.** ε is in the units of the *returns*. CartPole's discounted
# returns grow towards 1/(1 − γ) = 100; with ε = 0.2 the critic gets a gradient only while its
# prediction is within 0.2 of V_old. Gradient descent on one prediction V_old = 0 against R = 50,
# clipped and not:

# %%
# NBVAL_CHECK_OUTPUT
for clip in (None, 0.2):
    v = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([v], lr=0.1)
    trace = []
    for _ in range(100):  # 100 steps on the same batch, as in several epochs
        loss = pe.losses.value_loss(v, torch.tensor([50.0]), values_old=torch.zeros(1), clip_eps=clip)
        opt.zero_grad()
        loss.backward()
        opt.step()
        trace.append(float(v.detach()))
    print(f"value clip {clip}: V after 1, 2, 100 steps = {trace[0]:.2f}, {trace[1]:.2f}, {trace[-1]:.2f} (target 50); "
          f"|gradient| now {abs(float(v.grad)):.1f}")
    if clip is None:
        assert abs(trace[-1] - 50) < 0.01
    else:
        assert trace[-1] == trace[0] > 0.2 and float(v.grad) == 0.0  # frozen after one step

# %% [markdown]
# Clipped, the critic takes one step, lands beyond V_old + ε = 0.2, and never moves again: there
# the max picks the clipped term, which does not depend on V, so the gradient is exactly 0 for the
# rest of the update. (With smaller steps it would creep up and stop at its first step past V_old + ε.)
# Engstrom et al. (2020) and Andrychowicz et al. (2021) found value clipping neutral to harmful;
# the package leaves it off by default (`clip_value=None`). Notebook 11 measures it on CartPole.
# Libraries differ here: CleanRL's `ppo.py` clips by default (`clip_vloss=True`) with this max;
# SB3's `clip_range_vf` (off by default) uses the clipped prediction alone, without the max, the
# variant Exercise 8.1 calls `only_clipped_term`.
#
# ## 4. One epoch by hand, and the package's update
#
# The batch is B = T·N = 1024 samples, flattened. An epoch shuffles them and walks through
# minibatches of M = 256. On the very first minibatch the policy has not changed yet, so
# log π_θ = log π_old and **every ratio is 1**: exactly here, where the rollout and the update
# compute with the same kernels on the CPU, and up to float rounding (about 1e-7) where batch
# shapes or devices differ. A check worth keeping in any implementation: with the same network code
# and float32 on both sides, as here, |ρ − 1| above 1e-6 on the first minibatch means the stored
# log-probs do not belong to the acting policy. (Where acting and learning legitimately compute
# differently, in bf16 or TF32, or with a separate inference engine as in notebook 09's language
# models, the gap is larger: take the threshold from a run known to be right.)
#
# The settings come from one frozen config, `pe.train.NOTEBOOK_08` (the run of §6), with one epoch;
# one difference: this hand-made batch keeps CartPole's raw rewards, +1 per step (the trainer
# scales them by 0.1, §6).
# The names are CleanRL's (`newlogprob`, `mb_advantages`, `pg_loss`, `v_loss`, `entropy_loss`), and
# the lines are the package's own, as the next cell shows.

# %%
cfg1 = pe.train.NOTEBOOK_08.replace(epochs=1)
flat = {"obs": ro["obs"].reshape(T * N, 4), "actions": ro["actions"].reshape(-1), "logp": ro["logp"].reshape(-1),
        "advantages": advantages.reshape(-1), "returns": returns.reshape(-1), "values": values.reshape(-1)}
B, M = T * N, T * N // cfg1.num_minibatches
agent_pkg = copy.deepcopy(agent)  # for the comparison with the package below
opt = torch.optim.Adam(agent.parameters(), lr=cfg1.lr, eps=1e-5)
perm = torch.argsort(torch.rand(1, B, generator=torch.Generator().manual_seed(3)), dim=1)[0]
diag = []
for k in range(cfg1.num_minibatches):
    mb = {key: v[perm[k * M : (k + 1) * M]] for key, v in flat.items()}
    logits, newvalue = agent.logits(mb["obs"]), agent.value(mb["obs"])
    newlogprob = torch.log_softmax(logits, dim=-1).gather(-1, mb["actions"].unsqueeze(-1)).squeeze(-1)
    if k == 0:
        first_ratio = torch.exp(newlogprob - mb["logp"])
        assert torch.equal(first_ratio, torch.ones_like(first_ratio))  # exactly 1, not approximately
    mb_advantages = pe.advantages.normalize(mb["advantages"])
    pg_loss = pe.losses.clipped_surrogate_loss(newlogprob, mb["logp"], mb_advantages, cfg1.clip_eps)  # −L^CLIP (5.2)
    v_loss = pe.losses.value_loss(newvalue, mb["returns"], mb["values"], cfg1.clip_value)  # (8.2)
    entropy_loss = pe.losses.categorical_entropy(logits)
    loss = pg_loss - cfg1.ent_coef * entropy_loss + cfg1.vf_coef * v_loss  # (8.3)
    opt.zero_grad()
    loss.backward()
    actor_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in agent.actor.parameters()]))
    grad_norm = torch.nn.utils.clip_grad_norm_(agent.parameters(), cfg1.max_grad_norm)
    opt.step()
    with torch.no_grad():
        new_logp = torch.log_softmax(agent.logits(mb["obs"]), -1).gather(-1, mb["actions"][:, None])[:, 0]
        diag.append((float(pe.losses.approx_kl(new_logp, mb["logp"])),
                     float(pe.losses.clip_fraction(torch.exp(new_logp - mb["logp"]), cfg1.clip_eps))))
    print(f"minibatch {k}: policy loss {pg_loss.item():+.4f}, value loss {v_loss.item():6.2f}, "
          f"entropy {entropy_loss.item():.4f}, grad norm before clip {float(grad_norm):.2f} "
          f"(actor's part {float(actor_norm):.2f})")

# %% [markdown]
# The gradient norm is far above 0.5, and almost all of it is the critic's (the value loss
# dominates at first: these returns are unscaled, up to 1/(1 − γ) = 100; §6's run, on scaled
# rewards, is printed there). `clip_grad_norm_`
# rescales the whole gradient, actor's part included, to norm 0.5. With Adam a rescaling that hits
# every step alike changes little, since Adam divides by a running RMS of the gradient; what the
# clip bounds is how much one unusually large minibatch gradient can weigh in Adam's running averages.
#
# The package's loss, `pe.train.ppo_loss`, holds the same lines (for P agents at once: the
# `mb_advantages` are whitened per member), and `pe.train.ppo_update` is the loop around it:

# %%
import inspect

update_src = inspect.getsource(pe.train.ppo_update)
print(update_src[update_src.index("    batch = _population_batch"):])
loss_src = inspect.getsource(pe.train.ppo_loss)
for line in ("newlogprob = torch.log_softmax(logits, dim=-1).gather(", "pg_loss = losses.clipped_surrogate_loss(newlogprob",
             "v_loss = losses.value_loss(newvalue, mb.returns, mb.values, cfg.clip_value)",
             "entropy_loss = losses.categorical_entropy(logits"):
    assert line in loss_src  # the lines of the hand-written epoch above

# %% [markdown]
# Run through it, the same epoch with the same shuffle leaves the networks in the same state:

# %%
# NBVAL_CHECK_OUTPUT
batch = pe.train.Batch(**{k: flat[k] for k in ("obs", "actions", "logp", "advantages", "returns", "values")})
opt_pkg = torch.optim.Adam(agent_pkg.parameters(), lr=cfg1.lr, eps=1e-5)
stats = pe.train.ppo_update(agent_pkg, opt_pkg, batch, cfg1, generator=torch.Generator().manual_seed(3))
max_diff = max(float((p - q).detach().abs().max()) for p, q in zip(agent.parameters(), agent_pkg.parameters(), strict=True))
print("largest parameter difference, by hand vs pe.train.ppo_update:", f"{max_diff:.1e}")
print("ppo_update's first-minibatch max |ρ − 1|:", stats["first_ratio_max_dev"])
assert max_diff < 1e-5 and stats["first_ratio_max_dev"] == 0.0

# %% [markdown]
# ## 5. Diagnostics
#
# The update reports a panel of numbers (`pe.train.DIAGNOSTICS`). Each tells something specific:
#
# * **approximate KL** between π_old and π_θ, estimated from the sampled actions (`pe.losses.approx_kl`).
#   With log ρ = log π_θ − log π_old, k1 = −log ρ is unbiased but single samples, and even the
#   batch mean, can be *negative*; k3 = (ρ − 1) − log ρ is unbiased and never negative (ρ − 1 ≥ log ρ).
#   A mean KL that goes negative is k1's noise, not a bug. Around 0.01 per update is typical; much
#   larger means the updates are too big (learning rate, epochs).
# * **clip fraction**: the share of samples whose ratio left [1 − ε, 1 + ε]
#   (`pe.losses.clip_fraction`). Only in cases 3 and 4 of notebook 05 does the clip switch a
#   sample's gradient off; in cases 1 and 6 the ratio is outside the band but its gradient still
#   flows, so the clip fraction counts more samples than the clip silences. Exactly 0 on every
#   update means the clip never acts (or ρ ≡ 1: notebook 11's lab); a fraction that keeps rising
#   above ~0.2 says the policy moves further per update than ε allows.
# * **entropy** of π in nats: ln 2 ≈ 0.693 for a coin flip over CartPole's two actions, falling as
#   the policy becomes sure. A collapse to 0 early means exploration died.
# * **explained variance** of the targets by the critic, 1 − Var[R − V]/Var[R]
#   (`pe.losses.explained_variance`): 1 is a perfect critic, 0 no better than a constant, < 0 worse.
#   It is a ratio, so it is only as meaningful as Var[R] is large: when the targets stop varying,
#   it is noise (and undefined at Var[R] = 0).
# * **spread of V against the spread of the targets**: std of V_old over the batch beside std of R.
#   A critic whose std of V is near 0 while std R is large predicts a constant: it is dead.
# * **saturated hidden units**: the share of tanh units with |h| > 0.99, where tanh' = 1 − h² < 0.02,
#   so almost no gradient flows through them. Large values in the critic are how a critic dies.
#
# Each estimator against a case with a known answer first. KL from samples versus the exact KL of
# two categorical distributions; explained variance of a perfect, a constant and a bad prediction:

# %%
# NBVAL_CHECK_OUTPUT
p_old = torch.tensor([0.5, 0.3, 0.2])
p_new = torch.tensor([0.4, 0.4, 0.2])
a_samples = torch.multinomial(p_old, 200_000, replacement=True, generator=torch.Generator().manual_seed(0))
k1 = float(pe.losses.approx_kl(p_new.log()[a_samples], p_old.log()[a_samples], "k1"))
k3 = float(pe.losses.approx_kl(p_new.log()[a_samples], p_old.log()[a_samples], "k3"))
exact_kl = float(pe.losses.categorical_kl(p_old.log(), p_new.log()))
print(f"KL(π_old ‖ π_new): exact {exact_kl:.4f}, k1 estimate {k1:.4f}, k3 estimate {k3:.4f}")
assert abs(k3 - exact_kl) < 0.002 and abs(k1 - exact_kl) < 0.003
# in batches of 20 samples, k1 can come out negative, k3 cannot
k1_20 = [float(pe.losses.approx_kl(p_new.log()[a_samples[i:i + 20]], p_old.log()[a_samples[i:i + 20]], "k1"))
         for i in range(0, 20_000, 20)]
k3_20 = [float(pe.losses.approx_kl(p_new.log()[a_samples[i:i + 20]], p_old.log()[a_samples[i:i + 20]], "k3"))
         for i in range(0, 20_000, 20)]
print(f"1000 batches of 20 samples: k1 < 0 in {np.mean(np.array(k1_20) < 0):.0%}, k3 < 0 in {np.mean(np.array(k3_20) < 0):.0%}")
assert np.mean(np.array(k1_20) < 0) > 0.2 and min(k3_20) >= 0
y = torch.randn(1000, generator=torch.Generator().manual_seed(1))
for name, pred in (("perfect", y), ("constant", torch.full_like(y, float(y.mean()))), ("negated", -y)):
    print(f"explained variance, {name} critic: {float(pe.losses.explained_variance(pred, y)):+.3f}")
assert abs(float(pe.losses.explained_variance(y, y)) - 1) < 1e-6

# %% [markdown]
# And the values of the epoch above (they depend on this machine's floating point, so they are not
# compared by the tests):

# %% tags=["nbval-ignore-output"]
for k, (kl, cf) in enumerate(diag):
    print(f"after minibatch {k}: approx KL {kl:.5f}, clip fraction {cf:.3f}")
print("explained variance of the initial critic:", round(float(pe.losses.explained_variance(values, returns)), 3))

# %% [markdown]
# ### KL early stopping
#
# The clip does not bound how far the policy moves: it only stops *rewarding* moves past 1 ± ε, and
# Adam's momentum keeps pushing ratios out for several steps (notebook 05). A common brake is **KL
# early stopping**: once the approximate KL to π_old exceeds a `target_kl`, the policy stops
# taking steps on this batch. Libraries place the check differently: CleanRL's `ppo.py` (off by
# default, `target_kl=None`) checks after each epoch, with its last minibatch's KL, and skips the
# remaining epochs; SB3 (off by default too) checks every minibatch, before its step, against
# 1.5 × `target_kl`; Spinning Up takes up to 80 full-batch policy steps and stops them once the KL
# exceeds 1.5 × its target, while its value function's steps go on. `PPOConfig(target_kl=...)`
# checks after each epoch, with k3 and the whole epoch: an epoch's KL is the mean over its
# minibatches of the KL to π_old, measured just before each step (the numbers printed after the
# hand-made epoch above were measured just after each step). On the batch above, continuing from
# the networks that `ppo_update` left there (one epoch done) with a fresh Adam, at a learning rate
# eight times too large: first the KL of each of ten epochs without a brake (run one epoch at a
# time, with the same shuffles), then the same update with `target_kl = 0.02`:

# %% tags=["nbval-ignore-output"]
fast = pe.train.NOTEBOOK_08.replace(lr=2e-2)
probe = copy.deepcopy(agent_pkg)
opt_probe, gen_probe = torch.optim.Adam(probe.parameters(), lr=fast.lr, eps=1e-5), torch.Generator().manual_seed(4)
epoch_kl = [pe.train.ppo_update(probe, opt_probe, batch, fast.replace(epochs=1), gen_probe)["approx_kl_k3"] for _ in range(10)]
print("mean approx KL (k3) of each epoch, no brake:", np.round(epoch_kl, 3))
braked = copy.deepcopy(agent_pkg)
d = pe.train.ppo_update(braked, torch.optim.Adam(braked.parameters(), lr=fast.lr, eps=1e-5), batch,
                        fast.replace(epochs=10, target_kl=0.02), torch.Generator().manual_seed(4))
first_above = next((i + 1 for i, kl in enumerate(epoch_kl) if kl > 0.02), None)
print(f"with target_kl = 0.02: {int(d['epochs_done'])} epoch(s) run; the first epoch whose KL exceeds 0.02 is epoch {first_above}")
assert first_above is not None and d["epochs_done"] == first_above < 10
assert all(0.004 < kl < 0.02 for kl in epoch_kl[:8]) and epoch_kl[8] > 0.03 and epoch_kl[9] < 0.02  # what the text reads

# %% [markdown]
# Here the KL to π_old does not build up steadily: at this learning rate the policy swings back
# and forth, and the epoch means move between about 0.005 and 0.017 until the ninth jumps to 0.038.
# The brake fires right after that first epoch above the target and skips the last one (whose KL,
# 0.004, would not have fired it): it bounds an update only at epoch boundaries, after the damage of
# the epoch that crossed. Whether it helps a whole run, and by how much, is an empirical question:
# notebook 11 measures KL early stopping over many seeds.
#
# ## 6. Training CartPole, and reading the panel
#
# `pe.train.Trainer` runs all of this in a loop: rollout (T = 128, N = 8, gymnasium's vector
# env on the CPU), GAE (γ = 0.99, λ = 0.95), then 4 epochs of 4 minibatches, with the learning
# rate annealed to 0. The run is `pe.train.NOTEBOOK_08`, a frozen dataclass with every field
# documented. One setting deserves a word: **`reward_scale=0.1`** (the course default). CartPole pays +1 per step, so the
# discounted return approaches 1/(1 − γ) = 100; scaled by 0.1 the critic's targets stay below 10.
# The policy loss never sees the scale directly (advantages are whitened per minibatch), but the
# critic does, and through the critic the advantages do, as the end of this section shows.

# %%
cfg = pe.train.NOTEBOOK_08
print(cfg)

# %% tags=["nbval-ignore-output"]
trainer = pe.train.Trainer(cfg)
trainer.train(progress=False)
m = trainer.metrics()  # one array per diagnostic, one entry per iteration
first, last = m["return"][0], float(np.nanmean(m["return"][-5:]))
print(f"mean episode return: first iteration {first:.1f}, last five iterations {last:.1f}")
peak = int(np.nanargmax(m["return_std"]))
print(f"std of the targets R: {m['return_std'][peak]:.2f} at iteration {peak + 1}, "
      f"{np.mean(m['return_std'][-5:]):.3f} over the last five")
print(f"explained variance: {np.nanmean(m['explained_variance'][5:peak + 1]):.2f} on average over iterations 6–{peak + 1}, "
      f"{np.nanmean(m['explained_variance'][-5:]):+.2f} over the last five")
print(f"critic: std V / std R = {np.mean(m['value_std'][5:peak + 1] / m['return_std'][5:peak + 1]):.2f} on average "
      f"over iterations 6–{peak + 1}; saturated critic units at most {m['critic_saturation'].max():.1%}")
print(f"approx KL: k3 at most {m['approx_kl_k3'].max():.4f}, k1 below 0 in {np.mean(m['approx_kl_k1'] < 0):.0%} of the updates")
assert last > 3 * first  # the return visibly rises
assert m["approx_kl_k1"].min() < 0  # k1's noise
assert 0.5 < np.mean(m["value_std"][5:peak + 1] / m["return_std"][5:peak + 1]) < 1.5  # std V follows std R
assert (m["first_ratio_max_dev"] == 0.0).all()
assert np.mean(m["return_std"][-5:]) < 0.1 * m["return_std"][peak]  # the targets stop varying
assert m["critic_saturation"].max() < 0.05  # a live critic
assert m["approx_kl_k3"].max() < 0.03 and m["clip_fraction"].max() < 0.3
assert m["entropy"][-1] < m["entropy"][0] and m["entropy"].min() > 0.2  # falls, does not collapse

# %%
pe.plots.ppo_training(m, title="NOTEBOOK_08: a healthy run")

# %% [markdown]
# Read the panel left to right, with the printed numbers above:
#
# * the **return** climbs from about 20 (random) to 500, the cap of CartPole-v1;
# * the **approximate KL** stays below 0.03, around 0.01 most of the time, k1 sometimes below 0 (its
#   noise); the **clip fraction** stays below 0.3; both fall towards 0 as the learning rate is annealed;
# * the **entropy** falls slowly from ln 2: the policy becomes sure without collapsing;
# * **explained variance** rises towards 1 while the targets vary, then turns into noise (and
#   negative): once every episode lasts 500 steps, every state's target is close to the same
#   0.1/(1 − γ) = 10 (truncation bootstraps, so no state sees the end coming), and the *std of R*
#   (the spread panel) drops to a few hundredths.
#   A ratio of two tiny variances says nothing; read it only together with std R.
# * **std of V follows std of R**, and almost no critic unit is saturated: the critic is alive.
#
# ### A dead critic
#
# The same run with the rewards unscaled (`reward_scale=1`, the only change):

# %% tags=["nbval-ignore-output"]
dead = pe.train.Trainer(cfg.replace(reward_scale=1.0))
dead.train(progress=False)
md = dead.metrics()
half = slice(len(md["return"]) // 2, None)
print(f"second half of the run: saturated critic units {np.mean(md['critic_saturation'][half]):.0%}, "
      f"std V / std R = {np.mean(md['value_std'][half] / md['return_std'][half]):.2f}, "
      f"explained variance {np.nanmean(md['explained_variance'][half]):+.2f}")
last_dead = float(np.nanmean(md["return"][-5:]))
print(f"mean episode return over the last five iterations: {last_dead:.1f} (the healthy run: {last:.1f})")
assert np.mean(md["critic_saturation"][half]) > 0.2 and last_dead < last

# %%
pe.plots.ppo_training(md, title="the same run with reward_scale = 1: the critic dies")

# %% [markdown]
# The returns are ten times larger, so the critic's output must reach ~100 (the value loss is ~100
# times larger, its gradient V − R ten times). The gradient's size is not what hurts: it is clipped to
# 0.5, and Adam divides by its running RMS anyway. The *targets'* size is: a head whose weights start
# at norm 1 and move by about the learning rate per step can reach outputs near 100 only from hidden
# units near ±1, and the critic's tanh units are pushed into saturation (|h| > 0.99, where almost no
# gradient passes). A large share of them stay there for the rest of the run, and V's spread falls
# far below that of its targets: the critic predicts little more than a constant, and the
# advantages are close to (γλ)-discounted sums of rewards minus a constant. In this run the policy
# also ends lower (printed above), but that is one seed. One seed could be luck; over several
# seeds trained as one population (4 in the full setting), the saturation and each seed's return:

# %% tags=["nbval-ignore-output"]
seeds = pe.runtime.budget(4, 2)
saturation, final_return = {}, {}
for scale in (1.0, 0.1):
    pop = pe.train.Trainer(cfg.replace(reward_scale=scale, population=seeds, env_backend="torch",
                                       total_steps=pe.runtime.budget(40_000, 20_480)))
    pop.train(progress=False)
    sat = [s.diagnostics["critic_saturation"] for s in pop.history]
    saturation[scale] = float(np.mean(sat[len(sat) // 2:]))
    final_return[scale] = np.nanmean(pop.metrics()["return"][:, -5:], axis=1)
    print(f"reward_scale {scale}: saturated critic units over the second half, mean over {seeds} seeds: "
          f"{saturation[scale]:.1%}; each seed's return over the last five iterations {np.round(final_return[scale]).tolist()}")
assert saturation[1.0] > 0.15 and saturation[0.1] < 0.02
if not pe.runtime.quick_mode():  # the full setting's 40 000 steps: every unscaled seed ends below every scaled one
    assert final_return[1.0].max() < final_return[0.1].min()

# %% [markdown]
# In the full setting every seed agrees: unscaled, all four critics saturate and all four policies
# end below 500 (169 to 458 over the last five iterations); scaled, all four end at 500. (The
# population's saturation is the mean over its members: the trainer's diagnostics are averaged
# over members, only the episode returns are kept per member.) Other fixes are common, though not tried here: a smaller learning rate, rewards
# divided by a running standard deviation of the discounted return (SB3's `VecNormalize`,
# gymnasium's `NormalizeReward` wrapper, which CleanRL's continuous-action PPO uses), or a separate
# critic learning rate. Notebook 11 breaks PPO on purpose in four classic ways and
# asks you to diagnose each from this panel alone.
#
# ## 7. Exercises
#
# **Exercise 8.1** The clipped value loss (8.2).

# %%
def clipped_value_loss(values, returns, values_old, clip_eps):
    ### BEGIN SOLUTION
    v_clipped = values_old + torch.clamp(values - values_old, -clip_eps, clip_eps)
    return 0.5 * torch.maximum((values - returns) ** 2, (v_clipped - returns) ** 2).mean()
    ### END SOLUTION


pe.exercises.clipped_value_loss.check(clipped_value_loss)

# %% [markdown] tags=["solution-demo"]
# The formula of the source notes (the clipped prediction alone) is recognised:

# %% tags=["solution-demo"]
def value_loss_from_the_notes(values, returns, values_old, clip_eps):
    v_clipped = torch.clamp(values, values_old - clip_eps, values_old + clip_eps)
    return 0.5 * ((v_clipped - returns) ** 2).mean()


result = pe.exercises.clipped_value_loss.check(value_loss_from_the_notes)
assert result.mistake == "only_clipped_term"
print(result)

# %% [markdown]
# **Exercise 8.2** Normalise a minibatch of advantages to mean 0 and std 1 over all of its entries,
# whatever its shape, with 1e-8 added to the std (the checker passes (T, N) tensors, to test that
# you whiten over every entry and not per row).

# %%
def normalize_advantages(advantages):
    ### BEGIN SOLUTION
    return (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    ### END SOLUTION


pe.exercises.normalize_advantages.check(normalize_advantages)

# %% [markdown]
# Stuck? Each call of `.hint()` shows the next hint of an exercise:

# %%
pe.exercises.normalize_advantages.hint()

# %% [markdown]
# ## Recap
#
# * Actor and critic are separate MLPs (8.1), orthogonally initialised; the policy head starts
#   at gain 0.01, so the first policy is almost uniform.
# * A rollout gives (T, N) tensors; GAE gives Â, and R = Â + V_old is the critic's target.
# * The loss (8.3) = clipped policy loss + c_V · value loss (8.2, clipped with a max if at all)
#   − c_H · entropy; advantages are normalised per minibatch; the gradient norm is clipped.
# * Epochs × shuffled minibatches reuse each sample several times; on the first minibatch the
#   ratio is exactly 1.
# * Watch the panel: approximate KL (k3 ≥ 0; k1 may dip below 0), clip fraction, entropy, explained
#   variance (meaningless once the targets stop varying), std V against std R, saturated units.
# * Scale the rewards so that the critic's targets stay small (below 10 here); unscaled, the critic can die.
# * KL early stopping (`target_kl`) ends an update whose epochs moved the policy too far; value
#   clipping can freeze the critic when returns are large.
#
# Next: **09 · PPO for language models**.
