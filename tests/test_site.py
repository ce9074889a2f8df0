"""The site builder's pure parts (no Sphinx needed): notebook → page, README → home page, page list, CLI.

The build itself and the pages in a real browser are tested in tests/browser/test_website.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from ppo_edu import __main__ as cli
from ppo_edu import site

ROOT = Path(__file__).resolve().parents[1]

EXERCISE = """def discounted(rewards, gamma):
    ### BEGIN SOLUTION
    total = 0.0
    for r in reversed(rewards):
        total = r + gamma * total
    return total
    ### END SOLUTION


pe.exercises.discounted_sum.check(discounted)"""
SLIDER = "pe.interactive.slider(lambda eps: pe.plots.six_clipping_cases(clip_eps=eps), eps=(0.05, 0.5, 0.05, 0.2))"


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · A test notebook\n\nIntro."),
        nbformat.v4.new_code_cell("import ppo_edu as pe"),
        nbformat.v4.new_code_cell(EXERCISE, outputs=[nbformat.v4.new_output("stream", text="✅ passed\n")]),
        nbformat.v4.new_code_cell("pe.exercises.discounted_sum.solution()"),
        nbformat.v4.new_code_cell("pe.exercises.discounted_sum.hint()"),
        nbformat.v4.new_code_cell(
            SLIDER, outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": "VBox(children=...)"})]
        ),
        nbformat.v4.new_markdown_cell("Recap."),
    ]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"
    return nb


def test_exercise_is_shown_blank_and_the_solution_folded_below_it():
    nb = _notebook()
    page = site.page_notebook(nb, "files/99_test.ipynb", "99_test")
    sources = [c.source for c in page.cells]
    solved = sources.index(EXERCISE)
    stub = page.cells[solved - 1]
    assert "raise NotImplementedError" in stub.source and "total = r + gamma * total" not in stub.source
    assert site.BEGIN not in stub.source and stub.outputs == []
    assert "pe.exercises.discounted_sum.check(discounted)" in stub.source
    folded = page.cells[solved]
    assert site.TAG_FOLD_CELL in folded.metadata["tags"]
    assert folded.metadata["mystnb"]["code_prompt_show"].startswith("Show the solution")
    assert folded.outputs, "the solved cell keeps its check's output (inside the fold)"


def test_solution_and_hint_outputs_are_folded():
    page = site.page_notebook(_notebook(), "files/99_test.ipynb")
    by_source = {c.source: c for c in page.cells}
    solution, hint = by_source["pe.exercises.discounted_sum.solution()"], by_source["pe.exercises.discounted_sum.hint()"]
    assert site.TAG_FOLD_OUTPUT in solution.metadata["tags"] and site.TAG_FOLD_OUTPUT in hint.metadata["tags"]
    assert "solution" in solution.metadata["mystnb"]["code_prompt_show"]
    assert "hint" in hint.metadata["mystnb"]["code_prompt_show"]


def test_slider_cell_gets_a_note_instead_of_the_widget_repr():
    page = site.page_notebook(_notebook(), "files/99_test.ipynb")
    index = [c.source for c in page.cells].index(SLIDER)
    assert page.cells[index].outputs == []
    note = page.cells[index + 1]
    assert note.cell_type == "markdown" and "JupyterLab" in note.source
    assert "`eps` from 0.05 to 0.5 in steps of 0.05, starting at 0.2" in note.source


def test_run_it_yourself_box_follows_the_title_with_both_commands_and_the_notebook_link():
    page = site.page_notebook(_notebook(), "files/99_test.ipynb")
    box = page.cells[1]
    assert page.cells[0].source.startswith("# 99")
    assert "Run it yourself" in box.source
    assert "`./course.sh`" in box.source and "`.venv/bin/python -m pytest`" in box.source
    assert "{download}`99_test.ipynb <files/99_test.ipynb>`" in box.source


def test_the_committed_notebook_is_not_changed_and_added_cells_have_unique_ids():
    nb = _notebook()
    before = nbformat.writes(nb)
    page = site.page_notebook(nb, "files/99_test.ipynb")
    assert nbformat.writes(nb) == before
    ids = [c.id for c in page.cells]
    assert len(ids) == len(set(ids))
    nbformat.validate(page)


def test_unmatched_solution_marker_is_a_clear_error():
    nb = _notebook()
    nb.cells[2].source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n"
    with pytest.raises(ValueError, match=r"99_test, cell 2: expected '### END SOLUTION'"):
        site.page_notebook(nb, "files/99_test.ipynb", "99_test")


def test_every_committed_notebook_becomes_a_page_with_no_visible_solution():
    for path in site.course_notebooks(ROOT / "notebooks"):
        nb = nbformat.read(path, as_version=4)
        page = site.page_notebook(nb, f"files/{path.name}", path.stem)
        for cell in page.cells:
            if site.BEGIN in cell.source:
                assert site.TAG_FOLD_CELL in cell.metadata["tags"], f"{path.name}: a solution cell is not folded"
            if site.is_slider(cell):
                assert cell.outputs == []


def test_pages_are_every_notebook_sorted_by_name_not_a_fixed_list(tmp_path):
    for name in ("10_b.ipynb", "00_start.ipynb", "11_new.ipynb", "00b_primer.ipynb"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "notes.md").write_text("not a page")
    assert [p.name for p in site.course_notebooks(tmp_path)] == [
        "00_start.ipynb",
        "00b_primer.ipynb",
        "10_b.ipynb",
        "11_new.ipynb",
    ]
    with pytest.raises(ValueError, match="notebooks folder"):
        site.course_notebooks(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"expected \*\.ipynb"):
        site.course_notebooks(tmp_path / "empty")


def test_course_notebooks_are_all_found():
    found = [p.name for p in site.course_notebooks(ROOT / "notebooks")]
    assert found == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


README = """# my_course — a title

