"""One parfor shell for every chunk body (kernels/cpu/shells.py): the arguments stored as a
tuple, unpacked on each thread and passed to the body by address."""
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from nbkeras.kernels.cpu import shells
from nbkeras.kernels.cpu.shells import parallel_chunks


@njit(cache=True)
def _scaled_rows(t, chunks, x, scale, offsets, flip, shift, y):
    """Chunk t of y[i] = (x[i] * scale + offsets[i % 2] + shift), negated if flip; raises
    on a NaN row."""
    start, stop = t * x.shape[0] // chunks, (t + 1) * x.shape[0] // chunks
    for i in range(start, stop):
        if np.isnan(x[i, 0]):
            raise ValueError("a NaN row")
        for j in range(x.shape[1]):
            v = x[i, j] * scale + offsets[i % 2] + shift
            y[i, j] = -v if flip else v


@njit
def _returns_a_value(t, chunks, x):
    return x.sum()


def _run(x, scale, offsets, flip, chunks, shift=np.int32(0)):
    y = np.zeros(x.shape, x.dtype)
    parallel_chunks(_scaled_rows, chunks, x, scale, offsets, flip, shift, y)
    return y


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 40), columns=st.integers(1, 7), chunks=st.integers(1, 5),
       dtype=st.sampled_from([np.float32, np.float64]), flip=st.booleans(),
       shift=st.sampled_from([np.int32(-3), np.uint64(2), np.int8(5), 7]),
       layout=st.sampled_from(["C", "F", "strided"]), seed=st.integers(0, 2**31 - 1))
def test_every_chunk_runs_with_the_arguments_as_passed(rows, columns, chunks, dtype, flip,
                                                        shift, layout, seed):
    """Arrays of every layout (their data pointer, shape and strides), tuples, booleans and
    integers of several widths between them reach the body as a plain loop sees them."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 2 * columns)).astype(dtype)
    x = {"C": x[:, :columns].copy(), "F": np.asfortranarray(x[:, :columns]),
         "strided": x[:, ::2]}[layout]
    scale, offsets = dtype(rng.standard_normal()), (float(rng.normal()), float(rng.normal()))
    expected = (x * scale + np.where(np.arange(rows) % 2 == 0, *offsets)[:, None]
                + int(shift))
    np.testing.assert_allclose(_run(x, scale, offsets, flip, chunks, shift),
                               -expected if flip else expected, rtol=1e-6, atol=1e-6)


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
    """A dry run (concurrent_compile) queues the compiles and calls the shell at address 0."""
    shells._parallel_calls(0, 0, 3)


def test_the_arguments_pack_into_as_many_bytes_as_numba_lays_them_out_in():
    """(The packing is checked against LLVM's size of the tuple, padding included.)"""
    from numba import typeof

    args = (np.ones((2, 3), np.float32), np.float32(1), (1, 2), True, np.int8(1),
            np.ones((3, 2), np.float32))
    call = shells._PackedCall.prepare(_scaled_rows, tuple(typeof(a) for a in args))
    assert call.size == 8 + 72 + 8 + 16 + 8 + 72     # float32, bool, int8: padded


def test_an_argument_it_cannot_pass_is_a_clear_error():
    with pytest.raises(TypeError, match="parallel_chunks: cannot pass an argument of type"):
        parallel_chunks(_scaled_rows, 1, np.ones((2, 2)), 1.0, (0.0, 0.0), False, "a",
                        np.ones((2, 2)))


def test_a_body_that_returns_a_value_is_refused():
    with pytest.raises(TypeError, match="returns"):
        parallel_chunks(_returns_a_value, 1, np.ones(3))


@settings(max_examples=10, deadline=None)
@given(rows=st.integers(1, 30), chunks=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_the_arrays_reference_counts_are_left_as_they_were(rows, chunks, seed):
    """The arrays are lent, never owned: no reference is left behind or released."""
    x = np.random.default_rng(seed).standard_normal((rows, 3))
    counts = sys.getrefcount(x)
    for _ in range(20):
        y = _run(x, 1.5, (0.0, 1.0), False, chunks)
    assert sys.getrefcount(x) == counts
    np.testing.assert_allclose(y, x * 1.5 + np.where(np.arange(rows) % 2 == 0, 0.0, 1.0)[:, None])


def test_a_dry_run_queues_the_body_and_its_unpacking_and_runs_nothing(monkeypatch):
    queued = []
    monkeypatch.setattr(shells, "compile_hook", lambda body, signature: queued.append(
        (body, signature)) or True)
    x = np.ones((5, 5), np.int64)           # argument types no other test compiles
    y = np.full((5, 5), 7, np.int64)
    parallel_chunks(_scaled_rows, 2, x, 1, (0, 0), False, 0, y)
    assert [kernel for kernel, _ in queued] == [_scaled_rows, shells._unpacked]
    assert (y == 7).all()
    monkeypatch.setattr(shells, "compile_hook", None)
    parallel_chunks(_scaled_rows, 2, x, 1, (0, 0), False, 0, y)       # prepared afresh
    assert (y == 1).all()


def test_the_kernels_bodies_are_compiled_once_per_argument_types():
    """The convolutions' and the pooling's bodies through the one shell: each body compiles
    for its arguments' types, with the chunk index and count (intp) first."""
    from numba import types

    from nbkeras.kernels.cpu import conv, pooling
    from nbkeras.kernels.geometry import window

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 6, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    geometry = window("same", (6, 6), (3, 3), (1, 1))
    y = conv.conv_forward(x, w, geometry, 1, np.zeros(4, np.float32), True)
    conv.conv_backward(rng.standard_normal(y.shape).astype(np.float32), x, w, geometry, 1, y=y)
    pooling.max_pool_forward(x, window("valid", (6, 6), (2, 2), (2, 2)))
    for body in (conv._conv_forward_chunk, conv._conv_backward_chunk,
                 pooling._max_pool_images):
        assert body.signatures and all(s[:2] == (types.intp, types.intp)
                                       for s in body.signatures)
