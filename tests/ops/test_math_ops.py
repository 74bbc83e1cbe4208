"""nbkeras/ops/math.py: the elementwise math of keras.ops.

Forwards against plain Python float64 references (the math module applied element by element,
or a few lines of loops), output dtypes against the table Keras 3.15 gives (JAX backend,
x64 on), symbolic shapes on KerasTensors equal to the eager ones, and gradients against
central differences (check_grads) with inputs kept inside each domain and off kinks and
discontinuities, on every device of the `device` fixture (tests/conftest.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import strategies as nst

import reference  # tests/reference.py (tests/ is on sys.path: pyproject.toml)
from op_checks import assert_matches, check_op_grads, tape_gradient, tensor, tie_free_pair


# ------------------------------------------------------------------------ Keras's dtypes

DTYPES = ("bool", "int32", "int64", "float32", "float64")
SHORT = {"b": "bool", "i32": "int32", "i64": "int64", "f32": "float32", "f64": "float64",
         "E": TypeError}

# Generated once from Keras 3.15.1 (KERAS_BACKEND=jax, jax_enable_x64 on, and Keras's
# BIT64_TO_BIT32_DTYPE map emptied so 64-bit dtypes stay 64-bit): the dtype of
# keras.ops.<name>(np.ones(3, dtype)) for the dtypes of DTYPES ("E": Keras raises TypeError).
# Binary rows are x1's dtype, columns x2's.
UNARY_DTYPES = {
    "sin": "f32 f32 f32 f32 f64",
    "cos": "f32 f32 f32 f32 f64",
    "tan": "f32 f32 f32 f32 f64",
    "arcsin": "f32 f32 f32 f32 f64",
    "arccos": "f32 f32 f32 f32 f64",
    "arctan": "f32 f32 f32 f32 f64",
    "sinh": "f32 f32 f32 f32 f64",
    "cosh": "f32 f32 f32 f32 f64",
    "arcsinh": "f32 f32 f32 f32 f64",
    "arccosh": "f32 f32 f32 f32 f64",
    "arctanh": "f32 f32 f32 f32 f64",
    "exp2": "f32 f32 f32 f32 f64",
    "expm1": "f32 f32 f32 f32 f64",
    "log1p": "f32 f32 f32 f32 f64",
    "log2": "f32 f32 f32 f32 f64",
    "log10": "f32 f32 f32 f32 f64",
    "cbrt": "f32 f32 f64 f32 f64",
    "rsqrt": "E E E f32 f64",
    "reciprocal": "f32 f32 f64 f32 f64",
    "sign": "E i32 i64 f32 f64",
    "floor": "f32 f32 f32 f32 f64",
    "ceil": "f32 f32 f32 f32 f64",
    "round": "E i32 i64 f32 f64",
    "trunc": "b i32 i64 f32 f64",
    "fabs": "f32 f32 f64 f32 f64",
    "sinc": "f32 f32 f32 f32 f64",
    "i0": "f32 f32 f64 f32 f64",
    "deg2rad": "f32 f32 f64 f32 f64",
    "rad2deg": "f32 f32 f64 f32 f64",
    "erf": "E E E f32 f64",
    "erfc": "f32 f32 f64 f32 f64",
    "erfinv": "f32 f32 f64 f32 f64",
    "nan_to_num": "b i32 i64 f32 f64",
    "isfinite": "b b b b b",
    "isinf": "b b b b b",
    "isnan": "b b b b b",
    "isneginf": "b b b b b",
    "isposinf": "b b b b b",
    "signbit": "b b b b b",
    "isreal": "b b b b b",
    "logical_not": "b b b b b",
    "bitwise_not": "b i32 i64 E E",
    "bitwise_invert": "b i32 i64 E E",
    "conj": "b i32 i64 f32 f64",
    "conjugate": "b i32 i64 f32 f64",
    "real": "b i32 i64 f32 f64",
    "imag": "b i32 i64 f32 f64",
    "angle": "f32 f32 f32 f32 f64",
}
BINARY_DTYPES = {
    "isclose": ("b b b b b",
                "b b b b b",
                "b b b b b",
                "b b b b b",
                "b b b b b"),
    "allclose": ("b b b b b",
                 "b b b b b",
                 "b b b b b",
                 "b b b b b",
                 "b b b b b"),
    "logical_and": ("b b b b b",
                    "b b b b b",
                    "b b b b b",
                    "b b b b b",
                    "b b b b b"),
    "logical_or": ("b b b b b",
                   "b b b b b",
                   "b b b b b",
                   "b b b b b",
                   "b b b b b"),
    "logical_xor": ("b b b b b",
                    "b b b b b",
                    "b b b b b",
                    "b b b b b",
                    "b b b b b"),
    "bitwise_and": ("b i32 i64 E E",
                    "i32 i32 i64 E E",
                    "i64 i64 i64 E E",
                    "E E E E E",
                    "E E E E E"),
    "bitwise_or": ("b i32 i64 E E",
                   "i32 i32 i64 E E",
                   "i64 i64 i64 E E",
                   "E E E E E",
                   "E E E E E"),
    "bitwise_xor": ("b i32 i64 E E",
                    "i32 i32 i64 E E",
                    "i64 i64 i64 E E",
                    "E E E E E",
                    "E E E E E"),
    "bitwise_left_shift": ("i32 i32 i64 E E",
                           "i32 i32 i64 E E",
                           "i64 i64 i64 E E",
                           "E E E E E",
                           "E E E E E"),
    "bitwise_right_shift": ("i32 i32 i64 E E",
                            "i32 i32 i64 E E",
                            "i64 i64 i64 E E",
                            "E E E E E",
                            "E E E E E"),
    "left_shift": ("i32 i32 i64 E E",
                   "i32 i32 i64 E E",
                   "i64 i64 i64 E E",
                   "E E E E E",
                   "E E E E E"),
    "right_shift": ("i32 i32 i64 E E",
                    "i32 i32 i64 E E",
                    "i64 i64 i64 E E",
                    "E E E E E",
                    "E E E E E"),
    "arctan2": ("f32 f32 f32 f32 f64",
                "f32 f32 f32 f32 f64",
                "f32 f32 f32 f32 f64",
                "f32 f32 f32 f32 f64",
                "f64 f64 f64 f64 f64"),
    "hypot": ("f32 f32 f64 f32 f64",
              "f32 f32 f64 f32 f64",
              "f64 f64 f64 f32 f64",
              "f32 f32 f32 f32 f64",
              "f64 f64 f64 f64 f64"),
    "logaddexp": ("f32 f32 f32 f32 f64",
                  "f32 f32 f32 f32 f64",
                  "f32 f32 f32 f32 f64",
                  "f32 f32 f32 f32 f64",
                  "f64 f64 f64 f64 f64"),
    "logaddexp2": ("f32 f32 f32 f32 f64",
                   "f32 f32 f32 f32 f64",
                   "f32 f32 f32 f32 f64",
                   "f32 f32 f32 f32 f64",
                   "f64 f64 f64 f64 f64"),
    "mod": ("i32 i32 i64 f32 f64",
            "i32 i32 i64 f32 f64",
            "i64 i64 i64 f32 f64",
            "f32 f32 f32 f32 f64",
            "f64 f64 f64 f64 f64"),
    "fmod": ("i32 i32 i64 f32 f64",
             "i32 i32 i64 f32 f64",
             "i64 i64 i64 f32 f64",
             "f32 f32 f32 f32 f64",
             "f64 f64 f64 f64 f64"),
    "floor_divide": ("i32 i32 i64 f32 f64",
                     "i32 i32 i64 f32 f64",
                     "i64 i64 i64 f32 f64",
                     "f32 f32 f32 f32 f64",
                     "f64 f64 f64 f64 f64"),
    "fmax": ("b i32 i64 f32 f64",
             "i32 i32 i64 f32 f64",
             "i64 i64 i64 f32 f64",
             "f32 f32 f32 f32 f64",
             "f64 f64 f64 f64 f64"),
    "fmin": ("b i32 i64 f32 f64",
             "i32 i32 i64 f32 f64",
             "i64 i64 i64 f32 f64",
             "f32 f32 f32 f32 f64",
             "f64 f64 f64 f64 f64"),
    "heaviside": ("f32 f32 f64 f32 f64",
                  "f32 f32 f64 f32 f64",
                  "f64 f64 f64 f32 f64",
                  "f32 f32 f32 f32 f64",
                  "f64 f64 f64 f64 f64"),
    "nextafter": ("f32 f32 f64 f32 f64",
                  "f32 f32 f64 f32 f64",
                  "f64 f64 f64 f32 f64",
                  "f32 f32 f32 f32 f64",
                  "f64 f64 f64 f64 f64"),
    "gcd": ("E i32 i64 E E",
            "i32 i32 i64 E E",
            "i64 i64 i64 E E",
            "E E E E E",
            "E E E E E"),
    "lcm": ("E i32 i64 E E",
            "i32 i32 i64 E E",
            "i64 i64 i64 E E",
            "E E E E E",
            "E E E E E"),
    "ldexp": ("E f32 f32 E E",
              "E f32 f32 E E",
              "E f64 f64 E E",
              "E f32 f32 E E",
              "E f64 f64 E E"),
}

# Where nbkeras departs from Keras on JAX: rsqrt and erf of integers raise in JAX; nbkeras
# promotes them to floatx like the other float functions.
UNARY_DTYPES.update({"rsqrt": "f32 f32 f32 f32 f64", "erf": "f32 f32 f32 f32 f64"})


def _call(name, *arrays):
    return getattr(ops, name)(*arrays)


@pytest.mark.parametrize("name", sorted(UNARY_DTYPES))
def test_unary_dtypes_follow_keras(device, name):
    for dtype, want in zip(DTYPES, UNARY_DTYPES[name].split()):
        want = SHORT[want]
        x = np.full(3, 0 if name == "arctanh" else 1, dtype)   # inside every domain
        if want is TypeError:
            with pytest.raises(TypeError, match=name):
                _call(name, x)
            with pytest.raises(TypeError, match=name):
                _call(name, nk.KerasTensor((None, 3), dtype))
            continue
        assert _call(name, x).dtype == want, (name, dtype)
        symbolic = _call(name, nk.KerasTensor((None, 3), dtype))
        assert (symbolic.shape, symbolic.dtype) == ((None, 3), want), (name, dtype)


@pytest.mark.parametrize("name", sorted(BINARY_DTYPES))
def test_binary_dtypes_follow_keras(device, name):
    for first, row in zip(DTYPES, BINARY_DTYPES[name]):
        for second, want in zip(DTYPES, row.split()):
            want = SHORT[want]
            a, b = np.ones((2, 1), first), np.ones(3, second)
            if want is TypeError:
                with pytest.raises(TypeError, match=name):
                    _call(name, a, b)
                continue
            y = _call(name, a, b)
            shape = () if name == "allclose" else (2, 3)
            assert (y.shape, y.dtype) == (shape, want), (name, first, second)
            symbolic = _call(name, nk.KerasTensor((None, 1), first),
                             nk.KerasTensor((3,), second))
            assert symbolic.dtype == want, (name, first, second)
            assert symbolic.shape == (() if name == "allclose" else (None, 3))


def test_every_name_is_exported_with_keras_signature():
    import inspect
    for name in ops.math.__all__:
        assert getattr(ops, name) is getattr(ops.math, name)
    assert str(inspect.signature(ops.round)) == "(x, decimals=0)"
    assert str(inspect.signature(ops.nan_to_num)) == "(x, nan=0.0, posinf=None, neginf=None)"
    assert (str(inspect.signature(ops.isclose))
            == "(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False)")
    assert str(inspect.signature(ops.bitwise_left_shift)) == "(x, y)"
    assert str(inspect.signature(ops.arctan2)) == "(x1, x2)"
    assert str(inspect.signature(ops.saturate_cast)) == "(x, dtype)"
    assert str(inspect.signature(ops.sin)) == "(x)"


# ------------------------------------------------------------------------ unary forward

def _cbrt(v):
    return math.copysign(abs(v) ** (1.0 / 3.0), v)


def _i0(v):
    """sum over k of (v/2)^(2k) / (k!)^2."""
    total, term, k = 1.0, 1.0, 0
    while term > 1e-18 * total:
        k += 1
        term *= (v / 2) ** 2 / (k * k)
        total += term
    return total


def _erfinv(v):
    """The y with erf(y) = v, by bisection."""
    low, high = -10.0, 10.0
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if math.erf(middle) < v else (low, middle)
    return (low + high) / 2


def _sinc(v):
    return 1.0 if v == 0 else math.sin(math.pi * v) / (math.pi * v)


def _unit(z):
    return 0.9 * np.tanh(z)


def _positive(z):
    return 0.2 + np.abs(z)


def _any(z):
    return 1.5 * z


def _nonzero(z):
    return np.where(z >= 0, 0.2 + z, z - 0.2)


def _off_integers(z):
    """Values at least 0.05 from every integer (floor, ceil, trunc are constant there)."""
    return np.floor(2 * z) + 0.5 + 0.45 * np.tanh(z)


# name: (reference of one float, map from standard normals into the domain, kept off kinks)
UNARY = {
    "sin": (math.sin, _any), "cos": (math.cos, _any), "tan": (math.tan, lambda z: 1.4 * np.tanh(z)),
    "arcsin": (math.asin, _unit), "arccos": (math.acos, _unit), "arctan": (math.atan, _any),
    "sinh": (math.sinh, _any), "cosh": (math.cosh, _any), "arcsinh": (math.asinh, _any),
    "arccosh": (math.acosh, lambda z: 1.0 + _positive(z)), "arctanh": (math.atanh, _unit),
    "exp2": (lambda v: 2.0 ** v, _any), "expm1": (math.expm1, _any),
    "log1p": (math.log1p, lambda z: _positive(z) - 0.9), "log2": (math.log2, _positive),
    "log10": (math.log10, _positive), "cbrt": (_cbrt, _nonzero),
    "rsqrt": (lambda v: 1.0 / math.sqrt(v), _positive), "reciprocal": (lambda v: 1.0 / v, _nonzero),
    "floor": (math.floor, _off_integers), "ceil": (math.ceil, _off_integers),
    "trunc": (math.trunc, _off_integers), "sinc": (_sinc, lambda z: 2 * _nonzero(z)),
    "i0": (_i0, lambda z: np.where(z < 0, -1, 1) * (0.5 + 2.5 * np.abs(np.tanh(z)))),
    "erf": (math.erf, _any), "erfc": (math.erfc, _any),
    "erfinv": (_erfinv, _unit), "fabs": (abs, _nonzero),
    "deg2rad": (math.radians, lambda z: 100 * z), "rad2deg": (math.degrees, _any),
    "sign": (lambda v: math.copysign(1.0, v), _nonzero),
    "angle": (lambda v: math.atan2(0.0, v), _nonzero),
    "real": (lambda v: v, _any), "conj": (lambda v: v, _any), "conjugate": (lambda v: v, _any),
    "imag": (lambda v: 0.0, _any),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data(), shape=nst.shapes(0, 3))
def test_unary_matches_reference_and_finite_differences(device, name, data, shape):
    scalar_fn, domain = UNARY[name]
    x = domain(data.draw(nst.arrays(shape)))
    op = getattr(ops, name)
    assert_matches(op(x), reference._elementwise(scalar_fn, x))
    symbolic = op(nk.KerasTensor((None,) + x.shape[1:], "float64"))
    assert symbolic.shape == (None,) + x.shape[1:] and symbolic.dtype == "float64"
    check_op_grads(op, [x])


def test_zero_gradients_are_zeros(device):
    """floor, ceil, trunc, round, sign, angle, imag: JAX gives zeros, not None."""
    x = np.array([-1.7, -0.2, 0.4, 2.6])
    for op in (ops.floor, ops.ceil, ops.trunc, ops.round, ops.sign, ops.angle, ops.imag):
        np.testing.assert_array_equal(tape_gradient(op, x), np.zeros(4))


@pytest.mark.parametrize("decimals", [-2, -1, 0, 1, 3])
@given(x=nst.arrays(nst.shapes(0, 3), scale=300.0))
def test_round_to_decimals(device, decimals, x):
    assert_matches(ops.round(x, decimals), np.round(x, decimals))
    ints = np.round(x).astype(np.int64)
    assert_matches(ops.round(ints, decimals), np.round(ints, decimals), dtype="int64")


def test_round_ties_to_even_and_integer_decimals(device):
    assert_matches(ops.round(np.array([0.5, 1.5, 2.5, -0.5, -2.5])), [0.0, 2.0, 2.0, -0.0, -2.0])
    assert_matches(ops.round(np.array([125, -135, 7], np.int32), -1), [120, -140, 10],
                   dtype="int32")
    assert_matches(ops.trunc(np.array([3, -4], np.int64)), [3, -4], dtype="int64")


def test_special_values(device):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -2.0, 1.0])
    with np.errstate(all="ignore"):
        assert_matches(ops.sign(x), np.array([0.0, -0.0, 1.0, -1.0, np.nan, -1.0, 1.0]))
        assert_matches(ops.angle(np.array([-0.0, -1.0, 0.0, 2.0, np.nan])),
                       [math.pi, math.pi, 0.0, 0.0, np.nan])
        assert_matches(ops.erfinv(np.array([-1.0, 1.0, 0.0])), [-np.inf, np.inf, 0.0])
        assert_matches(ops.sinc(np.array([0.0, 1.0, -2.0])), [1.0, 0.0, 0.0], atol=1e-15)


def test_nan_to_num(device):
    x = np.array([np.nan, np.inf, -np.inf, -1.5, 2.0])
    big = np.finfo(np.float64).max
    assert_matches(ops.nan_to_num(x), [0.0, big, -big, -1.5, 2.0])
    assert_matches(ops.nan_to_num(x, nan=7.0, posinf=3.0, neginf=-4.0), [7.0, 3.0, -4.0, -1.5, 2.0])
    y = ops.nan_to_num(x.astype(np.float32))
    assert y.dtype == "float32" and np.asarray(y)[1] == np.finfo(np.float32).max
    assert_matches(ops.nan_to_num(np.array([3, -2])), [3, -2], dtype="int64")
    np.testing.assert_array_equal(tape_gradient(lambda t: ops.nan_to_num(t, nan=1.0), x),
                                  [0.0, 0.0, 0.0, 1.0, 1.0])
    check_op_grads(ops.nan_to_num, [np.array([-1.5, 0.3, 2.0])])


def test_complex_inputs_are_refused(device):
    with pytest.raises(TypeError, match="real.*complex"):
        ops.real(np.array([1 + 2j]))
    with pytest.raises(TypeError, match="sin.*complex"):
        ops.sin(nk.KerasTensor((2,), "complex64"))


# ------------------------------------------------------------------------ predicates

PREDICATES = {"isfinite": math.isfinite, "isinf": math.isinf, "isnan": math.isnan,
              "isneginf": lambda v: v == -math.inf, "isposinf": lambda v: v == math.inf,
              "signbit": lambda v: math.copysign(1.0, v) < 0, "isreal": lambda v: True,
              "logical_not": lambda v: not v}


def _specials(x, seed) -> np.ndarray:
    """x with some cells 0, -0, +-inf or NaN."""
    rng = np.random.default_rng(seed)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    return np.where(rng.random(x.shape) < 0.5, specials[rng.integers(0, 5, x.shape)], x)


@pytest.mark.parametrize("name", sorted(PREDICATES))
@given(x=nst.arrays(nst.shapes(0, 3)), seed=st.integers(0, 2**16),
       dtype=st.sampled_from(["float32", "float64", "int32", "int64", "bool"]))
def test_predicates(device, name, x, seed, dtype):
    x = _specials(x, seed)
    if dtype not in ("float32", "float64"):
        x = np.nan_to_num(np.round(x), nan=0, posinf=3, neginf=-3)
    x = x.astype(dtype)
    want = np.array([PREDICATES[name](v.item()) for v in x.ravel()], bool).reshape(x.shape)
    assert_matches(getattr(ops, name)(x), want, dtype="bool")


# ------------------------------------------------------------------------ logical, bitwise

LOGICAL = {"logical_and": lambda p, q: p and q, "logical_or": lambda p, q: p or q,
           "logical_xor": lambda p, q: p != q}


@pytest.mark.parametrize("name", sorted(LOGICAL))
@given(shapes=nst.broadcastable_shapes(), seed=st.integers(0, 2**16))
def test_logical(device, name, shapes, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-1, 2, shapes[0]).astype(np.float64)       # -1, 0, 1
    a[rng.random(a.shape) < 0.2] = np.nan                        # NaN is true
    b = rng.integers(0, 2, shapes[1]).astype(bool)
    reference_fn = np.vectorize(lambda p, q: LOGICAL[name](bool(p), bool(q)), otypes=[bool])
    assert_matches(getattr(ops, name)(a, b), reference_fn(a, b), dtype="bool")
    symbolic = getattr(ops, name)(nk.KerasTensor(shapes[0], "float32"),
                                  nk.KerasTensor(shapes[1], "bool"))
    assert symbolic.shape == np.broadcast_shapes(*shapes) and symbolic.dtype == "bool"


BITWISE = {"bitwise_and": lambda p, q: p & q, "bitwise_or": lambda p, q: p | q,
           "bitwise_xor": lambda p, q: p ^ q, "left_shift": lambda p, q: p << q,
           "bitwise_left_shift": lambda p, q: p << q, "right_shift": lambda p, q: p >> q,
           "bitwise_right_shift": lambda p, q: p >> q, "gcd": math.gcd,
           "lcm": lambda p, q: abs(math.lcm(p, q)), "mod": lambda p, q: p % q if q else 0,
           "floor_divide": lambda p, q: p // q if q else 0,
           "fmod": lambda p, q: int(math.fmod(p, q)) if q else 0, "fmax": max, "fmin": min}


@pytest.mark.parametrize("name", sorted(BITWISE))
@given(shapes=nst.broadcastable_shapes(), seed=st.integers(0, 2**16),
       dtype=st.sampled_from(["int32", "int64"]))
def test_integer_ops(device, name, shapes, seed, dtype):
    rng = np.random.default_rng(seed)
    a = rng.integers(-40, 41, shapes[0]).astype(dtype)
    b = rng.integers(0 if "shift" in name else -7, 8, shapes[1]).astype(dtype)
    want = np.vectorize(lambda p, q: BITWISE[name](int(p), int(q)), otypes=[np.int64])(a, b)
    assert_matches(getattr(ops, name)(a, b), want, dtype=dtype)


def test_bitwise_not_and_bools(device):
    assert_matches(ops.bitwise_not(np.array([0, 5, -3], np.int32)), [-1, -6, 2], dtype="int32")
    assert_matches(ops.bitwise_invert(np.array([True, False])), [False, True], dtype="bool")
    a, b = np.array([[True], [False]]), np.array([True, False, True])
    assert_matches(ops.bitwise_xor(a, b), a ^ b, dtype="bool")
    assert_matches(ops.left_shift(a, b), np.left_shift(a, b).astype(np.int32), dtype="int32")
    assert_matches(ops.bitwise_and(np.array([6, 12], np.int64), 5), [4, 4], dtype="int64")


@pytest.mark.parametrize("name", ["bitwise_and", "left_shift", "gcd", "bitwise_not"])
def test_integer_ops_refuse_floats_naming_op_argument_and_shape(device, name):
    args = (np.ones((2, 3)),) if name == "bitwise_not" else (np.ones(3, np.int32), np.ones((2, 3)))
    with pytest.raises(TypeError, match=rf"{name}: .* must be an integer.*shape \(2, 3\)"):
        getattr(ops, name)(*args)


def test_ldexp_refuses_a_float_exponent(device):
    with pytest.raises(TypeError, match=r"ldexp: x2 must be an integer tensor.*float64"):
        ops.ldexp(np.ones(3), np.ones(3))


def test_shapes_that_do_not_broadcast_are_named(device):
    with pytest.raises(ValueError, match=r"arctan2.*\(2, 3\).*\(4,\)"):
        ops.arctan2(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match=r"isclose.*\(2, 3\).*\(4,\)"):
        ops.isclose(nk.KerasTensor((2, 3), "float32"), nk.KerasTensor((4,), "float32"))


# ------------------------------------------------------------------------ binary math

def _logaddexp(a, b, base=math.e):
    top = max(a, b)
    return top + math.log(1.0 + base ** (-abs(a - b)), base)


def _heaviside(a, b):
    return 0.0 if a < 0 else 1.0 if a > 0 else b


FLOAT_BINARY = {
    # name: (reference of two floats, second operand's domain)
    "arctan2": (math.atan2, _nonzero), "hypot": (math.hypot, _nonzero),
    "logaddexp": (_logaddexp, _any), "logaddexp2": (lambda a, b: _logaddexp(a, b, 2.0), _any),
    "mod": (lambda a, b: a % b, _nonzero), "fmod": (math.fmod, _nonzero),
    "floor_divide": (lambda a, b: a // b, _nonzero), "heaviside": (_heaviside, _any),
    "nextafter": (math.nextafter, _any),
    "fmax": (lambda a, b: b if math.isnan(a) else a if math.isnan(b) else max(a, b), _any),
    "fmin": (lambda a, b: b if math.isnan(a) else a if math.isnan(b) else min(a, b), _any),
}


@pytest.mark.parametrize("name", sorted(FLOAT_BINARY))
@given(data=st.data(), shapes=nst.broadcastable_shapes())
def test_float_binary_forward_broadcasts(device, name, data, shapes):
    scalar_fn, domain = FLOAT_BINARY[name]
    a = _any(data.draw(nst.arrays(shapes[0])))
    b = domain(data.draw(nst.arrays(shapes[1])))
    if name in ("heaviside", "fmax", "fmin"):          # zeros, ties and NaN
        a = np.where(np.abs(a) < 0.3, 0.0, a)
        b = np.where(np.abs(b) < 0.2, np.nan if name != "heaviside" else 0.5, b)
    want = np.vectorize(scalar_fn, otypes=[np.float64])(a, b)
    assert_matches(getattr(ops, name)(a, b), want)
    symbolic = getattr(ops, name)(nk.KerasTensor(shapes[0], "float64"), b)
    assert symbolic.shape == want.shape and symbolic.dtype == "float64"


def test_ldexp(device):
    x = np.array([[1.5], [-0.75]])
    n = np.array([-3, 0, 10])
    assert_matches(ops.ldexp(x, n), x * 2.0 ** n)
    assert ops.ldexp(np.float32(3), n).dtype == "float32"
    check_op_grads(lambda t: ops.ldexp(t, n), [x])


@st.composite
def _remainder_case(draw):
    """(a, b) with b > 0.3 in magnitude and a / b at least 0.1 from an integer, b's shape
    broadcasting into a's, so mod, fmod and floor_divide are smooth around them."""
    full, small = draw(nst.broadcastable_shapes())
    if np.broadcast_shapes(full, small) != tuple(full):
        full, small = small, full
    b = _nonzero(draw(nst.arrays(small))) * 1.5
    quotient = _off_integers(draw(nst.arrays(full))) * 2
    return quotient * b, b


