# %% [markdown]
# # 06 · TD and MC: two ways to learn V
#
# PPO's advantages need a critic $V(s)$. This notebook learns $V$ from experience in the two
# classic ways, Monte Carlo (MC) and temporal difference (TD), on a problem small enough that
# we know the true answer, and measures what each one gets wrong.
#
# **You will learn**
# 1. the exact values of the 5-state random walk, from the Bellman equation (checked with sympy);
# 2. the constant-$\alpha$ MC update towards the return $G_t$, and the TD(0) update towards
#    $r + \gamma V(s')$;
# 3. what *bias* and *variance* of a target mean, computed exactly for both targets, with a poor
#    and with a perfect $\hat V$;
# 4. how the RMS error against the exact $V$ falls with experience, for several step sizes
#    $\alpha$, averaged over 100 runs, and why TD's error at a large $\alpha$ dips and then rises;
# 5. batch TD against batch MC: TD finds the values of the most likely *model* of the data
#    (certainty equivalence), which is why it wins here;
# 6. $n$-step TD, the family between TD and MC that notebook 07 averages;
# 7. why the critic's gradient is $-\delta\nabla V$ (a *semi*-gradient); the source notes' version
#    has a stray factor $r$.

# %%
import sympy as sp
import torch

import ppo_edu as pe

vl, tm = pe.value_learning, pe.toy_mdps

# %% [markdown]
# ## 1. The random walk and its exact values
#
# Five states A–E in a row, terminals on both sides. Every episode starts in C and moves left or
# right with probability ½ each. Leaving on the right pays +1, everything else pays 0; $\gamma = 1$.
# (Sutton & Barto, Example 6.2.) The value of a state under this policy satisfies the Bellman equation
#
# $$V(s) = \sum_{s'} P(s' \mid s)\,\big[r(s, s') + \gamma V(s')\big], \qquad V(\text{terminal}) = 0, \tag{6.1}$$
#
# five linear equations. sympy solves them exactly:

# %%
# NBVAL_CHECK_OUTPUT
VA, VB, VC, VD, VE = V = sp.symbols("V_A V_B V_C V_D V_E")
half = sp.Rational(1, 2)
equations = [
    sp.Eq(VA, half * 0 + half * VB),
    sp.Eq(VB, half * VA + half * VC),
    sp.Eq(VC, half * VB + half * VD),
    sp.Eq(VD, half * VC + half * VE),
    sp.Eq(VE, half * VD + half * (1 + 0)),  # right of E: reward 1, then terminal
]
exact = sp.solve(equations, V)
print({str(k): v for k, v in exact.items()})
walk = tm.random_walk(5)  # a TabularMDP with actions left/right, like the corridor of 01–04
walk_pi = tm.uniform_policy(walk)  # ½ / ½
true_v = tm.state_values(walk, walk_pi)
assert [exact[s] for s in V] == [sp.Rational(i, 6) for i in range(1, 6)]
assert torch.allclose(true_v, torch.tensor([i / 6 for i in range(1, 6)], dtype=torch.float64))

# %% [markdown]
# $V(s)$ is the probability of leaving on the right: 1/6, 2/6, …, 5/6. `pe.toy_mdps.random_walk`
# is the walk as the same kind of `TabularMDP` as notebook 01's corridor, so `pe.toy_mdps.state_values`
# gets these numbers by the same linear solve $(I - \gamma P_\pi)V = r_\pi$, and
# `pe.toy_mdps.sample_episodes(...).split()` samples episodes as (states, rewards) pairs:

# %%
# NBVAL_CHECK_OUTPUT
def sample(n, generator):
    return tm.sample_episodes(walk, walk_pi, n, generator).split()


episodes = sample(3, torch.Generator().manual_seed(0))
for states, rewards in episodes:
    print("states", "".join("ABCDE"[s] for s in states.tolist()), " rewards", rewards.tolist())

# %% [markdown]
# ## 2. Two updates
#
# Both methods keep a table $V$ and nudge $V(s_t)$ a fraction $\alpha$ towards a **target**:
#
# $$\text{MC:}\qquad V(s_t) \leftarrow V(s_t) + \alpha\,\big(G_t - V(s_t)\big), \qquad G_t = \sum_{k \ge 0} \gamma^k r_{t+k}, \tag{6.2}$$
#
# $$\text{TD(0):}\qquad V(s_t) \leftarrow V(s_t) + \alpha\,\big(\underbrace{r_t + \gamma (1 - \text{terminated}_t)\, V(s_{t+1}) - V(s_t)}_{\delta_t,\ \text{the TD error}}\big). \tag{6.3}$$
#
# MC waits until the episode ends to know $G_t$. TD updates after every step, *bootstrapping*
# from its own current guess $V(s_{t+1})$. One episode C → D → E → exit right, starting from
# $V \equiv 0.5$ with $\alpha = 0.5$, worked by hand: every $G_t = 1$, so MC moves C, D and E half-way
# to 1. TD moves C towards $r + V(D) = 0.5$ and D towards $r + V(E) = 0.5$ (no change), and only E
# towards 1:

