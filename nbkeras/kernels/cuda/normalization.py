"""Normalization over groups of a (P, M, Q, K) view: the CUDA twin of kernels.cpu.normalization.

x is viewed as (P, M, Q, K): every (p, q) is one group normalized over its M * K elements
(m, k); gamma, beta are indexed by (q, k) (see the CPU module for the batch, layer and group
norm layouts). Host functions take device (or host) arrays and return device arrays; nothing
is copied to the host.

Design, for real GPUs (the simulator runs the same code with small blocks):
- Group statistics: one block of THREADS threads per group (p, q) (blocks stride over the
  P * Q groups); the threads stride over the group's (m, k) elements, so every run of K
  contiguous elements is read coalesced, and the sums are reduced in the block through shared
  memory (`block_sum`). Two passes over the group: first the mean, then the sum of squared
  deviations from it (the second pass finds the group in cache for the common sizes).
- Batch norm with the channels last (P == 1, K == 1, x (M, C)): a block per (column tile,
  row chunk); a tile is _WIDTH consecutive columns read by _LANES rows at once (a warp reads
  one row's 32 consecutive values), every thread sums its column over the rows of its lane,
  the lanes are added through shared memory and the block writes one partial sum per column
  of its chunk; a second small kernel adds the chunks' partials per column. The sums are
  shifted by a sample of each column (x[0, c]), so the variance E[d²] - E[d]² of d = x - x[0]
  does not cancel catastrophically, and x is read once.
- dgamma, dbeta: the same column reduction over the rows (p, m) of x viewed as (P * M, Q * K),
  with per-(p, q) shift and 1 / sqrt(variance + epsilon); for the channels-last batch norm the
  column sums are also the group sums of the input gradient.
- The normalization and the input gradient: grid-stride over all elements with per-(p, q)
  coefficient arrays (shift, 1 / sqrt(variance + epsilon), the gradient's coefficients).
- Strided loops carry their (p, m, q, k) indices forward digit by digit (`_carry`,
  `_advance`) instead of dividing the flat index: 64-bit integer division costs tens of
  instructions on a GPU, more than an element's memory traffic.
No atomics, no warp shuffles. Sums accumulate in x's dtype (per-thread strided sums, then a
tree): float32 kernels contain no float64 arithmetic, since every constant (epsilon, 1 / count,
0, 1, 1/2) enters as an argument of x's dtype.
"""
import math

import numpy as np
from numba import types

from .runtime import (FLOATS, SIMULATOR, THREADS, block_index, block_sum, blocks, device,
                      empty, grid, grid_size, gridsize, is_device_array, kernel, shared_array,
                      syncthreads, thread_index, to_device)

__all__ = ["normalize_forward", "normalize_backward"]

_WIDTH = 8 if SIMULATOR else 32        # columns of a column tile (a power of two)
_LANES = THREADS // _WIDTH             # rows a column tile reads at once
_LANE_ROWS = 2 if SIMULATOR else 16    # rows per lane below which a chunk is not split
_TILE_BLOCKS = 4 if SIMULATOR else 1024  # (tile, chunk) blocks aimed at: enough to fill a GPU

_I = types.int64
_B = types.boolean


# ---- reductions ---------------------------------------------------------------------------

@device
def _lane_sum(value, scratch):
    """The sum of `value` over the lanes of the calling thread's column (the threads with
    the same thread_index.x % _WIDTH), valid in lane 0: a tree through `scratch` (THREADS
    shared)."""
    t = thread_index.x
    scratch[t] = value
    syncthreads()
    step = THREADS // 2
    while step >= _WIDTH:
        if t < step:
            scratch[t] += scratch[t + step]
        syncthreads()
        step //= 2
    total = scratch[t]
    syncthreads()                   # all have read scratch before it is written again
    return total


