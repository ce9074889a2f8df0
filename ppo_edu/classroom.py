"""Classroom tools: student notebooks without solutions, and grading of handed-in notebooks.

Solution code in the course notebooks sits between nbgrader's markers::

    def my_function(x):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

:func:`student_notebook` replaces every such block by ``# YOUR CODE HERE`` and
``raise NotImplementedError`` (at the block's indentation), clears the outputs of those
cells and of every later cell that uses a function they define (the checks), and switches
``solution()`` off in the notebook's first ``import ppo_edu`` cell. :func:`write_student_set`
does that for a whole folder; ``python -m ppo_edu student-notebooks`` is the command line.

:func:`nbgrader_source` writes the solved notebooks as nbgrader *source* notebooks instead
(solution cells marked, a hidden autograder test after each check): ``student-notebooks
--nbgrader``. :func:`grade` runs handed-in notebooks and reports, per exercise, what ``check``
says about the learner's function in the notebook's final state: ``python -m ppo_edu grade``.
INSTRUCTORS.md is the guide.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .exercises._core import HIDE_SOLUTIONS_ENV

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BLANK = ("# YOUR CODE HERE", "raise NotImplementedError")
NBVAL_CHECK = "# NBVAL_CHECK_OUTPUT"
#: Cell tags set on generated cells, so that tools (and tests) can find them again.
TAG_SOLUTION, TAG_DEPENDS = "ppo-edu-exercise", "ppo-edu-exercise-check"
#: The lines that the student copy adds to its first ``import ppo_edu`` cell.
HIDE_LINES = ("import os", f'os.environ["{HIDE_SOLUTIONS_ENV}"] = "1"  # classroom copy: solution() is withheld')
_CHECK_CALL = re.compile(r"pe\.exercises\.(\w+)\.check\(\s*(\w+)\s*\)")
_DEF = re.compile(r"^\s*def\s+(\w+)\s*\(", re.MULTILINE)
_IMPORT_PE = re.compile(r"^\s*(import ppo_edu\b|from ppo_edu\b)", re.MULTILINE)


def _blank_solutions(source: str, where: str) -> str:
    """``source`` with each BEGIN/END SOLUTION block replaced by the blank; unmatched markers are an error."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{where}, line {number}: expected {END!r} before another {BEGIN!r}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + text for text in BLANK)
        elif stripped == END:
            if not inside:
                raise ValueError(f"{where}, line {number}: found {END!r} without a {BEGIN!r} before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: expected {END!r} after {BEGIN!r}, reached the end of the cell")
    return "\n".join(out)


def _clear(cell: nbformat.NotebookNode, tag: str) -> None:
    cell.outputs = []
    cell.execution_count = None
    # Its output now depends on the learner's code: never compare it under nbval.
    cell.source = "\n".join(line for line in cell.source.splitlines() if line.strip() != NBVAL_CHECK)
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def _uses(source: str, functions: set[str]) -> bool:
    """True when ``source`` names one of ``functions`` (not as an attribute, e.g. ``pe.exercises.f``)."""
    return any(re.search(rf"(?<![\w.]){re.escape(f)}\b", source) for f in functions)


def has_solutions(nb: nbformat.NotebookNode) -> bool:
    """True when some code cell of ``nb`` holds a solution block."""
    return any(c.cell_type == "code" and BEGIN in c.source for c in nb.cells)


