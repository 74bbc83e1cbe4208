"""2-D matrix products for the dense ops, with BLAS always on one thread. A large product is
cut into one block per thread (`nk.config.set_num_threads`), of rows, or of columns when
there are few rows (a small batch through a wide layer), each block one single-threaded
BLAS call on Numba's threads (`_product_chunk`, run by the parfor shell: shells.py).
OpenBLAS's own pool is never woken: its threads spin for milliseconds after each call, and
slowed the Numba kernel that followed by up to 2x (attention after its input projection, 2
cores) and the PyTorch code that a benchmark ran next. BLAS reads a transposed operand in
place (dense's backward passes such views) and writes each block where it lies in the
output (BLAS's leading dimensions), so no block is copied. The blocks ran on nbkeras's
chunk pool before (parallel.py), whose threads take longer to wake: Dense 1600 -> 128 at
batch 128, each of its three products 420-440 -> 330-360 us on 2 threads, and the Simple
MNIST convnet's 1600 -> 10, threaded now from GEMM_THREADED_MIN_FLOPS, 97 -> 69 us.

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

from .blas import address, gemm_library, product, product_of_views
from .inner import inner_kernel
from .parallel import (PARALLEL_MIN_ELEMENTS, chunk_span, large, launch,
                       single_threaded_blas)
from .shells import parallel_chunks

__all__ = ["gemm"]

# below ~8 MFLOP a product inside a kernel (winograd, a stack of matrices) or one of
# OpenBLAS's small products runs on one thread
THREADED_MIN_FLOPS = 1 << 23
# a product's flops from which its blocks run on Numba's threads: at 2.1 MFLOP one thread
# took 38 us and two 42-48, at 4.2 MFLOP 61-64 us and 49-52 (2 cores, Zen 3, float32)
GEMM_THREADED_MIN_FLOPS = 3 << 20
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


@inner_kernel
def _product_chunk(t, chunks, a, a_transposed, b, b_transposed, out, by_rows, gemm_address):
    """Chunk t of `chunks` of out (M, N) = op(a) @ op(b) (blas.product_of_views: a, b as
    stored, op() transposing those flagged): a near-equal run of out's rows (by_rows), else of
    its columns, as one BLAS call on this thread."""
    rows, columns = out.shape
    start, stop = chunk_span(t, chunks, rows if by_rows else columns)
    r0, r1 = (start, stop) if by_rows else (0, rows)
    c0, c1 = (0, columns) if by_rows else (start, stop)
    a_rows = a[:, r0:r1] if a_transposed else a[r0:r1]
    b_columns = b[c0:c1] if b_transposed else b[:, c0:c1]
    product_of_views(gemm_address, a_rows, a_transposed, b_columns, b_transposed,
                     out[r0:r1, c0:c1], False)


def _as_stored(m):
    """(storage, transposed) of a matrix for _product_chunk: itself if C-contiguous, the
    C-contiguous array it is the transpose of (dense's backward passes such views), else a
    C-contiguous copy."""
    if m.flags.c_contiguous:
        return m, False
    if m.flags.f_contiguous:
        return m.T, True
    return np.ascontiguousarray(m), False


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
    if (not large(2 * multiply_adds, GEMM_THREADED_MIN_FLOPS) or a.dtype != b.dtype
            or a.dtype not in _BLAS_DTYPES):
        threads = 1
    by_rows = rows >= columns or rows >= threads * _MIN_BLOCK
    chunks = min(threads, (rows if by_rows else columns) // _MIN_BLOCK)
    with single_threaded_blas():
        if chunks <= 1:
            return np.matmul(a, b)
        out = np.empty((rows, columns), a.dtype)
        launch(parallel_chunks, PARALLEL_MIN_ELEMENTS, _product_chunk, chunks, *_as_stored(a),
               *_as_stored(b), out, by_rows, address(a.dtype))
    return out
