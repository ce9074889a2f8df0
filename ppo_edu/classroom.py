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

Cells tagged ``solution-demo`` (a classic mistake written out and checked, right after an
exercise: the solution minus one token, whose output names the fix) are left out of student
copies and nbgrader sources. Grading never trusts the student's namespace: the check runs
from a fresh copy of ``ppo_edu`` loaded from disk in the grading cell (a student's
``pe.exercises.x.check = ...`` changes nothing), with the graders' ``strict`` setting.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .exercises._core import HIDE_SOLUTIONS_ENV

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BLANK = ("# YOUR CODE HERE", "raise NotImplementedError")
NBVAL_CHECK = "# NBVAL_CHECK_OUTPUT"
#: Cell tags set on generated cells, so that tools (and tests) can find them again.
TAG_SOLUTION, TAG_DEPENDS = "ppo-edu-exercise", "ppo-edu-exercise-check"
#: Tag of a cell that demonstrates a classic mistake (it names the fix): never in a student copy.
TAG_DEMO = "solution-demo"
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


def is_demo(cell: nbformat.NotebookNode) -> bool:
    """True for a cell tagged ``solution-demo`` (a classic mistake shown with its fix)."""
    return TAG_DEMO in cell.metadata.get("tags", [])


def _without_demos(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.cells = [c for c in nb.cells if not is_demo(c)]
    return nb


def _clear_solved_outputs(nb: nbformat.NotebookNode) -> set[str]:
    """Clear (and tag) the solution cells and the cells that use their functions; return those functions."""
    learner_functions: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if BEGIN in cell.source or END in cell.source:
            learner_functions.update(_DEF.findall(cell.source))
            _clear(cell, TAG_SOLUTION)
        elif ".solution()" in cell.source or _uses(cell.source, learner_functions):
            _clear(cell, TAG_DEPENDS)
    return learner_functions


def has_solutions(nb: nbformat.NotebookNode) -> bool:
    """True when some code cell of ``nb`` holds a solution block."""
    return any(c.cell_type == "code" and BEGIN in c.source for c in nb.cells)


def student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A student copy of ``nb``: solutions blanked, dependent outputs cleared, ``solution()`` withheld.

    ``nb`` itself is not changed. ``name`` is used in error messages.
    """
    nb = _without_demos(nbformat.reads(nbformat.writes(nb), as_version=4))
    learner_functions = _clear_solved_outputs(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (BEGIN in cell.source or END in cell.source):
            cell.source = _blank_solutions(cell.source, f"{name}, cell {index}")
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


def course_folder() -> Path:
    """The solved course notebooks: ``./notebooks`` when it holds them, else the ``notebooks/`` beside the package."""
    here = Path.cwd() / "notebooks"
    if any(here.glob("[0-9][0-9]_*.ipynb")):
        return here
    return Path(__file__).resolve().parents[1] / "notebooks"


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


def _trusted_exercises(origin=None):
    """A fresh copy of ``ppo_edu.exercises``, loaded from disk (``origin``: the package's ``__init__.py``).

    Its source is pasted into grading cells: nothing the notebook did to ``pe`` (a replaced
    ``check``, a patched registry) reaches this copy.
    """
    import importlib
    import importlib.util
    import os
    import sys

    name = "_ppo_edu_grader"
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        del sys.modules[key]
    for finder in sys.meta_path if origin is None else ():
        try:
            found = finder.find_spec("ppo_edu", None)
        except Exception:  # noqa: BLE001 - a finder that cannot answer
            found = None
        if found is not None:
            origin = found.origin
            break
    spec = importlib.util.spec_from_file_location(name, origin, submodule_search_locations=[os.path.dirname(origin)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return importlib.import_module(name + ".exercises")


def hidden_test(exercise: str, function: str) -> str:
    """The code of nbgrader's hidden test of ``function``: a strict check from a fresh copy of the package."""
    return (
        inspect.getsource(_trusted_exercises)
        + f"\n\n_result = _trusted_exercises().all_exercises()[{exercise!r}].check({function}, strict=True)\n"
        f"print(_result)\nassert _result.passed, _result.status"
    )


def nbgrader_source(nb: nbformat.NotebookNode, stem: str, points: int = 1) -> nbformat.NotebookNode:
    """``nb`` as an nbgrader *source* notebook: solution cells and hidden autograder tests marked.

    Each solution cell gets nbgrader's solution metadata; after each check of a learner's
    function comes a locked, graded cell whose test (``assert check(fn)``, worth ``points``)
    sits between ``### BEGIN/END HIDDEN TESTS``, so that ``nbgrader generate_assignment``
    releases an empty cell (the student notebook still runs to the end) and ``nbgrader
    autograde`` puts the test back. The first ``import ppo_edu`` cell withholds ``solution()``.
    The test checks with a fresh copy of the package (:func:`hidden_test`). Cells tagged
    ``solution-demo`` are left out, and the outputs of solution cells and of the cells that use
    their functions are cleared, so the other cells' outputs (figures) may be released.
    """
    nb = _without_demos(nbformat.reads(nbformat.writes(nb), as_version=4))
    _clear_solved_outputs(nb)  # a source notebook carries no solved output: ClearOutput may be turned off
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
                    + hidden_test(exercise, function)
                    + f"\n{HIDDEN_END}"
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
    """What ``check`` said about one exercise of one handed-in notebook (``notebook``: its path as given).

    ``points`` is 1 for a passed exercise, else 0.
    """

    notebook: str
    exercise: str
    function: str
    status: str
    mistake: str | None
    message: str

    @property
    def points(self) -> int:
        return int(self.status == "passed")


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


def _grade_in_kernel(pairs, origin, nonce, limit, accept):
    """Check each ``(exercise, function)`` of the kernel's namespace with a fresh copy of the package.

    Its source is pasted into the grading cell. Each check has ``limit`` seconds (SIGALRM);
    the result is printed as one line, ``nonce`` + JSON, that no student cell can forge.
    """
    import json
    import signal
    import sys

    namespace = sys._getframe(1).f_globals  # the notebook's, where the student's functions are
    exercises = _trusted_exercises(origin).all_exercises()

    class Late(BaseException):
        pass

    def alarm(signum, frame):
        raise Late

    timer = hasattr(signal, "setitimer")
    grades = []
    for exercise, function in pairs:
        if timer:
            previous = signal.signal(signal.SIGALRM, alarm)
            signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            r = exercises[exercise].check(namespace.get(function), accept_package=accept, strict=True)
            grades.append([exercise, function, r.status, r.mistake, r.message])
        except Late:
            grades.append([exercise, function, "error", "timeout", f"checking `{function}` took longer than {limit} s"])
        except BaseException as exc:  # noqa: BLE001 - whatever the submission did, the other exercises are graded
            grades.append([exercise, function, "error", None, f"checking `{function}` raised {type(exc).__name__}: {exc}"])
        finally:
            if timer:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
    sys.stdout.write(nonce + json.dumps(grades) + "\n")
    sys.stdout.flush()


def _grading_cell(pairs: Iterable[tuple[str, str]], nonce: str, limit: float, accept: bool) -> nbformat.NotebookNode:
    origin = str(Path(__file__).resolve().parent / "__init__.py")  # the grader's own ppo_edu
    code = "\n\n".join(
        [
            "# ppo_edu grade: the grading cell (not part of the submission)",
            inspect.getsource(_trusted_exercises),
            inspect.getsource(_grade_in_kernel),
            f"_grade_in_kernel({list(pairs)!r}, {origin!r}, {nonce!r}, {float(limit)!r}, {bool(accept)!r})",
        ]
    )
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["tags"] = [_GRADING_TAG]
    return cell


_GRADING_TAG = "ppo-edu-grading-cell"


def _definition_error(nb: nbformat.NotebookNode, function: str) -> str | None:
    """The error (``Name: value``) of the last cell that defines ``function``, if that cell failed."""
    found = None
    for cell in nb.cells:
        if cell.cell_type == "code" and re.search(rf"^\s*def\s+{re.escape(function)}\s*\(", cell.source, re.M):
            errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
            found = f"{errors[0].ename}: {errors[0].evalue}" if errors else None
    return found


def _errors(pairs: Sequence[tuple[str, str]], path: Path, message: str) -> list[Grade]:
    return [Grade(str(path), exercise, function, "error", None, message) for exercise, function in pairs]


def _course_pairs(path: Path, course: Path | None) -> list[tuple[str, str]]:
    """The exercises of the course notebook with ``path``'s name, if ``course`` has one (a deleted check still counts)."""
    if course is None or not (course / path.name).is_file():
        return []
    return exercise_calls(nbformat.read(course / path.name, as_version=4))


def _timed_out_cells(nb: nbformat.NotebookNode) -> list[int]:
    return [
        i
        for i, c in enumerate(nb.cells[:-1])
        if c.cell_type == "code" and any(o.output_type == "error" and o.ename == "KeyboardInterrupt" for o in c.outputs)
    ]


def grade_notebook(
    path: str | os.PathLike,
    timeout: int = 600,
    quick: bool = True,
    accept_package: bool = False,
    course: str | os.PathLike | None = None,
) -> list[Grade]:
    """Run one handed-in notebook top to bottom, then check every exercise against its final state.

    Never raises for what the submission does: a cell that runs longer than ``timeout`` seconds
    is interrupted (the run goes on), a check that runs longer is an ``error``, and a notebook
    that cannot be read, a kernel that dies or a grading cell that fails make every exercise of
    that notebook an ``error`` with the reason. Errors in the learner's cells do not stop the
    run (a later exercise still counts); an exercise whose function is missing is "not
    attempted". ``course``: the folder of solved course notebooks, whose exercises are expected
    even when a submission deleted a check.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - a broken file is graded as an error, not a crash
        pairs = _course_pairs(path, Path(course) if course else None) or [("?", "?")]
        return _errors(pairs, path, f"could not read the notebook: {type(exc).__name__}: {exc}")
    pairs = list(dict.fromkeys([*exercise_calls(nb), *_course_pairs(path, Path(course) if course else None)]))
    if not pairs:
        return [Grade(str(path), "?", "?", "error", None, "found no exercise check in this notebook")]
    nb.cells = [c for c in nb.cells if _GRADING_TAG not in c.metadata.get("tags", [])]
    nonce = f"PPO_EDU_GRADES {secrets.token_hex(8)} "
    limit = max(1, timeout)
    nb.cells.append(_grading_cell(pairs, nonce, limit, accept_package))
    env_before = os.environ.get("PPO_EDU_QUICK")
    if quick:
        os.environ["PPO_EDU_QUICK"] = "1"
    failure = None
    try:
        NotebookClient(
            nb,
            timeout=timeout,
            timeout_func=lambda cell: limit * (len(pairs) + 1) + 60 if _GRADING_TAG in cell.metadata.get("tags", []) else timeout,
            interrupt_on_timeout=True,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(path.parent.resolve())}},
        ).execute()
    except DeadKernelError as exc:
        failure = f"the kernel died while running the notebook ({exc})"
    except CellTimeoutError as exc:
        failure = f"a cell ran longer than {timeout} s and could not be interrupted ({str(exc).splitlines()[0]})"
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the next notebook is graded
        failure = f"running the notebook failed: {type(exc).__name__}: {exc}"
    finally:
        if env_before is None:
            os.environ.pop("PPO_EDU_QUICK", None)
        else:
            os.environ["PPO_EDU_QUICK"] = env_before
    if failure:
        return _errors(pairs, path, failure)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    line = next((x for x in text.splitlines() if x.startswith(nonce)), None)
    if line is None:
        errors = [f"{o.ename}: {o.evalue}" for o in nb.cells[-1].outputs if o.output_type == "error"]
        why = errors[0] if errors else "it printed no result"
        return _errors(pairs, path, f"the grading cell failed ({why}): the submission broke the kernel's state")
    interrupted = _timed_out_cells(nb)
    grades = []
    for exercise, function, status, mistake, message in json.loads(line[len(nonce) :]):
        failure = _definition_error(nb, function)
        if failure and status != "passed":
            status, mistake, message = "error", None, f"the cell that defines `{function}` raised {failure}"
            if failure.startswith("KeyboardInterrupt"):
                mistake = "timeout"
                message = f"the cell that defines `{function}` ran longer than {timeout} s and was interrupted"
        elif interrupted and status != "passed":
            message += f" (note: cell(s) {interrupted} ran longer than {timeout} s and were interrupted)"
        grades.append(Grade(str(path), exercise, function, status, mistake, message))
    return grades


def grade(
    paths: Sequence[str | os.PathLike],
    timeout: int = 600,
    quick: bool = True,
    accept_package: bool = False,
    course: str | os.PathLike | None = None,
    on_notebook: Callable[[int, int, str, list[Grade], float], None] | None = None,
) -> list[Grade]:
    """:func:`grade_notebook` for each of ``paths`` in turn; ``on_notebook(i, n, path, grades, seconds)`` after each."""
    grades: list[Grade] = []
    for i, path in enumerate(paths, start=1):
        start = time.perf_counter()
        mine = grade_notebook(path, timeout=timeout, quick=quick, accept_package=accept_package, course=course)
        grades += mine
        if on_notebook is not None:
            on_notebook(i, len(paths), str(path), mine, time.perf_counter() - start)
    return grades
