"""Affine resampling of a batch of images exactly as `scipy.ndimage.affine_transform` does it
(orders 0 and 1, its legacy fill modes), which Keras's ImageDataGenerator calls per channel.

Each output pixel (r, c) reads the input at (row, col) = matrix[:, :2] @ (r, c) + matrix[:, 2],
summed in scipy's order in float64 and stored in x's dtype, so float32 results agree with
scipy's to the last bit. Fill modes (AFFINE_FILL_MODES in kernels/api.py) are scipy's, which
differ from kernels/cpu/sampling.py's (JAX's): "constant" gives cval wherever the coordinate
leaves [0, n - 1] (no blending across the border), "reflect" is half-sample symmetric, "wrap"
repeats with period n - 1, "nearest" clamps; taps that fall off the grid are mirrored
(constant, wrap) or moved by the mode itself (nearest, reflect). A flipped output axis reads
the transformed image mirrored, as Keras flips after transforming. The per-pixel
arithmetic is plain Python (`affine_program`), compiled for each device; rows of the batch
run in parallel (one chunk of rows per thread, parallel.py).
"""
import math

import numpy as np
from numba import njit, uint64

from ..api import AFFINE_FILL_MODES
from .parallel import chunk_span, launch_chunks

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


def affine_program(compile, compile_edges=None):
    """(source_point, inside, first_cell, source_cells, corners, mix), built by `compile`
    (`njit`, or a CUDA device function): the per-pixel arithmetic of both devices. The fill
    modes' rules (source_cells and what it calls) are built by `compile_edges` if given (the
    CPU inlines the per-pixel steps but calls these: inlined, they cost seconds of compile).

    source_point(matrices, b, r, c): the input point (row, col) that pixel (r, c) of image b
    reads, summed in scipy's order.
    inside(row, col, rows, columns): whether the point and its cells are all on the grid (no
    fill mode to apply: the common case).
    first_cell(cc, order): (first cell, its weight) of an axis coordinate there.
    source_cells(row, col, rows, columns, mode, order): (r0, r1, c0, c1, wr0, wc0, off), the
    rows and columns of the point's cells after the fill mode and the weights of the first;
    `off` is True where the constant mode gives cval. Order 0 uses only (r0, c0).
    corners(image, r0, r1, c0, c1, columns, channels): the flat offsets of the four cells'
    first channels in a (B * H * W * C) array, image b starting at `image`.
    mix(x, p00, p01, p10, p11, wr0, wc0, order): x read at those offsets (plus a channel),
    in float64 summed in scipy's order (indices unsigned: Numba then skips its
    negative-index wraparound).
    """
    compile_edges = compile_edges or compile
    move = compile_edges(map_coordinate)

    def source_point(matrices, b, r, c):
        row = matrices[b, 0, 2]
        row += r * matrices[b, 0, 0]
        row += c * matrices[b, 0, 1]
        col = matrices[b, 1, 2]
        col += r * matrices[b, 1, 0]
        col += c * matrices[b, 1, 1]
        return row, col

    def inside(row, col, rows, columns):
        return (row >= 0.0) & (row < rows - 1) & (col >= 0.0) & (col < columns - 1)

    def cell(cc, order):
        floor = math.floor(cc)
        start = int(floor if order == 1 else math.floor(cc + 0.5))   # float on a GPU
        return start, 1.0 - (cc - floor)

    first_cell = compile(cell)

    def axis_taps(cc, n, mode, order):
        """(first cell, second cell, weight of the first, off) of one axis."""
        if mode != NEAREST:
            cc = move(cc, n, mode)
        if not (cc > -1.0 or mode == NEAREST):
            return 0, 0, 1.0, True
        start, weight = first_cell(cc, order)
        first, second = start, start + 1
        if start < 0 or start + order >= n:
            edge = MIRROR if mode == CONSTANT or mode == WRAP else mode
            first = int(move(float(start), n, edge))
            second = int(move(float(start + 1), n, edge))
        return first, second, weight, False

    taps = compile_edges(axis_taps)
    on_grid = compile(inside)

    def source_cells(row, col, rows, columns, mode, order):
        if on_grid(row, col, rows, columns):
            r0, wr0 = first_cell(row, order)
            c0, wc0 = first_cell(col, order)
            return r0, r0 + 1, c0, c0 + 1, wr0, wc0, False
        r0, r1, wr0, off_rows = taps(row, rows, mode, order)
        c0, c1, wc0, off_columns = taps(col, columns, mode, order)
        return r0, r1, c0, c1, wr0, wc0, off_rows or off_columns

    def corners(image, r0, r1, c0, c1, columns, channels):
        return (image + (r0 * columns + c0) * channels, image + (r0 * columns + c1) * channels,
                image + (r1 * columns + c0) * channels, image + (r1 * columns + c1) * channels)

    def mix(x, p00, p01, p10, p11, wr0, wc0, order):
        if order == 0:
            return x[uint64(p00)]
        wr1, wc1 = 1.0 - wr0, 1.0 - wc0
        t = 0.0
        t += x[uint64(p00)] * wr0 * wc0
        t += x[uint64(p01)] * wr0 * wc1
        t += x[uint64(p10)] * wr1 * wc0
        t += x[uint64(p11)] * wr1 * wc1
        return t

    return (compile(source_point), on_grid, first_cell, compile_edges(source_cells),
            compile(corners), compile(mix))