# %%
# NBVAL_CHECK_OUTPUT
episode = (torch.tensor([2, 3, 4]), torch.tensor([0.0, 0.0, 1.0]))
after_mc = vl.mc_prediction([episode], 5, alpha=0.5, v0=0.5)[-1]
after_td = vl.td0_prediction([episode], 5, alpha=0.5, v0=0.5)[-1]
print("MC :", after_mc.tolist())
print("TD :", after_td.tolist())
assert after_mc.tolist() == [0.5, 0.5, 0.75, 0.75, 0.75]
assert after_td.tolist() == [0.5, 0.5, 0.5, 0.5, 0.75]

# %% [markdown]
# TD needs more episodes to carry the +1 back from E to C, one state per visit. But each of its
# targets is far less noisy. That is the whole trade.
#
# ## 3. Bias and variance of the two targets
#
# Take an estimate $\hat V$ and a state $s$. A target $Y$ is an estimate of the true $V(s)$; its
# **bias** is $\mathbb{E}[Y] - V(s)$ and its **variance** $\operatorname{Var}[Y]$. For the random walk
# both are exact:
#
# * MC: $G$ from $s$ is 1 with probability $V(s)$, else 0. Unbiased, with variance
#   $V(s)(1 - V(s))$: the whole rest of the episode's randomness is in it.
# * TD(0): $r + \hat V(s')$ with $s'$ one step left or right. Its mean is
#   $\tfrac12[\hat V(s-1) + \hat V(s+1)]$ (+½ from E): biased wherever $\hat V$ is wrong, with
#   variance $\tfrac14(\text{right target} - \text{left target})^2$ from one coin flip only.
#
# With the typical starting guess $\hat V \equiv 0.5$, and with the perfect $\hat V = V$:

# %%
# NBVAL_CHECK_OUTPUT
def td_target_moments(v_hat):
    padded = torch.cat([torch.zeros(1, dtype=torch.float64), v_hat, torch.zeros(1, dtype=torch.float64)])
    right_reward = torch.tensor([0, 0, 0, 0, 1.0], dtype=torch.float64)
    left_target, right_target = padded[:-2], padded[2:] + right_reward  # r + V̂(s') for each move
    return 0.5 * (left_target + right_target), 0.25 * (right_target - left_target) ** 2


v_hat = torch.full((5,), 0.5, dtype=torch.float64)
td_mean, td_var = td_target_moments(v_hat)
td_mean_v, td_var_v = td_target_moments(true_v)
mc_mean, mc_var = true_v, true_v * (1 - true_v)
print("                    MC target        TD target, V̂ ≡ 0.5   TD target, V̂ = V")
print("state   true V   bias    var      bias    var          bias    var")
for s in range(5):
    print(f"  {'ABCDE'[s]}     {float(true_v[s]):.3f}   {float(mc_mean[s] - true_v[s]):+.3f}  {float(mc_var[s]):.3f}"
          f"    {float(td_mean[s] - true_v[s]):+.3f}  {float(td_var[s]):.3f}"
          f"        {float(td_mean_v[s] - true_v[s]):+.3f}  {float(td_var_v[s]):.3f}")
assert bool((td_var <= mc_var + 1e-12).all()) and bool((td_var_v < mc_var).all())
assert bool(((td_mean_v - true_v).abs() < 1e-12).all()) and bool((td_var_v > 0).all())  # V̂ = V: unbiased, not noiseless

# %% [markdown]
# And sampled, to be sure the algebra above is right: many episodes from C give the MC target's
# mean and variance, and the first step of each gives the TD target's.

