"""N-d convolution (1-D, 2-D and 3-D), channels_last, as im2col + BLAS.

x is (N, *spatial, C); w is (*k, C // groups, F) (Keras's layout); padding is explicit,
one (before, after) pair per spatial axis, and is never materialized: im2col writes zeros
for taps that fall outside the input, col2im drops them. 1-D and 2-D problems run through
the one 3-D routine with leading spatial axes of size 1, so each dtype compiles once.

Per image and group, im2col gathers the receptive fields into a (positions, taps * C/groups)
buffer and one `np.dot` (BLAS) does the contraction. Images are split into one contiguous
chunk per thread (`prange`), so the buffers are allocated once per chunk and reused for
every image in it, and no two threads write the same output.
"""
import numba
import numpy as np
from numba import njit, prange

from .parallel import launch

__all__ = ["conv_forward", "conv_backward_input", "conv_backward_kernel"]


@njit(cache=True)
def _im2col(x, n, c0, cg, s, pb, d, ks, out_sp, cols):
    """cols[(i, j, l), ((p, q, r), c)] = x[n, i*s0 + p*d0 - pb0, ..., c0 + c], 0 outside x."""
    depth, height, width = x.shape[1], x.shape[2], x.shape[3]
    row = 0
    for i in range(out_sp[0]):
        for j in range(out_sp[1]):
            for l in range(out_sp[2]):
                col = 0
                for p in range(ks[0]):
                    zi = i * s[0] + p * d[0] - pb[0]
                    for q in range(ks[1]):
                        yi = j * s[1] + q * d[1] - pb[1]
                        for r in range(ks[2]):
                            xi = l * s[2] + r * d[2] - pb[2]
                            if (0 <= zi < depth and 0 <= yi < height and 0 <= xi < width):
                                for c in range(cg):
                                    cols[row, col + c] = x[n, zi, yi, xi, c0 + c]
                            else:
                                for c in range(cg):
                                    cols[row, col + c] = 0
                            col += cg
                row += 1


@njit(cache=True)
def _col2im(dcols, n, c0, cg, s, pb, d, ks, out_sp, dx):
    """The adjoint of _im2col: dx[n, ...] += every column entry at the input cell it came
    from (taps in the padding are dropped), so overlapping windows accumulate exactly."""
    depth, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    row = 0
    for i in range(out_sp[0]):
        for j in range(out_sp[1]):
            for l in range(out_sp[2]):
                col = 0
                for p in range(ks[0]):
                    zi = i * s[0] + p * d[0] - pb[0]
                    for q in range(ks[1]):
                        yi = j * s[1] + q * d[1] - pb[1]
                        for r in range(ks[2]):
                            xi = l * s[2] + r * d[2] - pb[2]
                            if (0 <= zi < depth and 0 <= yi < height and 0 <= xi < width):
                                for c in range(cg):
                                    dx[n, zi, yi, xi, c0 + c] += dcols[row, col + c]
                            col += cg
                row += 1