@device
def _carry(high, low, d_high, d_low, n_low):
    """(high, low) + (d_high, d_low) in the radix n_low, for low, d_low < n_low: the index
    pairs of a strided loop advance without a division per element."""
    low += d_low
    high += d_high
    if low >= n_low:
        low -= n_low
        high += 1
    return high, low


@device
def _unravel(e, n_m, n_q, n_k):
    """(p, m, q, k) of the flat index e into a C-contiguous (P, M, Q, K) array."""
    row = e // (n_q * n_k)
    i = e - row * (n_q * n_k)
    return row // n_m, row % n_m, i // n_k, i % n_k


@device
def _advance(p, m, q, k, dp, dm, dq, dk, n_m, n_q, n_k):
    """(p, m, q, k) + (dp, dm, dq, dk) in the mixed radix (P, M, Q, K), the step's digits
    below their radices: a grid-stride loop's indices advance without a division."""
    q, k = _carry(q, k, dq, dk, n_k)
    m, q = _carry(m, q, dm, 0, n_q)            # q + dq + a carry stays below 2 n_q
    return _carry(p, m, dp, 0, n_m) + (q, k)


@kernel(*[(f[:, :, ::1], _I, f, f, f[:, ::1], f[:, ::1]) for f in FLOATS])
def _group_moments(x, n_k, inv_count, zero, mean, variance):
    """mean, variance (P, Q) of the groups of x (P, M, Q * K), two-pass; a block per group."""
    scratch = shared_array(THREADS, x.dtype)
    n_m = x.shape[1]
    n_q = mean.shape[1]
    m0, k0 = thread_index.x // n_k, thread_index.x % n_k    # a thread's first (m, k)
    dm, dk = THREADS // n_k, THREADS % n_k                  # and its stride
    for g in range(block_index.x, mean.shape[0] * n_q, grid_size.x):
        p = g // n_q
        q = g - p * n_q
        i0 = q * n_k
        total = zero
        m, k = m0, k0
        while m < n_m:
            total += x[p, m, i0 + k]
            m, k = _carry(m, k, dm, dk, n_k)
        centre = block_sum(total, scratch) * inv_count
        total = zero
        m, k = m0, k0
        while m < n_m:
            d = x[p, m, i0 + k] - centre
            total += d * d
            m, k = _carry(m, k, dm, dk, n_k)
        spread = block_sum(total, scratch) * inv_count
        if thread_index.x == 0:
            mean[p, q] = centre
            variance[p, q] = spread


@kernel(*[(f[:, ::1], f, f[:, ::1], f[:, ::1]) for f in FLOATS])
def _column_moment_partials(x, zero, sums, squares):
    """sums[t, c], squares[t, c]: the sums of d and d² over the rows of chunk t, for
    d = x[:, c] - x[0, c] and x (M, C); a block per (column tile, row chunk)."""
    scratch = shared_array(THREADS, x.dtype)
    n_rows, n_c = x.shape
    chunks = sums.shape[0]
    tiles = (n_c + _WIDTH - 1) // _WIDTH
    lane = thread_index.x // _WIDTH
    for b in range(block_index.x, tiles * chunks, grid_size.x):
        chunk = b // tiles
        c = (b - chunk * tiles) * _WIDTH + thread_index.x % _WIDTH
        s = zero
        s2 = zero
        if c < n_c:                    # threads past the last column add zeros
            shift = x[0, c]
            for r in range(chunk * n_rows // chunks + lane, (chunk + 1) * n_rows // chunks,
                           _LANES):
                d = x[r, c] - shift
                s += d
                s2 += d * d
        s = _lane_sum(s, scratch)
        s2 = _lane_sum(s2, scratch)
        if lane == 0 and c < n_c:
            sums[chunk, c] = s
            squares[chunk, c] = s2