# %%
# NBVAL_CHECK_OUTPUT
many = sample(20000, torch.Generator().manual_seed(1))
G = torch.tensor([float(r.sum()) for _, r in many], dtype=torch.float64)  # γ = 1: G from C
td_targets = torch.tensor([float(r[0]) + float(v_hat[s[1]]) if len(s) > 1 else float(r[0]) for s, r in many])
print(f"MC target from C: mean {float(G.mean()):.3f} (exact 0.500), variance {float(G.var()):.3f} (exact 0.250)")
print(f"TD target from C: mean {float(td_targets.mean()):.3f} (exact 0.500), variance {float(td_targets.var()):.3f} "
      f"(exact 0.000)")
assert abs(float(G.mean()) - 0.5) < 0.02 and abs(float(G.var()) - 0.25) < 0.01
assert abs(float(td_targets.mean()) - 0.5) < 1e-6 and float(td_targets.var()) < 1e-6

# %% [markdown]
# With $\hat V \equiv 0.5$ the TD target from C happens to be unbiased ($\hat V(B)$ and $\hat V(D)$
# average to 0.5) and has no variance at all; in A, B, D, E it is biased by up to 0.17, while MC is
# never biased but always noisy. That zero variance is an artefact of the flat guess: both moves
# from C land on the same value. With the perfect $\hat V = V$ the TD target is unbiased everywhere
# and its variance is $\tfrac14(2/6)^2 = 1/36 \approx 0.028$ in every state (in A and E one of the
# two moves ends the episode, with its reward of 0 or 1), far below MC's 0.22–0.25 in B, C and D
# and its 0.14 in A and E: the TD target carries the randomness of one step, the MC target that
# of the whole rest of the episode. TD's bias shrinks as $\hat V$ improves, because the target is
# built from $\hat V$ itself.
#
# ## 4. Learning curves
#
# Each run learns from 100 episodes, starting from $\hat V \equiv 0.5$; after every episode we
# record the RMS error against the exact $V$, $\sqrt{\operatorname{mean}_s (\hat V(s) - V(s))^2}$, and
# average over 100 runs. MC and TD see the *same* episodes in a run (`pe.value_learning.rms_curves`
# seeds run $k$ with $k$).

# %%
n_runs, n_episodes = 100, 100
alphas = {"td": [0.05, 0.1, 0.15], "mc": [0.01, 0.02, 0.03, 0.04]}
curves = {m: dict(zip(a, vl.rms_curves(m, a, true_v, n_episodes, n_runs, sample, v0=0.5), strict=True))
          for m, a in alphas.items()}
one_run = vl.td0_prediction(sample(n_episodes, torch.Generator().manual_seed(0)), 5, alpha=0.1, v0=0.5)
snapshots = {n: one_run[n] for n in (0, 1, 10, n_episodes)}
pe.plots.td_vs_mc(true_v, snapshots, curves, n_runs=n_runs)

# %% [markdown]
# Notice that every TD curve lies below every MC curve, from the first episode on (checked below). For TD, a
# larger $\alpha$ learns faster at first but ends at a higher error: a constant step size keeps
# jittering around the answer, by an amount that grows with $\alpha$ and with the variance of the
# target. (MC with $\alpha = 0.01$ is still descending after 100 episodes, so its error is above
# that of $\alpha = 0.02$.) And look at TD with $\alpha = 0.15$: its error falls to a minimum near
# episode 20 and then **rises** again. §4b takes that apart.

# %%
# NBVAL_CHECK_OUTPUT
for m, by_alpha in curves.items():
    for alpha, c in by_alpha.items():
        print(f"{m.upper():>2}, α = {alpha:<4}: RMS after 10 episodes {float(c[10]):.3f}, "
              f"after 100 {float(c[-1]):.3f}, mean over 50–100 {float(c[50:].mean()):.3f}")
td_stack, mc_stack = torch.stack(list(curves["td"].values())), torch.stack(list(curves["mc"].values()))
first = next(k for k in range(n_episodes) if bool((td_stack[:, k:].max(0).values < mc_stack[:, k:].min(0).values).all()))
print(f"every TD curve is below every MC curve from episode {first} on")
dip = curves["td"][0.15]
print(f"TD, α = 0.15: lowest RMS {float(dip.min()):.3f} at episode {int(dip.argmin())}, {float(dip[-1]):.3f} at the end")
assert 10 <= int(dip.argmin()) <= 40 and float(dip[-1]) > float(dip.min()) + 0.005  # the dip, then the rise
rise = {a: float(c[-1] - c.min()) for a, c in curves["td"].items()}
print("TD, rise from the lowest RMS to episode 100:", {a: round(v, 3) for a, v in rise.items()})
assert rise[0.05] < rise[0.1] < rise[0.15]
best_td = min(float(c[50:].mean()) for c in curves["td"].values())
best_mc = min(float(c[50:].mean()) for c in curves["mc"].values())
assert best_td < best_mc
worst_td_after_15 = torch.stack(list(curves["td"].values()))[:, 15:].max(0).values
best_mc_after_15 = torch.stack(list(curves["mc"].values()))[:, 15:].min(0).values
assert bool((worst_td_after_15 < best_mc_after_15).all())  # every TD curve below every MC curve
assert float(curves["td"][0.15][:10].mean()) < float(curves["td"][0.05][:10].mean())  # large α: faster start
assert float(curves["td"][0.15][50:].mean()) > float(curves["td"][0.05][50:].mean())  # ... higher plateau
assert float(curves["mc"][0.01][50:].mean()) > float(curves["mc"][0.02][50:].mean())  # MC, α = 0.01: not there yet

