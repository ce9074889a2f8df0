"""Every course figure as a function: data in, ``Figure`` out.

Each function takes the data (and optionally an ``ax``), draws, closes the figure with
``plt.close(fig)`` so a notebook shows it exactly once (display it with ``display(fig)`` or as
the cell's last expression) and returns it. Nothing here computes course results: the data
come from the tested modules.

Sections follow the notebook order; add a figure under its notebook's heading.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from . import losses

COLORS = {"pos": "#1f77b4", "neg": "#d62728", "clip": "#7f7f7f", "zero": "#ffcc80", "accent": "#2ca02c"}


def _fig_ax(ax: Axes | None, figsize: tuple[float, float] = (6.0, 4.0)) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _done(fig: Figure) -> Figure:
    plt.close(fig)
    return fig


# --- 00 start here ---------------------------------------------------------------------------
def discount_weights(gammas: Sequence[float], horizon: int = 50, ax: Axes | None = None) -> Figure:
    """γ^t against t for several γ: how far into the future each discount looks."""
    fig, ax = _fig_ax(ax)
    t = np.arange(horizon)
    for g in gammas:
        ax.plot(t, float(g) ** t, label=f"γ = {g} (horizon ≈ {1 / (1 - g):.0f})" if g < 1 else f"γ = {g}")
    ax.set(xlabel="steps into the future t", ylabel="weight γ^t", title="How much a reward t steps ahead counts")
    ax.legend()
    return _done(fig)


def _np(x) -> np.ndarray:
    """A tensor, list or array as a float64 NumPy array (detached, on the CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


# --- 01–04 policy gradient, baseline, advantage, importance sampling -------------------------
def mc_gradient_error(sizes, errors, ax: Axes | None = None) -> Figure:
    """RMS error of the N-episode REINFORCE estimate against N (log–log), with a c/√N guide line."""
    fig, ax = _fig_ax(ax)
    n, err = _np(sizes), _np(errors)
    ax.loglog(n, err, "o-", color=COLORS["pos"], label="measured ‖ĝ_N − ∇J‖ (RMS)")
    ax.loglog(n, err[0] * np.sqrt(n[0] / n), "--", color=COLORS["clip"], label="slope −1/2: c / √N")
    ax.set(xlabel="number of episodes N", ylabel="error of the gradient estimate",
           title="Monte-Carlo policy gradient vs the exact ∇J")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return _done(fig)


def learning_curve(steps, values, optimum: float | None = None, ax: Axes | None = None,
                   ylabel: str = "J(θ) (exact)", title: str = "REINFORCE on the corridor") -> Figure:
    """A quantity (e.g. the exact J(θ) after each update) against the update number."""
    fig, ax = _fig_ax(ax)
    ax.plot(_np(steps), _np(values), color=COLORS["pos"], label="J(θ) after each update")
    if optimum is not None:
        ax.axhline(optimum, color=COLORS["accent"], ls="--", label=f"best possible J = {optimum:.3f}")
    ax.set(xlabel="update", ylabel=ylabel, title=title)
    ax.legend(loc="lower right")
    return _done(fig)


def baseline_variance(baselines, variances, b_best: float, b_mean: float | None = None,
                      ax: Axes | None = None) -> Figure:
    """Total variance of the one-episode gradient estimate against a constant baseline b."""
    fig, ax = _fig_ax(ax)
    b, v = _np(baselines), _np(variances)
    ax.plot(b, v, color=COLORS["pos"], lw=2, label="tr Var[(R − b) ∇log p(τ)]")
    v_best = float(np.interp(b_best, b, v))
    ax.plot([b_best], [v_best], "*", ms=16, color=COLORS["accent"], label=f"best b* = {b_best:.3f}")
    if b_mean is not None:
        ax.plot([b_mean], [float(np.interp(b_mean, b, v))], "o", ms=8, color=COLORS["neg"],
                label=f"b = mean return = {b_mean:.3f}")
    ax.axvline(0.0, color="k", lw=0.8, ls=":")
    ax.set(xlabel="constant baseline b", ylabel="total variance of one estimate",
           title="The variance is a parabola in b (the mean is ∇J for every b)")
    ax.legend()
    return _done(fig)


def baseline_learning_curves(panels: dict[str, dict[str, object]], optimum: float | None = None,
                             band: tuple[float, float] = (0.1, 0.9)) -> Figure:
    """Exact J against the update, one panel per setting: each curve is the mean over runs, with a band.

    ``panels`` maps a panel title to {label: (runs, updates + 1) array of J}; the band spans the
    ``band`` quantiles of the runs at each update (Sutton & Barto, Fig. 13.2, with a band).
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), layout="constrained", sharey=True)
    axes = np.atleast_1d(axes)
    colors = [COLORS["neg"], COLORS["pos"], COLORS["accent"], COLORS["clip"]]
    for ax, (title, curves) in zip(axes, panels.items(), strict=True):
        for k, (label, runs) in enumerate(curves.items()):
            j = _np(runs)
            x = np.arange(j.shape[1])
            lo, hi = np.quantile(j, band, axis=0)
            ax.fill_between(x, lo, hi, color=colors[k % 4], alpha=0.2, lw=0)
            ax.plot(x, j.mean(0), color=colors[k % 4], lw=2, label=f"{label} (mean of {j.shape[0]} runs)")
        if optimum is not None:
            ax.axhline(optimum, color="k", ls="--", lw=1, label=f"best possible J = {optimum:.3f}")
        ax.set(xlabel="update", title=title)
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel(f"J(θ) (exact); band: {band[0]:.0%}–{band[1]:.0%} of runs")
    return _done(fig)


def estimator_variances(labels: Sequence[str], variances, biases=None, ax: Axes | None = None) -> Figure:
    """Horizontal bars: the variance of each gradient estimator (and, optionally, its measured bias)."""
    fig, ax = _fig_ax(ax, figsize=(7.5, 0.6 * len(labels) + 1.6))
    v = _np(variances)
    y = np.arange(len(labels))[::-1]
    bars = ax.barh(y, v, color=COLORS["pos"])
    for k, bar in enumerate(bars):
        text = f"{v[k]:.3g}" + (f"   bias ≈ {_np(biases)[k]:.3f}" if biases is not None else "")
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, "  " + text, va="center", fontsize=9)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, v.max() * 1.6)
    ax.set(xlabel="total variance of a one-episode estimate", title="Same expectation, different variance")
    return _done(fig)


def q_v_a(q, v, a, state_names: Sequence[str], action_names: Sequence[str], gamma: float,
          what: str = "the uniform policy on the corridor") -> Figure:
    """Exact Q(s, a) and V(s) (left) and A(s, a) = Q − V (right) of a tabular MDP, one group per state."""
    qn, vn, an = _np(q), _np(v), _np(a)
    S, A = qn.shape
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    width = 0.8 / A
    x = np.arange(S)
    colors = [COLORS["neg"], COLORS["pos"], COLORS["accent"], COLORS["clip"]]
    for j in range(A):
        xj = x + (j - (A - 1) / 2) * width
        axes[0].bar(xj, qn[:, j], width, color=colors[j % 4], label=f"Q(s, {action_names[j]})")
        axes[1].bar(xj, an[:, j], width, color=colors[j % 4], label=f"A(s, {action_names[j]})")
    axes[0].hlines(vn, x - 0.45, x + 0.45, colors="k", lw=3, label="V(s) = Σ_a π(a|s) Q(s, a)")
    for ax, title in ((axes[0], "Q and V"), (axes[1], "advantage A = Q − V")):
        ax.set_xticks(x, state_names)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_title(title)
        ax.legend(fontsize=8, loc="upper left")
    lo = min(qn.min(), vn.min(), an.min(), 0) - 0.1
    hi = max(qn.max(), vn.max(), an.max(), 0) + 0.35
    for ax in axes:
        ax.set_ylim(lo, hi)
    fig.suptitle(f"Exact values of {what}, γ = {gamma:.2f}")
    return _done(fig)


def importance_drift(kls, var_exact, var_sampled, ess_exact, ess_sampled) -> Figure:
    """IS variance (left, log scale) and ESS/N (right) against KL(π ‖ μ): exact curves, sampled points."""
    k = _np(kls)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    axes[0].semilogy(k, _np(var_exact), color=COLORS["pos"], label="exact Var_μ[w f]  (4.2)")
    axes[0].semilogy(k, _np(var_sampled), "o", color=COLORS["neg"], ms=4, label="measured")
    axes[0].set(xlabel="KL(π ‖ μ)", ylabel="variance of one weighted sample",
                title="Importance sampling: the variance blows up")
    axes[1].plot(k, _np(ess_exact), color=COLORS["pos"], label="1 / E_μ[w²]  (large-N limit)")
    axes[1].plot(k, _np(ess_sampled), "o", color=COLORS["neg"], ms=4, label="measured ESS / N, N = 100  (4.3)")
    axes[1].set(xlabel="KL(π ‖ μ)", ylabel="ESS / N", ylim=(0, 1.05),
                title="…and the effective sample size collapses")
    for ax in axes:
        ax.legend()
        ax.grid(True, alpha=0.3)
    return _done(fig)


def surrogate_vs_objective(alphas, true_gain, surrogate, slope: float, ax: Axes | None = None,
                           bound=None, title: str = "Old states, new actions: exact to first order at θ_old") -> Figure:
    """J(θ) − J(θ_old) and the surrogate L_θold(θ) along a line θ = θ_old + α·u, with their common tangent.

    With ``bound``, TRPO's lower bound L − C·KL_max (4.9) is drawn too (clipped to the plot's range).
    """
    fig, ax = _fig_ax(ax)
    al = _np(alphas)
    ax.plot(al, _np(true_gain), color=COLORS["pos"], lw=2.5, label="J(θ) − J(θ_old)  (true gain)")
    ax.plot(al, _np(surrogate), color=COLORS["neg"], lw=2, ls="--", label="surrogate L_θold(θ)  (4.6)")
    ax.plot(al, slope * al, color=COLORS["clip"], lw=1, ls=":", label="tangent at θ_old: α·∇J·u")
    if bound is not None:
        lo, hi = min(_np(true_gain).min(), _np(surrogate).min()), max(_np(true_gain).max(), _np(surrogate).max())
        ax.plot(al, _np(bound), color="k", lw=1.5, label="TRPO bound L − C·KL_max  (4.9)")
        ax.set_ylim(lo - 0.3 * (hi - lo), hi + 0.15 * (hi - lo))
    ax.axvline(0, color="k", lw=0.8)
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="step size α along u = ∇J(θ_old)/‖∇J‖", ylabel="gain", title=title)
    ax.legend(fontsize=8)
    return _done(fig)


# --- 05 PPO-clip -----------------------------------------------------------------------------
def six_clipping_cases(clip_eps: float = 0.2, rho_max: float = 2.0) -> Figure:
    """The PPO-clip objective min(ρA, clip(ρ,1−ε,1+ε)A) against ρ, for A > 0 and A < 0.

    The regions where autograd gives ∂/∂ρ = 0 (the sample stops pushing) are shaded, and
    the six cases are numbered as in the table of notebook 05.
    """
    eps = float(clip_eps)
    rho = torch.linspace(1e-3, rho_max, 801, dtype=torch.float64, requires_grad=True)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained", sharey=False)
    for ax, a, color, first_case in ((axes[0], 1.0, COLORS["pos"], 1), (axes[1], -1.0, COLORS["neg"], 4)):
        obj = losses.clipped_surrogate(rho, torch.full_like(rho, a), eps)
        (grad,) = torch.autograd.grad(obj.sum(), rho)
        x, y, zero = rho.detach().numpy(), obj.detach().numpy(), (grad == 0).numpy()
        ax.fill_between(x, 0, 1, where=zero, color=COLORS["zero"], alpha=0.5, transform=ax.get_xaxis_transform(),
                        label="gradient = 0 (clipped)")
        ax.plot(x, a * x, ls=":", color=COLORS["clip"], label="unclipped ρA")
        ax.plot(x, y, color=color, lw=2.5, label="min(ρA, clip(ρ, 1−ε, 1+ε)A)")
        for edge in (1 - eps, 1 + eps):
            ax.axvline(edge, color="k", lw=0.8, ls="--")
        table = {row["case"]: row for row in losses.six_cases_table(eps, abs(a))}
        for k, xc in enumerate(((1 - eps) / 2, 1.0, (1 + eps + rho_max) / 2)):
            grad = table[first_case + k]["grad"]
            label = f"case {first_case + k}\n∂/∂ρ = {'0' if grad == 0 else 'Â'}"
            ax.text(xc, 0.97, label, ha="center", va="top", fontsize=9, fontweight="bold",
                    transform=ax.get_xaxis_transform(), bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})
        # Room above both curves (the dotted one too) for the case labels, so that no label covers a line.
        low, high = min(y.min(), (a * x).min()), max(y.max(), (a * x).max())
        ax.set(xlabel="ratio ρ = π_θ(a|s) / π_θ_old(a|s)", ylabel="objective (maximised)",
               title=f"A {'>' if a > 0 else '<'} 0, ε = {eps:g}", ylim=(low - 0.1, high + 0.25 * (high - low) + 0.1))
        ax.legend(loc="lower right" if a > 0 else "lower left", fontsize=8)
    fig.suptitle("PPO-clip: the six cases (shaded: the clip has switched the gradient off)")
    return _done(fig)


_METHOD_COLORS = {"pg": "#9467bd", "surrogate": COLORS["clip"], "clip": COLORS["pos"], "penalty": COLORS["accent"]}
_METHOD_LABELS = {"pg": "vanilla PG (1 epoch)", "surrogate": "unclipped surrogate (20 epochs)",
                  "clip": "PPO-clip (20 epochs)", "penalty": "PPO-penalty, adaptive β (20 epochs)"}


def clip_vs_penalty(histories: dict[str, dict[str, torch.Tensor]], optimum: float, kl_target: float) -> Figure:
    """Expected reward J and the KL of each update, per iteration, for the ways to reuse a batch.

    ``histories`` maps a method name to the output of :func:`ppo_edu.trust_region.policy_update_study`.
    """
    fig, (ax_j, ax_kl) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    colors, labels = _METHOD_COLORS, _METHOD_LABELS
    for name, h in histories.items():
        it = np.arange(len(h["J"]))
        ax_j.plot(it, _np(h["J"]), marker="o", ms=3, color=colors.get(name), label=labels.get(name, name))
        ax_kl.plot(it[1:], _np(h["kl"]), marker="o", ms=3, color=colors.get(name), label=labels.get(name, name))
    ax_j.axhline(optimum, color="k", ls=":", lw=1, label="best arm")
    ax_j.set(xlabel="iteration (one batch, 20 epochs on it)", ylabel="exact expected reward J(θ)",
             title="Progress")
    ax_kl.axhline(kl_target, color="k", ls="--", lw=1)
    ax_kl.text(1, kl_target * 0.8, f"KL target of the penalty ({kl_target:g})", va="top", fontsize=8)
    ax_kl.set(xlabel="iteration", ylabel="KL(π_old ‖ π_new) of the update", yscale="log",
              title="How far each update moved the policy")
    ax_j.legend(fontsize=8, loc="lower right")
    return _done(fig)


def bandit_study(study: dict[str, dict[str, torch.Tensor]]) -> Figure:
    """Many bandits: mean fraction of the possible gain per iteration with a 95 % band (left), and
    the share of bandits in which an update lowered J by more than 0.05 at least once (right).

    ``study`` is the output of :func:`ppo_edu.trust_region.bandit_study`.
    """
    fig, (ax_g, ax_d) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    names = list(study)
    for name in names:
        g = _np(study[name]["gain"])
        mean, half = g.mean(0), 1.96 * g.std(0, ddof=1) / np.sqrt(len(g))
        it = np.arange(g.shape[1])
        ax_g.plot(it, mean, color=_METHOD_COLORS.get(name), label=_METHOD_LABELS.get(name, name))
        ax_g.fill_between(it, mean - half, mean + half, color=_METHOD_COLORS.get(name), alpha=0.25)
    ax_g.set(xlabel="iteration (one batch of 64 each)", ylabel="(J − J₀) / (max μ − J₀)",
             title=f"Progress, mean over {len(g)} bandits (95 % band)", ylim=(0, 1))
    ax_g.legend(fontsize=8, loc="lower right")
    share = [float((study[n]["drops"] > 0).double().mean()) for n in names]
    k = len(study[names[0]]["drops"])
    err = [1.96 * np.sqrt(p * (1 - p) / k) for p in share]
    ax_d.bar(range(len(names)), share, yerr=err, capsize=4, color=[_METHOD_COLORS.get(n) for n in names])
    ax_d.set_xticks(range(len(names)), [_METHOD_LABELS.get(n, n).split(" (")[0].replace(", adaptive β", "")
                                        for n in names], fontsize=8)
    ax_d.set(ylabel="share of bandits", ylim=(0, 1), title="Runs with a drop of J by > 0.05 (95 % interval)")
    return _done(fig)


def surrogates_along_line(alphas, curves: dict[str, torch.Tensor], kl, ax: Axes | None = None) -> Figure:
    """Surrogate objectives along θ = θ_old + α·u (the PPO paper's Fig. 2), with KL(π_old ‖ π_θ) on a twin axis.

    ``curves`` maps a label to values of the same length as ``alphas``.
    """
    fig, ax = _fig_ax(ax, figsize=(7.0, 4.2))
    al = _np(alphas)
    styles = [("-", COLORS["pos"]), ("--", COLORS["clip"]), ("-.", COLORS["accent"]), (":", "k"), ("-", "#9467bd")]
    for (label, y), (ls, color) in zip(curves.items(), styles, strict=False):
        ax.plot(al, _np(y), ls=ls, color=color, lw=2, label=label)
    ax.axvline(1.0, color="k", lw=0.8, ls=":")
    ax.axhline(0.0, color="k", lw=0.8)
    ax2 = ax.twinx()
    ax2.plot(al, _np(kl), color=COLORS["neg"], lw=1.2, label="KL(π_old ‖ π_θ) (right axis)")
    ax2.set_ylabel("KL(π_old ‖ π_θ)", color=COLORS["neg"])
    ax.set(xlabel="α  (θ = θ_old + α·(θ_clip − θ_old); α = 1 is one PPO-clip update)",
           ylabel="change from θ_old",
           title="Surrogates along the update direction")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="upper left")
    return _done(fig)


# --- 06–08 TD and MC, GAE, actor-critic ------------------------------------------------------
def td_vs_mc(
    true_values: torch.Tensor,
    snapshots: dict[int, torch.Tensor],
    curves: dict[str, dict[float, torch.Tensor]],
    n_runs: int,
) -> Figure:
    """Left: TD(0) estimates of the random walk after some episodes. Right: RMS error curves, MC vs TD, per α.

    ``snapshots`` maps an episode count to an estimate (S,); ``curves`` maps "td"/"mc" to
    {α: RMS error per episode}.
    """
    fig, (ax_v, ax_e) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained", width_ratios=(1, 1.4))
    states = np.arange(len(true_values))
    shades = plt.cm.Greys(np.linspace(0.35, 0.85, len(snapshots)))
    for (n, v), shade in zip(snapshots.items(), shades, strict=True):
        ax_v.plot(states, _np(v), marker="o", color=shade, label=f"after {n} episode{'s' if n != 1 else ''}")
    ax_v.plot(states, _np(true_values), marker="s", color=COLORS["neg"], lw=2, label="true V")
    ax_v.set(xticks=states, xticklabels=[chr(ord("A") + i) for i in states], xlabel="state",
             ylabel="V(s)", title="TD(0), α = 0.1, one run")
    ax_v.legend(fontsize=8)
    styles = {"td": ("-", COLORS["pos"], "TD(0)"), "mc": ("--", COLORS["neg"], "MC")}
    for method, by_alpha in curves.items():
        ls, color, name = styles[method]
        alphas = sorted(by_alpha)
        for k, alpha in enumerate(alphas):
            shade = 0.45 + 0.55 * (k + 1) / len(alphas)
            ax_e.plot(_np(by_alpha[alpha]), ls=ls, color=color, alpha=shade, label=f"{name}, α = {alpha:g}")
    ax_e.set(xlabel="episodes", ylabel="RMS error over states", ylim=(0, None),
             title=f"Error against the exact V, averaged over {n_runs} runs")
    ax_e.legend(fontsize=8, ncol=2)
    return _done(fig)


def error_decomposition(curves: dict[str, torch.Tensor], n_runs: int) -> Figure:
    """Mean squared error against the episode number split into bias² and variance, one panel per learner.

    ``curves`` maps a label to the output of :func:`ppo_edu.value_learning.error_decomposition`
    over runs, shape (n_episodes + 1, 2).
    """
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3.8), layout="constrained", sharey=True)
    for ax, (label, c) in zip(np.atleast_1d(axes), curves.items(), strict=True):
        c = _np(c)
        ep = np.arange(len(c))
        ax.plot(ep, c.sum(-1), color="k", lw=2, label="mean squared error")
        ax.plot(ep, c[:, 0], color=COLORS["neg"], lw=1.5, ls="--", label="bias² (of the runs' average)")
        ax.plot(ep, c[:, 1], color=COLORS["pos"], lw=1.5, ls="-.", label="variance (across runs)")
        ax.set(xlabel="episodes", title=label, yscale="log", ylim=(1e-4, 0.1))
        ax.grid(True, alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel(f"averaged over states and {n_runs} runs")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    return _done(fig)


def gae_bias_variance(lambdas: Sequence[float], study: dict[str, torch.Tensor], lam: float | None = None) -> Figure:
    """Measured bias², variance and their sum (the MSE) of GAE against λ; the exact bias² as a line.

    ``study`` is the output of :func:`ppo_edu.toy_mdps.gae_bias_variance`. With ``lam`` the
    nearest computed λ is marked and its numbers are written on the plot (the slider's view).
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    x = np.asarray(lambdas, dtype=float)
    ax.plot(x, _np(study["exact_bias2"]), color=COLORS["neg"], lw=1.2, alpha=0.6, label="bias², exact")
    ax.plot(x, _np(study["bias2"]), "o", color=COLORS["neg"], ms=5, label="bias², measured")
    ax.plot(x, _np(study["variance"]), "o-", color=COLORS["pos"], ms=5, label="variance, measured")
    ax.plot(x, _np(study["mse"]), "s-", color="k", ms=4, lw=1.5, label="bias² + variance (MSE)")
    best = int(np.argmin(_np(study["mse"])))
    ax.axvline(x[best], color=COLORS["accent"], ls=":", lw=1.5, label=f"lowest MSE at λ = {x[best]:.2f}")
    title = "GAE: λ trades the critic's bias for the returns' variance"
    if lam is not None:
        i = int(np.argmin(np.abs(x - float(lam))))
        ax.axvline(x[i], color="k", lw=1)
        title += (f"\nλ = {x[i]:.2f}:  bias² = {float(study['bias2'][i]):.3f},  "
                  f"variance = {float(study['variance'][i]):.3f},  MSE = {float(study['mse'][i]):.3f}")
    top = float(max(_np(study["mse"]).max(), _np(study["exact_bias2"]).max()))
    ax.set(xlabel="λ   (0 = TD residual,  1 = Monte Carlo)", ylabel="squared error of Â_0", title=title,
           ylim=(0, 1.45 * top))
    ax.legend(fontsize=8, loc="upper center", ncol=3)
    return _done(fig)


def best_lambda_vs_critic_error(scales: Sequence[float], best: torch.Tensor, ppo_lambda: float = 0.95) -> Figure:
    """The λ of lowest MSE against the size of the critic's error: one dot per critic seed, the median as a line.

    ``best`` has shape (len(scales), n_seeds).
    """
    fig, ax = _fig_ax(None, figsize=(6.0, 3.8))
    b, x = _np(best), np.asarray(scales, dtype=float)
    jitter = np.linspace(-0.04, 0.04, b.shape[1])
    for i in range(len(x)):
        ax.plot(np.full(b.shape[1], i) + jitter, b[i], "o", color=COLORS["pos"], alpha=0.5, ms=4)
    ax.plot(np.arange(len(x)), np.median(b, 1), color="k", lw=2, marker="s", label="median over critic seeds")
    ax.axhline(ppo_lambda, color=COLORS["neg"], ls="--", lw=1, label=f"PPO's usual λ = {ppo_lambda}")
    ax.set_xticks(np.arange(len(x)), [f"{v:g}" for v in x])
    ax.set(xlabel="scale of the critic's error, e(s) ~ N(0, scale²)", ylabel="λ with the lowest MSE of Â₀",
           ylim=(-0.05, 1.05), title="The worse the critic, the larger the best λ")
    ax.legend(fontsize=8, loc="lower right")
    return _done(fig)


#: The panels of :func:`ppo_training`: (title, [(metric key, line label)], what healthy looks like).
PPO_PANELS = (
    ("mean episode return", [("return", None)], None),
    ("approx. KL(π_old ‖ π_θ)", [("approx_kl_k3", "k3"), ("approx_kl_k1", "k1")], "≈ 0.01 or below"),
    ("clip fraction", [("clip_fraction", None)], "a few % to ~0.2"),
    ("entropy of π (nats)", [("entropy", None)], "falls slowly from ln 2"),
    ("explained variance", [("explained_variance", None)], "towards 1; NaN when R is constant"),
    ("spread over the batch", [("return_std", "std of targets R"), ("value_std", "std of V")], "std V ≈ std R"),
    ("saturated tanh units (|h| > 0.99)", [("critic_saturation", "critic"), ("actor_saturation", "actor")], "≈ 0"),
    ("gradient norm before clipping", [("grad_norm", None)], None),
)


def ppo_training(history: dict[str, Sequence[float]], title: str | None = None) -> Figure:
    """The diagnostics panel of a PPO run: return and every signal of :data:`PPO_PANELS`, per iteration.

    ``history`` maps metric keys (``pe.train.Trainer.metrics()``) to one value per iteration; a
    (P, K) return array is drawn as its member mean. Missing keys leave their panel empty.
    """
    fig, axes = plt.subplots(2, 4, figsize=(14, 5.6), layout="constrained")
    palette = (COLORS["pos"], COLORS["neg"])
    for ax, (name, lines, healthy) in zip(axes.flat, PPO_PANELS, strict=True):
        labelled = False
        for (key, label), color in zip(lines, palette, strict=False):
            if key not in history:
                continue
            y = np.asarray(history[key], dtype=float)
            y = np.nanmean(y, axis=0) if y.ndim == 2 else y
            ax.plot(np.arange(1, len(y) + 1), y, marker="o", ms=2.5, lw=1.2, color=color, label=label)
            labelled = labelled or label is not None
        ax.set_title(name if healthy is None else f"{name}\nhealthy: {healthy}", fontsize=9.5)
        ax.set_xlabel("iteration", fontsize=8.5)
        if labelled:  # a legend only for the lines actually drawn (none where every key is missing)
            ax.legend(fontsize=7.5, loc="best")
    if title:
        fig.suptitle(title)
    return _done(fig)


# --- 09 PPO for language models --------------------------------------------------------------
def rlhf_token_rewards(labels: Sequence[str], kl_part: Sequence[float], score: float, mask: Sequence[bool],
                  beta: float, attention: Sequence[bool] | None = None, ax: Axes | None = None) -> Figure:
    """Per-token RLHF rewards of one row, eq. (9.1): bars −β·k1_t, the score stacked on the last real token.

    ``labels`` are the tokens, ``kl_part`` the values −β·k1_t, ``mask`` the response mask;
    positions off the response get no bar and are shaded, labelled "prompt" where ``attention``
    (the attention mask) is 1 and "padding" where it is 0.
    """
    from matplotlib.patches import Patch

    fig, ax = _fig_ax(ax, (8.0, 4.0))
    kl = np.asarray(kl_part, dtype=float)
    m = np.asarray(mask, dtype=bool)
    real = np.asarray(attention, dtype=bool) if attention is not None else m
    x = np.arange(len(kl))
    last = int(np.nonzero(m)[0].max())
    colors = np.asarray([COLORS["neg"] if v < 0 else COLORS["pos"] for v in kl])
    ax.bar(x[m], kl[m], color=colors[m], width=0.6)
    ax.bar([last], [score], bottom=[kl[last]], color=COLORS["accent"], width=0.6, alpha=0.85)
    handles = [Patch(color=COLORS["neg"], label="−β·k1_t < 0: token likelier under π_θ than π_ref (penalty)"),
               Patch(color=COLORS["pos"], label="−β·k1_t > 0: token likelier under π_ref (bonus)"),
               Patch(color=COLORS["accent"], label=f"reward-model score s(y) = {score:.2f}, on the last real token")]
    for t in x[~m]:
        ax.axvspan(t - 0.45, t + 0.45, color=COLORS["clip"], alpha=0.25 if real[t] else 0.1, lw=0)
        ax.text(t, 0.02, ("prompt" if real[t] else "padding") + "\nr = 0", ha="center", va="bottom", fontsize=8,
                color="0.35", transform=ax.get_xaxis_transform())
    ax.axhline(0, color="k", lw=0.8)
    total = float(kl[m].sum() + score)
    ax.set_xticks(x, [f"{t}\n'{lab}'" for t, lab in zip(x, labels, strict=True)])
    ax.set(xlabel="column t and token y_t (padding shows the EOS id '.')", ylabel="reward r_t",
           title=f"Per-token rewards, β = {beta:g}:  Σ_t r_t = s(y) − β·Σ k1_t = {total:.2f}")
    ax.margins(y=0.35)
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    return _done(fig)


def rlhf_kl_estimators(estimates: dict[str, Sequence[float]], exact: float, ax: Axes | None = None) -> Figure:
    """Per-sequence KL estimates (sums of per-token k1, |k1|, ½k1², k3) against the exact KL.

    One violin per estimator, its mean with a ±2 standard-error bar, and the exact value as a line.
    """
    fig, ax = _fig_ax(ax, (7.0, 4.2))
    names = list(estimates)
    data = [np.asarray(estimates[n], dtype=float) for n in names]
    parts = ax.violinplot(data, showextrema=False)
    for body in parts["bodies"]:
        body.set_facecolor(COLORS["pos"])
        body.set_alpha(0.3)
    means = np.array([d.mean() for d in data])
    se = np.array([d.std(ddof=1) / np.sqrt(len(d)) for d in data])
    ax.errorbar(np.arange(1, len(names) + 1), means, yerr=2 * se, fmt="o", color="k", capsize=4,
                label="mean ± 2 standard errors")
    ax.axhline(exact, color=COLORS["accent"], lw=2, ls="--", label=f"exact KL(π_θ ‖ π_ref) = {exact:.2f}")
    ax.axhline(0, color="k", lw=0.6)
    pretty = {"k1": "k1", "abs": "|k1|", "k2": "k2 = ½k1²", "k3": "k3 = (r−1) − log r"}
    ax.set_xticks(np.arange(1, len(names) + 1), [pretty.get(n, n) for n in names])
    ax.set(ylabel="estimate of the sequence KL (nats)",
           title=f"Per-string KL estimates, Σ_t over tokens, {len(data[0])} samples from π_θ")
    ax.legend(loc="upper left", fontsize=8)
    return _done(fig)


def rlhf_training(histories: dict[str, dict[str, Sequence[float]]], optima: dict[str, dict[str, float]] | None = None,
                  mark_peak: Sequence[str] = ()) -> Figure:
    """Exact E[score], E[gold] and KL(π_θ ‖ π_ref) over PPO iterations, one line per run.

    ``optima[label]`` (optional) holds the same quantities of the best KL-regularised policy,
    drawn as dashed lines in the run's colour; for the runs named in ``mark_peak`` the highest
    gold preference is marked (the over-optimisation hump).
    """
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
    panels = (("score", "reward-model score E[s(y)]"), ("gold", "gold preference E[gold(y)]"),
              ("kl", "KL(π_θ ‖ π_ref) (nats)"))
    palette = [COLORS["pos"], COLORS["neg"], COLORS["accent"], "#9467bd"]
    for ax, (key, title) in zip(axes, panels, strict=True):
        for color, (label, hist) in zip(palette[: len(histories)], histories.items(), strict=True):
            ax.plot(np.arange(len(hist[key])), hist[key], color=color, lw=2, label=label)
            if optima and label in optima:
                ax.axhline(optima[label][key], color=color, ls="--", lw=1)
        ax.set(xlabel="PPO iteration", title=title)
    for color, (label, hist) in zip(palette[: len(histories)], histories.items(), strict=True):
        if label in mark_peak:
            i = int(np.argmax(hist["gold"]))
            axes[1].plot(i, hist["gold"][i], "o", color=color, ms=7)
            axes[1].annotate(f"peak {hist['gold'][i]:.2f} at iteration {i}", (i, hist["gold"][i]),
                             xytext=(i + 6, hist["gold"][i] - 0.8), textcoords="data", fontsize=8, color=color,
                             arrowprops={"arrowstyle": "->", "color": color, "lw": 0.8})
    sft_gold = histories[next(iter(histories))]["gold"][0]
    axes[1].axhline(sft_gold, color="k", lw=0.8, ls=":")
    axes[1].annotate("SFT model", (1.0, sft_gold), xycoords=("axes fraction", "data"), xytext=(-4, 3),
                     textcoords="offset points", ha="right", va="bottom", fontsize=8)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle("PPO on the toy task (exact values by enumeration; dashed: best possible policy for that β)")
    return _done(fig)


def rlhf_methods(runs: dict[str, Sequence[dict[str, Sequence[float]]]], beta: float,
                 optimum: dict[str, float] | None = None) -> Figure:
    """PPO beside critic-free methods over seeds: the objective E[s] − β·KL, E[gold] and KL per iteration.

    ``runs[label]`` is a list of histories (one per seed); each panel draws the mean over seeds
    and a band of ± 2 standard errors (a single seed: the line alone). ``optimum`` (from
    :func:`ppo_edu.toy_lm.kl_regularized_optimum`, with "gold") draws the exact best values.
    """
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.9), layout="constrained")
    palette = [COLORS["pos"], COLORS["neg"], COLORS["accent"], "#9467bd"]
    panels = (("objective", f"objective E[s] − {beta:g}·KL"), ("gold", "gold preference E[gold]"),
              ("kl", "KL(π_θ ‖ π_ref) (nats)"))
    for ax, (key, title) in zip(axes, panels, strict=True):
        for color, (label, hists) in zip(palette, runs.items(), strict=False):
            if key == "objective":
                data = np.array([np.asarray(h["score"]) - beta * np.asarray(h["kl"]) for h in hists])
            else:
                data = np.array([np.asarray(h[key], dtype=float) for h in hists])
            mean, x = data.mean(axis=0), np.arange(data.shape[1])
            ax.plot(x, mean, color=color, lw=2, label=f"{label} ({len(hists)} seeds)")
            if len(hists) > 1:
                se = data.std(axis=0, ddof=1) / np.sqrt(len(hists))
                ax.fill_between(x, mean - 2 * se, mean + 2 * se, color=color, alpha=0.2, lw=0)
        if optimum is not None:
            best = optimum["objective"] if key == "objective" else optimum[key]
            ax.axhline(best, color="k", ls="--", lw=1, label=f"best π*_β = {best:.2f}")
        ax.set(xlabel="iteration (same responses per iteration for all)", title=title)
        ax.legend(fontsize=7, loc="lower right" if key != "kl" else "upper left")
    fig.suptitle("Same task, same budget: mean over seeds, band ± 2 standard errors (exact values by enumeration)")
    return _done(fig)


