"""Figures: every recipe draws, and a recipe gives byte-identical PNGs twice (deterministic)."""

import subprocess
import sys

import pytest
from matplotlib.figure import Figure

import ppo_edu as pe
from ppo_edu import figures


@pytest.mark.parametrize("name", sorted(figures.RECIPES))
def test_every_recipe_returns_a_figure(name):
    fig = figures.RECIPES[name]()
    assert isinstance(fig, Figure) and fig.axes


def test_same_bytes_twice(tmp_path):
    a = figures.save_all(tmp_path / "a", only=["05_six_clipping_cases"])[0].read_bytes()
    b = figures.save_all(tmp_path / "b", only=["05_six_clipping_cases"])[0].read_bytes()
    assert a == b


def test_cli_writes_named_figure(tmp_path):
    out = subprocess.run([sys.executable, "-m", "ppo_edu", "figures", "--out", str(tmp_path), "--only",
                          "00_discount_weights"], capture_output=True, text=True, check=True)
    assert (tmp_path / "00_discount_weights.png").stat().st_size > 1000
    assert "wrote" in out.stdout


def test_cli_unknown_figure_is_a_clear_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "ppo_edu", "figures", "--out", str(tmp_path), "--only", "nope"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "unknown figure(s) ['nope']" in out.stderr


def test_six_cases_figure_shades_exactly_the_zero_gradient_regions():
    fig = pe.plots.six_clipping_cases(0.2)
    assert len(fig.axes) == 2
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["A > 0, ε = 0.2", "A < 0, ε = 0.2"]
