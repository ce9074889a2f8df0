"""The course as a website (``python -m ppo_edu site``), built and opened in headless Chromium.

The site is built once for this module from the committed notebooks into a temporary folder,
served on 127.0.0.1, and every page is opened: no console error, no request leaves
127.0.0.1, every image loaded, the maths typeset (MathJax ran, no raw ``$$``/``\\(`` in the
visible text, no MathJax error), every internal link and anchor resolves; a one-page site checks
inline maths, ``\\tag`` with line breaks and AMS symbols. The navigation
(sidebar, and "next" from the home page) reaches every notebook in course order; exercise
solutions are folded until opened; slider cells say where the live version is.
Screenshots of three pages go to ``artifacts/site/``.

Needs the site extra (``pip install -e ".[site]"``) and Debian's chromium; without them the
tests are skipped with the reason, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import urllib.parse
from pathlib import Path

import nbformat
import pytest

from ppo_edu import site

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "site"
NOTEBOOKS = site.course_notebooks(ROOT / "notebooks")
PAGES = ["index", *(p.stem for p in NOTEBOOKS)]
SCREENSHOTS = ("index", "00_start_here", "05_ppo_clip")
PAGE_TIMEOUT_MS = 60_000


def _missing(reason: str):
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"the site tests must run in CI, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    missing = site.missing_site_packages()
    if missing:
        _missing(f"the site extra is not installed (missing {', '.join(missing)}): {site.INSTALL_HINT}")
    out = tmp_path_factory.mktemp("site") / "html"
    result = site.build(out)
    print(f"\nsite: {len(result['pages'])} notebook pages built in {result['seconds']:.1f} s")
    return out, result


@pytest.fixture(scope="module")
def site_url(built_site):
    folder, _ = built_site
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture
def site_page(chromium_browser, site_url):
    """A page whose console errors, page errors and requests off 127.0.0.1 are recorded (the latter aborted)."""
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.problems = []

    def route(r):
        if urllib.parse.urlsplit(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            page.problems.append(f"request off the machine: {r.request.url}")
            r.abort()

    context.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url} ({r.failure})"))
    yield page
    context.close()


def _open(page, url: str) -> None:
    page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
    _settle(page)


def _settle(page) -> None:
    """Wait until MathJax 2 (on the pages with maths; it loads itself asynchronously) has typeset the page."""
    if not page.query_selector("script[src*='mathjax/MathJax.js']"):
        return
    page.wait_for_function("() => window.MathJax && window.MathJax.Hub && window.MathJax.isReady", timeout=PAGE_TIMEOUT_MS)
    page.evaluate("() => new Promise(resolve => window.MathJax.Hub.Queue(resolve))")
    page.evaluate("() => document.fonts.ready.then(() => true)")  # the web fonts the typeset maths asked for
    page.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)


PAGE_STATE_JS = r"""() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const images = [...article.querySelectorAll('img')];
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, script, .highlight, details:not([open])').forEach(e => e.remove());
  document.body.appendChild(clone);  // innerText needs a rendered element
  clone.style.position = 'absolute'; clone.style.left = '-99999px';
  const text = clone.innerText;
  clone.remove();
  return {
    images: images.map(img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0})),
    mathSources: document.querySelectorAll('script[type^="math/tex"]').length,
    mathRendered: document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_SVG, .MathJax_CHTML').length,
    mathErrors: [...document.querySelectorAll('.MathJax_Error, merror, .mjx-merror')].map(e => e.textContent),
    text,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  };
}"""

RAW_MATH = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$")


def _link_problems(folder: Path, site_url: str, links: list[str]) -> list[str]:
    problems = []
    for link in links:
        if not link.startswith(site_url):
            continue  # an external link is allowed (never fetched by the page); none is expected
        parts = urllib.parse.urlsplit(link)
        path = urllib.parse.unquote(parts.path).lstrip("/") or "index.html"
        target = folder / path
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"broken link {link}")
        elif parts.fragment and target.suffix == ".html":
            fragment = urllib.parse.unquote(parts.fragment)
            if f'id="{fragment}"' not in target.read_text(encoding="utf-8"):
                problems.append(f"broken anchor {link}")
    return problems


EXTERNAL_HTML = re.compile(
    r"""<(?:script|link|img|iframe|source|video|audio|object)\b[^>]*\b(?:src|href|data)=["'](?:https?:)?//""", re.I
)
EXTERNAL_CSS = re.compile(r"""(?:url\(\s*["']?|@import\s+["'])(?:https?:)?//""", re.I)


