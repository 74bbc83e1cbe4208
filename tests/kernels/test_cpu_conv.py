"""kernels/cpu/conv.py compiles each im2col helper once per argument types. Numba types a
constant argument by its value, so a call that passes `0` (or `True`) where another passes a
variable (or `False`) compiles the helper a second time (about half a second for `_patches`,
on the path to a cold first training step); the bodies therefore never pass integer or
boolean constants to the helpers they share. And conv_forward's `out`: the result written
into it, on every path, and an `out` it cannot write into refused. The direct bodies of a
grey image's convolution (forward, and the kernel gradient from its pool's gradient) against
the plain-numpy references, and which convolutions they take."""
import ast
import inspect

import numpy as np
import pytest
import reference_conv
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import conv
from nbkeras.kernels.geometry import Window, window

SHARED_HELPERS = ("_patches", "_move", "_patches_one_channel", "_bias_relu", "max_pool_rows")


def test_no_integer_constant_reaches_a_shared_conv_helper():
    tree = ast.parse(inspect.getsource(conv))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Name) and node.func.id in SHARED_HELPERS]
    assert {call.func.id for call in calls} == set(SHARED_HELPERS)
    constants = [(call.func.id, call.lineno) for call in calls for argument in call.args
                 if isinstance(argument, ast.Constant) and type(argument.value) in (int, bool)]
    assert not constants, f"integer or boolean constants passed at (helper, line): {constants}"


@pytest.mark.parametrize("channels,size,pool", [(1, 3, None), (3, 2, None), (1, 3, 2), (3, 3, 3),
                                                (8, 3, None), (8, 3, 2)],
                         ids=["one-channel", "im2col", "one-channel+pool", "im2col+pool",
                              "winograd", "winograd+pool"])
def test_conv_forward_writes_into_out_and_returns_it(channels, size, pool):
    """conv_forward(..., out=a) leaves in `a` what it returns without `out`, on each path
    (whatever `a` held before), and returns `a` itself."""
    rng = np.random.default_rng(channels * 10 + size)
    x = rng.standard_normal((3, 11, 10, channels)).astype(np.float32)
    w = rng.standard_normal((size, size, channels, 5)).astype(np.float32)
    bias = rng.standard_normal(5).astype(np.float32)
    geometry = window("valid", (11, 10), (size, size), (1, 1))
    pooling = None if pool is None else window("valid", (None, None), (pool, pool), (pool, pool))
    fresh = conv.conv_forward(x, w, geometry, 1, bias, True, pooling)
    out = np.full(fresh.shape, np.nan, np.float32)
    assert conv.conv_forward(x, w, geometry, 1, bias, True, pooling, out=out) is out
    np.testing.assert_array_equal(out, fresh)


def test_conv_forward_refuses_an_out_it_cannot_write_into():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 6, 2))
    w = rng.standard_normal((3, 3, 2, 4))
    geometry = window("valid", (6, 6), (3, 3), (1, 1))
    good = np.empty((2, 4, 4, 4))
    bad = {"shape (2, 4, 4, 3)": np.empty((2, 4, 4, 3)),
           "float32": np.empty((2, 4, 4, 4), np.float32),
           "not C-contiguous": np.empty((2, 4, 4, 8))[..., ::2]}
    for out in bad.values():
        with pytest.raises(ValueError, match=r"conv_forward: out must be a C-contiguous "
                                             r"float64 array of shape \(2, 4, 4, 4\)"):
            conv.conv_forward(x, w, geometry, out=out)
    overlapping = np.empty(2 * 6 * 6 * 2 + good.size)
    x_in = overlapping[:x.size].reshape(x.shape)
    x_in[...] = x
    with pytest.raises(ValueError, match="must not overlap the input x"):
        conv.conv_forward(x_in, w, geometry, out=overlapping[x.size // 2:][:good.size]
                          .reshape(good.shape))
    np.testing.assert_array_equal(x_in, x)            # the input is as it was


def _bodies_run(monkeypatch, chunks: int) -> list:
    """conv's chunk bodies as conv_forward and conv_backward run them, recorded; the batch
    split into `chunks` chunks."""
    bodies, run_chunks = [], conv._run

    def run(body, *args):
        bodies.append(body)
        run_chunks(body, *args)

    monkeypatch.setattr(conv, "_run", run)
    monkeypatch.setattr(conv, "_chunks", lambda batch, elements: chunks)
    return bodies


@settings(max_examples=60, deadline=None)
@given(batch=st.integers(1, 4), height=st.integers(1, 11), width=st.integers(1, 11),
       filters=st.integers(1, 40), padding=st.tuples(*[st.integers(0, 2)] * 4),
       has_bias=st.booleans(), relu=st.booleans(), pooled=st.booleans(), nan=st.booleans(),
       chunks=st.integers(1, 3), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**32 - 1))
