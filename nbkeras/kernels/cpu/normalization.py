"""Normalization over groups of a 4-D view, shared by batch, layer and group normalization.

x is viewed as (P, M, Q, K): every (p, q) is one group whose mean and variance run over its
M * K elements (m, k); the affine parameters gamma, beta are indexed by (q, k) (the ops repeat
per-channel parameters along k where k also runs over positions). So

    batch norm, channel axis a:  (1, prod(shape[:a]), C, prod(shape[a+1:]))
    layer norm, trailing axes:   (rows, 1, 1, features)
    group norm, channel axis a:  (N, prod(shape[1:a]), G, C / G * prod(shape[a+1:]))

and no layout needs a transpose. Work is split into tasks of (a chunk of p, a block of q),
run in parallel (over channel blocks for batch norm, rows for layer norm, samples and groups
for group norm); a task walks its memory in order, so the inner loop is contiguous. Sums run
in float64; per-element arithmetic runs in x's dtype through per-column coefficient arrays.
"""
import numba
import numpy as np
from numba import njit, prange

from .parallel import PARALLEL_MIN_ELEMENTS, launch

__all__ = ["normalize_forward", "normalize_backward"]


@njit(cache=True)
def _group_sum(a, start, stop):
    """a[start:stop].sum() with four running sums, so the adds do not wait on each other."""
    s0 = s1 = s2 = s3 = 0.0
    i = start
    while i + 4 <= stop:
        s0 += a[i]
        s1 += a[i + 1]
        s2 += a[i + 2]
        s3 += a[i + 3]
        i += 4
    while i < stop:
        s0 += a[i]
        i += 1
    return (s0 + s1) + (s2 + s3)


