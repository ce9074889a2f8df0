# %% [markdown]
# # 10 · CartPole on the GPU: everything together
#
# Notebooks 05–08 built PPO piece by piece: the clipped surrogate (05), the critic (06), GAE (07)
# and the complete update with its diagnostics (08). This capstone runs them at speed. The
# environment itself becomes a tensor program, so that thousands of cart-poles step at once on
# the same device as the networks; several seeds train side by side; and the result is judged on
# the *real* gymnasium CartPole-v1 with the greedy policy.
#
# **You will learn**
# 1. how to write an environment as batched tensor code (N CartPoles in a few tensor operations),
#    with gymnasium's vector API: autoreset, `terminated` vs `truncated`, the final observation;
# 2. how to check such a re-implementation against the reference, step by step, from identical states;
# 3. how the trainer wires together rollout storage, GAE with truncation bootstrapping and the PPO
#    update, with no Python loop over environments;
# 4. how to train a **population** of seeds at once and read the seed-to-seed spread;
# 5. how to evaluate honestly (deterministic policy, real environment, ≥ 10 episodes), checkpoint,
#    resume, and draw the trained pole balancing.
#
# The notebook runs on a GPU when PyTorch sees one and on the CPU otherwise: the code is the same.

# %%
import time

import numpy as np
import torch

import ppo_edu as pe

device = pe.get_device("auto")
if device.type == "cpu":
    torch.set_num_threads(1)  # tiny networks: one thread is the fastest on a CPU
QUICK = pe.runtime.quick_mode()
print("training device:", device, "(a CUDA GPU)" if device.type == "cuda" else "(no GPU found: the CPU)")
print("budget:", "quick (CI) setting" if QUICK else "full setting")

# %% [markdown]
# ## 1. CartPole as tensor code
#
# The state is s = (x, ẋ, θ, θ̇): cart position and velocity, pole angle (radians, 0 = upright)
# and angular velocity. Action 1 pushes the cart right with F = +10 N, action 0 left with −10 N.
# With cart mass m_c = 1, pole mass m_p = 0.1, half-length l = 0.5 and g = 9.8, gymnasium's
# CartPole-v1 (after Barto, Sutton & Anderson, 1983) computes the accelerations
#
# $$c = \frac{F + m_p l\,\dot\theta^2 \sin\theta}{m_c + m_p},\qquad
# \ddot\theta = \frac{g\sin\theta - c\cos\theta}{l\left(\tfrac43 - \tfrac{m_p\cos^2\theta}{m_c+m_p}\right)},\qquad
# \ddot x = c - \frac{m_p l\,\ddot\theta\cos\theta}{m_c+m_p} \tag{10.1}$$
#
# and takes one explicit Euler step of τ = 0.02 s: s ← s + τ (ẋ, ẍ, θ̇, θ̈). The episode
# **terminates** when |x| > 2.4 or |θ| > 12°, and is **truncated** after 500 steps. The reward is
# +1 per step, so the best return is 500.
#
# Every line of (10.1) is elementwise, so N cart-poles are just N rows: `pe.envs.cartpole_dynamics`
# applies it to a (N, 4) tensor in about twenty tensor operations, whatever N is. A quick check of
# the formula on a case worked by hand: from rest, upright, pushed right, the pole must tip *left*
# (θ̈ < 0) while the cart accelerates right.

# %%
# NBVAL_CHECK_OUTPUT
c = 10.0 / 1.1
theta_acc = (0.0 - c * 1.0) / (0.5 * (4 / 3 - 0.1 / 1.1))
x_acc = c - 0.05 * theta_acc / 1.1
step = pe.envs.cartpole_dynamics(torch.zeros(1, 4, dtype=torch.float64), torch.tensor([1]))[0]
print("by hand:  ẋ' = τ·ẍ =", round(0.02 * x_acc, 6), "  θ̇' = τ·θ̈ =", round(0.02 * theta_acc, 6))
print("package:  ẋ' =", round(float(step[1]), 6), "  θ̇' =", round(float(step[3]), 6))
assert torch.allclose(step, torch.tensor([0.0, 0.02 * x_acc, 0.0, 0.02 * theta_acc], dtype=torch.float64))
assert theta_acc < 0 < x_acc

