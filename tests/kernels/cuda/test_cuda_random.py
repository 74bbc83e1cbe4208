"""The counter-based draws: the CUDA kernels give the CPU's numbers (dropout masks, integers,
permutations and class draws bit for bit; floats to rounding, since the devices' log, exp
and cos may differ in the last bits), with parameters given as one value or one per element.
The distributions themselves are tested in tests/test_random.py."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels import cpu
from nbkeras.kernels.cuda import random as cuda_random
from nbkeras.kernels.cuda.runtime import to_device, to_host

RTOL = {"float32": 2e-6, "float64": 1e-14}
SHAPE = (5, 13)
_rng = np.random.default_rng(0)
ALPHA = _rng.uniform(0.05, 8.0, SHAPE)          # below and above 1 (gamma's boost)
BETA = _rng.uniform(0.05, 8.0, SHAPE)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha", [ALPHA, 0.4], ids=["array", "scalar"])
def test_gamma_grad_equals_the_cpu_one(alpha, dtype):
    """Both sides of the series / continued fraction switch (x <= max(alpha, 1) or above),
    x = 0, and alphas below and above 1."""
    x = cpu.random_gamma(SHAPE, alpha, 11, 3, dtype)
    x[0, :3] = 0.0, 30.0, 1e-30
    expected = cpu.random_gamma_grad(alpha, x)
    got = to_host(cuda_random.random_gamma_grad(alpha, to_device(x)))
    assert got.dtype == dtype and got.shape == SHAPE
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


@settings(max_examples=8)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple),
       rate=st.floats(0.0, 0.9), seed=st.integers(0, 2**64 - 1), counter=st.integers(0, 99),
       dtype=st.sampled_from(["float32", "float64"]))
def test_dropout_mask_is_the_cpu_mask_bit_for_bit(shape, rate, seed, counter, dtype):
    expected = cpu.dropout_mask(shape, rate, seed, counter, dtype)
    got = to_host(cuda_random.dropout_mask(shape, rate, seed, counter, dtype))
    assert got.dtype == dtype and got.shape == shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, parameters", [
    ("random_uniform", ()), ("random_normal", ()), ("random_truncated_normal", ()),
    ("random_gamma", (ALPHA,)), ("random_gamma", (0.4,)),
    ("random_beta", (ALPHA, BETA)), ("random_beta", (2.5, BETA)),
], ids=["uniform", "normal", "truncated_normal", "gamma", "gamma-scalar", "beta",
        "beta-scalar"])
def test_float_draws_equal_the_cpu_draws(name, parameters, dtype):
    draw = {"random_uniform": (cpu.random_uniform, cuda_random.random_uniform),
            "random_normal": (cpu.random_normal, cuda_random.random_normal),
            "random_truncated_normal": (cpu.random_truncated_normal,
                                        cuda_random.random_truncated_normal),
            "random_gamma": (cpu.random_gamma, cuda_random.random_gamma),
            "random_beta": (cpu.random_beta, cuda_random.random_beta)}[name]
    expected = draw[0](SHAPE, *parameters, 11, 3, dtype)
    got = to_host(draw[1](SHAPE, *parameters, 11, 3, dtype))
    assert got.dtype == dtype and got.shape == SHAPE
    np.testing.assert_allclose(got, expected, rtol=RTOL[dtype], atol=RTOL[dtype])


def test_parameters_may_already_live_on_the_device():
    expected = cpu.random_gamma(SHAPE, ALPHA, 4, 1, "float64")
    got = cuda_random.random_gamma(SHAPE, to_device(ALPHA.astype(np.float32)), 4, 1, "float64")
    np.testing.assert_allclose(to_host(got), cpu.random_gamma(
        SHAPE, ALPHA.astype(np.float32), 4, 1, "float64"), rtol=1e-14)
    assert not np.allclose(expected, 0)


def test_binomial_equals_the_cpu_draw():
    counts = np.tile([0, 1, 5, 20, 60, 400, 1e6, 3, 25, 1000], (4, 1))   # inversion, BTRS
    probabilities = np.tile([0.3, 0.9, 0.5, 0.5, 0.2, 0.93, 0.4, 1.0, 0.0, 0.003], (4, 1))
    for seed in range(3):
        expected = cpu.random_binomial((4, 10), counts, probabilities, seed, 2)
        got = to_host(cuda_random.random_binomial((4, 10), counts, probabilities, seed, 2))
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, expected)


def test_integers_equal_the_cpu_draw_bit_for_bit():
    low = np.tile(np.arange(-6, 6), (3, 1))
    high = np.tile([0, 1, 2, 3, 4, 5, -9, 7, 8, 9, 2**40, 11], (3, 1))
    expected = cpu.random_integers((3, 12), low, high, 8, 1)
    got = to_host(cuda_random.random_integers((3, 12), low, high, 8, 1))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(to_host(cuda_random.random_integers((7,), -3, 4, 1, 0)),
                                  cpu.random_integers((7,), -3, 4, 1, 0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_categorical_equals_the_cpu_draw(dtype):
    logits = np.random.default_rng(1).normal(size=(3, 6)).astype(dtype)
    logits[1, 2] = -np.inf
    expected = cpu.random_categorical(logits, 9, 5, 7)
    got = to_host(cuda_random.random_categorical(to_device(logits), 9, 5, 7))
    assert got.dtype == np.int64 and got.shape == (3, 9)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("shape, axis", [((9,), 0), ((3, 4, 2), 1), ((2, 5), 0), ((2, 5), 1)])
def test_permutation_equals_the_cpu_draw(shape, axis):
    expected = cpu.random_permutation(shape, axis, 6, 2)
    got = to_host(cuda_random.random_permutation(shape, axis, 6, 2))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.sort(got, axis=axis),
                                  np.broadcast_to(np.arange(shape[axis]).reshape(
                                      [-1 if a == axis else 1 for a in range(len(shape))]),
                                      shape))


def test_a_parameter_of_another_size_is_refused():
    with pytest.raises(ValueError, match="holds 3 values for 4 draws"):
        cuda_random.random_gamma((4,), np.ones(3), 1, 0, "float32")


def test_empty_draws():
    assert to_host(cuda_random.dropout_mask((0, 3), 0.5, 1, 0, "float32")).shape == (0, 3)
    assert to_host(cuda_random.random_gamma((0, 3), 1.0, 1, 0, "float32")).shape == (0, 3)
    assert to_host(cuda_random.random_binomial((2, 0), 3, 0.5, 1, 0)).shape == (2, 0)
    assert to_host(cuda_random.random_integers((0,), 0, 3, 1, 0)).shape == (0,)
    assert to_host(cuda_random.random_categorical(np.zeros((2, 3)), 0, 1, 0)).shape == (2, 0)
    assert to_host(cuda_random.random_permutation((3, 0), 0, 1, 0)).shape == (3, 0)
