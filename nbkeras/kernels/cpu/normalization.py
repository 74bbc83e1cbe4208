"""Normalization over groups of a 4-D view, shared by batch, layer and group normalization.

x is viewed as (P, M, Q, K): every (p, q) is one group whose mean and variance run over its
M * K elements (m, k); the affine parameters gamma, beta are indexed by (q, k). So

    batch norm, channel axis a:  (1, prod(shape[:a]), C, prod(shape[a+1:]))
    layer norm, trailing axes:   (rows, 1, 1, features)
    group norm, channel axis a:  (N, prod(shape[1:a]), G, C / G * prod(shape[a+1:]))

and no layout needs a transpose. Work is split into tasks of (a chunk of p, a block of q),
run in parallel (over channel blocks for batch norm, rows for layer norm, samples and groups
for group norm); a task walks its memory in order, so the inner loop is contiguous. Sums run
in float64; per-element arithmetic runs in x's dtype through per-group coefficient arrays.
"""
import numba
import numpy as np
from numba import njit, prange

from .parallel import launch

__all__ = ["normalize_forward", "normalize_backward"]


@njit(cache=True, parallel=True)
def _normalize_forward(x, gamma, beta, epsilon, batch_stats, center, p_chunks, q_block,
                       mean, variance, out):
    """out = (x - c * mean) / sqrt(variance + epsilon) * gamma + beta per group (c = center).
    batch_stats: mean and variance (P, Q) are computed (two-pass) and written; else read."""
    n_p, n_m, n_q, n_k = x.shape
    count = n_m * n_k
    q_blocks = (n_q + q_block - 1) // q_block
    for task in prange(p_chunks * q_blocks):
        chunk = task // q_blocks
        q0 = (task % q_blocks) * q_block
        nq = min(q_block, n_q - q0)
        mu = np.empty(nq)                        # float64 statistics of this block
        total = np.empty(nq)
        shift = np.empty(nq, x.dtype)            # what is subtracted: mean, or 0 (rms)
        scale = np.empty((nq, n_k), x.dtype)     # gamma / sqrt(variance + epsilon)
        for p in range(chunk * n_p // p_chunks, (chunk + 1) * n_p // p_chunks):
            if batch_stats:
                total[:] = 0.0
                for m in range(n_m):
                    for j in range(nq):
                        for k in range(n_k):
                            total[j] += x[p, m, q0 + j, k]
                for j in range(nq):
                    mu[j] = total[j] / count
                    total[j] = 0.0
                for m in range(n_m):
                    for j in range(nq):
                        for k in range(n_k):
                            d = x[p, m, q0 + j, k] - mu[j]
                            total[j] += d * d
                for j in range(nq):
                    mean[p, q0 + j] = mu[j]
                    variance[p, q0 + j] = total[j] / count
            for j in range(nq):
                r = 1.0 / np.sqrt(variance[p, q0 + j] + epsilon)
                shift[j] = mean[p, q0 + j] if center else 0.0
                for k in range(n_k):
                    scale[j, k] = gamma[q0 + j, k] * r
            for m in range(n_m):
                for j in range(nq):
                    for k in range(n_k):
                        out[p, m, q0 + j, k] = ((x[p, m, q0 + j, k] - shift[j]) * scale[j, k]
                                                + beta[q0 + j, k])


@njit(cache=True, parallel=True)
def _normalize_backward(dy, x, gamma, mean, variance, epsilon, batch_stats, center, p_chunks,
                        q_block, dx, dgamma, dbeta, dmean, dvariance):
    """With u = (x - c * mean) * r, r = 1 / sqrt(variance + epsilon), g = dy * gamma:
    batch_stats (mean, variance are x's own):  dx = r * (g - c * mean(g) - xc * mean(g * u)),
    xc = (x - mean) * r; else dx = r * g, dmean = -r * sum(g), dvariance = -r² / 2 * sum(g * u).
    dgamma[chunk] and dbeta[chunk] (p_chunks, Q, K) are per-chunk partial sums of dy * u, dy."""
    n_p, n_m, n_q, n_k = x.shape
    count = n_m * n_k
    q_blocks = (n_q + q_block - 1) // q_block
    for task in prange(p_chunks * q_blocks):
        chunk = task // q_blocks
        q0 = (task % q_blocks) * q_block
        nq = min(q_block, n_q - q0)
        r = np.empty(nq)
        shift = np.empty(nq)
        sum_g = np.empty(nq)
        sum_gu = np.empty(nq)
        mu = np.empty(nq, x.dtype)
        coef_x = np.empty(nq, x.dtype)
        coef_0 = np.empty(nq, x.dtype)
        coef_dy = np.empty((nq, n_k), x.dtype)
        for j in range(nq):
            for k in range(n_k):
                dgamma[chunk, q0 + j, k] = 0.0
                dbeta[chunk, q0 + j, k] = 0.0
        for p in range(chunk * n_p // p_chunks, (chunk + 1) * n_p // p_chunks):
            for j in range(nq):
                r[j] = 1.0 / np.sqrt(variance[p, q0 + j] + epsilon)
                shift[j] = mean[p, q0 + j] if center else 0.0
                sum_g[j] = 0.0
                sum_gu[j] = 0.0
            for m in range(n_m):
                for j in range(nq):
                    for k in range(n_k):
                        d = dy[p, m, q0 + j, k]
                        u = (x[p, m, q0 + j, k] - shift[j]) * r[j]
                        g = d * gamma[q0 + j, k]
                        sum_g[j] += g
                        sum_gu[j] += g * u
                        dgamma[chunk, q0 + j, k] += d * u
                        dbeta[chunk, q0 + j, k] += d
            for j in range(nq):
                mu[j] = mean[p, q0 + j]
                for k in range(n_k):
                    coef_dy[j, k] = r[j] * gamma[q0 + j, k]
                if batch_stats:
                    coef_x[j] = -r[j] * r[j] * sum_gu[j] / count
                    coef_0[j] = -r[j] * sum_g[j] / count if center else 0.0
                else:
                    coef_x[j] = 0.0
                    coef_0[j] = 0.0
                    dmean[p, q0 + j] = -r[j] * sum_g[j] if center else 0.0
                    dvariance[p, q0 + j] = -0.5 * r[j] * r[j] * sum_gu[j]
            for m in range(n_m):
                for j in range(nq):
                    for k in range(n_k):
                        dx[p, m, q0 + j, k] = (dy[p, m, q0 + j, k] * coef_dy[j, k]
                                               + (x[p, m, q0 + j, k] - mu[j]) * coef_x[j]
                                               + coef_0[j])


def _partition(n_p: int, n_q: int) -> tuple[int, int]:
    """(chunks of p, block size of q): enough tasks for every thread, few partial sums."""
    threads = numba.get_num_threads()
    p_chunks = max(1, min(n_p, 4 * threads))
    q_blocks = max(1, min(n_q, -(-2 * threads // p_chunks)))
    return p_chunks, max(1, -(-n_q // q_blocks))


def _affine(a, shape, fill, dtype):
    if a is None:
        return np.full(shape, fill, dtype)
    return np.ascontiguousarray(a, dtype).reshape(shape)


def normalize_forward(x, gamma=None, beta=None, mean=None, variance=None, epsilon=1e-3,
                      center=True):
    """x (P, M, Q, K); gamma, beta (Q, K) or None (ones, zeros); mean, variance (P, Q), or
    None to use x's own statistics. Returns (y, mean, variance), the statistics as (P, Q)
    arrays of x's dtype (the batch's biased variance when computed here)."""
    x = np.ascontiguousarray(x)
    n_p, _, n_q, n_k = x.shape
    batch_stats = mean is None
    if batch_stats:
        mean, variance = np.empty((n_p, n_q), x.dtype), np.empty((n_p, n_q), x.dtype)
    else:
        mean = np.ascontiguousarray(mean, x.dtype).reshape(n_p, n_q)
        variance = np.ascontiguousarray(variance, x.dtype).reshape(n_p, n_q)
    out = np.empty_like(x)
    p_chunks, q_block = _partition(n_p, n_q)
    launch(_normalize_forward, x.size, x, _affine(gamma, (n_q, n_k), 1, x.dtype),
           _affine(beta, (n_q, n_k), 0, x.dtype), float(epsilon), batch_stats, bool(center),
           p_chunks, q_block, mean, variance, out)
    return out, mean, variance


def normalize_backward(dy, x, gamma, mean, variance, epsilon=1e-3, batch_stats=True,
                       center=True):
    """Cotangents of `normalize_forward`: returns (dx, dgamma, dbeta, dmean, dvariance) with
    dgamma, dbeta (Q, K); dmean, dvariance (P, Q) only when the statistics were given
    (batch_stats=False), else None, since then they are functions of x folded into dx."""
    x = np.ascontiguousarray(x)
    dy = np.ascontiguousarray(dy, x.dtype)
    n_p, _, n_q, n_k = x.shape
    mean = np.ascontiguousarray(mean, x.dtype).reshape(n_p, n_q)
    variance = np.ascontiguousarray(variance, x.dtype).reshape(n_p, n_q)
    p_chunks, q_block = _partition(n_p, n_q)
    dx = np.empty_like(x)
    dgamma = np.empty((p_chunks, n_q, n_k))
    dbeta = np.empty((p_chunks, n_q, n_k))
    dmean = np.empty((n_p, n_q), x.dtype)
    dvariance = np.empty((n_p, n_q), x.dtype)
    launch(_normalize_backward, x.size, dy, x, _affine(gamma, (n_q, n_k), 1, x.dtype), mean,
           variance, float(epsilon), bool(batch_stats), bool(center), p_chunks, q_block, dx,
           dgamma, dbeta, dmean, dvariance)
    dgamma, dbeta = dgamma.sum(0).astype(x.dtype), dbeta.sum(0).astype(x.dtype)
    if batch_stats:
        return dx, dgamma, dbeta, None, None
    return dx, dgamma, dbeta, dmean, dvariance
