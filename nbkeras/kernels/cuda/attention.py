"""Scaled dot-product attention, the CUDA twin of `kernels.cpu.attention`: the same layouts,
arguments and results. Each stage is a grid-stride kernel with one thread per output
element, which loops over the contracted axis itself (no atomics: deterministic): the
logits, the softmax (the softmax kernels' rows), the weighted sum of the values; backward,
the gradient of the probabilities, the softmax's backward, the masks and the cap's slope,
then the gradients of the queries and of the keys and values (the heads of a group summed
by the thread of their key/value element). Bias and mask broadcast by their size-1 axes.
"""
from numba import types

from ..cpu.attention import logit_program, scalars
from .runtime import (FLOATS, THREADS, block_index, blocks, device, empty, grid_size, kernel,
                      thread_index)
from .softmax import softmax_backward, softmax_forward

__all__ = ["attention_forward", "attention_backward"]

_logit, _cap_slope = logit_program(device)

_MASK = types.boolean[:, :, :, ::1]


@device
def _at(a, b, n, t, s):
    """a[b, n, t, s] with a's size-1 axes broadcast."""
    return a[b if a.shape[0] > 1 else 0, n if a.shape[1] > 1 else 0,
             t if a.shape[2] > 1 else 0, s if a.shape[3] > 1 else 0]


@device
def _position(i, shape):
    """The 4-D index (a, b, c, d) of flat index i of a C-ordered array of `shape`."""
    d = i % shape[3]
    i //= shape[3]
    c = i % shape[2]
    i //= shape[2]
    return i // shape[1], i % shape[1], c, d


@device
def _product(q, k, b, t, n, s, kv):
    """q[b, t, n] . k[b, s, kv]."""
    total = q[b, t, n, 0] - q[b, t, n, 0]
    for h in range(q.shape[3]):
        total += q[b, t, n, h] * k[b, s, kv, h]
    return total


@device
def _keep(mask, b, n, t, s, causal):
    return _at(mask, b, n, t, s) and not (causal and s > t)


@kernel(*[(f[:, :, :, ::1], f[:, :, :, ::1], f[:, :, :, ::1], _MASK, f, f, f, types.boolean,
           f[:, :, :, ::1]) for f in FLOATS])
