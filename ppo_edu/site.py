"""The course as a static website: ``python -m ppo_edu site --out DIR``.

The pages *are* the committed, executed notebooks (``notebooks/*.ipynb``, sorted by name,
never re-executed); the home page is made from ``README.md``. Built with Sphinx, myst-nb
(reads notebooks with their stored outputs) and sphinx-book-theme (the Jupyter Book look:
course order in the sidebar, previous/next at the foot of each page). MathJax 2.7 and its
STIX-Web fonts come from the ``jupyter-server-mathjax`` package and are copied into the site,
so that no page fetches anything from the network.

Before Sphinx sees a notebook, :func:`page_notebook` changes a copy of it:

* a "Run it yourself" box after the title: the README's two commands and a download link
  to the notebook file;
* each exercise cell is shown as the learner gets it (solution replaced by
  ``raise NotImplementedError``, no output), followed by the solved cell and its check
  folded under "Show the solution"; the output of ``solution()`` and ``hint()`` calls is
  folded too;
* a slider cell keeps its code, loses its widget's text repr, and gets a note saying that
  the static figure above stands in for it and that the live slider is in JupyterLab.

Display maths with both ``\\tag`` and ``\\\\`` is kept out of Sphinx's ``split`` wrapper (this
module is also the Sphinx extension that does it), and a little CSS keeps MathJax from asking
for TeX web fonts that the bundle does not have.

The builder lives in the ``site`` extra (``pip install -e ".[site]"``); the rest of the
module (everything but :func:`build`) needs only nbformat, so it is tested without Sphinx.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .classroom import BEGIN, END, _blank_solutions, is_demo

ROOT = Path(__file__).resolve().parents[1]
#: import name → the distribution that provides it (all in the ``site`` extra).
SITE_PACKAGES = {
    "sphinx": "sphinx",
    "myst_nb": "myst-nb",
    "sphinx_book_theme": "sphinx-book-theme",
    "jupyter_server_mathjax": "jupyter-server-mathjax",
}
INSTALL_HINT = '.venv/bin/python -m pip install -e ".[site]"'
#: The README's two commands, shown on every page.
RUN_COMMANDS = ("./course.sh", ".venv/bin/python -m pytest")
#: README sections (``## ...`` headings, matched by their start) that make the home page, in this order.
HOME_SECTIONS = ("The course", "Two commands", "Benchmark")
#: Cell tags that myst-nb folds (``<details>``), and the tag on the cells this module adds.
TAG_FOLD_CELL, TAG_FOLD_OUTPUT, TAG_ADDED = "hide-cell", "hide-output", "ppo-edu-site"
SLIDER_CALL = re.compile(r"\binteractive\.slider\(")
_SLIDER_PARAM = re.compile(r"(\w+)\s*=\s*\(\s*([-\d.e]+)\s*,\s*([-\d.e]+)\s*,\s*([-\d.e]+)\s*,\s*([-\d.e]+)\s*\)")
_MD_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full"


def missing_site_packages() -> list[str]:
    """The distributions of the ``site`` extra that are not importable here (empty when all are)."""
    return [dist for module, dist in SITE_PACKAGES.items() if importlib.util.find_spec(module) is None]


def course_notebooks(src: str | os.PathLike = ROOT / "notebooks") -> list[Path]:
    """Every ``*.ipynb`` directly in ``src``, sorted by name: the course order, and the site's pages."""
    src = Path(src)
    if not src.is_dir():
        raise ValueError(f"notebooks folder: expected a folder of notebooks, got {str(src)!r}")
    pages = sorted(p for p in src.glob("*.ipynb") if p.is_file())
    if not pages:
        raise ValueError(f"notebooks folder: expected *.ipynb files in {str(src)!r}, found none")
    return pages


def page_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first ``# `` heading of the notebook's markdown cells, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


# --- notebook → page -------------------------------------------------------------------------


def _added(cell: nbformat.NotebookNode, kind: str, index: int) -> nbformat.NotebookNode:
    cell.id = f"site-{kind}-{index:03d}"
    cell.metadata["tags"] = [TAG_ADDED, f"{TAG_ADDED}-{kind}"]
    return cell


def _fold(cell: nbformat.NotebookNode, tag: str, show: str, hide: str) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)
    cell.metadata["mystnb"] = {"code_prompt_show": show, "code_prompt_hide": hide}


