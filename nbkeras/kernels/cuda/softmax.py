"""Softmax and log-softmax over the last axis, the CUDA twins of `kernels.cpu.softmax`.

One block per row (blocks stride over the rows): its THREADS threads stride over the row's
columns, so each pass reads the row coalesced, and the row max and the sums are reduced in
the block through shared memory. Host functions take device arrays of any shape (..., n)
and return a new device array. `zero` enters the kernels as an argument of the arrays' type:
a bare `0.0` would make a float32 kernel compute in float64.
"""
import math

from .runtime import (FLOATS, THREADS, block_index, block_max, block_sum, blocks, device,
                      empty, grid_size, kernel, shared_array, thread_index, to_device)

__all__ = ["softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward"]

_ROWS = [(f[:, ::1], f, f[:, ::1]) for f in FLOATS]                     # x, zero, out
_ROWS_BACKWARD = [(f[:, ::1], f[:, ::1], f, f[:, ::1]) for f in FLOATS]  # dy, y, zero, out


@device
def _row_max(x, r, scratch):
    """max(x[r]), reduced over the block (x[r, 0] stands in for threads without a column)."""
    row_max = x[r, 0]
    for j in range(thread_index.x, x.shape[1], THREADS):
        row_max = max(row_max, x[r, j])
    return block_max(row_max, scratch)


@kernel(*_ROWS)
def _softmax_rows(x, zero, out):
    """out[r] = exp(x[r] - max x[r]) / sum(exp(x[r] - max x[r]))."""
    scratch = shared_array(THREADS, x.dtype)
    for r in range(block_index.x, x.shape[0], grid_size.x):
        row_max = _row_max(x, r, scratch)
        total = zero
        for j in range(thread_index.x, x.shape[1], THREADS):
            e = math.exp(x[r, j] - row_max)
            out[r, j] = e
            total += e
        total = block_sum(total, scratch)
        for j in range(thread_index.x, x.shape[1], THREADS):
            out[r, j] /= total


@kernel(*_ROWS_BACKWARD)
def _softmax_rows_backward(dy, y, zero, out):
    """out[r] = y[r] * (dy[r] - <dy[r], y[r]>)."""
    scratch = shared_array(THREADS, y.dtype)
    for r in range(block_index.x, y.shape[0], grid_size.x):
        inner = zero
        for j in range(thread_index.x, y.shape[1], THREADS):
            inner += dy[r, j] * y[r, j]
        inner = block_sum(inner, scratch)
        for j in range(thread_index.x, y.shape[1], THREADS):
            out[r, j] = y[r, j] * (dy[r, j] - inner)


@kernel(*_ROWS)
def _log_softmax_rows(x, zero, out):
    """out[r] = (x[r] - max) - log(sum(exp(x[r] - max))), in that order: max + log(sum)
    would round to the spacing of max (1e-3 at 1e4 in float32)."""
    scratch = shared_array(THREADS, x.dtype)
    for r in range(block_index.x, x.shape[0], grid_size.x):
        row_max = _row_max(x, r, scratch)
        total = zero
        for j in range(thread_index.x, x.shape[1], THREADS):
            total += math.exp(x[r, j] - row_max)
        log_total = math.log(block_sum(total, scratch))
        for j in range(thread_index.x, x.shape[1], THREADS):
            out[r, j] = (x[r, j] - row_max) - log_total


@kernel(*_ROWS_BACKWARD)
def _log_softmax_rows_backward(dy, y, zero, out):
    """out[r] = dy[r] - exp(y[r]) * sum(dy[r])."""
    scratch = shared_array(THREADS, y.dtype)
    for r in range(block_index.x, y.shape[0], grid_size.x):
        total = zero
        for j in range(thread_index.x, y.shape[1], THREADS):
            total += dy[r, j]
        total = block_sum(total, scratch)
        for j in range(thread_index.x, y.shape[1], THREADS):
            out[r, j] = dy[r, j] - math.exp(y[r, j]) * total


def _rows(a):
    """A device array of shape (..., n) as (rows, n) (a scalar: one row of one)."""
    a = to_device(a)
    width = a.shape[a.ndim - 1] if a.ndim else 1
    return a.reshape(a.size // max(width, 1), width)


def _apply_rows(kernel, *arrays):
    """kernel(*rows, zero, out), one block per row; out has the last array's shape. An empty
    result (no rows, or rows of no values) launches nothing."""
    rows = [_rows(a) for a in arrays]
    out = empty(rows[-1].shape, rows[-1].dtype)
    if out.size:
        kernel[blocks(out.shape[0], 1), THREADS](*rows, out.dtype.type(0), out)
    return out.reshape(arrays[-1].shape)


def softmax_forward(x):
    return _apply_rows(_softmax_rows, x)


def softmax_backward(dy, x, y):
    return _apply_rows(_softmax_rows_backward, dy, y)


def log_softmax_forward(x):
    return _apply_rows(_log_softmax_rows, x)


def log_softmax_backward(dy, x, y):
    return _apply_rows(_log_softmax_rows_backward, dy, y)
