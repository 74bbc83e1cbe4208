"""Fused cross-entropy kernels from logits: softmax (dense or integer labels) over the last
axis, one pass per row, and sigmoid elementwise. Each row is shifted by its max (softmax) or
written with |x| (sigmoid), so logits of +-1e4 give finite losses and gradients. And the
categorical cross-entropy of probabilities as Keras computes it (each row renormalized to sum
1, clipped to [epsilon, 1 - epsilon], then -sum(labels * log)), one pass per row where the
composed ops took ten (the Simple MNIST convnet's loss with its reduction and gradient, batch
128: 307 -> 140 us).

Host functions take arrays of any leading shape and return new arrays of the logits' dtype.
Scalars enter the jitted loops as arguments of that dtype (`zero`, `one`): a bare `0.0` in a
float32 kernel would promote the arithmetic to float64.
"""
import numpy as np
from numba import njit, prange

from .inner import inner_kernel
from .parallel import chunk_span, launch, launch_chunks
from .softmax import row_max

__all__ = ["softmax_cross_entropy_forward", "softmax_cross_entropy_backward",
           "sparse_softmax_cross_entropy_forward", "sparse_softmax_cross_entropy_backward",
           "sigmoid_cross_entropy_forward", "sigmoid_cross_entropy_backward",
           "probability_cross_entropy_forward", "probability_cross_entropy_backward"]


@njit(cache=True)
def _log_sum_exp(row, zero):
    """max(row) + log(sum(exp(row - max(row)))) of a row with at least one value."""
    peak = row_max(row)
    total = zero
    for j in range(row.shape[0]):
        total += np.exp(row[j] - peak)
    return peak + np.log(total)


@njit(cache=True, parallel=True)
def _softmax_xent_rows(labels, logits, zero, out):
    """out[r] = sum_j labels[r, j] * (lse(logits[r]) - logits[r, j])."""
    for r in prange(logits.shape[0]):
        lse = _log_sum_exp(logits[r], zero)
        total = zero
        for j in range(logits.shape[1]):
            total += labels[r, j] * (lse - logits[r, j])
        out[r] = total


@njit(cache=True, parallel=True)
def _softmax_xent_rows_backward(dy, labels, logits, zero, dlabels, dlogits):
    """dlogits[r] = dy[r] * (softmax(logits[r]) * sum(labels[r]) - labels[r]);
    dlabels[r] = dy[r] * (lse(logits[r]) - logits[r]) = -dy[r] * log_softmax(logits[r])."""
    for r in prange(logits.shape[0]):
        lse = _log_sum_exp(logits[r], zero)
        label_sum = zero
        for j in range(logits.shape[1]):
            label_sum += labels[r, j]
        for j in range(logits.shape[1]):
            neg_log_p = lse - logits[r, j]
            dlogits[r, j] = dy[r] * (np.exp(-neg_log_p) * label_sum - labels[r, j])
            dlabels[r, j] = dy[r] * neg_log_p


@njit(cache=True, parallel=True)
def _sparse_xent_rows(labels, logits, zero, out):
    """out[r] = lse(logits[r]) - logits[r, labels[r]]."""
    for r in prange(logits.shape[0]):
        out[r] = _log_sum_exp(logits[r], zero) - logits[r, labels[r]]


@njit(cache=True, parallel=True)
def _sparse_xent_rows_backward(dy, labels, logits, zero, dlogits):
    """dlogits[r] = dy[r] * (softmax(logits[r]) - one_hot(labels[r]))."""
    for r in prange(logits.shape[0]):
        lse = _log_sum_exp(logits[r], zero)
        for j in range(logits.shape[1]):
            dlogits[r, j] = dy[r] * np.exp(logits[r, j] - lse)
        dlogits[r, labels[r]] -= dy[r]


