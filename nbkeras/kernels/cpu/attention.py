"""Scaled dot-product attention, fused: per (batch, head), the logits q k^T, their scale,
bias, soft cap and masks, the softmax and the weighted sum of the values in one pass whose
(T, S) block stays in cache; the backward reuses the saved probabilities.

Layout: query (B, T, N, H), key (B, S, K, H) and value (B, S, K, Hv) with K dividing N (query head n
reads key/value head n // (N / K)); bias (float) and mask (bool, True = attend) are 4-D
with each axis either 1 or that of the logits (B, N, T, S). Masked logits become `lowest`
(-0.7 times the dtype's largest float, as Keras), so a fully masked row attends uniformly
and masked logits get no gradient. kernels/cuda/attention.py exports the same names.

The per-logit arithmetic is plain Python (`logit_program`), compiled for each device. The
CPU kernels read bias and mask through broadcast views (zero strides).
"""
import math

import numpy as np
from numba import njit, prange

from .parallel import launch, single_threaded_blas
from .vector_math import exp

__all__ = ["attention_forward", "attention_backward"]


def logit_program(compile):
    """(logit, cap_slope), built by `compile`, the per-logit arithmetic of both devices.

    logit(product, bias, keep, scale, cap, lowest): the attention logit from the dot
    product q_t . k_s and the bias there: product * scale + bias, then cap * tanh(. / cap)
    when cap > 0; `lowest` where not `keep`.
    cap_slope(product, bias, scale, cap): d(capped) / d(uncapped) there, for cap > 0
    (cap / cap is a 1 of the arrays' dtype: an integer 1 would make float32 code float64).
    """
    def logit(product, bias, keep, scale, cap, lowest):
        if not keep:
            return lowest
        z = product * scale + bias
        return cap * math.tanh(z / cap) if cap > 0 else z

    def cap_slope(product, bias, scale, cap):
        capped = math.tanh((product * scale + bias) / cap)
        return cap / cap - capped * capped

    return compile(logit), compile(cap_slope)


_logit, _cap_slope = logit_program(njit(inline="always"))


@njit(cache=True)
def _write(target, source, factor, accumulate):
    """target (R, C) = (or +=) factor * source, written out (slice assignment inside a
    parallel loop costs seconds of compile)."""
    for r in range(target.shape[0]):
        for c in range(target.shape[1]):
            if accumulate:
                target[r, c] += factor * source[r, c]
            else:
                target[r, c] = factor * source[r, c]


@njit(cache=True, parallel=True, fastmath={"contract", "reassoc"})
def _forward(q, k, v, bias, mask, scale, cap, lowest, causal, plain, out, probs):
    """probs[b, n] = softmax of the logits of head n, out[b, :, n] = probs[b, n] @ v. With
    `plain` (no bias, mask or cap) the logits are the scaled products, in loops that
    vectorise."""
    heads, group = q.shape[2], q.shape[2] // k.shape[2]
    for i in prange(q.shape[0] * heads):
        b = i // heads
        n = i - b * heads
        kv = n // group
        z = probs[b, n]
        np.dot(np.ascontiguousarray(q[b, :, n]), np.ascontiguousarray(k[b, :, kv]).T, z)
        for t in range(z.shape[0]):
            visible = min(t + 1, z.shape[1]) if causal else z.shape[1]
            if plain:
                for s in range(visible):
                    z[t, s] *= scale
                for s in range(visible, z.shape[1]):
                    z[t, s] = lowest
            else:
                biases, keeps = bias[b, n, t], mask[b, n, t]
                for s in range(z.shape[1]):
                    z[t, s] = _logit(z[t, s], biases[s], keeps[s] and s < visible, scale,
                                     cap, lowest)
            row_max = lowest
            for s in range(z.shape[1]):
                row_max = max(row_max, z[t, s])
            total = row_max - row_max
            for s in range(z.shape[1]):
                z[t, s] = exp(z[t, s] - row_max)
                total += z[t, s]
            for s in range(z.shape[1]):
                z[t, s] /= total
        _write(out[b, :, n], np.dot(z, np.ascontiguousarray(v[b, :, kv])), 1, False)


