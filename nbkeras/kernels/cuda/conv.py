"""N-d convolution (1-D, 2-D and 3-D), channels_last, over Numba device arrays: the CUDA twin
of kernels/cpu/conv.py, with its names, signatures and semantics.

x is (N, *spatial, C); w is (*k, C // groups, F) (Keras's layout); the geometry is one
`Window` whose padding pairs are never materialized: a tap outside x reads as zero. 1-D and
2-D problems run as 3-D ones with leading spatial axes of size 1, so each kernel compiles
once per dtype. Below, S and P are the input and output positions per image, K the taps,
Cg = C / groups, Fg = F / groups, and sizes count elements (times the itemsize for bytes).

Every product is an implicit GEMM on one tiled kernel shape: blocks of (TILE, TILE)
threads, min(tasks, MAX_BLOCKS) of them striding over the tasks (group, tile of the result);
a block owns a TILE x TILE tile of the result, each thread keeps its element in a register
while the block walks the reduction axis TILE at a time, staging one tile of each operand
in shared memory (rows padded to TILE + 1 against bank conflicts; tails bounds-checked and
filled with zeros). The A-operand loads gather their cells on the fly, so no im2col buffer
is ever stored, and a thread loads one element per tile, its neighbours the neighbouring
channels or filters (coalesced). Each tiled product of R = M*N*L FLOPs/2 loads 2*R/TILE
elements through L1/L2 (TILE FLOPs per element), and at best reads each operand once from
DRAM:
- forward: y (N*P, F) = im2col(x) (N*P, K*Cg) @ w (K*Cg, Fg) per group, + bias and relu in
  the epilogue. FLOPs 2*N*P*K*Cg*F; DRAM N*S*C + K*Cg*F + F + N*P*F.
- `pool`: a second, small kernel (pooling.max_pool_forward) max-pools the stored conv
  output, computed only at the positions some pooling window reads (bias and relu commute
  with the maximum). Extra DRAM 2*N*P*F + N*P'*F.
- input gradient: dx (N*S, Cg) = gather(dz) (N*S, K*Fg) @ w^T (K*Fg, Cg) per group, the
  transposed geometry: tap (p, q, r) of input cell z reads output (z + pad - p*d) / s when
  that is a whole index inside the output. A col2im written as a gather: each dx cell is
  written once, by one thread, no atomics. FLOPs 2*N*S*K*Cg*F, of which a stride s wastes
  the taps that miss (all but about 1 / s^rank); DRAM N*P*F (+ y's, with relu) + K*Cg*F +
  N*S*C.
- kernel gradient: dw (K*Cg, Fg) = im2col(x)^T (K*Cg, N*P) @ dz (N*P, Fg) per group, a tiled
  reduction over the N*P rows cut into `splits` contiguous chunks (enough tasks to fill the
  GPU when dw is small); each chunk writes its partial dw, and a second kernel sums the
  partials in a fixed order (deterministic, no atomics): one thread per element over a few
  partials, or one block per element and a shared-memory tree over many. FLOPs
  2*N*P*K*Cg*F + splits*K*Cg*F; DRAM N*S*C + N*P*F (+ y's) + 2*splits*K*Cg*F.
- bias gradient: db (F,) = column sums of dz, one thread per (chunk, filter), the filter
  fastest (coalesced; about RESIDENT threads), then the same partial sums. FLOPs N*P*F +
  splits*F; DRAM N*P*F (+ y's) + 2*splits*F.
dz is dy, zeroed where y <= 0 when the forward's output y is given (relu's VJP), read
through that mask by every loader (never stored). Each dtype accumulates in itself: float32
sums stay float32 (no float64 instruction in a float32 kernel; constants come typed from the
host). Indices are checked before they index: none is negative.

Not done yet: register blocking (several outputs per thread, for more FLOPs per load) and
stride-phase splitting of the input gradient, the next steps for speed on large layers.
"""
from __future__ import annotations

import math

import numpy as np
from numba import types

