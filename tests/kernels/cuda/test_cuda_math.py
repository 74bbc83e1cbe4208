"""The CUDA math kernels (kernels/cuda/math.py) compute what the CPU ones compute (numpy's and
scipy.special's values and dtypes), for every name of kernels/api.py's UNARY_MATH, PREDICATES
and BINARY_MATH, on Hypothesis-drawn small arrays (ranks 0-4, broadcasting, float32/float64,
int32/int64, bools, Python numbers as operands) and on fixed edge cases: zeros of both signs,
infinities, NaN, subnormals, ties of rounding, division by zero, out-of-range shifts.

The simulator runs Python's math, which raises where a GPU returns NaN or inf: inputs stay
inside each function's domain there (the kernels' own guards cover what remains)."""
import importlib
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbkeras.kernels import api
from nbkeras.kernels.cuda.runtime import to_device, to_host

cpu = importlib.import_module("nbkeras.kernels.cpu.math")
cuda = importlib.import_module("nbkeras.kernels.cuda.math")

TOLERANCE = {np.dtype(np.float32): dict(rtol=2e-6, atol=1e-6),
             np.dtype(np.float64): dict(rtol=1e-12, atol=1e-13)}
FLOATS = [np.float32, np.float64]
INTS = [np.int32, np.int64]
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=5)
pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1,
                                          max_side=4)
seeds = st.integers(0, 2**32 - 1)
few = settings(max_examples=8)


def _data(seed, shape, dtype, low, high) -> np.ndarray:
    """Random values of `dtype` in [low, high] (ints: the integers there; bools: coin flips)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.kind == "i":
        return np.asarray(rng.integers(low, high + 1, shape), dtype)
    return np.asarray(rng.uniform(low, high, shape), dtype)


def _same(got, want, tolerance=None) -> None:
    """A device result equals the CPU's: shape, dtype and values (floats to the dtype's
    tolerance, NaN where the CPU has NaN; others exactly)."""
    got, want = to_host(got), np.asarray(want)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, **(tolerance or TOLERANCE[want.dtype]))
    else:
        np.testing.assert_array_equal(got, want)


def _both(name, function, *args, tolerance=None):
    """cuda.<function>(name, *args) (arrays moved to the device) against the CPU's."""
    device_args = [to_device(a) if isinstance(a, np.ndarray) else a for a in args]
    with np.errstate(all="ignore"):        # numpy warns on division by zero; the values count
        want = getattr(cpu, function)(name, *args)
    _same(getattr(cuda, function)(name, *device_args), want, tolerance)


def test_exports_the_cpu_functions_with_their_signatures():
    assert cuda.__all__ == cpu.__all__
    for name in cpu.__all__:
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(getattr(cpu, name))


# ---------------------------------------------------------------------------- unary

UNARY_DOMAIN = {"arcsin": (-0.95, 0.95), "arccos": (-0.95, 0.95), "arctanh": (-0.95, 0.95),
                "erfinv": (-0.99, 0.99), "arccosh": (1.05, 4.0), "log1p": (-0.9, 4.0),
                "log2": (0.05, 4.0), "log10": (0.05, 4.0), "rsqrt": (0.05, 4.0),
                "tan": (-1.5, 1.5), "sin": (-40.0, 40.0), "cos": (-40.0, 40.0),
                "sinc": (-6.0, 6.0), "i0": (-12.0, 12.0), "i1": (-12.0, 12.0)}


@pytest.mark.parametrize("name", api.UNARY_MATH)
@few
@given(shape=shapes, dtype=st.sampled_from(FLOATS), seed=seeds)
def test_unary_math(name, shape, dtype, seed):
    x = _data(seed, shape, dtype, *UNARY_DOMAIN.get(name, (-4.0, 4.0)))
    if name == "reciprocal":
        x = np.where(np.abs(x) < 0.05, 0.5, x).astype(dtype)
    _both(name, "unary_math", x)


@pytest.mark.parametrize("dtype", FLOATS)
def test_rounding_edges(dtype):
    """Ties go to even, -0 and the sign of small negatives are kept, inf, NaN and integers
    beyond 2**mantissa pass through."""
    big = 2.0 ** np.finfo(dtype).nmant
    x = np.array([-2.5, -1.5, -0.5, -0.3, -0.0, 0.0, 0.3, 0.5, 1.5, 2.5, 3.7, -3.7, big - 0.5,
                  big + 1, -big - 2, np.inf, -np.inf, np.nan, 1e30], dtype)
    for name in ("floor", "ceil", "rint", "trunc"):
        got = to_host(cuda.unary_math(name, to_device(x)))
        np.testing.assert_array_equal(got, cpu.unary_math(name, x))
        np.testing.assert_array_equal(np.signbit(got), np.signbit(cpu.unary_math(name, x)))


@pytest.mark.parametrize("dtype", FLOATS)
def test_special_values_of_the_series_functions(dtype):
    """sin, cos, tan, sinc of inf and NaN are NaN, sinc(0) = 1, cbrt of exact cubes and
    zeros, i0 / i1 at 0 and where they overflow, erfinv at and beyond +-1."""
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 27.0, -8.0, 1e-30], dtype)
    for name in ("sin", "cos", "tan", "sinc", "cbrt"):
        _both(name, "unary_math", x)
    _both("i0", "unary_math", np.array([0.0, -0.0, 1e-3, 200.0, 800.0, np.inf], dtype),
          tolerance=dict(rtol=1e-5 if dtype == np.float32 else 1e-11))
    _both("i1", "unary_math", np.array([0.0, -1e-3, -200.0, 800.0, -np.inf], dtype),
          tolerance=dict(rtol=1e-5 if dtype == np.float32 else 1e-11))
    _both("erfinv", "unary_math", np.array([-1.0, 1.0, 0.0, -0.0, 1.5, -2.0, np.nan], dtype))


