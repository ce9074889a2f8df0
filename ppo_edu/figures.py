"""The recipes that regenerate every file in ``figures/``: ``python -m ppo_edu figures``.

A recipe computes its data with fixed seeds through the tested modules, calls a function of
:mod:`ppo_edu.plots` and returns the Figure. :func:`save_all` writes PNGs with fixed metadata,
so the same machine and library versions give byte-identical files.

Register a recipe with ``@recipe("NN_name")``; the file is ``figures/NN_name.png``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import itertools  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from . import (  # noqa: E402
    ablations,
    lab,
    plots,
    rlhf,
    rlhf_train,
    runtime,
    toy_lm,
    toy_mdps,
    train,
    trust_region,
    value_learning,
)
from . import importance as imp  # noqa: E402
from . import policy_gradient as pg  # noqa: E402
from . import toy_mdps as tm  # noqa: E402

RECIPES: dict[str, Callable[[], Figure]] = {}
_PNG_METADATA = {"Software": None}
_DPI = 110


def recipe(name: str) -> Callable[[Callable[[], Figure]], Callable[[], Figure]]:
    """Register ``fn`` as the recipe for ``figures/<name>.png``."""
    def register(fn: Callable[[], Figure]) -> Callable[[], Figure]:
        if name in RECIPES:
            raise RuntimeError(f"figure {name!r} is registered twice")
        RECIPES[name] = fn
        return fn

    return register


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG with fixed metadata (no version or date stamps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, metadata=_PNG_METADATA)
    plt.close(fig)
    return path


def save_all(out_dir: str | Path = "figures", only: Iterable[str] | None = None) -> list[Path]:
    """Run the recipes (all, or those named in ``only``) and write ``<out_dir>/<name>.png``."""
    names = list(RECIPES) if only is None else list(only)
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise ValueError(f"unknown figure(s) {unknown}; known: {sorted(RECIPES)}")
    plt.rcParams["svg.hashsalt"] = "ppo_edu"
    return [save(RECIPES[name](), Path(out_dir) / f"{name}.png") for name in names]


# --- 00 start here ---------------------------------------------------------------------------
@recipe("00_discount_weights")
def _discount_weights() -> Figure:
    return plots.discount_weights([0.5, 0.9, 0.99], horizon=250)


# --- 01–04 -----------------------------------------------------------------------------------
def _corridor_start():
    mdp = toy_mdps.corridor()
    return mdp, torch.zeros(mdp.n_states, mdp.n_actions, dtype=torch.float64)


@recipe("01_mc_gradient_error")
def _mc_gradient_error() -> Figure:
    mdp, theta0 = _corridor_start()
    pool = tm.sample_episodes(mdp, tm.softmax_policy(theta0), 200_000, torch.Generator().manual_seed(1))
    w = pg.total_return_weights(pool.rewards, pool.mask, mdp.gamma)
    est = pg.reinforce_estimates(theta0, pool.states, pool.actions, w, pool.mask)
    sizes = [10, 30, 100, 300, 1000, 3000, 10_000, 30_000]
    return plots.mc_gradient_error(sizes, pg.mc_gradient_errors(est, tm.exact_gradient(mdp, theta0), sizes))


@recipe("01_reinforce_learning_curve")
def _reinforce_learning_curve() -> Figure:
    mdp, theta0 = _corridor_start()
    best = max(float(tm.state_values(mdp, torch.nn.functional.one_hot(torch.tensor(acts), 2).double()) @ mdp.mu0)
               for acts in itertools.product(range(2), repeat=mdp.n_states))
    gen, theta = torch.Generator().manual_seed(2), theta0.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([theta], lr=2.0)
    history = [float(tm.objective(mdp, theta0))]
    for _ in range(80):
        batch = tm.sample_episodes(mdp, tm.softmax_policy(theta.detach()), 100, gen)
        weights = pg.total_return_weights(batch.rewards, batch.mask, mdp.gamma)
        loss = pg.reinforce_loss(pg.log_probs(theta, batch.states, batch.actions), weights, batch.mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(float(tm.objective(mdp, theta.detach())))
    return plots.learning_curve(range(len(history)), history, optimum=best)


def _corridor_episodes(n: int = 20_000, seed: int = 0):
    mdp, theta0 = _corridor_start()
    return mdp, theta0, tm.sample_episodes(mdp, tm.softmax_policy(theta0), n, torch.Generator().manual_seed(seed))


@recipe("02_baseline_variance")
def _baseline_variance() -> Figure:
    mdp, theta0, eps = _corridor_episodes()
    g = pg.score_sums(theta0, eps.states, eps.actions, eps.mask)
    R = pg.total_return_weights(eps.rewards, eps.mask, mdp.gamma)[0]
    grid = torch.linspace(-0.8, 0.6, 141, dtype=torch.float64)
    return plots.baseline_variance(grid, pg.baseline_variance_curve(g, R, grid),
                                   b_best=float(pg.optimal_constant_baseline(g, R)), b_mean=float(R.mean()))


@recipe("02_baseline_learning_curves")
def _baseline_learning_curves() -> Figure:
    mdp, _ = _corridor_start()
    best = float(tm.state_values(mdp, torch.tensor([[0.0, 1.0]] * 3, dtype=torch.float64))[0])
    runs = {"no baseline": ("none", 10), "baseline: previous batch's mean": ("previous_batch", 11)}
    n_runs = runtime.budget(100, 30)  # as notebook 02 (30 runs under the tests)
    panels = {f"returns shifted by c = {c:g}": {label: pg.reinforce_learning_curves(mdp, n_runs, 60, 10, 1.0, base, c, seed)
                                                for label, (base, seed) in runs.items()} for c in (0.0, 2.0)}
    return plots.baseline_learning_curves(panels, optimum=best)


@recipe("03_q_v_a")
def _q_v_a() -> Figure:
    mdp, theta0 = _corridor_start()
    pi = tm.softmax_policy(theta0)
    return plots.q_v_a(tm.action_values(mdp, pi), tm.state_values(mdp, pi), tm.advantages(mdp, pi),
                       mdp.state_names, mdp.action_names, mdp.gamma)


@recipe("03_estimator_variance")
def _estimator_variance() -> Figure:
    mdp, theta0, eps = _corridor_episodes()
    pi = tm.softmax_policy(theta0)
    V, Q, A = tm.state_values(mdp, pi), tm.action_values(mdp, pi), tm.advantages(mdp, pi)
    s, a, m = eps.states, eps.actions, eps.mask
    rtg = pg.reward_to_go_weights(eps.rewards, m, mdp.gamma)
    weights = {
        "R(τ)": pg.total_return_weights(eps.rewards, m, mdp.gamma),
        "γ^t G_t": rtg,
        "γ^t (G_t − V(s_t))": rtg - pg.discount_weights(V[s], m, mdp.gamma),
        "γ^t Q(s_t, a_t)": pg.discount_weights(Q[s, a], m, mdp.gamma),
        "γ^t A(s_t, a_t)": pg.discount_weights(A[s, a], m, mdp.gamma),
    }
    var = [float(pg.total_variance(pg.reinforce_estimates(theta0, s, a, w, m))) for w in weights.values()]
    return plots.estimator_variances(list(weights), var)


@recipe("04_importance_drift")
def _importance_drift() -> Figure:
    logits_mu = torch.tensor([1.5, 1.0, 0.0, -1.5], dtype=torch.float64)
    u = torch.tensor([-0.5, 0.0, 0.0, 1.0], dtype=torch.float64)
    f = torch.tensor([1.0, 0.5, 0.0, 2.0], dtype=torch.float64)
    mu, gen = torch.softmax(logits_mu, 0), torch.Generator().manual_seed(1)
    cols: list[list[float]] = [[], [], [], [], []]
    for delta in torch.linspace(0.0, 4.0, 17, dtype=torch.float64):
        p = torch.softmax(logits_mu + delta * u, 0)
        a = torch.multinomial(mu, 200_000, replacement=True, generator=gen)
        w = (p / mu)[a]
        for col, value in zip(cols, (imp.kl_divergence(p, mu), imp.is_variance(p, mu, f), (w * f[a]).var(),
                                     1 / imp.second_moment(p, mu),
                                     imp.effective_sample_size(w.reshape(-1, 100).T).mean() / 100), strict=True):
            col.append(float(value))
    return plots.importance_drift(*cols)


@recipe("04_surrogate_vs_objective")
def _surrogate_vs_objective() -> Figure:
    mdp, theta0 = _corridor_start()
    grad = tm.exact_gradient(mdp, theta0)
    u = grad / grad.norm()
    alphas = torch.linspace(-2.0, 6.0, 81, dtype=torch.float64)
    gain = torch.stack([tm.objective(mdp, theta0 + al * u) for al in alphas]) - tm.objective(mdp, theta0)
    surrogate = torch.stack([tm.surrogate_objective(mdp, theta0 + al * u, theta0) for al in alphas])
    return plots.surrogate_vs_objective(alphas, gain, surrogate, slope=float(grad.norm()))


@recipe("04_surrogate_overpromises")
def _surrogate_overpromises() -> Figure:
    mdp, theta0 = tm.corridor(slip=0.5), torch.zeros(3, 2, dtype=torch.float64)
    grad = tm.exact_gradient(mdp, theta0)
    line = [theta0 + al * grad / grad.norm() for al in torch.linspace(-2.0, 6.0, 81, dtype=torch.float64)]
    gain = torch.stack([tm.objective(mdp, th) for th in line]) - tm.objective(mdp, theta0)
    surrogate = torch.stack([tm.surrogate_objective(mdp, th, theta0) for th in line])
    bound = torch.stack([tm.trpo_lower_bound(mdp, th, theta0) for th in line])
    return plots.surrogate_vs_objective(torch.linspace(-2.0, 6.0, 81, dtype=torch.float64), gain, surrogate,
                                        slope=float(grad.norm()), bound=bound,
                                        title="A slippery corridor: the surrogate over-promises")


# --- 05 PPO-clip -----------------------------------------------------------------------------
@recipe("05_six_clipping_cases")
def _six_cases() -> Figure:
    return plots.six_clipping_cases(clip_eps=0.2)


@recipe("05_clip_vs_penalty")
def _clip_vs_penalty() -> Figure:
    means = trust_region.bandit_means(5, seed=0)
    hists = {m: trust_region.policy_update_study(m, means) for m in trust_region.METHODS}
    return plots.clip_vs_penalty(hists, float(means.max()), kl_target=0.01)


@recipe("05_bandit_study")
def _bandit_study() -> Figure:
    return plots.bandit_study(trust_region.bandit_study(n_bandits=200))


@recipe("05_surrogates_along_line")
def _surrogates_along_line() -> Figure:
    alphas = torch.linspace(0.0, 3.0, 61, dtype=torch.float64)
    line = trust_region.update_line(trust_region.bandit_means(5, seed=0), alphas, beta=1.0)
    curves = {"L = E_t[ρÂ]": line["L"], "E_t[clip(ρ)Â] alone": line["clip_only"],
              "L − β·KL (β = 1)": line["L_pen"], "L^CLIP = E_t[min(ρÂ, clip(ρ)Â)]": line["L_clip"]}
    return plots.surrogates_along_line(alphas, curves, line["kl"])


# --- 06–08 -----------------------------------------------------------------------------------
def _random_walk_study(n_runs: int = 100, n_episodes: int = 100):
    """The data of notebook 06's figure (the notebook runs the same calls)."""
    walk = toy_mdps.random_walk(5)
    true = toy_mdps.state_values(walk, toy_mdps.uniform_policy(walk))

    def sample(n, generator):
        return toy_mdps.sample_episodes(walk, toy_mdps.uniform_policy(walk), n, generator).split()

    one_run = value_learning.td0_prediction(sample(n_episodes, torch.Generator().manual_seed(0)), 5, alpha=0.1, v0=0.5)
    snapshots = {n: one_run[n] for n in (0, 1, 10, n_episodes)}
    alphas = {"td": [0.05, 0.1, 0.15], "mc": [0.01, 0.02, 0.03, 0.04]}
    curves = {m: dict(zip(a, value_learning.rms_curves(m, a, true, n_episodes, n_runs, sample, v0=0.5), strict=True))
              for m, a in alphas.items()}
    return true, snapshots, curves