def test_direct_3x3_one_channel_convolution_equals_the_reference(
        monkeypatch, batch, height, width, filters, padding, has_bias, relu, pooled, nan, chunks,
        dtype, seed):
    """A grey image's 3x3 convolution (conv.py's direct body): any padding, sizes down to one
    output cell, odd output sizes, the 2x2 pool or none, bias, relu, a NaN input cell (it
    reaches every output and maximum that reads it), images split into chunks."""
    top, bottom, left, right = padding
    if height + top + bottom < 3 + pooled or width + left + right < 3 + pooled:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, height, width, 1)).astype(dtype)
    if nan:
        x[rng.integers(batch), rng.integers(height), rng.integers(width), 0] = np.nan
    w = rng.standard_normal((3, 3, 1, filters)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype) if has_bias else None
    geometry = Window((3, 3), (1, 1), ((top, bottom), (left, right)), (1, 1))
    pool = Window((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)) if pooled else None
    bodies = _bodies_run(monkeypatch, chunks)
    with np.errstate(invalid="ignore"):
        y = conv.conv_forward(x, w, geometry, 1, bias, relu, pool)
        want = reference_conv.conv(np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0))), w,
                                   bias, (1, 1), "valid", (1, 1))
        if pooled:
            h, w_ = want.shape[1] // 2, want.shape[2] // 2
            want = (want[:, :2 * h, :2 * w_].reshape(batch, h, 2, w_, 2, filters)
                    .max(axis=(2, 4)))
        want = np.maximum(want, 0) if relu else want
    assert bodies == [conv._conv3x3_one_channel_pooled_chunk if pooled
                      else conv._conv3x3_one_channel_chunk]
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("rank, size, strides, dilation, pool", [
    (2, (3, 3), (2, 2), (1, 1), None),
    (2, (3, 3), (1, 1), (2, 2), None),
    (2, (5, 5), (1, 1), (1, 1), None),
    (2, (3, 3), (1, 1), (1, 1), Window((3, 3), (3, 3), ((0, 0),) * 2, (1, 1))),
    (2, (3, 3), (1, 1), (1, 1), Window((2, 2), (1, 1), ((0, 0),) * 2, (1, 1))),
    (1, (3,), (1,), (1,), None),
    (3, (1, 3, 3), (1, 1, 1), (1, 1, 1), None),
], ids=["strided", "dilated", "5x5", "pool 3x3", "pool stride 1", "1-D", "3-D"])
def test_other_one_channel_convolutions_unfold_into_a_product(monkeypatch, rank, size,
                                                               strides, dilation, pool):
    """Only the 2-D 3x3 stride-1 undilated convolution, unpooled or 2x2-pooled, runs the
    direct body; the others (equal to the reference too) the transposed patch matrix's."""
    rng = np.random.default_rng(rank)
    x = rng.standard_normal((2, *(7,) * rank, 1))
    w = rng.standard_normal((*size, 1, 4))
    bodies = _bodies_run(monkeypatch, 1)
    y = conv.conv_forward(x, w, Window(size, strides, ((1, 1),) * rank, dilation), 1, None,
                          False, pool)
    assert bodies == [conv._conv_forward_one_channel_chunk]
    if pool is None:
        want = reference_conv.conv(np.pad(x, ((0, 0), *((1, 1),) * rank, (0, 0))), w, None,
                                   strides, "valid", dilation)
        np.testing.assert_allclose(y, want, atol=1e-12)


def _max_pool(y, size=2):
    """y (N, H, W, F) max-pooled over size x size windows of strides size."""
    batch, height, width, filters = y.shape
    h, w = height // size, width // size
    return (y[:, :h * size, :w * size].reshape(batch, h, size, w, size, filters)
            .max(axis=(2, 4)))


def _pool_gradient(dy, unpooled):
    """dL/d(unpooled) of the 2x2 max pool (strides 2) given its gradient dy: a window's first
    cell (row-major) equal to its maximum takes it, none for a NaN maximum."""
    batch, ph, pw, filters = dy.shape
    cells = (unpooled[:, :2 * ph, :2 * pw].reshape(batch, ph, 2, pw, 2, filters)
             .transpose(0, 1, 3, 2, 4, 5).reshape(batch, ph, pw, 4, filters))
    top = cells.max(axis=3, keepdims=True)
    hit = cells == top
    first = hit & (np.cumsum(hit, axis=3) == 1)
    taken = np.where(first, dy[:, :, :, None], 0).reshape(batch, ph, pw, 2, 2, filters)
    du = np.zeros_like(unpooled)
    du[:, :2 * ph, :2 * pw] = taken.transpose(0, 1, 3, 2, 4, 5).reshape(batch, 2 * ph, 2 * pw,
                                                                        filters)
    return du


@settings(max_examples=60, deadline=None)
@given(batch=st.integers(1, 4), height=st.integers(1, 11), width=st.integers(1, 11),
       size=st.tuples(st.integers(1, 4), st.integers(1, 4)), filters=st.integers(1, 40),
       padding=st.tuples(*[st.integers(0, 2)] * 4), relu=st.booleans(), ties=st.booleans(),
       chunks=st.integers(1, 3), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**32 - 1))