def test_trig_keeps_accuracy_for_large_float64_arguments():
    x = np.array([1e3, -12345.678, 1e6 + 0.5, 2.0 ** 28, 355.0, 1e8 / 3])
    for name in ("sin", "cos"):
        _both(name, "unary_math", x)


# ---------------------------------------------------------------------------- predicates

def _with_specials(x, seed) -> np.ndarray:
    """x with some cells set to 0, -0, +-inf or NaN (floats only)."""
    if x.dtype.kind != "f":
        return x
    rng = np.random.default_rng(seed)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], x.dtype)
    pick = rng.random(x.shape) < 0.4
    return np.where(pick, specials[rng.integers(0, 5, x.shape)], x).astype(x.dtype)


@pytest.mark.parametrize("name", api.PREDICATES)
@few
@given(shape=shapes, dtype=st.sampled_from(FLOATS + INTS + [np.bool_]), seed=seeds)
def test_predicate(name, shape, dtype, seed):
    _both(name, "predicate", _with_specials(_data(seed, shape, dtype, -3, 3), seed + 1))


# ---------------------------------------------------------------------------- binary

def _float_operands(name, case, dtype, seed):
    a = _data(seed, case.input_shapes[0], dtype, -3.0, 3.0)
    b = _data(seed + 1, case.input_shapes[1], dtype, -3.0, 3.0)
    if name == "ldexp":
        b = np.round(b * 4).astype(dtype)             # integers in a's dtype
    if name in ("heaviside", "nextafter", "mod", "fmod", "floor_divide", "fmax", "fmin"):
        a = _with_specials(a, seed + 2) if name in ("fmax", "fmin") else a
        rng = np.random.default_rng(seed + 3)
        a = np.where(rng.random(a.shape) < 0.3, 0.0, a).astype(dtype)   # zeros, ties
        b = np.where(rng.random(b.shape) < 0.3, 1.0, b).astype(dtype)
    return a, b


@pytest.mark.parametrize("name", [n for n in api.BINARY_MATH if n not in api.INTEGER_BINARY_MATH])
@few
@given(case=pairs, dtype=st.sampled_from(FLOATS), seed=seeds)
def test_float_binary_math_broadcasts(name, case, dtype, seed):
    _both(name, "binary_math", *_float_operands(name, case, dtype, seed))


INTEGER_DOMAIN = {"left_shift": (0, 20), "right_shift": (0, 20), "gcd": (-12, 12),
                  "lcm": (-12, 12)}


@pytest.mark.parametrize("name", [n for n in api.BINARY_MATH if n not in api.FLOAT_BINARY_MATH])
@few
@given(case=pairs, dtype=st.sampled_from(INTS), seed=seeds)
def test_integer_binary_math_broadcasts(name, case, dtype, seed):
    """Divisors include 0 (numpy's result: 0)."""
    a = _data(seed, case.input_shapes[0], dtype, -50, 50)
    b = _data(seed + 1, case.input_shapes[1], dtype, *INTEGER_DOMAIN.get(name, (-6, 6)))
    _both(name, "binary_math", a, b)


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor", "fmax", "fmin"])
def test_bools(name):
    a, b = np.array([[True], [False]]), np.array([True, False, True])
    _both(name, "binary_math", a, b)


@pytest.mark.parametrize("dtype", INTS)
def test_shifts_out_of_range_follow_numpy(dtype):
    bits = 8 * np.dtype(dtype).itemsize
    a = np.array([1, -8, 5, -1, 3, -7], dtype)
    b = np.array([bits - 1, 1, bits, bits + 3, -1, -2], dtype)
    _both("left_shift", "binary_math", a, b)
    _both("right_shift", "binary_math", a, b)


@pytest.mark.parametrize("dtype", FLOATS)
def test_float_edges(dtype):
    """Division by zero, infinities, NaN, subnormals and powers of two."""
    info = np.finfo(dtype)
    tiny = info.smallest_subnormal
    a = np.array([1.0, -1.0, 0.0, 5.0, -5.0, 1.0, 1.0, 0.0, tiny, -tiny, info.max, 4.0, np.nan,
                  np.inf, 2.5, -0.0], dtype)
    b = np.array([0.0, 0.0, 0.0, -3.0, 3.0, 2.0, 0.5, -1.0, 1.0, -1.0, np.inf, 0.0, 1.0,
                  np.inf, 2.5, 0.0], dtype)
    for name in ("nextafter", "heaviside", "fmax", "fmin", "logaddexp", "logaddexp2",
                 "arctan2", "hypot"):
        _both(name, "binary_math", a, b)
    finite = np.isfinite(a)                 # the simulator's math.fmod raises on inf
    for name in ("mod", "fmod", "floor_divide"):
        _both(name, "binary_math", a[finite], b[finite])
    _both("nextafter", "binary_math", b, a)


@pytest.mark.parametrize("name", ["arctan2", "mod", "fmax", "bitwise_xor", "left_shift"])
@pytest.mark.parametrize("first", [True, False])
def test_python_number_operands(name, first):
    """A Python number takes the array's dtype (numpy's weak scalars)."""
    x = (np.arange(1, 7, dtype=np.int32) if name in api.INTEGER_BINARY_MATH
         else np.linspace(0.5, 3.0, 6, dtype=np.float32))
    number = 2 if name in api.INTEGER_BINARY_MATH else 1.5
    _both(name, "binary_math", *((number, x) if first else (x, number)))
