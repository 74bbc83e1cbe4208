"""Threads: the parallel work runs on Numba's pool (most kernels, as `prange` parfors) or on
nbkeras's chunk pool (the affine kernel), with BLAS single-threaded inside.

A chunk kernel is a plain `@njit(nogil=True, error_model="numpy")` function of one chunk:
`kernel(t, chunks, ...)` does chunk t of `chunks` (a contiguous run of rows; `chunk_span`),
and `run_chunks` calls it for every chunk at once, chunk 0 on the calling thread and the
others on the pool's threads, which run while the chunks hold no GIL. Such a kernel compiles
in about half the time of the same loop as a parfor (which compiles its body again as a
gufunc and re-optimizes it and every function it calls), but measured on the MNIST convnet
(2 cores, a VM) the parfors run faster: each chunk-pool launch costs ~0.15 ms more (waking a
sleeping thread) and a parfor's unsigned loop index and `noalias` arrays let LLVM vectorize
loops that a plain function's do not (pooling: 1.3-1.4x slower as chunk kernels), so only
kernels measured no slower use the chunk pool. A parfor whose body is mostly calls (the
convolutions, pooling whole images) is a chunk body that the one parfor shell calls by address
(shells.parallel_chunks): Numba's pool, and the body compiled once.

Small arrays run on one thread, since waking a pool costs more than the work (and far more
when the cores are shared). BLAS (numpy's and SciPy's OpenBLAS, which Numba's `np.dot`
calls) is held to one thread while nbkeras kernels run: BLAS threads nested under Numba's,
or left spinning by an earlier multi-threaded numpy product, oversubscribe the cores
(measured 2x slower CNN training steps on 2 cores). Numba's own OpenMP workers spin after each
parallel region, so nbkeras shortens that spin at import (config.py).
"""
import contextlib
import os
import threading

import numba

from .inner import inner_kernel

PARALLEL_MIN_ELEMENTS = 1 << 15
_size_scale = [1.0]  # concurrent_compile's dry run sets this: see `large`
_blas = []   # [threadpoolctl's BLAS controller, or None without threadpoolctl], made once


def large(size: int, minimum: int) -> bool:
    """Whether `size` reaches `minimum`, where host code picks a kernel for large inputs and
    numpy (or another kernel) for small ones. During concurrent_compile's dry run, whose
    sample batch may be far smaller than the real ones (`warmup` samples two), `size` counts
    as its `size_scale` times larger, so that it finds the kernels the real batches call."""
    return size * _size_scale[0] >= minimum


def launch(kernel, elements: int, *args):
    """A parfor kernel(*args) on all of Numba's threads if `elements` is large, else on one."""
    if elements >= PARALLEL_MIN_ELEMENTS:
        return kernel(*args)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(threads)


def launch_chunks(kernel, elements: int, *args) -> None:
    """kernel(t, chunks, *args) for every chunk t: one chunk per thread
    (`nk.config.set_num_threads`) if `elements` is large, else one chunk on this thread."""
    run_chunks(kernel, numba.get_num_threads() if elements >= PARALLEL_MIN_ELEMENTS else 1,
               *args)


@inner_kernel
def chunk_span(t, chunks, n):
    """(start, stop) of chunk t of `chunks` near-equal contiguous runs of range(n)."""
    return t * n // chunks, (t + 1) * n // chunks


def run_chunks(kernel, chunks: int, *args) -> None:
    """kernel(t, chunks, *args) for every chunk t < `chunks` at once: chunk 0 on this thread,
    the others on the pool's; returns when all are done, raising the first chunk's error.
    Runs them one after another here when the pool is busy (another thread is using it)."""
    if chunks <= 1:
        kernel(0, 1, *args)
        return
    if not _pool.lock.acquire(blocking=False):
        for t in range(chunks):
            kernel(t, chunks, *args)
        return
    try:
        _pool.run(kernel, chunks, args)
    finally:
        _pool.lock.release()


class _ChunkPool:
    """Daemon threads, one per chunk beyond the first, made as needed and kept; each waits on
    its own semaphore for a chunk and signals `done` when it is through."""

    def __init__(self):
        self.lock = threading.Lock()
        self._workers = []              # [(go semaphore, slot)]: slot is [kernel, t, chunks,
        self._done = threading.Semaphore(0)   # args, error]

    def run(self, kernel, chunks: int, args: tuple) -> None:
        while len(self._workers) < chunks - 1:
            self._start_worker()
        for t, (go, slot) in enumerate(self._workers[:chunks - 1], start=1):
            slot[:] = [kernel, t, chunks, args, None]
            go.release()
        error = None
        try:
            kernel(0, chunks, *args)
        except BaseException as exc:            # wait for the others before raising
            error = exc
        for _ in range(chunks - 1):
            self._done.acquire()
        error = error or next((slot[4] for _, slot in self._workers[:chunks - 1]
                               if slot[4] is not None), None)
        if error is not None:
            raise error

    def _start_worker(self) -> None:
        go, slot = threading.Semaphore(0), [None] * 5
        self._workers.append((go, slot))
        threading.Thread(target=self._serve, args=(go, slot), daemon=True,
                         name=f"nbkeras-chunks-{len(self._workers)}").start()

    def _serve(self, go, slot) -> None:
        while True:
            go.acquire()
            kernel, t, chunks, args, _ = slot
            try:
                kernel(t, chunks, *args)
            except BaseException as exc:
                slot[4] = exc
            finally:
                slot[0] = slot[3] = None        # drop the arrays
                self._done.release()


_pool = _ChunkPool()
os.register_at_fork(after_in_child=lambda: globals().update(_pool=_ChunkPool()))  # no threads


def blas_controller():
    """threadpoolctl's controller of the loaded BLAS libraries (the library scan is slow, so
    it runs once), or None when threadpoolctl is not installed."""
    if not _blas:
        try:
            from threadpoolctl import ThreadpoolController
            _blas.append(ThreadpoolController().select(user_api="blas"))
        except ImportError:
            _blas.append(None)
    return _blas[0]


class _SingleThreadedBlas:
    """Holds every loaded BLAS at one thread and restores each one's count on exit. It asks
    the libraries directly: threadpoolctl's `limit` re-reads their info on every entry
    (10 us, several times per training step)."""

    __slots__ = ("_libraries", "_previous")

    def __init__(self, libraries):
        self._libraries = libraries

    def __enter__(self):
        self._previous = [library.get_num_threads() for library in self._libraries]
        for library, threads in zip(self._libraries, self._previous):
            if threads != 1:
                library.set_num_threads(1)

    def __exit__(self, *exc):
        for library, threads in zip(self._libraries, self._previous):
            if threads != 1:
                library.set_num_threads(threads)


def single_threaded_blas():
    """Context in which BLAS uses one thread (a no-op without threadpoolctl)."""
    controller = blas_controller()
    return (contextlib.nullcontext() if controller is None
            else _SingleThreadedBlas(controller.lib_controllers))