# %% [markdown]
# ### Autoreset, and the observation you must not lose
#
# `pe.envs.TorchCartPole` follows gymnasium's vector-environment API with
# `autoreset_mode=SAME_STEP`: when an episode ends, the same `step` call already restarts it, so
# the returned observation is the **first of the next episode**. The real last observation is in
# `info["final_obs"]`. That matters for truncation: a truncated task did not end, it was cut off,
# so its TD residual bootstraps from the value of that final observation:
#
# $$\delta_t = \begin{cases}
# r_t + \gamma\,V(s_{t+1}) - V(s_t) & \text{inside an episode,}\\
# r_t + \gamma\,V(s^{\text{final}}_{t+1}) - V(s_t) & \text{if step } t \text{ was truncated,}\\
# r_t - V(s_t) & \text{if step } t \text{ terminated.}
# \end{cases} \tag{10.2}$$
#
# A step can carry both flags (the pole falls on step 500, and gymnasium's time limit sets
# `truncated` whatever `terminated` says); then termination wins, because the episode really
# ended. In both end cases the λ-sum of GAE (7.3) stops at step t: the next row belongs to another episode.
# Using the returned observation instead of the final one would bootstrap from a fresh start state,
# a classic silent bug. Here one cart-pole is pushed right until the pole falls:

# %%
# NBVAL_CHECK_OUTPUT
env = pe.envs.TorchCartPole(1, seed=0)
obs, _ = env.reset()
for t in range(1, 101):
    obs, reward, terminated, truncated, info = env.step(torch.tensor([1]))
    if info["_final_obs"][0]:
        fell_after = t
        break
final_theta = float(info["final_obs"][0, 2])
print(f"fell after {fell_after} steps: terminated={bool(terminated[0])}, truncated={bool(truncated[0])}")
print(f"final observation: θ = {np.degrees(final_theta):.1f}°   returned observation: |s| ≤ {float(obs.abs().max()):.3f}")
assert abs(final_theta) > 12 * 2 * np.pi / 360 and float(obs.abs().max()) < 0.05

# %% [markdown]
# The 500-step limit is reported only through `truncated`. A common single-episode training loop
# (the CartPole blog among the course's Chinese source notes uses it) runs `while not terminated:`
# and never looks at `truncated`.
# Once the policy is good, the limit passes unnoticed and the loop keeps stepping past 500, so its
# episodes and its "returns" are no longer CartPole-v1's (with a perfect policy it never ends).
# A hand-made balancing rule in gymnasium's own CartPole-v1 shows it:

# %%
# NBVAL_CHECK_OUTPUT
import gymnasium as gym


def balance_rule(s):  # push towards the side the pole leans to, with a little damping
    return int(s[2] + 0.5 * s[3] + 0.01 * s[0] + 0.1 * s[1] > 0)


real_env = gym.make("CartPole-v1")
s, _ = real_env.reset(seed=0)
steps, term, first_truncated = 0, False, None
while not term and steps < 2000:  # the blog's loop, with a safety cap
    s, _, term, trunc, _ = real_env.step(balance_rule(s))
    steps += 1
    if trunc and first_truncated is None:
        first_truncated = steps
print(f"truncated=True first at step {first_truncated}; `while not terminated` went on to step {steps}")
assert first_truncated == 500 and steps > 500

# %% [markdown]
# Stop on `terminated or truncated`, and bootstrap the truncated end as (10.2) says.

# %% [markdown]
# ## 2. Checking against gymnasium, step by step
#
# A re-implementation is only worth something if it is checked against the reference. We step 16
# torch cart-poles beside 16 gymnasium `CartPole-v1` environments from **identical states**: half
# act at random, half follow the balancing rule above so that some episodes reach the 500-step
# limit. Whenever gymnasium resets an environment, its new state is copied into ours. The torch
# side keeps its state in float64 here, like gymnasium; the training default is float32, the
# networks' dtype (float64 arithmetic is many times slower on most GPUs), which
# `tests/test_envs.py` checks too, starting every step from gymnasium's state.

