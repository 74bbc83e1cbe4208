"""The caching allocator's Numba plugin (kernels/cuda/memory.py), checked without a GPU: Numba
accepts it, the choice reads NBKERAS_CUDA_ALLOCATOR, and an array's memory goes back to the
pool when Numba drops the array (a stand-in pool records it). On a GPU, benchmarks/gpu.py
measures it against Numba's own allocator."""
import gc

import pytest
from numba import cuda

from nbkeras.kernels.cuda import memory


def test_numba_accepts_the_plugin():
    cuda.set_memory_manager(memory.PoolMemoryManager)     # checks the interface version
    assert memory.PoolMemoryManager(context=None).interface_version == 1


def test_the_choice_reads_the_environment(monkeypatch):
    monkeypatch.delenv("NBKERAS_CUDA_ALLOCATOR", raising=False)
    assert memory.chosen_allocator() == "pool"
    monkeypatch.setenv("NBKERAS_CUDA_ALLOCATOR", "numba")
    assert memory.chosen_allocator() == "numba"
    monkeypatch.setenv("NBKERAS_CUDA_ALLOCATOR", "rmm")
    with pytest.raises(ValueError, match="NBKERAS_CUDA_ALLOCATOR must be one of"):
        memory.chosen_allocator()


class _Pool:
    """Hands out numbered buffers and records which were given back."""

    def __init__(self):
        self.returned, self.streams = [], []

    def allocate(self, size, stream):
        self.streams.append(stream)
        pool = self

        class Buffer:
            handle = 4096 * len(pool.streams)

            def close(self):
                pool.returned.append(self.handle)
        return Buffer()


def test_memory_returns_to_the_pool_when_the_array_is_dropped():
    manager = memory.PoolMemoryManager(context=object())
    manager._pool, manager._stream = _Pool(), "default stream"
    first, second = manager.memalloc(1024), manager.memalloc(64)
    assert (first.size, int(first.device_pointer)) == (1024, 4096)
    assert int(second.device_pointer) == 8192
    assert manager._pool.streams == ["default stream"] * 2
    del first
    gc.collect()
    assert manager._pool.returned == [4096]
    del second
    gc.collect()
    assert manager._pool.returned == [4096, 8192]