@pytest.mark.parametrize("name", ["mod", "fmod", "floor_divide"])
@given(case=_remainder_case())
def test_remainders_gradients(device, name, case):
    a, b = case
    check_op_grads(getattr(ops, name), [a, b])


@pytest.mark.parametrize("name", ["arctan2", "hypot", "logaddexp", "logaddexp2"])
@given(data=st.data(), shapes=nst.broadcastable_shapes())
def test_smooth_binary_gradients(device, name, data, shapes):
    a = _nonzero(data.draw(nst.arrays(shapes[0])))
    b = _nonzero(data.draw(nst.arrays(shapes[1])))
    check_op_grads(getattr(ops, name), [a, b])


@pytest.mark.parametrize("name", ["fmax", "fmin"])
@given(pair=tie_free_pair(nst.broadcastable_shapes()))
def test_fmax_fmin_gradients_without_ties(device, name, pair):
    check_op_grads(getattr(ops, name), list(pair))


def test_fmax_fmin_gradient_goes_to_x2_on_ties_and_past_nan(device):
    a, b = tensor(np.array([1.0, 2.0, np.nan, 3.0])), tensor(np.array([2.0, 2.0, 1.0, np.nan]))
    for op, first in ((ops.fmax, [0, 0, 0, 1]), (ops.fmin, [1, 0, 0, 1])):
        with nk.GradientTape(persistent=True) as tape:
            tape.watch([a, b])
            y = ops.sum(op(a, b))
        da, db = tape.gradient(y, [a, b])
        np.testing.assert_array_equal(np.asarray(da), first)
        np.testing.assert_array_equal(np.asarray(db), 1 - np.array(first))


