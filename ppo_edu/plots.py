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


# --- 01–04 policy gradient, baseline, advantage, importance sampling -------------------------


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
        for k, xc in enumerate(((1 - eps) / 2, 1.0, (1 + eps + rho_max) / 2)):
            ax.text(xc, 0.97, f"case {first_case + k}", ha="center", va="top", fontsize=10, fontweight="bold",
                    transform=ax.get_xaxis_transform())
        ax.set(xlabel="ratio ρ = π_θ(a|s) / π_θ_old(a|s)", ylabel="objective (maximised)",
               title=f"A {'>' if a > 0 else '<'} 0, ε = {eps:g}", ylim=(y.min() - 0.1, y.max() + 0.3))
        ax.legend(loc="lower right" if a > 0 else "lower left", fontsize=8)
    fig.suptitle("PPO-clip: the six cases (shaded: the clip has switched the gradient off)")
    return _done(fig)


# --- 06–08 TD and MC, GAE, actor-critic ------------------------------------------------------


# --- 09 PPO for language models --------------------------------------------------------------


# --- 10 CartPole -----------------------------------------------------------------------------