from ..api import checked_out
from ..geometry import Window
from .pooling import max_pool_backward, max_pool_forward
from .runtime import (FLOATS, MAX_BLOCKS, THREADS, TILE, block_index, block_sum, blocks,
                      empty, grid, grid_size, gridsize, is_device_array, kernel, shared_array,
                      syncthreads, thread_index, to_device, to_host)

__all__ = ["conv_forward", "conv_backward", "conv_backward_input", "conv_backward_kernel"]

# (batch, depth, height, width, channels, od, oh, ow, filters, kd, kh, kw, s0, s1, s2,
#  pad0, pad1, pad2, d0, d1, d2, groups): the 3-D problem, passed as kernel parameters
GEOMETRY = types.UniTuple(types.int64, 22)
PADDED = TILE + 1          # a tile's row length in shared memory: no bank conflicts
RESIDENT = min(THREADS * MAX_BLOCKS, 1 << 16)   # threads enough to fill the device
MANY_PARTS = 16            # more partial sums per element than this: a block sums each


@kernel(*[(t[::1], t[::1], t[::1], t[::1], GEOMETRY, types.boolean, types.boolean, t)
          for t in FLOATS])
def _forward_tiles(x, w, bias, y, geometry, biased, relu, zero):
    """y[(n, i, j, l), g*Fg + f] = sum over taps (p, q, r) and channels c of
    x[n, i*s0 + p*d0 - pad0, ..., g*Cg + c] * w[p, q, r, c, g*Fg + f] (+ bias[g*Fg + f],
    then max(., 0) if relu); taps outside x read 0. Blocks stride over the tasks
    (group, tile of positions, tile of filters)."""
    tile_a = shared_array((TILE, PADDED), y.dtype)
    tile_b = shared_array((TILE, PADDED), y.dtype)
    (batch, depth, height, width, channels, od, oh, ow, n_out, kd, kh, kw,
     s0, s1, s2, pad0, pad1, pad2, d0, d1, d2, groups) = geometry
    cg, fg = channels // groups, n_out // groups
    rows, reduced = batch * od * oh * ow, kd * kh * kw * cg
    tiles_m, tiles_n = (rows + TILE - 1) // TILE, (fg + TILE - 1) // TILE
    tx, ty = thread_index.x, thread_index.y
    for task in range(block_index.x, groups * tiles_m * tiles_n, grid_size.x):
        g = task // (tiles_m * tiles_n)
        row = (task // tiles_n) % tiles_m * TILE + ty
        col = task % tiles_n * TILE + tx
        l, rest = row % ow, row // ow          # the window of this thread's row
        j, rest = rest % oh, rest // oh
        i, n = rest % od, rest // od
        z0, y0, x0 = i * s0 - pad0, j * s1 - pad1, l * s2 - pad2
        acc = zero
        for k0 in range(0, reduced, TILE):
            k = k0 + tx
            value = zero
            if row < rows and k < reduced:
                tap, c = k // cg, k % cg
                zi = z0 + tap // (kh * kw) * d0
                yi = y0 + tap // kw % kh * d1
                xi = x0 + tap % kw * d2
                if 0 <= zi < depth and 0 <= yi < height and 0 <= xi < width:
                    value = x[(((n * depth + zi) * height + yi) * width + xi) * channels
                              + g * cg + c]
            tile_a[ty, tx] = value
            kb = k0 + ty
            tile_b[ty, tx] = w[kb * n_out + g * fg + col] if kb < reduced and col < fg else zero
            syncthreads()
            for kk in range(TILE):
                acc += tile_a[ty, kk] * tile_b[kk, tx]
            syncthreads()
        if row < rows and col < fg:
            f = g * fg + col
            if biased:
                acc += bias[f]
            if relu and acc < zero:
                acc = zero
            y[row * n_out + f] = acc


@kernel(*[(t[::1], t[::1], t[::1], t[::1], GEOMETRY, types.boolean, t) for t in FLOATS])
def _input_tiles(dy, y, w, dx, geometry, relu, zero):
    """dx[(n, z, v, u), g*Cg + c] = sum over taps (p, q, r) and filters f of
    dz[n, (z + pad0 - p*d0) / s0, ..., g*Fg + f] * w[p, q, r, c, g*Fg + f], over the taps
    whose output index is whole and inside the output; dz = dy, zeroed where y <= 0 if relu.
    Blocks stride over the tasks (group, tile of input cells, tile of channels)."""
    tile_a = shared_array((TILE, PADDED), dx.dtype)
    tile_b = shared_array((TILE, PADDED), dx.dtype)
    (batch, depth, height, width, channels, od, oh, ow, n_out, kd, kh, kw,
     s0, s1, s2, pad0, pad1, pad2, d0, d1, d2, groups) = geometry
    cg, fg = channels // groups, n_out // groups
    rows, reduced = batch * depth * height * width, kd * kh * kw * fg
    tiles_m, tiles_n = (rows + TILE - 1) // TILE, (cg + TILE - 1) // TILE
    tx, ty = thread_index.x, thread_index.y
    for task in range(block_index.x, groups * tiles_m * tiles_n, grid_size.x):
        g = task // (tiles_m * tiles_n)
        row = (task // tiles_n) % tiles_m * TILE + ty
        col0 = task % tiles_n * TILE
        u, rest = row % width, row // width    # this thread's input cell, shifted by pad
        v, rest = rest % height, rest // height
        z, n = rest % depth, rest // depth
        t0, t1, t2 = z + pad0, v + pad1, u + pad2
        acc = zero
        for k0 in range(0, reduced, TILE):
            k = k0 + tx
            value = zero
            if row < rows and k < reduced:
                tap, f = k // fg, k % fg
                a = t0 - tap // (kh * kw) * d0
                b = t1 - tap // kw % kh * d1
                e = t2 - tap % kw * d2
                if (a >= 0 and b >= 0 and e >= 0 and a % s0 == 0 and b % s1 == 0
                        and e % s2 == 0 and a // s0 < od and b // s1 < oh and e // s2 < ow):
                    at = ((((n * od + a // s0) * oh + b // s1) * ow + e // s2) * n_out
                          + g * fg + f)
                    value = dy[at]
                    if relu and not y[at] > zero:
                        value = zero
            tile_a[ty, tx] = value
            kb, cb = k0 + tx, col0 + ty        # w^T loaded transposed: tx runs along f
            tile_b[tx, ty] = (w[((kb // fg) * cg + cb) * n_out + g * fg + kb % fg]
                              if kb < reduced and cb < cg else zero)
            syncthreads()
            for kk in range(TILE):
                acc += tile_a[ty, kk] * tile_b[kk, tx]
            syncthreads()
        if row < rows and col0 + tx < cg:
            dx[row * channels + g * cg + col0 + tx] = acc


@kernel(*[(t[::1], t[::1], t[::1], t[::1], GEOMETRY, types.int64, types.boolean, t)
          for t in FLOATS])
def _kernel_tiles(dy, y, x, part, geometry, splits, relu, zero):
    """part[chunk, (p, q, r, c), g*Fg + f] = sum over the rows m = (n, i, j, l) of the
    chunk of x[n, i*s0 + p*d0 - pad0, ..., g*Cg + c] * dz[m, g*Fg + f] (taps outside x
    read 0; dz = dy, zeroed where y <= 0 if relu); the N*P rows are cut into `splits`
    contiguous chunks. Blocks stride over the tasks (chunk, group, tile of (tap, channel)
    rows, tile of filters)."""
    tile_a = shared_array((TILE, PADDED), part.dtype)
    tile_b = shared_array((TILE, PADDED), part.dtype)
    (batch, depth, height, width, channels, od, oh, ow, n_out, kd, kh, kw,
     s0, s1, s2, pad0, pad1, pad2, d0, d1, d2, groups) = geometry
    cg, fg = channels // groups, n_out // groups
    rows, reduced = batch * od * oh * ow, kd * kh * kw * cg
    tiles_k, tiles_n = (reduced + TILE - 1) // TILE, (fg + TILE - 1) // TILE
    tx, ty = thread_index.x, thread_index.y
    for task in range(block_index.x, splits * groups * tiles_k * tiles_n, grid_size.x):
        chunk, rest = task // (groups * tiles_k * tiles_n), task % (groups * tiles_k * tiles_n)
        g = rest // (tiles_k * tiles_n)
        k0 = rest // tiles_n % tiles_k * TILE
        col = rest % tiles_n * TILE + tx
        k = k0 + tx                            # the tap and channel this thread loads
        tap, c = k // cg, k % cg
        p, q, r = tap // (kh * kw), tap // kw % kh, tap % kw
        start, stop = chunk * rows // splits, (chunk + 1) * rows // splits
        acc = zero
        for m0 in range(start, stop, TILE):
            m = m0 + ty
            value = zero
            if m < stop and k < reduced:
                l, rest = m % ow, m // ow
                j, rest = rest % oh, rest // oh
                i, n = rest % od, rest // od
                zi, yi, xi = i * s0 + p * d0 - pad0, j * s1 + q * d1 - pad1, l * s2 + r * d2 - pad2
                if 0 <= zi < depth and 0 <= yi < height and 0 <= xi < width:
                    value = x[(((n * depth + zi) * height + yi) * width + xi) * channels
                              + g * cg + c]
            tile_a[ty, tx] = value             # [row, (tap, channel)]
            grad = zero
            if m < stop and col < fg:
                at = m * n_out + g * fg + col
                grad = dy[at]
                if relu and not y[at] > zero:
                    grad = zero
            tile_b[ty, tx] = grad              # [row, filter]
            syncthreads()
            for mm in range(TILE):
                acc += tile_a[mm, ty] * tile_b[mm, tx]
            syncthreads()
        if k0 + ty < reduced and col < fg:
            part[(chunk * reduced + k0 + ty) * n_out + g * fg + col] = acc


@kernel(*[(t[::1], t[::1], t[::1], types.int64, types.int64, types.int64, types.boolean, t)
          for t in FLOATS])
def _column_sums(dy, y, part, rows, n_out, splits, relu, zero):
    """part[chunk, f] = sum over the rows m of the chunk of dz[m, f] (dz = dy, zeroed where
    y <= 0 if relu); the rows are cut into `splits` contiguous chunks. One thread per
    (chunk, f), f fastest: neighbouring threads read neighbouring cells."""
    start, step = grid(1), gridsize(1)
    for e in range(start, splits * n_out, step):
        chunk, f = e // n_out, e % n_out
        total = zero
        for m in range(chunk * rows // splits, (chunk + 1) * rows // splits):
            at = m * n_out + f
            if not relu or y[at] > zero:
                total += dy[at]
        part[e] = total


@kernel(*[(t[::1], t[::1], types.int64, t) for t in FLOATS])
def _sum_parts(part, out, splits, zero):
    """out[e] = sum over chunks of part[chunk, e], in chunk order; part (splits, out.size).
    One thread per e (coalesced along e): for a few partials of many elements."""
    for e in range(grid(1), out.size, gridsize(1)):
        total = zero
        for chunk in range(splits):
            total += part[chunk * out.size + e]
        out[e] = total


@kernel(*[(t[::1], t[::1], types.int64, t) for t in FLOATS])
def _sum_many_parts(part, out, splits, zero):
    """out[e] = sum over chunks of part[chunk, e]; part (splits, out.size). One block per e,
    its threads striding over the chunks, then a tree in a fixed order (deterministic): for
    many partials of few elements."""
    scratch = shared_array(THREADS, out.dtype)
    t = thread_index.x
    for e in range(block_index.x, out.size, grid_size.x):
        total = zero
        for chunk in range(t, splits, THREADS):
            total += part[chunk * out.size + e]
        total = block_sum(total, scratch)
        if t == 0:
            out[e] = total


# ---- host side: layouts, dtypes, launch shapes, output allocation -------------------------

def _lift(values, rank: int, fill) -> tuple:
    """A per-axis tuple for `rank` spatial axes as a 3-axis tuple (leading axes get `fill`)."""
    return (fill,) * (3 - rank) + tuple(int(v) for v in values)


def _operand(a, dtype):
    """a as a flat C-contiguous device array of `dtype` (moved or converted when needed; the
    ops hand kernels arrays of one dtype, so a device-side conversion is rare)."""
    if is_device_array(a) and a.dtype != dtype:
        a = to_host(a)
    a = to_device(np.asarray(a, dtype) if not is_device_array(a) else a)
    return a.reshape(a.size)


def _geometry(x_shape, w_shape, out, window, groups: int) -> tuple:
    """The GEOMETRY tuple of a convolution of x (N, *s, C) by w (*k, C/groups, F) with
    output positions `out` (per spatial axis)."""
    rank = len(x_shape) - 2
    return (int(x_shape[0]), *_lift(x_shape[1:-1], rank, 1), int(x_shape[-1]),
            *_lift(out, rank, 1), int(w_shape[-1]), *_lift(w_shape[:-2], rank, 1),
            *_lift(window.strides, rank, 1), *_lift([b for b, _ in window.padding], rank, 0),
            *_lift(window.dilation, rank, 1), int(groups))


def _launch_tiles(tile_kernel, tasks: int, *args) -> None:
    tile_kernel[blocks(tasks, 1), (TILE, TILE)](*args)


def _splits(rows: int, tasks: int, per_task: int) -> int:
    """Chunks to cut `rows` reduced rows into, when `tasks` tasks of `per_task` threads
    already run: enough chunks to fill the device, each of at least 4 * TILE rows."""
    wanted = -(-RESIDENT // max(tasks * per_task, 1))
    return max(1, min(-(-rows // (4 * TILE)), wanted))


def _summed(part, size: int, splits: int, dtype):
    """The (size,) sum of the (splits, size) partials (part itself when splits == 1)."""
    if splits == 1:
        return part
    out = empty((size,), dtype)
    if splits > MANY_PARTS:
        _sum_many_parts[blocks(size, 1), THREADS](part, out, splits, dtype.type(0))
    else:
        _sum_parts[blocks(size), THREADS](part, out, splits, dtype.type(0))
    return out


def _bias_gradient(dy, y, rows: int, n_out: int, relu: bool, dtype):
    """db (F,): the column sums of dz (rows, F)."""
    splits = max(1, min(rows, -(-RESIDENT // max(n_out, 1))))
    part = empty((splits * n_out,), dtype)
    _column_sums[blocks(splits * n_out), THREADS](dy, y, part, rows, n_out, splits, relu,
                                                  dtype.type(0))
    return _summed(part, n_out, splits, dtype)


def _zeros(shape, dtype):
    return to_device(np.zeros(shape, dtype))


def conv_forward(x, w, window, groups=1, bias=None, relu=False, pool=None, out=None):
    """y (N, *o, F) = x (N, *spatial, C) correlated with w (*k, C // groups, F), grouped,
    over `window` (a Window: size k, strides, dilation, explicit padding); then + bias (F,),
    then max(y, 0) if relu; o = window.output_spatial(spatial).
    pool: None, or a Window (size, strides, no padding) to max-pool the result over, (N,
    *pooled, F): the conv output is computed only at the positions some pooling window reads,
    then a second kernel pools it (into a new array, copied into `out` when given).
    out: None, or the device array to write the result into and return (api.checked_out)."""
    rank, batch, n_out = x.ndim - 2, int(x.shape[0]), int(w.shape[-1])
    dtype = np.result_type(x.dtype, w.dtype)
    spatial = window.output_spatial(x.shape[1:-1])
    pooled = spatial if pool is None else tuple(
        max((n - k) // s + 1, 0) for n, k, s in zip(spatial, pool.size, pool.strides))
    if out is not None:
        checked_out("conv_forward", out, (batch, *pooled, n_out), dtype)
    if 0 in pooled:
        return empty((batch, *pooled, n_out), dtype) if out is None else out
    if pool is not None:
        spatial = tuple((n - 1) * s + k for n, k, s in zip(pooled, pool.size, pool.strides))
    y = out if out is not None and pool is None else empty((batch, *spatial, n_out), dtype)
    if y.size:
        geometry = _geometry(x.shape, w.shape, spatial, window, groups)
        flat_w = _operand(w, dtype)
        tasks = groups * -(-(batch * math.prod(spatial)) // TILE) * -(-(n_out // groups) // TILE)
        _launch_tiles(_forward_tiles, tasks, _operand(x, dtype), flat_w,
                      flat_w if bias is None else _operand(bias, dtype), y.reshape(y.size),
                      geometry, bias is not None, bool(relu), dtype.type(0))
    if pool is None:
        return y
    result = max_pool_forward(y, Window(tuple(pool.size), tuple(pool.strides),
                                        ((0, 0),) * rank, (1,) * rank))
    if out is None:
        return result
    out.copy_to_device(result)
    return out


def conv_backward(dy, x, w, window, groups=1, y=None, input_gradient=True,
                  kernel_gradient=True, pool=None):
    """(dx or None, dw or None, db) of y = conv_forward(x, w, window, ...) [+ bias] given
    dy = dL/dy: pass the forward's output y when it applied relu (the VJP reads y > 0).
    x is read only for dw, so only its shape matters when kernel_gradient is False.
    dx (x's shape), dw (w's shape), db (F,). pool: None, or (unpooled, pooled, pool_window)
    when dy is the gradient of pooled = max_pool_forward(unpooled, pool_window), unpooled
    being the forward's output: here max_pool_backward makes dL/d(unpooled) first (the CPU
    kernel makes it a block at a time)."""
    if pool is not None:
        dy = max_pool_backward(dy, *pool)
    return _backward(dy, x, w, window, groups, y, input_gradient, kernel_gradient, True)


def _backward(dy, x, w, window, groups, y, input_gradient, kernel_gradient, bias_gradient):
    """conv_backward, with db (F,) computed only if bias_gradient (else None)."""
    dtype = np.result_type(dy.dtype, x.dtype, w.dtype)
    n_out = int(w.shape[-1])
    x_shape, w_shape = tuple(int(n) for n in x.shape), tuple(int(n) for n in w.shape)
    rows = math.prod(dy.shape[:-1])
    if rows == 0:
        return (_zeros(x_shape, dtype) if input_gradient else None,
                _zeros(w_shape, dtype) if kernel_gradient else None,
                _zeros((n_out,), dtype) if bias_gradient else None)
    flat_dy = _operand(dy, dtype)
    flat_y = flat_dy if y is None else _operand(y, dtype)
    relu, zero = y is not None, dtype.type(0)
    geometry = _geometry(x_shape, w_shape, tuple(dy.shape[1:-1]), window, groups)
    dx = dw = db = None
    if bias_gradient:
        db = _bias_gradient(flat_dy, flat_y, rows, n_out, relu, dtype)
    if input_gradient:
        dx = empty(x_shape, dtype)
        tasks = groups * -(-math.prod(x_shape[:-1]) // TILE) * -(-(x_shape[-1] // groups)
                                                                  // TILE)
        _launch_tiles(_input_tiles, tasks, flat_dy, flat_y, _operand(w, dtype),
                      dx.reshape(dx.size), geometry, relu, zero)
    if kernel_gradient:
        reduced = math.prod(w_shape[:-1])
        tasks = groups * -(-reduced // TILE) * -(-(n_out // groups) // TILE)
        splits = _splits(rows, tasks, TILE * TILE)
        part = empty((splits * reduced * n_out,), dtype)
        _launch_tiles(_kernel_tiles, splits * tasks, flat_dy, flat_y, _operand(x, dtype),
                      part, geometry, splits, relu, zero)
        dw = _summed(part, reduced * n_out, splits, dtype).reshape(w_shape)
    return dx, dw, db


def conv_backward_input(dy, w, x_shape, window, groups=1):
    """dL/dx (x_shape) of conv_forward given dy = dL/dy: the transposed convolution."""
    x = np.broadcast_to(np.zeros((), dy.dtype), tuple(x_shape))     # only its shape is read
    return _backward(dy, x, w, window, groups, None, True, False, False)[0]


def conv_backward_kernel(dy, x, w_shape, window, groups=1):
    """dL/dw (w_shape = (*k, C // groups, F)) of conv_forward given dy = dL/dy."""
    w = np.broadcast_to(np.zeros((), dy.dtype), tuple(w_shape))     # only its shape is read
    return _backward(dy, x, w, window, groups, None, False, True, False)[1]
