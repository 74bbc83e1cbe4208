"""Sorting, selection and scans: numpy's own sorts, scans and binary search, plus Numba
loops where numpy is slow or lacks the operation.

Sorting rows of 32-bit-or-narrower numbers packs each element's order key and its column
into one uint64 (key in the high half, column in the low), so numpy's fast unstable integer
sort gives the stable order and the indices in one pass; wider dtypes use numpy's stable
argsort. The k largest of each row are kept by insertion, in parallel over rows (numpy has
no partial sort that keeps ties in order). cumprod's VJP walks each line twice
(`cumprod_lines_backward`, plain Python that kernels/cuda/sorting.py compiles too).
kernels/cuda/sorting.py exports the same names and signatures."""
import math

import numpy as np
from numba import njit, prange
from numpy.lib.array_utils import normalize_axis_index

from .parallel import launch

__all__ = ["sort", "top_k", "scatter_columns", "cumsum", "cumprod", "cumprod_backward",
           "searchsorted"]

SMALL_K = 32        # top_k keeps k running candidates per row up to here, else sorts the row


@njit(cache=True, inline="always")
def _float_key(bits):
    """uint64 whose order is numpy's order of the float32 with these uint32 bits: -0.0
    equals 0.0, and every NaN is one NaN after +inf."""
    bits = np.uint64(bits)
    magnitude = bits & np.uint64(0x7FFFFFFF)
    if magnitude > np.uint64(0x7F800000):
        return np.uint64(0xFFC00000)
    if magnitude == np.uint64(0) or bits < np.uint64(0x80000000):
        return magnitude | np.uint64(0x80000000)
    return np.uint64(0x7FFFFFFF) - magnitude


@njit(cache=True, parallel=True)
def _packed_float_keys(rows, keys):
    """keys[r, j] = order key of the float32 whose bits are rows[r, j] (uint32) << 32 | j."""
    for r in prange(rows.shape[0]):
        for j in range(rows.shape[1]):
            keys[r, j] = (_float_key(rows[r, j]) << np.uint64(32)) | np.uint64(j)


@njit(cache=True, parallel=True)
def _packed_integer_keys(rows, offset, keys):
    """keys[r, j] = (rows[r, j] + offset) << 32 | j, for integers that offset makes
    non-negative and below 2**32."""
    for r in prange(rows.shape[0]):
        for j in range(rows.shape[1]):
            keys[r, j] = (np.uint64(np.int64(rows[r, j]) + offset) << np.uint64(32)) | np.uint64(j)


@njit(cache=True, parallel=True)
def _unpack_sorted(keys, rows, values, indices):
    """indices[r] = the columns in the sorted keys[r], values[r] = rows[r] at them (both
    unsigned views of one dtype)."""
    for r in prange(keys.shape[0]):
        for j in range(keys.shape[1]):
            column = np.int64(keys[r, j] & np.uint64(0xFFFFFFFF))
            indices[r, j] = column
            values[r, j] = rows[r, column]


def _packable(dtype) -> bool:
    return dtype.itemsize <= 4 and dtype.kind in "fiub"


def sort(x):
    """(values, int64 indices) of x (..., n) sorted along its last axis: ascending, stable
    (equal values keep their order), NaN last."""
    n = x.shape[-1]
    if not _packable(x.dtype) or n == 0 or x.size == 0:
        indices = np.argsort(x, axis=-1, kind="stable")
        return np.take_along_axis(x, indices, axis=-1), indices
    rows = np.ascontiguousarray(x).reshape(-1, n)
    keys = np.empty(rows.shape, np.uint64)
    if x.dtype.kind == "f":
        launch(_packed_float_keys, x.size, rows.astype(np.float32, copy=False).view(np.uint32),
               keys)
    else:
        offset = -int(np.iinfo(x.dtype).min) if x.dtype.kind == "i" else 0
        launch(_packed_integer_keys, x.size, rows.view(np.uint8) if x.dtype == bool else rows,
               offset, keys)
    keys.sort(axis=-1)
    values = np.empty_like(rows)
    indices = np.empty(rows.shape, np.int64)
    bits = np.dtype(f"u{x.dtype.itemsize}")   # moves values as bits: float16 and bool too
    launch(_unpack_sorted, x.size, keys, rows.view(bits), values.view(bits), indices)
    return values.reshape(x.shape), indices.reshape(x.shape)


@njit(cache=True)
def _beats(v, w):
    """Whether v comes strictly before w in top_k's order: larger first, NaN largest."""
    if v != v:
        return w == w
    return v > w


