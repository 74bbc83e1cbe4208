"""The caching device allocator: a Numba External Memory Management (EMM) plugin over
cuda.core's stream-ordered memory pool (`DeviceMemoryResource`, the driver's cudaMallocAsync
pool), which keeps freed blocks for the next request. A training step frees and asks again
for the same sizes every step, so in steady state it does no cudaMalloc.

`runtime` installs it before the first CUDA context exists, unless
NBKERAS_CUDA_ALLOCATOR=numba (Numba's own allocator: a cudaMalloc per array, frees batched)
or NUMBA_CUDA_MEMORY_MANAGER names another plugin. A GPU is needed to use it: the simulator
has no memory managers.

Ordering: arrays are taken from and given back to the pool on the legacy default stream,
the stream every nbkeras kernel and copy runs on, so a block is reused only after the work
queued before its release.
"""
from __future__ import annotations

import os

from numba import config as numba_config
from numba import cuda
from numba.cuda.cudadrv import driver as numba_driver

ALLOCATORS = ("pool", "numba")


def chosen_allocator() -> str:
    """"pool" (the default) or "numba", from NBKERAS_CUDA_ALLOCATOR."""
    name = os.environ.get("NBKERAS_CUDA_ALLOCATOR", "pool")
    if name not in ALLOCATORS:
        raise ValueError(f"NBKERAS_CUDA_ALLOCATOR must be one of {ALLOCATORS}; "
                         f"received {name!r}")
    return name


class PoolMemoryManager(numba_driver.GetIpcHandleMixin,
                        numba_driver.HostOnlyCUDAMemoryManager):
    """Device memory from a pool owned by this manager (one per CUDA context); pinned host
    memory as Numba does it."""

    def initialize(self) -> None:
        from cuda.core import Device, DeviceMemoryResource, DeviceMemoryResourceOptions

        device = Device(self.context.device.id)
        device.set_current()                  # the primary context, which Numba uses too
        self._pool = DeviceMemoryResource(device, DeviceMemoryResourceOptions())
        self._stream = device.default_stream

    def memalloc(self, size: int):
        buffer = self._pool.allocate(size, stream=self._stream)
        pointer = numba_driver.binding.CUdeviceptr(int(buffer.handle))
        # the finalizer holds the buffer: it returns to the pool when Numba drops the array
        return numba_driver.MemoryPointer(self.context, pointer, size, finalizer=buffer.close)

    def get_memory_info(self):
        free, total = numba_driver.driver.cuMemGetInfo()
        return numba_driver.MemoryInfo(free=free, total=total)

    @property
    def interface_version(self) -> int:
        return 1


def install() -> None:
    """Make PoolMemoryManager Numba's memory manager, as chosen (call before any context)."""
    if chosen_allocator() == "pool" and numba_config.CUDA_MEMORY_MANAGER == "default":
        cuda.set_memory_manager(PoolMemoryManager)


def active_allocator() -> str:
    """The allocator of the current CUDA context: "pool", or the class Numba uses."""
    manager = cuda.current_context().memory_manager
    return "pool" if isinstance(manager, PoolMemoryManager) else type(manager).__name__
