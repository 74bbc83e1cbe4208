"""kernels/cuda/scatter.py against kernels/cpu/scatter.py: every reduction, float and int
dtypes, single cells and rows of several columns, repeated rows (in order: "set" keeps the
last), NaN under max/min, more groups than one block of threads."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.api import SCATTER_REDUCTIONS
from nbkeras.kernels.cpu import scatter as cpu
from nbkeras.kernels.cuda import scatter as cuda
from nbkeras.kernels.cuda.runtime import THREADS, to_device, to_host


def _same(target, cells, values, name):
    got = to_host(cuda.scatter_reduce(name, to_device(target), cells, to_device(values)))
    want = cpu.scatter_reduce(name, target, cells, values)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    np.testing.assert_array_equal(got, want)    # the same operations in the same order


@pytest.mark.parametrize("name", SCATTER_REDUCTIONS)
@settings(max_examples=8)
@given(size=st.integers(1, 9), count=st.integers(0, 12), seed=st.integers(0, 2**32 - 1),
       dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
def test_matches_the_cpu_kernel(name, size, count, seed, dtype):
    rng = np.random.default_rng(seed)
    target = rng.integers(-3, 4, (size,)).astype(dtype)
    values = rng.integers(-3, 4, (count,)).astype(dtype)
    cells = rng.integers(0, size, count)
    _same(target.reshape(size, 1) if size % 2 else target, cells, values, name)
    rows = rng.integers(-3, 4, (size, 3)).astype(dtype)                # rows of 3 columns
    _same(rows, cells, rng.integers(-3, 4, (count, 3)).astype(dtype), name)


@pytest.mark.parametrize("name", ["max", "min"])
def test_nan_wins_max_and_min(name):
    _same(np.array([1.0, 2.0]), np.array([0, 0, 1]), np.array([np.nan, 5.0, -5.0]), name)


def test_more_cells_than_one_block():
    cells = np.arange(THREADS * 2 + 3)[::-1].copy()
    values = np.arange(cells.size, dtype=np.float32)
    _same(np.zeros(cells.size, np.float32), cells, values, "set")
