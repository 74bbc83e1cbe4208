"""The CUDA pooling kernels compute what the CPU ones compute: max, average and sum pooling
and the max and average backwards, on Hypothesis-drawn tiny problems of rank 1 to 3 with
strides and asymmetric explicit padding (narrower than the window), on values with ties
(max pooling's gradient goes to the first maximal cell of each window), and on fixed cases:
Keras's "same" padding (average over the real cells only), overlapping windows, one
channel, and more cells than the simulator's grid has threads (the grid loops)."""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import pooling as cpu
from nbkeras.kernels.cuda import pooling as cuda
from nbkeras.kernels.cuda.runtime import MAX_BLOCKS, THREADS, to_host
from nbkeras.kernels.geometry import Window, window

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


@st.composite
def problems(draw):
    """(x, window) of a tiny pooling: per axis a size, stride, (before, after) padding below
    the size and an input length with at least one output; values with many ties (small
    integers) or without."""
    rank = draw(st.integers(1, 3), label="rank")
    sizes, strides, padding, spatial = [], [], [], []
    for _ in range(rank):
        k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        pad = (draw(st.integers(0, k - 1)), draw(st.integers(0, k - 1)))
        out = draw(st.integers(1, (5, 3, 2)[rank - 1]))
        sizes.append(k), strides.append(s), padding.append(pad)
        spatial.append(max(1, (out - 1) * s + k - sum(pad) + draw(st.integers(0, s - 1))))
    shape = (draw(st.integers(1, 2)), *spatial, draw(st.integers(1, 3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    ties = draw(st.booleans(), label="ties")
    x = rng.integers(0, 3, shape) if ties else rng.standard_normal(shape)
    return (x.astype(draw(st.sampled_from(DTYPES))),
            Window(tuple(sizes), tuple(strides), tuple(padding), (1,) * rank))


def _close(got, want) -> None:
    got = to_host(got)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    np.testing.assert_allclose(got, want, **TOLERANCE[want.dtype.type])


def _check(x, pool) -> None:
    """Every pooling kernel of x over `pool` against the CPU's (max pooling's backward
    given the CPU's y, and an equal dy to both)."""
    for name in ("max_pool_forward", "average_pool_forward", "sum_pool_forward"):
        _close(getattr(cuda, name)(x, pool), getattr(cpu, name)(x, pool))
    y = cpu.max_pool_forward(x, pool)
    dy = np.random.default_rng(0).standard_normal(y.shape).astype(x.dtype)
    _close(cuda.max_pool_backward(dy, x, y, pool), cpu.max_pool_backward(dy, x, y, pool))
    _close(cuda.average_pool_backward(dy, x.shape, pool),
           cpu.average_pool_backward(dy, x.shape, pool))


def test_exports_the_cpu_functions_with_their_signatures():
    assert sorted(cuda.__all__) == sorted(cpu.__all__)
    for name in cpu.__all__:
        assert (inspect.signature(getattr(cuda, name))
                == inspect.signature(getattr(cpu, name))), name


@settings(max_examples=8)
@given(problem=problems())
def test_matches_cpu(problem):
    _check(*problem)


def _same(shape, size, strides):
    return window("same", shape[1:-1], size, strides)


CASES = {   # (x shape, window)
    "same-2d": ((2, 5, 4, 3), lambda s: _same(s, (3, 2), (2, 2))),
    "same-3d-stride-1": ((1, 3, 2, 3, 2), lambda s: _same(s, (2, 3, 2), (1, 1, 1))),
    "overlapping-1d": ((2, 7, 2), lambda s: Window((3,), (1,), ((0, 0),), (1,))),
    "one-channel": ((1, 4, 5, 1), lambda s: Window((2, 2), (2, 2), ((1, 0), (0, 1)), (1, 1))),
    "grid-loops": ((1, 2 * THREADS * MAX_BLOCKS + 3, 1),
                   lambda s: Window((2,), (1,), ((0, 1),), (1,))),
}


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_fixed_cases_match_cpu(case, dtype, ties):
    shape, make_window = CASES[case]
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, shape) if ties else rng.standard_normal(shape)
    _check(x.astype(dtype), make_window(shape))


@settings(max_examples=8)
@given(problem=problems(), data=st.data())
def test_a_nan_in_a_window_makes_its_maximum_nan_as_on_the_cpu(problem, data):
    x, pool = problem
    x = x.astype(np.float64)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x[rng.random(x.shape) < 0.3] = np.nan
    _check(x, pool)


def test_max_gradient_goes_to_the_first_maximal_cell():
    """All cells equal: each window's gradient lands on its first cell."""
    x = np.ones((1, 4, 1))
    pool = Window((2,), (2,), ((0, 0),), (1,))
    dx = cuda.max_pool_backward(np.array([[[2.0], [3.0]]]), x, np.ones((1, 2, 1)), pool)
    np.testing.assert_array_equal(to_host(dx)[0, :, 0], [2.0, 0.0, 3.0, 0.0])
