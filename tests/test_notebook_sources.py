"""The committed notebooks are built from their sources, executed, and follow the course's shape."""

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_every_notebook_has_a_source_and_back():
    assert [s.stem for s in SOURCES] == [n.stem for n in NOTEBOOKS]
    assert [n.stem[:2] for n in NOTEBOOKS] == [f"{i:02d}" for i in range(len(NOTEBOOKS))]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source(src):
    """Rebuild with `python tools/nb.py build NN` after editing notebooks/src/NN_*.py."""
    want = jupytext.read(src, fmt="py:percent")
    got = nbformat.read(ROOT / "notebooks" / f"{src.stem}.ipynb", as_version=4)
    assert [(c.cell_type, c.source) for c in got.cells] == [(c.cell_type, c.source) for c in want.cells]
    assert [c.metadata.get("tags", []) for c in got.cells] == [c.metadata.get("tags", []) for c in want.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_executed_with_the_course_shape(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every code cell executed (build with tools/nb.py)"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"], "no error outputs"
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert "Warning" not in stderr and "Traceback" not in stderr, f"learners see a warning: {stderr[:300]}"
    shown = "".join(o.get("text", "") + "".join(o.get("data", {}).get("text/plain", "")) for o in outputs)
    paths = re.findall(r"(?:/home/|/root/|/tmp/|/work/|site-packages)\S*", shown)
    assert not paths, f"outputs show paths of the machine that built them: {paths[:3]}"
    assert any("image/png" in o.get("data", {}) for o in outputs), "at least one figure"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "You will learn" in text or "you will learn" in text.lower()
    assert "Recap" in text
    if path.stem != "00_start_here":
        assert sum("pe.exercises." in c.source and ".check(" in c.source for c in code) >= 2, "at least two exercises"
        assert any("NBVAL_CHECK_OUTPUT" in c.source for c in code)
