"""2-D matrix products with the rows split over Numba's threads, BLAS single-threaded inside
each (see parallel.py), so dense layers and convolutions share one thread pool."""
import numba
import numpy as np
from numba import njit, prange

from .parallel import PARALLEL_MIN_ELEMENTS, launch, single_threaded_blas

__all__ = ["gemm"]


@njit(cache=True, parallel=True)
def _gemm_rows(a, b, out, chunks):
    """out = a @ b, one contiguous block of rows per chunk."""
    m = a.shape[0]
    for t in prange(chunks):
        lo, hi = t * m // chunks, (t + 1) * m // chunks
        out[lo:hi] = np.dot(a[lo:hi], b)


def gemm(a, b):
    """a (M, K) @ b (K, N) -> (M, N); float32/float64 in one dtype take the threaded path,
    anything else is numpy's matmul."""
    dtype = np.result_type(a.dtype, b.dtype)
    if a.ndim != 2 or b.ndim != 2 or dtype not in (np.float32, np.float64) or 0 in a.shape \
            or 0 in b.shape:
        return np.matmul(a, b)
    a, b = np.ascontiguousarray(a, dtype), np.ascontiguousarray(b, dtype)
    out = np.empty((a.shape[0], b.shape[1]), dtype)
    work = a.shape[0] * a.shape[1] * b.shape[1] // 32   # a multiply-add is cheap per element
    chunks = min(numba.get_num_threads(), a.shape[0]) if work >= PARALLEL_MIN_ELEMENTS else 1
    with single_threaded_blas():
        launch(_gemm_rows, work if chunks > 1 else 0, a, b, out, chunks)
    return out
