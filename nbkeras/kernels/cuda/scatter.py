"""Scatter with a reduction on the GPU, deterministic and without atomics: the host groups
the updates by target cell (a stable sort of the flat cells it computed from the indices),
and one thread per cell combines its group's values in their original order, so "set" keeps
the last value and "mul", "max" and "min" need no atomic operation the hardware lacks."""
import numpy as np
from numba import types

from ..api import SCATTER_REDUCTIONS
from .array import INTS, cast, reshape
from .runtime import FLOATS, THREADS, blocks, grid, gridsize, kernel, to_device

__all__ = ["scatter_reduce"]

_INDEX = types.int64[::1]


@kernel(*[(types.int64, t[::1], _INDEX, _INDEX, _INDEX, t[::1]) for t in FLOATS + INTS])
def _scatter_groups(code, out, order, starts, positions, values):
    """Thread g combines values[order[starts[g]:starts[g + 1]]] into out at their common cell
    by SCATTER_REDUCTIONS[code], in order; max and min propagate NaN."""
    for g in range(grid(1), starts.size - 1, gridsize(1)):
        cell = positions[order[starts[g]]]
        acc = out[cell]
        for j in range(starts[g], starts[g + 1]):
            v = values[order[j]]
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
        out[cell] = acc


def scatter_reduce(name, target, positions, values):
    """A copy of `target` with values[i] combined into its flat cell positions[i] (a host
    array) by `name`, one of SCATTER_REDUCTIONS ("set" keeps the last value written)."""
    code = SCATTER_REDUCTIONS.index(name)
    out = cast(target, target.dtype)                  # a fresh copy
    positions = np.ascontiguousarray(positions, np.int64).reshape(-1)
    if positions.size:
        order = np.argsort(positions, kind="stable")
        cells = positions[order]
        starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1], True])
        flat_values = reshape(cast(values, out.dtype), (-1,))
        _scatter_groups[blocks(starts.size - 1), THREADS](
            code, reshape(out, (-1,)), to_device(order), to_device(starts), to_device(positions),
            flat_values)
    return out