def rlhf_beta_sweep(sweep: dict[str, Sequence[float]], beta: float | None = None,
                    top: Sequence[tuple[str, float]] | None = None, kl_at_beta: float | None = None) -> Figure:
    """The best KL-regularised policy π*_β against β: E[score], E[gold] and KL(π*_β ‖ π_ref).

    ``sweep`` has keys "beta", "score", "gold", "kl" (from :func:`ppo_edu.toy_lm.beta_sweep`);
    ``beta`` marks one value (with its KL ``kl_at_beta``, else interpolated from the sweep) and ``top``
    lists π*_β's likeliest sequences as (string, probability).
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    b = np.asarray(sweep["beta"], dtype=float)
    axes[0].plot(b, sweep["score"], color=COLORS["pos"], lw=2, label="reward-model score E[s]")
    axes[0].plot(b, sweep["gold"], color=COLORS["accent"], lw=2, label="gold preference E[gold]")
    axes[0].axhline(sweep["gold_ref"], color="k", lw=0.8, ls=":", label="gold of the SFT model")
    axes[1].plot(b, sweep["kl"], color=COLORS["neg"], lw=2)
    axes[0].set(xscale="log", xlabel="β", ylabel="expected value under π*_β",
                title="Small β: the proxy score climbs, the gold preference falls")
    axes[1].set(xscale="log", yscale="log", xlabel="β", ylabel="KL(π*_β ‖ π_ref) (nats)",
                title="KL to the reference")
    if beta is not None:
        for ax in axes:
            ax.axvline(beta, color="k", lw=1.2)
        kl = kl_at_beta if kl_at_beta is not None else float(
            np.exp(np.interp(np.log(beta), np.log(b), np.log(np.asarray(sweep["kl"], dtype=float)))))
        axes[1].plot(beta, kl, "o", color="k")
        axes[1].annotate(f"β = {beta:g}: KL = {kl:.2f}", (beta, kl), xytext=(8, 8), textcoords="offset points",
                         fontsize=9)
    if top:
        text = "likeliest under π*_β:\n" + "\n".join(f"{s:<7} {p:.2f}" for s, p in top)
        axes[1].text(0.03, 0.03, text, transform=axes[1].transAxes, ha="left", va="bottom", family="monospace",
                     fontsize=9, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"})
    axes[0].legend(fontsize=8, loc="lower right")
    return _done(fig)


def rlhf_kl_controller(betas: Sequence[float], kls: Sequence[float], target: float) -> Figure:
    """An adaptive KL controller at work: β and the measured KL over updates, with the target."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    axes[0].plot(betas, color=COLORS["pos"], lw=2)
    axes[0].set(xlabel="update", ylabel="β", title="β, adapted by eq. (9.6)")
    axes[1].plot(kls, color=COLORS["neg"], lw=2, label="measured KL")
    axes[1].axhline(target, color="k", ls="--", lw=1, label=f"target = {target:g}")
    axes[1].set(xlabel="update", ylabel="KL (nats)", title="KL, steered to the target")
    axes[1].legend(fontsize=8)
    return _done(fig)