@njit(cache=True, parallel=True)
def _sigmoid_xent(labels, logits, zero, out):
    """out = max(x, 0) - x * z + log1p(exp(-|x|)), elementwise over flat arrays."""
    for i in prange(logits.shape[0]):
        x = logits[i]
        positive_part = x if x > zero else zero
        out[i] = positive_part - x * labels[i] + np.log1p(np.exp(-abs(x)))


@njit(cache=True, parallel=True)
def _sigmoid_xent_backward(dy, labels, logits, zero, one, dlabels, dlogits):
    """dlogits = dy * (sigmoid(x) - z), dlabels = -dy * x; sigmoid from exp(-|x|) <= 1."""
    for i in prange(logits.shape[0]):
        x = logits[i]
        e = np.exp(-abs(x))
        sigmoid = one / (one + e) if x >= zero else e / (one + e)
        dlogits[i] = dy[i] * (sigmoid - labels[i])
        dlabels[i] = -dy[i] * x


@inner_kernel
def _clipped(p, low, high):
    """p limited to [low, high] (NaN stays)."""
    return low if p < low else (high if p > high else p)


@inner_kernel
def _row_sum(values, r, zero):
    """sum(values[r])."""
    total = zero
    for j in range(values.shape[1]):
        total += values[r, j]
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def _probability_xent_rows(t, chunks, labels, probs, low, high, zero, out):
    """out[r] = -sum_j labels[r, j] * log(clip(probs[r, j] / sum(probs[r]), low, high)) for
    the rows of chunk t (a chunk kernel: it compiles in half a parfor's time)."""
    start, stop = chunk_span(t, chunks, probs.shape[0])
    for r in range(start, stop):
        total = _row_sum(probs, r, zero)
        loss = zero
        for j in range(probs.shape[1]):
            loss -= labels[r, j] * np.log(_clipped(probs[r, j] / total, low, high))
        out[r] = loss


@njit(cache=True, nogil=True, error_model="numpy")
def _probability_xent_rows_backward(t, chunks, dy, labels, probs, low, high, zero, dlabels,
                                    dprobs):
    """For the rows r of chunk t, with s = sum(probs[r]) and q = clip(probs[r] / s, low,
    high): dlabels[r] = -dy[r] * log q; dprobs[r, k] = dy[r] * (g[k] - sum_j g[j] probs[r,
    j] / s) / s, where g[j] = -labels[r, j] / q[j] where low <= probs[r, j] / s <= high
    (the clip passes its gradient there, bounds included, as the clip op), else 0."""
    start, stop = chunk_span(t, chunks, probs.shape[0])
    for r in range(start, stop):
        total = _row_sum(probs, r, zero)
        weighted = zero
        for j in range(probs.shape[1]):
            share = probs[r, j] / total
            q = _clipped(share, low, high)
            g = -labels[r, j] / q if low <= share <= high else zero
            dprobs[r, j] = g
            weighted += g * probs[r, j]
            dlabels[r, j] = -dy[r] * np.log(q)
        for j in range(probs.shape[1]):
            dprobs[r, j] = dy[r] * (dprobs[r, j] - weighted / total) / total


def _rows(a, dtype, width):
    """a as a C-contiguous (rows, width) array of `dtype`."""
    return np.ascontiguousarray(a, dtype=dtype).reshape(-1, width)


def _flat(a, dtype):
    return np.ascontiguousarray(a, dtype=dtype).reshape(-1)


def softmax_cross_entropy_forward(labels, logits):
    """labels, logits (..., C) -> (...,) = -sum(labels * log_softmax(logits), axis=-1)."""
    dtype, width = logits.dtype, logits.shape[-1]
    x, z = _rows(logits, dtype, width), _rows(labels, dtype, width)
    out = np.empty(x.shape[0], dtype)
    launch(_softmax_xent_rows, x.size, z, x, dtype.type(0), out)
    return out.reshape(logits.shape[:-1])


