"""The CUDA bilinear resize and its backward compute what the CPU kernels compute, on
Hypothesis-drawn tiny images up- and downscaled along each axis independently and on fixed
sizes (one pixel, the same size, 3x up, 3x down, more cells than the simulator's grid has
threads); and the backward is the forward's adjoint."""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import resize as cpu
from nbkeras.kernels.cuda import resize as cuda
from nbkeras.kernels.cuda.runtime import MAX_BLOCKS, THREADS, to_host

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


def _close(got, want) -> None:
    got = to_host(got)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    np.testing.assert_allclose(got, want, **TOLERANCE[want.dtype.type])


def _check(x, size) -> None:
    _close(cuda.bilinear_resize_forward(x, size), cpu.bilinear_resize_forward(x, size))
    dy = np.random.default_rng(0).standard_normal((x.shape[0], *size, x.shape[-1]))
    dy = dy.astype(x.dtype)
    _close(cuda.bilinear_resize_backward(dy, x.shape), cpu.bilinear_resize_backward(dy, x.shape))


def test_exports_the_cpu_functions_with_their_signatures():
    assert sorted(cuda.__all__) == sorted(cpu.__all__)
    for name in cpu.__all__:
        assert (inspect.signature(getattr(cuda, name))
                == inspect.signature(getattr(cpu, name))), name


@settings(max_examples=8)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 5),
                       st.integers(1, 3)),
       size=st.tuples(st.integers(1, 7), st.integers(1, 7)),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1))
def test_matches_cpu(shape, size, dtype, seed):
    _check(np.random.default_rng(seed).standard_normal(shape).astype(dtype), size)


CASES = {   # (x shape, size)
    "one-pixel": ((1, 1, 1, 2), (3, 2)),
    "to-one-pixel": ((1, 3, 4, 1), (1, 1)),
    "same-size": ((2, 3, 4, 2), (3, 4)),
    "up-3x": ((1, 2, 3, 1), (6, 9)),
    "down-3x": ((1, 9, 6, 2), (3, 2)),
    "grid-loops": ((1, 1, THREADS * MAX_BLOCKS + 3, 1), (2, THREADS * MAX_BLOCKS + 5)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_fixed_sizes_match_cpu(case, dtype):
    shape, size = CASES[case]
    _check(np.random.default_rng(1).standard_normal(shape).astype(dtype), size)


def test_backward_is_the_adjoint():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 3, 2))
    dy = rng.standard_normal((2, 5, 2, 2))
    y = to_host(cuda.bilinear_resize_forward(x, (5, 2)))
    dx = to_host(cuda.bilinear_resize_backward(dy, x.shape))
    np.testing.assert_allclose(np.vdot(x, dx), np.vdot(y, dy), rtol=1e-12)