def student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A student copy of ``nb``: solutions blanked, dependent outputs cleared, ``solution()`` withheld.

    ``nb`` itself is not changed. ``name`` is used in error messages.
    """
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    learner_functions: set[str] = set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if BEGIN in cell.source or END in cell.source:
            learner_functions.update(_DEF.findall(cell.source))
            cell.source = _blank_solutions(cell.source, f"{name}, cell {index}")
            _clear(cell, TAG_SOLUTION)
        elif ".solution()" in cell.source or _uses(cell.source, learner_functions):
            _clear(cell, TAG_DEPENDS)
    if learner_functions:
        try:
            _withhold_solutions(nb)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    nb.metadata["ppo_edu"] = {"student_copy": True}
    return nb


def is_student_copy(nb: nbformat.NotebookNode) -> bool:
    """True for notebooks written by :func:`student_notebook`."""
    return bool(nb.metadata.get("ppo_edu", {}).get("student_copy"))


def _course_notebooks(src: Path, out: Path, only: Sequence[str] | None) -> list[Path]:
    """The ``NN_*.ipynb`` in ``src`` (those starting with a prefix in ``only``); ``out`` is created."""
    if not src.is_dir():
        raise ValueError(f"source folder: expected a folder of notebooks, got {str(src)!r}")
    if out in (src, src / "src"):
        raise ValueError(f"output folder: expected a folder other than the course notebooks, got {str(out)!r}")
    notebooks = sorted(src.glob("[0-9][0-9]_*.ipynb"))
    if only:
        notebooks = [p for p in notebooks if any(p.name.startswith(prefix) for prefix in only)]
    if not notebooks:
        raise ValueError(
            f"expected course notebooks NN_*.ipynb in {str(src)!r}, found none" + (f" starting with {list(only)}" if only else "")
        )
    out.mkdir(parents=True, exist_ok=True)
    return notebooks


def write_student_set(source_dir: str | os.PathLike, out_dir: str | os.PathLike, only: Sequence[str] | None = None) -> list[Path]:
    """Write the student copy of every ``NN_*.ipynb`` in ``source_dir`` to ``out_dir``.

    Other files and folders next to the notebooks (images, data) are copied as they are;
    ``src/`` (the jupytext sources, which hold the solutions) and checkpoints are not.
    ``only`` keeps the notebooks whose name starts with one of its prefixes. Returns the
    written notebooks.
    """
    src, out = Path(source_dir).resolve(), Path(out_dir).resolve()
    notebooks = _course_notebooks(src, out, only)
    for item in src.iterdir():
        if item.suffix == ".ipynb" or item.name in {"src", ".ipynb_checkpoints", "__pycache__"}:
            continue
        target = out / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        target = out / path.name
        nbformat.write(student_notebook(nb, path.name), target)
        written.append(target)
    return written


# -- nbgrader ----------------------------------------------------------------------------------

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def _withhold_solutions(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code" and _IMPORT_PE.search(cell.source):
            lines = cell.source.splitlines()
            at = 0
            while at < len(lines) and lines[at].lstrip().startswith(("#", "%")):  # keep markers/magics first
                at += 1
            cell.source = "\n".join([*lines[:at], *HIDE_LINES, *lines[at:]])
            return
    raise ValueError("expected a code cell that imports ppo_edu (to withhold solutions), found none")


def nbgrader_source(nb: nbformat.NotebookNode, stem: str, points: int = 1) -> nbformat.NotebookNode:
    """``nb`` as an nbgrader *source* notebook: solution cells and hidden autograder tests marked.

    Each solution cell gets nbgrader's solution metadata; after each check of a learner's
    function comes a locked, graded cell whose test (``assert check(fn)``, worth ``points``)
    sits between ``### BEGIN/END HIDDEN TESTS``, so that ``nbgrader generate_assignment``
    releases an empty cell (the student notebook still runs to the end) and ``nbgrader
    autograde`` puts the test back. The first ``import ppo_edu`` cell withholds ``solution()``.
    """
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    checks = exercise_calls(nb)
    cells: list[nbformat.NotebookNode] = []
    for index, cell in enumerate(nb.cells):
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        if BEGIN in cell.source:
            _blank_solutions(cell.source, f"{stem}, cell {index}")  # markers must match
            names = _DEF.findall(cell.source)
            cell.metadata["nbgrader"] = {
                "grade": False,
                "solution": True,
                "locked": False,
                "schema_version": 3,
                "grade_id": f"{stem}-solution-{'-'.join(names) or index}",
            }
        for exercise, function in checks:
            if re.search(rf"pe\.exercises\.{exercise}\.check\(\s*{function}\s*\)", cell.source):
                test = nbformat.v4.new_code_cell(
                    f"# Autograder test for exercise `{exercise}` (hidden from students).\n{HIDDEN_BEGIN}\n"
                    f"assert pe.exercises.{exercise}.check({function}), pe.exercises.{exercise}.check({function})\n"
                    f"{HIDDEN_END}"
                )
                test.metadata["nbgrader"] = {
                    "grade": True,
                    "solution": False,
                    "locked": True,
                    "points": points,
                    "schema_version": 3,
                    "grade_id": f"{stem}-test-{exercise}-{function}",
                }
                cells.append(test)
    nb.cells = cells
    _withhold_solutions(nb)
    return nb


def write_nbgrader_source(
    source_dir: str | os.PathLike, out_dir: str | os.PathLike, only: Sequence[str] | None = None
) -> list[Path]:
    """Write nbgrader source notebooks (see :func:`nbgrader_source`) for the notebooks in ``source_dir``."""
    src, out = Path(source_dir).resolve(), Path(out_dir).resolve()
    written = []
    for path in _course_notebooks(src, out, only):
        target = out / path.name
        nbformat.write(nbgrader_source(nbformat.read(path, as_version=4), path.stem), target)
        written.append(target)
    return written


# -- grading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grade:
    """What ``check`` said about one exercise of one handed-in notebook (``notebook``: its path as given)."""

    notebook: str
    exercise: str
    function: str
    status: str
    mistake: str | None
    message: str


def exercise_calls(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``(exercise, function)`` for each check of a learner's function (a function defined in a solution cell).

    Works on solved notebooks, on student copies (their blanked cells are tagged) and on
    notebooks released by nbgrader (solution cells marked in its metadata).
    """
    learner: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and (
            BEGIN in cell.source
            or TAG_SOLUTION in cell.metadata.get("tags", [])
            or cell.metadata.get("nbgrader", {}).get("solution")
        ):
            learner.update(_DEF.findall(cell.source))
    seen: dict[tuple[str, str], None] = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            for exercise, function in _CHECK_CALL.findall(cell.source):
                if function in learner:
                    seen[(exercise, function)] = None
    return list(seen)


