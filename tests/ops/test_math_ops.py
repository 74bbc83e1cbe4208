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
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

import reference  # tests/reference.py (tests/ is on sys.path: pyproject.toml)
from op_checks import assert_matches, tape_gradient, tensor, tie_free_pair

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
    "isclose": ("b b b b b", "b b b b b", "b b b b b", "b b b b b", "b b b b b"),
    "allclose": ("b b b b b", "b b b b b", "b b b b b", "b b b b b", "b b b b b"),
    "logical_and": ("b b b b b", "b b b b b", "b b b b b", "b b b b b", "b b b b b"),
    "logical_or": ("b b b b b", "b b b b b", "b b b b b", "b b b b b", "b b b b b"),
    "logical_xor": ("b b b b b", "b b b b b", "b b b b b", "b b b b b", "b b b b b"),
    "bitwise_and": ("b i32 i64 E E", "i32 i32 i64 E E", "i64 i64 i64 E E", "E E E E E", "E E E E E"),
    "bitwise_or": ("b i32 i64 E E", "i32 i32 i64 E E", "i64 i64 i64 E E", "E E E E E", "E E E E E"),
    "bitwise_xor": ("b i32 i64 E E", "i32 i32 i64 E E", "i64 i64 i64 E E", "E E E E E", "E E E E E"),
    "bitwise_left_shift": ("i32 i32 i64 E E", "i32 i32 i64 E E", "i64 i64 i64 E E", "E E E E E", "E E E E E"),
    "bitwise_right_shift": ("i32 i32 i64 E E", "i32 i32 i64 E E", "i64 i64 i64 E E", "E E E E E", "E E E E E"),
    "left_shift": ("i32 i32 i64 E E", "i32 i32 i64 E E", "i64 i64 i64 E E", "E E E E E", "E E E E E"),
    "right_shift": ("i32 i32 i64 E E", "i32 i32 i64 E E", "i64 i64 i64 E E", "E E E E E", "E E E E E"),
    "arctan2": ("f32 f32 f32 f32 f64", "f32 f32 f32 f32 f64", "f32 f32 f32 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "hypot": ("f32 f32 f64 f32 f64", "f32 f32 f64 f32 f64", "f64 f64 f64 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "logaddexp": ("f32 f32 f32 f32 f64", "f32 f32 f32 f32 f64", "f32 f32 f32 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "logaddexp2": ("f32 f32 f32 f32 f64", "f32 f32 f32 f32 f64", "f32 f32 f32 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "mod": ("i32 i32 i64 f32 f64", "i32 i32 i64 f32 f64", "i64 i64 i64 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "fmod": ("i32 i32 i64 f32 f64", "i32 i32 i64 f32 f64", "i64 i64 i64 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "floor_divide": ("i32 i32 i64 f32 f64", "i32 i32 i64 f32 f64", "i64 i64 i64 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "fmax": ("b i32 i64 f32 f64", "i32 i32 i64 f32 f64", "i64 i64 i64 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "fmin": ("b i32 i64 f32 f64", "i32 i32 i64 f32 f64", "i64 i64 i64 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "heaviside": ("f32 f32 f64 f32 f64", "f32 f32 f64 f32 f64", "f64 f64 f64 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "nextafter": ("f32 f32 f64 f32 f64", "f32 f32 f64 f32 f64", "f64 f64 f64 f32 f64", "f32 f32 f32 f32 f64", "f64 f64 f64 f64 f64"),
    "gcd": ("E i32 i64 E E", "i32 i32 i64 E E", "i64 i64 i64 E E", "E E E E E", "E E E E E"),
    "lcm": ("E i32 i64 E E", "i32 i32 i64 E E", "i64 i64 i64 E E", "E E E E E", "E E E E E"),
    "ldexp": ("E f32 f32 E E", "E f32 f32 E E", "E f64 f64 E E", "E f32 f32 E E", "E f64 f64 E E"),
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
    assert str(inspect.signature(ops.isclose)) == "(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False)"
    assert str(inspect.signature(ops.bitwise_left_shift)) == "(x, y)"
    assert str(inspect.signature(ops.arctan2)) == "(x1, x2)"
    assert str(inspect.signature(ops.saturate_cast)) == "(x, dtype)"
    assert str(inspect.signature(ops.sin)) == "(x)"