(_source_point, _inside, _first_cell, _source_cells, _corners,
 _mix) = affine_program(njit(inline="always"), njit)


@njit(cache=True, nogil=True, error_model="numpy")
def _affine(t, chunks, x, matrices, moved, flips, order, mode, cval, out):
    """out[b, i, j] = image b transformed by matrices[b] (moved[b]) or copied, read at row i
    and column j mirrored where flips[b] = (vertical, horizontal) says, for the rows (b, i)
    of chunk t of `chunks`; x and out (B, H, W, C). Each row's points, cells and weights
    are computed first in one vector pass, then mixed; points off the grid go through the
    fill mode."""
    batch, rows, columns, channels = x.shape
    x_flat, out_flat = x.reshape(-1), out.reshape(-1)
    points = np.empty((2, columns))
    cells = np.empty((2, columns), np.int64)
    weights = np.empty((2, columns))
    on_grid = np.empty(columns, np.bool_)
    start, stop = chunk_span(t, chunks, batch * rows)
    for task in range(start, stop):
        b, i = task // rows, task % rows
        r = rows - 1 - i if flips[b, 0] else i
        flip_columns = flips[b, 1]
        if not moved[b]:
            for j in range(columns):
                c = columns - 1 - j if flip_columns else j
                for ch in range(channels):
                    out[b, i, j, ch] = x[b, r, c, ch]
            continue
        for j in range(columns):
            row, col = _source_point(matrices, b, r, columns - 1 - j if flip_columns else j)
            points[0, j], points[1, j] = row, col
            cells[0, j], weights[0, j] = _first_cell(row, order)
            cells[1, j], weights[1, j] = _first_cell(col, order)
            on_grid[j] = _inside(row, col, rows, columns)
        image = b * rows * columns * channels
        for j in range(columns):
            o = ((b * rows + i) * columns + j) * channels
            if on_grid[j]:
                r0, c0, wr0, wc0 = cells[0, j], cells[1, j], weights[0, j], weights[1, j]
                r1, c1 = r0 + 1, c0 + 1
            else:
                r0, r1, c0, c1, wr0, wc0, off = _source_cells(points[0, j], points[1, j], rows,
                                                              columns, mode, order)
                if off:
                    for ch in range(channels):
                        out_flat[o + ch] = cval
                    continue
            p00, p01, p10, p11 = _corners(image, r0, r1, c0, c1, columns, channels)
            for ch in range(channels):
                out_flat[uint64(o + ch)] = _mix(x_flat, p00 + ch, p01 + ch, p10 + ch, p11 + ch,
                                                wr0, wc0, order)


def affine_transform_images(x, matrices, moved, flips, order, mode, cval):
    """x (B, H, W, C) float -> (B, H, W, C) in x's dtype: image b resampled through the
    float64 (2, 3) matrices[b] where moved[b], then mirrored along rows / columns where
    flips[b] (bool (B, 2)) says."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    launch_chunks(_affine, x.size * (1 << (2 * order)), x,
                  np.ascontiguousarray(matrices, np.float64),
                  np.ascontiguousarray(moved, np.bool_), np.ascontiguousarray(flips, np.bool_),
                  int(order), AFFINE_FILL_MODES.index(mode), float(cval), out)
    return out