# %% [markdown]
# With $\alpha$ decreasing over time (e.g. $\alpha = 1/n$) both methods converge to the exact $V$;
# with a constant $\alpha$ they hover around it. With a small $\alpha$ both converge *on average*:
# averaging the last 1000 of 3000 episodes with $\alpha = 0.01$ lands within 0.03 of the exact values:

# %%
# NBVAL_CHECK_OUTPUT
long_run = sample(3000, torch.Generator().manual_seed(2))
for name, learner in (("MC", vl.mc_prediction), ("TD", vl.td0_prediction)):
    final = learner(long_run, 5, alpha=0.01, v0=0.5)[-1000:].mean(0)
    err = float(vl.rms_error(final, true_v))
    assert err < 0.03
    print(f"{name}: averaged estimate {[round(x, 2) for x in final.tolist()]}, RMS error {err:.3f}")

# %% [markdown]
# ## 4b. Why does TD's error dip and then rise?
#
# Sutton & Barto pose this as their Exercise 6.5: the curve of TD with $\alpha = 0.15$ goes down,
# then up. Is it the noise of the constant step size catching up, or something else? **Predict
# before running**: which of the two parts of the error, the bias of the runs' *average* estimate
# or the spread of the runs around that average, causes the rise?
#
# Over $R$ runs, the mean squared error splits exactly into the two (an identity, not an
# approximation):
#
# $$\underbrace{\operatorname{mean}_{r,s}\big(\hat V_r(s) - V(s)\big)^2}_{\text{MSE}} = \underbrace{\operatorname{mean}_s\big(\bar V(s) - V(s)\big)^2}_{\text{bias}^2} + \underbrace{\operatorname{mean}_{r,s}\big(\hat V_r(s) - \bar V(s)\big)^2}_{\text{variance}}, \qquad \bar V(s) = \operatorname{mean}_r \hat V_r(s). \tag{6.4}$$
#
# **Exercise 6.1.** Write `error_decomposition(estimates, true_values)` for `estimates` of shape
# (R, S), R runs and S states; return the tensor [bias², variance].

# %%
def error_decomposition(estimates, true_values):
    ### BEGIN SOLUTION
    mean = estimates.mean(0)  # the runs' average estimate, per state
    bias2 = ((mean - true_values) ** 2).mean()
    variance = ((estimates - mean) ** 2).mean()
    return torch.stack([bias2, variance])
    ### END SOLUTION


pe.exercises.error_decomposition.check(error_decomposition)

# %% [markdown]
# Now apply the package's version (`pe.value_learning.error_decomposition`, which also works
# episode by episode) to 200 runs of TD(0) with $\alpha = 0.15$. The second panel runs the same
# episodes through *offline* TD(0), which computes an episode's updates from $\hat V$ as it was
# when the episode began and applies them together at its end:

# %%
n_dip_runs, online_runs, offline_runs = 200, [], []
for run in range(n_dip_runs):  # the same episodes as run `run` of the curves above, through both learners
    run_episodes = sample(100, torch.Generator().manual_seed(run))
    online_runs.append(vl.td0_prediction(run_episodes, 5, alpha=0.15, v0=0.5))
    offline_runs.append(vl.td0_prediction(run_episodes, 5, alpha=0.15, v0=0.5, online=False))
dip_runs = {"online TD(0), α = 0.15": torch.stack(online_runs), "offline TD(0), α = 0.15": torch.stack(offline_runs)}
decomposition = {k: vl.error_decomposition(h, true_v) for k, h in dip_runs.items()}
pe.plots.error_decomposition(decomposition, n_runs=n_dip_runs)

