"""Bilinear image resizing, channels_last (N, H, W, C) -> (N, H', W', C), and its adjoint, over
Numba device arrays: the CUDA twin of kernels/cpu/resize.py, with its names and semantics.

The coordinate convention is Keras 3's (half-pixel centres: output cell i samples the input
at (i + 0.5) * in / out - 0.5, clamped to [0, in - 1]). Per axis the host builds the tables
the CPU builds (two source indices and their weights per output index) and, for the
backward, the range of output indices whose taps reach each input index (a contiguous range,
since the taps move monotonically).

Both kernels are grid-stride loops (min(cells / THREADS, MAX_BLOCKS) blocks of THREADS
threads) with one thread per cell they write, the channel fastest (coalesced reads and
writes), and no atomics:
- forward: one thread per output cell mixes four input cells. FLOPs 11*N*H'*W'*C; loads
  4*N*H'*W'*C through L1/L2, DRAM N*H*W*C + N*H'*W'*C (elements; times the itemsize).
- backward: one thread per input cell gathers dy over the output cells whose taps reach it
  (the 4 taps of each output cell: 4*N*H'*W'*C pairs in all), each times the product of
  its two axes' weights (both weights where an edge tap is clamped onto the same cell).
  FLOPs about 4 per pair, 16*N*H'*W'*C; loads 4*N*H'*W'*C through L1/L2, DRAM N*H'*W'*C
  + N*H*W*C.
Weights enter as device arrays of the data's dtype and `zero` typed: a float32 kernel does no
float64 arithmetic.
"""
from __future__ import annotations

import numpy as np
from numba import types

from .runtime import FLOATS, THREADS, blocks, empty, grid, gridsize, kernel, to_device

__all__ = ["bilinear_resize_forward", "bilinear_resize_backward"]

INDEX = types.int64[::1]


@kernel(*[(t[::1], t[::1], types.UniTuple(types.int64, 6), INDEX, INDEX, t[::1], t[::1],
           INDEX, INDEX, t[::1], t[::1]) for t in FLOATS])
def _bilinear(x, y, shape, lo_h, hi_h, wl_h, wh_h, lo_w, hi_w, wl_w, wh_w):
    """y[n, i, j, c] = sum over the 2 x 2 taps (a, b) of wh[i, a] ww[j, b] x[n, a, b, c];
    shape = (N, H, W, H', W', C)."""
    batch, height, width, oh, ow, channels = shape
    for e in range(grid(1), y.size, gridsize(1)):
        c, rest = e % channels, e // channels
        j, rest = rest % ow, rest // ow
        i, n = rest % oh, rest // oh
        top, bottom = (n * height + lo_h[i]) * width, (n * height + hi_h[i]) * width
        left, right = lo_w[j], hi_w[j]
        y[e] = (wl_h[i] * wl_w[j] * x[(top + left) * channels + c]
                + wl_h[i] * wh_w[j] * x[(top + right) * channels + c]
                + wh_h[i] * wl_w[j] * x[(bottom + left) * channels + c]
                + wh_h[i] * wh_w[j] * x[(bottom + right) * channels + c])


@kernel(*[(t[::1], t[::1], types.UniTuple(types.int64, 6), INDEX, INDEX, t[::1], t[::1],
           INDEX, INDEX, t[::1], t[::1], INDEX, INDEX, INDEX, INDEX, t) for t in FLOATS])
def _bilinear_backward(dy, dx, shape, lo_h, hi_h, wl_h, wh_h, lo_w, hi_w, wl_w, wh_w,
                       first_h, stop_h, first_w, stop_w, zero):
    """dx[n, a, b, c] = sum over outputs (i, j) in [first_h[a], stop_h[a]) x [first_w[b],
    stop_w[b]) of weight_h(i, a) weight_w(j, b) dy[n, i, j, c], weight(i, a) being the
    weight of tap lo[i] plus that of tap hi[i] where they are a; shape = (N, H, W, H', W',
    C)."""
    batch, height, width, oh, ow, channels = shape
    for e in range(grid(1), dx.size, gridsize(1)):
        c, rest = e % channels, e // channels
        b, rest = rest % width, rest // width
        a, n = rest % height, rest // height
        total = zero
        for i in range(first_h[a], stop_h[a]):
            weight_h = (wl_h[i] if lo_h[i] == a else zero) + (wh_h[i] if hi_h[i] == a else zero)
            for j in range(first_w[b], stop_w[b]):
                weight_w = ((wl_w[j] if lo_w[j] == b else zero)
                            + (wh_w[j] if hi_w[j] == b else zero))
                total += weight_h * weight_w * dy[((n * oh + i) * ow + j) * channels + c]
        dx[e] = total


# ---- host side ----------------------------------------------------------------------------

def _taps(n_in: int, n_out: int, dtype):
    """Per output index along one axis: lower and upper source index, and their weights
    (the CPU's tables)."""
    source = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    lower = np.floor(source).astype(np.int64)
    upper = np.minimum(lower + 1, n_in - 1)
    frac = source - lower
    return lower, upper, (1 - frac).astype(dtype), frac.astype(dtype)


def _reach(lower, upper, n_in: int):
    """Per input index a: the range [first, stop) of output indices with a tap on a."""
    hit = (lower[:, None] == np.arange(n_in)) | (upper[:, None] == np.arange(n_in))
    any_hit = hit.any(axis=0)
    first = np.where(any_hit, hit.argmax(axis=0), 0)
    stop = np.where(any_hit, len(lower) - hit[::-1].argmax(axis=0), 0)
    return first.astype(np.int64), stop.astype(np.int64)


def _tables(in_hw, out_hw, dtype) -> list:
    """Both axes' tables as device arrays: lo_h, hi_h, wl_h, wh_h, lo_w, hi_w, wl_w, wh_w."""
    return [to_device(t) for t in (*_taps(in_hw[0], out_hw[0], dtype),
                                   *_taps(in_hw[1], out_hw[1], dtype))]


def _flat(a):
    """a as a flat C-contiguous device array."""
    a = to_device(a)
    return a.reshape(a.size)


def bilinear_resize_forward(x, size):
    """x (N, H, W, C) resized to (N, *size, C) by bilinear interpolation."""
    batch, height, width, channels = (int(n) for n in x.shape)
    size = tuple(int(n) for n in size)
    y = empty((batch, *size, channels), x.dtype)
    if y.size:
        _bilinear[blocks(y.size), THREADS](
            _flat(x), y.reshape(y.size), (batch, height, width, *size, channels),
            *_tables((height, width), size, x.dtype))
    return y


def bilinear_resize_backward(dy, x_shape):
    """dL/dx of bilinear_resize_forward for an input of shape x_shape."""
    batch, height, width, channels = (int(n) for n in x_shape)
    oh, ow = (int(n) for n in dy.shape[1:3])
    dx = empty((batch, height, width, channels), dy.dtype)
    if dx.size:
        lo_h, hi_h, wl_h, wh_h = _taps(height, oh, dy.dtype)
        lo_w, hi_w, wl_w, wh_w = _taps(width, ow, dy.dtype)
        reach = [*_reach(lo_h, hi_h, height), *_reach(lo_w, hi_w, width)]
        _bilinear_backward[blocks(dx.size), THREADS](
            _flat(dy), dx.reshape(dx.size), (batch, height, width, oh, ow, channels),
            *[to_device(t) for t in (lo_h, hi_h, wl_h, wh_h, lo_w, hi_w, wl_w, wh_w, *reach)],
            dy.dtype.type(0))
    return dx
