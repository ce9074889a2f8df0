"""Input validation shared by every module: clear ``ValueError`` s, never silent wrong answers.

Each helper names the argument, says what was expected and shows what came.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

Tensor = torch.Tensor

# Whether check_finite looks at the values. Reading them costs a device → host sync per call, so
# the trainer switches it off in its hot path (:func:`trusted`) and checks once per iteration.
_CHECK_VALUES = contextvars.ContextVar("ppo_edu_check_values", default=True)


@contextlib.contextmanager
def trusted() -> Iterator[None]:
    """Inside this block :func:`check_finite` skips its NaN/inf scan (shapes are still checked).

    For code that validated its inputs once and checks its outputs itself, such as
    :class:`ppo_edu.train.Trainer`: every scan is a device → host synchronisation, and a
    minibatch would otherwise pay about ten of them.
    """
    token = _CHECK_VALUES.set(False)
    try:
        yield
    finally:
        _CHECK_VALUES.reset(token)


def as_tensor(name: str, x: Any, dtype: torch.dtype | None = None) -> Tensor:
    """Convert ``x`` (tensor, NumPy array, list, number) to a tensor, keeping tensors as they are.

    A tensor keeps its device and autograd graph; other inputs become ``dtype``
    (default float32) on the CPU.
    """
    if isinstance(x, torch.Tensor):
        return x if dtype is None or x.dtype == dtype else x.to(dtype)
    try:
        return torch.as_tensor(x, dtype=dtype or torch.float32)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{name}: expected a tensor or array of numbers, got {type(x).__name__} ({exc})") from None


def as_float(name: str, x: Any, like: Tensor | None = None, int_dtype: torch.dtype = torch.float32) -> Tensor:
    """``x`` as a finite floating-point tensor: integers become ``int_dtype``; with ``like``, its device and dtype.

    Raises if any entry is NaN or ±inf (checked after the cast, so an overflow is caught too).
    """
    t = as_tensor(name, x)
    if not t.is_floating_point():
        t = t.to(int_dtype)
    if like is not None:
        t = t.to(device=like.device, dtype=like.dtype)
    return check_finite(name, t)


def values_checked() -> bool:
    """False inside :func:`trusted`: checks that must read tensor values (a host sync) are skipped."""
    return _CHECK_VALUES.get()


def check_finite(name: str, x: Tensor) -> Tensor:
    """Raise if ``x`` holds NaN or ±inf (skipped inside :func:`trusted`)."""
    if x.is_floating_point() and _CHECK_VALUES.get() and not bool(torch.isfinite(x).all()):
        n_nan = int(torch.isnan(x).sum())
        n_inf = int(torch.isinf(x).sum())
        raise ValueError(f"{name}: expected finite values, got {n_nan} NaN and {n_inf} inf of {x.numel()} entries")
    return x


def check_unit_interval(name: str, value: float) -> float:
    """Raise unless ``0 <= value <= 1`` (used for γ and λ)."""
    v = float(value)
    if not (0.0 <= v <= 1.0):  # also rejects NaN
        raise ValueError(f"{name}: expected a number in [0, 1], got {value!r}")
    return v


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """Raise unless ``value`` is an integer ≥ ``minimum`` (bool is not an integer here); NumPy integers pass."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        what = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
        raise ValueError(f"{name}: expected {what}, got {value!r}")
    return int(value)


def check_nonnegative(name: str, value: float) -> float:
    """Raise unless ``value >= 0`` (used for loss weights)."""
    v = float(value)
    if not (v >= 0.0):  # also rejects NaN
        raise ValueError(f"{name}: expected a number >= 0, got {value!r}")
    return v


def check_positive(name: str, value: float) -> float:
    """Raise unless ``value > 0`` (used for ε, learning rates, β targets)."""
    v = float(value)
    if not (v > 0.0):  # also rejects NaN
        raise ValueError(f"{name}: expected a number > 0, got {value!r}")
    return v


def check_ndim(name: str, x: Tensor, allowed: Sequence[int], layout: str) -> Tensor:
    """Raise unless ``x.ndim`` is one of ``allowed``; ``layout`` names the expected shape, e.g. "(T,) or (T, N)"."""
    if x.ndim not in allowed:
        raise ValueError(f"{name}: expected shape {layout}, got shape {tuple(x.shape)}")
    return x


def check_same_shape(reference_name: str, reference: Tensor, **others: Tensor | None) -> None:
    """Raise unless every tensor in ``others`` (``None`` skipped) has the shape of ``reference``."""
    for name, x in others.items():
        if x is not None and tuple(x.shape) != tuple(reference.shape):
            raise ValueError(f"{name}: expected the shape of {reference_name} {tuple(reference.shape)}, got {tuple(x.shape)}")


def as_bool_mask(name: str, x: Any, like: Tensor) -> Tensor:
    """A 0/1 or bool array as a bool tensor on ``like``'s device; anything but 0/1 is an error."""
    t = as_tensor(name, x)
    if t.dtype != torch.bool:
        if not bool(((t == 0) | (t == 1)).all()):
            raise ValueError(f"{name}: expected booleans or 0/1 values, got other values such as {t.flatten()[0].item()!r}")
        t = t != 0
    return t.to(like.device)
