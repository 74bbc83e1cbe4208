"""The CUDA recurrent kernels compute what the CPU kernels compute: recurrent_forward (h of
every step, the last c, through the per-step gemm + gate kernel) and recurrent_backward
(every cotangent) for each cell, on Hypothesis-drawn sizes (one step, batch 1), with and
without bias, mask (all-masked rows included) and the last-c cotangent."""
import inspect

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import recurrent as cpu
from nbkeras.kernels.cuda import recurrent as cuda
from nbkeras.kernels.cuda.runtime import to_host

TOLERANCE = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}
GATES = {"simple": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}


def test_exports_the_cpu_functions_with_their_signatures():
    assert sorted(cuda.__all__) == sorted(cpu.__all__)
    for name in cpu.__all__:
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(getattr(cpu, name))


@settings(max_examples=8)
@given(cell=st.sampled_from(sorted(GATES)), seed=st.integers(0, 2**32 - 1),
       batch=st.integers(1, 3), steps=st.integers(1, 4), features=st.integers(1, 3),
       units=st.integers(1, 3), use_bias=st.booleans(), masked=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_forward_and_backward_match_the_cpu(cell, seed, batch, steps, features, units,
                                            use_bias, masked, dtype):
    rng = np.random.default_rng(seed)
    width = GATES[cell] * units

    def draw(*shape):
        return (rng.standard_normal(shape) * 0.5).astype(dtype)
    x, kernel, recurrent = draw(batch, steps, features), draw(features, width), draw(units, width)
    bias = (draw(2, width) if cell == "gru" else draw(width)) if use_bias else None
    h0 = draw(batch, units)
    c0 = draw(batch, units) if cell == "lstm" else None
    mask = None
    if masked:
        mask = rng.random((batch, steps)) < 0.6
        mask[0] = False
    want = cpu.recurrent_forward(cell, x, kernel, recurrent, bias, h0, c0, mask)
    got = cuda.recurrent_forward(cell, x, kernel, recurrent, bias, h0, c0, mask)
    tolerance = TOLERANCE[dtype]
    np.testing.assert_allclose(to_host(got[0]), want[0], **tolerance)
    if cell == "lstm":
        np.testing.assert_allclose(to_host(got[1]), want[1], **tolerance)
    d_hs = draw(batch, steps, units)
    d_c = draw(batch, units) if cell == "lstm" else None
    want_grads = cpu.recurrent_backward(cell, d_hs, d_c, kernel, recurrent, bias, h0, c0, want[2])
    got_grads = cuda.recurrent_backward(cell, d_hs, d_c, kernel, recurrent, bias, h0, c0, got[2])
    for name, g, w in zip(("dx", "dkernel", "drecurrent", "dbias", "dh0", "dc0"), got_grads,
                          want_grads):
        assert (g is None) == (w is None), name
        if w is not None:
            g = to_host(g)
            assert g.shape == w.shape and g.dtype == w.dtype, name
            np.testing.assert_allclose(g, w, err_msg=name, **tolerance)