# %%
# NBVAL_CHECK_OUTPUT
n_envs, n_steps = 16, 640
rng = np.random.default_rng(0)
gyms = [gym.make("CartPole-v1") for _ in range(n_envs)]
for i, g in enumerate(gyms):
    g.reset(seed=i)
ours = pe.envs.TorchCartPole(n_envs, dtype=torch.float64)
ours.reset()
ours.set_state(np.stack([g.unwrapped.state for g in gyms]))
max_dev, flags_equal, n_term, n_trunc = 0.0, True, 0, 0
for _ in range(n_steps):
    states = np.stack([g.unwrapped.state for g in gyms])
    balance = (states[:, 2] + 0.5 * states[:, 3] + 0.01 * states[:, 0] + 0.1 * states[:, 1] > 0).astype(int)
    actions = np.where(np.arange(n_envs) % 2 == 0, rng.integers(0, 2, n_envs), balance)
    _, _, term, trunc, info = ours.step(torch.as_tensor(actions))
    results = [g.step(int(a)) for g, a in zip(gyms, actions, strict=True)]
    g_obs = np.stack([r[0] for r in results])
    g_term, g_trunc = np.array([r[2] for r in results]), np.array([r[3] for r in results])
    max_dev = max(max_dev, float(np.abs(info["final_obs"].numpy() - g_obs).max()))
    flags_equal &= bool((term.numpy() == g_term).all() and (trunc.numpy() == g_trunc).all())
    n_term, n_trunc = n_term + int(g_term.sum()), n_trunc + int(g_trunc.sum())
    done = g_term | g_trunc
    for i in np.flatnonzero(done):
        gyms[i].reset(seed=int(rng.integers(1 << 30)))
    ours.set_state(np.stack([g.unwrapped.state for g in gyms]), mask=torch.as_tensor(done))
print(f"{n_envs * n_steps} steps, {n_term} terminations, {n_trunc} truncations at 500 steps")
print("largest |obs difference|:", "below 1e-6" if max_dev < 1e-6 else max_dev, "  flags identical:", flags_equal)
assert max_dev < 1e-6 and flags_equal and n_trunc > 0

# %% [markdown]
# ### Why bother: the rollout stays on the device
#
# gymnasium's sync vector env steps each environment in Python, one after the other. gymnasium also
# ships a NumPy-vectorised CartPole (`gym.make_vec("CartPole-v1", vectorization_mode="vector_entry_point")`)
# that steps all N at once in NumPy, and on a CPU that is about as fast as the torch version, or
# faster: NumPy's small-array operations cost less than torch's. The argument for writing the
# environment in torch is not CPU speed but *place*: `TorchCartPole` runs on the device the networks
# run on, so on a GPU a rollout never copies observations to the host and actions back, and one step
# of all N environments is the same few kernel launches whatever N is. Environment steps per second
# on this machine (printed, never asserted: timings depend on the machine and its load; the
# benchmark in `benchmarks/` measures the whole trainer):

# %% tags=["nbval-ignore-output"]
def steps_per_second(env, n_steps, numpy_env=False):
    env.reset(seed=0)
    if numpy_env:
        actions = np.zeros(env.num_envs, dtype=np.int64)
    else:
        actions = torch.zeros(env.num_envs, dtype=torch.int64, device=getattr(env, "device", "cpu"))
    env.step(actions)  # warm-up: first-call costs (kernels, allocations) off the clock
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(n_steps):
        env.step(actions)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return env.num_envs * n_steps / (time.perf_counter() - start)


