"""ppo_edu: the small, tested package behind the PPO course.

Every concept of the course lives in its own module, named for it, and the notebooks call
them module-qualified so learners see where each idea lives::

    import ppo_edu as pe
    pe.advantages.gae(...)
    pe.losses.clipped_surrogate_loss(...)

Submodules are imported lazily on first attribute access, so ``import ppo_edu`` is cheap and
``pe.<module>`` always works for every module of the package.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .runtime import get_device, seed_everything

__version__ = "0.1.0"

__all__ = ["__version__", "get_device", "seed_everything"]


def __getattr__(name: str) -> ModuleType:
    """Import ``ppo_edu.<name>`` on first use (PEP 562)."""
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            raise AttributeError(f"module 'ppo_edu' has no attribute or submodule {name!r}") from None
        raise
    globals()[name] = module
    return module