def test_build_has_every_notebook_no_warning_and_no_network_resource(built_site):
    folder, result = built_site
    assert result["pages"] == [p.stem for p in NOTEBOOKS]
    assert not result["warnings"], "\n".join(result["warnings"])
    assert sorted(p.stem for p in folder.glob("*.html")) == sorted([*PAGES, "genindex", "search"])
    offenders = [
        f"{p.relative_to(folder)}: {m.group(0)}"
        for p in folder.rglob("*.html")
        for m in EXTERNAL_HTML.finditer(p.read_text("utf-8"))
    ]
    offenders += [
        f"{p.relative_to(folder)}: {m.group(0)}"
        for p in folder.rglob("*.css")
        for m in EXTERNAL_CSS.finditer(p.read_text("utf-8"))
    ]
    assert not offenders, "resources from the network:\n" + "\n".join(offenders)
    assert (folder / "_static" / "mathjax" / "MathJax.js").is_file(), "MathJax is bundled"
    assert list((folder / "_static" / "mathjax" / "fonts").rglob("*.woff")), "its fonts too"


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_offline_with_maths_images_and_links(site_page, site_url, built_site, name):
    folder, _ = built_site
    _open(site_page, f"{site_url}/{name}.html")
    state = site_page.evaluate(PAGE_STATE_JS)
    problems = list(site_page.problems)
    problems += [f"image not loaded: {i['src']}" for i in state["images"] if not i["ok"]]
    problems += [f"MathJax error: {e}" for e in state["mathErrors"]]
    if state["mathSources"] and not state["mathRendered"]:
        problems.append(f"{state['mathSources']} maths found but none typeset")
    problems += [f"raw maths in the visible text: ...{state['text'][max(0, m.start() - 60) : m.end() + 60]!r}..."
                 for m in RAW_MATH.finditer(state["text"])]  # fmt: skip
    problems += _link_problems(folder, site_url, state["links"])
    if name in SCREENSHOTS:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        site_page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)
        site_page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)
    assert not problems, f"{name}.html:\n" + "\n".join(problems)
    if name != "index":
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        figures = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        assert len(state["images"]) >= figures, (
            f"{name}.html shows {len(state['images'])} images, the notebook has {figures} figures"
        )


def test_navigation_reaches_every_notebook_in_course_order(site_page, site_url):
    site_page.route("**/_static/mathjax/**", lambda r: r.abort())  # only links matter here: skip typesetting
    site_page.goto(f"{site_url}/index.html", wait_until="domcontentloaded")
    sidebar = site_page.eval_on_selector_all("nav.bd-docs-nav a.reference.internal", "as => as.map(a => a.getAttribute('href'))")
    stems = [Path(urllib.parse.urlsplit(h).path).stem or "index" for h in sidebar]
    assert [s for s in stems if s != "index"] == PAGES[1:], f"sidebar order {stems}"
    visited = ["index"]
    while True:
        nxt = site_page.query_selector("a.right-next")
        if nxt is None:
            break
        nxt.click()
        site_page.wait_for_load_state("domcontentloaded")
        visited.append(Path(urllib.parse.urlsplit(site_page.url).path).stem)
        assert len(visited) <= len(PAGES) + 1, f"'next' does not end: {visited}"
    assert visited == PAGES, f"'next' from the home page visits {visited}"
    # No check of site_page.problems here: leaving a page before MathJax is done aborts its requests
    # (the per-page test waits for MathJax and checks every page).


