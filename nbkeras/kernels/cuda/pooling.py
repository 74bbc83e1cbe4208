"""N-d max, average and sum pooling (1-D, 2-D and 3-D), channels_last, over Numba device
arrays: the CUDA twin of kernels/cpu/pooling.py, with its names, signatures and semantics.

x is (N, *spatial, C); padding is explicit, one (before, after) pair per spatial axis, and is
never materialized: each window is clipped to the input, so max pooling ignores padded cells
and average pooling divides by the count of real cells (Keras's "same"). 1-D and 2-D
problems run as 3-D ones with leading axes of size 1, so each kernel compiles once per dtype.

Every kernel is a grid-stride loop (min(cells / THREADS, MAX_BLOCKS) blocks of THREADS
threads) with one thread per cell it writes, the channel fastest, so neighbouring threads
read and write neighbouring addresses (coalesced), and no two threads write one cell (no
atomics; the CPU's sums in the CPU's order). With S input and O output positions per image
and k cells per window (sizes in elements, times the itemsize for bytes):
- forwards: one thread per output cell reads its clipped window. FLOPs N*O*C*k; loads
  N*O*C*k through L1/L2, DRAM N*S*C + N*O*C.
- backwards: one thread per input cell gathers from the windows that contain it (a range
  per axis, computed: about k/s^rank windows). Average pooling adds dy / count per window.
  Max pooling passes dy on where the cell equals the window's maximum y and no earlier cell
  of the window does (only a window's maximum pays that scan of at most k cells): the CPU's
  "first maximal cell wins". FLOPs about N*S*C*k/s^rank (+ N*O*C*k for the scans of max
  pooling); loads of dy (and y) about N*S*C*k/s^rank through L1/L2, DRAM N*S*C (x, and dx
  written) + N*O*C (dy, and y).
Counts and constants enter typed (`zero`, `one` of the array's dtype): a float32 kernel does
no float64 arithmetic.
"""
from __future__ import annotations

import numpy as np
from numba import types

from .runtime import (FLOATS, THREADS, blocks, device, empty, grid, gridsize, is_device_array,
                      kernel, to_device, to_host)

__all__ = ["max_pool_forward", "max_pool_backward", "average_pool_forward",
           "average_pool_backward", "sum_pool_forward"]

# (batch, depth, height, width, channels, od, oh, ow, kd, kh, kw, s0, s1, s2, pad0, pad1,
#  pad2): the 3-D problem, passed as kernel parameters
GEOMETRY = types.UniTuple(types.int64, 17)


@device
def _clipped(i, stride, pad, size, extent):
    """The input range [lo, hi) of output index i along one axis, clipped to the input."""
    start = i * stride - pad
    return max(start, 0), min(start + size, extent)