@kernel(*[(f[:, ::1], f[:, ::1], f[:, ::1], f, f, f[::1], f[::1]) for f in FLOATS])
def _column_moments(x, sums, squares, inv_count, zero, mean, variance):
    """mean, variance (C,) of the columns of x (M, C) from the chunks' shifted partial sums."""
    for c in range(grid(1), x.shape[1], gridsize(1)):
        s = zero
        s2 = zero
        for t in range(sums.shape[0]):
            s += sums[t, c]
            s2 += squares[t, c]
        d = s * inv_count
        mean[c] = x[0, c] + d
        variance[c] = max(s2 * inv_count - d * d, zero)


# ---- per-(p, q) coefficients and the forward pass -----------------------------------------

@kernel(*[(f[::1], f[::1], f, f, f, _B, f[::1], f[::1]) for f in FLOATS])
def _coefficients(mean, variance, epsilon, one, zero, center, shift, rstd):
    """Per group: shift = mean (0 without centering), rstd = 1 / sqrt(variance + epsilon)."""
    for g in range(grid(1), mean.shape[0], gridsize(1)):
        shift[g] = mean[g] if center else zero
        rstd[g] = one / math.sqrt(variance[g] + epsilon)


@kernel(*[(f[::1], f[::1], f[::1], _I, _I, f[:, ::1], f[:, ::1], f[::1]) for f in FLOATS])
def _normalize(x, gamma, beta, n_m, n_k, shift, rstd, out):
    """out = (x - shift) * (gamma * rstd) + beta over x (P, M, Q, K) flattened."""
    n_q = shift.shape[1]
    p, m, q, k = _unravel(grid(1), n_m, n_q, n_k)
    dp, dm, dq, dk = _unravel(gridsize(1), n_m, n_q, n_k)
    for e in range(grid(1), x.shape[0], gridsize(1)):
        i = q * n_k + k
        out[e] = (x[e] - shift[p, q]) * (gamma[i] * rstd[p, q]) + beta[i]
        p, m, q, k = _advance(p, m, q, k, dp, dm, dq, dk, n_m, n_q, n_k)


# ---- backward -----------------------------------------------------------------------------

@device
def _input_grad_coefficients(p, q, sum_g, sum_gu, r, inv_count, half, zero, batch_stats,
                             center, coef_x, coef_0, dmean, dvariance):
    """The group's coefficients of dx = r gamma dy + (x - mean) coef_x + coef_0 from
    sum_g = sum(gamma dy) and sum_gu = sum(gamma dy u); with given statistics, their
    cotangents dmean, dvariance instead (coef_x = coef_0 = 0)."""
    if batch_stats:
        coef_x[p, q] = -r * r * sum_gu * inv_count
        coef_0[p, q] = -r * sum_g * inv_count if center else zero
        dmean[p, q] = zero
        dvariance[p, q] = zero
    else:
        coef_x[p, q] = zero
        coef_0[p, q] = zero
        dmean[p, q] = -r * sum_g if center else zero
        dvariance[p, q] = -half * r * r * sum_gu


@kernel(*[(f[:, :, ::1], f[:, :, ::1], f[::1], _I, f[:, ::1], f[:, ::1], f, f, f, _B, _B,
           f[:, ::1], f[:, ::1], f[:, ::1], f[:, ::1]) for f in FLOATS])
def _group_grad(dy, x, gamma, n_k, shift, rstd, inv_count, half, zero, batch_stats, center,
                coef_x, coef_0, dmean, dvariance):
    """Per group (a block each): sum(gamma dy) and sum(gamma dy u), u = (x - shift) * rstd,
    reduced in the block, turned into `_input_grad_coefficients`; dy, x (P, M, Q * K)."""
    scratch = shared_array(THREADS, x.dtype)
    n_m = x.shape[1]
    n_q = shift.shape[1]
    m0, k0 = thread_index.x // n_k, thread_index.x % n_k
    dm, dk = THREADS // n_k, THREADS % n_k
    for g in range(block_index.x, shift.shape[0] * n_q, grid_size.x):
        p = g // n_q
        q = g - p * n_q
        i0 = q * n_k
        s = shift[p, q]
        sum_g = zero
        sum_gd = zero
        m, k = m0, k0
        while m < n_m:
            d = dy[p, m, i0 + k] * gamma[i0 + k]
            sum_g += d
            sum_gd += d * (x[p, m, i0 + k] - s)
            m, k = _carry(m, k, dm, dk, n_k)
        sum_g = block_sum(sum_g, scratch)
        sum_gd = block_sum(sum_gd, scratch)
        if thread_index.x == 0:
            r = rstd[p, q]
            _input_grad_coefficients(p, q, sum_g, sum_gd * r, r, inv_count, half, zero,
                                     batch_stats, center, coef_x, coef_0, dmean, dvariance)


