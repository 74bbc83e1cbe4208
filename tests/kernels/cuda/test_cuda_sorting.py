"""The CUDA sorting kernels (kernels/cuda/sorting.py) compute what the CPU ones compute:
sort and top_k with ties (index order) and NaN (last when sorting, largest in top_k), rows
longer than a block, the scans (rows longer than a block: the carry between chunks) along
every axis, cumprod's VJP, scatter_columns, and searchsorted on both sides with ties and
NaN."""
import importlib
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbkeras.kernels.cuda.runtime import THREADS, to_device, to_host

cpu = importlib.import_module("nbkeras.kernels.cpu.sorting")
cuda = importlib.import_module("nbkeras.kernels.cuda.sorting")

DTYPES = [np.float32, np.float64, np.int32, np.int64]
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)
seeds = st.integers(0, 2**32 - 1)
few = settings(max_examples=8)


def _data(seed, shape, dtype, nan=False) -> np.ndarray:
    """Small integers (many ties) in `dtype`; some NaN for floats when `nan`."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, shape).astype(dtype)
    if nan and np.dtype(dtype).kind == "f":
        x[rng.random(shape) < 0.2] = np.nan
    return x


def _same(got, want) -> None:
    got, want = to_host(got), np.asarray(want)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    if want.dtype.kind == "f":
        tolerance = 1e-5 if want.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)
    else:
        np.testing.assert_array_equal(got, want)


def _both(name, *args):
    device_args = [to_device(a) if isinstance(a, np.ndarray) else a for a in args]
    got, want = getattr(cuda, name)(*device_args), getattr(cpu, name)(*args)
    for g, w in zip(got if isinstance(got, tuple) else (got,),
                    want if isinstance(want, tuple) else (want,)):
        _same(g, w)


def test_exports_the_cpu_functions_with_their_signatures():
    assert cuda.__all__ == cpu.__all__
    for name in cpu.__all__:
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(getattr(cpu, name))


@few
@given(shape=shapes, dtype=st.sampled_from(DTYPES), seed=seeds)
def test_sort_with_ties_and_nan(shape, dtype, seed):
    _both("sort", _data(seed, shape, dtype, nan=True))


@few
@given(shape=shapes, dtype=st.sampled_from(DTYPES), seed=seeds, data=st.data())
def test_top_k_with_ties_and_nan(shape, dtype, seed, data):
    k = data.draw(st.integers(0, shape[-1]))
    _both("top_k", _data(seed, shape, dtype, nan=True), k)


def test_sort_and_top_k_rows_longer_than_a_block():
    x = _data(1, (2, THREADS + 5), np.float64, nan=True)
    _both("sort", x)
    _both("top_k", x, 3)
    _both("top_k", x, THREADS + 1)          # the CPU's sort path (k > 32)
    _both("sort", np.array([[True, False, True, False]]))


@few
@given(shape=shapes, seed=seeds)
def test_scatter_columns(shape, seed):
    values, indices = cpu.sort(np.random.default_rng(seed).normal(size=shape))
    n = shape[-1]
    k = max(1, n // 2)
    _both("scatter_columns", values[..., :k].copy(), indices[..., :k].copy(), n)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@few
@given(shape=shapes, dtype=st.sampled_from(DTYPES), seed=seeds, data=st.data())
def test_scans_along_every_axis(name, shape, dtype, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    _both(name, _data(seed, shape, dtype), axis)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_scans_of_rows_longer_than_a_block(name):
    x = np.random.default_rng(2).uniform(0.9, 1.1, (3, 2 * THREADS + 7))
    _both(name, x, 1)
    _both(name, x.T.copy(), 0)
    _both(name, _data(3, (2 * THREADS + 3,), np.int64) % 2 + 1, 0)


@few
@given(shape=shapes, dtype=st.sampled_from([np.float32, np.float64]), seed=seeds,
       data=st.data())
def test_cumprod_backward_along_every_axis(shape, dtype, seed, data):
    """Small integers: many zeros, several along one line."""
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    dy = np.random.default_rng(seed + 1).normal(size=shape).astype(dtype)
    _both("cumprod_backward", dy, _data(seed, shape, dtype), axis)


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_ties_nan_and_dtypes(right):
    sequence = np.array([-1.0, 0.0, 0.0, 2.5, 3.0, np.nan, np.nan])
    values = np.array([[-2.0, 0.0, 3.0, np.nan], [2.5, 8.0, 1.0, -1.0]])
    _both("searchsorted", sequence, values, right)
    _both("searchsorted", sequence.astype(np.float32), values.astype(np.float32), right)
    _both("searchsorted", np.array([1, 2, 2, 5], np.int32), np.array([2, 0, 9, 5]), right)
    _both("searchsorted", np.array([1, 2, 2, 5]), np.array([1.5, 2.0]), right)
    _both("searchsorted", np.array([0.5]), np.zeros((0,)), right)
