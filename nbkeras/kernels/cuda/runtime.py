"""The one module that imports `numba.cuda`: device arrays, launch shapes and the kernel
decorator every CUDA kernel file uses.

Without a GPU, Numba's simulator (`NUMBA_ENABLE_CUDASIM=1`, set before Numba is imported)
runs the same kernels one Python thread per CUDA thread, so launches are capped there to a
few blocks of a few threads: grid-stride loops cover the rest.
"""
from __future__ import annotations

import numpy as np
from numba import config as numba_config
from numba import cuda, types

SIMULATOR = bool(numba_config.ENABLE_CUDASIM)
THREADS = 32 if SIMULATOR else 256          # threads per block of the elementwise kernels
MAX_BLOCKS = 2 if SIMULATOR else 8192       # grid-stride loops cover the rest
TILE = 4 if SIMULATOR else 16               # the square tile of the shared-memory kernels

FLOATS = (types.float32, types.float64)     # the dtypes every float kernel is compiled for
KERNELS: list[tuple] = []                   # (python function, its launch signatures)

grid = cuda.grid
gridsize = cuda.gridsize
shared_array = cuda.shared.array
syncthreads = cuda.syncthreads
block_index = cuda.blockIdx
thread_index = cuda.threadIdx
block_size = cuda.blockDim
grid_size = cuda.gridDim
atomic_add = cuda.atomic.add


def kernel(*signatures):
    """`@kernel(signature, ...)`: a `@cuda.jit(cache=True)` kernel, compiled lazily at its
    first launch. `signatures` are the argument types it is launched with (one per dtype);
    the PTX check (tests/cuda_ptx) compiles each of them for real GPUs, since the simulator
    accepts code a GPU compiler rejects."""
    def register(function):
        KERNELS.append((function, signatures))
        return cuda.jit(cache=True)(function)
    return register


def blocks(n: int, threads: int = THREADS) -> int:
    """Blocks of `threads` for `n` grid-stride items (at least one, at most MAX_BLOCKS)."""
    return max(1, min(MAX_BLOCKS, -(-n // threads)))


def is_device_array(a) -> bool:
    """A Numba device array (or the simulator's stand-in for one)."""
    return hasattr(a, "copy_to_host")


def empty(shape, dtype):
    """An uninitialised C-contiguous device array."""
    return cuda.device_array(tuple(int(n) for n in shape), np.dtype(dtype))


def to_device(a):
    """A device array holding `a` (a device array is returned as it is)."""
    if is_device_array(a):
        return a
    return cuda.to_device(np.ascontiguousarray(a))


def to_host(a) -> np.ndarray:
    """A numpy copy of a device array (a numpy array is returned as it is)."""
    return a.copy_to_host() if is_device_array(a) else np.asarray(a)


def synchronize() -> None:
    cuda.synchronize()
