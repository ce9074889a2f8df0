"""Sliders for the parameters whose effect is the lesson (γ, ε, λ, β).

:func:`slider` wraps a drawing function ``draw(**params) -> Figure`` in ipywidgets
sliders. Notebooks first show the static figure at the default value (what nbval and a
static web view see), then the live slider in a cell tagged ``nbval-ignore-output``.
Without ipywidgets, or outside a kernel, it falls back to drawing the default figure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure

#: How a parameter is labelled on its slider: the symbol the text uses.
LABELS = {"eps": "ε", "clip_eps": "ε", "lam": "λ", "gamma": "γ", "beta": "β", "alpha": "α"}


def slider(draw: Callable[..., Figure], **params: tuple[float, float, float, float]) -> Any:
    """Interactive redraw of ``draw`` with one float slider per parameter.

    Each parameter is given as ``name=(min, max, step, default)`` and labelled with its symbol
    (:data:`LABELS`, e.g. ``lam`` → λ). Returns the ipywidgets container (displayed as the
    cell's value; where widgets cannot be shown, e.g. a notebook not run yet, its text says so
    instead of a ``VBox(...)`` repr), or the default Figure when widgets are missing.
    """
    for name, spec in params.items():
        if len(spec) != 4 or not spec[0] <= spec[3] <= spec[1] or spec[2] <= 0:
            raise ValueError(f"{name}: expected (min, max, step, default) with min <= default <= max, step > 0, got {spec}")
    defaults = {name: spec[3] for name, spec in params.items()}
    try:
        import ipywidgets as widgets
        from IPython.display import display
    except ImportError:  # pragma: no cover - ipywidgets is a dependency
        return draw(**defaults)

    controls = {
        name: widgets.FloatSlider(value=d, min=lo, max=hi, step=step, description=LABELS.get(name, name),
                                  continuous_update=False, readout_format=".3g")
        for name, (lo, hi, step, d) in params.items()
    }  # fmt: skip
    out = widgets.Output()

    def redraw(change: Any = None) -> None:  # on a slider move, in a live frontend
        out.clear_output(wait=True)
        with out:
            display(draw(**{n: c.value for n, c in controls.items()}))

    with out:  # the first figure without clear_output: a kernel run headless (nbclient) never waits on it
        display(draw(**defaults))
    for control in controls.values():
        control.observe(redraw, names="value")
    names = ", ".join(LABELS.get(name, name) for name in params)
    return _slider_box(widgets)([widgets.HBox(list(controls.values())), out], names=names)


def _slider_box(widgets: Any) -> type:
    """A VBox whose plain-text form (shown before the cell is run, or without widgets) is a sentence."""

    class SliderBox(widgets.VBox):
        def __init__(self, children: list, names: str) -> None:
            super().__init__(children)
            self._names = names

        def __repr__(self) -> str:
            return f"[Slider for {self._names}: run this cell in JupyterLab to move it; the figure above shows the default.]"

    return SliderBox