def _logits(q, k, bias, mask, scale, cap, lowest, causal, logits):
    """logits (B, N, T, S) of the queries and keys, scaled, biased, capped and masked."""
    group = q.shape[2] // k.shape[2]
    start, step = block_index.x * THREADS + thread_index.x, grid_size.x * THREADS
    for i in range(start, logits.size, step):
        b, n, t, s = _position(i, logits.shape)
        product = _product(q, k, b, t, n, s, n // group)
        logits[b, n, t, s] = _logit(product, _at(bias, b, n, t, s),
                                    _keep(mask, b, n, t, s, causal), scale, cap, lowest)


@kernel(*[(f[:, :, :, ::1], f[:, :, :, ::1], f[:, :, :, ::1]) for f in FLOATS])
def _weighted_values(probs, v, out):
    """out[b, t, n, h] = sum over s of probs[b, n, t, s] v[b, s, n // group, h]."""
    group = out.shape[2] // v.shape[2]
    start, step = block_index.x * THREADS + thread_index.x, grid_size.x * THREADS
    for i in range(start, out.size, step):
        b, t, n, h = _position(i, out.shape)
        total = probs[b, n, t, 0] - probs[b, n, t, 0]
        for s in range(v.shape[1]):
            total += probs[b, n, t, s] * v[b, s, n // group, h]
        out[b, t, n, h] = total


@kernel(*[(f[:, :, :, ::1], f[:, :, :, ::1], f[:, :, :, ::1]) for f in FLOATS])
def _probs_gradient(d_out, v, d_probs):
    """d_probs[b, n, t, s] = d_out[b, t, n] . v[b, s, n // group]."""
    group = d_out.shape[2] // v.shape[2]
    start, step = block_index.x * THREADS + thread_index.x, grid_size.x * THREADS
    for i in range(start, d_probs.size, step):
        b, n, t, s = _position(i, d_probs.shape)
        d_probs[b, n, t, s] = _product(d_out, v, b, t, n, s, n // group)


@kernel(*[(f[:, :, :, ::1], f[:, :, :, ::1], f[:, :, :, ::1], _MASK, f, f, types.boolean,
           f[:, :, :, ::1]) for f in FLOATS])
def _masks_and_cap(q, k, bias, mask, scale, cap, causal, d_logits):
    """d_logits (the softmax's backward) zeroed where masked and times the cap's slope."""
    group = q.shape[2] // k.shape[2]
    start, step = block_index.x * THREADS + thread_index.x, grid_size.x * THREADS
    for i in range(start, d_logits.size, step):
        b, n, t, s = _position(i, d_logits.shape)
        if not _keep(mask, b, n, t, s, causal):
            d_logits[b, n, t, s] = 0
        elif cap > 0:
            product = _product(q, k, b, t, n, s, n // group)
            d_logits[b, n, t, s] *= _cap_slope(product, _at(bias, b, n, t, s), scale, cap)


@kernel(*[(f[:, :, :, ::1], f[:, :, :, ::1], f, f[:, :, :, ::1]) for f in FLOATS])
def _query_gradient(d_logits, k, scale, d_q):
    """d_q[b, t, n, h] = scale * sum over s of d_logits[b, n, t, s] k[b, s, n // group, h]."""
    group = d_q.shape[2] // k.shape[2]
    start, step = block_index.x * THREADS + thread_index.x, grid_size.x * THREADS
    for i in range(start, d_q.size, step):
        b, t, n, h = _position(i, d_q.shape)
        total = scale - scale
        for s in range(k.shape[1]):
            total += d_logits[b, n, t, s] * k[b, s, n // group, h]
        d_q[b, t, n, h] = total * scale


@kernel(*[(f[:, :, :, ::1], f[:, :, :, ::1], f[:, :, :, ::1], f[:, :, :, ::1], f,
           f[:, :, :, ::1], f[:, :, :, ::1]) for f in FLOATS])
def _key_value_gradient(d_logits, probs, q, d_out, scale, d_k, d_v):
    """d_k[b, s, kv, h] = scale * sum over the group's heads n and t of d_logits[b, n, t, s]
    q[b, t, n, h]; d_v[b, s, kv, h] = the same sum of probs[b, n, t, s] d_out[b, t, n, h].
    The flat index runs over d_k's elements, then d_v's."""
    group = q.shape[2] // d_k.shape[2]
    start, step = block_index.x * THREADS + thread_index.x, grid_size.x * THREADS
    for i in range(start, d_k.size + d_v.size, step):
        keys = i < d_k.size
        target = d_k if keys else d_v
        b, s, kv, h = _position(i if keys else i - d_k.size, target.shape)
        total = scale - scale
        for n in range(kv * group, (kv + 1) * group):
            for t in range(q.shape[1]):
                if keys:
                    total += d_logits[b, n, t, s] * q[b, t, n, h]
                else:
                    total += probs[b, n, t, s] * d_out[b, t, n, h]
        target[b, s, kv, h] = total * scale if keys else total


def _launch(kernel_function, n, *args):
    kernel_function[blocks(n), THREADS](*args)


def attention_forward(query, key, value, bias, mask, scale, soft_cap, causal):
    """(out (B, T, N, H), probs (B, N, T, S)) of one float dtype; see kernels.cpu.attention."""
    batch, t_len, heads, _ = query.shape
    logits = empty((batch, heads, t_len, key.shape[1]), query.dtype)
    scale, cap, lowest = scalars(query.dtype, scale, soft_cap)
    _launch(_logits, logits.size, query, key, bias, mask, scale, cap, lowest, bool(causal),
            logits)
    probs = softmax_forward(logits)
    out = empty(tuple(query.shape[:3]) + tuple(value.shape[3:]), query.dtype)
    _launch(_weighted_values, out.size, probs, value, out)
    return out, probs


def attention_backward(d_out, query, key, value, bias, mask, probs, scale, soft_cap, causal,
                       logits_gradient):
    """(d_query, d_key, d_value, d_logits or None); see kernels.cpu.attention."""
    scale, cap, _ = scalars(query.dtype, scale, soft_cap)
    d_probs = empty(probs.shape, probs.dtype)
    _launch(_probs_gradient, d_probs.size, d_out, value, d_probs)
    d_logits = softmax_backward(d_probs, None, probs)
    _launch(_masks_and_cap, d_logits.size, query, key, bias, mask, scale, cap, bool(causal),
            d_logits)
    d_q = empty(query.shape, query.dtype)
    _launch(_query_gradient, d_q.size, d_logits, key, scale, d_q)
    d_k, d_v = empty(key.shape, key.dtype), empty(value.shape, value.dtype)
    _launch(_key_value_gradient, d_k.size + d_v.size, d_logits, probs, query, d_out, scale,
            d_k, d_v)
    return d_q, d_k, d_v, (d_logits if logits_gradient else None)
