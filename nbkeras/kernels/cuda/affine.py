"""Affine resampling of a batch of images as scipy.ndimage.affine_transform does it, over Numba
device arrays: the CUDA twin of kernels/cpu/affine.py (same name, semantics and per-axis
rule, compiled here as inlined device functions).

One thread per output element (b, i, j, c), the channel fastest (coalesced writes): it maps
its pixel through matrices[b] and mixes at most four input cells, in float64 as scipy does
(so the float64 instructions in a float32 kernel are intended). No atomics, no shared memory.
"""
from __future__ import annotations

import numpy as np
from numba import types

from ..api import AFFINE_FILL_MODES
from ..cpu.affine import compile_axis_taps
from .runtime import FLOATS, THREADS, blocks, device, empty, grid, gridsize, kernel, to_device

__all__ = ["affine_transform_images"]

_axis_taps = compile_axis_taps(device)


@kernel(*[(t[:, :, :, ::1], types.float64[:, :, ::1], types.uint8[::1], types.uint8[:, ::1],
           types.int64, types.int64, types.float64, t[:, :, :, ::1]) for t in FLOATS])
def _affine(x, matrices, moved, flips, order, mode, cval, out):
    """out[b, i, j, c] = image b transformed by matrices[b] (moved[b]) or copied, read at
    row i and column j mirrored where flips[b] = (vertical, horizontal) says."""
    batch, rows, columns, channels = x.shape
    for e in range(grid(1), out.size, gridsize(1)):
        ch, rest = e % channels, e // channels
        j, rest = rest % columns, rest // columns
        i, b = rest % rows, rest // rows
        r = rows - 1 - i if flips[b, 0] else i
        c = columns - 1 - j if flips[b, 1] else j
        if not moved[b]:
            out[b, i, j, ch] = x[b, r, c, ch]
            continue
        row = matrices[b, 0, 2]               # scipy's order of summation
        row += r * matrices[b, 0, 0]
        row += c * matrices[b, 0, 1]
        col = matrices[b, 1, 2]
        col += r * matrices[b, 1, 0]
        col += c * matrices[b, 1, 1]
        r0, r1, wr0, off_rows = _axis_taps(row, rows, mode, order)
        c0, c1, wc0, off_columns = _axis_taps(col, columns, mode, order)
        if off_rows or off_columns:
            out[b, i, j, ch] = cval
        elif order == 0:
            out[b, i, j, ch] = x[b, r0, c0, ch]
        else:
            wr1, wc1 = 1.0 - wr0, 1.0 - wc0
            t = 0.0
            t += x[b, r0, c0, ch] * wr0 * wc0
            t += x[b, r0, c1, ch] * wr0 * wc1
            t += x[b, r1, c0, ch] * wr1 * wc0
            t += x[b, r1, c1, ch] * wr1 * wc1
            out[b, i, j, ch] = t


def affine_transform_images(x, matrices, moved, flips, order, mode, cval):
    """x (B, H, W, C) float -> (B, H, W, C) in x's dtype: image b resampled through the
    float64 (2, 3) matrices[b] where moved[b], then mirrored along rows / columns where
    flips[b] (bool (B, 2)) says."""
    x = to_device(x)
    out = empty(x.shape, x.dtype)
    if out.size:
        _affine[blocks(out.size), THREADS](
            x, to_device(np.ascontiguousarray(matrices, np.float64)),
            to_device(np.ascontiguousarray(moved, np.uint8)),
            to_device(np.ascontiguousarray(flips, np.uint8)), int(order),
            AFFINE_FILL_MODES.index(mode), float(cval), out)
    return out
