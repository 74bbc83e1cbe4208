"""Scaled dot-product attention, as `keras.ops.dot_product_attention`, on the fused
attention kernels (kernels/<device>/attention.py): logits, masks, softmax and the weighted
sum in one pass per (batch, head); the backward reuses the saved probabilities.

Layout (B, T, N, H): batch, time, heads, head size; keys and values (B, S, K, H) with K
dividing N (grouped-query attention: query head n reads key/value head n // (N / K)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from ..core.tensor import Tensor
from .core import cast
from .op import Op, convert_to_tensor, result_type
from .shape import expand_dims

__all__ = ["dot_product_attention"]


def _tensor(x):
    return x if isinstance(x, (Tensor, KerasTensor)) else convert_to_tensor(x)


def _as_4d(t, name: str, logits_shape: tuple):
    """bias or mask with leading axes added to rank 4; it must broadcast to (B, N, T, S)."""
    t = _tensor(t)
    while len(t.shape) < 4:
        t = expand_dims(t, 0)
    if len(t.shape) != 4 or not all(n is None or m is None or n in (1, m)
                                    for n, m in zip(t.shape, logits_shape)):
        raise ValueError(f"dot_product_attention: {name} of shape {tuple(t.shape)} does not "
                         f"broadcast to the logits' shape (B, N, T, S) = {logits_shape}")
    return t


def _cast(x, dtype: str):
    return x if x.dtype == dtype else cast(x, dtype)


@dataclass(frozen=True)
class DotProductAttention(Op):
    """query (B, T, N, H), key (B, S, K, H), value (B, S, K, Hv), bias (4-D, float) and mask
    (4-D, bool), all floats of one dtype -> (B, T, N, Hv); see `dot_product_attention`."""
    scale: float
    soft_cap: float | None
    causal: bool

    def output_spec(self, query: Spec, key: Spec, value: Spec, bias: Spec, mask: Spec) -> Spec:
        return Spec(tuple(query.shape[:3]) + tuple(value.shape[3:]), query.dtype)

    def forward(self, k, query, key, value, bias, mask):
        out, probs = k.attention_forward(query, key, value, bias, mask, self.scale,
                                         self.soft_cap, self.causal)
        return out, (query, key, value, bias, mask, probs)

    def vjp(self, k, dy, residuals, needs):
        query, key, value, bias, mask, probs = residuals
        d_q, d_k, d_v, d_logits = k.attention_backward(
            dy, query, key, value, bias, mask, probs, self.scale, self.soft_cap, self.causal,
            needs[3])
        d_bias = k.sum_to_shape(d_logits, bias.shape) if needs[3] else None
        return (d_q if needs[0] else None, d_k if needs[1] else None,
                d_v if needs[2] else None, d_bias, None)


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """softmax(q k^T * scale + bias, masked) v per head: query (B, T, N, H), key (B, S, K,
    H) and value (B, S, K, Hv) with N % K == 0 -> (B, T, N, Hv) in query's dtype.

    scale defaults to 1 / sqrt(H). bias and mask (bool, True = attend) broadcast to (B, N, T,
    S); masked logits become -0.7 * the dtype's largest float, so a fully masked row
    attends uniformly, as Keras. is_causal masks keys after the query's position (top-left
    aligned). attn_logits_soft_cap c replaces the logits by c * tanh(logits / c) before
    the masks (Keras only offers it on TPUs). flash_attention only picks an implementation
    in Keras; here the fused kernel runs either way. Computed in the inputs' promoted dtype,
    float32 at least.
    """
    query, key, value = _tensor(query), _tensor(key), _tensor(value)
    shapes = tuple(tuple(t.shape) for t in (query, key, value))
    if any(len(s) != 4 for s in shapes) or shapes[1][:3] != shapes[2][:3] or \
            shapes[0][3] != shapes[1][3] or shapes[0][2] % shapes[1][2]:
        raise ValueError("dot_product_attention: query must be (B, T, N, H), key (B, S, K, H) "
                         "and value (B, S, K, Hv) with N divisible by K; received "
                         f"query {shapes[0]}, key {shapes[1]}, value {shapes[2]}")
    batch, t_len, heads, size = shapes[0]
    logits_shape = (batch, heads, t_len, shapes[1][1])
    dtype = result_type(*(str(t.dtype) for t in (query, key, value)), "float32")
    bias = (np.zeros((1, 1, 1, 1), dtype) if bias is None
            else _cast(_as_4d(bias, "bias", logits_shape), dtype))
    mask = (np.ones((1, 1, 1, 1), bool) if mask is None
            else _cast(_as_4d(mask, "mask", logits_shape), "bool"))
    op = DotProductAttention(1.0 / float(np.sqrt(size)) if scale is None else float(scale),
                             None if attn_logits_soft_cap is None
                             else float(attn_logits_soft_cap), bool(is_causal))
    out = op(*(_cast(t, dtype) for t in (query, key, value)), bias, mask)
    return _cast(out, query.dtype)
