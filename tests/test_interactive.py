"""Sliders: labelled with the symbols the text uses, and a readable text form before the cell is run."""

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import ppo_edu as pe  # noqa: E402


def _draw(**kwargs):
    fig = plt.figure()
    plt.close(fig)
    return fig


@pytest.mark.parametrize(("name", "symbol"), [("eps", "ε"), ("lam", "λ"), ("gamma", "γ"), ("beta", "β")])
def test_slider_is_labelled_with_its_symbol(name, symbol):
    box = pe.interactive.slider(_draw, **{name: (0.0, 1.0, 0.1, 0.5)})
    (control,) = box.children[0].children
    assert control.description == symbol
    # What a notebook shows before it is run (or without the widget manager): a sentence, not VBox(children=...).
    text = repr(box)
    assert not text.startswith("VBox(") and symbol in text and "run this cell" in text


def test_slider_rejects_a_bad_spec():
    with pytest.raises(ValueError, match="lam: expected"):
        pe.interactive.slider(_draw, lam=(0.0, 1.0, 0.1, 2.0))
