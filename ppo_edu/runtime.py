"""Seeding, device selection and an environment report (what notebook 00 shows)."""

from __future__ import annotations

import os
import platform
import random
from importlib import metadata

import numpy as np
import torch

from .validate import check_int

_KNOWN_DEVICE_TYPES = ("cpu", "cuda", "mps")


def seed_everything(seed: int, deterministic: bool = False) -> torch.Generator:
    """Seed Python's ``random``, NumPy and torch (CPU and CUDA) with one integer.

    With ``deterministic=True`` torch is also asked for deterministic kernels, which
    matters on the GPU; on the CPU the course's code is already deterministic for a seed.
    Returns a CPU ``torch.Generator`` seeded the same way, for code that wants its own stream.
    """
    seed = check_int("seed", seed, minimum=0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    return torch.Generator().manual_seed(seed)


def get_device(device: str | torch.device | None = "auto") -> torch.device:
    """Resolve a device request: ``"auto"``/``None`` → cuda if present, else cpu.

    ``"cpu"``, ``"cuda"``, ``"cuda:1"`` and ``"mps"`` are accepted when they exist on this
    machine; an unknown name or a device this machine lacks raises ``ValueError``.
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device: expected 'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps', got {device!r}") from None
    if dev.type not in _KNOWN_DEVICE_TYPES:
        raise ValueError(f"device: expected 'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps', got {device!r}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device: {device!r} was requested but this machine has no CUDA GPU (or torch is a CPU build)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device: {device!r} was requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError("device: 'mps' was requested but Apple's MPS backend is not available here")
    return dev


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment_report() -> dict[str, str]:
    """Versions of the course's dependencies and the compute device, as ``{name: value}``."""
    report = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "ppo_edu": _version("ppo_edu"),
        "torch": torch.__version__,
        "torch build": f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU only",
    }
    for dist in ("gymnasium", "numpy", "matplotlib", "sympy", "ipywidgets"):
        report[dist] = _version(dist)
    device = get_device("auto")
    report["device"] = str(device)
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name(device)
    return report


QUICK_ENV = "PPO_EDU_QUICK"


def quick_mode() -> bool:
    """True when ``PPO_EDU_QUICK`` is set (the test suite sets it): notebooks use their small CI budget."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def budget(full, quick):
    """``full`` normally, ``quick`` under the test suite: ``n_runs = pe.runtime.budget(1000, 50)``."""
    return quick if quick_mode() else full