@recipe("06_td_vs_mc")
def _td_vs_mc() -> Figure:
    true, snapshots, curves = _random_walk_study()
    return plots.td_vs_mc(true, snapshots, curves, n_runs=100)


@recipe("06_error_decomposition")
def _error_decomposition() -> Figure:
    walk = toy_mdps.random_walk(5)
    true = toy_mdps.state_values(walk, toy_mdps.uniform_policy(walk))
    online, offline = [], []
    for run in range(200):  # notebook 06, §4b
        episodes = toy_mdps.sample_episodes(walk, toy_mdps.uniform_policy(walk), 100,
                                            torch.Generator().manual_seed(run)).split()
        online.append(value_learning.td0_prediction(episodes, 5, alpha=0.15, v0=0.5))
        offline.append(value_learning.td0_prediction(episodes, 5, alpha=0.15, v0=0.5, online=False))
    curves = {"online TD(0), α = 0.15": value_learning.error_decomposition(torch.stack(online), true),
              "offline TD(0), α = 0.15": value_learning.error_decomposition(torch.stack(offline), true)}
    return plots.error_decomposition(curves, n_runs=200)


GAE_LAMBDAS = [round(0.05 * i, 2) for i in range(21)]


def _gae_study(n_rollouts: int = 4000):
    mdp, pi = toy_mdps.gae_study_mdp()
    critic = toy_mdps.imperfect_critic(mdp, pi, error_scale=2.0)
    return toy_mdps.gae_bias_variance(mdp, pi, critic, GAE_LAMBDAS, n_rollouts)


