"""The course in a real browser: JupyterLab (started by ./course.sh), headless Chromium.

For each notebook: open it, clear the stored outputs, *Run → Run All Cells*, wait until every
code cell has run, then assert that no cell shows an error, every figure is an image that
loaded (as many as the committed notebook has, none shown as ``<Figure size …>`` text), and
every slider redraws its figure when it is moved. Notebook 05's ε slider and notebook 07's λ
slider must exist. And the README's first command lands where it should: the page that
``./course.sh`` opens in a browser shows notebook 00 with a running kernel and no dialog.
Screenshots (the whole notebook, and each slider before/after) are written to
``artifacts/browser/``.

The student copy of 07 is opened too: a wrong GAE typed into its exercise cell must be named
(missing done mask), the fixed one must pass.

CI runs a representative subset: 00 (where ./course.sh lands) and the notebooks with a
parameter slider (03 γ, 05 ε, 07 λ, 09 β). Every notebook:

    PPO_EDU_BROWSER_NOTEBOOKS=all .venv/bin/python -m pytest tests/browser

(or a list of prefixes, e.g. ``PPO_EDU_BROWSER_NOTEBOOKS="03 09"``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DEFAULT_SUBSET = ("00", "03", "05", "07", "09")  # the landing notebook and the four with a parameter slider
#: Notebooks whose lesson is a parameter: the slider that must be there (label pattern).
REQUIRED_SLIDERS = {"05": ("ε", r"^(ε|eps|epsilon|clip)"), "07": ("λ", r"^(λ|lam|lamb|lambda|lmbda|gae_lambda)$")}
RUN_TIMEOUT = 240  # seconds per notebook; quick mode keeps each under 60 s


def _selected() -> list[Path]:
    wanted = os.environ.get("PPO_EDU_BROWSER_NOTEBOOKS", " ".join(DEFAULT_SUBSET)).replace(",", " ").split()
    if wanted == ["all"]:
        return NOTEBOOKS
    return [p for p in NOTEBOOKS if any(p.name.startswith(w) for w in wanted)]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


STATE_JS = """() => {
  const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell')];
  const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt')?.textContent || '').trim());
  const errors = [];
  cells.forEach((c, i) => c.querySelectorAll('.jp-OutputArea-output').forEach(o => {
    const text = o.textContent || '';
    if (o.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr'
        && /Traceback \\(most recent call last\\)|^-{20,}\\s*\\n?\\s*\\w+(Error|Exception)/.test(text)) {
      errors.push({cell: i, text: text.slice(0, 1500)});
    }
  }));
  const status = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator')
    ?.getAttribute('data-status');
  return {prompts, errors, status};
}"""

FIGURES_JS = """() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  const images = [...nb.querySelectorAll('.jp-RenderedImage img')];
  const outsideWidgets = images.filter(img => !img.closest('.jupyter-widgets'));
  const broken = images.filter(img => !(img.complete && img.naturalWidth > 0)).length;
  const asText = [...nb.querySelectorAll('.jp-OutputArea-output')]
    .map(o => o.textContent || '').filter(t => /<Figure size \\d+x\\d+|matplotlib\\.figure\\.Figure object/.test(t));
  const widgetErrors = [...nb.querySelectorAll('.jp-OutputArea-output')]
    .map(o => o.textContent || '').filter(t => /Error displaying widget|Loading widget\\.\\.\\./.test(t));
  return {images: images.length, outsideWidgets: outsideWidgets.length, broken, asText, widgetErrors};
}"""

SHUTDOWN_JS = """async () => {
  const m = document.cookie.match(/_xsrf=([^;]+)/);
  const headers = m ? {'X-XSRFToken': decodeURIComponent(m[1])} : {};
  const sessions = await (await fetch('/api/sessions')).json();
  for (const s of sessions) { await fetch('/api/sessions/' + s.id, {method: 'DELETE', headers}); }
  return sessions.length;
}"""


def _menu(page, menu: str, item: str) -> None:
    page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def _accept_dialogs(page) -> None:
    """Accept a kernel-selection dialog if JupyterLab shows one."""
    dialog = page.locator(".jp-Dialog .jp-mod-accept")
    if dialog.count():
        dialog.first.click()


KERNEL_JS = """async (name) => {
  const sessions = await (await fetch('/api/sessions')).json();
  const mine = sessions.find(s => s.path === name || s.path.endsWith('/' + name));
  return mine ? mine.kernel.execution_state : null;
}"""


def _wait_kernel_ready(page, name: str, timeout: float) -> None:
    """Wait until the notebook's kernel is started (a session exists) and idle, and the page says so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _accept_dialogs(page)
        if page.evaluate(KERNEL_JS, name) == "idle" and page.evaluate(STATE_JS)["status"] == "idle":
            return
        time.sleep(0.5)
    raise AssertionError(f"{name}: the kernel did not start in {timeout} s: {page.evaluate(STATE_JS)}")


