"""Matrix products. Large 2-D products use BLAS's own threads (numpy's matmul handles
transposed operands without copies); small ones run BLAS on one thread, so a small dense
layer between convolutions does not wake BLAS's pool, whose spinning threads would then
compete with Numba's (see parallel.py). Stacks of at least as many matrices as threads, each
small, run one single-threaded BLAS product per matrix in parallel over the stack (numpy's
matmul loops over it on one core)."""
import math

import numba
import numpy as np
from numba import njit, prange

from .parallel import launch, single_threaded_blas

__all__ = ["gemm", "matmul"]

THREADED_MIN_FLOPS = 1 << 26   # below ~64 MFLOP one thread beats waking the pool
PARALLEL_STACK_MIN_FLOPS = 1 << 22


@njit(cache=True, parallel=True)
def _stacked_matmul(a, b, out):
    """out[p, q] = a[p, q] @ b[p, q] for stacks (P, Q, M, K), (P, Q, K, N) of any strides, in
    parallel over the P * Q products; strided matrices are copied inside the loop."""
    stack = a.shape[1]
    for i in prange(a.shape[0] * stack):
        p = i // stack
        q = i - p * stack
        np.dot(np.ascontiguousarray(a[p, q]), np.ascontiguousarray(b[p, q]), out[p, q])


def _as_4d(x):
    """x (..., R, C) as (P, Q, R, C): a view for 3 and 4 axes (so the transposed views of
    attention's heads are not copied here), a reshape beyond."""
    return x[None] if x.ndim == 3 else x if x.ndim == 4 else x.reshape((-1,) + x.shape[-3:])


def matmul(a, b):
    """numpy's matmul: a (..., M, K) @ b (..., K, N) -> (..., M, N), batch axes broadcast."""
    stack = math.prod(a.shape[:-2])
    flops = 2 * a.size * b.shape[-1]
    if (a.ndim < 3 or a.shape[:-2] != b.shape[:-2] or a.dtype != b.dtype
            or a.dtype not in (np.float32, np.float64) or a.shape[-1] == 0
            or flops < PARALLEL_STACK_MIN_FLOPS or stack < numba.get_num_threads()
            or flops // stack >= THREADED_MIN_FLOPS):   # few or big matrices: BLAS's threads
        return np.matmul(a, b)
    out = np.empty(a.shape[:-1] + b.shape[-1:], a.dtype)
    with single_threaded_blas():
        launch(_stacked_matmul, PARALLEL_STACK_MIN_FLOPS, _as_4d(a), _as_4d(b), _as_4d(out))
    return out


def gemm(a, b):
    """a (M, K) @ b (K, N) -> (M, N)."""
    if 2 * a.shape[0] * a.shape[1] * b.shape[-1] >= THREADED_MIN_FLOPS:
        return np.matmul(a, b)
    with single_threaded_blas():
        return np.matmul(a, b)
