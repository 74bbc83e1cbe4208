"""The CUDA convolution kernels compute what the CPU ones compute: forward (bias, relu, the
fused max-pool) and backward (dx, dw, db, relu's mask from y, the bias-only case) on
Hypothesis-drawn tiny problems of rank 1 to 3 with strides, dilation, asymmetric explicit
padding and groups; on fixed edge cases (tiles with tails, padding wider than the kernel,
one channel, a kernel gradient reduced in several chunks); and the CUDA kernels are each
other's adjoints. Sizes stay tiny: the simulator runs one Python thread per CUDA thread."""
import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import conv as cpu
from nbkeras.kernels.cuda import conv as cuda
from nbkeras.kernels.cuda.runtime import TILE, to_host
from nbkeras.kernels.geometry import Window

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-5, np.float64: 1e-12}
ATOL = {np.float32: 1e-6, np.float64: 1e-14}     # per term summed (cancellation)


@st.composite
def problems(draw, max_positions=(5, 3, 2)):
    """(x, w, window, groups, bias or None, relu, dtype) of a tiny convolution: per axis a
    kernel, stride, dilation, explicit (before, after) padding and an input length with at
    least one output; C = groups * (1 or more), F = groups * (1 or 2), 1-2 images."""
    rank = draw(st.integers(1, 3), label="rank")
    sizes, strides, dilation, padding, spatial = [], [], [], [], []
    for _ in range(rank):
        k = draw(st.integers(1, 3 if rank < 3 else 2))
        s, d = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        pad = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        out = draw(st.integers(1, max_positions[rank - 1]))
        n = max(1, (out - 1) * s + d * (k - 1) + 1 - sum(pad) + draw(st.integers(0, s - 1)))
        sizes.append(k), strides.append(s), dilation.append(d), padding.append(pad)
        spatial.append(n)
    groups = draw(st.integers(1, 2))
    channels = groups * draw(st.integers(1, 3 // groups))
    filters = groups * draw(st.integers(1, 2))
    batch = draw(st.integers(1, 2))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    x = rng.standard_normal((batch, *spatial, channels)).astype(dtype)
    w = rng.standard_normal((*sizes, channels // groups, filters)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype) if draw(st.booleans()) else None
    window = Window(tuple(sizes), tuple(strides), tuple(padding), tuple(dilation))
    return x, w, window, groups, bias, draw(st.booleans(), label="relu"), dtype


def _close(got, want, terms: int) -> None:
    """got (a device array) equals want, the CPU's result, in shape, dtype and value."""
    got = to_host(got)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    dtype = want.dtype.type
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=ATOL[dtype] * max(terms, 1))


def _terms(x, w, dy) -> int:
    """The longest sum any of the kernels takes: taps * channels, or images * positions."""
    return max(math.prod(w.shape[:-1]), math.prod(w.shape[:-2]) * w.shape[-1],
               math.prod(dy.shape[:-1]))


def _check(x, w, window, groups=1, bias=None, relu=False, seed=0):
    """Forward and backward (dx, dw, db in one call, relu's mask from the CPU's y) against
    the CPU kernels."""
    y = cpu.conv_forward(x, w, window, groups, bias, relu)
    dy = np.random.default_rng(seed).standard_normal(y.shape).astype(x.dtype)
    terms = _terms(x, w, dy)
    _close(cuda.conv_forward(x, w, window, groups, bias, relu), y, terms)
    mask = y if relu else None
    for got, want in zip(cuda.conv_backward(dy, x, w, window, groups, mask),
                         cpu.conv_backward(dy, x, w, window, groups, mask)):
        _close(got, want, terms)


def test_exports_the_cpu_functions_with_their_signatures():
    assert sorted(cuda.__all__) == sorted(cpu.__all__)
    for name in cpu.__all__:
        assert (inspect.signature(getattr(cuda, name))
                == inspect.signature(getattr(cpu, name))), name


@settings(max_examples=8)
@given(problem=problems())
def test_forward_and_backward_match_cpu(problem):
    x, w, window, groups, bias, relu, _ = problem
    _check(x, w, window, groups, bias, relu)


@st.composite
def pooled_problems(draw):
    """A tiny convolution with a pooling window (size, strides) that fits its output."""
    x, w, window, groups, bias, relu, _ = draw(problems(max_positions=(5, 4, 2)))
    out = window.output_spatial(x.shape[1:-1])
    size = tuple(draw(st.integers(1, min(n, 3))) for n in out)
    strides = tuple(draw(st.integers(1, 2)) for _ in out)
    pool = Window(size, strides, ((0, 0),) * len(out), (1,) * len(out))
    return x, w, window, groups, bias, relu, pool


@settings(max_examples=6)
@given(problem=pooled_problems())
def test_fused_max_pool_matches_cpu(problem):
    x, w, window, groups, bias, relu, pool = problem
    want = cpu.conv_forward(x, w, window, groups, bias, relu, pool)
    _close(cuda.conv_forward(x, w, window, groups, bias, relu, pool), want,
           math.prod(w.shape[:-1]))


@settings(max_examples=6)
@given(problem=pooled_problems(), pooled=st.booleans())
def test_forward_into_out_matches_cpu(problem, pooled):
    """conv_forward(..., out=a device array) leaves the CPU's result in it, with or without
    the fused pool, whatever it held before, and returns it; an out of another shape is
    refused as on the CPU."""
    from nbkeras.kernels.cuda.runtime import to_device

    x, w, window, groups, bias, relu, pool = problem
    pool = pool if pooled else None
    want = cpu.conv_forward(x, w, window, groups, bias, relu, pool)
    out = to_device(np.full(want.shape, np.nan, want.dtype))
    assert cuda.conv_forward(x, w, window, groups, bias, relu, pool, out=out) is out
    _close(out, want, math.prod(w.shape[:-1]))
    wrong = to_device(np.empty((want.shape[0] + 1, *want.shape[1:]), want.dtype))
    with pytest.raises(ValueError, match="conv_forward: out must be a C-contiguous"):
        cuda.conv_forward(x, w, window, groups, bias, relu, pool, out=wrong)


@settings(max_examples=6)
@given(problem=pooled_problems())
def test_backward_through_a_max_pool_matches_cpu(problem):
    """conv_backward given the gradient of the max-pooled output (`pool`, as the convolution's
    VJP passes max pooling's deferred gradient): the CPU makes the unpooled gradient a block
    at a time, CUDA with max_pool_backward first; both give the same dx, dw and db."""
    from nbkeras.kernels.cpu import pooling as cpu_pooling

    x, w, window, groups, bias, relu, pool = problem
    y = cpu.conv_forward(x, w, window, groups, bias, relu)
    pooled = cpu_pooling.max_pool_forward(y, pool)
    dy = np.random.default_rng(3).standard_normal(pooled.shape).astype(x.dtype)
    mask, through = (y if relu else None), (y, pooled, pool)
    for got, want in zip(cuda.conv_backward(dy, x, w, window, groups, mask, pool=through),
                         cpu.conv_backward(dy, x, w, window, groups, mask, pool=through)):
        _close(got, want, _terms(x, w, y))


def _case(x_shape, w_shape, padding, strides=None, dilation=None, dtype=np.float64):
    rank = len(x_shape) - 2
    rng = np.random.default_rng(1)
    window = Window(tuple(w_shape[:-2]), tuple(strides or (1,) * rank), tuple(padding),
                    tuple(dilation or (1,) * rank))
    return (rng.standard_normal(x_shape).astype(dtype),
            rng.standard_normal(w_shape).astype(dtype), window)


EDGES = {   # (x shape, w shape, padding, strides, dilation, groups)
    # TILE + 1 rows, channels and filters: every tile axis has a tail of one
    "tails": ((1, TILE + 1, TILE + 1), (1, TILE + 1, TILE + 1), ((0, 0),), None, None, 1),
    # the first and last outputs read only padding
    "padding-wider-than-kernel": ((1, 3, 2), (2, 2, 3), ((3, 4),), None, None, 1),
    "padding-2d-strided": ((2, 3, 4, 1), (2, 3, 1, 2), ((2, 3), (4, 1)), (2, 3), (1, 1), 1),
    "one-channel": ((2, 5, 4, 1), (3, 3, 1, 2), ((1, 1), (1, 1)), None, None, 1),
    "dilated-3d": ((1, 3, 4, 3, 2), (2, 2, 2, 1, 2), ((1, 0), (0, 1), (1, 1)), (1, 2, 1),
                   (2, 1, 2), 2),
    # more rows than one chunk of the kernel gradient: dw is summed from partials
    "kernel-gradient-chunks": ((2, 5 * TILE, 2), (3, 2, 3), ((1, 1),), None, None, 1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("edge", EDGES, ids=list(EDGES))
def test_edge_cases_match_cpu(edge, dtype):
    x_shape, w_shape, padding, strides, dilation, groups = EDGES[edge]
    x, w, window = _case(x_shape, w_shape, padding, strides, dilation, dtype)
    bias = np.linspace(-1.0, 1.0, w_shape[-1]).astype(dtype)
    _check(x, w, window, groups, bias, relu=True)


@pytest.mark.parametrize("relu", [False, True], ids=["linear", "relu"])
def test_bias_only_backward_matches_cpu(relu):
    """A frozen conv with a trainable bias asks for db alone."""
    x, w, window = _case((2, 3, 3, 2), (2, 2, 2, 3), ((0, 1), (1, 0)))
    y = cpu.conv_forward(x, w, window, relu=relu)
    dy = np.random.default_rng(2).standard_normal(y.shape)
    mask = y if relu else None
    dx, dw, db = cuda.conv_backward(dy, x, w, window, y=mask, input_gradient=False,
                                    kernel_gradient=False)
    assert dx is None and dw is None
    _close(db, cpu.conv_backward(dy, x, w, window, y=mask)[2], dy.size)


def test_kernels_are_adjoint():
    """<conv(x), dy> = <x, backward_input(dy)> = <w, backward_kernel(dy, x)> on the CUDA
    kernels alone (no bias, no relu: a linear map of x and of w)."""
    x, w, window = _case((2, 4, 3, 2), (2, 3, 1, 4), ((1, 2), (2, 0)), (2, 1), (1, 2))
    y = to_host(cuda.conv_forward(x, w, window, groups=2))
    dy = np.random.default_rng(3).standard_normal(y.shape)
    dx = to_host(cuda.conv_backward_input(dy, w, x.shape, window, groups=2))
    dw = to_host(cuda.conv_backward_kernel(dy, x, w.shape, window, groups=2))
    assert dx.shape == x.shape and dw.shape == w.shape
    inner = np.vdot(y, dy)
    np.testing.assert_allclose(np.vdot(x, dx), inner, rtol=1e-12)
    np.testing.assert_allclose(np.vdot(w, dw), inner, rtol=1e-12)
