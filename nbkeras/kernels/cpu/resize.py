"""Bilinear image resizing, channels_last (N, H, W, C) -> (N, H', W', C), and its adjoint.

The coordinate convention is Keras 3's (`jax.image.resize`, TF2 `tf.image.resize`, PyTorch
`align_corners=False`): output cell i samples the input at (i + 0.5) * in / out - 0.5 (half-pixel
centres), clamped to [0, in - 1] so the border cells repeat the edge. Per axis the host builds
the two source indices and weights of every output index; the kernel then mixes four input
rows per output cell, channels innermost. Tasks are (image, channel block) pairs, so the
backward scatter never writes another task's cells.
"""
import numpy as np
from numba import njit, prange, uint64

from .parallel import launch
from .pooling import _channel_block

__all__ = ["bilinear_resize_forward", "bilinear_resize_backward"]


@njit(cache=True, parallel=True)
def _bilinear(x, y, lo_h, hi_h, wl_h, wh_h, lo_w, hi_w, wl_w, wh_w, block, adjoint):
    """y[n, i, j] = sum over the 2 x 2 taps (a, b) of wh[i, a] ww[j, b] x[n, a, b]; with
    `adjoint`, its transpose: x[n, a, b] += wh[i, a] ww[j, b] y[n, i, j] (x zero on entry)."""
    n_batch, oh, ow, c = y.shape
    h, w = x.shape[1], x.shape[2]
    x2, y2 = x.reshape(-1, c), y.reshape(-1, c)
    blocks = (c + block - 1) // block
    for task in prange(n_batch * blocks):
        n = task // blocks
        c0 = uint64((task % blocks) * block)
        c1 = uint64(min((task % blocks) * block + block, c))
        for i in range(oh):
            top, bottom = uint64((n * h + lo_h[i]) * w), uint64((n * h + hi_h[i]) * w)
            for j in range(ow):
                a, b = wl_h[i] * wl_w[j], wl_h[i] * wh_w[j]
                e, f = wh_h[i] * wl_w[j], wh_h[i] * wh_w[j]
                left, right = uint64(lo_w[j]), uint64(hi_w[j])
                out = uint64((n * oh + i) * ow + j)
                if adjoint:
                    for ch in range(c0, c1):
                        g = y2[out, ch]
                        x2[top + left, ch] += a * g
                        x2[top + right, ch] += b * g
                        x2[bottom + left, ch] += e * g
                        x2[bottom + right, ch] += f * g
                else:
                    for ch in range(c0, c1):
                        y2[out, ch] = (a * x2[top + left, ch] + b * x2[top + right, ch]
                                       + e * x2[bottom + left, ch] + f * x2[bottom + right, ch])


def _taps(n_in: int, n_out: int, dtype):
    """Per output index along one axis: lower and upper source index, and their weights."""
    source = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    lower = np.floor(source).astype(np.int64)
    upper = np.minimum(lower + 1, n_in - 1)
    frac = source - lower
    return lower, upper, (1 - frac).astype(dtype), frac.astype(dtype)


def _tables(in_hw, out_hw, dtype):
    return (*_taps(in_hw[0], out_hw[0], dtype), *_taps(in_hw[1], out_hw[1], dtype))


def bilinear_resize_forward(x, size):
    """x (N, H, W, C) resized to (N, *size, C) by bilinear interpolation."""
    x = np.ascontiguousarray(x)
    y = np.empty((x.shape[0], *size, x.shape[-1]), x.dtype)
    launch(_bilinear, y.size, x, y, *_tables(x.shape[1:3], size, x.dtype),
           _channel_block(x.shape[0], x.shape[-1]), False)
    return y


def bilinear_resize_backward(dy, x_shape):
    """dL/dx of bilinear_resize_forward for an input of shape x_shape."""
    dy = np.ascontiguousarray(dy)
    dx = np.zeros(x_shape, dy.dtype)
    launch(_bilinear, dy.size, dx, dy, *_tables(x_shape[1:3], dy.shape[1:3], dy.dtype),
           _channel_block(x_shape[0], x_shape[-1]), True)
    return dx
