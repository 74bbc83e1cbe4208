"""2-D matrix products for the dense ops, with BLAS always on one thread. A large product is
cut into one block per thread (`nk.config.set_num_threads`), of rows, or of columns when
there are few rows (a small batch through a wide layer), each block one single-threaded
BLAS call on nbkeras's chunk pool (see parallel.py). OpenBLAS's own pool is never woken: its
threads spin for milliseconds after each call, and slowed the Numba kernel that followed by
up to 2x (attention after its input projection, 2 cores) and the PyTorch code that a
benchmark ran next. numpy's matmul reads transposed operands and writes column blocks in
place (BLAS's leading dimensions), so no block is copied.

Small products: on AVX-512 cores OpenBLAS multiplies a product of at most 100**3
multiply-adds (no transposed operand) with its small-matrix kernels, which skip packing the
operands. Packing is most of the cost of a thin product against a wide matrix: one LSTM
step's (32, 128) @ (128, 512) ran at 80 GFLOP/s on one core, and the same rows as four
(8, 128) @ (128, 512) products at 104 (2 threads over a whole recurrence: 5.8 ms -> 3.6 ms).
`dot_in_row_runs` cuts such products into runs of rows that fit; elsewhere (another BLAS,
or OpenBLAS on cores without those kernels, e.g. OPENBLAS_CORETYPE=Haswell, where runs of 8
rows measured 2.4x slower) it makes one call."""

import numba
import numpy as np
from numba import njit

from .blas import address, gemm_library, product
from .parallel import blas_controller, run_chunks, single_threaded_blas

__all__ = ["gemm"]

THREADED_MIN_FLOPS = 1 << 23   # below ~8 MFLOP one thread beats waking the chunk pool
# multiply-adds below which OpenBLAS runs a product on one thread by itself (its gemv rule,
# 2304 * GEMM_MULTITHREAD_THRESHOLD 4; gemm's is 65536 * 4): holding BLAS to one thread costs
# more than such a product (~20 us of thread-count calls against a 1x64 @ 64x64 product's 2)
_BLAS_ALONE_MAX = 2304 * 4
_MIN_BLOCK = 16                # rows or columns
SMALL_PRODUCT_MAX = 100 ** 3   # multiply-adds (OpenBLAS's sgemm/dgemm_small_kernel_permit)
# OpenBLAS's names (openblas_get_corename) of the cores whose kernels include the small ones
_SMALL_KERNEL_CORES = ("skylakex", "cooperlake", "sapphirerapids")
_small_limit = []              # [small_product_limit()], found once
_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def small_product_limit() -> int:
    """SMALL_PRODUCT_MAX when the BLAS whose gemm the kernels call (blas.gemm_library) is an
    OpenBLAS running a core's kernels that include the small-matrix ones, else 0
    (`dot_in_row_runs` then makes one call). Other libraries in the process do not matter
    here."""
    if not _small_limit:
        library = gemm_library()
        fits = library is not None and library.internal_api == "openblas" and \
            str(library.architecture).lower().replace(" ", "") in _SMALL_KERNEL_CORES
        _small_limit.append(SMALL_PRODUCT_MAX if fits else 0)
    return _small_limit[0]


@njit(inline="always")
def small_run_rows(rows, k, n, small_limit):
    """Rows per BLAS call of a (rows, k) @ (k, n) product in `dot_in_row_runs`: the most rows,
    a multiple of 8 (else 4), whose product has at most `small_limit` multiply-adds; all the
    rows (at least 1) when not even 4 fit or small_limit is 0."""
    fit = small_limit // max(k * n, 1)
    if fit >= 8:
        return fit - fit % 8
    if fit >= 4:
        return 4
    return max(rows, 1)


@njit(cache=True)
def dot_in_row_runs(gemm_address, a, b, out, small_limit):
    """out = a (M, K) @ b (K, N) (rows of each evenly spaced, columns contiguous) as one call
    of the BLAS gemm at gemm_address (blas.py) per run of `small_run_rows` rows
    (`small_limit`: `small_product_limit()`)."""
    run = small_run_rows(a.shape[0], a.shape[1], b.shape[1], small_limit)
    for r0 in range(0, a.shape[0], run):
        product(gemm_address, a[r0:r0 + run], b, out[r0:r0 + run], False)


def _in_small_products(a, b) -> bool:
    """Whether a @ b runs as OpenBLAS's small products in runs of at least 4 rows
    (dot_in_row_runs): C-contiguous float32 or float64 operands of one dtype, and a BLAS with
    small kernels. They skip packing: on one thread, Dense 1600 -> 10 forward at batch 128
    88 -> 60 us, 784 -> 128 at batch 32 75 -> 55 us."""
    limit = small_product_limit()
    return (limit > 0 and a.dtype == b.dtype and a.dtype in _BLAS_DTYPES
            and a.flags.c_contiguous and b.flags.c_contiguous
            and limit // max(a.shape[1] * b.shape[1], 1) >= 4)


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
    if 2 * multiply_adds < THREADED_MIN_FLOPS and _in_small_products(a, b):
        out = np.empty((rows, columns), a.dtype)
        with single_threaded_blas():
            dot_in_row_runs(address(a.dtype), a, b, out, small_product_limit())
        return out
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