_GRADE_MARK = "PPO_EDU_GRADES "


def _grading_cell(pairs: Iterable[tuple[str, str]]) -> nbformat.NotebookNode:
    code = f"""
import json as _json, ppo_edu as _pe
_grades = []
for _ex, _fn in {list(pairs)!r}:
    _r = _pe.exercises.all_exercises()[_ex].check(globals().get(_fn))
    _grades.append([_ex, _fn, _r.status, _r.mistake, _r.message])
print({_GRADE_MARK!r} + _json.dumps(_grades))
"""
    return nbformat.v4.new_code_cell(code)


def _definition_error(nb: nbformat.NotebookNode, function: str) -> str | None:
    """The error (``Name: value``) of the last cell that defines ``function``, if that cell failed."""
    found = None
    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(rf"^\s*def\s+{re.escape(function)}\s*\(", cell.source, re.M):
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            found = f"{errors[0].ename}: {errors[0].evalue}" if errors else None
    return found


def grade(paths: Sequence[str | os.PathLike], timeout: int = 600, quick: bool = True) -> list[Grade]:
    """Run each handed-in notebook top to bottom, then check every exercise against its final state.

    Errors in the learner's cells do not stop the run (a later exercise still counts);
    exercises whose check cannot find the function count as "not attempted".
    """
    from nbclient import NotebookClient

    grades: list[Grade] = []
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        pairs = exercise_calls(nb)
        if not pairs:
            raise ValueError(f"{path}: expected a course notebook with exercises, found no exercise check")
        nb.cells.append(_grading_cell(pairs))
        env_before = os.environ.get("PPO_EDU_QUICK")
        if quick:
            os.environ["PPO_EDU_QUICK"] = "1"
        try:
            NotebookClient(
                nb,
                timeout=timeout,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": str(path.parent.resolve())}},
            ).execute()
        finally:
            if env_before is None:
                os.environ.pop("PPO_EDU_QUICK", None)
            else:
                os.environ["PPO_EDU_QUICK"] = env_before
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
        line = next((x for x in text.splitlines() if x.startswith(_GRADE_MARK)), None)
        if line is None:
            raise RuntimeError(f"{path}: the grading cell printed no result; its outputs: {nb.cells[-1].outputs}")
        for exercise, function, status, mistake, message in json.loads(line[len(_GRADE_MARK) :]):
            failure = _definition_error(nb, function)
            if failure and status != "passed":
                status, mistake, message = "error", None, f"the cell that defines `{function}` raised {failure}"
            grades.append(Grade(str(path), exercise, function, status, mistake, message))
    return grades