def test_home_page_is_the_readme_story(site_page, site_url):
    _open(site_page, f"{site_url}/index.html")
    text = site_page.inner_text("article.bd-article")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    benchmark_row = next(line for line in readme.splitlines() if line.startswith("| SB3"))
    assert benchmark_row.split("|")[2].strip() in text  # the SB3 row of the benchmark table
    for stem in PAGES[1:]:
        if f"notebooks/{stem}.ipynb" in readme:
            assert site_page.query_selector(f"article a[href^='{stem}.html']"), f"home page has no link to {stem}"
    assert "./course.sh" in text and ".venv/bin/python -m pytest" in text


VISIBLE_JS = """line => [...document.querySelectorAll('article.bd-article pre')]
  .filter(pre => pre.textContent.includes(line)).map(pre => pre.checkVisibility())"""


def test_solutions_are_folded_and_sliders_point_to_jupyterlab(site_page, site_url):
    _open(site_page, f"{site_url}/05_ppo_clip.html")
    solution_line = "ratio = torch.exp(logp_new - logp_old.detach())"  # only in the solution
    shown = site_page.evaluate(VISIBLE_JS, solution_line)  # the solution, and a classic mistake built on it
    assert shown and not any(shown), "the solution is on the page, folded"
    stub = site_page.evaluate(VISIBLE_JS, "raise NotImplementedError")
    assert stub and all(stub), "the exercise cell is shown as the learner gets it"
    site_page.locator("details summary", has_text="Show the solution").first.click()
    assert site_page.evaluate(VISIBLE_JS, solution_line)[0], "opening the fold shows the solution"
    text = site_page.inner_text("article.bd-article")
    assert "Live version in JupyterLab" in text and "starting at 0.2" in text
    assert "Run it yourself" in text
    assert not site_page.problems, site_page.problems


MINI_MARKDOWN = r"""# 00 · Maths test

Inline: the ratio $\rho_t(\theta) = \pi_\theta(a_t \mid s_t) / \pi_{\theta_\text{old}}(a_t \mid s_t)$ and $\hat A_t$.

$$\beta \leftarrow \begin{cases} 2\beta & d > 1.5\, d_\text{targ} \\ \beta & \text{otherwise.}\end{cases} \tag{0.1}$$

$$\mathbb{E}_t\big[\min(\rho_t \hat A_t, \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon) \hat A_t)\big] \tag{0.2}$$
"""


@pytest.fixture(scope="module")
def maths_site(tmp_path_factory, built_site):
    """A one-notebook site whose page has inline maths, ``\\tag`` with line breaks and AMS symbols."""
    src = tmp_path_factory.mktemp("maths_nb")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(MINI_MARKDOWN)])
    nbformat.write(nb, src / "00_maths.ipynb")
    out = tmp_path_factory.mktemp("maths_site") / "html"
    result = site.build(out, src=src)
    assert not result["warnings"], result["warnings"]
    return out


def test_inline_and_display_maths_are_typeset(site_page, maths_site, site_url, built_site):
    """The course's notebooks may not use every kind of maths yet: a small site that does, in the browser."""
    # Served by the module's server: the small site is copied under the big one's folder (last test here).
    folder, _ = built_site
    shutil.copytree(maths_site, folder / "maths-check", dirs_exist_ok=True)
    _open(site_page, f"{site_url}/maths-check/00_maths.html")
    state = site_page.evaluate(PAGE_STATE_JS)
    inline = site_page.eval_on_selector_all("span.math .MathJax", "els => els.length")
    display = site_page.eval_on_selector_all("div.math .MathJax_Display", "els => els.length")
    assert inline == 2 and display == 2, f"typeset {inline} inline and {display} display formulas, expected 2 and 2"
    assert not state["mathErrors"], state["mathErrors"]
    assert not RAW_MATH.search(state["text"]), state["text"]
    assert "(0.1)" in state["text"] and "(0.2)" in state["text"]
    assert not site_page.problems, site_page.problems