# --- 10 CartPole -----------------------------------------------------------------------------
def learning_curves(
    steps: np.ndarray,
    returns: np.ndarray,
    threshold: float = 475.0,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str = "PPO on CartPole-v1: learning curves",
    ylabel: str = "return of finished training episodes",
) -> Figure:
    """Returns against environment steps, one line per member (a NaN leaves a gap).

    ``steps`` (K,) env steps per member; ``returns`` (P, K), e.g. the mean return of the training
    episodes that ended in each iteration, or of deterministic evaluations.
    """
    fig, ax = _fig_ax(ax, (7.0, 4.0))
    steps, returns = np.asarray(steps), np.atleast_2d(np.asarray(returns, dtype=float))
    for p, row in enumerate(returns):
        ok = np.isfinite(row)
        label = labels[p] if labels is not None else f"member {p}"
        ax.plot(steps[ok], row[ok], lw=1.2, alpha=0.8, label=label, marker="o" if len(steps) <= 30 else None, ms=3)
    ax.axhline(threshold, color=COLORS["clip"], ls="--", lw=1)
    ax.text(steps[0] if len(steps) else 0, threshold + 8, f"{threshold:g}", color=COLORS["clip"], va="bottom")
    ax.set(xlabel="environment steps (per agent)", ylabel=ylabel, ylim=(0, 540), title=title)
    ax.legend(loc="lower right", fontsize=8, ncol=2)
    return _done(fig)


