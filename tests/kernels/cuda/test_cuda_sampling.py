"""The CUDA resampling kernels compute what the CPU ones compute: forward, the scattered dx and
the coordinate gradient, on Hypothesis-drawn tiny grids of 1-3 axes with coordinates reaching
past every edge, for both orders and every fill mode; and on fixed cases (a one-cell axis
under mirror and reflect, more points than the simulator's grid has threads)."""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.api import SAMPLING_FILL_MODES
from nbkeras.kernels.cpu import sampling as cpu
from nbkeras.kernels.cuda import sampling as cuda
from nbkeras.kernels.cuda.runtime import MAX_BLOCKS, THREADS, to_host

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _close(got, want) -> None:
    got = to_host(got)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    np.testing.assert_allclose(got, want, **TOLERANCE[want.dtype.type])


def _check(x, coordinates, order, mode) -> None:
    _close(cuda.sample_forward(x, coordinates, order, mode, 0.5),
           cpu.sample_forward(x, coordinates, order, mode, 0.5))
    dy = np.random.default_rng(1).standard_normal(
        (x.shape[0], coordinates.shape[1], x.shape[-1])).astype(x.dtype)
    got = cuda.sample_backward(dy, x, coordinates, order, mode, 0.5, True)
    want = cpu.sample_backward(dy, x, coordinates, order, mode, 0.5, True)
    _close(got[0], want[0])
    if order == 1:
        _close(got[1], want[1])
    assert cuda.sample_backward(dy, x, coordinates, order, mode, 0.5, False)[1] is None


def test_exports_the_cpu_functions_with_their_signatures():
    assert sorted(cuda.__all__) == sorted(cpu.__all__)
    for name in cpu.__all__:
        assert (inspect.signature(getattr(cuda, name))
                == inspect.signature(getattr(cpu, name))), name


@settings(max_examples=8)
@given(spatial=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       batch=st.integers(1, 2), channels=st.integers(1, 2), points=st.integers(1, 6),
       order=st.sampled_from([0, 1]), mode=st.sampled_from(SAMPLING_FILL_MODES),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1))
def test_matches_cpu(spatial, batch, channels, points, order, mode, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *spatial, channels)).astype(dtype)
    coordinates = rng.uniform(-3, 6, (batch, points, len(spatial))).astype(dtype)
    _check(x, coordinates, order, mode)


CASES = {   # (x shape, points)
    "one-cell-axis": ((1, 1, 3, 1), 5),
    "grid-loops": ((1, 2, 3, 1), THREADS * MAX_BLOCKS + 3),
}


@pytest.mark.parametrize("mode", ["mirror", "reflect", "constant"])
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_edge_cases(case, mode):
    shape, points = CASES[case]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    _check(x, rng.uniform(-3, 5, (shape[0], points, len(shape) - 2)), 1, mode)