def run_all(page, lab_url: str, path: Path) -> dict:
    """Open ``path`` in JupyterLab, clear outputs, run all cells; return the final state."""
    page.goto(f"{lab_url}/lab/tree/{path.name}?reset")
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    _wait_kernel_ready(page, path.name, 90)
    _menu(page, "Edit", "Clear Outputs of All Cells")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = page.evaluate(STATE_JS)
        if state["prompts"] and all(p == "[ ]:" for p in state["prompts"]):
            break
        time.sleep(0.25)
    else:
        pytest.fail(f"{path.name}: the stored outputs were not cleared: {state}")
    _menu(page, "Run", "Run All Cells")
    deadline, settled = time.monotonic() + RUN_TIMEOUT, 0
    while time.monotonic() < deadline:
        _accept_dialogs(page)
        state = page.evaluate(STATE_JS)
        ran = [p for p in state["prompts"] if re.fullmatch(r"\[\d+\]:", p)]
        busy = any(p == "[*]:" for p in state["prompts"])
        finished = ran and not busy and state["status"] == "idle" and (len(ran) == len(state["prompts"]) or state["errors"])
        settled = settled + 1 if finished else 0
        if settled >= 2:
            break
        time.sleep(1.0)
    else:
        pytest.fail(f"{path.name}: not finished after {RUN_TIMEOUT} s; prompts {state['prompts']}")
    return state


def screenshot_whole_notebook(page, target: Path) -> None:
    """A tall screenshot of the whole notebook (the viewport is stretched to the notebook's height)."""
    height = page.evaluate(
        "() => document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')?.scrollHeight"
        " || document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook').scrollHeight"
    )
    page.set_viewport_size({"width": 1400, "height": min(max(int(height) + 200, 1000), 30_000)})
    page.evaluate(
        "() => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')"
        ".forEach(e => { e.scrollTop = 0; })"
    )
    time.sleep(1.0)
    page.screenshot(path=str(target))
    page.set_viewport_size({"width": 1400, "height": 1000})


def check_sliders(page, stem: str) -> list[str]:
    """Move every slider; each must redraw the figure in its widget. Returns the slider labels."""
    sliders = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-slider")
    labels = []
    for i in range(sliders.count()):
        slider = sliders.nth(i)
        label = slider.locator(".widget-label").inner_text().strip()
        labels.append(label)
        widget = slider.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')][1]")
        image = widget.locator(".widget-output img").first
        image.wait_for(timeout=30_000)
        before_src = image.get_attribute("src")
        handle = slider.locator(".noUi-handle").first
        before_value = handle.get_attribute("aria-valuenow")
        at_max = float(before_value) >= float(handle.get_attribute("aria-valuemax"))
        widget.scroll_into_view_if_needed()
        widget.screenshot(path=str(ARTIFACTS / f"{stem}-slider-{label}-before.png"))
        handle.focus()
        handle.press("PageDown" if at_max else "PageUp")  # one move of several steps: one redraw
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            img = widget.locator(".widget-output img")
            if img.count() and img.first.get_attribute("src") not in (None, before_src):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"{stem}: moving slider {label!r} from {before_value} did not change its figure")
        after_value = handle.get_attribute("aria-valuenow")
        assert after_value != before_value, f"{stem}: slider {label!r} did not move"
        time.sleep(1.0)  # the redraw of this one move is complete
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=widget.locator(".widget-output img").first.element_handle()
        )
        widget.screenshot(path=str(ARTIFACTS / f"{stem}-slider-{label}-after.png"))
    return labels


