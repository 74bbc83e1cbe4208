"""Matrix products. Large 2-D products use BLAS's own threads (numpy's matmul handles
transposed operands without copies); small ones run BLAS on one thread, so a small dense
layer between convolutions does not wake BLAS's pool, whose spinning threads would then
compete with Numba's (see parallel.py). Stacks of matrices run one single-threaded BLAS
product per matrix, in parallel over the stack (numpy's matmul loops over it on one core)."""
import numpy as np
from numba import njit, prange

from .parallel import launch, single_threaded_blas

__all__ = ["gemm", "matmul"]

THREADED_MIN_FLOPS = 1 << 26   # below ~64 MFLOP one thread beats waking the pool
PARALLEL_STACK_MIN_FLOPS = 1 << 22


@njit(cache=True, parallel=True)
def _stacked_matmul(a, b, out):
    """out[i] = a[i] @ b[i] for stacks (S, M, K), (S, K, N), in parallel over S."""
    for i in prange(a.shape[0]):
        np.dot(a[i], b[i], out[i])


def matmul(a, b):
    """numpy's matmul: a (..., M, K) @ b (..., K, N) -> (..., M, N), batch axes broadcast."""
    if (a.ndim < 3 or a.shape[:-2] != b.shape[:-2] or a.dtype != b.dtype
            or a.dtype not in (np.float32, np.float64) or a.shape[-1] == 0
            or 2 * a.size * b.shape[-1] < PARALLEL_STACK_MIN_FLOPS):
        return np.matmul(a, b)
    m, n = a.shape[-2], b.shape[-1]
    out = np.empty(a.shape[:-1] + (n,), a.dtype)
    stack = (-1,) + a.shape[-2:], (-1,) + b.shape[-2:]
    with single_threaded_blas():
        launch(_stacked_matmul, PARALLEL_STACK_MIN_FLOPS,
               np.ascontiguousarray(a).reshape(stack[0]),
               np.ascontiguousarray(b).reshape(stack[1]), out.reshape(-1, m, n))
    return out


def gemm(a, b):
    """a (M, K) @ b (K, N) -> (M, N)."""
    if 2 * a.shape[0] * a.shape[1] * b.shape[-1] >= THREADED_MIN_FLOPS:
        return np.matmul(a, b)
    with single_threaded_blas():
        return np.matmul(a, b)
