"""Threads: Numba's pool does the parallel work, BLAS runs single-threaded inside it.

Small arrays run on one Numba thread, since waking the pool costs more than the work (and
far more when the cores are shared). BLAS (numpy's and SciPy's OpenBLAS, which Numba's
`np.dot` calls) is held to one thread while nbkeras kernels run: BLAS threads nested under
Numba's, or left spinning by an earlier multi-threaded numpy product, oversubscribe the
cores (measured 2x slower CNN training steps on 2 cores).
"""
import contextlib

import numba

PARALLEL_MIN_ELEMENTS = 1 << 15
_blas = []   # [threadpoolctl's BLAS controller, or None without threadpoolctl], made once


def launch(kernel, elements: int, *args):
    """kernel(*args) on all of Numba's threads if `elements` is large, else on one."""
    if elements >= PARALLEL_MIN_ELEMENTS:
        return kernel(*args)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(threads)


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