def _draw_cartpole(ax: Axes, x: float, theta: float, pole_length: float = 1.0) -> None:
    cart_w, cart_h = 0.5, 0.3
    ax.plot([-2.4, 2.4], [0, 0], color="black", lw=1)
    for edge in (-2.4, 2.4):
        ax.axvline(edge, color=COLORS["neg"], lw=0.8, ls=":")
    ax.add_patch(plt.Rectangle((x - cart_w / 2, 0), cart_w, cart_h, color="#333333"))
    pivot = (x, cart_h * 0.75)
    tip = (x + pole_length * np.sin(theta), pivot[1] + pole_length * np.cos(theta))
    ax.plot([pivot[0], tip[0]], [pivot[1], tip[1]], color="#ca9865", lw=5, solid_capstyle="butt")
    ax.plot(*pivot, "o", color="#8184cb", ms=4)
    ax.set(xlim=(-2.6, 2.6), ylim=(-0.15, 1.35), aspect="equal", xticks=[], yticks=[])


def cartpole_filmstrip(states: np.ndarray, n_frames: int = 6, tau: float = 0.02) -> Figure:
    """A trained pole balancing: ``n_frames`` snapshots of an episode, then x(t) and θ(t).

    ``states`` (L, 4) rows (x, ẋ, θ, θ̇) of one episode, as ``pe.train.rollout_states`` gives.
    """
    states = np.asarray(states, dtype=float)
    fig = plt.figure(figsize=(11.0, 4.2), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(0.5, 1.3))
    frames = np.linspace(0, len(states) - 1, n_frames).round().astype(int)
    for ax, t in zip(top.subplots(1, n_frames), frames, strict=True):
        _draw_cartpole(ax, states[t, 0], states[t, 2])
        ax.set_title(f"t = {t} ({t * tau:.1f} s)", fontsize=9)
    ax_x, ax_th = bottom.subplots(1, 2)
    t = np.arange(len(states))
    ax_x.plot(t, states[:, 0], color=COLORS["pos"])
    ax_x.axhspan(-2.4, 2.4, color=COLORS["accent"], alpha=0.08)
    ax_x.set(xlabel="step t", ylabel="cart position x", ylim=(-2.6, 2.6), title="cart stays inside ±2.4")
    ax_th.plot(t, np.degrees(states[:, 2]), color=COLORS["neg"])
    ax_th.axhspan(-12, 12, color=COLORS["accent"], alpha=0.08)
    ax_th.set(xlabel="step t", ylabel="pole angle θ (degrees)", ylim=(-13, 13), title="pole stays inside ±12°")
    plt.close(fig)
    return fig


