"""Scatter with a reduction on the GPU, deterministic and without atomics: the host groups
the updates by target row (a stable sort of the rows it computed from the indices), and one
thread per (row, column) combines its group's values in their original order, so "set" keeps
the last value and "mul", "max" and "min" need no atomic operation the hardware lacks."""
import numpy as np
from numba import types

from ..api import SCATTER_REDUCTIONS
from .array import INTS, cast, reshape
from .runtime import FLOATS, THREADS, blocks, grid, gridsize, kernel, to_device

__all__ = ["scatter_reduce"]

_INDEX = types.int64[::1]


@kernel(*[(types.int64, t[:, ::1], _INDEX, _INDEX, _INDEX, t[:, ::1]) for t in FLOATS + INTS])
def _scatter_groups(code, out, order, starts, positions, values):
    """Thread (g, j) combines column j of values[order[starts[g]:starts[g + 1]]] into row
    positions[order[starts[g]]] of out by SCATTER_REDUCTIONS[code], in order; max and min
    propagate NaN."""
    inner = out.shape[1]
    for t in range(grid(1), (starts.size - 1) * inner, gridsize(1)):
        g, j = t // inner, t % inner
        row = positions[order[starts[g]]]
        acc = out[row, j]
        for k in range(starts[g], starts[g + 1]):
            v = values[order[k], j]
            if code == 0:
                acc = v
            elif code == 1:
                acc += v
            elif code == 2:
                if v > acc or v != v:
                    acc = v
            elif code == 3:
                if v < acc or v != v:
                    acc = v
            else:
                acc *= v
        out[row, j] = acc


def scatter_reduce(name, target, positions, values):
    """A copy of `target` with values[i] (values (n, *inner)) combined into row positions[i]
    (a host array) of the target viewed as (rows, *inner), by `name`, one of
    SCATTER_REDUCTIONS ("set" keeps the last value written)."""
    code = SCATTER_REDUCTIONS.index(name)
    out = cast(target, target.dtype)                  # a fresh copy
    positions = np.ascontiguousarray(positions, np.int64).reshape(-1)
    if positions.size and values.size:
        inner = values.size // positions.size
        order = np.argsort(positions, kind="stable")
        rows = positions[order]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1], True])
        _scatter_groups[blocks((starts.size - 1) * inner), THREADS](
            code, reshape(out, (-1, inner)), to_device(order), to_device(starts),
            to_device(positions), reshape(cast(values, out.dtype), (positions.size, inner)))
    return out