@device
def _containing(t, stride, size, count):
    """The output range [lo, hi) whose windows contain the input cell at t = index + pad
    along one axis: i * stride <= t < i * stride + size, 0 <= i < count."""
    lo = 0 if t < size else (t - size) // stride + 1
    return lo, min(t // stride + 1, count)


@device
def _length(lo, hi, zero, one):
    """hi - lo as a float of zero's type (an int would promote float32 math to float64)."""
    n = zero
    for _ in range(lo, hi):
        n += one
    return n


@device
def _unflatten(e, depth, height, width, channels):
    """(n, d, h, w, c) of flat index e of an (N, depth, height, width, channels) array."""
    c, rest = e % channels, e // channels
    w, rest = rest % width, rest // width
    h, rest = rest % height, rest // height
    return rest // depth, rest % depth, h, w, c


@device
def _cell(e, geometry):
    """(n, i, j, l, c) of flat index e of the (N, od, oh, ow, C) output."""
    return _unflatten(e, geometry[5], geometry[6], geometry[7], geometry[4])


@device
def _input_cell(e, geometry):
    """(n, z, v, u, c) of flat index e of the (N, D, H, W, C) input."""
    return _unflatten(e, geometry[1], geometry[2], geometry[3], geometry[4])


@kernel(*[(t[::1], t[::1], GEOMETRY, t) for t in FLOATS])
def _max_pool(x, y, geometry, lowest):
    """y[n, i, j, l, c] = max of x[n, ., c] over the clipped window of (i, j, l) (`lowest`
    for a window wholly in the padding); a NaN anywhere in the window makes it NaN, as on
    the CPU and in Keras."""
    (batch, depth, height, width, channels, od, oh, ow, kd, kh, kw,
     s0, s1, s2, pad0, pad1, pad2) = geometry
    for e in range(grid(1), y.size, gridsize(1)):
        n, i, j, l, c = _cell(e, geometry)
        z0, z1 = _clipped(i, s0, pad0, kd, depth)
        v0, v1 = _clipped(j, s1, pad1, kh, height)
        u0, u1 = _clipped(l, s2, pad2, kw, width)
        best = lowest
        if z0 < z1 and v0 < v1 and u0 < u1:
            best = x[(((n * depth + z0) * height + v0) * width + u0) * channels + c]
        for z in range(z0, z1):
            for v in range(v0, v1):
                for u in range(u0, u1):
                    value = x[(((n * depth + z) * height + v) * width + u) * channels + c]
                    best = value if value > best or value != value else best
        y[e] = best


@device
def _first_equal(x, m, n, c, geometry, z0, v0, v1, u0, u1, z, v, u):
    """Whether (z, v, u) is the first cell, in row-major order over the clipped window
    [z0, .) x [v0, v1) x [u0, u1) of image n, channel c, whose value equals m."""
    depth, height, width, channels = geometry[1], geometry[2], geometry[3], geometry[4]
    for p in range(z0, z + 1):
        for q in range(v0, v1):
            for r in range(u0, u1):
                if p == z and q == v and r == u:
                    return True
                if x[(((n * depth + p) * height + q) * width + r) * channels + c] == m:
                    return False
    return True


@kernel(*[(t[::1], t[::1], t[::1], t[::1], GEOMETRY, t) for t in FLOATS])
def _max_pool_backward(dy, x, y, dx, geometry, zero):
    """dx[n, z, v, u, c] = sum of dy over the windows containing (z, v, u) whose first cell
    equal to their maximum y is this one (windows in order, as the CPU adds them)."""
    (batch, depth, height, width, channels, od, oh, ow, kd, kh, kw,
     s0, s1, s2, pad0, pad1, pad2) = geometry
    for e in range(grid(1), dx.size, gridsize(1)):
        n, z, v, u, c = _input_cell(e, geometry)
        value = x[e]
        i0, i1 = _containing(z + pad0, s0, kd, od)
        j0, j1 = _containing(v + pad1, s1, kh, oh)
        l0, l1 = _containing(u + pad2, s2, kw, ow)
        total = zero
        for i in range(i0, i1):
            for j in range(j0, j1):
                for l in range(l0, l1):
                    out = (((n * od + i) * oh + j) * ow + l) * channels + c
                    m = y[out]
                    if value == m:
                        z_lo, _ = _clipped(i, s0, pad0, kd, depth)
                        v_lo, v_hi = _clipped(j, s1, pad1, kh, height)
                        u_lo, u_hi = _clipped(l, s2, pad2, kw, width)
                        if _first_equal(x, m, n, c, geometry, z_lo, v_lo, v_hi, u_lo, u_hi,
                                        z, v, u):
                            total += dy[out]
        dx[e] = total


@kernel(*[(t[::1], t[::1], GEOMETRY, types.boolean, t, t) for t in FLOATS])
def _sum_pool(x, y, geometry, mean, zero, one):
    """y[n, i, j, l, c] = sum of x[n, ., c] over the real cells of window (i, j, l), times
    1 / their count if `mean`."""
    (batch, depth, height, width, channels, od, oh, ow, kd, kh, kw,
     s0, s1, s2, pad0, pad1, pad2) = geometry
    for e in range(grid(1), y.size, gridsize(1)):
        n, i, j, l, c = _cell(e, geometry)
        z0, z1 = _clipped(i, s0, pad0, kd, depth)
        v0, v1 = _clipped(j, s1, pad1, kh, height)
        u0, u1 = _clipped(l, s2, pad2, kw, width)
        total = zero
        for z in range(z0, z1):
            for v in range(v0, v1):
                for u in range(u0, u1):
                    total += x[(((n * depth + z) * height + v) * width + u) * channels + c]
        if mean:
            total *= one / (_length(z0, z1, zero, one) * _length(v0, v1, zero, one)
                            * _length(u0, u1, zero, one))
        y[e] = total


@kernel(*[(t[::1], t[::1], GEOMETRY, t, t) for t in FLOATS])
def _average_pool_backward(dy, dx, geometry, zero, one):
    """dx[n, z, v, u, c] = sum over the windows containing (z, v, u) of dy / the window's
    count of real cells (windows in order, as the CPU adds them)."""
    (batch, depth, height, width, channels, od, oh, ow, kd, kh, kw,
     s0, s1, s2, pad0, pad1, pad2) = geometry
    for e in range(grid(1), dx.size, gridsize(1)):
        n, z, v, u, c = _input_cell(e, geometry)
        i0, i1 = _containing(z + pad0, s0, kd, od)
        j0, j1 = _containing(v + pad1, s1, kh, oh)
        l0, l1 = _containing(u + pad2, s2, kw, ow)
        total = zero
        for i in range(i0, i1):
            z_lo, z_hi = _clipped(i, s0, pad0, kd, depth)
            for j in range(j0, j1):
                v_lo, v_hi = _clipped(j, s1, pad1, kh, height)
                for l in range(l0, l1):
                    u_lo, u_hi = _clipped(l, s2, pad2, kw, width)
                    count = (_length(z_lo, z_hi, zero, one) * _length(v_lo, v_hi, zero, one)
                             * _length(u_lo, u_hi, zero, one))
                    total += dy[(((n * od + i) * oh + j) * ow + l) * channels + c] * (one / count)
        dx[e] = total


# ---- host side ----------------------------------------------------------------------------

def _lift(values, fill) -> tuple:
    """Per-axis values of a 1-D or 2-D problem, led by `fill` to three axes."""
    return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)