# %%
# NBVAL_CHECK_OUTPUT
on, off = decomposition["online TD(0), α = 0.15"], decomposition["offline TD(0), α = 0.15"]
low = int(on.sum(-1).argmin())
for name, d in (("online", on), ("offline", off)):
    print(f"{name:>7}: MSE at its lowest (episode {int(d.sum(-1).argmin())}) {float(d.sum(-1).min()):.4f}, "
          f"at episode 100 {float(d[-1].sum()):.4f} = bias² {float(d[-1, 0]):.4f} + variance {float(d[-1, 1]):.4f}")
print("online, average estimate over runs at episode 100:", [round(x, 3) for x in dip_runs["online TD(0), α = 0.15"][:, -1].mean(0).tolist()])
print("exact V:                                          ", [round(x, 3) for x in true_v.tolist()])
assert float(on[0, 1]) == 0.0  # every run starts from the same V̂ ≡ 0.5
assert float(on[-1].sum()) > 1.2 * float(on[low].sum())  # the rise
assert float(on[-1, 0]) - float(on[low, 0]) > 0.8 * (float(on[-1].sum()) - float(on[low].sum()))  # ... is bias
assert abs(float(on[-1, 1]) - float(on[low, 1])) < 0.25 * float(on[-1, 1])  # the variance has already levelled
assert float(off[-1, 0]) < 0.2 * float(on[-1, 0])  # offline: no such bias

# %% [markdown]
# The variance does what one would guess: zero at the start (every run begins from the same
# $\hat V \equiv 0.5$), then up to a plateau that it has nearly reached by the dip. The rise is
# **bias**. The runs' average estimate starts compressed at 0.5, moves out towards $V$, crosses it
# near the dip, and settles *stretched*: too low in A and B, too high in D and E. The cause is
# online updating within an episode: the walk revisits states, and a value raised or lowered
# earlier in the same episode feeds the later targets, which correlates the update with the
# estimate; with $\alpha = 0.15$ that correlation is large enough to bias the fixed point.
# Offline TD(0), whose targets within an episode all use the episode's starting $\hat V$, has
# almost none of this bias (its variance is a little larger). A smaller $\alpha$ shrinks the effect
# too: in §4 the rise from the lowest point to episode 100 was 0.015 for $\alpha = 0.15$, 0.006 for
# 0.1 and 0 for 0.05.
#
# Sutton & Barto's exercise also asks whether the dip always occurs or depends on how $\hat V$ was
# initialised. Run the same 200 runs' episodes through online TD(0), $\alpha = 0.15$, from three
# other starts: $\hat V \equiv 0$, uniform random values in [0, 1), and the exact $V$ itself:

# %%
# NBVAL_CHECK_OUTPUT
starts = {"V̂ ≡ 0.5 (above)": lambda run: 0.5, "V̂ ≡ 0": lambda run: 0.0,
          "random in [0, 1)": lambda run: torch.rand(5, generator=torch.Generator().manual_seed(10_000 + run), dtype=torch.float64),
          "exact V": lambda run: true_v.clone()}
by_start = {}
for name, v0 in starts.items():
    runs = [vl.td0_prediction(sample(100, torch.Generator().manual_seed(run)), 5, alpha=0.15, v0=v0(run)) for run in range(n_dip_runs)]
    by_start[name] = d = vl.error_decomposition(torch.stack(runs), true_v)
    mse = d.sum(-1)
    print(f"{name:>16}: MSE at episode 0 {float(mse[0]):.4f}, lowest {float(mse.min()):.4f} at episode {int(mse.argmin()):>2}, "
          f"episode 100 {float(mse[-1]):.4f} = bias² {float(d[-1, 0]):.4f} + variance {float(d[-1, 1]):.4f}")

# %%
plateau = by_start["V̂ ≡ 0.5 (above)"][-1]
assert torch.equal(plateau, on[-1])  # the same runs as the figure
for name in ("V̂ ≡ 0", "random in [0, 1)"):
    assert int(by_start[name].sum(-1).argmin()) >= 90  # no dip: the lowest error comes in the last ten episodes
for d in by_start.values():
    assert abs(float(d[-1, 0]) - float(plateau[0])) < 0.15 * float(plateau[0])  # the same bias² at episode 100
assert float(by_start["exact V"].sum(-1)[0]) < 1e-20 and float(by_start["exact V"].sum(-1)[-1]) > 0.004  # from the truth, up