def _figures_in_file(path: Path) -> int | None:
    """The number of PNG figures in the committed notebook; None when it was committed without running it."""
    nb = nbformat.read(path, as_version=4)
    if not any(cell.get("execution_count") for cell in nb.cells if cell.cell_type == "code"):
        return None
    return sum(
        "image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )


def _exercise(page, lab_url: str, path: Path) -> list[str]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    digest = _digest(path)
    try:
        state = run_all(page, lab_url, path)
        if state["errors"]:
            page.screenshot(path=str(ARTIFACTS / f"{path.stem}-error.png"))
        assert not state["errors"], f"{path.name}: error output in the browser: {state['errors']}"
        assert all(re.fullmatch(r"\[\d+\]:", p) for p in state["prompts"]), f"{path.name}: {state['prompts']}"
        figures = page.evaluate(FIGURES_JS)
        assert figures["broken"] == 0, f"{path.name}: {figures['broken']} image(s) did not load"
        assert not figures["asText"], f"{path.name}: figure(s) shown as text, not images: {figures['asText']}"
        assert not figures["widgetErrors"], f"{path.name}: widgets not rendered: {figures['widgetErrors']}"
        assert figures["images"] >= 1, f"{path.name}: no figure was rendered"
        committed = _figures_in_file(path)
        if committed is not None:
            assert figures["outsideWidgets"] == committed, (
                f"{path.name}: {figures['outsideWidgets']} static figures in the browser, {committed} in the committed notebook"
            )
        screenshot_whole_notebook(page, ARTIFACTS / f"{path.stem}.png")
        labels = check_sliders(page, path.stem)
    finally:
        try:
            page.evaluate(SHUTDOWN_JS)
        except Exception:  # noqa: BLE001 - best effort: the server is stopped at the end anyway
            pass
    assert _digest(path) == digest, f"{path.name} was modified by the browser session"
    return labels


def test_first_command_opens_the_course(page, lab_server):
    """./course.sh opens the browser on notebook 00 with a running kernel, and nothing in the way."""
    opener = sorted(lab_server.runtime.glob("jpserver-file-to-run-*-open.html"))
    assert opener, f"jupyter lab wrote no page to open a file in {lab_server.runtime}: was 00_start_here.ipynb passed?"
    url = re.search(r'href="([^"]+)"', opener[0].read_text()).group(1)
    assert url == f"{lab_server.url}/lab/tree/00_start_here.ipynb"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    deadline = time.monotonic() + 90
    while page.evaluate(KERNEL_JS, "00_start_here.ipynb") != "idle":
        assert time.monotonic() < deadline, "the kernel of 00_start_here.ipynb did not start"
        time.sleep(0.5)
    time.sleep(1.0)
    page.screenshot(path=str(ARTIFACTS / "first-command.png"))
    active = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel").first.inner_text()
    assert active == "00_start_here.ipynb"
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").first.inner_text()
    heading = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown h1").first.inner_text()
    assert heading.startswith("00")
    page.evaluate(SHUTDOWN_JS)


GENERIC = [p for p in _selected() if p.name[:2] not in REQUIRED_SLIDERS]


@pytest.mark.parametrize("path", GENERIC, ids=[p.stem for p in GENERIC])
def test_notebook_runs_in_jupyterlab(page, lab_url, path):
    _exercise(page, lab_url, path)


@pytest.mark.parametrize("prefix", sorted(REQUIRED_SLIDERS))
def test_parameter_slider_changes_its_figure(page, lab_url, prefix):
    symbol, pattern = REQUIRED_SLIDERS[prefix]
    matches = [p for p in NOTEBOOKS if p.name.startswith(prefix)]
    if not matches:
        pytest.skip(f"notebook {prefix} does not exist yet: its {symbol} slider is checked once it does")
    labels = _exercise(page, lab_url, matches[0])
    assert any(re.match(pattern, label, re.IGNORECASE) for label in labels), (
        f"{matches[0].name}: expected a {symbol} slider (pe.interactive.slider with a parameter named like "
        f"{pattern!r}), found sliders {labels}"
    )


# -- the student copy: typing answers into an exercise cell ---------------------------------------

GAE_WRONG = """def gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    advantages, running = torch.zeros_like(rewards), torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + gamma * (~terminated[t]).to(rewards.dtype) * next_values[t] - values[t]
        running = delta + gamma * lam * running
        advantages[t] = running
    return advantages


pe.exercises.gae.check(gae)"""

GAE_RIGHT = GAE_WRONG.replace(
    "running = delta + gamma * lam * running",
    "running = delta + gamma * lam * (~(terminated[t] | truncated[t])).to(rewards.dtype) * running",
)


def _type_into_cell(page, cell, code: str) -> str:
    """Replace the cell's code by ``code`` (as a learner would paste it), run it, return its output text."""
    editor = cell.locator(".cm-content").first
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(code)
    before = cell.locator(".jp-InputPrompt").inner_text().strip()
    page.keyboard.press("Shift+Enter")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        prompt = cell.locator(".jp-InputPrompt").inner_text().strip()
        if re.fullmatch(r"\[\d+\]:", prompt) and prompt != before and cell.locator(".jp-OutputArea-output").count():
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the edited cell did not run: prompt {cell.locator('.jp-InputPrompt').inner_text()!r}")
    return cell.locator(".jp-OutputArea").inner_text()


def test_student_copy_names_a_typed_mistake_and_passes_the_fix(page, lab_url):
    """In the student copy of 07: a λ-sum without the done mask is named, the fixed one passes."""
    from ppo_edu import classroom

    folder = ROOT / "notebooks" / "_student_browser_test"  # inside the server's root; removed at the end
    try:
        classroom.write_student_set(ROOT / "notebooks", folder, only=["07"])
        (student,) = sorted(folder.glob("07_*.ipynb"))
        relative = f"{folder.name}/{student.name}"
        page.goto(f"{lab_url}/lab/tree/{relative}?reset")
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
        _wait_kernel_ready(page, student.name, 90)
        _menu(page, "Run", "Run All Cells")
        cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
        exercise = cells.filter(has_text="def gae(").first
        exercise.scroll_into_view_if_needed()
        deadline = time.monotonic() + RUN_TIMEOUT
        while "not attempted" not in exercise.locator(".jp-OutputArea").inner_text():
            assert time.monotonic() < deadline, "the blank exercise never said 'not attempted'"
            time.sleep(1.0)
        wrong = _type_into_cell(page, exercise, GAE_WRONG)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        exercise.screenshot(path=str(ARTIFACTS / "07-student-wrong-answer.png"))
        mistake = next(m for m in pe_exercises().gae.mistakes if m.name == "missing_done_mask")
        assert "gae: failed" in wrong and mistake.message[:60] in wrong, wrong
        assert "\n  case:" in wrong or "case:" in wrong
        right = _type_into_cell(page, exercise, GAE_RIGHT)
        exercise.screenshot(path=str(ARTIFACTS / "07-student-right-answer.png"))
        assert "gae: passed" in right, right
    finally:
        try:
            page.evaluate(SHUTDOWN_JS)
        except Exception:  # noqa: BLE001 - best effort: the server is stopped at the end anyway
            pass
        shutil.rmtree(folder, ignore_errors=True)


def pe_exercises():
    import ppo_edu as pe

    return pe.exercises
