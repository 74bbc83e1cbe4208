"""Plain float64 numpy references for the convolution layers, written from the Keras / TF /
JAX definitions with explicit loops over batch, output cells and kernel taps. Independent of
nbkeras on purpose.

Every function takes channels_last (N, *spatial, C) arrays and Keras's kernel layouts;
`to_channels_last` / `to_channels_first` move the channel axis for the channels_first cases.
"""
from __future__ import annotations

import itertools

import numpy as np


def to_channels_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1)


def to_channels_first(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, -1, 1)


def _cells(shape):
    return itertools.product(*[range(n) for n in shape])


# ------------------------------------------------------------------------------------ shapes

def conv_output_shape(input_shape, filters, kernel_size, strides, padding, dilation,
                      data_format="channels_last"):
    """Keras's compute_conv_output_shape: floor((n - d (k - 1) - 1) / s) + 1 ("valid"), or
    floor((n - 1) / s) + 1 ("same", and "causal" for Conv1D)."""
    spatial = input_shape[1:-1] if data_format == "channels_last" else input_shape[2:]
    out = [(n - d * (k - 1) - 1) // s + 1 if padding == "valid" else (n - 1) // s + 1
           for n, k, s, d in zip(spatial, kernel_size, strides, dilation)]
    if data_format == "channels_last":
        return (input_shape[0], *out, filters)
    return (input_shape[0], filters, *out)


def conv_transpose_output_shape(input_shape, filters, kernel_size, strides, padding,
                                output_padding, dilation, data_format="channels_last"):
    """Keras's compute_conv_transpose_output_shape (backend_utils)."""
    spatial = input_shape[1:-1] if data_format == "channels_last" else input_shape[2:]
    output_padding = output_padding or (None,) * len(spatial)
    out = []
    for n, k, s, o, d in zip(spatial, kernel_size, strides, output_padding, dilation):
        k = (k - 1) * d + 1
        if padding == "valid":
            out.append((n - 1) * s + k + (max(k, s) - k if o is None else o))
        else:
            out.append(n * s if o is None else (n - 1) * s + k % 2 + o)
    if data_format == "channels_last":
        return (input_shape[0], *out, filters)
    return (input_shape[0], filters, *out)


# ------------------------------------------------------------------------------------- conv

def padding_before_after(padding, n, k, s, d):
    """TF's rules: "same" pads ceil(n / s) windows' worth, the odd cell after; "causal" pads
    d (k - 1) before."""
    k = (k - 1) * d + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return k - 1, 0
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def conv(x, kernel, bias, strides, padding, dilation, groups=1):
    """y[n, o, f] = sum over taps t and the group's channels c of
    x[n, o * s + t * d - before, g * C/groups + c] * kernel[t, c, f] (zero outside x)."""
    batch, *spatial, channels = x.shape
    *window, per_group, filters = kernel.shape
    before = [padding_before_after(padding, n, k, s, d)[0]
              for n, k, s, d in zip(spatial, window, strides, dilation)]
    out = conv_output_shape(x.shape, filters, window, strides, padding, dilation)[1:-1]
    per_filter_group = filters // groups
    y = np.zeros((batch, *out, filters))
    for n in range(batch):
        for o in _cells(out):
            for f in range(filters):
                g = f // per_filter_group
                total = 0.0 if bias is None else float(bias[f])
                for t in _cells(window):
                    cell = tuple(i * s + j * d - b for i, j, s, d, b
                                 in zip(o, t, strides, dilation, before))
                    if all(0 <= c < m for c, m in zip(cell, spatial)):
                        for c in range(per_group):
                            total += x[(n, *cell, g * per_group + c)] * kernel[(*t, c, f)]
                y[(n, *o, f)] = total
    return y