def softmax_cross_entropy_backward(dy, labels, logits):
    """(dlabels, dlogits), both of shape (..., C), for the cotangent dy (...,)."""
    dtype, width = logits.dtype, logits.shape[-1]
    x, z = _rows(logits, dtype, width), _rows(labels, dtype, width)
    dlabels, dlogits = np.empty_like(x), np.empty_like(x)
    launch(_softmax_xent_rows_backward, x.size, _flat(dy, dtype), z, x, dtype.type(0),
           dlabels, dlogits)
    return dlabels.reshape(labels.shape), dlogits.reshape(logits.shape)


def sparse_softmax_cross_entropy_forward(labels, logits):
    """labels (...,) ints in [0, C), logits (..., C) -> (...,) = lse - logits[label]."""
    dtype, width = logits.dtype, logits.shape[-1]
    x = _rows(logits, dtype, width)
    out = np.empty(x.shape[0], dtype)
    launch(_sparse_xent_rows, x.size, _flat(labels, np.int64), x, dtype.type(0), out)
    return out.reshape(logits.shape[:-1])


def sparse_softmax_cross_entropy_backward(dy, labels, logits):
    """dlogits (..., C) for the cotangent dy (...,)."""
    dtype, width = logits.dtype, logits.shape[-1]
    x = _rows(logits, dtype, width)
    dlogits = np.empty_like(x)
    launch(_sparse_xent_rows_backward, x.size, _flat(dy, dtype), _flat(labels, np.int64), x,
           dtype.type(0), dlogits)
    return dlogits.reshape(logits.shape)


def sigmoid_cross_entropy_forward(labels, logits):
    """labels, logits of one shape -> elementwise max(x, 0) - x * z + log1p(exp(-|x|))."""
    dtype = logits.dtype
    x, z = _flat(logits, dtype), _flat(labels, dtype)
    out = np.empty_like(x)
    launch(_sigmoid_xent, x.size, z, x, dtype.type(0), out)
    return out.reshape(logits.shape)


def sigmoid_cross_entropy_backward(dy, labels, logits):
    """(dlabels, dlogits), both of the logits' shape."""
    dtype = logits.dtype
    x, z = _flat(logits, dtype), _flat(labels, dtype)
    dlabels, dlogits = np.empty_like(x), np.empty_like(x)
    launch(_sigmoid_xent_backward, x.size, _flat(dy, dtype), z, x, dtype.type(0),
           dtype.type(1), dlabels, dlogits)
    return dlabels.reshape(labels.shape), dlogits.reshape(logits.shape)


def probability_cross_entropy_forward(labels, probs, epsilon):
    """labels, probs (..., C) -> (...,) = -sum(labels * log(clip(probs / sum(probs, -1),
    epsilon, 1 - epsilon)), -1): Keras's categorical cross-entropy of probabilities."""
    dtype, width = probs.dtype, probs.shape[-1]
    p, z = _rows(probs, dtype, width), _rows(labels, dtype, width)
    out = np.empty(p.shape[0], dtype)
    launch_chunks(_probability_xent_rows, p.size, z, p, dtype.type(epsilon),
                  dtype.type(1.0 - epsilon), dtype.type(0), out)
    return out.reshape(probs.shape[:-1])


def probability_cross_entropy_backward(dy, labels, probs, epsilon):
    """(dlabels, dprobs), both of shape (..., C), for the cotangent dy (...,)."""
    dtype, width = probs.dtype, probs.shape[-1]
    p, z = _rows(probs, dtype, width), _rows(labels, dtype, width)
    dlabels, dprobs = np.empty_like(p), np.empty_like(p)
    launch_chunks(_probability_xent_rows_backward, p.size, _flat(dy, dtype), z, p,
                  dtype.type(epsilon), dtype.type(1.0 - epsilon), dtype.type(0), dlabels,
                  dprobs)
    return dlabels.reshape(labels.shape), dprobs.reshape(probs.shape)