# --- 11 PPO in practice ----------------------------------------------------------------------
#: The panels of :func:`lab_runs`: (title, metric key, y scale).
LAB_PANELS = (
    ("mean episode return", "return", "linear"),
    ("approx. KL k3", "approx_kl_k3", "linear"),
    ("clip fraction", "clip_fraction", "linear"),
    ("entropy of π (nats)", "entropy", "linear"),
    ("explained variance", "explained_variance", "linear"),
    ("std of the targets R (log)", "return_std", "log"),
    ("gradient norm before clipping (log)", "grad_norm", "log"),
    ("|ρ − 1| on the first minibatch", "first_ratio_max_dev", "linear"),
)


def lab_runs(runs: dict[str, dict[str, Sequence[float]]], title: str | None = None) -> Figure:
    """The debugging lab: the signals of :data:`LAB_PANELS` for every run, the healthy run in black.

    ``runs`` maps a run name to its ``Trainer.metrics()``; a (P, K) return is drawn as the mean
    over seeds of the iterations where episodes ended.
    """
    fig, axes = plt.subplots(2, 4, figsize=(14, 6.0), layout="constrained")
    palette = plt.get_cmap("tab10").colors
    for ax, (name, key, scale) in zip(axes.flat, LAB_PANELS, strict=True):
        for i, (run, m) in enumerate(runs.items()):
            y = np.asarray(m[key], dtype=float)
            y = np.nanmean(y, axis=0) if y.ndim == 2 else y
            healthy = run == "healthy"
            ax.plot(np.arange(1, len(y) + 1), y, marker="o", ms=2.5, lw=2.2 if healthy else 1.2,
                    color="black" if healthy else palette[i % 10], label=run, zorder=3 if healthy else 2)
        if key == "explained_variance":
            ax.set_ylim(max(ax.get_ylim()[0], -2.5), 1.05)
            ax.axhline(0, color=COLORS["clip"], lw=0.8, ls=":")
        ax.set_yscale(scale)
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_title(name, fontsize=9.5)
        ax.set_xlabel("iteration", fontsize=8.5)
    axes.flat[0].legend(fontsize=8, loc="upper left")
    if title:
        fig.suptitle(title)
    return _done(fig)


