"""nbkeras/ops/attention.py: dot_product_attention with grouped key/value heads, bias, masks,
causal masking, a custom scale and the logits soft cap.

Forwards against a plain float64 numpy loop over batch, head and query position, KerasTensor
calls against the eager shape and dtype, gradients in query, key, value and bias against
central differences (check_grads), on every device of the `device` fixture."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbkeras import ops
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, assert_op


def _reference(q, k, v, bias=None, mask=None, scale=None, is_causal=False, cap=None):
    batch, t_len, heads, size = q.shape
    s_len, kv_heads = k.shape[1], k.shape[2]
    scale = 1 / np.sqrt(size) if scale is None else scale
    out = np.empty_like(q)
    for b in range(batch):
        for n in range(heads):
            g = n // (heads // kv_heads)
            for t in range(t_len):
                logits = np.array([q[b, t, n] @ k[b, s, g] for s in range(s_len)]) * scale
                if bias is not None:
                    logits = logits + np.broadcast_to(bias, (batch, heads, t_len, s_len))[b, n, t]
                if cap is not None:
                    logits = cap * np.tanh(logits / cap)
                keep = np.ones(s_len, bool)
                if mask is not None:
                    keep &= np.broadcast_to(mask, (batch, heads, t_len, s_len))[b, n, t]
                if is_causal:
                    keep &= np.arange(s_len) <= t
                logits = np.where(keep, logits, -0.7 * np.finfo(np.float64).max)
                weights = np.exp(logits - logits.max())
                out[b, t, n] = (weights / weights.sum()) @ v[b, :, g]
    return out


@st.composite
def _cases(draw):
    batch, t_len, s_len = (draw(st.integers(1, n)) for n in (2, 3, 3))
    kv_heads, group, size = (draw(st.integers(1, n)) for n in (2, 2, 3))
    q = draw(nst.arrays((batch, t_len, kv_heads * group, size)))
    k, v = (draw(nst.arrays((batch, s_len, kv_heads, size))) for _ in range(2))
    bias_shape = draw(st.sampled_from([None, (batch, kv_heads * group, t_len, s_len),
                                       (1, 1, t_len, s_len), (t_len, s_len)]))
    bias = None if bias_shape is None else draw(nst.arrays(bias_shape))
    options = dict(scale=draw(st.sampled_from([None, 0.5])), is_causal=draw(st.booleans()))
    if draw(st.booleans()):
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        options["mask"] = rng.random((batch, 1, t_len, s_len)) < 0.7
    return q, k, v, bias, options


@given(case=_cases(), soft_cap=st.sampled_from([None, 2.0]))
def test_dot_product_attention(device, case, soft_cap):
    q, k, v, bias, options = case
    inputs = [q, k, v] if bias is None else [q, k, v, bias]

    def fn(q, k, v, *bias):
        return ops.dot_product_attention(q, k, v, *bias, attn_logits_soft_cap=soft_cap,
                                         **options)
    expected = _reference(q, k, v, bias, options.get("mask"), options["scale"],
                          options["is_causal"], soft_cap)
    assert_op(fn, lambda *args: expected, *inputs)


def test_float32_and_errors(device):
    rng = np.random.default_rng(0)
    q = rng.normal(size=(2, 3, 4, 5)).astype("float32")
    k = rng.normal(size=(2, 6, 2, 5)).astype("float32")
    y = ops.dot_product_attention(q, k, k, is_causal=True)
    assert_matches(y, _reference(*(a.astype(np.float64) for a in (q, k, k)), is_causal=True),
                   rtol=1e-5, atol=1e-6, dtype="float32")
    with pytest.raises(ValueError, match="dot_product_attention.*divisible"):
        ops.dot_product_attention(q, k[:, :, :1].repeat(3, axis=2), k[:, :, :1].repeat(3, axis=2))
    with pytest.raises(ValueError, match="dot_product_attention: mask"):
        ops.dot_product_attention(q, k, k, mask=np.ones((2, 4, 3, 5), bool))


def test_float16_inputs_compute_in_float32_and_return_float16(device):
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=s).astype("float16") for s in ((1, 3, 2, 4), (1, 5, 1, 4),
                                                               (1, 5, 1, 4)))
    mask = np.asarray(rng.random((1, 1, 3, 5)) < 0.6)
    y = ops.dot_product_attention(q, k, v, mask=mask)
    want = _reference(*(a.astype(np.float64) for a in (q, k, v)), mask=mask)
    assert_matches(y, want, rtol=2e-3, atol=2e-3, dtype="float16")