def run_it_yourself(notebook_file: str) -> str:
    """The markdown of the box on every page: the two commands and a download link to ``notebook_file``."""
    course, tests = RUN_COMMANDS
    return (
        ":::{admonition} Run it yourself\n"
        ":class: tip\n"
        "This page shows the notebook with the outputs it had when it was last built; nothing runs here.\n"
        "To run it, change it and move its sliders, clone the repository, then\n\n"
        f"* `{course}` sets up the course and opens it in JupyterLab;\n"
        f"* `{tests}` runs every test, every notebook included.\n\n"
        f"The notebook file: {{download}}`{Path(notebook_file).name} <{notebook_file}>`.\n"
        ":::"
    )


def slider_note(source: str) -> str:
    """The note that stands in for a slider cell's live widget (parameters read from its call)."""
    params = _SLIDER_PARAM.findall(source)
    if params:
        ranges = "; ".join(f"`{n}` from {lo} to {hi} in steps of {step}, starting at {d}" for n, lo, hi, step, d in params)
        what = f"a live slider ({ranges}) that redraws the figure as you move it"
    else:
        what = "a live slider that redraws the figure as you move it"
    return (
        ":::{note}\n"
        f"**Live version in JupyterLab.** In the notebook this cell shows {what}.\n"
        "A static page cannot run code, so the static figure above stands in for it:\n"
        "open the course with `./course.sh` to move the slider.\n"
        ":::"
    )


