"""Sorting, selection and scans over Numba device arrays: the CUDA twin of
kernels/cpu/sorting.py, with its names, signatures and results.

sort and top_k rank by counting: the thread of element j of a row counts the elements that
come before it in the order (value, then index), which is its position, a unique one, so it
writes itself there. That is O(n) reads per element, all threads of a warp reading the same
element (a broadcast): fast for rows up to a few thousand, O(n^2) work per row beyond. Scans
run one block per row in chunks of the block (a shared-memory Hillis-Steele scan per chunk,
plus the carry of the chunks before); cumprod's VJP is one thread per line, running
`kernels.cpu.sorting.cumprod_lines_backward` as a device function; searchsorted is a binary
search per value.
"""
from __future__ import annotations

import numpy as np
from numba import types
from numpy.lib.array_utils import normalize_axis_index

from ..cpu import sorting as host
from .array import (DTYPES, INTS, _device, _filled, _flat, _operand, cast,
                    inverse_permutation, transpose)
from .runtime import (FLOATS, THREADS, block_index, block_size, blocks, device, empty,
                      grid, grid_size, gridsize, kernel, shared_array, syncthreads,
                      thread_index)

__all__ = ["sort", "top_k", "scatter_columns", "cumsum", "cumprod", "cumprod_backward",
           "searchsorted"]

_cumprod_lines_backward = device(host.cumprod_lines_backward)


# ---------------------------------------------------------------------------- kernels

@device
def _before(v, i, w, j, descending):
    """Whether (v, i) comes before (w, j): by value (ascending with NaN last, or descending
    with NaN first), equal values by index."""
    if v != v:
        return (w == w or i < j) if descending else (w != w and i < j)
    if w != w:
        return not descending
    if descending:
        return v > w or (v == w and i < j)
    return v < w or (v == w and i < j)


@kernel(*[(t[:, ::1], types.boolean, t[:, ::1], types.int64[:, ::1]) for t in DTYPES])
def _rank_rows(x, descending, values, indices):
    """values[r, p], indices[r, p] = x[r, j], j for the element j of row r whose rank (the
    count of the row's elements before it) is p < values.shape[1]; one thread per element."""
    n = x.shape[1]
    k = values.shape[1]
    for e in range(grid(1), x.size, gridsize(1)):
        r = e // n
        j = e - r * n
        v = x[r, j]
        rank = 0
        for i in range(n):
            if _before(x[r, i], i, v, j, descending):
                rank += 1
        if rank < k:
            values[r, rank] = v
            indices[r, rank] = j


@kernel(*[(t[:, ::1], types.int64[:, ::1], t[:, ::1]) for t in DTYPES])
def _scatter_columns(dy, indices, out):
    """out[r, indices[r, j]] = dy[r, j] (distinct indices within a row)."""
    k = dy.shape[1]
    for e in range(grid(1), dy.size, gridsize(1)):
        r = e // k
        j = e - r * k
        out[r, indices[r, j]] = dy[r, j]


@kernel(*[(types.int64, t[:, ::1], t[:, ::1], t) for t in FLOATS + INTS])
def _scan_rows(op, x, out, identity):
    """out[r, j] = the sum (op 0) or product (op 1) of x[r, :j + 1]. One block per row (the
    blocks stride over rows) scans the row a block-wide chunk at a time: Hillis-Steele in
    shared memory (each step adds the value `step` places back), then the chunk's running
    results are combined with the carry of the chunks before."""
    chunk = shared_array(THREADS, x.dtype)
    t = thread_index.x
    n = x.shape[1]
    for r in range(block_index.x, x.shape[0], grid_size.x):
        carry = identity
        for start in range(0, n, block_size.x):
            j = start + t
            chunk[t] = x[r, j] if j < n else identity
            syncthreads()
            step = 1
            while step < block_size.x:
                other = chunk[t - step] if t >= step else identity
                syncthreads()
                chunk[t] = chunk[t] + other if op == 0 else chunk[t] * other
                syncthreads()
                step *= 2
            if j < n:
                out[r, j] = carry + chunk[t] if op == 0 else carry * chunk[t]
            total = chunk[block_size.x - 1]
            syncthreads()                   # all have read the chunk before the next one
            carry = carry + total if op == 0 else carry * total


@kernel(*[(t[::1], t[::1], t[::1], t[::1], types.int64, types.int64) for t in FLOATS])
def _cumprod_backward_lines(dy, x, out, product, n, inner):
    """cumprod_lines_backward on each line (o, :, q) of the arrays viewed as (outer, n,
    inner), one thread per line (product: one running value per line)."""
    for line in range(grid(1), product.shape[0], gridsize(1)):
        o = line // inner
        q = line - o * inner
        _cumprod_lines_backward(dy, x, out, product, o * n * inner, n, inner, q, q + 1,
                                o * inner)