def ablation_curves(curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], threshold: float = 475.0) -> Figure:
    """One panel per ablated detail: each setting's median learning curve over seeds with a band.

    ``curves[group][label] = (env_steps (K,), returns (P, K))``, the returns already filled forward
    (``pe.ablations.fill_forward``); the band spans the seeds' 25th to 75th percentile (so the median
    line always lies inside it). A label
    containing "(ours)" (the base setting) is drawn in black.
    """
    n = len(curves)
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), layout="constrained", squeeze=False)
    palette = plt.get_cmap("tab10").colors
    for ax, (group, settings) in zip(axes.flat, curves.items(), strict=False):
        others = iter(palette)
        for label, (steps, r) in settings.items():
            r = np.atleast_2d(np.asarray(r, dtype=float))
            ok = np.isfinite(r).all(0)
            x, r = np.asarray(steps)[ok], r[:, ok]
            color = "black" if "(ours)" in label else next(others)
            lo, mid, hi = np.percentile(r, [25, 50, 75], axis=0)
            ax.plot(x, mid, color=color, lw=1.6, label=label)
            ax.fill_between(x, lo, hi, color=color, alpha=0.15 if color == "black" else 0.18, lw=0)
        ax.axhline(threshold, color=COLORS["clip"], ls="--", lw=0.8)
        ax.set(ylim=(0, 520), title=group)
        ax.set_xlabel("environment steps per seed", fontsize=8.5)
        ax.set_ylabel("training return", fontsize=8.5)
        ax.legend(fontsize=7.5, loc="lower right")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return _done(fig)


