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
# 5. the diagnostics to watch: approximate KL, clip fraction, explained variance.

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
# vector env; a finished episode restarts in the same step, and `info["final_obs"]` keeps its real
# last observation). For T = 128 steps we store the observation, the action, log π_old(a|s), the
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
# the λ-return: the TD target at λ = 0, the Monte-Carlo return at λ = 1.

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
# the bounds swapped (torch.clamp with min > max returns the max everywhere) and without the max.
#
# For a minibatch, PPO then minimises
#
# $$L = -L^\text{CLIP}(\theta) + c_V\, L^V(\phi) - c_H\, \mathbb{E}_t\big[H[\pi_\theta(\cdot \mid s_t)]\big]. \tag{8.3}$$
#
# * −L^CLIP is (5.2), `pe.losses.clipped_surrogate_loss`, on advantages **normalised within the
#   minibatch** (mean 0, std 1 over all its entries, `pe.advantages.normalize`): the scale of
#   rewards then does not set the step size.
# * The entropy bonus H rewards keeping the policy random (exploration); `pe.losses.categorical_entropy`.
#   c_H is often 0 for CartPole.
#
# **When value clipping hurts.** ε is in the units of the *returns*. CartPole's discounted
# returns grow towards 1/(1 − γ) = 100; with ε = 0.2 the critic may move only 0.2 per update
# towards them. Gradient descent on one prediction V_old = 0 against R = 50, clipped and not:

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
# rest of the update. (With smaller steps it would creep up to V_old + ε and stop there.)
# Engstrom et al. (2020) and Andrychowicz et al. (2021) found value clipping neutral to harmful;
# the package leaves it off by default (`clip_value=None`).
#
# ## 4. One epoch by hand
#
# The batch is B = T·N = 1024 samples, flattened. An epoch shuffles them and walks through
# minibatches of M = 256. On the very first minibatch the policy has not changed yet, so
# log π_θ = log π_old exactly and **every ratio is exactly 1**: a check worth keeping in any
# implementation (if it fails, the stored log-probs do not belong to the acting policy).

# %%
flat = {"obs": ro["obs"].reshape(T * N, 4), "actions": ro["actions"].reshape(-1), "logp": ro["logp"].reshape(-1),
        "advantages": advantages.reshape(-1), "returns": returns.reshape(-1), "values": values.reshape(-1)}
B, M, clip_eps, vf_coef, ent_coef, max_grad_norm = T * N, 256, 0.2, 0.5, 0.0, 0.5
agent_pkg = copy.deepcopy(agent)  # for the comparison with the package below
opt = torch.optim.Adam(agent.parameters(), lr=2.5e-3, eps=1e-5)
perm = torch.argsort(torch.rand(1, B, generator=torch.Generator().manual_seed(3)), dim=1)[0]
diag = []
for k in range(B // M):
    idx = perm[k * M : (k + 1) * M]
    logits = agent.logits(flat["obs"][idx])
    logp = torch.log_softmax(logits, -1).gather(-1, flat["actions"][idx, None]).squeeze(-1)
    if k == 0:
        first_ratio = torch.exp(logp - flat["logp"][idx])
        assert torch.equal(first_ratio, torch.ones_like(first_ratio))  # exactly 1, not approximately
    adv_mb = pe.advantages.normalize(flat["advantages"][idx])
    policy_loss = pe.losses.clipped_surrogate_loss(logp, flat["logp"][idx], adv_mb, clip_eps)
    value_loss = pe.losses.value_loss(agent.value(flat["obs"][idx]), flat["returns"][idx])
    entropy = pe.losses.categorical_entropy(logits)
    loss = policy_loss + vf_coef * value_loss - ent_coef * entropy  # (8.3)
    opt.zero_grad()
    loss.backward()
    actor_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in agent.actor.parameters()]))
    grad_norm = torch.nn.utils.clip_grad_norm_(agent.parameters(), max_grad_norm)
    opt.step()
    with torch.no_grad():
        new_logp = torch.log_softmax(agent.logits(flat["obs"][idx]), -1).gather(-1, flat["actions"][idx, None])[:, 0]
        diag.append((float(pe.losses.approx_kl(new_logp, flat["logp"][idx])),
                     float(pe.losses.clip_fraction(torch.exp(new_logp - flat["logp"][idx]), clip_eps)),
                     float(grad_norm)))
    print(f"minibatch {k}: policy loss {policy_loss.item():+.4f}, value loss {value_loss.item():6.2f}, "
          f"entropy {entropy.item():.4f}, grad norm before clip {float(grad_norm):.2f} "
          f"(actor's part {float(actor_norm):.2f})")

# %% [markdown]
# The gradient norm is far above 0.5, and almost all of it is the critic's (the value loss
# dominates at first). `clip_grad_norm_` rescales the whole gradient, actor's part included, to
# norm 0.5. With Adam a rescaling that hits every step alike changes little, since Adam divides
# by a running RMS of the gradient; what the clip bounds is how much one unusually large
# minibatch gradient can weigh in Adam's running averages.
#
# The same epoch, with the same shuffle, through the package's `pe.train.ppo_update` (the
# function notebook 10 trains with) leaves the networks in the same state:

# %%
# NBVAL_CHECK_OUTPUT
batch = pe.train.Batch(**{k: flat[k] for k in ("obs", "actions", "logp", "advantages", "returns", "values")})
opt_pkg = torch.optim.Adam(agent_pkg.parameters(), lr=2.5e-3, eps=1e-5)
stats = pe.train.ppo_update(agent_pkg, opt_pkg, batch, epochs=1, num_minibatches=B // M, clip_eps=clip_eps,
                            vf_coef=vf_coef, ent_coef=ent_coef, max_grad_norm=max_grad_norm,
                            generator=torch.Generator().manual_seed(3))
