"""Student notebooks: generation, and the student version of every course notebook runs to the end.

The student copies are what ``python -m ppo_edu student-notebooks`` writes (see INSTRUCTORS.md).
Each one is executed here with nbclient in quick mode (``PPO_EDU_QUICK=1``, set by
conftest.py), as nbval does for the solved notebooks: it must run to the end without an
error, every check of a blanked function must say "not attempted", the cells marked
``# NBVAL_CHECK_OUTPUT`` must print what the solved notebook printed (the nbval-lax
comparison, with the same sanitizers), and ``solution()`` must be withheld. One test per
notebook, so ``pytest -n 2`` spreads them.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import ppo_edu as pe
from ppo_edu import classroom
from ppo_edu.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"


# -- building blocks ---------------------------------------------------------------------------


def _nb(*sources: str) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for i, cell in enumerate(cells, start=1):
        cell.execution_count = i
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"output {i}\n")]
    return nbformat.v4.new_notebook(cells=cells)


SOLVED = _nb(
    "# NBVAL_CHECK_OUTPUT\nimport ppo_edu as pe\nprint(pe.__version__)",
    "def f(x, y):\n    z = x + y\n    if z > 0:\n        ### BEGIN SOLUTION\n        w = 2 * z\n        return w\n"
    "        ### END SOLUTION\n    return 0\n\n\ndef g(x):\n    ### BEGIN SOLUTION\n    return -x\n    ### END SOLUTION",
    "# NBVAL_CHECK_OUTPUT\npe.exercises.discounted_sum.check(f)",
    "def f_wrong(x, y):\n    return 0\n\n\npe.exercises.discounted_sum.check(f_wrong)",
    "pe.exercises.discounted_sum.hint()",
    "pe.exercises.discounted_sum.solution()",
    "values = [g(1), f(1, 2)]",
)


def test_blank_solutions_keeps_indentation_and_code_outside():
    out = classroom._blank_solutions(SOLVED.cells[1].source, "test")
    assert "BEGIN SOLUTION" not in out and "END SOLUTION" not in out
    assert "w = 2 * z" not in out and "return -x" not in out
    assert "        # YOUR CODE HERE\n        raise NotImplementedError\n    return 0" in out
    assert "def g(x):\n    # YOUR CODE HERE\n    raise NotImplementedError" in out
    assert out.startswith("def f(x, y):\n    z = x + y\n    if z > 0:\n")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("### BEGIN SOLUTION\nx = 1", "expected '### END SOLUTION' after"),
        ("x = 1\n### END SOLUTION", "line 2: found '### END SOLUTION' without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "line 2: expected '### END SOLUTION' before"),
    ],
)
def test_unmatched_markers_are_an_error(source, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        classroom._blank_solutions(source, "nb.ipynb, cell 3")


def test_student_notebook_blanks_clears_and_withholds():
    student = classroom.student_notebook(SOLVED, "synthetic")
    first, solution, check, demo, hint, show, later = student.cells
    # The solved notebook is left as it was.
    assert "### BEGIN SOLUTION" in SOLVED.cells[1].source and SOLVED.cells[2].outputs
    # Solution cell: blanked, cleared, tagged.
    assert "raise NotImplementedError" in solution.source and "BEGIN" not in solution.source
    assert solution.outputs == [] and solution.execution_count is None
    assert classroom.TAG_SOLUTION in solution.metadata["tags"]
    # The check of the learner's function, the solution() display and a later use: cleared, unmarked.
    for cell in (check, show, later):
        assert cell.outputs == [] and cell.execution_count is None, cell.source
        assert classroom.TAG_DEPENDS in cell.metadata["tags"]
        assert classroom.NBVAL_CHECK not in cell.source
    # Cells that do not depend on the learner's code keep their outputs (also `pe.exercises.f...`).
    for cell, number in ((demo, 4), (hint, 5)):
        assert cell.outputs[0]["text"] == f"output {number}\n" and cell.execution_count == number
        assert "tags" not in cell.metadata
    # The first ppo_edu import switches solutions off, after the leading nbval marker.
    assert first.source.splitlines()[:3] == ["# NBVAL_CHECK_OUTPUT", *classroom.HIDE_LINES]
    assert first.outputs[0]["text"] == "output 1\n"
    assert classroom.is_student_copy(student) and not classroom.is_student_copy(SOLVED)
    assert classroom.exercise_calls(student) == classroom.exercise_calls(SOLVED) == [("discounted_sum", "f")]


def test_nbgrader_source_marks_solutions_and_adds_hidden_tests():
    source = classroom.nbgrader_source(SOLVED, "05_x", points=2)
    codes = [c.source for c in source.cells]
    assert len(source.cells) == len(SOLVED.cells) + 1  # one graded test, after the one check of f
    solution, check, test = source.cells[1], source.cells[2], source.cells[3]
    assert solution.source == SOLVED.cells[1].source  # solutions kept: nbgrader blanks them itself
    assert solution.metadata["nbgrader"] == {
        "grade": False,
        "solution": True,
        "locked": False,
        "schema_version": 3,
        "grade_id": "05_x-solution-f-g",
    }
    assert check.source == SOLVED.cells[2].source.replace(classroom.NBVAL_CHECK + "\n", "")
    assert "nbgrader" not in check.metadata
    # No solved output in a source notebook: the solution, its check, solution() and later uses are cleared.
    for index in (1, 2, 6, 7):
        assert source.cells[index].outputs == [], source.cells[index].source
    assert source.cells[4].outputs and source.cells[5].outputs  # the other cells keep theirs (e.g. figures)
    lines = test.source.splitlines()
    assert lines[1] == classroom.HIDDEN_BEGIN and lines[-1] == classroom.HIDDEN_END
    assert test.source.count("\n".join(lines[2:-1])) == 1
    assert "\n".join(lines[2:-1]) == classroom.hidden_test("discounted_sum", "f")
    assert "_trusted_exercises().all_exercises()['discounted_sum'].check(f, strict=True)" in test.source
    assert test.metadata["nbgrader"] == {
        "grade": True,
        "solution": False,
        "locked": True,
        "points": 2,
        "schema_version": 3,
        "grade_id": "05_x-test-discounted_sum-f",
    }
    assert codes[0].splitlines()[1:3] == list(classroom.HIDE_LINES)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in source.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))
    # A notebook released by nbgrader (solution cells marked only in its metadata) can be graded too.
    released = nbformat.reads(nbformat.writes(source), as_version=4)
    released.cells[1].source = "def f(x, y):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert classroom.exercise_calls(released) == [("discounted_sum", "f")]


def test_solution_demo_cells_are_left_out_of_student_copies_and_nbgrader_sources():
    nb = nbformat.reads(nbformat.writes(SOLVED), as_version=4)
    intro = nbformat.v4.new_markdown_cell("The classic slip, which the checker names:")
    demo = nbformat.v4.new_code_cell("def f_slip(x, y):\n    return 2 * (x + y)\n\n\npe.exercises.discounted_sum.check(f_slip)")
    demo.outputs = [nbformat.v4.new_output("stream", name="stdout", text="multiply r_t by γ^t\n")]
    for cell in (intro, demo):
        cell.metadata["tags"] = [classroom.TAG_DEMO]
    nb.cells[3:3] = [intro, demo]
    for copy in (classroom.student_notebook(nb), classroom.nbgrader_source(nb, "x")):
        assert not any(classroom.is_demo(c) for c in copy.cells)
        assert "f_slip" not in nbformat.writes(copy) and "multiply r_t" not in nbformat.writes(copy)
    assert len(classroom.student_notebook(nb).cells) == len(SOLVED.cells)


def test_student_notebook_needs_an_import_to_withhold_solutions():
    nb = _nb("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION")
    with pytest.raises(ValueError, match="imports ppo_edu"):
        classroom.student_notebook(nb, "no_import.ipynb")


def test_write_student_set_copies_assets_not_sources(tmp_path):
    src = tmp_path / "notebooks"
    (src / "src").mkdir(parents=True)
    (src / "src" / "01_x.py").write_text("# solutions live here")
    (src / "img").mkdir()
    (src / "img" / "a.png").write_bytes(b"png")
    nbformat.write(SOLVED, src / "01_x.ipynb")
    nbformat.write(SOLVED, src / "02_y.ipynb")
    out = tmp_path / "student"
    written = classroom.write_student_set(src, out, only=["02"])
    assert written == [out / "02_y.ipynb"]
    assert (out / "img" / "a.png").read_bytes() == b"png"
    assert not (out / "src").exists() and not (out / "01_x.ipynb").exists()
    assert "BEGIN SOLUTION" not in (out / "02_y.ipynb").read_text()
    with pytest.raises(ValueError, match="other than the course notebooks"):
        classroom.write_student_set(src, src)
    with pytest.raises(ValueError, match="starting with"):
        classroom.write_student_set(src, out, only=["09"])
    with pytest.raises(ValueError, match="expected a folder"):
        classroom.write_student_set(tmp_path / "missing", out)


def test_command_line_writes_the_whole_set(tmp_path, capsys):
    assert main(["student-notebooks", "--out", str(tmp_path / "student")]) == 0
    names = sorted(p.name for p in (tmp_path / "student").glob("*.ipynb"))
    assert names == [p.name for p in NOTEBOOKS]
    assert f"wrote {tmp_path / 'student' / NOTEBOOKS[0].name}" in capsys.readouterr().out
    assert main(["student-notebooks", "--src", str(tmp_path / "nowhere"), "--out", str(tmp_path / "s")]) == 2


def test_command_line_works_outside_the_repository(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no ./notebooks here: the course's own notebooks are used
    assert main(["student-notebooks", "--only", "00", "--out", "student"]) == 0
    assert (tmp_path / "student" / NOTEBOOKS[0].name).is_file()
    assert "open them with: cd student && " in capsys.readouterr().out


# -- the course notebooks ----------------------------------------------------------------------


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in {"execute_result", "display_data"}:
            parts.append(out.get("data", {}).get("text/plain", ""))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "".join(parts)


def _check_cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, nbformat.NotebookNode]]:
    found = []
    for exercise, function in classroom.exercise_calls(nb):
        call = re.compile(rf"pe\.exercises\.{exercise}\.check\(\s*{function}\s*\)")
        found += [(exercise, function, c) for c in nb.cells if c.cell_type == "code" and call.search(c.source)]
    return found


def _sanitizers() -> list[tuple[re.Pattern, str]]:
    cfg = configparser.ConfigParser()
    cfg.read(SANITIZE)
    return [(re.compile(cfg[s]["regex"]), cfg[s]["replace"]) for s in cfg.sections()]


def _sanitize(text: str) -> str:
    for pattern, replace in _sanitizers():
        text = pattern.sub(replace, text)
    return text


def _nbval_view(cell: nbformat.NotebookNode) -> dict[str, list[str]]:
    """What nbval compares in a cell: streams joined per name, text data per MIME type, sanitized."""
    view: dict[str, list[str]] = {}
    streams: dict[str, str] = {}
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            streams[out.name] = streams.get(out.name, "") + out.text
        elif out.output_type in {"execute_result", "display_data"}:
            for mime, value in out.get("data", {}).items():
                if not mime.startswith("image/") and "widget" not in mime:
                    view.setdefault(mime, []).append(_sanitize(value if isinstance(value, str) else str(value)))
        elif out.output_type == "error":
            view.setdefault("error", []).append(f"{out.ename}: {out.evalue}")
    for name, text in streams.items():
        view[name] = [_sanitize(text)]
    return view


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_solved_notebook_exercises_are_registered_and_pass(path):
    nb = nbformat.read(path, as_version=4)
    assert classroom.has_solutions(nb), f"{path.name}: no ### BEGIN SOLUTION block"
    for exercise, _ in classroom.exercise_calls(nb):
        assert exercise in pe.exercises.all_exercises(), f"{path.name}: pe.exercises.{exercise} is not registered"
    cells = _check_cells(nb)
    assert cells, f"{path.name}: no `pe.exercises.<name>.check(<your function>)` after a solution block"
    for exercise, function, cell in cells:
        assert f"{exercise}: passed" in _text(cell), (
            f"{path.name}: the committed output of check({function}) is not 'passed': {_text(cell)!r} "
            f"(an empty output means the notebook was not executed: python tools/nb.py build {path.name[:2]})"
        )


def _all_text(nb: nbformat.NotebookNode) -> str:
    """Every source and every text output of ``nb`` (what a student can read in the file)."""
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/"):
                    parts.append(value if isinstance(value, str) else "".join(value))
            if out.output_type == "error":
                parts.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts)


def _solution_lines(nb: nbformat.NotebookNode) -> list[str]:
    """The substantial lines of the notebook's solution blocks (short, generic lines such as `return out` excluded)."""
    lines = []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines() if cell.cell_type == "code" else ():
            if line.strip() == classroom.BEGIN:
                inside = True
            elif line.strip() == classroom.END:
                inside = False
            elif inside and len(line.strip()) >= 20 and not line.strip().startswith("#"):
                lines.append(line.strip())
    return lines


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_copy_and_nbgrader_source_give_nothing_away(path):
    solved = nbformat.read(path, as_version=4)
    student = classroom.student_notebook(solved, path.name)
    source = classroom.nbgrader_source(solved, path.stem)
    released = classroom.student_notebook(source, path.name)  # what nbgrader's generate_assignment blanks
    mistakes = [m for ex, _ in classroom.exercise_calls(solved) for m in pe.exercises.all_exercises()[ex].mistakes]
    solution_lines = _solution_lines(solved)
    assert solution_lines, f"{path.name}: no solution block"
    for name, nb in (("student copy", student), ("nbgrader release", released)):
        text = _all_text(nb)
        assert not any(classroom.is_demo(c) for c in nb.cells)
        leaked = [line for line in solution_lines if line in text]
        assert not leaked, f"{path.name} ({name}) shows solution code: {leaked}"
        fixes = [m.name for m in mistakes if m.message in text]
        assert not fixes, f"{path.name} ({name}) shows the fix of mistake(s) {fixes}"
        assert ": passed" not in text, f"{path.name} ({name}) shows a solved check's output"
    # The nbgrader source itself keeps its solutions (nbgrader blanks them) but no solved output.
    for cell in source.cells:
        shown = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))
        assert ": passed" not in shown and not any(m.message in shown for m in mistakes), cell.source[:200]
    # Figures that do not depend on the learner's answer survive.
    figures = sum("image/png" in o.get("data", {}) for c in solved.cells if not classroom.is_demo(c) for o in c.get("outputs", []))
    kept = sum("image/png" in o.get("data", {}) for c in source.cells for o in c.get("outputs", []))
    assert kept == figures, f"{path.name}: {figures} figures in the solved notebook, {kept} in the nbgrader source"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_student_version_runs_to_the_end(path, tmp_path):
    solved = nbformat.read(path, as_version=4)
    classroom.write_student_set(path.parent, tmp_path, only=[path.name])
    student = nbformat.read(tmp_path / path.name, as_version=4)
    probe = "print('SOLUTIONS HIDDEN:', pe.exercises.solutions_hidden())"
    student.cells.append(nbformat.v4.new_code_cell(probe))
    NotebookClient(
        student, timeout=300, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    errors = [
        (i, c.source[:200], _text(c)[-600:])
        for i, c in enumerate(student.cells)
        if c.cell_type == "code" and any(o.output_type == "error" for o in c.outputs)
    ]
    assert not errors, f"{path.name} (student version) stopped with errors: {errors}"

    checks = _check_cells(student)
    assert checks, f"{path.name}: the student version has no check of a blanked function"
    for exercise, function, cell in checks:
        assert f"{exercise}: not attempted" in _text(cell), (
            f"{path.name}: check({function}) on the blank did not say 'not attempted': {_text(cell)!r}"
        )

    # nbval-lax over the student copy: the marked cells print what the solved notebook printed.
    solved_code = [c for c in solved.cells if c.cell_type == "code" and not classroom.is_demo(c)]  # demos are left out
    student_code = [c for c in student.cells if c.cell_type == "code"][: len(solved_code)]
    assert len(student_code) == len(solved_code)
    for before, after in zip(solved_code, student_code, strict=True):
        if classroom.NBVAL_CHECK in after.source:
            assert _nbval_view(after) == _nbval_view(before), f"{path.name}: cell {after.source[:120]!r}"

    assert _text(student.cells[-1]).strip() == "SOLUTIONS HIDDEN: True"


# -- grading -----------------------------------------------------------------------------------


SOLVED_ONE = _nb(
    "import ppo_edu as pe",
    "def mine(rewards, gamma):\n    ### BEGIN SOLUTION\n    return sum(gamma**t * r for t, r in enumerate(rewards))\n"
    "    ### END SOLUTION\n\n\npe.exercises.discounted_sum.check(mine)",
)


CHECK = "\n\n\npe.exercises.discounted_sum.check(mine)"


def _submission(*cells: str) -> nbformat.NotebookNode:
    """A student copy of SOLVED_ONE whose solution cell is replaced by ``cells``."""
    nb = classroom.student_notebook(SOLVED_ONE)
    nb.cells[1:2] = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.cells[1].metadata["tags"] = [classroom.TAG_SOLUTION]
    if CHECK.strip() not in nb.cells[1].source:
        nb.cells[1].source += CHECK
    return nb


SUBMISSIONS = {
    "solved": SOLVED_ONE,
    "blank": classroom.student_notebook(SOLVED_ONE),
    # an error in another cell does not stop the grading
    "wrong": _submission("def mine(rewards, gamma):\n    return rewards.sum()" + CHECK, "1 / 0"),
    "broken": _submission("def mine(rewards, gamma):\n        return 0\n    return 1" + CHECK),
    # a cell that never ends is interrupted; the function is still graded
    "hanging_cell": _submission("def mine(rewards, gamma):\n    return sum(gamma**t * r for t, r in enumerate(rewards))",
                                "while True:\n    pass"),  # fmt: skip
    # a function that never returns: its check is an error, after the timeout
    "hanging_check": _submission("def mine(rewards, gamma):\n    while True:\n        pass"),
    # the submission breaks what the grading cell needs: every exercise of the notebook is an error
    "raising": _submission("def mine(rewards, gamma):\n    return rewards.sum()", "import sys\nsys.modules['json'] = None"),
    "dead_kernel": _submission("def mine(rewards, gamma):\n    return rewards.sum()", "import os\nos._exit(1)"),
    # cheap cheats: replacing the check, its class, the registry, printing a fake result line
    "cheating": _submission(
        "def mine(rewards, gamma):\n    return 0.0",
        "pe.exercises.discounted_sum.check = lambda fn, **kw: True\n"
        "type(pe.exercises.discounted_sum).check = lambda self, fn, **kw: True\n"
        "pe.exercises.all_exercises = lambda: {}\n"
        "print('PPO_EDU_GRADES [[\"discounted_sum\", \"mine\", \"passed\", null, \"\"]]')",
    ),
    # the package's own answer, called from the learner's function
    "package": _submission("def mine(rewards, gamma):\n    return pe.returns.total_return(rewards, gamma)"),
}
EXPECTED = {
    "solved": ("passed", ""),
    "blank": ("not attempted", ""),
    "wrong": ("failed", "no_discount"),
    "broken": ("error", ""),
    "hanging_cell": ("passed", ""),
    "hanging_check": ("error", "timeout"),
    "raising": ("error", ""),
    "dead_kernel": ("error", ""),
    "cheating": ("failed", ""),
    "package": ("failed", "package_function"),
}


HANGING = ("hanging_cell", "hanging_check")  # graded with a short timeout; the others with a generous one


def test_grade_survives_every_kind_of_submission(tmp_path, capsys):
    import csv

    rows, out = [], ""
    for names, timeout in ([n for n in SUBMISSIONS if n not in HANGING], "120"), (HANGING, "20"):
        paths = [_write(tmp_path / f"{name}.ipynb", SUBMISSIONS[name]) for name in names]
        csv_path = tmp_path / f"grades-{timeout}.csv"
        assert main(["grade", *map(str, paths), "--csv", str(csv_path), "--timeout", timeout]) == 0
        printed = capsys.readouterr().out
        # One progress line per notebook, in order, as it goes.
        for i, path in enumerate(paths, start=1):
            assert re.search(rf"^\[{i}/{len(paths)}\] {re.escape(str(path))}: [01]/1 passed", printed, re.M), printed
        out += printed
        with csv_path.open() as f:
            reader = csv.DictReader(f)
            assert reader.fieldnames == ["notebook", "exercise", "function", "status", "mistake", "points", "message"]
            rows += list(reader)
    got = {Path(r["notebook"]).stem: (r["status"], r["mistake"]) for r in rows}
    assert got == EXPECTED, [(Path(r["notebook"]).stem, r["status"], r["mistake"], r["message"][:200]) for r in rows]
    points = {Path(r["notebook"]).stem: r["points"] for r in rows}
    assert points["solved"] == points["hanging_cell"] == "1" and points["cheating"] == points["blank"] == "0"
    messages = {Path(r["notebook"]).stem: r["message"] for r in rows}
    assert "the cell that defines `mine` raised IndentationError" in messages["broken"]
    assert "longer than 20" in messages["hanging_check"]
    assert "grading cell failed" in messages["raising"] and "kernel died" in messages["dead_kernel"]
    assert "pe.returns.total_return" in messages["package"]
    # The instructor may accept the package's answer.
    accepted = classroom.grade([tmp_path / "package.ipynb"], timeout=120, accept_package=True)
    assert [g.status for g in accepted] == ["passed"]


def test_grade_records_unreadable_and_exerciseless_notebooks(tmp_path):
    (tmp_path / "garbage.ipynb").write_text("{not json")
    grades = classroom.grade([tmp_path / "garbage.ipynb", _write(tmp_path / "none.ipynb", _nb("x = 1"))])
    assert [g.status for g in grades] == ["error", "error"]
    assert "could not read" in grades[0].message and "no exercise check" in grades[1].message


def test_grade_expects_the_course_exercises_even_when_a_check_was_deleted(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    _write(course / "nb.ipynb", SOLVED_ONE)
    nb = classroom.student_notebook(SOLVED_ONE)
    nb.cells[1].source = "def mine(rewards, gamma):\n    return 0.0"  # the check cell deleted (and the tag)
    nb.cells[1].metadata = {}
    grades = classroom.grade([_write(tmp_path / "nb.ipynb", nb)], timeout=30, course=course)
    assert [(g.exercise, g.status) for g in grades] == [("discounted_sum", "failed")]


def _write(path: Path, nb: nbformat.NotebookNode) -> Path:
    nbformat.write(nb, path)
    return path