# %% [markdown]
# It depends on the start; the plateau does not. From $\hat V \equiv 0$ or from random values there
# is no dip: the error falls to the plateau, its lowest value in the last ten episodes. From the
# exact $V$ it starts at zero and rises to it. By episode 100 every start has about the same bias² (within 15 % of the 0.5 start's),
# because the bias belongs to the online update's fixed point, not to the start. The dip is what
# the 0.5 start looks like on its way there: it is compressed towards the middle, the fixed point
# is stretched, and the runs' average passes close to $V$ in between.
#
# ## 5. Batch TD and batch MC: certainty equivalence
#
# Why does TD beat MC here? Take the step size out of the picture: give both methods a fixed
# batch of episodes and sweep it until the estimates stop changing (*batch updating*, Sutton &
# Barto §6.3). Batch MC converges to the average return observed from each state. Batch TD(0)
# converges to something else: the values of the **maximum-likelihood model** of the batch,
# with $\hat P(s'|s)$ and $\hat r(s)$ the observed frequencies and mean rewards,
#
# $$V_\text{TD} = \hat r + \gamma \hat P\, V_\text{TD} \qquad \text{(the \emph{certainty-equivalence} estimate)}, \tag{6.5}$$
#
# because at its fixed point every visited state's mean TD error is zero. Sutton & Barto's
# Example 6.4, "you are the predictor": eight episodes, A→B then 0 then 0 once, B then 1 six
# times, B then 0 once. What is $V(A)$?

# %%
# NBVAL_CHECK_OUTPUT
A, B = 0, 1
predictor = ([(torch.tensor([A, B]), torch.tensor([0.0, 0.0]))] + [(torch.tensor([B]), torch.tensor([1.0]))] * 6
             + [(torch.tensor([B]), torch.tensor([0.0]))])
v_mc, v_td, v_ce = vl.batch_mc(predictor, 2), vl.batch_td(predictor, 2), vl.certainty_equivalence(predictor, 2)
print(f"batch MC: V(A) = {float(v_mc[A]):.2f}, V(B) = {float(v_mc[B]):.2f}")
print(f"batch TD: V(A) = {float(v_td[A]):.2f}, V(B) = {float(v_td[B]):.2f}   (model (6.5): {[round(x, 2) for x in v_ce.tolist()]})")
assert torch.allclose(v_td, v_ce, atol=1e-9) and abs(float(v_ce[A]) - 0.75) < 1e-12 and float(v_mc[A]) == 0.0

# %% [markdown]
# MC says $V(A) = 0$: the one episode through A returned 0. TD says 0.75: A always led to B, and
# B is worth 0.75. If the process is Markov, the second answer is the better guess for the
# future, and TD gets it by using the structure (a state's value is its reward plus the next
# state's value) that MC ignores. On the random walk, over 50 batches of each size:

# %%
# NBVAL_CHECK_OUTPUT
sizes, n_batch_runs = (1, 3, 10, 30, 100), 50
batch_rms = {"TD": torch.zeros(n_batch_runs, len(sizes)), "MC": torch.zeros(n_batch_runs, len(sizes))}
for run in range(n_batch_runs):
    batch = sample(max(sizes), torch.Generator().manual_seed(1000 + run))
    for j, n in enumerate(sizes):
        batch_rms["TD"][run, j] = vl.rms_error(vl.certainty_equivalence(batch[:n], 5), true_v)
        batch_rms["MC"][run, j] = vl.rms_error(vl.batch_mc(batch[:n], 5), true_v)
gap = batch_rms["MC"] - batch_rms["TD"]  # paired: the same batches
for j, n in enumerate(sizes):
    print(f"{n:3d} episodes: RMS batch TD {float(batch_rms['TD'][:, j].mean()):.3f}, batch MC "
          f"{float(batch_rms['MC'][:, j].mean()):.3f}, MC − TD {float(gap[:, j].mean()):+.3f} ± "
          f"{1.96 * float(gap[:, j].std()) / n_batch_runs**0.5:.3f}")
ci = 1.96 * gap.std(0) / n_batch_runs**0.5
assert bool((gap.mean(0)[1:] - ci[1:] > 0).all())  # from 3 episodes on, batch TD is better (one episode: equal)