@recipe("07_best_lambda_vs_critic_error")
def _best_lambda_vs_critic_error() -> Figure:
    mdp, pi = toy_mdps.gae_study_mdp()
    scales = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
    critics = torch.stack([toy_mdps.imperfect_critic(mdp, pi, sc, seed) for sc in scales for seed in range(10)])
    sweep = toy_mdps.gae_bias_variance(mdp, pi, critics, GAE_LAMBDAS, 4000)
    best = torch.tensor(GAE_LAMBDAS, dtype=torch.float64)[sweep["mse"].argmin(-1)].reshape(len(scales), -1)
    return plots.best_lambda_vs_critic_error(scales, best)


@recipe("07_gae_bias_variance")
def _gae_bias_variance() -> Figure:
    return plots.gae_bias_variance(GAE_LAMBDAS, _gae_study())


@recipe("08_ppo_training")
def _ppo_training() -> Figure:
    """Notebook 08's short CartPole run (:data:`ppo_edu.train.NOTEBOOK_08`, a few seconds on the CPU)."""
    trainer = train.Trainer(train.NOTEBOOK_08.replace(total_steps=runtime.budget(40_000, 4_096)))  # short under the tests
    trainer.train(progress=False)
    return plots.ppo_training(trainer.metrics())


# --- 09 --------------------------------------------------------------------------------------
_RLHF_TOY: dict = {}


