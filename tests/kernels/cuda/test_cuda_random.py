"""The counter-based draws: the CUDA kernels give the CPU's numbers (dropout masks bit for
bit, normals to float rounding), and the draws look like their distributions."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels import cpu
from nbkeras.kernels.cuda import random as cuda_random
from nbkeras.kernels.cuda.runtime import to_host


@settings(max_examples=8)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple),
       rate=st.floats(0.0, 0.9), seed=st.integers(0, 2**64 - 1), counter=st.integers(0, 99),
       dtype=st.sampled_from(["float32", "float64"]))
def test_dropout_mask_is_the_cpu_mask_bit_for_bit(shape, rate, seed, counter, dtype):
    expected = cpu.dropout_mask(shape, rate, seed, counter, dtype)
    got = to_host(cuda_random.dropout_mask(shape, rate, seed, counter, dtype))
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-6), ("float64", 1e-14)])
def test_random_normal_equals_the_cpu_draw(dtype, rtol):
    expected = cpu.random_normal((5, 13), 11, 3, dtype)
    got = to_host(cuda_random.random_normal((5, 13), 11, 3, dtype))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol)


def test_empty_draws():
    assert to_host(cuda_random.dropout_mask((0, 3), 0.5, 1, 0, "float32")).shape == (0, 3)
