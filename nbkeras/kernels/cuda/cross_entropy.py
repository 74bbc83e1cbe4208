"""Fused cross-entropy kernels, the CUDA twins of `kernels.cpu.cross_entropy`: from logits,
softmax (dense or integer labels) over the last axis and sigmoid elementwise, and Keras's
categorical cross-entropy of probabilities over the last axis. Each row is shifted by its
max (softmax) or written with |x| (sigmoid), so logits of +-1e4 give finite losses and
gradients.

The softmax and probability kernels run one block per row (blocks stride over the rows):
the block's THREADS threads stride over the row's classes, reading it coalesced, and reduce
the row max and the sums through shared memory. The sigmoid kernels are elementwise grid-stride loops. Host
functions take device arrays of any leading shape and return new device arrays of the
logits' dtype. Scalars enter the kernels as arguments of that dtype (`zero`, `one`): a bare
`0.0` in a float32 kernel would promote the arithmetic to float64.
"""
import math

from numba import types

from .runtime import (FLOATS, THREADS, block_index, block_max, block_sum, blocks, device,
                      empty, grid, grid_size, gridsize, kernel, shared_array, thread_index,
                      to_device)

__all__ = ["softmax_cross_entropy_forward", "softmax_cross_entropy_backward",
           "sparse_softmax_cross_entropy_forward", "sparse_softmax_cross_entropy_backward",
           "sigmoid_cross_entropy_forward", "sigmoid_cross_entropy_backward",
           "probability_cross_entropy_forward", "probability_cross_entropy_backward"]

_LABELS = types.int64[::1]


@device
def _log_sum_exp(logits, r, zero, scratch):
    """max(logits[r]) + log(sum(exp(logits[r] - max))), reduced over the block and returned
    to all its threads (logits[r, 0] stands in for threads without a class)."""
    row_max = logits[r, 0]
    for j in range(thread_index.x, logits.shape[1], THREADS):
        row_max = max(row_max, logits[r, j])
    row_max = block_max(row_max, scratch)
    total = zero
    for j in range(thread_index.x, logits.shape[1], THREADS):
        total += math.exp(logits[r, j] - row_max)
    return row_max + math.log(block_sum(total, scratch))


@kernel(*[(f[:, ::1], f[:, ::1], f, f[::1]) for f in FLOATS])
def _softmax_xent_rows(labels, logits, zero, out):
    """out[r] = sum_j labels[r, j] * (lse(logits[r]) - logits[r, j])."""
    scratch = shared_array(THREADS, logits.dtype)
    for r in range(block_index.x, logits.shape[0], grid_size.x):
        lse = _log_sum_exp(logits, r, zero, scratch)
        total = zero
        for j in range(thread_index.x, logits.shape[1], THREADS):
            total += labels[r, j] * (lse - logits[r, j])
        total = block_sum(total, scratch)
        if thread_index.x == 0:
            out[r] = total


@kernel(*[(f[::1], f[:, ::1], f[:, ::1], f, f[:, ::1], f[:, ::1]) for f in FLOATS])
def _softmax_xent_rows_backward(dy, labels, logits, zero, dlabels, dlogits):
    """dlogits[r] = dy[r] * (softmax(logits[r]) * sum(labels[r]) - labels[r]);
    dlabels[r] = dy[r] * (lse(logits[r]) - logits[r]) = -dy[r] * log_softmax(logits[r])."""
    scratch = shared_array(THREADS, logits.dtype)
    for r in range(block_index.x, logits.shape[0], grid_size.x):
        lse = _log_sum_exp(logits, r, zero, scratch)
        label_sum = zero
        for j in range(thread_index.x, logits.shape[1], THREADS):
            label_sum += labels[r, j]
        label_sum = block_sum(label_sum, scratch)
        for j in range(thread_index.x, logits.shape[1], THREADS):
            neg_log_p = lse - logits[r, j]
            dlogits[r, j] = dy[r] * (math.exp(-neg_log_p) * label_sum - labels[r, j])
            dlabels[r, j] = dy[r] * neg_log_p


@kernel(*[(_LABELS, f[:, ::1], f, f[::1]) for f in FLOATS])
def _sparse_xent_rows(labels, logits, zero, out):
    """out[r] = lse(logits[r]) - logits[r, labels[r]]."""
    scratch = shared_array(THREADS, logits.dtype)
    for r in range(block_index.x, logits.shape[0], grid_size.x):
        lse = _log_sum_exp(logits, r, zero, scratch)
        if thread_index.x == 0:
            out[r] = lse - logits[r, labels[r]]