def is_exercise(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and (BEGIN in cell.source or END in cell.source)


def is_slider(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(SLIDER_CALL.search(cell.source))


def page_notebook(nb: nbformat.NotebookNode, notebook_file: str, name: str = "notebook") -> nbformat.NotebookNode:
    """The copy of ``nb`` that becomes its web page (``nb`` itself is not changed).

    ``notebook_file`` is the page-relative path of the notebook file the page links to.
    Exercise solutions are blanked in a visible copy of the cell and folded in the original;
    ``solution()``/``hint()`` outputs are folded; slider cells get a note instead of the widget.
    """
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    cells: list[nbformat.NotebookNode] = []
    for index, cell in enumerate(nb.cells):
        if is_exercise(cell):
            stub = nbformat.v4.new_code_cell(_blank_solutions(cell.source, f"{name}, cell {index}"))
            cells.append(_added(stub, "exercise", index))
            _fold(cell, TAG_FOLD_CELL, "Show the solution (and its check)", "Hide the solution")
        elif cell.cell_type == "code" and is_demo(cell):  # a classic mistake and the fix the checker names
            _fold(cell, TAG_FOLD_CELL, "Show a classic mistake and what the checker says", "Hide the mistake")
        elif cell.cell_type == "code" and re.search(r"\.solution\(\)", cell.source):
            _fold(cell, TAG_FOLD_OUTPUT, "Show the solution", "Hide the solution")
        elif cell.cell_type == "code" and re.search(r"\.hint\(\)", cell.source):
            _fold(cell, TAG_FOLD_OUTPUT, "Show the hint", "Hide the hint")
        cells.append(cell)
        if is_slider(cell):
            cell.outputs = []  # only the widget's text repr was stored
            cells.append(_added(nbformat.v4.new_markdown_cell(slider_note(cell.source)), "slider", index))
    box = _added(nbformat.v4.new_markdown_cell(run_it_yourself(notebook_file)), "run", 0)
    first = next((i for i, c in enumerate(cells) if c.cell_type == "markdown"), -1)
    cells.insert(first + 1, box)
    nb.cells = cells
    return nb


# --- README → home page ------------------------------------------------------------------------


@dataclass(frozen=True)
class Readme:
    title: str
    intro: str
    sections: dict[str, str]  # heading → body


def split_readme(text: str) -> Readme:
    """The README's ``# `` title, the text before its first ``## ``, and each ``## `` section (fences respected)."""
    title, intro, sections, current, lines = "", [], {}, None, []
    fence = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        if not fence and line.startswith("# ") and not title:
            title = line[2:].strip()
            continue
        if not fence and line.startswith("## "):
            if current is None:
                intro = lines
            else:
                sections[current] = "\n".join(lines).strip()
            current, lines = line[3:].strip(), []
            continue
        lines.append(line)
    if current is None:
        intro = lines
    else:
        sections[current] = "\n".join(lines).strip()
    if not title:
        raise ValueError("README: expected a '# ' title line, found none")
    return Readme(title, "\n".join(intro).strip(), sections)


def rewrite_links(markdown: str, pages: Sequence[str]) -> str:
    """Links to ``notebooks/<page>.ipynb`` become links to that page; other relative links become the path in code.

    Links with a scheme (``https:``, ``mailto:``) and in-page anchors are kept.
    """
    known = set(pages)

    def one(match: re.Match) -> str:
        text, target = match.group(1), match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return match.group(0)
        path = target.split("#")[0]
        stem = Path(path).stem
        if path.endswith(".ipynb") and stem in known:
            return f"{{doc}}`{text} <{stem}>`"
        return f"{text} (`{target}` in the repository)" if text.strip("`") != target else f"`{target}`"

    out, fence = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        out.append(line if fence else _MD_LINK.sub(one, line))
    return "\n".join(out)


def home_markdown(readme_text: str, pages: Sequence[tuple[str, str]]) -> str:
    """The home page (MyST markdown) from the README: title, intro, :data:`HOME_SECTIONS`, and the course's toctree.

    ``pages`` are ``(docname, title)`` in course order; every one is in the navigation,
    whether the README's table lists it or not.
    """
    readme = split_readme(readme_text)
    names = [doc for doc, _ in pages]
    parts = [f"# {readme.title}", rewrite_links(readme.intro, names)]
    for wanted in HOME_SECTIONS:
        heading = next((h for h in readme.sections if h.startswith(wanted)), None)
        if heading is None:
            raise ValueError(f"README: expected a '## {wanted}...' section for the home page, found {list(readme.sections)}")
        parts += [f"## {heading}", rewrite_links(readme.sections[heading], names)]
    parts.append("## Pages\n\n" + "\n".join(f"{i}. {{doc}}`{title} <{doc}>`" for i, (doc, title) in enumerate(pages, 1)))
    toctree = "\n".join(names)
    parts.append(f"```{{toctree}}\n:hidden:\n:caption: The course\n\n{toctree}\n```")
    return "\n\n".join(parts) + "\n"


# --- the build (needs the site extra) ----------------------------------------------------------

CONF = """\
# Written by ppo_edu.site for one build; not a file to edit.
project = {project!r}
author = "the ppo_edu course"
html_title = {title!r}
extensions = ["myst_nb", "ppo_edu.site"]
nb_execution_mode = "off"  # the committed outputs are the pages
nb_ipywidgets_js = {{}}  # no widget state is stored; never load widget JavaScript
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
exclude_patterns = ["files/**", "_static/**"]
suppress_warnings = ["myst.header"]  # a notebook's heading levels are its authors' choice
html_theme = "sphinx_book_theme"
html_theme_options = {{
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
}}
html_context = {{"default_mode": "light"}}  # figures are drawn on white
html_static_path = ["_static"]
html_css_files = ["ppo_edu_site.css"]
html_favicon = "_static/favicon.svg"  # a local icon, so browsers do not ask for /favicon.ico
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
# MathJax 2.7 from the jupyter-server-mathjax package, copied into _static/mathjax after the build.
mathjax_path = "mathjax/MathJax.js?config={mathjax_config}"
mathjax2_config = {{
    "tex2jax": {{"inlineMath": [["\\\\(", "\\\\)"]], "displayMath": [["\\\\[", "\\\\]"]],
                "processEscapes": True, "processClass": "math|output_area", "ignoreClass": "document"}},
    "HTML-CSS": {{"availableFonts": [], "webFont": "STIX-Web", "imageFont": None, "preferredFont": None,
                 "linebreaks": {{"automatic": True}},
                 # MathJax's fallback font points at url('about:blank'), which Chromium reports as a
                 # blocked cross-origin load on every page; a local() font loads nothing.
                 "styles": {{"@font-face": {{"font-family": "MathJax_Blank", "src": "local('MathJax_Blank')"}}}}}},
    "SVG": {{"font": "STIX-Web"}},
    "menuSettings": {{"zoom": "None"}},
    "showMathMenu": False,
    "messageStyle": "none",
}}
"""


def _unsplit_tagged_maths(app, doctree) -> None:
    """Display maths with both ``\\tag`` and a line break: emit it as ``\\[ … \\]`` as written.

    Sphinx wraps display maths that contains ``\\\\`` in ``\\begin{split}``, where MathJax refuses
    ``\\tag`` (e.g. a ``cases`` block with its equation number).
    """
    from docutils import nodes

    for node in doctree.findall(nodes.math_block):
        text = node.astext()
        if "\\tag" in text and "\\\\" in text and not node.get("nowrap"):
            node["nowrap"] = True
            node.children = [nodes.Text(f"\\[{text}\\]")]


def setup(app) -> dict:
    """Sphinx extension hook (conf.py lists ``ppo_edu.site``): the maths fix above."""
    app.connect("doctree-read", _unsplit_tagged_maths)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


#: Extra CSS. MathJax puts hidden MathML for screen readers in each formula, and its (unused) NativeMML
#: output styles give ``mathvariant`` elements the TeX web fonts, which jupyter-server-mathjax does
#: not ship (only STIX-Web): the browser would request them and get a 404. Hidden text needs no web font.
SITE_CSS = """.MJX_Assistive_MathML, .MJX_Assistive_MathML * { font-family: serif !important; }
"""


#: The file that marks a folder as a site built here: only such a folder (or an empty one) is replaced.
MARKER = ".ppo_edu_site"


def check_out_dir(out: str | os.PathLike, src: str | os.PathLike) -> Path:
    """``out`` resolved, when the build may replace it: new, empty, or a site built before (it has :data:`MARKER`)."""
    out, src = Path(out).resolve(), Path(src).resolve()
    if out == src or src.is_relative_to(out) or out.is_relative_to(src):
        raise ValueError(f"--out: expected a folder apart from the notebooks in {str(src)!r}, got {str(out)!r}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: expected a folder, got the file {str(out)!r}")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ValueError(
            f"--out: {str(out)!r} exists and is not a site built by this command; the build replaces its folder, "
            "so give a new or empty one"
        )
    return out


FAVICON = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f77b4"/>\
<text x="16" y="23" font-size="20" text-anchor="middle" fill="#fff" font-family="serif">π</text></svg>
"""


def build(out: str | os.PathLike, src: str | os.PathLike | None = None, readme: str | os.PathLike | None = None,
          quiet: bool = True) -> dict:  # fmt: skip
    """Build the site into ``out`` (replaced); returns ``{"pages", "seconds", "index", "warnings"}``.

    ``src``: folder of the notebooks (default: the course's), ``readme``: the home page's source.
    Raises RuntimeError naming what to install when the site extra is missing.
    """
    missing = missing_site_packages()
    if missing:
        raise RuntimeError(f"the site builder needs {', '.join(missing)} (the site extra): {INSTALL_HINT}")
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    src = Path(src) if src is not None else ROOT / "notebooks"
    readme = Path(readme) if readme is not None else ROOT / "README.md"
    out = check_out_dir(out, src)
    start = time.perf_counter()
    notebooks = course_notebooks(src)
    with tempfile.TemporaryDirectory(prefix="ppo_edu_site_") as tmp:
        srcdir, outdir, doctrees = Path(tmp, "src"), Path(tmp, "html"), Path(tmp, "doctrees")
        (srcdir / "files").mkdir(parents=True)
        (srcdir / "_static").mkdir()
        (srcdir / "_static" / "ppo_edu_site.css").write_text(SITE_CSS, encoding="utf-8")
        (srcdir / "_static" / "favicon.svg").write_text(FAVICON, encoding="utf-8")
        pages = []
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            shutil.copy(path, srcdir / "files" / path.name)
            page = page_notebook(nb, f"files/{path.name}", path.stem)
            nbformat.write(page, srcdir / path.name)
            pages.append((path.stem, page_title(nb, path.stem)))
        readme_text = readme.read_text(encoding="utf-8")
        title = split_readme(readme_text).title
        (srcdir / "index.md").write_text(home_markdown(readme_text, pages), encoding="utf-8")
        (srcdir / "conf.py").write_text(
            CONF.format(project=title, title=title.split("—")[-1].strip() or title, mathjax_config=MATHJAX_CONFIG),
            encoding="utf-8",
        )
        log = io.StringIO()
        with docutils_namespace(), warnings.catch_warnings():
            # The theme's use of APIs that Sphinx will remove is for its maintainers, not for this build's reader.
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            app = Sphinx(str(srcdir), str(srcdir), str(outdir), str(doctrees), "html", status=None if quiet else sys.stdout,
                         warning=log, freshenv=True, keep_going=True)  # fmt: skip
            app.build()
        if app.statuscode:
            raise RuntimeError(f"sphinx failed (status {app.statuscode}):\n{log.getvalue()}")
        import jupyter_server_mathjax

        shutil.copytree(Path(jupyter_server_mathjax.__file__).parent / "static", outdir / "_static" / "mathjax")
        (outdir / MARKER).write_text("built by python -m ppo_edu site; the folder is replaced by the next build\n")
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(outdir, out)
    return {"pages": [doc for doc, _ in pages], "seconds": time.perf_counter() - start, "index": out / "index.html",
            "warnings": [w for w in log.getvalue().splitlines() if w.strip()]}  # fmt: skip
