"""2-D matrix products for the dense ops, with BLAS always on one thread. A large product is
cut into one block per thread (`nk.config.set_num_threads`), of rows, or of columns when
there are few rows (a small batch through a wide layer), each block one single-threaded
BLAS call on nbkeras's chunk pool (see parallel.py). OpenBLAS's own pool is never woken: its
threads spin for milliseconds after each call, and slowed the Numba kernel that followed by
up to 2x (attention after its input projection, 2 cores) and the PyTorch code that a
benchmark ran next. numpy's matmul reads transposed operands and writes column blocks in
place (BLAS's leading dimensions), so no block is copied."""
import numba
import numpy as np

from .parallel import run_chunks, single_threaded_blas

__all__ = ["gemm"]

THREADED_MIN_FLOPS = 1 << 23   # below ~8 MFLOP one thread beats waking the chunk pool
# multiply-adds below which OpenBLAS runs a product on one thread by itself (its gemv rule,
# 2304 * GEMM_MULTITHREAD_THRESHOLD 4; gemm's is 65536 * 4): holding BLAS to one thread costs
# more than such a product (~20 us of thread-count calls against a 1x64 @ 64x64 product's 2)
_BLAS_ALONE_MAX = 2304 * 4
_MIN_BLOCK = 16                # rows or columns


def _row_block(t, chunks, a, b, out) -> None:
    """out[rows] = a[rows] @ b for chunk t of `chunks` near-equal blocks of rows."""
    start, stop = t * a.shape[0] // chunks, (t + 1) * a.shape[0] // chunks
    np.matmul(a[start:stop], b, out=out[start:stop])


def _column_block(t, chunks, a, b, out) -> None:
    """out[:, columns] = a @ b[:, columns] for chunk t of `chunks` blocks of columns."""
    start, stop = t * b.shape[1] // chunks, (t + 1) * b.shape[1] // chunks
    np.matmul(a, b[:, start:stop], out=out[:, start:stop])


def gemm(a, b):
    """a (M, K) @ b (K, N) -> (M, N)."""
    rows, columns = a.shape[0], b.shape[1]
    multiply_adds = rows * a.shape[1] * columns
    if multiply_adds < _BLAS_ALONE_MAX:
        return np.matmul(a, b)
    threads = numba.get_num_threads()
    if 2 * multiply_adds < THREADED_MIN_FLOPS or a.dtype != b.dtype:
        threads = 1
    by_rows = rows >= columns or rows >= threads * _MIN_BLOCK
    chunks = min(threads, (rows if by_rows else columns) // _MIN_BLOCK)
    with single_threaded_blas():
        if chunks <= 1:
            return np.matmul(a, b)
        out = np.empty((rows, columns), a.dtype)
        run_chunks(_row_block if by_rows else _column_block, chunks, a, b, out)
    return out
