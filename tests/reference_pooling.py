"""Plain float64 numpy references for pooling, padding, cropping and upsampling, written from
the Keras / TF / JAX definitions with explicit loops. Independent of nbkeras on purpose.

Every function takes channels_last (N, *spatial, C) arrays; `to_channels_last` and
`to_channels_first` move the channel axis for the channels_first cases.
"""
from __future__ import annotations

import itertools
import math

import numpy as np


def to_channels_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1)


def to_channels_first(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, -1, 1)


# ----------------------------------------------------------------------------------- pooling

def pooling_output_shape(input_shape, pool_size, strides, padding, data_format="channels_last"):
    """Keras's compute_pooling_output_shape: floor((n - k) / s) + 1 ("valid"), or
    floor((n - 1) / s) + 1 ("same")."""
    spatial = input_shape[1:-1] if data_format == "channels_last" else input_shape[2:]
    if padding == "valid":
        out = [None if n is None else math.floor((n - k) / s) + 1
               for n, k, s in zip(spatial, pool_size, strides)]
    else:
        out = [None if n is None else math.floor((n - 1) / s) + 1
               for n, s in zip(spatial, strides)]
    if data_format == "channels_last":
        return (input_shape[0], *out, input_shape[-1])
    return (input_shape[0], input_shape[1], *out)


def _same_padding_before(n: int, k: int, s: int) -> int:
    """TF's SAME rule: out = ceil(n / s); total = max((out - 1) s + k - n, 0); half before
    (rounded down), the rest after."""
    out = -(-n // s)
    return max((out - 1) * s + k - n, 0) // 2


def _windows(spatial, pool_size, strides, padding):
    """For every output index, the list of input indices of its window that are real cells."""
    before = ([_same_padding_before(n, k, s) for n, k, s in zip(spatial, pool_size, strides)]
              if padding == "same" else [0] * len(spatial))
    out = pooling_output_shape((1, *spatial, 1), pool_size, strides, padding)[1:-1]
    for index in itertools.product(*[range(o) for o in out]):
        cells = []
        for offset in itertools.product(*[range(k) for k in pool_size]):
            cell = tuple(i * s - b + o for i, s, b, o in zip(index, strides, before, offset))
            if all(0 <= c < n for c, n in zip(cell, spatial)):
                cells.append(cell)
        yield index, cells


def pool(x, pool_size, strides, padding, mode):
    """Max or average pooling; padded cells are ignored (max) or not counted (average)."""
    x = np.asarray(x, np.float64)
    batch, *spatial, channels = x.shape
    out = pooling_output_shape(x.shape, pool_size, strides, padding)
    y = np.zeros(out)
    for index, cells in _windows(spatial, pool_size, strides, padding):
        for n in range(batch):
            for c in range(channels):
                values = [x[(n, *cell, c)] for cell in cells]
                y[(n, *index, c)] = max(values) if mode == "max" else sum(values) / len(values)
    return y


def max_pool_nan(x, pool_size, strides, padding):
    """Max pooling of an input with NaNs, as Keras's (XLA's max) and PyTorch's: NaN where the
    window's real cells hold a NaN."""
    x = np.asarray(x, np.float64)
    batch, *spatial, channels = x.shape
    y = np.zeros(pooling_output_shape(x.shape, pool_size, strides, padding))
    for index, cells in _windows(spatial, pool_size, strides, padding):
        for n in range(batch):
            for c in range(channels):
                y[(n, *index, c)] = np.max([x[(n, *cell, c)] for cell in cells])
    return y


def pool_grad(x, dy, pool_size, strides, padding, mode):
    """d<dy, pool(x)>/dx: to each window's (first) maximum, or shared by its real cells."""
    x = np.asarray(x, np.float64)
    batch, *spatial, channels = x.shape
    dx = np.zeros(x.shape)
    for index, cells in _windows(spatial, pool_size, strides, padding):
        for n in range(batch):
            for c in range(channels):
                g = dy[(n, *index, c)]
                if mode == "max":
                    values = [x[(n, *cell, c)] for cell in cells]
                    dx[(n, *cells[int(np.argmax(values))], c)] += g
                else:
                    for cell in cells:
                        dx[(n, *cell, c)] += g / len(cells)
    return dx


def global_pool(x, mode, keepdims=False):
    axes = tuple(range(1, x.ndim - 1))
    reduce = np.max if mode == "max" else np.mean
    return reduce(np.asarray(x, np.float64), axis=axes, keepdims=keepdims)


# ------------------------------------------------------------------------ padding, cropping

def zero_pad(x, pairs):
    """x with pairs[i] = (before, after) zeros around spatial axis i."""
    return np.pad(np.asarray(x, np.float64), [(0, 0), *pairs, (0, 0)])


def crop(x, pairs):
    """x without pairs[i] = (before, after) cells at the ends of spatial axis i."""
    index = tuple(range(b, n - a) for (b, a), n in zip(pairs, x.shape[1:-1]))
    return np.asarray(x, np.float64)[np.ix_(range(x.shape[0]), *index, range(x.shape[-1]))]


# -------------------------------------------------------------------------------- upsampling

def upsample_nearest(x, size):
    """out[n, i, j, ..., c] = x[n, i // size[0], j // size[1], ..., c]."""
    x = np.asarray(x, np.float64)
    out_spatial = [n * f for n, f in zip(x.shape[1:-1], size)]
    y = np.zeros((x.shape[0], *out_spatial, x.shape[-1]))
    for index in itertools.product(*[range(m) for m in out_spatial]):
        y[(slice(None), *index)] = x[(slice(None), *[i // f for i, f in zip(index, size)])]
    return y


def _linear_weights(n_in: int, n_out: int) -> np.ndarray:
    """jax.image.resize's "linear" weight matrix (n_in, n_out) with antialias off: a triangle
    kernel at sample_f = (i + 0.5) * n_in / n_out - 0.5, each column normalized to sum 1,
    zeroed where the sample falls outside [-0.5, n_in - 0.5]."""
    weights = np.zeros((n_in, n_out))
    for i in range(n_out):
        sample = (i + 0.5) * n_in / n_out - 0.5
        for j in range(n_in):
            weights[j, i] = max(0.0, 1.0 - abs(sample - j))
        total = weights[:, i].sum()
        weights[:, i] = weights[:, i] / total if total > 0 else 0.0
        if not -0.5 <= sample <= n_in - 0.5:
            weights[:, i] = 0.0
    return weights


def resize_bilinear(x, out_hw):
    """(N, H, W, C) -> (N, *out_hw, C), separable linear resampling as jax.image.resize."""
    wh = _linear_weights(x.shape[1], out_hw[0])
    ww = _linear_weights(x.shape[2], out_hw[1])
    return np.einsum("ai,bj,nabc->nijc", wh, ww, np.asarray(x, np.float64))