def test_heaviside_gradient_flows_to_x2_where_x1_is_zero(device):
    x1 = np.array([-1.0, 0.0, 2.0, 0.0])
    np.testing.assert_array_equal(tape_gradient(lambda t: ops.heaviside(x1, t), np.full(4, 0.5)),
                                  [0.0, 1.0, 0.0, 1.0])
    check_op_grads(lambda t: ops.heaviside(x1, t), [np.full(4, 0.5)])
    np.testing.assert_array_equal(tape_gradient(lambda t: ops.heaviside(t, 0.5), x1 + 0.5),
                                  np.zeros(4))


def test_nextafter_has_no_gradient(device):
    x = tensor(np.array([1.0, 2.0]))
    with nk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(ops.nextafter(x, 3.0))
    assert tape.gradient(y, x) is None
    assert_matches(ops.nextafter(np.array([1.0, 0.0]), np.array([2.0, -1.0])),
                   [math.nextafter(1.0, 2.0), -5e-324])


def test_mod_floor_divide_signs_follow_python(device):
    a, b = np.array([5.0, -5.0, 5.0, -5.0]), np.array([3.0, 3.0, -3.0, -3.0])
    assert_matches(ops.mod(a, b), [2.0, 1.0, -1.0, -2.0])
    assert_matches(ops.fmod(a, b), [2.0, -2.0, 2.0, -2.0])
    assert_matches(ops.floor_divide(a, b), [1.0, -2.0, -2.0, 1.0])
    assert_matches(ops.mod(np.array([7, -7]), 0), [0, 0], dtype="int64")


