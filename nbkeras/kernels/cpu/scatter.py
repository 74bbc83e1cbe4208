"""Scatter with a reduction: values combined into cells of a flat target, in order, in one
Numba loop (numpy's `ufunc.at` does this element by element through Python-level dispatch).
The cells are flat indices the host computed from the indices and shapes."""
import numpy as np
from numba import njit

from ..api import SCATTER_REDUCTIONS

__all__ = ["scatter_reduce"]


@njit(cache=True)
def _scatter(code, out, positions, values):
    """out[positions[i]] = SCATTER_REDUCTIONS[code](out[positions[i]], values[i]), i in order;
    max and min propagate NaN, as numpy's maximum and minimum."""
    for i in range(positions.size):
        p = positions[i]
        v = values[i]
        if code == 0:
            out[p] = v
        elif code == 1:
            out[p] += v
        elif code == 2:
            if v > out[p] or v != v:
                out[p] = v
        elif code == 3:
            if v < out[p] or v != v:
                out[p] = v
        else:
            out[p] *= v


def scatter_reduce(name, target, positions, values):
    """A copy of `target` with values[i] combined into its flat cell positions[i] by `name`
    (one of SCATTER_REDUCTIONS: "set" keeps the last value written)."""
    out = np.array(target, order="C")
    _scatter(SCATTER_REDUCTIONS.index(name), out.reshape(-1),
             np.ascontiguousarray(positions, np.int64).reshape(-1),
             np.ascontiguousarray(values, out.dtype).reshape(-1))
    return out