def ablation_summary(rows: Sequence[dict]) -> Figure:
    """Final greedy return (mean, 95 % CI) and steps to 475 (median, 95 % CI) for every setting.

    ``rows``: dicts with ``group``, ``label``, ``final`` = (mean, lo, hi), ``steps_to_475`` =
    (median, lo, hi) and ``budget`` (``pe.ablations.summarize``); a value at the budget (the
    dashed line: the most steps any row trained) means "not within budget".
    """
    budget = max(float(r["budget"]) for r in rows)
    fig, (ax_f, ax_s) = plt.subplots(1, 2, figsize=(11.5, 0.32 * len(rows) + 1.4), layout="constrained", sharey=True)
    y = np.arange(len(rows))[::-1]
    groups = list(dict.fromkeys(r["group"] for r in rows))
    palette = plt.get_cmap("tab10").colors
    for yi, r in zip(y, rows, strict=True):
        color = palette[groups.index(r["group"]) % 10]
        for ax, key, scale in ((ax_f, "final", 1.0), (ax_s, "steps_to_475", 1e-3)):
            est, lo, hi = (v * scale for v in r[key])
            ax.errorbar(est, yi, xerr=[[est - lo], [hi - est]], fmt="o", color=color, ms=4, capsize=2.5)
    ax_f.set_yticks(y, [f"{r['group']}: {r['label']}" for r in rows], fontsize=8)
    ax_f.set(xlabel="final return, greedy (mean over seeds, 95 % CI)", xlim=(0, 520))
    ax_s.axvline(budget * 1e-3, color=COLORS["clip"], ls="--", lw=0.8)
    ax_s.set(xlabel=f"steps to 475, thousands (median, 95 % CI; dashed = budget {budget / 1e3:.0f}k)",
             xlim=(0, 1.05 * budget * 1e-3))
    for ax in (ax_f, ax_s):
        ax.grid(axis="x", alpha=0.3)
    return _done(fig)