# ------------------------------------------------------------------------ isclose, casts

def test_isclose_and_allclose(device):
    a = np.array([1.0, np.inf, np.nan, np.inf, 1.0, 0.0])
    b = np.array([1.0 + 1e-6, np.inf, np.nan, -np.inf, 1.1, 1e-9])
    assert_matches(ops.isclose(a, b), [True, True, False, False, False, True], dtype="bool")
    assert_matches(ops.isclose(a, b, equal_nan=True), [True, True, True, False, False, True],
                   dtype="bool")
    assert_matches(ops.isclose(a, b, rtol=0.2), [True, True, False, False, True, True],
                   dtype="bool")
    assert_matches(ops.isclose(np.array([1, 2]), np.array([1, 3])), [True, False], dtype="bool")
    assert_matches(ops.allclose(a[:2], b[:2]), True, dtype="bool")
    assert_matches(ops.allclose(a, b, equal_nan=True), False, dtype="bool")
    assert_matches(ops.allclose(np.ones((0, 2)), np.ones(2)), True, dtype="bool")
    assert ops.allclose(nk.KerasTensor((None, 2), "float32"), np.ones(2)).shape == ()


def test_saturate_cast(device):
    x = np.array([np.nan, 1e10, -1e10, 3.7, -3.7])
    assert_matches(ops.saturate_cast(x, "int32"), [0, 2**31 - 1, -2**31, 3, -3], dtype="int32")
    assert_matches(ops.saturate_cast(np.array([300, -5, 7]), "uint8"), [255, 0, 7], dtype="uint8")
    y = ops.saturate_cast(np.array([1e300, -1e300, 1.5]), "float32")
    assert_matches(y, [np.finfo(np.float32).max, np.finfo(np.float32).min, 1.5],
                   dtype="float32", rtol=1e-7)
    big = np.float32(2.0 ** 31)                # rounds above int32's range: stepped inwards
    assert np.asarray(ops.saturate_cast(np.array([big], np.float32), "int32"))[0] == 2147483520
    assert ops.saturate_cast(nk.KerasTensor((None,), "float64"), "int16").dtype == "int16"
    np.testing.assert_array_equal(
        tape_gradient(lambda t: ops.saturate_cast(t, "float32"), np.array([1e300, 2.0])),
        [0.0, 1.0])
