"""Scatter with a reduction: rows of values combined into rows of a target, in order, in one
Numba loop (numpy's `ufunc.at` does this element by element through Python-level dispatch).
The target rows are indices the host computed from the indices and shapes."""
import numpy as np
from numba import njit

from ..api import SCATTER_REDUCTIONS

__all__ = ["scatter_reduce"]


@njit(cache=True)
def _scatter(code, out, positions, values):
    """out[positions[i], j] = SCATTER_REDUCTIONS[code](out[positions[i], j], values[i, j]), i
    in order; max and min propagate NaN, as numpy's maximum and minimum."""
    for i in range(positions.size):
        row = out[positions[i]]
        for j in range(values.shape[1]):
            v = values[i, j]
            if code == 0:
                row[j] = v
            elif code == 1:
                row[j] += v
            elif code == 2:
                if v > row[j] or v != v:
                    row[j] = v
            elif code == 3:
                if v < row[j] or v != v:
                    row[j] = v
            else:
                row[j] *= v


def scatter_reduce(name, target, positions, values):
    """A copy of `target` with values[i] (values (n, *inner)) combined into row positions[i]
    of the target viewed as (rows, *inner), by `name`, one of SCATTER_REDUCTIONS ("set" keeps
    the last value written)."""
    out = np.array(target, order="C")
    positions = np.ascontiguousarray(positions, np.int64).reshape(-1)
    if positions.size and values.size:
        inner = values.size // positions.size
        _scatter(SCATTER_REDUCTIONS.index(name), out.reshape(-1, inner), positions,
                 np.ascontiguousarray(values, out.dtype).reshape(positions.size, inner))
    return out