@njit(cache=True, parallel=True, fastmath={"contract", "reassoc"})
def _backward(d_out, q, k, v, bias, mask, probs, scale, cap, causal, plain, d_q, d_k, d_v,
              d_logits):
    """Gradients of the inputs of `_forward`, in parallel over (batch, key/value head): the
    heads of a group add into one d_k and d_v. d_logits (B, N, T, S) gets the gradient of
    the uncapped logits when it has that shape (the bias needs it), else it is unused.
    `plain` as in `_forward`."""
    kv_heads, group = k.shape[2], q.shape[2] // k.shape[2]
    for i in prange(q.shape[0] * kv_heads):
        b = i // kv_heads
        kv = i - b * kv_heads
        keys = np.ascontiguousarray(k[b, :, kv])
        values = np.ascontiguousarray(v[b, :, kv])
        for n in range(kv * group, (kv + 1) * group):
            p = probs[b, n]
            grad = np.ascontiguousarray(d_out[b, :, n])
            queries = np.ascontiguousarray(q[b, :, n])
            _write(d_v[b, :, kv], np.dot(p.T, grad), 1, True)
            dz = np.dot(grad, values.T)                        # d probs, then d logits
            products = np.dot(queries, keys.T) if cap > 0 else dz
            for t in range(dz.shape[0]):
                inner = dz[t, 0] - dz[t, 0]
                for s in range(dz.shape[1]):
                    inner += dz[t, s] * p[t, s]
                if plain:
                    visible = min(t + 1, dz.shape[1]) if causal else dz.shape[1]
                    for s in range(visible):
                        dz[t, s] = p[t, s] * (dz[t, s] - inner)
                    for s in range(visible, dz.shape[1]):
                        dz[t, s] = 0
                else:
                    for s in range(dz.shape[1]):
                        if not mask[b, n, t, s] or (causal and s > t):
                            dz[t, s] = 0
                        elif cap > 0:
                            dz[t, s] = p[t, s] * (dz[t, s] - inner) * _cap_slope(
                                products[t, s], bias[b, n, t, s], scale, cap)
                        else:
                            dz[t, s] = p[t, s] * (dz[t, s] - inner)
            if d_logits.shape[0] == q.shape[0]:
                _write(d_logits[b, n], dz, 1, False)
            _write(d_q[b, :, n], np.dot(dz, keys), scale, False)
            _write(d_k[b, :, kv], np.dot(dz.T, queries), scale, True)


def scalars(dtype, scale, soft_cap):
    """scale, cap (0: none) and the masked logit, in the arrays' dtype (both devices)."""
    kind = np.dtype(dtype).type
    return (kind(scale), kind(0.0 if soft_cap is None else soft_cap),
            kind(-0.7 * np.finfo(dtype).max))


def _plain(bias, mask, soft_cap) -> bool:
    """Whether the logits are the scaled products alone: a single zero bias, a single True
    mask and no cap (what dot_product_attention passes when none is given)."""
    return (soft_cap is None and bias.size == 1 and not bias.reshape(-1)[0]
            and mask.size == 1 and bool(mask.reshape(-1)[0]))


def attention_forward(query, key, value, bias, mask, scale, soft_cap, causal):
    """(out (B, T, N, Hv), probs (B, N, T, S)) of one float dtype; see the module."""
    batch, t_len, heads, _ = query.shape
    out = np.empty(query.shape[:3] + value.shape[3:], query.dtype)
    probs = np.empty((batch, heads, t_len, key.shape[1]), query.dtype)
    with single_threaded_blas():
        launch(_forward, probs.size, query, key, value, np.broadcast_to(bias, probs.shape),
               np.broadcast_to(mask, probs.shape),
               *scalars(query.dtype, scale, soft_cap), bool(causal),
               _plain(bias, mask, soft_cap), out, probs)
    return out, probs


def attention_backward(d_out, query, key, value, bias, mask, probs, scale, soft_cap, causal,
                       logits_gradient):
    """(d_query, d_key, d_value, d_logits or None): d_logits (B, N, T, S), the gradient of
    the logits before the cap and the masks, when `logits_gradient` (for the bias)."""
    d_q = np.empty(query.shape, query.dtype)
    d_k = np.zeros(key.shape, key.dtype)
    d_v = np.zeros(value.shape, value.dtype)
    d_logits = np.empty(probs.shape if logits_gradient else (0, 0, 0, 0), probs.dtype)
    scale, cap, _ = scalars(query.dtype, scale, soft_cap)
    with single_threaded_blas():
        launch(_backward, probs.size, d_out, query, key, value,
               np.broadcast_to(bias, probs.shape), np.broadcast_to(mask, probs.shape), probs,
               scale, cap, bool(causal), _plain(bias, mask, soft_cap), d_q, d_k, d_v,
               d_logits)
    return d_q, d_k, d_v, (d_logits if logits_gradient else None)
