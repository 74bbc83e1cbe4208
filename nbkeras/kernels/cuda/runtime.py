"""The module that imports `numba.cuda` (with memory.py, the allocator it installs): device
arrays, launch shapes and the kernel decorator every CUDA kernel file uses.

Without a GPU, Numba's simulator (`NUMBA_ENABLE_CUDASIM=1`, set before Numba is imported)
runs the same kernels one Python thread per CUDA thread, so launches are capped there to a
few blocks of a few threads: grid-stride loops cover the rest.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np
from numba import config as numba_config
from numba import cuda, types
from numba.np import numpy_support

SIMULATOR = bool(numba_config.ENABLE_CUDASIM)
THREADS = 32 if SIMULATOR else 256          # threads per block of the elementwise kernels
MAX_BLOCKS = 2 if SIMULATOR else 8192       # grid-stride loops cover the rest
TILE = 4 if SIMULATOR else 16               # the square tile of the shared-memory kernels

FLOATS = (types.float32, types.float64)     # the dtypes every float kernel is compiled for
KERNELS: list[tuple] = []                   # (python function, its launch signatures)

if SIMULATOR:
    # Python runs the counter-based hashes on numpy scalars, which warn on the uint64
    # wraparound the hash relies on (compiled code wraps silently).
    warnings.filterwarnings("ignore", r".*overflow encountered in scalar (add|multiply)",
                            RuntimeWarning)

    # The simulator meets a block's threads at syncthreads by polling them from the launching
    # thread, which keeps the GIL for a whole switch interval (5 ms by default) while the
    # others wait to run: a tiled kernel spent 16x its running time waiting at its barriers.
    sys.setswitchinterval(1e-5)

    # A host-side DeviceNDArray's shape is a plain tuple on a GPU; the simulator's refuses
    # negative indices (x.shape[-1]), which host code uses: give it the GPU's behaviour.
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    FakeCUDAArray.shape = property(lambda self: self._ary.shape)

    # The simulator has the thread intrinsics only on the stand-in for `numba.cuda` that it
    # puts in a kernel's globals during a launch: these forward to the running launch's.
    from numba.cuda.simulator.kernel import _get_kernel_context as _launch

    class _Index:
        """threadIdx, blockIdx, blockDim or gridDim of the running simulated thread."""

        def __init__(self, name: str):
            self.name = name

        def __getattr__(self, axis: str):
            return getattr(getattr(_launch(), self.name), axis)

    def grid(ndim):
        return _launch().grid(ndim)

    def gridsize(ndim):
        return _launch().gridsize(ndim)

    def syncthreads():
        _launch().syncthreads()

    def atomic_add(array, index, value):
        return _launch().atomic.add(array, index, value)

    def shared_array(shape, dtype):
        """The block's array for the calling line, kept where the simulator keeps its own
        `cuda.shared.array` (which would key every caller on this line)."""
        caller = sys._getframe(1)
        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        return _launch().shared._allocations.setdefault(
            (caller.f_code.co_filename, caller.f_lineno), np.empty(shape, dtype))

    block_index, thread_index = _Index("blockIdx"), _Index("threadIdx")
    block_size, grid_size = _Index("blockDim"), _Index("gridDim")

    def cospi32(x):
        return np.float32(np.cos(np.pi * np.float64(x)))

    def cospi64(x):
        return np.cos(np.pi * x)
else:
    # numba-cuda types these only as attributes of `numba.cuda` (`cuda.threadIdx.x`):
    # registered as globals, kernels can use the short names below.
    from numba.cuda import cudadecl, cudaimpl
    from numba.cuda.core import caching as cuda_caching
    from numba.cuda.types.ext_types import dim3

    from ..disk_cache import stamp_kernel_caches

    stamp_kernel_caches(cuda_caching)     # before any kernel is decorated

    _REGISTERS = {cuda.threadIdx: "tid", cuda.blockIdx: "ctaid", cuda.blockDim: "ntid",
                  cuda.gridDim: "nctaid"}
    for _index in _REGISTERS:
        cudadecl.register_global(_index, dim3)
    cudadecl.register_global(cuda.shared.array, types.Function(cudadecl.Cuda_shared_array))
    cudadecl.register_global(cuda.atomic.add, types.Function(cudadecl.Cuda_atomic_add))

    @cudaimpl.registry.lower_constant(dim3)
    def _read_index(context, builder, ty, index):
        return cudaimpl.initialize_dim3(builder, _REGISTERS[index])

    # cos(pi x) without libdevice's float64 reduction path for huge arguments (cosf has one)
    from numba.cuda.libdevice import cospi as cospi64
    from numba.cuda.libdevice import cospif as cospi32

    from . import memory

    memory.install()        # the caching allocator, before the first context exists

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
    the PTX check (tests/kernels/ptx) compiles each of them for real GPUs, since the simulator
    accepts code a GPU compiler rejects."""
    def register(function):
        KERNELS.append((function, signatures))
        return cuda.jit(cache=True)(function)
    return register


def device(function):
    """`@device`: a function that kernels call, inlined into each of them (Numba compiles a
    device function on its own only for the GPU it finds, so the PTX check needs inlining)."""
    return cuda.jit(device=True, inline="always")(function)


@device
def _block_reduce(value, scratch, take_max):
    """The sum (or max) of `value` over the block's THREADS threads, returned to all of them:
    a tree through `scratch`, a shared array of THREADS elements."""
    t = thread_index.x
    scratch[t] = value
    syncthreads()
    step = THREADS // 2
    while step > 0:
        if t < step:
            other = scratch[t + step]
            scratch[t] = max(scratch[t], other) if take_max else scratch[t] + other
        syncthreads()
        step //= 2
    result = scratch[0]
    syncthreads()                   # all have read scratch[0] before it is written again
    return result


@device
def block_sum(value, scratch):
    """The sum of `value` over a block of THREADS threads (scratch: THREADS shared)."""
    return _block_reduce(value, scratch, False)


@device
def block_max(value, scratch):
    """The max of `value` over a block of THREADS threads (scratch: THREADS shared)."""
    return _block_reduce(value, scratch, True)


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
    """A device array holding `a` (a device array is returned as it is). 0-d stays 0-d
    (np.ascontiguousarray would make it 1-d)."""
    if is_device_array(a):
        return a
    return cuda.to_device(np.require(a, requirements="C"))


def from_foreign(array):
    """A device array viewing another library's (`__cuda_array_interface__`), which it keeps
    alive; not synchronized, since every producer here runs on the legacy default stream."""
    return cuda.as_cuda_array(array, sync=False)


def to_host(a) -> np.ndarray:
    """A numpy copy of a device array (a numpy array is returned as it is)."""
    return a.copy_to_host() if is_device_array(a) else np.asarray(a)


def synchronize() -> None:
    cuda.synchronize()