def test_pooled_one_channel_kernel_gradient_equals_the_reference(
        monkeypatch, batch, height, width, size, filters, padding, relu, ties, chunks, dtype,
        seed):
    """The kernel and bias gradients of a grey image's stride-1 convolution from its 2x2
    pool's gradient (conv.py's direct backward body): any kernel size and padding, odd
    output sizes, relu or none, ties in a pooling window (small integers: the first cell
    takes the gradient), images split into chunks."""
    top, bottom, left, right = padding
    kh, kw = size
    if height + top + bottom < kh + 1 or width + left + right < kw + 1:
        return
    rng = np.random.default_rng(seed)
    draw = ((lambda shape: rng.integers(-2, 3, shape)) if ties else rng.standard_normal)
    x = draw((batch, height, width, 1)).astype(dtype)
    w = draw((kh, kw, 1, filters)).astype(dtype)
    geometry = Window((kh, kw), (1, 1), ((top, bottom), (left, right)), (1, 1))
    pool = Window((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1))
    y = conv.conv_forward(x, w, geometry, 1, None, relu)
    pooled = _max_pool(y)                   # as fit's pool layer makes it: from y itself
    dy = rng.standard_normal(pooled.shape).astype(dtype)
    du = _pool_gradient(dy, y)
    dz = np.where(y > 0, du, 0) if relu else du
    bodies = _bodies_run(monkeypatch, chunks)
    dx, dw, db = conv.conv_backward(dy, x, w, geometry, 1, y if relu else None,
                                    input_gradient=False, pool=(y, pooled, pool))
    assert bodies == [conv._pooled_one_channel_kernel_gradient_chunk] and dx is None
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    _, want_w, want_b = reference_conv.conv_gradients(padded, w, dz, (1, 1), "valid", (1, 1))
    scale = np.sqrt(dz.size / filters)              # the sums' typical size
    tolerance = (1e-5 if dtype == np.float32 else 1e-12) * scale * (3 if ties else 1)
    np.testing.assert_allclose(dw, want_w, rtol=0, atol=tolerance)
    np.testing.assert_allclose(db, want_b, rtol=0, atol=tolerance)


@pytest.mark.parametrize("strides, dilation, pool, input_gradient", [
    ((1, 1), (1, 1), None, False),
    ((1, 1), (1, 1), Window((2, 2), (2, 2), ((0, 0),) * 2, (1, 1)), True),
    ((2, 2), (1, 1), Window((2, 2), (2, 2), ((0, 0),) * 2, (1, 1)), False),
    ((1, 1), (2, 2), Window((2, 2), (2, 2), ((0, 0),) * 2, (1, 1)), False),
    ((1, 1), (1, 1), Window((3, 3), (3, 3), ((0, 0),) * 2, (1, 1)), False),
], ids=["unpooled", "input gradient", "strided", "dilated", "pool 3x3"])
def test_other_one_channel_gradients_take_the_transposed_patch_matrix_body(
        monkeypatch, strides, dilation, pool, input_gradient):
    """A grey image's kernel gradient that the direct body does not take runs the one-channel
    patch-matrix body, equal to the reference."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 12, 12, 1))
    w = rng.standard_normal((3, 3, 1, 4))
    geometry = Window((3, 3), strides, ((1, 1), (1, 1)), dilation)
    y = conv.conv_forward(x, w, geometry, 1, None, True)
    pooled = None if pool is None else _max_pool(y, pool.size[0])
    dy = rng.standard_normal(y.shape if pool is None else pooled.shape)
    bodies = _bodies_run(monkeypatch, 1)
    dx, dw, db = conv.conv_backward(dy, x, w, geometry, 1, y, input_gradient,
                                    pool=None if pool is None else (y, pooled, pool))
    assert bodies == [conv._conv_backward_one_channel_chunk]
    du = dy if pool is None else _pool_gradient(dy, y) if pool.size == (2, 2) else None
    if du is not None:
        want = reference_conv.conv_gradients(np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), w,
                                             np.where(y > 0, du, 0), strides, "valid",
                                             dilation)
        np.testing.assert_allclose(dw, want[1], atol=1e-12)
        np.testing.assert_allclose(db, want[2], atol=1e-12)


@pytest.mark.parametrize("chunks", [1, 2])
def test_a_grey_images_input_gradient_takes_a_patch_matrix_body(monkeypatch, chunks):
    """With its kernel gradient, in the one-channel body; alone, in the general one."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 6, 1))
    w = rng.standard_normal((3, 3, 1, 4))
    geometry = window("valid", (6, 6), (3, 3), (1, 1))
    dy = rng.standard_normal((3, 4, 4, 4))
    bodies = _bodies_run(monkeypatch, chunks)
    dx, dw, db = conv.conv_backward(dy, x, w, geometry)
    dx_alone, _, _ = conv.conv_backward(dy, x, w, geometry, kernel_gradient=False)
    assert bodies == [conv._conv_backward_one_channel_chunk, conv._conv_backward_chunk]
    want = reference_conv.conv_gradients(x, w, dy, (1, 1), "valid", (1, 1))
    for got, expected in zip((dx, dw, db, dx_alone), want + want[:1]):
        np.testing.assert_allclose(got, expected, atol=1e-12)
