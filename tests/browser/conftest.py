"""Fixtures for the real-browser tests: JupyterLab started by ./course.sh, headless Chromium.

JupyterLab is started exactly as the README's first command starts it, ``./course.sh``, with
extra arguments after ``--``: 127.0.0.1, a free port, no token, no browser, and a private
settings/workspaces folder (cells not windowed, so that every output is in the page; no
autosave, so that the committed notebooks are never written).

Chromium is Debian's (``apt-get install chromium``), driven by Playwright (``pip install
playwright``, in the dev extra) through ``executable_path``: Playwright's own browser download
is not used. ``PPO_EDU_CHROMIUM`` overrides the path. Without Playwright or Chromium these
tests are skipped with the reason, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
SERVER_START_TIMEOUT = 240  # course.sh checks the environment first


def _missing(reason: str):
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"browser tests must run in CI, but {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """``PPO_EDU_CHROMIUM`` when set, else Debian's chromium; None when it is not an executable."""
    if os.environ.get("PPO_EDU_CHROMIUM"):
        candidates = [os.environ["PPO_EDU_CHROMIUM"]]
    else:
        candidates = ["/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_settings(folder: Path) -> None:
    settings = {
        # Every cell stays in the page (JupyterLab 4 otherwise detaches cells scrolled out of view).
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        # Never write the course notebooks.
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, value in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """JupyterLab started through ./course.sh (``.url``, ``.runtime``); stopped (its process group) at the end.

    Module scope, not session: the server, its kernels and Playwright's event loop must be gone
    before the rest of the suite (nbval's kernels, nbclient) runs in this same process.
    """
    if chromium_path() is None:
        _missing("Debian's chromium is not installed (apt-get install chromium, or set PPO_EDU_CHROMIUM)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("playwright is not installed (pip install playwright; it is in the dev extra)")
    tmp = tmp_path_factory.mktemp("lab")
    _lab_settings(tmp / "settings")
    port = _free_port()
    args = [
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        f"--LabApp.user_settings_dir={tmp / 'settings'}",
        f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
    ]
    env = {**os.environ, "PPO_EDU_QUICK": "1", "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}
    log = open(tmp / "lab.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [str(ROOT / "course.sh"), "--", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"./course.sh exited with {proc.returncode}:\n{(tmp / 'lab.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer in {SERVER_START_TIMEOUT} s:\n{(tmp / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield SimpleNamespace(url=url, runtime=tmp / "runtime")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # our own process group: course.sh exec'd jupyter lab
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / "lab.log", ARTIFACTS / "jupyterlab.log")


@pytest.fixture(scope="module")
def lab_url(lab_server):
    return lab_server.url


@pytest.fixture(scope="module")
def browser(lab_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def chromium_browser():
    """Headless Debian chromium without JupyterLab (for the site tests); closed at the end of the module."""
    if chromium_path() is None:
        _missing("Debian's chromium is not installed (apt-get install chromium, or set PPO_EDU_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install playwright; it is in the dev extra)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()