What the course is, see [the notes](notes/INTRO.md) and [the site](https://example.org/x).

## Two commands

```bash
./course.sh
```

A link inside a fence stays: [x](notebooks/00_a.ipynb)
```bash
echo "[x](notebooks/00_a.ipynb)"
```

## The course

| # | notebook | what you leave with |
|---|---|---|
| 00 | [start](notebooks/00_a.ipynb) | the notation |
| 01 | [next](notebooks/01_b.ipynb#part-2) | more, with a \\| pipe |

## For instructors

Not on the home page.

## Benchmark: time to solve

| machine | time |
|---|---|
| laptop | **0.63 s** |
"""
PAGES = [("00_a", "00 · A"), ("01_b", "01 · B"), ("02_c", "02 · C")]


def test_home_page_is_the_readme_story_with_links_to_pages():
    home = site.home_markdown(README, PAGES)
    assert home.startswith("# my_course — a title\n")
    assert "| laptop | **0.63 s** |" in home, "the benchmark table comes from the README as is"
    assert "{doc}`start <00_a>`" in home and "{doc}`next <01_b>`" in home
    assert "the notes (`notes/INTRO.md` in the repository)" in home
    assert "[the site](https://example.org/x)" in home
    assert "Not on the home page." not in home
    order = [home.index(f"## {h}") for h in ("The course", "Two commands", "Benchmark")]
    assert order == sorted(order)
    assert 'echo "[x](notebooks/00_a.ipynb)"' in home, "links inside code fences are left alone"


def test_home_page_navigation_lists_every_page_in_order_even_those_the_readme_omits():
    home = site.home_markdown(README, PAGES)
    toctree = re.search(r"```\{toctree\}\n(.*?)```", home, flags=re.S).group(1)
    assert [line for line in toctree.splitlines() if line and not line.startswith(":")] == ["00_a", "01_b", "02_c"]
    assert "3. {doc}`02 · C <02_c>`" in home


def test_home_page_from_the_real_readme_has_its_map_and_benchmark_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = [(p.stem, p.stem) for p in site.course_notebooks(ROOT / "notebooks")]
    home = site.home_markdown(readme, pages)
    benchmark = [line for line in readme.split("## Benchmark", 1)[1].split("\n## ")[0].splitlines() if line.startswith("| ")]
    assert benchmark and all(line in home for line in benchmark)
    for stem, _ in pages:
        if f"(notebooks/{stem}.ipynb)" in readme:
            assert f"<{stem}>`" in home
    assert "](notebooks/" not in home


def test_missing_readme_section_is_a_clear_error():
    with pytest.raises(ValueError, match=r"README: expected a '## Benchmark\.\.\.' section"):
        site.home_markdown(README.split("## Benchmark")[0], PAGES)
    with pytest.raises(ValueError, match="title"):
        site.home_markdown("no title\n", PAGES)


def test_page_title_is_the_first_heading():
    assert site.page_title(_notebook(), "fallback") == "99 · A test notebook"
    assert site.page_title(nbformat.v4.new_notebook(), "fallback") == "fallback"


def test_site_command_says_what_to_install_when_the_extra_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(site.importlib.util, "find_spec", lambda name: None)
    assert site.missing_site_packages() == list(site.SITE_PACKAGES.values())
    assert cli.main(["site", "--out", "unused"]) == 3
    err = capsys.readouterr().err
    assert '.venv/bin/python -m pip install -e ".[site]"' in err and "sphinx" in err


def test_course_setup_never_installs_the_site_extra_and_ci_does():
    course = (ROOT / "course.sh").read_text()
    assert "site" not in re.findall(r'-e "\.\[([^\]]*)\]"', course)[0].split(",")
    assert '-e ".[site]"' in (ROOT / ".ci" / "run").read_text()


def test_the_build_replaces_only_a_new_empty_or_earlier_site_folder(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    assert site.check_out_dir(tmp_path / "new", src) == (tmp_path / "new").resolve()
    (tmp_path / "empty").mkdir()
    site.check_out_dir(tmp_path / "empty", src)
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "index.html").write_text("")
    (earlier / site.MARKER).write_text("")
    site.check_out_dir(earlier, src)
    other = tmp_path / "other"
    other.mkdir()
    (other / "README.md").write_text("")
    with pytest.raises(ValueError, match="is not a site built by this command"):
        site.check_out_dir(other, src)  # e.g. --out . in a clone: never deleted
    for bad in (src, src / "site", tmp_path / ".."):
        with pytest.raises(ValueError, match="--out: expected a folder apart from the notebooks"):
            site.check_out_dir(bad, src)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="expected a folder, got the file"):
        site.check_out_dir(tmp_path / "file", src)