rates = {"gymnasium sync vector env (Python loop), N = 64": steps_per_second(pe.envs.GymVectorCartPole(64), 50)}
for n in (64, 4096, 65536):
    numpy_vec = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point")
    rates[f"gymnasium NumPy-vectorised CartPole, N = {n}"] = steps_per_second(numpy_vec, 50, numpy_env=True)
    numpy_vec.close()
    rates[f"TorchCartPole on {device.type}, N = {n}"] = steps_per_second(pe.envs.TorchCartPole(n, device=device), 50)
for name, rate in rates.items():
    print(f"{name:<52} {rate:14,.0f} steps/s")

# %% [markdown]
# ## 3. The trainer: the pieces of 05–08 in one loop
#
# `pe.train.Trainer` runs, per iteration:
#
# 1. **rollout**: T steps of all environments at once; actions sampled from π_θ_old on the device;
#    tensors of shape (T, P·N, 4) for observations and final observations and (T, P·N) for actions,
#    log π_old, rewards and both flags (P = 1 for a single agent);
# 2. **advantages**: V(s_t) for every stored state in one batched pass, `next_values` from
#    `pe.advantages.bootstrap_next_values` (10.2), then `pe.advantages.gae` (7.3);
# 3. **update**: `pe.train.ppo_update`, epochs over shuffled minibatches of the loss of notebook 08,
#
# $$L = -L^{\text{CLIP}} + c_V\,L^V - c_H\,H[\pi_\theta], \tag{10.3}$$
#
#    with L^CLIP the clipped surrogate (5.2), L^V the value loss (8.2), per-minibatch advantage
#    normalisation and gradient-norm clipping.
#
# The only Python loop in a rollout runs over the T time steps. Everything is set by a frozen
# config whose fields each carry a docstring (notebook 11 sets these defaults beside CleanRL's,
# SB3's and PureJaxRL's, including how each treats the time limit, and measures which matter):

# %%
# NBVAL_CHECK_OUTPUT
import dataclasses

cfg = pe.train.PPOConfig()
for f in dataclasses.fields(cfg):
    print(f"{f.name:<16} {getattr(cfg, f.name)!s:<10}")
print("batch per iteration B = T·N =", cfg.batch_size)

# %% [markdown]
# ### A population: several seeds in one run
#
# One PPO run says little; RL results vary a lot from seed to seed. `PPOConfig(population=P)` trains
# P independent agents at once: P·N environments, and weights stacked into (P, in, out) tensors that
# one batched matrix product (`torch.baddbmm`) applies to all members
# (`pe.agents.PopulationActorCritic`). The members' computations never mix. (They draw actions and
# reset states from shared random generators, so member p is an independent run, but not the run
# that seed p would give trained alone.) The loss is the **sum** of the
# members' losses, so each member's gradient is its own; Adam works elementwise; gradient
# clipping is done per member; and each member whitens its advantages with its **own** statistics
#
# $$\hat A^{(p)}_i \leftarrow \frac{\hat A^{(p)}_i - \operatorname{mean}_i \hat A^{(p)}}{\operatorname{std}_i \hat A^{(p)} + 10^{-8}}. \tag{10.4}$$
#
# Check: after one update, member 1 of a population is exactly where the same agent lands when
# trained alone on the same data.

# %%
# NBVAL_CHECK_OUTPUT
pop = pe.agents.PopulationActorCritic(3, 4, 2, (16, 16), generator=torch.Generator().manual_seed(0))
solo = pop.member(1)
g = torch.Generator().manual_seed(1)
obs_b, act_b = torch.randn(3, 64, 4, generator=g), torch.randint(0, 2, (3, 64), generator=g)
adv_b, ret_b = torch.randn(3, 64, generator=g) * torch.tensor([[1.0], [30.0], [0.1]]), torch.randn(3, 64, generator=g)


def make_batch(agent, o, a, adv, ret):
    with torch.no_grad():
        _, logp, _, v = agent.get_action_and_value(o, a)
    return pe.train.Batch(o, a, logp, adv, ret, v)


