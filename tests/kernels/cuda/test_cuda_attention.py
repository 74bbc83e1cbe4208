"""The CUDA attention kernels compute what the CPU kernels compute: forward (output and
probabilities) and backward (query, key, value and logits gradients), on Hypothesis-drawn
shapes with grouped key/value heads, bias and mask of every broadcast pattern, fully masked
rows, causal masking and the soft cap, on a row longer than a block, and without bias, mask
or cap (the CPU kernels' plain loops)."""
import inspect

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import attention as cpu
from nbkeras.kernels.cuda import attention as cuda
from nbkeras.kernels.cuda.runtime import THREADS, to_device, to_host

TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}


def _same(got, want, name):
    got = to_host(got)
    assert (got.shape, got.dtype) == (want.shape, want.dtype), name
    np.testing.assert_allclose(got, want, err_msg=name, **TOLERANCE[want.dtype.type])


def _check(rng, shape, kv_heads, dtype, bias_axes, mask_axes, soft_cap, causal, plain=False):
    """CUDA against CPU; `plain`: no bias, mask or cap (the CPU kernels' own loops)."""
    batch, t_len, heads, size, s_len = shape
    q = rng.standard_normal((batch, t_len, heads, size)).astype(dtype)
    k, v, d_out = (rng.standard_normal(s).astype(dtype) for s in (      # values: size + 1
        (batch, s_len, kv_heads, size), (batch, s_len, kv_heads, size + 1),
        (batch, t_len, heads, size + 1)))
    logits_shape = (batch, heads, t_len, s_len)
    bias = rng.standard_normal([n if keep else 1 for n, keep in zip(logits_shape, bias_axes)])
    mask = rng.random([n if keep else 1 for n, keep in zip(logits_shape, mask_axes)]) < 0.7
    mask.reshape(-1, mask.shape[-1])[0] = False                  # a fully masked row
    if plain:
        bias, mask, soft_cap = np.zeros((1, 1, 1, 1)), np.ones((1, 1, 1, 1), bool), None
    args = (bias.astype(dtype), mask, 0.7, soft_cap, causal)
    want_out, want_probs = cpu.attention_forward(q, k, v, *args[:2], *args[2:])
    device = [to_device(a) for a in (q, k, v, args[0], args[1])]
    out, probs = cuda.attention_forward(*device, *args[2:])
    _same(out, want_out, "out")
    _same(probs, want_probs, "probs")
    want = cpu.attention_backward(d_out, q, k, v, *args[:2], want_probs, *args[2:], True)
    got = cuda.attention_backward(to_device(d_out), *device, probs, *args[2:], True)
    for g, w, name in zip(got, want, ["d_query", "d_key", "d_value", "d_logits"]):
        _same(g, w, name)
    assert cuda.attention_backward(to_device(d_out), *device, probs, *args[2:], False)[3] is None


def test_exports_the_cpu_functions_with_their_signatures():
    assert cuda.__all__ == cpu.__all__ == ["attention_forward", "attention_backward"]
    for name in cpu.__all__:
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(getattr(cpu, name))


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 2), t_len=st.integers(1, 4),
       s_len=st.integers(1, 4), kv_heads=st.integers(1, 2), group=st.integers(1, 2),
       size=st.integers(1, 3), dtype=st.sampled_from([np.float32, np.float64]),
       bias_axes=st.tuples(*[st.booleans()] * 4), mask_axes=st.tuples(*[st.booleans()] * 4),
       soft_cap=st.sampled_from([None, 1.5]), causal=st.booleans())
def test_matches_cpu(seed, batch, t_len, s_len, kv_heads, group, size, dtype, bias_axes,
                     mask_axes, soft_cap, causal):
    _check(np.random.default_rng(seed), (batch, t_len, kv_heads * group, size, s_len),
           kv_heads, dtype, bias_axes, mask_axes, soft_cap, causal)


def test_keys_longer_than_a_block():
    _check(np.random.default_rng(1), (1, 2, 2, 3, THREADS + 5), 1, np.float64,
           (False, True, True, True), (True, False, False, True), 2.0, True)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), t_len=st.integers(1, 5), s_len=st.integers(1, 5),
       group=st.integers(1, 2), dtype=st.sampled_from([np.float32, np.float64]),
       causal=st.booleans())
def test_matches_cpu_without_bias_mask_or_cap(seed, t_len, s_len, group, dtype, causal):
    _check(np.random.default_rng(seed), (2, t_len, 2 * group, 3, s_len), 2, dtype,
           (False,) * 4, (False,) * 4, None, causal, plain=True)
