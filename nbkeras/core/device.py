"""Where tensors live and which kernel module computes on them.

`nk.device("cuda")` / `"cuda:0"` / `"cpu"` (and `NBKERAS_DEVICE`) choose where new tensors
and variables live; ops find their kernel module from their inputs' device, never with
per-op branches. `import nbkeras` never imports `numba.cuda`: the first request for "cuda"
does, after a cheap check (the driver library, or Numba's simulator) that it can work.
"""
from __future__ import annotations

import contextlib
import ctypes
import importlib
import importlib.util
import os
from functools import lru_cache
from types import ModuleType

DEVICES = ("cpu", "cuda")
_stack = [os.environ.get("NBKERAS_DEVICE", "cpu")]


_CANONICAL = {"cpu": "cpu", "cuda": "cuda", "cuda:0": "cuda", "gpu": "cuda", "gpu:0": "cuda"}
_modules: dict[str, ModuleType] = {}     # device name (any spelling) -> its kernel module


def canonical(name: str) -> str:
    """'cpu' or 'cuda' for a device name ('cuda:0' is the one GPU nbkeras uses)."""
    known = _CANONICAL.get(name) or (_CANONICAL.get(name.lower()) if isinstance(name, str)
                                     else None)
    if known is None:
        raise ValueError(f"device: name must be 'cpu', 'cuda' or 'cuda:0'; received {name!r}")
    return known


def current_device() -> str:
    return canonical(_stack[-1])


def scoped_device() -> str | None:
    """The device of the innermost `nk.device(...)` block, None outside any."""
    return canonical(_stack[-1]) if len(_stack) > 1 else None


@contextlib.contextmanager
def device(name: str):
    """New tensors and variables in this block live on device `name` ('cpu', 'cuda')."""
    name = canonical(name)
    if name == "cuda":
        kernels_for(name)              # fails here, clearly, if CUDA cannot work
    _stack.append(name)
    try:
        yield
    finally:
        _stack.pop()


def simulator_requested() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


@lru_cache(maxsize=1)
def _gpu_count() -> int:
    """GPUs the CUDA driver reports (0 without a driver): asks libcuda, not numba.cuda."""
    for library in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            driver = ctypes.CDLL(library)
        except OSError:
            continue
        count = ctypes.c_int(0)
        if driver.cuInit(0) == 0 and driver.cuDeviceGetCount(ctypes.byref(count)) == 0:
            return count.value
        return 0
    return 0


def cuda_unavailable_reason() -> str | None:
    """None when "cuda" can run here (a GPU, or Numba's simulator), else why not."""
    if importlib.util.find_spec("numba_cuda") is None:   # not numba's own deprecated target
        return ("numba-cuda is not installed: pip install 'nbkeras[cuda]' (it runs on an NVIDIA "
                "GPU, or in Numba's simulator with NUMBA_ENABLE_CUDASIM=1 set before Numba is "
                "imported)")
    if simulator_requested() or _gpu_count() > 0:
        return None
    return ("no NVIDIA GPU was found (the CUDA driver reports none). To run the CUDA kernels "
            "in Numba's simulator instead, set NUMBA_ENABLE_CUDASIM=1 before the process "
            "imports Numba")


def kernels_for(device_name: str) -> ModuleType:
    """The kernel module of a device, imported on first use: `nbkeras.kernels.cpu` or
    `nbkeras.kernels.cuda`."""
    module = _modules.get(device_name)    # every op asks: the fast path is one lookup
    if module is None:
        name = canonical(device_name)
        if name == "cuda":
            reason = cuda_unavailable_reason()
            if reason is not None:
                raise RuntimeError(f"device 'cuda' is not available: {reason}")
        module = _modules[device_name] = importlib.import_module(f"nbkeras.kernels.{name}")
    return module