def _rlhf_toy():
    """The toy RLHF task of notebook 09, built once per process (a few seconds)."""
    if "toy" not in _RLHF_TOY:

        _RLHF_TOY["toy"] = toy_lm.make_toy(seed=0)
    return _RLHF_TOY["toy"]


@recipe("09_rlhf_token_rewards")
def _rlhf_token_rewards() -> Figure:
    toy = _rlhf_toy()
    row = toy_lm.make_batch([2], *toy_lm.encode(["ac."]))  # prompt "cd", response "ac."
    return plots.rlhf_token_rewards(**toy_lm.reward_parts(toy_lm.nudged_policy(toy.reference), toy, row, 0.3))


@recipe("09_rlhf_kl_estimators")
def _rlhf_kl_estimators() -> Figure:
    toy = _rlhf_toy()
    nudged = toy_lm.nudged_policy(toy.reference)
    logp_all = toy_lm.all_sequence_logprobs(nudged)
    exact = float((logp_all.exp() * (logp_all - toy.ref_logp_all)).sum(1).mean())
    g = torch.Generator().manual_seed(2)
    rows = toy_lm.sample(nudged, toy_lm.sample_prompts(4000, g), g)
    with torch.no_grad():
        lp = toy_lm.token_logprobs(nudged, rows.tokens, rows.attention_mask)
        lr = toy_lm.token_logprobs(toy.reference, rows.tokens, rows.attention_mask)
    return plots.rlhf_kl_estimators(
        {e: rlhf.sequence_kl(lp, lr, rows.response_mask, e).numpy() for e in rlhf.KL_ESTIMATORS}, exact
    )