one_step = pe.train.PPOConfig(num_envs=64, num_steps=1, epochs=1, num_minibatches=1)  # one full-batch step
pe.train.ppo_update(pop, torch.optim.Adam(pop.parameters(), lr=1e-2), make_batch(pop, obs_b, act_b, adv_b, ret_b), one_step)
pe.train.ppo_update(solo, torch.optim.Adam(solo.parameters(), lr=1e-2),
                    make_batch(solo, obs_b[1], act_b[1], adv_b[1], ret_b[1]), one_step)  # fmt: skip
with torch.no_grad():
    gap = max(float((a - b).abs().max()) for a, b in zip(pop.member(1).parameters(), solo.parameters(), strict=True))
print("member 1 in the population vs trained alone: largest weight difference below 1e-6:", gap < 1e-6)
assert gap < 1e-6

# %% [markdown]
# ## 4. Training several seeds to 500
#
# The full setting trains 4 members for 100 000 environment steps each (98 iterations of 1 024,
# 100 352 steps). The quick setting (used by
# the test suite) trains 2 members for 12 288 steps: enough to see learning start, **not** enough to
# solve CartPole, so in quick mode the ≥ 475 assertion below is skipped and says so. Every few
# iterations the training pauses to evaluate each member's greedy policy on gymnasium's
# CartPole-v1 (10 episodes) and prints the result. (`trainer.train()` shows a `tqdm` progress bar
# by default; here the printed evaluations replace it.)

# %% tags=["nbval-ignore-output"]
cfg = pe.train.NOTEBOOK_10  # the course defaults, 4 seeds; figures/10_*.png draw this run
if QUICK:
    cfg = cfg.replace(total_steps=12_288, population=2)
population = cfg.population
trainer = pe.train.Trainer(cfg)
eval_every = pe.runtime.budget(8, 4)
eval_steps, eval_returns = [], []


def evaluate_now(trainer, stats):
    if stats.iteration % eval_every == 0:
        eval_steps.append(stats.env_steps)
        eval_returns.append(pe.train.evaluate(trainer.agent, episodes=10).mean(axis=1))
        print(f"{stats.env_steps:>7,} steps: greedy evaluation returns", np.round(eval_returns[-1], 1))


start = time.perf_counter()
trainer.train(callback=evaluate_now, progress=False)
print(f"trained {population} members × {trainer.env_steps:,} env steps on {trainer.device} in "
      f"{time.perf_counter() - start:.1f} s (evaluations included)")  # fmt: skip

# %%
steps, train_returns = trainer.learning_curves()
pe.plots.learning_curves(steps, train_returns)

# %% [markdown]
# These are the returns of the *training* episodes that ended during each iteration, played with
# the stochastic policy. They are noisy and lean towards short episodes (a short episode ends far
# more often than a 500-step one, so it is counted more often). The deterministic evaluations are
# the cleaner measure:

# %%
pe.plots.learning_curves(np.array(eval_steps), np.stack(eval_returns, axis=1),
                         title="greedy policy on gymnasium CartPole-v1 (10 episodes)",
                         ylabel="mean evaluation return")  # fmt: skip

# %% [markdown]
# Notice the spread: every member uses the same algorithm and settings, yet at 16 384 steps two
# members play 500 while another plays 184. From 24 576 steps on all four stay at 500 in this run.
# Reaching 500 is not the same as staying there: in one of the benchmark's five runs (at its higher
# learning rate) the greedy policy fell below 475 late and had to earn 500 again, which is why the
# benchmark's strict rule (benchmarks/README.md) asks for *every* later evaluation. (These numbers
# are the CPU run's: on a GPU the random generators give other streams, so other runs.)

# %%
at = dict(zip(eval_steps, eval_returns, strict=True))
if QUICK or device.type != "cpu":
    print("the numbers above are the full setting's on the CPU, checked only there")
else:
    assert at[16_384].max() == 500 and at[16_384].min() < 200
    assert all((r == 500).all() for k, r in at.items() if k >= 24_576)
    print("at 16,384 steps:", np.round(at[16_384], 1), "; every evaluation from 24,576 steps on: 500")