def conv_transpose(x, kernel, bias, strides, padding, output_padding, dilation):
    """Keras's reference (conv_transpose_test): every input cell scatters x[n, i] . kernel
    into the full output at i * s + t * d, which is then cropped to Keras's output length
    from k_eff - 1 - (the JAX backend's left padding)."""
    batch, *spatial, channels = x.shape
    *window, filters, _ = kernel.shape
    out = conv_transpose_output_shape(x.shape, filters, window, strides, padding,
                                      output_padding, dilation)[1:-1]
    crop = []
    for k, s, d, o in zip(window, strides, dilation, output_padding or (None,) * len(window)):
        k = (k - 1) * d + 1
        if padding == "valid":
            left = k - 1
        else:
            total = s + k - 2 if o is None else k + k % 2 - 2 + o
            left = min(total // 2 + total % 2, k - 1)
        crop.append(k - 1 - left)
    full = np.zeros((batch, *[m + c + (k - 1) * d + 1 for m, c, k, d
                              in zip(out, crop, window, dilation)], filters))
    for n in range(batch):
        for i in _cells(spatial):
            for t in _cells(window):
                cell = tuple(a * s + b * d for a, b, s, d in zip(i, t, strides, dilation))
                for f in range(filters):
                    for c in range(channels):
                        full[(n, *cell, f)] += x[(n, *i, c)] * kernel[(*t, f, c)]
    index = (slice(None), *[slice(c, c + m) for c, m in zip(crop, out)])
    y = full[index]
    return y if bias is None else y + bias


def depthwise_conv(x, kernel, bias, strides, padding, dilation):
    """y[n, o, c * m_total + m] = sum over taps of x[n, o * s + t * d - before, c] *
    kernel[t, c, m]."""
    batch, *spatial, channels = x.shape
    *window, _, multiplier = kernel.shape
    before = [padding_before_after(padding, n, k, s, d)[0]
              for n, k, s, d in zip(spatial, window, strides, dilation)]
    out = conv_output_shape(x.shape, channels * multiplier, window, strides, padding,
                            dilation)[1:-1]
    y = np.zeros((batch, *out, channels * multiplier))
    for n in range(batch):
        for o in _cells(out):
            for c in range(channels):
                for m in range(multiplier):
                    total = 0.0 if bias is None else float(bias[c * multiplier + m])
                    for t in _cells(window):
                        cell = tuple(i * s + j * d - b for i, j, s, d, b
                                     in zip(o, t, strides, dilation, before))
                        if all(0 <= a < e for a, e in zip(cell, spatial)):
                            total += x[(n, *cell, c)] * kernel[(*t, c, m)]
                    y[(n, *o, c * multiplier + m)] = total
    return y


def separable_conv(x, depthwise_kernel, pointwise_kernel, bias, strides, padding, dilation):
    """depthwise_conv, then y[n, o, f] = sum over k of z[n, o, k] * pointwise[0.., k, f]."""
    z = depthwise_conv(x, depthwise_kernel, None, strides, padding, dilation)
    point = pointwise_kernel.reshape(pointwise_kernel.shape[-2:])
    y = np.zeros((*z.shape[:-1], point.shape[1]))
    for cell in _cells(z.shape[:-1]):
        for f in range(point.shape[1]):
            total = 0.0 if bias is None else float(bias[f])
            for k in range(point.shape[0]):
                total += z[cell + (k,)] * point[k, f]
            y[cell + (f,)] = total
    return y


def conv_gradients(x, kernel, dz, strides, padding, dilation, groups=1):
    """(dx, dkernel, dbias) of y = conv(x, kernel, bias, ...) given dz = dL/dy, tap by tap
    with numpy slices of the zero-padded input (independent of the kernels' im2col).
    padding: a name, or explicit ((before, after), ...) per spatial axis."""
    batch, *spatial, channels = x.shape
    *window, per_group, filters = kernel.shape
    pads = ([tuple(p) for p in padding] if not isinstance(padding, str) else
            [padding_before_after(padding, n, k, s, d)
             for n, k, s, d in zip(spatial, window, strides, dilation)])
    padded = np.pad(x, ((0, 0), *pads, (0, 0)))
    dpadded = np.zeros_like(padded)
    dkernel = np.zeros_like(kernel, dtype=np.float64)
    out = dz.shape[1:-1]
    per_filter_group = filters // groups
    for t in _cells(window):
        cells = tuple(slice(j * d, j * d + s * (o - 1) + 1, s)
                      for j, d, s, o in zip(t, dilation, strides, out))
        for g in range(groups):
            c = slice(g * per_group, (g + 1) * per_group)
            f = slice(g * per_filter_group, (g + 1) * per_filter_group)
            taps = padded[(slice(None), *cells, c)]                   # (N, *out, C/groups)
            grad = dz[..., f]                                          # (N, *out, F/groups)
            dkernel[(*t, slice(None), f)] += (taps.reshape(-1, per_group).T
                                              @ grad.reshape(-1, per_filter_group))
            dpadded[(slice(None), *cells, c)] += grad @ kernel[(*t, slice(None), f)].T
    crop = tuple(slice(b, b + n) for (b, _), n in zip(pads, spatial))
    return dpadded[(slice(None), *crop, slice(None))], dkernel, dz.reshape(-1, filters).sum(0)