# %% [markdown]
# With one episode the two agree (every state on the path has seen one return); from three
# episodes on batch TD is better at every size, by an interval that excludes zero. No step size
# is involved: TD's advantage on this problem is that it extracts more from the same data.
#
# ## 6. $n$-step TD: the family between the two
#
# TD(0) trusts its estimate after one reward, MC after none. The $n$-step target uses $n$ real
# rewards, then the estimate:
#
# $$G_{t:t+n} = r_t + \gamma r_{t+1} + \dots + \gamma^{n-1} r_{t+n-1} + \gamma^n \hat V(s_{t+n}), \qquad V(s_t) \leftarrow V(s_t) + \alpha\big(G_{t:t+n} - V(s_t)\big), \tag{6.6}$$
#
# with the plain return where the episode ends first (`pe.value_learning.nstep_td_prediction`).
# $n = 1$ is TD(0), $n \ge$ the episode length is MC:

# %%
# NBVAL_CHECK_OUTPUT
check_eps = sample(20, torch.Generator().manual_seed(3))
same_td = torch.equal(vl.nstep_td_prediction(check_eps, 5, 0.1, v0=0.5, n=1), vl.td0_prediction(check_eps, 5, 0.1, v0=0.5))
same_mc = torch.allclose(vl.nstep_td_prediction(check_eps, 5, 0.1, v0=0.5, n=1000),
                         vl.mc_prediction(check_eps, 5, 0.1, v0=0.5), atol=1e-12)
assert same_td and same_mc
print("n = 1 is TD(0):", same_td, "   n = 1000 is MC:", same_mc)

# %% [markdown]
# On the 5-state walk episodes are short, so let us use Sutton & Barto's larger walk of 19 states
# (their Fig. 7.2; our rewards are 0/1 instead of −1/+1, which halves every error). For each $n$,
# the RMS error averaged over the first 10 episodes and over 30 runs, at a few step sizes:

# %%
walk19 = tm.random_walk(19)


def sample19(n, generator):
    return tm.sample_episodes(walk19, tm.uniform_policy(walk19), n, generator, max_steps=20_000).split()


true19 = tm.state_values(walk19, tm.uniform_policy(walk19))
n_values, step_sizes, n_nstep_runs = (1, 2, 4, 8, 16, 1000), (0.1, 0.2, 0.4, 0.8), 30
nstep_err = torch.zeros(len(n_values), len(step_sizes), n_nstep_runs)  # (n, α, run)
for run in range(n_nstep_runs):
    batch19 = sample19(10, torch.Generator().manual_seed(run))  # every n and α learn from the same episodes
    for i, n in enumerate(n_values):
        for j, a in enumerate(step_sizes):
            history = vl.nstep_td_prediction(batch19, 19, a, v0=0.5, n=n)
            nstep_err[i, j, run] = vl.rms_error(history[1:], true19).mean()

# %%
# NBVAL_CHECK_OUTPUT
best_alpha = nstep_err.mean(-1).argmin(-1)  # the best step size for each n
best = torch.stack([nstep_err[i, int(j)] for i, j in enumerate(best_alpha)])  # (n, runs) at that step size
for i, n in enumerate(n_values):
    half = 1.96 * float(best[i].std()) / n_nstep_runs**0.5
    print(f"n = {'MC' if n == 1000 else n:>3}: best α {step_sizes[int(best_alpha[i])]}, RMS over the first 10 episodes "
          f"{float(best[i].mean()):.3f} ± {half:.3f}")
means_n = best.mean(-1)
i_best = int(means_n.argmin())
assert 0 < i_best < len(n_values) - 1  # an intermediate n is best
for i in (0, len(n_values) - 1):  # better than TD(0) and than MC, paired over the same runs
    d = best[i] - best[i_best]
    assert float(d.mean()) - 1.96 * float(d.std()) / n_nstep_runs**0.5 > 0

# %% [markdown]
# An intermediate $n$ beats both ends. Which $n$ is best depends on the problem and the step size,
# so rather than picking one, notebook 07 averages all of them with geometric weights: that is
# GAE's $\lambda$, applied to advantages instead of values.
#
# ## 7. From tables to a critic network: the semi-gradient
#
# A neural critic $V_w$ is trained on the same targets by regression. The PPO critic regresses on
# the *return* targets $R_t = \hat A_t + V_\text{old}(s_t)$ (notebook 07: $\lambda = 1$ is the MC
# target, $\lambda = 0$ the TD target), with loss $\tfrac12(R_t - V_w(s_t))^2$. The target is treated
# as a constant. For the TD(0) target $r_t + \gamma V_w(s_{t+1})$ that means we do **not**
# differentiate through $V_w(s_{t+1})$, and the gradient is
#
# $$\nabla_w\, \tfrac12\big(\underbrace{r_t + \gamma V_w(s_{t+1})}_{\text{held constant}} - V_w(s_t)\big)^2 = -\big(r_t + \gamma V_w(s_{t+1}) - V_w(s_t)\big)\,\nabla_w V_w(s_t) = -\delta_t\, \nabla_w V_w(s_t). \tag{6.7}$$
#
# So gradient *descent* moves $w$ by $+\alpha\,\delta_t\nabla V$, which for a table ($\nabla_w V_w(s)$ is
# the indicator of $s$) is exactly (6.3). The source notes get the update
# $w \leftarrow w + \alpha\sum_t \delta_t\nabla V$ right, but write the gradient as $-r\,\delta_t\nabla V$,
# with a stray factor $r$ (the reward) that the derivation does not produce. Checked by autograd
# on a linear critic:

# %%
# NBVAL_CHECK_OUTPUT
w = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64, requires_grad=True)
phi_s, phi_next = torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64), torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
r, gamma = 1.0, 0.9
target = (r + gamma * w @ phi_next).detach()  # the target is a constant
delta = target - w @ phi_s
(grad_w,) = torch.autograd.grad(0.5 * delta**2, w)
assert torch.allclose(grad_w, -delta.detach() * phi_s)
print("∇ loss =", [round(x, 4) for x in grad_w.tolist()], " −δ∇V =", [round(x, 4) for x in (-delta.detach() * phi_s).tolist()])

# %% [markdown]
# ## 8. Exercises
#
# (Exercise 6.1, the error decomposition, is in §4b.)
#
# **Exercise 6.2** One TD(0) step (6.3). `values` is the table (a tensor of length 5); return an
# updated **copy**. `terminated` says whether `next_state` is terminal.

# %%
def td0_step(values, state, reward, next_state, terminated, alpha, gamma):
    ### BEGIN SOLUTION
    new = values.clone()
    next_value = 0.0 if terminated else values[next_state]
    new[state] = values[state] + alpha * (reward + gamma * next_value - values[state])
    return new
    ### END SOLUTION


pe.exercises.td0_step.check(td0_step)

# %% [markdown]
# **Exercise 6.3** Constant-$\alpha$ MC (6.2) over one finished episode: compute every $G_t$, then
# update $V(s_t)$ for $t = 0, 1, \dots$ in order (a state visited twice is updated twice). Return the
# new table.

# %%
def mc_episode(values, states, rewards, alpha, gamma):
    ### BEGIN SOLUTION
    T = len(rewards)
    returns = torch.zeros(T, dtype=torch.float64)
    G = 0.0
    for t in reversed(range(T)):
        G = rewards[t] + gamma * G
        returns[t] = G
    new = values.clone()
    for t in range(T):
        s = states[t]
        new[s] = new[s] + alpha * (returns[t] - new[s])
    return new
    ### END SOLUTION


pe.exercises.mc_episode.check(mc_episode)

# %% [markdown] tags=["solution-demo"]
# A classic mistake, updating every state towards the return of the *whole* episode, is named:

# %% tags=["solution-demo"]
def mc_whole_return(values, states, rewards, alpha, gamma):
    G = sum(gamma**t * rewards[t] for t in range(len(rewards)))
    new = values.clone()
    for s in states:
        new[s] = new[s] + alpha * (G - new[s])
    return new


result = pe.exercises.mc_episode.check(mc_whole_return)
assert result.mistake == "total_return_target"
print(result)

# %% [markdown]
# ## Recap
#
# * The random walk's exact values are 1/6 … 5/6 (6.1), so every estimate can be scored.
# * MC (6.2) moves $V$ towards the return $G_t$: unbiased, high variance, waits for the episode's end.
# * TD(0) (6.3) moves $V$ towards $r + \gamma V(s')$: biased while $V$ is wrong, low variance (also
#   with the perfect $\hat V$: 0.028 against MC's 0.25 in C), learns every step.
# * On the random walk TD reaches a lower error than MC for every $\alpha$ tried; for TD a larger
#   $\alpha$ learns faster and ends higher. The dip-then-rise at $\alpha = 0.15$ is bias (6.4), from
#   online updates within an episode; offline TD(0) does not show it.
# * Batch TD finds the certainty-equivalence values (6.5), batch MC the average returns; on the walk
#   batch TD is better from three episodes on: TD uses the Markov structure.
# * $n$-step TD (6.6) spans TD ($n = 1$) to MC; on the 19-state walk an intermediate $n$ is best.
# * A critic network regresses on a constant target; its gradient is $-\delta\nabla V$ (6.7).
#
# Next: **07 · GAE**, which blends all the $n$-step targets with one knob, $\lambda$.