@device
def _less(a, b):
    """numpy's sort order: a < b, with NaN after every number."""
    return a < b or (b != b and a == a)


@kernel(*[(t[::1], t[::1], types.boolean, types.int64[::1]) for t in FLOATS + INTS])
def _searchsorted(sequence, values, right, out):
    """out[i] = the insertion point of values[i] in the ascending sequence (binary search):
    the first position whose element is not less than it (left), or greater than it (right)."""
    for i in range(grid(1), values.size, gridsize(1)):
        v = values[i]
        low, high = 0, sequence.size
        while low < high:
            middle = (low + high) // 2
            if (not _less(v, sequence[middle])) if right else _less(sequence[middle], v):
                low = middle + 1
            else:
                high = middle
        out[i] = low


# ---------------------------------------------------------------------------- host launchers

def _rows(x):
    """x (..., n) as a C-contiguous (rows, n) device array."""
    x = _device(x)
    n = x.shape[-1] if x.ndim else 1
    return x.reshape(x.size // n if n else 0, n)


def _ranked(x, k, descending):
    x = _device(x)
    rows = _rows(x)
    values = empty((rows.shape[0], k), x.dtype)
    indices = empty((rows.shape[0], k), np.int64)
    if values.size:
        _rank_rows[blocks(rows.size), THREADS](rows, descending, values, indices)
    shape = tuple(x.shape[:-1]) + (k,)
    return values.reshape(shape), indices.reshape(shape)


def sort(x):
    """(values, int64 indices) of x (..., n) sorted along its last axis: ascending, stable
    (equal values keep their order), NaN last."""
    x = _device(x)
    return _ranked(x, x.shape[-1], False)


def top_k(x, k):
    """(values, int64 indices) of the k largest of x (..., n) along its last axis, largest
    first; NaN counts as largest, and equal values come in the order of their indices."""
    return _ranked(x, k, True)


def scatter_columns(dy, indices, n):
    """out (..., n): zeros, with out[..., indices[..., j]] = dy[..., j] (indices distinct
    within a row): the VJP of taking the columns `indices`."""
    dy = _device(dy)
    out = _filled(tuple(dy.shape[:-1]) + (n,), dy.dtype, 0)
    if dy.size:
        _scatter_columns[blocks(dy.size), THREADS](_rows(dy), _rows(_operand(indices, np.int64)),
                                                   _rows(out))
    return out


def _scan(op, x, axis):
    """Running sums (op 0) or products (op 1) along `axis`, in x's dtype: the axis is moved
    last (one transpose kernel unless it is last already), scanned, and moved back."""
    x = _device(x)
    if x.ndim == 0:
        return x
    axis = normalize_axis_index(axis, x.ndim)
    order = [a for a in range(x.ndim) if a != axis] + [axis]
    moved = transpose(x, order)
    out = empty(tuple(moved.shape), x.dtype)
    if out.size:
        _scan_rows[blocks(out.size // out.shape[-1], 1), THREADS](
            op, _rows(moved), _rows(out), x.dtype.type(1 if op else 0))
    return transpose(out, inverse_permutation(order))


def cumsum(x, axis):
    """Running sums of x along `axis`, in x's dtype."""
    return _scan(0, x, axis)


def cumprod(x, axis):
    """Running products of x along `axis`, in x's dtype."""
    return _scan(1, x, axis)


def cumprod_backward(dy, x, axis):
    """dx of y = cumprod(x, axis) given dy (float, x's shape), in x's dtype (float16 worked
    in float32): dx_i = L_i s_i, L_i the product of the x before i and s_i = dy_i + x_(i+1)
    s_(i+1), exact where x has zeros."""
    x = _device(x)
    axis = normalize_axis_index(axis, x.ndim)
    work = np.result_type(x.dtype, np.float32)
    out = empty(tuple(x.shape), work)
    n = x.shape[axis]
    if out.size:
        product = empty((out.size // n,), work)
        _cumprod_backward_lines[blocks(product.size), THREADS](
            _flat(_operand(dy, work)), _flat(_operand(x, work)), _flat(out), product, n,
            int(np.prod(x.shape[axis + 1:], dtype=np.int64)))
    return out if work == x.dtype else cast(out, x.dtype)


def searchsorted(sorted_sequence, values, right):
    """int64 insertion points of values in the ascending 1-D sorted_sequence: before the
    equal elements (right False) or after them (right True); NaN sorts last."""
    sequence, values = _device(sorted_sequence), _device(values)
    dtype = np.result_type(sequence.dtype, values.dtype)
    if dtype == np.bool_:
        dtype = np.dtype(np.int32)
    sequence, values = _operand(sequence, dtype), _operand(values, dtype)
    out = empty(tuple(values.shape), np.int64)
    if out.size:
        _searchsorted[blocks(out.size), THREADS](_flat(sequence), _flat(values), bool(right),
                                                 _flat(out))
    return out