def _flat(a, dtype):
    """a as a flat C-contiguous device array of `dtype` (moved or converted when needed)."""
    if is_device_array(a) and a.dtype != dtype:
        a = to_host(a)
    a = to_device(np.asarray(a, dtype) if not is_device_array(a) else a)
    return a.reshape(a.size)


def _setup(x_shape, window):
    """(GEOMETRY tuple, output shape) of pooling x_shape (N, *spatial, C) over window."""
    x_shape = tuple(int(n) for n in x_shape)
    out = window.output_spatial(x_shape[1:-1])
    geometry = (x_shape[0], *_lift(x_shape[1:-1], 1), x_shape[-1], *_lift(out, 1),
                *_lift(window.size, 1), *_lift(window.strides, 1),
                *_lift([b for b, _ in window.padding], 0))
    return geometry, (x_shape[0], *out, x_shape[-1])


def _launch(pool_kernel, cells: int, *args) -> None:
    if cells:
        pool_kernel[blocks(cells), THREADS](*args)


def max_pool_forward(x, window):
    """Max over each window (a Window: size, strides, padding pairs) of x (N, *spatial, C)."""
    geometry, out_shape = _setup(x.shape, window)
    y = empty(out_shape, x.dtype)
    _launch(_max_pool, y.size, _flat(x, x.dtype), y.reshape(y.size), geometry,
            x.dtype.type(-np.inf))
    return y


def max_pool_backward(dy, x, y, window):
    """dL/dx: each dy goes to the first cell of its window that equals the maximum y."""
    geometry, _ = _setup(x.shape, window)
    dx = empty(tuple(x.shape), x.dtype)
    _launch(_max_pool_backward, dx.size, _flat(dy, x.dtype), _flat(x, x.dtype),
            _flat(y, x.dtype), dx.reshape(dx.size), geometry, x.dtype.type(0))
    return dx


def _sum_pool_forward(x, window, mean: bool):
    geometry, out_shape = _setup(x.shape, window)
    y = empty(out_shape, x.dtype)
    _launch(_sum_pool, y.size, _flat(x, x.dtype), y.reshape(y.size), geometry, mean,
            x.dtype.type(0), x.dtype.type(1))
    return y


def average_pool_forward(x, window):
    """Mean over the real cells of each window; x (N, *spatial, C)."""
    return _sum_pool_forward(x, window, True)


def sum_pool_forward(x, window):
    """Sum over the real cells of each window (the adjoint of nearest upsampling)."""
    return _sum_pool_forward(x, window, False)


def average_pool_backward(dy, x_shape, window):
    """dL/dx: each dy shared equally among the real cells of its window."""
    geometry, _ = _setup(x_shape, window)
    dx = empty(tuple(x_shape), dy.dtype)
    _launch(_average_pool_backward, dx.size, _flat(dy, dy.dtype), dx.reshape(dx.size),
            geometry, dy.dtype.type(0), dy.dtype.type(1))
    return dx