@njit(cache=True, parallel=True)
def _normalize_forward(x, gamma, beta, n_k, epsilon, batch_stats, center, p_chunks, q_block,
                       mean, variance, out):
    """out = (x - c * mean) / sqrt(variance + epsilon) * gamma + beta per group (c = center).
    x, out (P, M, Q * K); gamma, beta (Q * K,); mean, variance (P, Q): computed (two-pass)
    and written if batch_stats, else read. A task owns groups [q0, q0 + nq) of a chunk of p,
    the contiguous columns [q0 * K, (q0 + nq) * K) of every (p, m) row."""
    n_p, n_m, n_l = x.shape
    n_q = n_l // n_k
    count = n_m * n_k
    q_blocks = (n_q + q_block - 1) // q_block
    for task in prange(p_chunks * q_blocks):
        chunk = task // q_blocks
        q0 = (task % q_blocks) * q_block
        nq = min(q_block, n_q - q0)
        i0, n_i = q0 * n_k, nq * n_k
        acc = np.empty(n_i)                      # float64 column sums over m
        centre = np.empty(n_i)                   # the group mean, per column
        shift = np.empty(n_i, x.dtype)           # what is subtracted: mean, or 0 (rms)
        scale = np.empty(n_i, x.dtype)           # gamma / sqrt(variance + epsilon)
        for p in range(chunk * n_p // p_chunks, (chunk + 1) * n_p // p_chunks):
            if batch_stats:
                acc[:] = 0.0
                for m in range(n_m):
                    for i in range(n_i):
                        acc[i] += x[p, m, i0 + i]
                for j in range(nq):
                    mean[p, q0 + j] = _group_sum(acc, j * n_k, (j + 1) * n_k) / count
                    centre[j * n_k:(j + 1) * n_k] = mean[p, q0 + j]
                acc[:] = 0.0
                for m in range(n_m):
                    for i in range(n_i):
                        d = x[p, m, i0 + i] - centre[i]
                        acc[i] += d * d
                for j in range(nq):
                    variance[p, q0 + j] = _group_sum(acc, j * n_k, (j + 1) * n_k) / count
            for j in range(nq):
                r = 1.0 / np.sqrt(variance[p, q0 + j] + epsilon)
                for i in range(j * n_k, (j + 1) * n_k):
                    shift[i] = mean[p, q0 + j] if center else 0.0
                    scale[i] = gamma[i0 + i] * r
            for m in range(n_m):
                for i in range(n_i):
                    out[p, m, i0 + i] = (x[p, m, i0 + i] - shift[i]) * scale[i] + beta[i0 + i]


@njit(cache=True, parallel=True)
def _normalize_backward(dy, x, gamma, n_k, mean, variance, epsilon, batch_stats, center,
                        p_chunks, q_block, dx, dgamma, dbeta, dmean, dvariance):
    """With u = (x - c * mean) * r, r = 1 / sqrt(variance + epsilon), g = dy * gamma:
    batch_stats (mean, variance are x's own):  dx = r * (g - c * mean(g) - xc * mean(g * u)),
    xc = (x - mean) * r; else dx = r * g, dmean = -r * sum(g), dvariance = -r² / 2 * sum(g * u).
    Layouts as in `_normalize_forward`; dgamma[chunk], dbeta[chunk] (p_chunks, Q * K) are
    per-chunk partial sums of dy * u and dy."""
    n_p, n_m, n_l = x.shape
    n_q = n_l // n_k
    count = n_m * n_k
    q_blocks = (n_q + q_block - 1) // q_block
    for task in prange(p_chunks * q_blocks):
        chunk = task // q_blocks
        q0 = (task % q_blocks) * q_block
        nq = min(q_block, n_q - q0)
        i0, n_i = q0 * n_k, nq * n_k
        shift = np.empty(n_i)
        sum_d = np.empty(n_i)                    # sum over m of dy, per column
        sum_dx = np.empty(n_i)                   # sum over m of dy * (x - shift), per column
        centre = np.empty(n_i, x.dtype)
        coef_dy = np.empty(n_i, x.dtype)
        coef_x = np.empty(n_i, x.dtype)
        coef_0 = np.empty(n_i, x.dtype)
        dgamma[chunk, i0:i0 + n_i] = 0.0
        dbeta[chunk, i0:i0 + n_i] = 0.0
        for p in range(chunk * n_p // p_chunks, (chunk + 1) * n_p // p_chunks):
            for j in range(nq):
                shift[j * n_k:(j + 1) * n_k] = mean[p, q0 + j] if center else 0.0
            sum_d[:] = 0.0
            sum_dx[:] = 0.0
            for m in range(n_m):
                for i in range(n_i):
                    d = dy[p, m, i0 + i]
                    sum_d[i] += d
                    sum_dx[i] += d * (x[p, m, i0 + i] - shift[i])
            for j in range(nq):
                r = 1.0 / np.sqrt(variance[p, q0 + j] + epsilon)
                sum_g = 0.0
                sum_gu = 0.0
                for i in range(j * n_k, (j + 1) * n_k):
                    sum_dx[i] *= r                   # now sum over m of dy * u
                    dgamma[chunk, i0 + i] += sum_dx[i]
                    dbeta[chunk, i0 + i] += sum_d[i]
                    sum_g += gamma[i0 + i] * sum_d[i]
                    sum_gu += gamma[i0 + i] * sum_dx[i]
                if batch_stats:
                    c_x = -r * r * sum_gu / count
                    c_0 = -r * sum_g / count if center else 0.0
                else:
                    c_x = 0.0
                    c_0 = 0.0
                    dmean[p, q0 + j] = -r * sum_g if center else 0.0
                    dvariance[p, q0 + j] = -0.5 * r * r * sum_gu
                for i in range(j * n_k, (j + 1) * n_k):
                    centre[i] = mean[p, q0 + j]
                    coef_dy[i] = r * gamma[i0 + i]
                    coef_x[i] = c_x
                    coef_0[i] = c_0
            for m in range(n_m):
                for i in range(n_i):
                    dx[p, m, i0 + i] = (dy[p, m, i0 + i] * coef_dy[i]
                                        + (x[p, m, i0 + i] - centre[i]) * coef_x[i] + coef_0[i])



# ---- batch norm with the channels last: (rows, C), rows split over threads ----------------
# The general kernels above split only over channel blocks when P == 1 (two tasks for 64
# channels) and strided columns; here every thread owns a block of whole rows, the inner
# loop runs over all channels contiguously, and per-thread column sums are added at the end.

@njit(cache=True, parallel=True)
def _column_moments(x, shift, chunks, sums, squares):
    """sums[t, c], squares[t, c]: sum over the rows of chunk t of (x - shift[c]) and its
    square (float64), for x (M, C)."""
    n_m, n_c = x.shape
    for t in prange(chunks):
        s = np.zeros(n_c)
        q = np.zeros(n_c)
        for r in range(t * n_m // chunks, (t + 1) * n_m // chunks):
            for c in range(n_c):
                d = x[r, c] - shift[c]
                s[c] += d
                q[c] += d * d
        sums[t] = s
        squares[t] = q


@njit(cache=True, parallel=True)
def _column_affine(x, scale, offset, chunks, out):
    """out = x * scale + offset, per column, for x (M, C)."""
    n_m, n_c = x.shape
    for t in prange(chunks):
        for r in range(t * n_m // chunks, (t + 1) * n_m // chunks):
            for c in range(n_c):
                out[r, c] = x[r, c] * scale[c] + offset[c]


@njit(cache=True, parallel=True)
def _column_grad_sums(dy, x, shift, chunks, sum_d, sum_dx):
    """sum_d[t, c] = sum of dy, sum_dx[t, c] = sum of dy * (x - shift[c]) over chunk t."""
    n_m, n_c = x.shape
    for t in prange(chunks):
        a = np.zeros(n_c)
        b = np.zeros(n_c)
        for r in range(t * n_m // chunks, (t + 1) * n_m // chunks):
            for c in range(n_c):
                g = dy[r, c]
                a[c] += g
                b[c] += g * (x[r, c] - shift[c])
        sum_d[t] = a
        sum_dx[t] = b


@njit(cache=True, parallel=True)
def _column_input_grad(dy, x, shift, coef_dy, coef_x, coef_0, chunks, dx):
    """dx = dy * coef_dy + (x - shift) * coef_x + coef_0, per column (x is centred before it
    is scaled: folding the mean into coef_0 cancels digits when |mean| >> std)."""
    n_m, n_c = x.shape
    for t in prange(chunks):
        for r in range(t * n_m // chunks, (t + 1) * n_m // chunks):
            for c in range(n_c):
                dx[r, c] = (dy[r, c] * coef_dy[c] + (x[r, c] - shift[c]) * coef_x[c]
                            + coef_0[c])


def _row_chunks(rows: int, size: int) -> int:
    return max(1, min(rows, numba.get_num_threads())) if size >= PARALLEL_MIN_ELEMENTS else 1


def _columns_forward(x2, gamma, beta, mean, variance, epsilon, batch_stats, center, out2):
    """normalize_forward for one group per column of x2 (M, C); mean, variance (C,)."""
    chunks = _row_chunks(x2.shape[0], x2.size)
    if batch_stats:
        shift = x2[0].astype(np.float64)          # a sample of each column: exact moments
        sums = np.empty((chunks, x2.shape[1]))
        squares = np.empty((chunks, x2.shape[1]))
        launch(_column_moments, x2.size, x2, shift, chunks, sums, squares)
        d = sums.sum(0) / x2.shape[0]
        mean[:] = shift + d
        variance[:] = np.maximum(squares.sum(0) / x2.shape[0] - d * d, 0.0)
    r = 1.0 / np.sqrt(variance.astype(np.float64) + epsilon)
    scale = gamma * r
    offset = beta - (mean * scale if center else 0.0)
    launch(_column_affine, x2.size, x2, scale.astype(x2.dtype), np.asarray(offset, x2.dtype),
           chunks, out2)


def _columns_backward(dy2, x2, gamma, mean, variance, epsilon, batch_stats, center, dx2):
    """normalize_backward for one group per column: returns (dgamma, dbeta, dmean, dvariance),
    each (C,) float64."""
    chunks = _row_chunks(x2.shape[0], x2.size)
    mean64, count = mean.astype(np.float64), x2.shape[0]
    shift = mean64 if center else np.zeros_like(mean64)
    sum_d = np.empty((chunks, x2.shape[1]))
    sum_dx = np.empty((chunks, x2.shape[1]))
    launch(_column_grad_sums, x2.size, dy2, x2, shift, chunks, sum_d, sum_dx)
    r = 1.0 / np.sqrt(variance.astype(np.float64) + epsilon)
    dbeta = sum_d.sum(0)
    dgamma = sum_dx.sum(0) * r                     # sum of dy * u
    sum_g, sum_gu = gamma * dbeta, gamma * dgamma
    if batch_stats:
        coef_x = -r * r * sum_gu / count
        coef_0 = -r * sum_g / count if center else np.zeros_like(r)
        dmean, dvariance = None, None
    else:
        coef_x, coef_0 = np.zeros_like(r), np.zeros_like(r)
        dmean = -r * sum_g if center else np.zeros_like(r)
        dvariance = -0.5 * r * r * sum_gu
    dtype = x2.dtype
    launch(_column_input_grad, x2.size, dy2, x2, mean64.astype(dtype), (r * gamma).astype(dtype),
           coef_x.astype(dtype), coef_0.astype(dtype), chunks, dx2)
    return dgamma, dbeta, dmean, dvariance


def _partition(n_p: int, n_q: int) -> tuple[int, int]:
    """(chunks of p, block size of q): enough tasks for every thread, few partial sums."""
    threads = numba.get_num_threads()
    p_chunks = max(1, min(n_p, 4 * threads))
    q_blocks = max(1, min(n_q, -(-threads // p_chunks)))
    return p_chunks, max(1, -(-n_q // q_blocks))


def _affine(a, size, fill, dtype):
    if a is None:
        return np.full(size, fill, dtype)
    return np.ascontiguousarray(a, dtype).reshape(size)


def normalize_forward(x, gamma=None, beta=None, mean=None, variance=None, epsilon=1e-3,
                      center=True):
    """x (P, M, Q, K); gamma, beta (Q, K) or None (ones, zeros); mean, variance (P, Q), or
    None to use x's own statistics. Returns (y, mean, variance), the statistics as (P, Q)
    arrays of x's dtype (the batch's biased variance when computed here)."""
    x = np.ascontiguousarray(x)
    n_p, n_m, n_q, n_k = x.shape
    batch_stats = mean is None
    if batch_stats:
        mean, variance = np.empty((n_p, n_q), x.dtype), np.empty((n_p, n_q), x.dtype)
    else:
        mean = np.ascontiguousarray(mean, x.dtype).reshape(n_p, n_q)
        variance = np.ascontiguousarray(variance, x.dtype).reshape(n_p, n_q)
    out = np.empty_like(x)
    if x.size == 0:                # as Keras: statistics of no values are NaN (0 / 0)
        if batch_stats:
            mean[...], variance[...] = np.nan, np.nan
        return out, mean, variance
    size = n_q * n_k
    if n_p == 1 and n_k == 1:      # batch norm, channels last
        _columns_forward(x.reshape(n_m, n_q), _affine(gamma, size, 1, np.float64),
                         _affine(beta, size, 0, np.float64), mean[0], variance[0],
                         float(epsilon), batch_stats, bool(center), out.reshape(n_m, n_q))
        return out, mean, variance
    p_chunks, q_block = _partition(n_p, n_q)
    launch(_normalize_forward, x.size, x.reshape(n_p, n_m, size),
           _affine(gamma, size, 1, x.dtype), _affine(beta, size, 0, x.dtype), n_k,
           float(epsilon), batch_stats, bool(center), p_chunks, q_block, mean, variance,
           out.reshape(n_p, n_m, size))
    return out, mean, variance


def normalize_backward(dy, x, gamma, mean, variance, epsilon=1e-3, batch_stats=True,
                       center=True):
    """Cotangents of `normalize_forward`: returns (dx, dgamma, dbeta, dmean, dvariance) with
    dgamma, dbeta (Q, K); dmean, dvariance (P, Q) only when the statistics were given
    (batch_stats=False), else None, since then they are functions of x folded into dx."""
    x = np.ascontiguousarray(x)
    dy = np.ascontiguousarray(dy, x.dtype)
    n_p, n_m, n_q, n_k = x.shape
    size = n_q * n_k
    mean = np.ascontiguousarray(mean, x.dtype).reshape(n_p, n_q)
    variance = np.ascontiguousarray(variance, x.dtype).reshape(n_p, n_q)
    dx = np.empty_like(x)
    if x.size == 0:                # sums over no values
        zeros = np.zeros((n_q, n_k), x.dtype), np.zeros((n_q, n_k), x.dtype)
        statistics = (None, None) if batch_stats else (np.zeros_like(mean),
                                                        np.zeros_like(variance))
        return (dx, *zeros, *statistics)
    if n_p == 1 and n_k == 1:      # batch norm, channels last
        dgamma, dbeta, dmean, dvariance = _columns_backward(
            dy.reshape(n_m, n_q), x.reshape(n_m, n_q), _affine(gamma, size, 1, np.float64),
            mean[0], variance[0], float(epsilon), bool(batch_stats), bool(center),
            dx.reshape(n_m, n_q))
        dgamma, dbeta = (g.astype(x.dtype).reshape(n_q, n_k) for g in (dgamma, dbeta))
        if batch_stats:
            return dx, dgamma, dbeta, None, None
        return (dx, dgamma, dbeta, dmean.astype(x.dtype).reshape(n_p, n_q),
                dvariance.astype(x.dtype).reshape(n_p, n_q))
    p_chunks, q_block = _partition(n_p, n_q)
    dgamma = np.empty((p_chunks, size))
    dbeta = np.empty((p_chunks, size))
    dmean = np.empty((n_p, n_q), x.dtype)
    dvariance = np.empty((n_p, n_q), x.dtype)
    launch(_normalize_backward, x.size, dy.reshape(n_p, n_m, size), x.reshape(n_p, n_m, size),
           _affine(gamma, size, 1, x.dtype), n_k, mean, variance, float(epsilon),
           bool(batch_stats), bool(center), p_chunks, q_block, dx.reshape(n_p, n_m, size),
           dgamma, dbeta, dmean, dvariance)
    dgamma = dgamma.sum(0).astype(x.dtype).reshape(n_q, n_k)
    dbeta = dbeta.sum(0).astype(x.dtype).reshape(n_q, n_k)
    if batch_stats:
        return dx, dgamma, dbeta, None, None
    return dx, dgamma, dbeta, dmean, dvariance
