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
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from . import plots  # noqa: E402

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
    return plots.discount_weights([0.5, 0.9, 0.99])


# --- 01–04 -----------------------------------------------------------------------------------


# --- 05 PPO-clip -----------------------------------------------------------------------------
@recipe("05_six_clipping_cases")
def _six_cases() -> Figure:
    return plots.six_clipping_cases(clip_eps=0.2)


# --- 06–08 -----------------------------------------------------------------------------------


# --- 09 --------------------------------------------------------------------------------------


# --- 10 --------------------------------------------------------------------------------------