@kernel(*[(f[:, ::1], f[:, ::1], _I, _I, f[:, ::1], f[:, ::1], f, f[:, ::1], f[:, ::1])
          for f in FLOATS])
def _column_grad_partials(dy, x, n_m, n_k, shift, rstd, zero, sum_d, sum_du):
    """sum_d[t, i], sum_du[t, i]: the sums of dy and dy * u, u = (x - shift) * rstd, over the
    rows of chunk t of dy, x viewed as (P * M, Q * K); a block per (column tile, row chunk)."""
    scratch = shared_array(THREADS, x.dtype)
    n_rows, n_l = x.shape
    chunks = sum_d.shape[0]
    tiles = (n_l + _WIDTH - 1) // _WIDTH
    lane = thread_index.x // _WIDTH
    dp, dm = _LANES // n_m, _LANES % n_m
    for b in range(block_index.x, tiles * chunks, grid_size.x):
        chunk = b // tiles
        i = (b - chunk * tiles) * _WIDTH + thread_index.x % _WIDTH
        a = zero
        u = zero
        if i < n_l:
            q = i // n_k
            r0 = chunk * n_rows // chunks + lane
            p, m = r0 // n_m, r0 % n_m          # row r = (p, m), advanced by dp, dm
            for r in range(r0, (chunk + 1) * n_rows // chunks, _LANES):
                d = dy[r, i]
                a += d
                u += d * (x[r, i] - shift[p, q]) * rstd[p, q]
                p, m = _carry(p, m, dp, dm, n_m)
        a = _lane_sum(a, scratch)
        u = _lane_sum(u, scratch)
        if lane == 0 and i < n_l:
            sum_d[chunk, i] = a
            sum_du[chunk, i] = u


@kernel(*[(f[:, ::1], f[:, ::1], f[::1], f[:, ::1], f, f, f, _B, _B, _B, f[::1], f[::1],
           f[:, ::1], f[:, ::1], f[:, ::1], f[:, ::1]) for f in FLOATS])
def _column_grad(sum_d, sum_du, gamma, rstd, inv_count, half, zero, columns_are_groups,
                 batch_stats, center, dgamma, dbeta, coef_x, coef_0, dmean, dvariance):
    """dbeta, dgamma (Q * K,): the chunks' partial sums added per column. When every column
    is a group (P == 1, K == 1), also the groups' `_input_grad_coefficients`."""
    for i in range(grid(1), gamma.shape[0], gridsize(1)):
        a = zero
        u = zero
        for t in range(sum_d.shape[0]):
            a += sum_d[t, i]
            u += sum_du[t, i]
        dbeta[i] = a
        dgamma[i] = u
        if columns_are_groups:
            _input_grad_coefficients(0, i, gamma[i] * a, gamma[i] * u, rstd[0, i], inv_count,
                                     half, zero, batch_stats, center, coef_x, coef_0, dmean,
                                     dvariance)


@kernel(*[(f[::1], f[::1], f[::1], _I, _I, f[:, ::1], f[:, ::1], f[:, ::1], f[:, ::1],
           f[::1]) for f in FLOATS])
def _input_grad(dy, x, gamma, n_m, n_k, mean, rstd, coef_x, coef_0, dx):
    """dx = dy * (rstd * gamma) + (x - mean) * coef_x + coef_0 over x (P, M, Q, K) flattened."""
    n_q = mean.shape[1]
    p, m, q, k = _unravel(grid(1), n_m, n_q, n_k)
    dp, dm, dq, dk = _unravel(gridsize(1), n_m, n_q, n_k)
    for e in range(grid(1), x.shape[0], gridsize(1)):
        i = q * n_k + k
        dx[e] = (dy[e] * (rstd[p, q] * gamma[i]) + (x[e] - mean[p, q]) * coef_x[p, q]
                 + coef_0[p, q])
        p, m, q, k = _advance(p, m, q, k, dp, dm, dq, dk, n_m, n_q, n_k)


# ---- host functions -----------------------------------------------------------------------

def _on_device(a, shape, dtype, fill=None):
    """a as a C-contiguous device array of `shape`; None: filled with `fill`."""
    if a is None:
        return to_device(np.full(shape, fill, dtype))
    if is_device_array(a):
        return a.reshape(shape)
    return to_device(np.ascontiguousarray(a, dtype).reshape(shape))


def _chunks(rows: int, columns: int) -> int:
    """Row chunks of a column reduction: enough (tile, chunk) blocks to fill the GPU, at
    least _LANE_ROWS rows per lane."""
    tiles = -(-columns // _WIDTH)
    return max(1, min(-(-rows // (_LANES * _LANE_ROWS)), -(-_TILE_BLOCKS // tiles)))


def _column_blocks(chunks: int, columns: int) -> int:
    """Blocks of a column reduction: one per (column tile, row chunk), at most MAX_BLOCKS."""
    return blocks(-(-columns // _WIDTH) * chunks, 1)


def _rstd_and_shift(mean, variance, epsilon, center, dtype):
    """(shift, rstd), (P, Q) each: mean or 0, and 1 / sqrt(variance + epsilon)."""
    shift, rstd = empty(mean.shape, dtype), empty(mean.shape, dtype)
    n = mean.shape[0] * mean.shape[1]
    _coefficients[blocks(n), THREADS](mean.reshape(n), variance.reshape(n),
                                      dtype.type(epsilon), dtype.type(1), dtype.type(0),
                                      bool(center), shift.reshape(n), rstd.reshape(n))
    return shift, rstd


def normalize_forward(x, gamma=None, beta=None, mean=None, variance=None, epsilon=1e-3,
                      center=True):
    """x (P, M, Q, K); gamma, beta (Q, K) or None (ones, zeros); mean, variance (P, Q), or
    None to use x's own statistics. Returns (y, mean, variance), the statistics as (P, Q)
    device arrays of x's dtype (the batch's biased variance when computed here)."""
    x = to_device(x)
    dtype = x.dtype
    n_p, n_m, n_q, n_k = x.shape
    size = n_q * n_k
    zero = dtype.type(0)
    if x.size == 0:                # as Keras: statistics of no values are NaN (0 / 0)
        if mean is None:
            mean, variance = (_on_device(None, (n_p, n_q), dtype, np.nan) for _ in range(2))
        else:
            mean = _on_device(mean, (n_p, n_q), dtype)
            variance = _on_device(variance, (n_p, n_q), dtype)
        return empty(x.shape, dtype), mean, variance
    if mean is None:
        mean, variance = empty((n_p, n_q), dtype), empty((n_p, n_q), dtype)
        inv_count = dtype.type(1 / max(n_m * n_k, 1))
        if n_p == 1 and n_k == 1:      # batch norm, channels last: columns of x (M, C)
            x2 = x.reshape(n_m, n_q)
            chunks = _chunks(n_m, n_q)
            sums, squares = empty((chunks, n_q), dtype), empty((chunks, n_q), dtype)
            _column_moment_partials[_column_blocks(chunks, n_q), THREADS](x2, zero, sums,
                                                                          squares)
            _column_moments[blocks(n_q), THREADS](x2, sums, squares, inv_count, zero,
                                                  mean.reshape(n_q), variance.reshape(n_q))
        else:
            _group_moments[blocks(n_p * n_q, 1), THREADS](x.reshape(n_p, n_m, size), n_k,
                                                          inv_count, zero, mean, variance)
    else:
        mean = _on_device(mean, (n_p, n_q), dtype)
        variance = _on_device(variance, (n_p, n_q), dtype)
    shift, rstd = _rstd_and_shift(mean, variance, epsilon, center, dtype)
    out = empty(x.shape, dtype)
    _normalize[blocks(x.size), THREADS](x.reshape(x.size), _on_device(gamma, size, dtype, 1),
                                        _on_device(beta, size, dtype, 0), n_m, n_k, shift,
                                        rstd, out.reshape(x.size))
    return out, mean, variance


def normalize_backward(dy, x, gamma, mean, variance, epsilon=1e-3, batch_stats=True,
                       center=True):
    """Cotangents of `normalize_forward`: returns (dx, dgamma, dbeta, dmean, dvariance) with
    dgamma, dbeta (Q, K); dmean, dvariance (P, Q) only when the statistics were given
    (batch_stats=False), else None, since then they are functions of x folded into dx."""
    x, dy = to_device(x), to_device(dy)
    dtype = x.dtype
    n_p, n_m, n_q, n_k = x.shape
    size = n_q * n_k
    if x.size == 0:                # sums over no values
        zeros = (_on_device(None, (n_q, n_k), dtype, 0) for _ in range(2))
        statistics = (None, None) if batch_stats else (
            _on_device(None, (n_p, n_q), dtype, 0) for _ in range(2))
        return (empty(x.shape, dtype), *zeros, *statistics)
    gamma = _on_device(gamma, size, dtype, 1)
    mean = _on_device(mean, (n_p, n_q), dtype)
    variance = _on_device(variance, (n_p, n_q), dtype)
    shift, rstd = _rstd_and_shift(mean, variance, epsilon, center, dtype)
    constants = (dtype.type(1 / max(n_m * n_k, 1)), dtype.type(0.5), dtype.type(0))
    flags = (bool(batch_stats), bool(center))
    coef_x, coef_0, dmean, dvariance = (empty((n_p, n_q), dtype) for _ in range(4))
    columns_are_groups = n_p == 1 and n_k == 1     # batch norm, channels last
    if not columns_are_groups:
        _group_grad[blocks(n_p * n_q, 1), THREADS](
            dy.reshape(n_p, n_m, size), x.reshape(n_p, n_m, size), gamma, n_k, shift, rstd,
            *constants, *flags, coef_x, coef_0, dmean, dvariance)
    rows = n_p * n_m
    chunks = _chunks(rows, size)
    sum_d, sum_du = empty((chunks, size), dtype), empty((chunks, size), dtype)
    _column_grad_partials[_column_blocks(chunks, size), THREADS](
        dy.reshape(rows, size), x.reshape(rows, size), n_m, n_k, shift, rstd, constants[2],
        sum_d, sum_du)
    dgamma, dbeta = empty((size,), dtype), empty((size,), dtype)
    _column_grad[blocks(size), THREADS](sum_d, sum_du, gamma, rstd, *constants,
                                        columns_are_groups, *flags, dgamma, dbeta, coef_x,
                                        coef_0, dmean, dvariance)
    dx = empty(x.shape, dtype)
    _input_grad[blocks(x.size), THREADS](dy.reshape(x.size), x.reshape(x.size), gamma, n_m,
                                         n_k, mean, rstd, coef_x, coef_0, dx.reshape(x.size))
    dgamma, dbeta = dgamma.reshape(n_q, n_k), dbeta.reshape(n_q, n_k)
    if batch_stats:
        return dx, dgamma, dbeta, None, None
    return dx, dgamma, dbeta, dmean, dvariance
