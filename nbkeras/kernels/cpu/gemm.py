"""2-D matrix products for the dense ops. Large products use BLAS's own threads (numpy's
matmul handles transposed operands without copies); small ones run BLAS on one thread, so a
small dense layer between convolutions does not wake BLAS's pool, whose spinning threads
would then compete with Numba's (see parallel.py)."""
import numpy as np

from .parallel import single_threaded_blas

__all__ = ["gemm"]

THREADED_MIN_FLOPS = 1 << 26   # below ~64 MFLOP one thread beats waking the pool


def gemm(a, b):
    """a (M, K) @ b (K, N) -> (M, N)."""
    if 2 * a.shape[0] * a.shape[1] * b.shape[-1] >= THREADED_MIN_FLOPS:
        return np.matmul(a, b)
    with single_threaded_blas():
        return np.matmul(a, b)
