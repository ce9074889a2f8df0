"""Figures of notebooks 05–08: they draw what their data say, and the slider callbacks really redraw."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import ppo_edu as pe
from ppo_edu import figures


def _vlines(ax):
    return sorted({round(float(line.get_xdata()[0]), 6) for line in ax.lines
                   if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]})


def test_eps_slider_callback_redraws_at_the_new_eps():
    draw = lambda eps: pe.plots.six_clipping_cases(clip_eps=eps)  # noqa: E731 - what notebook 05's slider calls
    a, b = draw(0.1), draw(0.3)
    assert isinstance(a, Figure) and isinstance(b, Figure)
    assert _vlines(a.axes[0]) == [0.9, 1.1] and _vlines(b.axes[0]) == [0.7, 1.3]
    assert "ε = 0.1" in a.axes[0].get_title() and "ε = 0.3" in b.axes[0].get_title()


def test_six_cases_labels_come_from_autograd():
    fig = pe.plots.six_clipping_cases(0.2)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("case 3" in t and "∂/∂ρ = 0" in t for t in texts)
    assert any("case 1" in t and "∂/∂ρ = Â" in t for t in texts)  # autograd's +1 with A = +1: the label reads Â
    assert any("case 6" in t and "∂/∂ρ = Â" in t for t in texts)
    assert sum("∂/∂ρ = 0" in t for t in texts) == 2 and sum("∂/∂ρ = Â" in t for t in texts) == 4


def _fake_study(n=5):
    lam = np.linspace(0, 1, n)
    return list(lam), {"bias2": torch.tensor(1 - lam), "exact_bias2": torch.tensor(1 - lam),
                       "variance": torch.tensor(lam**2 + 0.1), "mse": torch.tensor(1 - lam + lam**2 + 0.1)}


def test_lambda_slider_callback_redraws_at_the_new_lambda():
    lambdas, study = _fake_study()
    draw = lambda lam: pe.plots.gae_bias_variance(lambdas, study, lam=lam)  # noqa: E731 - notebook 07's slider
    a, b = draw(0.5), draw(0.95)  # 0.95 snaps to the nearest computed λ, 1.0
    assert "λ = 0.50" in a.axes[0].get_title() and "λ = 1.00" in b.axes[0].get_title()
    assert 0.5 in _vlines(a.axes[0]) and 1.0 in _vlines(b.axes[0])
    assert "bias² = 0.500,  variance = 0.350,  MSE = 0.850" in a.axes[0].get_title()


def test_gae_figure_marks_the_lowest_mse():
    lambdas, study = _fake_study()
    fig = pe.plots.gae_bias_variance(lambdas, study)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert "lowest MSE at λ = 0.50" in labels


def test_td_vs_mc_and_training_figures_draw_their_data():
    true = torch.tensor([0.2, 0.4])
    curves = {"td": {0.1: torch.tensor([0.3, 0.2, 0.1])}, "mc": {0.01: torch.tensor([0.3, 0.25, 0.2])}}
    fig = pe.plots.td_vs_mc(true, {0: torch.full((2,), 0.5)}, curves, n_runs=3)
    right = fig.axes[1]
    ys = sorted(tuple(np.round(line.get_ydata(), 3)) for line in right.lines)
    assert ys == [(0.3, 0.2, 0.1), (0.3, 0.25, 0.2)]
    hist = {"return": np.array([[1.0, 3.0], [3.0, 5.0]]), "approx_kl_k3": [0.01, 0.02], "value_std": [0.5, 0.7]}
    fig = pe.plots.ppo_training(hist)
    assert len(fig.axes) == len(pe.plots.PPO_PANELS) == 8
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [2.0, 4.0])  # a population is drawn as its mean
    assert [len(ax.lines) for ax in fig.axes] == [1, 1, 0, 0, 0, 1, 0, 0]  # missing keys leave panels empty
    assert [ax.get_legend() is not None for ax in fig.axes] == [False, True, False, False, False, True, False, False]


def test_recipes_registered():
    for name in ("05_six_clipping_cases", "05_clip_vs_penalty", "06_td_vs_mc", "07_gae_bias_variance",
                 "08_ppo_training"):
        assert name in figures.RECIPES


@pytest.mark.parametrize("eps", [0.1, 0.2, 0.5])
def test_six_cases_labels_do_not_cover_the_unclipped_line(eps):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = pe.plots.six_clipping_cases(eps)
    renderer = FigureCanvasAgg(fig).get_renderer()
    for ax in fig.axes:
        (dotted,) = [line for line in ax.lines if line.get_linestyle() == ":"]
        points = ax.transData.transform(np.column_stack([dotted.get_xdata(), dotted.get_ydata()]))
        for text in ax.texts:
            box = text.get_window_extent(renderer).expanded(1.1, 1.3)
            inside = (points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)
            assert not inside.any(), f"ε = {eps}: the label {text.get_text()!r} covers the dotted ρA line"
