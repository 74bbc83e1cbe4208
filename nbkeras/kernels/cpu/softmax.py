"""Softmax and log-softmax over the last axis: one fused Numba pass per row, runs of rows in
parallel (chunk bodies run by the parfor shell, shells.py: each compiles in 0.3 s, against
0.5-0.8 s as a parfor of its own).
Host functions take any shape (..., n) and return a new array. Sums run in the rows' dtype
in vector lanes (as XLA's), exp is vector_math's. The loops are written out:
array expressions inside a parallel loop become nested parallel loops, and array slice
assignment compiles Numba's shape-mismatch message; both cost seconds of first-call compile."""
import numba
import numpy as np

from .inner import inner_kernel
from .parallel import chunk_span, launch
from .shells import parallel_chunks
from .vector_math import exp

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward"]


@inner_kernel
def row_max(row):
    """max(row) of a 1-D row with at least one value; a NaN in it leaves softmax and
    log-sum-exp all NaN either way. A loop: numpy's max compiles its NaN scan into every
    kernel that calls it (0.3-0.5 s of cold compile each)."""
    best = row[0]
    for j in range(1, row.shape[0]):
        best = row[j] if row[j] > best else best
    return best


@inner_kernel(fastmath={"reassoc", "contract"})
def _softmax_rows(t, chunks, x, out):
    """out[r] = exp(x[r] - max x[r]) / sum(exp(x[r] - max x[r]))."""
    start, stop = chunk_span(t, chunks, x.shape[0])
    for r in range(start, stop):
        peak = row_max(x[r])
        total = peak - peak
        for j in range(x.shape[1]):
            out[r, j] = exp(x[r, j] - peak)
            total += out[r, j]
        scale = 1 / total
        for j in range(x.shape[1]):
            out[r, j] *= scale


@inner_kernel
def _softmax_rows_backward(t, chunks, dy, y, out):
    """out[r] = y[r] * (dy[r] - <dy[r], y[r]>)."""
    start, stop = chunk_span(t, chunks, y.shape[0])
    for r in range(start, stop):
        inner = 0.0
        for j in range(y.shape[1]):
            inner += dy[r, j] * y[r, j]
        for j in range(y.shape[1]):
            out[r, j] = y[r, j] * (dy[r, j] - inner)


@inner_kernel(fastmath={"reassoc", "contract"})
def _log_softmax_rows(t, chunks, x, out):
    """out[r] = (x[r] - max) - log(sum(exp(x[r] - max))), in that order: exact for large x."""
    start, stop = chunk_span(t, chunks, x.shape[0])
    for r in range(start, stop):
        peak = row_max(x[r])
        total = peak - peak
        for j in range(x.shape[1]):
            total += exp(x[r, j] - peak)
        log_total = np.log(total)
        for j in range(x.shape[1]):
            out[r, j] = (x[r, j] - peak) - log_total


@inner_kernel(fastmath={"contract"})
def _log_softmax_rows_backward(t, chunks, dy, y, out):
    """out[r] = dy[r] - exp(y[r]) * sum(dy[r])."""
    start, stop = chunk_span(t, chunks, y.shape[0])
    for r in range(start, stop):
        total = 0.0
        for j in range(y.shape[1]):
            total += dy[r, j]
        for j in range(y.shape[1]):
            out[r, j] = dy[r, j] - exp(y[r, j]) * total


def _rows(a, dtype):
    """a (..., n) as a contiguous (rows, n) array of `dtype` (a scalar: one row of one)."""
    width = a.shape[-1] if a.ndim else 1
    return np.ascontiguousarray(a, dtype=dtype).reshape(a.size // max(width, 1), width)


def _apply_rows(kernel, *arrays):
    """kernel(*rows, out) over the rows of the arrays' last axis; an empty result (no rows,
    or rows of no values) runs nothing."""
    dtype = arrays[-1].dtype
    rows = [_rows(a, dtype) for a in arrays]
    out = np.empty_like(rows[-1])
    if out.size:
        launch(parallel_chunks, out.size, kernel, numba.get_num_threads(), *rows, out)
    return out.reshape(arrays[-1].shape)


def softmax_forward(x):
    return _apply_rows(_softmax_rows, x)


def softmax_backward(dy, x, y):
    return _apply_rows(_softmax_rows_backward, dy, y)


def log_softmax_forward(x):
    return _apply_rows(_log_softmax_rows, x)


def log_softmax_backward(dy, x, y):
    return _apply_rows(_log_softmax_rows_backward, dy, y)
