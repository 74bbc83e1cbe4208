"""Where tensors live and which kernel module computes on them.

Only the CPU is available in this release. `nk.device(name)` (and `NBKERAS_DEVICE`) picks the
device; ops find their kernel module from the device, never with per-op branches.
"""
from __future__ import annotations

import contextlib
import importlib
import os
from types import ModuleType

_AVAILABLE = ("cpu",)
_stack = [os.environ.get("NBKERAS_DEVICE", "cpu")]


def _check(name: str) -> str:
    if name not in _AVAILABLE:
        raise ValueError(f"device: name must be one of {_AVAILABLE} (the CUDA kernels are not "
                         f"part of this release); received {name!r}")
    return name


def current_device() -> str:
    return _check(_stack[-1])


@contextlib.contextmanager
def device(name: str):
    """Run the ops in this block on device `name` ('cpu')."""
    _stack.append(_check(name))
    try:
        yield
    finally:
        _stack.pop()


def kernels_for(device_name: str) -> ModuleType:
    """The kernel module of a device: `nbkeras.kernels.cpu` for 'cpu' (imported on first use)."""
    return importlib.import_module(f"nbkeras.kernels.{_check(device_name)}")