@kernel(*[(f[::1], _LABELS, f[:, ::1], f, f[:, ::1]) for f in FLOATS])
def _sparse_xent_rows_backward(dy, labels, logits, zero, dlogits):
    """dlogits[r] = dy[r] * (softmax(logits[r]) - one_hot(labels[r]))."""
    scratch = shared_array(THREADS, logits.dtype)
    for r in range(block_index.x, logits.shape[0], grid_size.x):
        lse = _log_sum_exp(logits, r, zero, scratch)
        for j in range(thread_index.x, logits.shape[1], THREADS):
            gradient = dy[r] * math.exp(logits[r, j] - lse)
            if j == labels[r]:
                gradient -= dy[r]
            dlogits[r, j] = gradient


@kernel(*[(f[::1], f[::1], f, f[::1]) for f in FLOATS])
def _sigmoid_xent(labels, logits, zero, out):
    """out = max(x, 0) - x * z + log1p(exp(-|x|)), elementwise over flat arrays."""
    for i in range(grid(1), logits.shape[0], gridsize(1)):
        x = logits[i]
        positive_part = x if x > zero else zero
        out[i] = positive_part - x * labels[i] + math.log1p(math.exp(-abs(x)))


@kernel(*[(f[::1], f[::1], f[::1], f, f, f[::1], f[::1]) for f in FLOATS])
def _sigmoid_xent_backward(dy, labels, logits, zero, one, dlabels, dlogits):
    """dlogits = dy * (sigmoid(x) - z), dlabels = -dy * x; sigmoid from exp(-|x|) <= 1."""
    for i in range(grid(1), logits.shape[0], gridsize(1)):
        x = logits[i]
        e = math.exp(-abs(x))
        sigmoid = one / (one + e) if x >= zero else e / (one + e)
        dlogits[i] = dy[i] * (sigmoid - labels[i])
        dlabels[i] = -dy[i] * x


@device
def _clipped(p, low, high):
    """p limited to [low, high] (NaN stays)."""
    return low if p < low else (high if p > high else p)


@device
def _row_sum(values, r, zero, scratch):
    """sum(values[r]), reduced over the block and returned to all its threads."""
    total = zero
    for j in range(thread_index.x, values.shape[1], THREADS):
        total += values[r, j]
    return block_sum(total, scratch)


@kernel(*[(f[:, ::1], f[:, ::1], f, f, f, f[::1]) for f in FLOATS])
def _probability_xent_rows(labels, probs, low, high, zero, out):
    """out[r] = -sum_j labels[r, j] * log(clip(probs[r, j] / sum(probs[r]), low, high))."""
    scratch = shared_array(THREADS, probs.dtype)
    for r in range(block_index.x, probs.shape[0], grid_size.x):
        total = _row_sum(probs, r, zero, scratch)
        loss = zero
        for j in range(thread_index.x, probs.shape[1], THREADS):
            loss -= labels[r, j] * math.log(_clipped(probs[r, j] / total, low, high))
        loss = block_sum(loss, scratch)
        if thread_index.x == 0:
            out[r] = loss


@kernel(*[(f[::1], f[:, ::1], f[:, ::1], f, f, f, f[:, ::1], f[:, ::1]) for f in FLOATS])
def _probability_xent_rows_backward(dy, labels, probs, low, high, zero, dlabels, dprobs):
    """The CPU kernel's: dlabels[r] = -dy[r] * log q, dprobs[r, k] = dy[r] * (g[k] - sum_j
    g[j] probs[r, j] / s) / s, g[j] = -labels[r, j] / q[j] where the clip passes."""
    scratch = shared_array(THREADS, probs.dtype)
    for r in range(block_index.x, probs.shape[0], grid_size.x):
        total = _row_sum(probs, r, zero, scratch)
        weighted = zero
        for j in range(thread_index.x, probs.shape[1], THREADS):
            share = probs[r, j] / total
            q = _clipped(share, low, high)
            g = -labels[r, j] / q if low <= share <= high else zero
            dprobs[r, j] = g
            weighted += g * probs[r, j]
            dlabels[r, j] = -dy[r] * math.log(q)
        weighted = block_sum(weighted, scratch)
        for j in range(thread_index.x, probs.shape[1], THREADS):
            dprobs[r, j] = dy[r] * (dprobs[r, j] - weighted / total) / total


def _rows(a, width):
    """A device array (..., width) as (rows, width)."""
    return to_device(a).reshape(-1, width)


def _flat(a):
    return to_device(a).reshape(-1)