@njit(cache=True, parallel=True)
def _top_k_rows(x, k, values, indices):
    """values[r], indices[r] = the k largest of x[r] in descending order, ties by index:
    each element that beats the current k-th enters by insertion (a later equal never
    displaces an earlier one)."""
    n_rows, n = x.shape
    for r in prange(n_rows):
        filled = 0
        for j in range(n):
            v = x[r, j]
            if filled == k and not _beats(v, values[r, k - 1]):
                continue
            p = filled if filled < k else k - 1
            while p > 0 and _beats(v, values[r, p - 1]):
                values[r, p] = values[r, p - 1]
                indices[r, p] = indices[r, p - 1]
                p -= 1
            values[r, p] = v
            indices[r, p] = j
            if filled < k:
                filled += 1


def top_k(x, k):
    """(values, int64 indices) of the k largest of x (..., n) along its last axis, largest
    first; NaN counts as largest, and equal values come in the order of their indices."""
    n = x.shape[-1]
    if k > SMALL_K:
        # a stable ascending sort of the reversed row, reversed, puts ties in index order
        order = np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1]
        indices = n - 1 - order[..., :k]
        return np.take_along_axis(x, indices, axis=-1), indices
    rows = np.ascontiguousarray(x).reshape(-1, n)
    values = np.empty((rows.shape[0], k), x.dtype)
    indices = np.empty((rows.shape[0], k), np.int64)
    if k:
        launch(_top_k_rows, rows.shape[0] * n, rows, k, values, indices)
    return values.reshape(x.shape[:-1] + (k,)), indices.reshape(x.shape[:-1] + (k,))


def scatter_columns(dy, indices, n):
    """out (..., n): zeros, with out[..., indices[..., j]] = dy[..., j] (indices distinct
    within a row): the VJP of taking the columns `indices`."""
    out = np.zeros(dy.shape[:-1] + (n,), dy.dtype)
    np.put_along_axis(out, indices, dy, axis=-1)
    return out


def cumsum(x, axis):
    """Running sums of x along `axis`, in x's dtype."""
    return np.cumsum(x, axis=axis, dtype=x.dtype)


def cumprod(x, axis):
    """Running products of x along `axis`, in x's dtype."""
    return np.cumprod(x, axis=axis, dtype=x.dtype)


def cumprod_lines_backward(dy, x, out, product, base, n, inner, q0, q1, p0):
    """out[e(j, q)] = dx of y = cumprod along the lines e(j, q) = base + j inner + q, j < n
    (>= 1), q0 <= q < q1, of the flat arrays, a row of lines at a time (contiguous in q):
    L s for L = x_0 ... x_(j-1) (running in product[p0 + q]) and the reverse recurrence
    s_j = dy_j + x_(j+1) s_(j+1), s_(n-1) = dy_(n-1) (first held in out). No division:
    exact at zeros of x."""
    last = base + (n - 1) * inner
    for q in range(q0, q1):
        out[last + q] = dy[last + q]
    for j in range(n - 2, -1, -1):
        row = base + j * inner
        for q in range(q0, q1):
            out[row + q] = dy[row + q] + x[row + inner + q] * out[row + inner + q]
    for q in range(q0, q1):
        product[p0 + q] = x[base + q]
    for j in range(1, n):
        row = base + j * inner
        for q in range(q0, q1):
            out[row + q] *= product[p0 + q]
            product[p0 + q] *= x[row + q]


_cumprod_lines_backward = njit(cache=True)(cumprod_lines_backward)


@njit(cache=True)
def _cumprod_backward_lines(dy, x, out, n, inner):
    """cumprod_lines_backward over the arrays viewed as (outer, n, inner), one o at a time."""
    product = np.empty(inner, out.dtype)
    for o in range(out.size // (n * inner)):
        _cumprod_lines_backward(dy, x, out, product, o * n * inner, n, inner, 0, inner, 0)


def cumprod_backward(dy, x, axis):
    """dx of y = cumprod(x, axis) given dy (float, x's shape), in x's dtype (float16 worked
    in float32): dx_i = L_i s_i, L_i the product of the x before i and s_i = dy_i + x_(i+1)
    s_(i+1), exact where x has zeros."""
    axis = normalize_axis_index(axis, x.ndim)
    work = np.result_type(x.dtype, np.float32)
    out = np.empty(x.shape, work)
    if out.size:
        _cumprod_backward_lines(np.ascontiguousarray(dy, work).reshape(-1),
                                np.ascontiguousarray(x, work).reshape(-1), out.reshape(-1),
                                x.shape[axis], math.prod(x.shape[axis + 1:]))
    return out.astype(x.dtype, copy=False)


def searchsorted(sorted_sequence, values, right):
    """int64 insertion points of values in the ascending 1-D sorted_sequence: before the
    equal elements (right False) or after them (right True); NaN sorts last."""
    return np.searchsorted(sorted_sequence, values, side="right" if right else "left")
