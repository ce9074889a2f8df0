"""Build the course notebooks from their sources and execute them.

Sources are jupytext "percent" scripts in ``notebooks/src/NN_name.py`` (readable diffs,
easy review); the learner-facing ``notebooks/NN_name.ipynb`` is generated from them and
committed with its outputs.

    python tools/nb.py build                 # every source → .ipynb, executed (full budget)
    python tools/nb.py build 05 07           # only notebooks whose name starts with 05 or 07
    python tools/nb.py build --no-execute 05 # write cells only (fast, outputs empty)

Executing uses the kernel of this environment, in ``notebooks/`` as working directory,
without ``PPO_EDU_QUICK`` (so the committed outputs are the full setting). Metadata noise
(timings, widget state, kernel versions) is stripped; execution counts are kept, which
nbval needs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "notebooks" / "src"
OUT = ROOT / "notebooks"
KEEP_NB_METADATA = {"kernelspec", "language_info"}


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip run-to-run noise so that rebuilding an unchanged notebook changes nothing."""
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_NB_METADATA}
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in {"tags"}}
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                out.get("metadata", {}).pop("execution", None)
                if "data" in out:
                    out["data"].pop("application/vnd.jupyter.widget-view+json", None)
    return nb


def load_source(path: Path) -> nbformat.NotebookNode:
    nb = jupytext.read(path, fmt="py:percent")
    return nbformat.v4.upgrade(nb) if nb.nbformat < 4 else nb


def build(path: Path, execute: bool = True, timeout: int = 900) -> Path:
    nb = load_source(path)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    if execute:
        env_quick = os.environ.pop("PPO_EDU_QUICK", None)
        try:
            NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(OUT)}},
                           record_timing=False).execute()
        finally:
            if env_quick is not None:
                os.environ["PPO_EDU_QUICK"] = env_quick
    target = OUT / f"{path.stem}.ipynb"
    nbformat.write(clean(nb), target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("prefixes", nargs="*", help="notebook name prefixes (default: all)")
    b.add_argument("--no-execute", action="store_true")
    args = parser.parse_args(argv)
    sources = sorted(SRC.glob("[0-9][0-9]_*.py"))
    if args.prefixes:
        sources = [s for s in sources if any(s.stem.startswith(p) for p in args.prefixes)]
    if not sources:
        print("no matching sources", file=sys.stderr)
        return 1
    for src in sources:
        t0 = time.perf_counter()
        target = build(src, execute=not args.no_execute)
        print(f"{target.relative_to(ROOT)}  ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