def _width(logits):
    """The class axis' length (the simulator's shapes take no negative index)."""
    return logits.shape[logits.ndim - 1]


def _row_blocks(x):
    """The launch shape of the row kernels: one block of THREADS per row, up to MAX_BLOCKS."""
    return blocks(x.shape[0], 1), THREADS


def softmax_cross_entropy_forward(labels, logits):
    """labels, logits (..., C) -> (...,) = -sum(labels * log_softmax(logits), axis=-1)."""
    dtype, width = logits.dtype, _width(logits)
    x, z = _rows(logits, width), _rows(labels, width)
    out = empty((x.shape[0],), dtype)
    _softmax_xent_rows[_row_blocks(x)](z, x, dtype.type(0), out)
    return out.reshape(logits.shape[:-1])


def softmax_cross_entropy_backward(dy, labels, logits):
    """(dlabels, dlogits), both of shape (..., C), for the cotangent dy (...,)."""
    dtype, width = logits.dtype, _width(logits)
    x, z = _rows(logits, width), _rows(labels, width)
    dlabels, dlogits = empty(x.shape, dtype), empty(x.shape, dtype)
    _softmax_xent_rows_backward[_row_blocks(x)](_flat(dy), z, x, dtype.type(0), dlabels,
                                                dlogits)
    return dlabels.reshape(labels.shape), dlogits.reshape(logits.shape)


def sparse_softmax_cross_entropy_forward(labels, logits):
    """labels (...,) ints in [0, C), logits (..., C) -> (...,) = lse - logits[label]."""
    dtype, width = logits.dtype, _width(logits)
    x = _rows(logits, width)
    out = empty((x.shape[0],), dtype)
    _sparse_xent_rows[_row_blocks(x)](_flat(labels), x, dtype.type(0), out)
    return out.reshape(logits.shape[:-1])


def sparse_softmax_cross_entropy_backward(dy, labels, logits):
    """dlogits (..., C) for the cotangent dy (...,)."""
    dtype, width = logits.dtype, _width(logits)
    x = _rows(logits, width)
    dlogits = empty(x.shape, dtype)
    _sparse_xent_rows_backward[_row_blocks(x)](_flat(dy), _flat(labels), x, dtype.type(0),
                                               dlogits)
    return dlogits.reshape(logits.shape)


def sigmoid_cross_entropy_forward(labels, logits):
    """labels, logits of one shape -> elementwise max(x, 0) - x * z + log1p(exp(-|x|))."""
    dtype = logits.dtype
    x, z = _flat(logits), _flat(labels)
    out = empty(x.shape, dtype)
    _sigmoid_xent[blocks(x.size), THREADS](z, x, dtype.type(0), out)
    return out.reshape(logits.shape)


def sigmoid_cross_entropy_backward(dy, labels, logits):
    """(dlabels, dlogits), both of the logits' shape."""
    dtype = logits.dtype
    x, z = _flat(logits), _flat(labels)
    dlabels, dlogits = empty(x.shape, dtype), empty(x.shape, dtype)
    _sigmoid_xent_backward[blocks(x.size), THREADS](_flat(dy), z, x, dtype.type(0),
                                                    dtype.type(1), dlabels, dlogits)
    return dlabels.reshape(labels.shape), dlogits.reshape(logits.shape)


def probability_cross_entropy_forward(labels, probs, epsilon):
    """labels, probs (..., C) -> (...,) = -sum(labels * log(clip(probs / sum(probs, -1),
    epsilon, 1 - epsilon)), -1): Keras's categorical cross-entropy of probabilities."""
    dtype, width = probs.dtype, _width(probs)
    p, z = _rows(probs, width), _rows(labels, width)
    out = empty((p.shape[0],), dtype)
    _probability_xent_rows[_row_blocks(p)](z, p, dtype.type(epsilon), dtype.type(1.0 - epsilon),
                                           dtype.type(0), out)
    return out.reshape(probs.shape[:-1])


def probability_cross_entropy_backward(dy, labels, probs, epsilon):
    """(dlabels, dprobs), both of shape (..., C), for the cotangent dy (...,)."""
    dtype, width = probs.dtype, _width(probs)
    p, z = _rows(probs, width), _rows(labels, width)
    dlabels, dprobs = empty(p.shape, dtype), empty(p.shape, dtype)
    _probability_xent_rows_backward[_row_blocks(p)](_flat(dy), z, p, dtype.type(epsilon),
                                                    dtype.type(1.0 - epsilon), dtype.type(0),
                                                    dlabels, dprobs)
    return dlabels.reshape(labels.shape), dprobs.reshape(probs.shape)