@recipe("09_rlhf_beta_sweep")
def _rlhf_beta_sweep() -> Figure:
    toy = _rlhf_toy()
    sweep = toy_lm.beta_sweep(toy, np.geomspace(0.01, 10, 61))
    best = toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, 0.3)
    return plots.rlhf_beta_sweep(sweep, 0.3, toy_lm.top_sequences(best["logp"], toy, 5), best["kl"])


@recipe("09_rlhf_kl_controller")
def _rlhf_kl_controller() -> Figure:
    demo = toy_lm.controller_demo(_rlhf_toy(), rlhf.AdaptiveKLController(0.05, 4.0, horizon=1000), updates=200)
    return plots.rlhf_kl_controller(demo["beta"], demo["kl"], 4.0)


@recipe("09_rlhf_training")
def _rlhf_training() -> Figure:
    toy = _rlhf_toy()
    hists, optima = {}, {}
    n = runtime.budget(40, 3)  # the notebook's run; a short one under the test suite
    for beta, label in ((0.3, "β = 0.3"), (0.0, "β = 0 (no KL penalty)")):
        hists[label] = rlhf_train.train_rlhf(toy, rlhf_train.RLHFConfig(beta=beta, iterations=n))["history"]
        opt = toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, beta)
        optima[label] = {**opt, "gold": float((opt["logp"].exp() * toy.gold_all).sum(1).mean())}
    return plots.rlhf_training(hists, optima, mark_peak=["β = 0 (no KL penalty)"])


@recipe("09_rlhf_methods")
def _rlhf_methods() -> Figure:
    toy = _rlhf_toy()
    # the notebook's comparison (4 seeds of 30 iterations); a short one under the test suite
    runs = rlhf_train.compare_methods(toy, seeds=runtime.budget(range(4), range(2)), iterations=runtime.budget(30, 2))
    opt = toy_lm.kl_regularized_optimum(toy.ref_logp_all, toy.score_all, 0.3)
    opt["gold"] = float((opt["logp"].exp() * toy.gold_all).sum(1).mean())
    return plots.rlhf_methods(runs["histories"], 0.3, opt)


# --- 10 --------------------------------------------------------------------------------------
_CARTPOLE_RUN: dict = {}


def _cartpole_run():
    """Notebook 10's population run (:data:`ppo_edu.train.NOTEBOOK_10` on the CPU), shared by its figures."""
    if not _CARTPOLE_RUN:
        cfg = train.NOTEBOOK_10.replace(device="cpu")
        if runtime.quick_mode():  # the test suite draws a short run
            cfg = cfg.replace(total_steps=8_192, population=2)
        trainer = train.Trainer(cfg)
        trainer.train(progress=False)
        _CARTPOLE_RUN["trainer"] = trainer
    return _CARTPOLE_RUN["trainer"]


@recipe("10_learning_curves")
def _learning_curves() -> Figure:
    steps, returns = _cartpole_run().learning_curves()
    return plots.learning_curves(steps, returns)


@recipe("10_pole_filmstrip")
def _pole_filmstrip() -> Figure:
    trainer = _cartpole_run()
    best = int(train.evaluate(trainer.agent, episodes=10).mean(1).argmax())
    return plots.cartpole_filmstrip(train.rollout_states(trainer.agent.member(best), seed=0))


# --- 11 --------------------------------------------------------------------------------------
# Notebook 11 and these recipes call the same functions (pe.lab.run_lab, pe.ablations.study) with
# the same budget switch, so the figures show the notebook's runs (full unless PPO_EDU_QUICK=1).
_PRACTICE: dict = {}


def _practice(name: str):
    if name not in _PRACTICE:
        run = {"lab": lab.run_lab, "ablations": ablations.study}[name]
        _PRACTICE[name] = run(runtime.quick_mode())
    return _PRACTICE[name]


@recipe("11_lab_runs")
def _lab_runs() -> Figure:
    return plots.lab_runs(_practice("lab"), title="Debugging lab: which bug does each run have?")


@recipe("11_ablation_curves")
def _ablation_curves() -> Figure:
    return plots.ablation_curves(ablations.curves(_practice("ablations")))


@recipe("11_ablation_summary")
def _ablation_summary() -> Figure:
    return plots.ablation_summary(ablations.summary_rows(_practice("ablations")))
