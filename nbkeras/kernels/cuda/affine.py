"""Affine resampling of a batch of images as scipy.ndimage.affine_transform does it, over Numba
device arrays: the CUDA twin of kernels/cpu/affine.py (same name and semantics), whose
per-pixel arithmetic (`affine_program`) is compiled here as device functions.

One thread per output element (b, i, j, c), the channel fastest (coalesced writes): it maps
its pixel through matrices[b] and mixes at most four input cells, in float64 as scipy does
(so the float64 instructions in a float32 kernel are intended). No atomics, no shared memory.
"""
from __future__ import annotations

import numpy as np
from numba import types

from ..api import AFFINE_FILL_MODES
from ..cpu.affine import affine_program
from .runtime import FLOATS, THREADS, blocks, device, empty, grid, gridsize, kernel, to_device

__all__ = ["affine_transform_images"]

_source_point, _, _, _source_cells, _corners, _mix = affine_program(device)


@kernel(*[(t[::1], types.int64, types.int64, types.int64, types.float64[:, :, ::1],
           types.uint8[::1], types.uint8[:, ::1], types.int64, types.int64, types.float64,
           t[::1]) for t in FLOATS])
def _affine(x, rows, columns, channels, matrices, moved, flips, order, mode, cval, out):
    """out[b, i, j, c] = image b transformed by matrices[b] (moved[b]) or copied, read at
    row i and column j mirrored where flips[b] = (vertical, horizontal) says; x and out are
    (B, H, W, C) arrays flattened."""
    for e in range(grid(1), out.size, gridsize(1)):
        ch, pixel = e % channels, e // channels
        j, rest = pixel % columns, pixel // columns
        i, b = rest % rows, rest // rows
        r = rows - 1 - i if flips[b, 0] else i
        c = columns - 1 - j if flips[b, 1] else j
        image = b * rows * columns * channels
        if not moved[b]:
            out[e] = x[image + (r * columns + c) * channels + ch]
            continue
        row, col = _source_point(matrices, b, r, c)
        r0, r1, c0, c1, wr0, wc0, off = _source_cells(row, col, rows, columns, mode, order)
        if off:
            out[e] = cval
        else:
            p00, p01, p10, p11 = _corners(image, r0, r1, c0, c1, columns, channels)
            out[e] = _mix(x, p00 + ch, p01 + ch, p10 + ch, p11 + ch, wr0, wc0, order)


def affine_transform_images(x, matrices, moved, flips, order, mode, cval):
    """x (B, H, W, C) float -> (B, H, W, C) in x's dtype: image b resampled through the
    float64 (2, 3) matrices[b] where moved[b], then mirrored along rows / columns where
    flips[b] (bool (B, 2)) says."""
    x = to_device(x)
    out = empty(x.shape, x.dtype)
    if out.size:
        _affine[blocks(out.size), THREADS](
            x.reshape(x.size), *x.shape[1:], to_device(np.ascontiguousarray(matrices, np.float64)),
            to_device(np.ascontiguousarray(moved, np.uint8)),
            to_device(np.ascontiguousarray(flips, np.uint8)), int(order),
            AFFINE_FILL_MODES.index(mode), float(cval), out.reshape(out.size))
    return out