max_diff = max(float((p - q).detach().abs().max()) for p, q in zip(agent.parameters(), agent_pkg.parameters(), strict=True))
print("largest parameter difference, by hand vs pe.train.ppo_update:", f"{max_diff:.1e}")
print("ppo_update's first-minibatch max |ρ − 1|:", stats["first_ratio_max_dev"])
assert max_diff < 1e-5 and stats["first_ratio_max_dev"] == 0.0

# %% [markdown]
# ## 5. Diagnostics
#
# Three numbers tell whether an update was healthy:
#
# * **approximate KL** between π_old and π_θ on the batch, estimated from the sampled actions by
#   k3 = (ρ − 1) − log ρ (`pe.losses.approx_kl`, unbiased and never negative). Around 0.01 is typical;
#   much larger means the updates are too big (learning rate, epochs).
# * **clip fraction**: the share of samples whose ratio left [1 − ε, 1 + ε]
#   (`pe.losses.clip_fraction`; in cases 3 and 4 of notebook 05 the clip switches their gradient
#   off). Near 0 the clip never acts; a fraction that keeps rising above ~0.2 says the policy moves
#   further per update than ε allows (learning rate or epochs too large).
# * **explained variance** of the returns by the critic, 1 − Var[R − V]/Var[R]
#   (`pe.losses.explained_variance`): 1 is a perfect critic, 0 no better than a constant, < 0 worse.
#
# Each estimator against a case with a known answer first. KL from samples versus the exact KL of
# two categorical distributions; explained variance of a perfect, a constant and a bad prediction:

# %%
# NBVAL_CHECK_OUTPUT
p_old = torch.tensor([0.5, 0.3, 0.2])
p_new = torch.tensor([0.4, 0.4, 0.2])
a_samples = torch.multinomial(p_old, 200_000, replacement=True, generator=torch.Generator().manual_seed(0))
k3 = float(pe.losses.approx_kl(p_new.log()[a_samples], p_old.log()[a_samples]))
exact_kl = float(pe.losses.categorical_kl(p_old.log(), p_new.log()))
print(f"KL(π_old ‖ π_new): exact {exact_kl:.4f}, k3 estimate from samples {k3:.4f}")
assert abs(k3 - exact_kl) < 0.002
y = torch.randn(1000, generator=torch.Generator().manual_seed(1))
for name, pred in (("perfect", y), ("constant", torch.full_like(y, float(y.mean()))), ("negated", -y)):
    print(f"explained variance, {name} critic: {float(pe.losses.explained_variance(pred, y)):+.3f}")
assert abs(float(pe.losses.explained_variance(y, y)) - 1) < 1e-6

# %% [markdown]
# And the values of the epoch above (they depend on this machine's floating point, so they are not
# compared by the tests):

# %% tags=["nbval-ignore-output"]
for k, (kl, cf, _grad_norm) in enumerate(diag):
    print(f"after minibatch {k}: approx KL {kl:.5f}, clip fraction {cf:.3f}")
print("explained variance of the initial critic:", round(float(pe.losses.explained_variance(values, returns)), 3))

# %% [markdown]
# ## 6. Training CartPole
#
# `pe.train.Trainer` runs all of this in a loop: rollout (T = 128, N = 8, gymnasium's vector
# env on the CPU), GAE (γ = 0.99, λ = 0.95), then 4 epochs of 4 minibatches, with the learning
# rate annealed to 0. 40 000 environment steps take a few seconds on one CPU core. The full
# configuration is a frozen dataclass, every field documented:

# %%
cfg = pe.train.PPOConfig(total_steps=40_000, num_envs=8, num_steps=128, epochs=4, num_minibatches=4, lr=2.5e-3,
                         env_backend="gymnasium", device="cpu", seed=0)
print(cfg)

# %% tags=["nbval-ignore-output"]
trainer = pe.train.Trainer(cfg)
trainer.train(progress=False)
history = {
    "return": [float(s.episode_return[0]) for s in trainer.history],  # NaN where no episode ended
    "approx_kl": [s.diagnostics["approx_kl_k3"] for s in trainer.history],
    "clip_fraction": [s.diagnostics["clip_fraction"] for s in trainer.history],
    "explained_variance": [s.diagnostics["explained_variance"] for s in trainer.history],
}
first, last = history["return"][0], float(np.nanmean(history["return"][-5:]))
print(f"mean episode return: first iteration {first:.1f}, last five iterations {last:.1f}")
assert last > 3 * first  # the return visibly rises
assert all(s.diagnostics["first_ratio_max_dev"] == 0.0 for s in trainer.history)

# %%
pe.plots.ppo_training(history)

# %% [markdown]
# Notice that the return climbs from about 20 (random) to several hundred in 40 000 steps, that the approximate
# KL stays around 0.01 or below, and that the clip fraction and the KL fall towards 0 as the
# learning rate is annealed to 0. The critic's explained variance jumps around, mostly below 0.5,
# in so short a run: its targets move with every improvement of the policy. Notebook 10 trains to
# a stable 500 on the GPU.
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
# **Exercise 8.2** Normalise a minibatch of advantages (shape (T, N) here) to mean 0 and std 1,
# over all of its entries, with 1e-8 added to the std.

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
# * Watch approximate KL, clip fraction and explained variance; value clipping can freeze the
#   critic when returns are large.
#
# Next: **09 · PPO for language models**.
