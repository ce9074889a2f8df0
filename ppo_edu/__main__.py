"""Command line: ``python -m ppo_edu {figures,check-env} ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def command(name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    """Register a sub-command ``name`` whose function takes the parsed args and returns an exit code."""

    def register(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = (help_text, configure, fn)
        return fn

    return register


def _figures_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="figures", help="output folder (default: figures)")
    p.add_argument("--only", nargs="*", help="names of the figures to make (default: all)")
    p.add_argument("--list", action="store_true", help="list the figure names and exit")


@command("figures", "regenerate every course figure into figures/", _figures_args)
def _figures(args: argparse.Namespace) -> int:
    from . import figures

    if args.list:
        print("\n".join(figures.RECIPES))
        return 0
    for path in figures.save_all(args.out, args.only):
        print(f"wrote {path}")
    return 0


@command("check-env", "print versions and the compute device the course will use")
def _check_env(args: argparse.Namespace) -> int:
    from .runtime import environment_report

    report = environment_report()
    width = max(map(len, report))
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    return 0


# --- classroom (student notebooks, instructor tools) ------------------------------------------


# --- training (capstone) -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ppo_edu", description="ppo_edu: the PPO course's tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