@njit(cache=True, parallel=True)
def _conv_forward(x, wg, bias, s, pb, d, ks, out_sp, relu, chunks, y):
    """y[n, pos, g*Fg:(g+1)*Fg] = im2col(x[n], group g) @ wg[g]; then + bias, then relu.
    x (N, D, H, W, C), wg (G, K, Fg), bias (F,) or (0,), y (N, P, F)."""
    n_batch, n_pos, n_out = y.shape
    groups, n_cols, per_group = wg.shape
    cg = x.shape[4] // groups
    has_bias = bias.shape[0] > 0
    for t in prange(chunks):
        cols = np.empty((n_pos, n_cols), x.dtype)
        part = np.empty((n_pos, per_group), x.dtype)
        for n in range(t * n_batch // chunks, (t + 1) * n_batch // chunks):
            for g in range(groups):
                _im2col(x, n, g * cg, cg, s, pb, d, ks, out_sp, cols)
                if groups == 1:
                    np.dot(cols, wg[0], y[n])
                else:
                    np.dot(cols, wg[g], part)
                    y[n, :, g * per_group:(g + 1) * per_group] = part
            if has_bias or relu:
                for p in range(n_pos):
                    for f in range(n_out):
                        if has_bias:
                            y[n, p, f] += bias[f]
                        if relu and y[n, p, f] < 0:
                            y[n, p, f] = 0


@njit(cache=True, parallel=True)
def _conv_backward_input(dy, wgt, s, pb, d, ks, out_sp, chunks, dx):
    """dx[n] += col2im(dy[n, :, group g] @ wgt[g]) for every group; dx zero on entry.
    dy (N, P, F), wgt (G, Fg, K), dx (N, D, H, W, C)."""
    n_batch, n_pos, _ = dy.shape
    groups, per_group, n_cols = wgt.shape
    cg = dx.shape[4] // groups
    for t in prange(chunks):
        dcols = np.empty((n_pos, n_cols), dy.dtype)
        dyg = np.empty((n_pos, per_group), dy.dtype)
        for n in range(t * n_batch // chunks, (t + 1) * n_batch // chunks):
            for g in range(groups):
                if groups == 1:
                    np.dot(dy[n], wgt[0], dcols)
                else:
                    dyg[:] = dy[n, :, g * per_group:(g + 1) * per_group]
                    np.dot(dyg, wgt[g], dcols)
                _col2im(dcols, n, g * cg, cg, s, pb, d, ks, out_sp, dx)


@njit(cache=True, parallel=True)
def _conv_backward_kernel(dy, x, s, pb, d, ks, out_sp, groups, chunks):
    """dwg[g] = sum over n of im2col(x[n], group g).T @ dy[n, :, group g]: (G, K, Fg).
    Each chunk sums into its own slice of `partial`; the slices are added at the end."""
    n_batch, n_pos, n_out = dy.shape
    per_group = n_out // groups
    cg = x.shape[4] // groups
    n_cols = ks[0] * ks[1] * ks[2] * cg
    partial = np.zeros((chunks, groups, n_cols, per_group), dy.dtype)
    for t in prange(chunks):
        cols = np.empty((n_pos, n_cols), x.dtype)
        dyg = np.empty((n_pos, per_group), dy.dtype)
        step = np.empty((n_cols, per_group), dy.dtype)
        for n in range(t * n_batch // chunks, (t + 1) * n_batch // chunks):
            for g in range(groups):
                _im2col(x, n, g * cg, cg, s, pb, d, ks, out_sp, cols)
                if groups == 1:
                    np.dot(cols.T, dy[n], step)
                else:
                    dyg[:] = dy[n, :, g * per_group:(g + 1) * per_group]
                    np.dot(cols.T, dyg, step)
                acc = partial[t, g]
                for a in range(n_cols):
                    for b in range(per_group):
                        acc[a, b] += step[a, b]
    dwg = partial[0].copy()
    for t in range(1, chunks):
        dwg += partial[t]
    return dwg


# ---- host side: layouts, dtypes, output allocation -----------------------------------------

def _lift(values, rank: int, fill) -> tuple:
    """A per-axis tuple for `rank` spatial axes as a 3-axis tuple (leading axes get `fill`)."""
    return (fill,) * (3 - rank) + tuple(int(v) for v in values)


def _geometry(rank, kernel, strides, padding, dilation):
    return (_lift(strides, rank, 1), _lift([p[0] for p in padding], rank, 0),
            _lift(dilation, rank, 1), _lift(kernel, rank, 1))


def _as_5d(a, dtype):
    """(N, *spatial, C) as a C-contiguous (N, D, H, W, C) array of `dtype`."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a.reshape(a.shape[0], *_lift(a.shape[1:-1], a.ndim - 2, 1), a.shape[-1])


def _output_spatial(spatial, kernel, strides, padding, dilation) -> tuple:
    return tuple((n + b + a - d * (k - 1) - 1) // s + 1 for n, k, s, (b, a), d
                 in zip(spatial, kernel, strides, padding, dilation))


def _chunks(batch) -> int:
    """Images split into this many contiguous chunks, one per thread (Numba's thread count
    is read here: inside a cached kernel it would be a dynamic global)."""
    return max(1, min(len(batch), numba.get_num_threads()))


def conv_forward(x, w, strides, padding, dilation, groups=1, bias=None, relu=False):
    """y (N, *out, F) = x (N, *spatial, C) correlated with w (*k, C // groups, F), grouped,
    with explicit padding ((before, after), ...); then + bias (F,), then max(y, 0) if relu.
    out = (n + before + after - dilation * (k - 1) - 1) // stride + 1 per axis."""
    rank = x.ndim - 2
    dtype = np.result_type(x.dtype, w.dtype)
    kernel = w.shape[:-2]
    out = _output_spatial(x.shape[1:-1], kernel, strides, padding, dilation)
    n_cols, n_out = int(np.prod(w.shape[:-1])), w.shape[-1]
    wg = np.ascontiguousarray(np.asarray(w, dtype).reshape(n_cols, groups, n_out // groups)
                              .transpose(1, 0, 2))
    b = np.zeros(0, dtype) if bias is None else np.ascontiguousarray(bias, dtype)
    y = np.empty((x.shape[0], int(np.prod(out)), n_out), dtype)
    s, pb, d, ks = _geometry(rank, kernel, strides, padding, dilation)
    launch(_conv_forward, y.shape[0] * y.shape[1] * n_cols * groups, _as_5d(x, dtype), wg, b,
           s, pb, d, ks, _lift(out, rank, 1), bool(relu), _chunks(y), y)
    return y.reshape(x.shape[0], *out, n_out)


def conv_backward_input(dy, w, x_shape, strides, padding, dilation, groups=1):
    """dL/dx (x_shape) of conv_forward given dy = dL/dy: the transposed convolution,
    exact for every stride, dilation and padding (col2im scatter-add)."""
    rank = len(x_shape) - 2
    dtype = np.result_type(dy.dtype, w.dtype)
    kernel = w.shape[:-2]
    n_cols, n_out = int(np.prod(w.shape[:-1])), w.shape[-1]
    wgt = np.ascontiguousarray(np.asarray(w, dtype).reshape(n_cols, groups, n_out // groups)
                               .transpose(1, 2, 0))
    dx = np.zeros((x_shape[0], *_lift(x_shape[1:-1], rank, 1), x_shape[-1]), dtype)
    out = dy.shape[1:-1]
    dy3 = np.ascontiguousarray(dy, dtype).reshape(dy.shape[0], -1, n_out)
    s, pb, d, ks = _geometry(rank, kernel, strides, padding, dilation)
    launch(_conv_backward_input, dy3.shape[0] * dy3.shape[1] * n_cols * groups, dy3, wgt,
           s, pb, d, ks, _lift(out, rank, 1), _chunks(dy3), dx)
    return dx.reshape(x_shape)


def conv_backward_kernel(dy, x, w_shape, strides, padding, dilation, groups=1):
    """dL/dw (w_shape = (*k, C // groups, F)) of conv_forward given dy = dL/dy."""
    rank = x.ndim - 2
    dtype = np.result_type(dy.dtype, x.dtype)
    kernel = w_shape[:-2]
    n_cols, n_out = int(np.prod(w_shape[:-1])), w_shape[-1]
    out = dy.shape[1:-1]
    dy3 = np.ascontiguousarray(dy, dtype).reshape(dy.shape[0], -1, n_out)
    s, pb, d, ks = _geometry(rank, kernel, strides, padding, dilation)
    dwg = launch(_conv_backward_kernel, dy3.shape[0] * dy3.shape[1] * n_cols * groups, dy3,
                 _as_5d(x, dtype), s, pb, d, ks, _lift(out, rank, 1), int(groups), _chunks(dy3))
    return np.ascontiguousarray(dwg.transpose(1, 0, 2)).reshape(w_shape)