# %% [markdown]
# ## 5. Evaluation on the real environment
#
# The final test uses gymnasium's own CartPole-v1, not our re-implementation, the **greedy**
# policy argmax_a π(a|s), and 10 episodes per member with fixed start seeds:

# %% tags=["nbval-ignore-output"]
final = pe.train.evaluate(trainer.agent, episodes=10, seed=2024)
for p, r in enumerate(final):
    print(f"member {p}: mean return {r.mean():6.1f}  (min {r.min():.0f}, max {r.max():.0f})")
print(f"mean over members: {final.mean():.1f}")
if QUICK:
    print("quick mode: too few steps to solve CartPole, the ≥ 475 assertion is skipped (the full setting checks it)")
else:
    assert final.mean(axis=1).min() >= 475, final.mean(axis=1)
    print("every member averages ≥ 475 on gymnasium's CartPole-v1")

# %% [markdown]
# ## 6. The trained pole, balancing
#
# `pe.train.rollout_states` plays one greedy episode in gymnasium's CartPole-v1 and records the
# state at every step; `pe.plots.cartpole_filmstrip` draws snapshots (the red dotted lines are
# the ends of the track) and the cart position and pole angle over the whole episode.

# %%
best = int(final.mean(axis=1).argmax())
states = pe.train.rollout_states(trainer.agent.member(best), seed=7)
pe.plots.cartpole_filmstrip(states)

# %% tags=["nbval-ignore-output"]
max_angle, max_x = np.degrees(np.abs(states[:, 2]).max()), np.abs(states[:, 0]).max()
print(f"member {best}: the episode lasted {len(states) - 1} steps; largest |θ| {max_angle:.1f}° (limit 12°), "
      f"largest |x| {max_x:.2f} (limit 2.4)")
if not QUICK:
    assert len(states) - 1 == 500 and max_angle < 12 and max_x < 2.4
if not QUICK and device.type == "cpu":
    assert max_angle < 5 and max_x < 1.0  # what the text reads (the CPU run)

# %% [markdown]
# In the full run on the CPU the pole never leans more than a few degrees (2.5°) and the cart stays
# within about 0.3 of the centre: far inside the limits of 12° and 2.4, the policy balances with
# room to spare.

# %% [markdown]
# ## 7. Checkpoints: stop and resume the same run
#
# `trainer.save(path)` writes the weights, Adam's moments, the environment's state and every random
# generator's state; `pe.train.Trainer.load(path)` continues **the same run**: on the CPU, two
# iterations after resuming give bit-identical weights to a run that never stopped.

# %%
# NBVAL_CHECK_OUTPUT
import tempfile
from pathlib import Path

small = pe.train.PPOConfig(total_steps=4096, num_envs=8, num_steps=16, hidden=(16, 16), device="cpu", seed=3)
straight = pe.train.Trainer(small)
straight.train(iterations=4, progress=False)
first_half = pe.train.Trainer(small)
first_half.train(iterations=2, progress=False)
with tempfile.TemporaryDirectory() as tmp:
    resumed = pe.train.Trainer.load(first_half.save(Path(tmp) / "run.pt"))
resumed.train(iterations=2, progress=False)
same = all(torch.equal(a, b) for a, b in zip(straight.agent.parameters(), resumed.agent.parameters(), strict=True))
print("resumed run identical to the uninterrupted one:", same)
assert same

# %% [markdown]
# ### A diverged run stops with an error
#
# A NaN or an infinity in the networks' outputs or in the loss raises
# `pe.train.TrainingDivergedError`, naming the iteration, epoch and minibatch where it first
# appeared. The check runs once per update, at its end (no host sync per minibatch), so by then the
# weights are spoiled: the run stops instead of carrying on with them, and a checkpoint from
# before is where to continue. An absurd learning rate shows it:

# %%
# NBVAL_CHECK_OUTPUT
bad = pe.train.Trainer(small.replace(lr=1e30, max_grad_norm=1e30, anneal_lr=False))
try:
    bad.train(iterations=10, progress=False)
    raise AssertionError("expected TrainingDivergedError")
