"""Sorting, selection and scans: numpy's own sorts, scans and binary search, plus a Numba
loop for the k largest of each row (numpy has no partial sort that keeps ties in order).
kernels/cuda/sorting.py exports the same names and signatures."""
import numpy as np
from numba import njit

__all__ = ["sort", "top_k", "scatter_columns", "cumsum", "cumprod", "searchsorted"]

SMALL_K = 32        # top_k keeps k running candidates per row up to here, else sorts the row


def sort(x):
    """(values, int64 indices) of x (..., n) sorted along its last axis: ascending, stable
    (equal values keep their order), NaN last."""
    indices = np.argsort(x, axis=-1, kind="stable")
    return np.take_along_axis(x, indices, axis=-1), indices


@njit(cache=True)
def _beats(v, w):
    """Whether v comes strictly before w in top_k's order: larger first, NaN largest."""
    if v != v:
        return w == w
    return v > w


@njit(cache=True)
def _top_k_rows(x, k, values, indices):
    """values[r], indices[r] = the k largest of x[r] in descending order, ties by index:
    each element that beats the current k-th enters by insertion (a later equal never
    displaces an earlier one)."""
    n_rows, n = x.shape
    for r in range(n_rows):
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
        _top_k_rows(rows, k, values, indices)
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


def searchsorted(sorted_sequence, values, right):
    """int64 insertion points of values in the ascending 1-D sorted_sequence: before the
    equal elements (right False) or after them (right True); NaN sorts last."""
    return np.searchsorted(sorted_sequence, values, side="right" if right else "left")
