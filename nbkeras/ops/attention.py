"""Scaled dot-product attention, as `keras.ops.dot_product_attention`, composed from matmul,
softmax and where (so it runs on every device and differentiates through their VJPs).

Layout (B, T, N, H): batch, time, heads, head size; keys and values (B, S, K, H) with K
dividing N (grouped-query attention: query head n reads key/value head n // (N / K)).
"""
from __future__ import annotations

import numpy as np

from ..core.keras_tensor import KerasTensor
from ..core.tensor import Tensor
from .activation import softmax, tanh
from .core import cast, where
from .elementwise import add, multiply
from .manipulation import repeat
from .matmul import matmul
from .op import convert_to_tensor
from .shape import expand_dims, transpose

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


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """softmax(q k^T * scale + bias, masked) v per head: query (B, T, N, H), key and value
    (B, S, K, H) with N % K == 0 -> (B, T, N, H) in query's dtype.

    scale defaults to 1 / sqrt(H). bias and mask (bool, True = attend) broadcast to (B, N, T,
    S); masked logits become -0.7 * the dtype's largest float, so a fully masked row
    attends uniformly, as Keras. is_causal masks keys after the query's position (top-left
    aligned). attn_logits_soft_cap c replaces the logits by c * tanh(logits / c) before
    the masks (Keras only offers it on TPUs). flash_attention only picks an implementation
    in Keras; here the result is the same exact computation either way.
    """
    query, key, value = _tensor(query), _tensor(key), _tensor(value)
    shapes = tuple(tuple(t.shape) for t in (query, key, value))
    if any(len(s) != 4 for s in shapes) or shapes[1] != shapes[2] or \
            shapes[0][3] != shapes[1][3] or shapes[0][2] % shapes[1][2]:
        raise ValueError("dot_product_attention: query must be (B, T, N, H) and key, value "
                         "(B, S, K, H) with the same H and N divisible by K; received "
                         f"query {shapes[0]}, key {shapes[1]}, value {shapes[2]}")
    batch, t_len, heads, size = shapes[0]
    s_len, kv_heads = shapes[1][1], shapes[1][2]
    if heads != kv_heads:   # grouped-query attention: each key/value head serves a group
        key, value = (repeat(t, heads // kv_heads, axis=2) for t in (key, value))
    logits_dtype = query.dtype if np.dtype(query.dtype).itemsize >= 4 else "float32"
    scale = 1.0 / float(np.sqrt(size)) if scale is None else float(scale)
    logits = matmul(transpose(_cast(query, logits_dtype), (0, 2, 1, 3)),
                    transpose(_cast(key, logits_dtype), (0, 2, 3, 1)))   # (B, N, T, S)
    logits = multiply(logits, scale)
    logits_shape = (batch, heads, t_len, s_len)
    if bias is not None:
        logits = add(logits, _cast(_as_4d(bias, "bias", logits_shape), logits_dtype))
    if attn_logits_soft_cap is not None:
        cap = float(attn_logits_soft_cap)
        logits = multiply(tanh(multiply(logits, 1.0 / cap)), cap)
    keep = None if mask is None else _as_4d(mask, "mask", logits_shape)
    if is_causal:
        causal = np.tril(np.ones((t_len, s_len), bool))
        keep = causal if keep is None else multiply(_cast(keep, "bool"), causal)
    if keep is not None:
        lowest = np.asarray(-0.7 * np.finfo(logits_dtype).max, logits_dtype)
        logits = where(keep if isinstance(keep, np.ndarray) else _cast(keep, "bool"), logits,
                       lowest)
    probs = _cast(softmax(logits, axis=-1), key.dtype)
    out = matmul(probs, transpose(value, (0, 2, 1, 3)))   # (B, N, T, H)
    return _cast(transpose(out, (0, 2, 1, 3)), query.dtype)