except pe.train.TrainingDivergedError as err:
    print("stopped:", str(err).split(" (")[0])

# %% [markdown]
# ## 8. A GPU population
#
# On a GPU, 1024 seeds × 64 environments step as one tensor program. This cell runs only when a GPU
# is present and prints the population's throughput, training included (`benchmarks/gpu_check.sh`
# measures it at P = 1024 and 4096 with the benchmark's protocol).

# %% tags=["nbval-ignore-output"]
if device.type == "cuda":
    big = pe.train.Trainer(pe.train.PPOConfig(population=1024, num_envs=64, total_steps=64 * 32 * 20))
    big.iteration()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        big.iteration()
    torch.cuda.synchronize()
    rate = 10 * 1024 * big.config.batch_size / (time.perf_counter() - start)
    print(f"population of 1024: {rate:,.0f} env steps/s including training")
else:
    print("no GPU on this machine: skipped (everything above ran on the CPU)")

# %% [markdown]
# ## 9. Exercises
#
# **Exercise 10.1** The termination rule of CartPole-v1. `states` has shape (N, 4), rows
# (x, ẋ, θ, θ̇) with θ in radians. Return a boolean tensor (N,): True where the episode terminates,
# |x| > 2.4 or |θ| > 12°.

# %%
def cartpole_terminated(states):
    ### BEGIN SOLUTION
    x, theta = states[:, 0], states[:, 2]
    return (x.abs() > 2.4) | (theta.abs() > 12 * 2 * np.pi / 360)
    ### END SOLUTION


pe.exercises.cartpole_terminated.check(cartpole_terminated)

# %% [markdown]
# **Exercise 10.2** Advantage normalisation in a population (10.4). `advantages` has shape (P, M):
# a minibatch of M advantages for each of P members. Whiten each member's row with its own mean and
# standard deviation (`torch.std`'s default, plus 1e-8).

# %%
def normalize_per_seed(advantages):
    ### BEGIN SOLUTION
    mean = advantages.mean(dim=1, keepdim=True)
    std = advantages.std(dim=1, keepdim=True)
    return (advantages - mean) / (std + 1e-8)
    ### END SOLUTION


pe.exercises.normalize_per_seed.check(normalize_per_seed)

# %% [markdown] tags=["solution-demo"]
# A classic slip, whitening the whole population at once, is recognised:

# %% tags=["solution-demo"]
pe.exercises.normalize_per_seed.check(lambda advantages: (advantages - advantages.mean()) / (advantages.std() + 1e-8))

# %% [markdown]
# **Exercise 10.3** (open, no checker) In the training cell, set `population` to 8 and compare the
# spread of the evaluation curves (`cfg = cfg.replace(population=8)`). Then try
# `cfg = cfg.replace(anneal_lr=False)`: do the members still *stay* at 500 after they first reach
# it? (The checks after the training cell describe the default run only.)
#
# ## Recap
#
# * An environment written as tensor code steps N copies in the same few operations; with
#   gymnasium's API (SAME_STEP autoreset, `final_obs`) it plugs into the same trainer.
# * Checked step by step against gymnasium from identical states: observations to float precision,
#   termination and truncation flags identical.
# * Truncation bootstraps from V of the **final** observation (10.2); termination does not.
# * The trainer is notebook 08's update in a loop: rollout on the device, `pe.advantages.gae`,
#   `pe.train.ppo_update` with the loss (10.3); frozen config; checkpoints that resume the same run;
#   NaN stops with an error.
# * A population trains P seeds at once with batched weights; each member normalises (10.4), clips
#   and steps on its own.
# * Judge the agent on the real environment with the greedy policy over ≥ 10 episodes.
#
# The course's benchmark (`benchmarks/`) times this trainer against Stable-Baselines3 and a JAX PPO
# in PureJaxRL's style on one evaluation protocol, and measures where an iteration's time goes.
