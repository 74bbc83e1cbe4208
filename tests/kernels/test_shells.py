"""Parfor shells that call their body by address (kernels/cpu/shells.py)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit, prange, types

from nbkeras.kernels.cpu import shells
from nbkeras.kernels.cpu.shells import body_address, call_body


@njit
def _scaled_rows(x, scale, offsets, flip, y, t, chunks):
    """Chunk t of y[i] = (x[i] * scale + offsets[i % 2]), negated if flip; raises on NaN."""
    start, stop = t * x.shape[0] // chunks, (t + 1) * x.shape[0] // chunks
    for i in range(start, stop):
        if np.isnan(x[i, 0]):
            raise ValueError("a NaN row")
        for j in range(x.shape[1]):
            v = x[i, j] * scale + offsets[i % 2]
            y[i, j] = -v if flip else v


@njit(parallel=True)
def _scaled_rows_shell(body, x, scale, offsets, flip, y, chunks):
    for t in prange(chunks):
        call_body(body, (x, scale, offsets, flip, y, np.intp(t), chunks))


@njit
def _returns_a_value(x, t, chunks):
    return x.sum()


def _run(x, scale, offsets, flip, chunks):
    y = np.zeros_like(x)
    args = (x, scale, offsets, flip, y)
    _scaled_rows_shell(body_address(_scaled_rows, (*args, 0, chunks)), *args, chunks)
    return y


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 40), columns=st.integers(1, 7), chunks=st.integers(1, 5),
       dtype=st.sampled_from([np.float32, np.float64]), flip=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_a_shell_runs_its_body_on_every_chunk_as_a_plain_loop_does(rows, columns, chunks,
                                                                   dtype, flip, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, columns)).astype(dtype)
    scale, offsets = float(rng.standard_normal()), (float(rng.normal()), float(rng.normal()))
    expected = x * scale + np.where(np.arange(rows) % 2 == 0, *offsets)[:, None]
    np.testing.assert_allclose(_run(x, scale, offsets, flip, chunks),
                               -expected if flip else expected, rtol=1e-6, atol=1e-6)


def test_the_body_compiles_once_per_argument_types():
    x32, x64 = np.ones((4, 3), np.float32), np.ones((4, 3))
    first = body_address(_scaled_rows, (x32, 1.0, (0.0, 0.0), False, x32, 0, 2))
    assert body_address(_scaled_rows, (x32 + 1, 2.0, (1.0, 1.0), True, x32, 0, 3)) == first
    assert body_address(_scaled_rows, (x64, 1.0, (0.0, 0.0), False, x64, 0, 2)) != first
    assert body_address(_scaled_rows, (x32.T, 1.0, (0.0, 0.0), False, x32, 0, 2)) != first


def test_an_error_in_the_body_on_the_calling_thread_reaches_the_caller():
    """As in any parfor, errors on the pool's threads are lost (bodies must not raise); on
    the calling thread (one chunk) the body's error reaches the caller, chained to the
    dispatcher's SystemError, and the process carries on."""
    x = np.ones((6, 2))
    x[4, 0] = np.nan
    with pytest.raises((ValueError, SystemError)) as raised:
        _run(x, 1.0, (0.0, 0.0), False, 1)
    error = raised.value
    assert "a NaN row" in str(error) + str(error.__cause__)
    np.testing.assert_array_equal(_run(np.ones((6, 2)), 2.0, (1.0, 1.0), False, 1), 3.0)


def test_at_address_zero_the_shell_runs_nothing():
    """A dry run (concurrent_compile) queues the body's compile and passes address 0."""
    x = np.ones((6, 2))
    y = np.full_like(x, 7.0)
    _scaled_rows_shell(0, x, 1.0, (0.0, 0.0), False, y, 3)
    assert (y == 7.0).all()


def test_a_body_that_returns_a_value_is_refused():
    with pytest.raises(TypeError, match="returns"):
        body_address(_returns_a_value, (np.ones(3), 0, 1))


def test_a_dry_run_queues_the_body_and_gets_address_zero(monkeypatch):
    queued = []
    monkeypatch.setattr(shells, "compile_hook", lambda body, signature: queued.append(
        (body, signature)) or True)
    x = np.ones((5, 5), np.int64)           # argument types no other test compiles
    assert body_address(_scaled_rows, (x, 1, (0, 0), False, x, 0, 2)) == 0
    assert queued and queued[0][0] is _scaled_rows


def test_the_convolution_shells_pass_their_bodies_the_types_they_were_compiled_for():
    """call_body calls by address with the shell's argument types: the bodies' compiled
    signatures are the shells' own, with the chunk index (intp) before `chunks`."""
    from nbkeras.kernels.cpu import conv
    from nbkeras.kernels.geometry import window

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 6, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    geometry = window("same", (6, 6), (3, 3), (1, 1))
    y = conv.conv_forward(x, w, geometry, 1, np.zeros(4, np.float32), True)
    conv.conv_forward(x[..., :1].copy(), w[:, :, :1], geometry, 1, np.zeros(4, np.float32),
                      True)                                   # the one-channel body
    conv.conv_backward(rng.standard_normal(y.shape).astype(np.float32), x, w, geometry, 1, y=y)
    forward = {(*s[1:-3], types.intp, *s[-3:]) for s in conv._conv_forward.signatures}
    assert forward and forward <= set(conv._conv_forward_chunk.signatures)
    assert forward <= set(conv._conv_forward_one_channel_chunk.signatures)
    backward = {(*s[1:], types.intp, types.intp) for s in conv._conv_backward.signatures}
    assert backward and backward <= set(conv._conv_backward_chunk.signatures)


def test_the_pooling_shell_passes_max_pool_rows_the_types_it_was_compiled_for():
    from nbkeras.kernels.cpu import pooling
    from nbkeras.kernels.geometry import window

    x = np.random.default_rng(1).standard_normal((3, 6, 6, 2)).astype(np.float32)
    pooling.max_pool_forward(x, window("valid", (6, 6), (2, 2), (2, 2)))
    expected = {(x2, types.intp, in_sp, ks, s, out_sp, y2, types.intp)
                for _, x2, in_sp, ks, s, out_sp, y2 in pooling._max_pool_images.signatures}
    assert expected and expected <= set(pooling.max_pool_rows.signatures)


def test_the_winograd_shell_passes_winograd_forward_the_types_it_was_compiled_for():
    from nbkeras.kernels.cpu import conv, winograd
    from nbkeras.kernels.geometry import window

    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 6, 8)).astype(np.float32)
    w = rng.standard_normal((3, 3, 8, 8)).astype(np.float32)
    conv.conv_forward(x, w, window("same", (6, 6), (3, 3), (1, 1)), 1,
                      np.zeros(8, np.float32), True)
    expected = {(types.intp, *s[1:]) for s in conv._winograd_chunks.signatures}
    assert expected and expected <= set(winograd.winograd_forward.signatures)
