"""Exercises, one module per notebook (``nbNN_*.py``), collected here by name.

In a notebook::

    pe.exercises.discounted_returns.check(my_fn)   # → passed / failed (with why) / not attempted
    pe.exercises.discounted_returns.hint()
    pe.exercises.discounted_returns.solution()     # withheld when PPO_EDU_HIDE_SOLUTIONS=1

Every :class:`Exercise` defined at the top level of an ``nb*`` module is registered under
its ``name``; two exercises with one name are an error.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._core import CheckResult, Exercise, Mistake, solutions_hidden

__all__ = ["CheckResult", "Exercise", "Mistake", "all_exercises", "solutions_hidden"]

_REGISTRY: dict[str, Exercise] = {}


def _collect() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("nb"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Exercise):
                if value.name in _REGISTRY and _REGISTRY[value.name] is not value:
                    raise RuntimeError(f"two exercises are named {value.name!r}")
                _REGISTRY[value.name] = value
                globals()[value.name] = value


def all_exercises() -> dict[str, Exercise]:
    """Every registered exercise, by name."""
    return dict(_REGISTRY)


_collect()
