"""Affine resampling of a batch of images exactly as `scipy.ndimage.affine_transform` does it
(orders 0 and 1, its legacy fill modes), which Keras's ImageDataGenerator calls per channel.

Each output pixel (r, c) reads the input at (row, col) = matrix[:, :2] @ (r, c) + matrix[:, 2],
summed in scipy's order in float64 and stored in x's dtype, so float32 results agree with
scipy's to the last bit. Fill modes (AFFINE_FILL_MODES in kernels/api.py) are scipy's, which
differ from kernels/cpu/sampling.py's (JAX's): "constant" gives cval wherever the coordinate
leaves [0, n - 1] (no blending across the border), "reflect" is half-sample symmetric, "wrap"
repeats with period n - 1, "nearest" clamps; taps that fall off the grid are mirrored
(constant, wrap) or moved by the mode itself (nearest, reflect). A flipped output axis reads
the transformed image mirrored, as Keras flips after transforming. `compile_axis_taps`
builds the per-axis rule for both devices.
"""
import math

import numpy as np
from numba import njit, prange

from ..api import AFFINE_FILL_MODES
from .parallel import launch

__all__ = ["affine_transform_images"]

CONSTANT, NEAREST, REFLECT, WRAP, MIRROR = 0, 1, 2, 3, 4   # AFFINE_FILL_MODES, then mirror


def map_coordinate(cc, n, mode):
    """scipy's map_coordinate: cc (float) moved into [0, n - 1] (about) by `mode`; -1.0 for
    a constant-mode coordinate off the grid."""
    if cc < 0:
        if mode == CONSTANT:
            return -1.0
        if mode == NEAREST or n <= 1:
            return 0.0
        if mode == REFLECT:
            period = 2 * n
            if cc < -period:
                cc = period * int(-cc / period) + cc
            if cc < -n:
                return cc + period
            return (1e-15 if cc > -1e-15 else -cc) - 1.0
        if mode == WRAP:
            period = n - 1
            return cc + period * (int(-cc / period) + 1)
        period = 2 * n - 2     # mirror
        cc = period * int(-cc / period) + cc
        return cc + period if cc <= 1 - n else -cc
    if cc > n - 1:
        if mode == CONSTANT:
            return -1.0
        if mode == NEAREST:
            return n - 1.0
        if n <= 1:
            return 0.0
        if mode == REFLECT:
            period = 2 * n
            cc -= period * int(cc / period)
            return period - cc - 1.0 if cc >= n else cc
        if mode == WRAP:
            period = n - 1
            return cc - period * int(cc / period)
        period = 2 * n - 2     # mirror
        cc -= period * int(cc / period)
        return period - cc if cc >= n else cc
    return cc


def compile_axis_taps(compile):
    """`axis_taps(cc, n, mode, order)` and the map_coordinate it calls, built by `compile`
    (`njit`, or a CUDA device function): one axis of one output pixel, (first cell, second
    cell, weight of the first, off); `off` is True where the constant mode gives cval, and
    order 0 uses only the first cell."""
    move = compile(map_coordinate)

    def axis_taps(cc, n, mode, order):
        inside = cc >= 0.0 and cc < n - 1      # the common case: nothing to map
        if not inside and mode != NEAREST:
            cc = move(cc, n, mode)
        if not (cc > -1.0 or mode == NEAREST):
            return 0, 0, 1.0, True
        floor = math.floor(cc)
        start = int(floor if order == 1 else math.floor(cc + 0.5))   # float on a GPU
        first, second = start, start + 1
        if not inside and (start < 0 or start + order >= n):
            edge = MIRROR if mode == CONSTANT or mode == WRAP else mode
            first = int(move(float(start), n, edge))
            second = int(move(float(start + 1), n, edge))
        return first, second, 1.0 - (cc - floor), False

    return compile(axis_taps)


_axis_taps = compile_axis_taps(njit(cache=True))


@njit(cache=True, parallel=True)
def _affine(x, matrices, moved, flips, order, mode, cval, out):
    """out[b, i, j] = image b transformed by matrices[b] (moved[b]) or copied, read at row i
    and column j mirrored where flips[b] = (vertical, horizontal) says; x and out (B, H, W, C)."""
    batch, rows, columns, channels = x.shape
    for task in prange(batch * rows):
        b, i = task // rows, task % rows
        r = rows - 1 - i if flips[b, 0] else i
        for j in range(columns):
            c = columns - 1 - j if flips[b, 1] else j
            if not moved[b]:
                for ch in range(channels):
                    out[b, i, j, ch] = x[b, r, c, ch]
                continue
            row = matrices[b, 0, 2]           # scipy's order of summation
            row += r * matrices[b, 0, 0]
            row += c * matrices[b, 0, 1]
            col = matrices[b, 1, 2]
            col += r * matrices[b, 1, 0]
            col += c * matrices[b, 1, 1]
            r0, r1, wr0, off_rows = _axis_taps(row, rows, mode, order)
            c0, c1, wc0, off_columns = _axis_taps(col, columns, mode, order)
            if off_rows or off_columns:
                for ch in range(channels):
                    out[b, i, j, ch] = cval
                continue
            if order == 0:
                for ch in range(channels):
                    out[b, i, j, ch] = x[b, r0, c0, ch]
                continue
            wr1, wc1 = 1.0 - wr0, 1.0 - wc0
            for ch in range(channels):
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
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    launch(_affine, x.size * (1 << (2 * order)), x, np.ascontiguousarray(matrices, np.float64),
           np.ascontiguousarray(moved, np.bool_), np.ascontiguousarray(flips, np.bool_),
           int(order), AFFINE_FILL_MODES.index(mode), float(cval), out)
    return out
