"""Elementwise math of keras.ops: trigonometric, hyperbolic, exponential, logarithmic and
special functions, rounding, predicates, logical and bitwise ops, the binary math functions,
the real-only complex helpers and saturate_cast. Every op maps each element on its own
(binary ops broadcast, numpy's rules) and runs on the kernel families unary_math, predicate
and binary_math (kernels/<device>/math.py) and the array kernels.

Dtypes follow Keras 3.15 on JAX with 64-bit dtypes kept (tests/ops/test_math_ops.py holds
the table Keras gives):
- float functions keep a float input's dtype; ints and bools give floatx, except int64 gives
  float64 in cbrt, reciprocal, fabs, i0, deg2rad, rad2deg, erfc, erfinv (Keras's own rule);
- two inputs promote as JAX does: the wider float if either is a float (int64 does not widen
  float32), else numpy's integer promotion;
- predicates, logical ops and isclose give bools; bitwise ops, gcd and lcm take integers
  (and bools) only and raise TypeError on floats, as ldexp does on a non-integer exponent.
nbkeras has no complex dtypes: real, imag, conj and angle give Keras's results for real
inputs, and a complex input raises TypeError.

Gradients are JAX's: rounding, sign, floor_divide, angle and imag have zero gradients;
nextafter and every op with an integer or bool output have none (their VJPs return None).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import config
from ..core.dtype import is_float, standardize_dtype
from ..core.spec import Spec
from .composite import composite
from .op import Op, broadcast_shapes, result_type

__all__ = [
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
    "arctanh", "exp2", "expm1", "log1p", "log2", "log10", "cbrt", "rsqrt", "reciprocal",
    "sign", "floor", "ceil", "round", "trunc", "fabs", "sinc", "i0", "deg2rad", "rad2deg",
    "erf", "erfc", "erfinv", "nan_to_num",
    "isfinite", "isinf", "isnan", "isneginf", "isposinf", "signbit", "isreal", "isclose",
    "allclose",
    "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_invert",
    "bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift",
    "arctan2", "hypot", "logaddexp", "logaddexp2", "mod", "fmod", "floor_divide", "fmax",
    "fmin", "heaviside", "nextafter", "gcd", "lcm", "ldexp",
    "conj", "conjugate", "real", "imag", "angle", "saturate_cast",
]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


# ---------------------------------------------------------------------------- dtype rules

def _dtype(who: str, x, name: str = "x") -> str:
    """x's dtype name (x: a Spec or an array); TypeError for complex dtypes."""
    dtype = standardize_dtype(x.dtype)
    if np.dtype(dtype).kind == "c":
        raise TypeError(f"{who}: nbkeras has no complex dtypes; received {name} of dtype "
                        f"{dtype} and shape {tuple(x.shape)}")
    return dtype


def _floating(dtype: str, wide: bool = False) -> str:
    """dtype if float; else floatx (float64 for int64 when `wide`)."""
    if is_float(dtype):
        return dtype
    return "float64" if wide and dtype == "int64" else config.floatx()


def _integers(who: str, *named, bools: bool = True) -> list[str]:
    """The dtypes of (name, x) pairs, which must be integers (or bools, when allowed)."""
    dtypes = []
    for name, x in named:
        dtype = _dtype(who, x, name)
        if np.dtype(dtype).kind not in ("iub" if bools else "iu"):
            raise TypeError(f"{who}: {name} must be an integer{' or bool' if bools else ''} "
                            f"tensor; received {name} of dtype {dtype} and shape "
                            f"{tuple(x.shape)}")
        dtypes.append(dtype)
    return dtypes


# Dtype rules: rule(who, x) or rule(who, x1, x2) -> the output dtype, or TypeError naming
# the op, the argument and its shape for a dtype the op does not take.

def _to_float(who, x): return _floating(_dtype(who, x))
def _to_float_wide(who, x): return _floating(_dtype(who, x), wide=True)
def _same(who, x): return _dtype(who, x)
def _bitwise(who, x): return _integers(who, ("x", x))[0]


def _numeric(who, x):
    """x's dtype; bools are refused (sign, round: as JAX)."""
    dtype = _dtype(who, x)
    if dtype == "bool":
        raise TypeError(f"{who}: x must be a numeric tensor, not bool; received shape "
                        f"{tuple(x.shape)}")
    return dtype


def _any_pair(who, a, b): return result_type(_dtype(who, a, "x1"), _dtype(who, b, "x2"))
def _float_pair(who, a, b): return _floating(_any_pair(who, a, b))
def _float_pair_wide(who, a, b): return _floating(_any_pair(who, a, b), wide=True)
def _bitwise_pair(who, a, b): return result_type(*_integers(who, ("x", a), ("y", b)))


def _numeric_pair(who, a, b):
    """Promoted; two bools give int32 (Keras)."""
    dtype = _any_pair(who, a, b)
    return "int32" if dtype == "bool" else dtype


def _shift_pair(who, a, b):
    dtype = result_type(*_integers(who, ("x", a), ("y", b)))
    return "int32" if dtype == "bool" else dtype


def _divisor_pair(who, a, b):
    """gcd, lcm: integers, not two bools."""
    dtype = result_type(*_integers(who, ("x1", a), ("x2", b)))
    if dtype == "bool":
        raise TypeError(f"{who}: x1 and x2 must not both be bool; received shapes "
                        f"{tuple(a.shape)} and {tuple(b.shape)}")
    return dtype


def _ldexp_pair(who, a, b):
    """x1 * 2 ** x2 with an integer x2: x1's float dtype (int64 gives float64)."""
    _integers(who, ("x2", b), bools=False)
    return _floating(_dtype(who, a, "x1"), wide=True)


def _cast(k, x, dtype: str):
    return x if standardize_dtype(x.dtype) == dtype else k.cast(x, dtype)


def _zeros_like(k, x):
    """Zeros of x's shape and dtype (every element of a real x is real)."""
    return k.where(k.predicate("isreal", x), x.dtype.type(0), x)


# ---------------------------------------------------------------------------- unary

@dataclass(frozen=True)
class Unary(Op):
    """x (shape S) -> f(x) (shape S). `rule(who, x)` gives the output dtype (TypeError for
    a dtype f does not take); `apply(k, x)` computes f of x cast to it; `derivative(k, x,
    y)` is f'(x) (None: a zero gradient). Integer and bool outputs have no gradient."""

    name: str
    rule: Callable
    apply: Callable
    derivative: Callable | None = None

    def output_spec(self, x: Spec) -> Spec:
        return Spec(x.shape, self.rule(self.name, x))

    def forward(self, k, x):
        x = _cast(k, x, self.rule(self.name, x))
        y = self.apply(k, x)
        return y, (x, y)

    def vjp(self, k, dy, residuals, needs):
        x, y = residuals
        if not is_float(y.dtype):
            return (None,)
        if self.derivative is None:
            return (k.multiply(dy, 0),)
        return (k.multiply(dy, self.derivative(k, x, y)),)


def _kernel(name: str) -> Callable:
    """apply(k, x) = the unary_math kernel `name` of x."""
    return lambda k, x: k.unary_math(name, x)


def _unary(op: Op, doc: str) -> Callable:
    """The public function `name(x)` of a one-input op."""
    def function(x):
        return op(x)
    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = doc
    return function


def _sinc_derivative(k, x, y):
    """(cos(pi x) - sinc x) / x, and 0 at x = 0."""
    zero = k.equal(x, 0)
    slope = k.divide(k.subtract(k.unary_math("cos", k.multiply(x, math.pi)), y),
                     k.where(zero, x.dtype.type(1), x))
    return k.where(zero, x.dtype.type(0), slope)


def _square_plus(k, x, c):
    return k.add(k.square(x), c)


_FLOAT_DOC = ("{}: elementwise, x (any shape) -> the same shape; floats keep their dtype, "
              "ints and bools give {}. {}.")


def _float_function(name, derivative, wide=False, kernel=None):
    """The public float function `name(x)`: the unary_math kernel `name` unless `kernel`
    is given; `wide`: int64 gives float64."""
    rule = _to_float_wide if wide else _to_float
    op = Unary(name, rule, kernel or _kernel(name), derivative)
    return _unary(op, _FLOAT_DOC.format(name, "floatx (int64: float64)" if wide else "floatx",
                                        "Differentiable" if derivative else "Zero gradient"))


sin = _float_function("sin", lambda k, x, y: k.unary_math("cos", x))
cos = _float_function("cos", lambda k, x, y: k.negative(k.unary_math("sin", x)))
tan = _float_function("tan", lambda k, x, y: _square_plus(k, y, 1))
arcsin = _float_function(
    "arcsin", lambda k, x, y: k.unary_math("rsqrt", k.subtract(1, k.square(x))))
arccos = _float_function(
    "arccos", lambda k, x, y: k.negative(k.unary_math("rsqrt", k.subtract(1, k.square(x)))))
arctan = _float_function(
    "arctan", lambda k, x, y: k.unary_math("reciprocal", _square_plus(k, x, 1)))
sinh = _float_function("sinh", lambda k, x, y: k.unary_math("cosh", x))
cosh = _float_function("cosh", lambda k, x, y: k.unary_math("sinh", x))
arcsinh = _float_function("arcsinh", lambda k, x, y: k.unary_math("rsqrt", _square_plus(k, x, 1)))
arccosh = _float_function("arccosh",
                          lambda k, x, y: k.unary_math("rsqrt", _square_plus(k, x, -1)))
arctanh = _float_function(
    "arctanh", lambda k, x, y: k.unary_math("reciprocal", k.subtract(1, k.square(x))))
exp2 = _float_function("exp2", lambda k, x, y: k.multiply(y, math.log(2.0)))
expm1 = _float_function("expm1", lambda k, x, y: k.add(y, 1))
log1p = _float_function("log1p", lambda k, x, y: k.unary_math("reciprocal", k.add(x, 1)))
log2 = _float_function(
    "log2", lambda k, x, y: k.unary_math("reciprocal", k.multiply(x, math.log(2.0))))
log10 = _float_function(
    "log10", lambda k, x, y: k.unary_math("reciprocal", k.multiply(x, math.log(10.0))))
cbrt = _float_function(
    "cbrt", lambda k, x, y: k.unary_math("reciprocal", k.multiply(k.square(y), 3)), wide=True)
rsqrt = _float_function("rsqrt", lambda k, x, y: k.multiply(k.multiply(k.square(y), y), -0.5))
reciprocal = _float_function("reciprocal", lambda k, x, y: k.negative(k.square(y)), wide=True)
floor = _float_function("floor", None)
ceil = _float_function("ceil", None)
sinc = _float_function("sinc", _sinc_derivative)
i0 = _float_function("i0", lambda k, x, y: k.unary_math("i1", x), wide=True)
erf = _float_function(
    "erf", lambda k, x, y: k.multiply(k.exp(k.negative(k.square(x))), _TWO_OVER_SQRT_PI))
erfc = _float_function(
    "erfc", lambda k, x, y: k.multiply(k.exp(k.negative(k.square(x))), -_TWO_OVER_SQRT_PI),
    wide=True)
erfinv = _float_function(
    "erfinv", lambda k, x, y: k.multiply(k.exp(k.square(y)), 1.0 / _TWO_OVER_SQRT_PI),
    wide=True)
fabs = _float_function("fabs", lambda k, x, y: k.sign(x), wide=True,
                       kernel=lambda k, x: k.abs(x))
deg2rad = _float_function("deg2rad", lambda k, x, y: math.pi / 180.0, wide=True,
                          kernel=lambda k, x: k.multiply(x, math.pi / 180.0))
rad2deg = _float_function("rad2deg", lambda k, x, y: 180.0 / math.pi, wide=True,
                          kernel=lambda k, x: k.multiply(x, 180.0 / math.pi))

sign = _unary(Unary("sign", _numeric, lambda k, x: k.sign(x)),
              "-1, 0 or 1 by the sign of x (NaN stays NaN), x's dtype (bools refused); zero "
              "gradient.")
trunc = _unary(Unary("trunc", _same,
                     lambda k, x: k.unary_math("trunc", x) if x.dtype.kind == "f" else x),
               "x rounded towards zero, x's dtype (integers unchanged); zero gradient.")
angle = _unary(Unary("angle", _to_float,
                     lambda k, x: k.binary_math("arctan2", _zeros_like(k, x), x)),
               "The complex argument of a real x: pi where x < 0 or x is -0, else 0 (NaN "
               "stays); floats keep their dtype, ints give floatx; zero gradient.")
imag = _unary(Unary("imag", _same, _zeros_like),
              "The imaginary part of a real x: zeros of x's shape and dtype; zero gradient.")


@dataclass(frozen=True)
class Identity(Op):
    """x -> x: the real part or the conjugate of a real x (the gradient passes)."""

    name: str

    def output_spec(self, x: Spec) -> Spec:
        return Spec(x.shape, _dtype(self.name, x))

    def forward(self, k, x):
        _dtype(self.name, x)
        return x, ()

    def vjp(self, k, dy, residuals, needs): return (dy,)


real = _unary(Identity("real"), "The real part of a real x: x itself; the gradient passes.")
conj = _unary(Identity("conj"), "The conjugate of a real x: x itself; the gradient passes.")
conjugate = _unary(Identity("conjugate"),
                   "The conjugate of a real x: x itself; the gradient passes.")


def _bitwise_not(k, x):
    """~x: not x for bools, else x ^ (all bits set)."""
    if x.dtype == np.bool_:
        return k.predicate("logical_not", x)
    return k.binary_math("bitwise_xor", x, np.array(-1).astype(x.dtype)[()])


bitwise_not = _unary(Unary("bitwise_not", _bitwise, _bitwise_not),
                     "~x of an integer or bool x (not for bools), x's dtype; no gradient.")
bitwise_invert = _unary(Unary("bitwise_invert", _bitwise, _bitwise_not),
                        "~x of an integer or bool x (not for bools), x's dtype; no gradient.")


@dataclass(frozen=True)
class Predicate(Op):
    """x (shape S, any real dtype) -> bool (shape S): the predicate kernel `name`."""

    name: str

    def output_spec(self, x: Spec) -> Spec:
        _dtype(self.name, x)
        return Spec(x.shape, "bool")

    def forward(self, k, x):
        _dtype(self.name, x)
        return k.predicate(self.name, x), ()

    def vjp(self, k, dy, residuals, needs): return (None,)


_PREDICATE_DOC = "Whether x {} (elementwise, any real dtype) -> bool; no gradient."
isfinite = _unary(Predicate("isfinite"), _PREDICATE_DOC.format("is finite"))
isinf = _unary(Predicate("isinf"), _PREDICATE_DOC.format("is +inf or -inf"))
isnan = _unary(Predicate("isnan"), _PREDICATE_DOC.format("is NaN"))
isneginf = _unary(Predicate("isneginf"), _PREDICATE_DOC.format("is -inf"))
isposinf = _unary(Predicate("isposinf"), _PREDICATE_DOC.format("is +inf"))
signbit = _unary(Predicate("signbit"), _PREDICATE_DOC.format("has its sign bit set (-0 too)"))
isreal = _unary(Predicate("isreal"), _PREDICATE_DOC.format("is real (always, in nbkeras)"))
logical_not = _unary(Predicate("logical_not"), _PREDICATE_DOC.format("is 0 (not x)"))


@dataclass(frozen=True)
class Round(Op):
    """x rounded to `decimals` digits (negative: tens, hundreds, ...), ties to even, as
    numpy: rint(x * 10**d) / 10**d, or rint(x / 10**-d) * 10**-d. Integers round in
    float64 and keep their dtype."""

    decimals: int

    def output_spec(self, x: Spec) -> Spec: return Spec(x.shape, _numeric("round", x))

    def forward(self, k, x):
        dtype = _numeric("round", x)
        if not is_float(dtype):
            if self.decimals >= 0:
                return x, (dtype,)
            return k.cast(self._round(k, k.cast(x, "float64")), dtype), (dtype,)
        return self._round(k, x), (dtype,)

    def _round(self, k, x):
        if self.decimals == 0:
            return k.unary_math("rint", x)
        if self.decimals > 0:
            scale = 10.0 ** self.decimals
            return k.divide(k.unary_math("rint", k.multiply(x, scale)), scale)
        scale = 10.0 ** -self.decimals
        return k.multiply(k.unary_math("rint", k.divide(x, scale)), scale)

    def vjp(self, k, dy, residuals, needs):
        return (k.multiply(dy, 0) if is_float(residuals[0]) else None,)


def round(x, decimals=0):  # noqa: A001 (Keras's name)
    """x rounded to `decimals` decimal digits (ties to even), x's dtype (bools refused);
    zero gradient."""
    return Round(int(decimals))(x)


@dataclass(frozen=True)
class NanToNum(Op):
    """NaN -> nan, +inf -> posinf, -inf -> neginf (None: the dtype's largest / lowest
    float); integers and bools pass unchanged. The gradient passes where x is finite."""

    nan: float
    posinf: float | None
    neginf: float | None

    def output_spec(self, x: Spec) -> Spec: return Spec(x.shape, _same("nan_to_num", x))

    def forward(self, k, x):
        if not is_float(_same("nan_to_num", x)):
            return x, ()
        info = np.finfo(x.dtype)
        high = info.max if self.posinf is None else self.posinf
        low = info.min if self.neginf is None else self.neginf
        y = k.where(k.predicate("isnan", x), x.dtype.type(self.nan), x)
        y = k.where(k.predicate("isposinf", x), x.dtype.type(high), y)
        return k.where(k.predicate("isneginf", x), x.dtype.type(low), y), (x,)

    def vjp(self, k, dy, residuals, needs):
        if not residuals:
            return (None,)
        return (k.where(k.predicate("isfinite", residuals[0]), dy, 0),)


@composite("nan", "posinf", "neginf")
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """x with NaN, +inf and -inf replaced (None: the dtype's largest and lowest floats), x's
    dtype; the gradient passes where x is finite, 0 elsewhere."""
    return NanToNum(float(nan), None if posinf is None else float(posinf),
                    None if neginf is None else float(neginf))(x)


# ---------------------------------------------------------------------------- binary

@dataclass(frozen=True)
class Binary(Op):
    """x1 (shape A), x2 (shape B) -> f(x1, x2) (shape broadcast(A, B)). `rule(who, x1, x2)`
    gives the output dtype (TypeError for dtypes f does not take), to which both inputs are
    cast; `apply(k, a, b)` computes f; `partials(k, dy, a, b, y)` gives (dy df/da, dy
    df/db), summed back to each input's shape (None: no gradient)."""

    name: str
    rule: Callable
    apply: Callable
    partials: Callable | None = None

    weak_pair = (0, 1)

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        return Spec(broadcast_shapes(a.shape, b.shape, self.name), self.rule(self.name, a, b))

    def forward(self, k, a, b):
        dtype = self.rule(self.name, a, b)
        a, b = _cast(k, a, dtype), _cast(k, b, dtype)
        y = self.apply(k, a, b)
        return y, (a, b, y)

    def vjp(self, k, dy, residuals, needs):
        a, b, y = residuals
        if self.partials is None or not is_float(y.dtype):
            return None, None
        da, db = self.partials(k, dy, a, b, y)
        return (k.sum_to_shape(da, a.shape) if needs[0] and da is not None else None,
                k.sum_to_shape(db, b.shape) if needs[1] and db is not None else None)


def _binary(op: Op, doc: str, bitwise: bool = False) -> Callable:
    """The public function `name(x1, x2)` (bitwise ops: `name(x, y)`, as Keras names them)
    of a two-input op; Python numbers take the dtype of the tensor they meet."""
    if bitwise:
        def function(x, y):
            return op(x, y)
    else:
        def function(x1, x2):
            return op(x1, x2)
    function.__name__ = function.__qualname__ = op.name
    function.__doc__ = doc
    return function


def _extremum_partials(k, dy, first):
    """dy to a where `first`, else to b."""
    return k.where(first, dy, 0), k.where(first, 0, dy)


def _remainder_partials(rounding: str):
    """mod and fmod: d/da = 1, d/db = -round(a / b) (floor for mod, trunc for fmod)."""
    def partials(k, dy, a, b, y):
        return dy, k.negative(k.multiply(dy, k.unary_math(rounding, k.divide(a, b))))
    return partials


def _logaddexp_partials(exponential: Callable):
    def partials(k, dy, a, b, y):
        return (k.multiply(dy, exponential(k, k.subtract(a, y))),
                k.multiply(dy, exponential(k, k.subtract(b, y))))
    return partials


def _arctan2_partials(k, dy, a, b, y):
    scaled = k.divide(dy, k.add(k.square(a), k.square(b)))
    return k.multiply(scaled, b), k.negative(k.multiply(scaled, a))


_FLOAT_PAIR_DOC = ("{}, elementwise with broadcasting; floats promote as in JAX, ints and "
                   "bools give {}. Differentiable.")
arctan2 = _binary(Binary("arctan2", _float_pair, lambda k, a, b: k.binary_math("arctan2", a, b),
                         _arctan2_partials),
                  _FLOAT_PAIR_DOC.format("atan2(x1, x2), the angle of the point (x2, x1)",
                                         "floatx"))
hypot = _binary(Binary("hypot", _float_pair_wide, lambda k, a, b: k.binary_math("hypot", a, b),
                       lambda k, dy, a, b, y: (k.multiply(dy, k.divide(a, y)),
                                               k.multiply(dy, k.divide(b, y)))),
                _FLOAT_PAIR_DOC.format("sqrt(x1^2 + x2^2)", "floatx (int64: float64)"))
logaddexp = _binary(Binary("logaddexp", _float_pair,
                           lambda k, a, b: k.binary_math("logaddexp", a, b),
                           _logaddexp_partials(lambda k, d: k.exp(d))),
                    _FLOAT_PAIR_DOC.format("log(exp(x1) + exp(x2)) without overflow",
                                           "floatx"))
logaddexp2 = _binary(Binary("logaddexp2", _float_pair,
                            lambda k, a, b: k.binary_math("logaddexp2", a, b),
                            _logaddexp_partials(lambda k, d: k.unary_math("exp2", d))),
                     _FLOAT_PAIR_DOC.format("log2(2^x1 + 2^x2) without overflow", "floatx"))
heaviside = _binary(
    Binary("heaviside", _float_pair_wide, lambda k, a, b: k.binary_math("heaviside", a, b),
           lambda k, dy, a, b, y: (k.multiply(dy, 0), k.where(k.equal(a, 0), dy, 0))),
    "0 where x1 < 0, 1 where x1 > 0, x2 where x1 == 0, broadcast; floats promote as in JAX, "
    "ints give floatx (int64: float64). Gradient: zero for x1, dy where x1 == 0 for x2.")
nextafter = _binary(
    Binary("nextafter", _float_pair_wide, lambda k, a, b: k.binary_math("nextafter", a, b)),
    "The next float after x1 towards x2, broadcast; floats promote as in JAX, ints give "
    "floatx (int64: float64). No gradient (as JAX).")
ldexp = _binary(
    Binary("ldexp", _ldexp_pair, lambda k, a, b: k.binary_math("ldexp", a, b),
           lambda k, dy, a, b, y: (k.binary_math("ldexp", dy, b), None)),
    "x1 * 2 ** x2 for an integer x2, broadcast, in x1's float dtype (ints: floatx, int64: "
    "float64). Gradient: dy * 2 ** x2 for x1.")
mod = _binary(Binary("mod", _numeric_pair, lambda k, a, b: k.binary_math("mod", a, b),
                     _remainder_partials("floor")),
              "x1 mod x2 with x2's sign (Python's %), broadcast, promoted (two bools: "
              "int32); integer mod 0 is 0. Gradient: dy, -dy floor(x1 / x2).")
fmod = _binary(Binary("fmod", _numeric_pair, lambda k, a, b: k.binary_math("fmod", a, b),
                      _remainder_partials("trunc")),
               "The remainder of x1 / x2 with x1's sign (C's fmod), broadcast, promoted (two "
               "bools: int32). Gradient: dy, -dy trunc(x1 / x2).")
floor_divide = _binary(
    Binary("floor_divide", _numeric_pair, lambda k, a, b: k.binary_math("floor_divide", a, b),
           lambda k, dy, a, b, y: (k.multiply(dy, 0), k.multiply(dy, 0))),
    "floor(x1 / x2), broadcast, promoted (two bools: int32); integer division by 0 gives 0. "
    "Zero gradient.")
fmax = _binary(
    Binary("fmax", _any_pair, lambda k, a, b: k.binary_math("fmax", a, b),
           lambda k, dy, a, b, y: _extremum_partials(k, dy, k.binary_math(
               "bitwise_or", k.greater(a, b), k.predicate("isnan", b)))),
    "The larger of x1 and x2, ignoring a NaN, broadcast, promoted. The gradient goes to the "
    "one taken (to x2 on ties, as JAX).")
fmin = _binary(
    Binary("fmin", _any_pair, lambda k, a, b: k.binary_math("fmin", a, b),
           lambda k, dy, a, b, y: _extremum_partials(k, dy, k.binary_math(
               "bitwise_or", k.less(a, b), k.predicate("isnan", b)))),
    "The smaller of x1 and x2, ignoring a NaN, broadcast, promoted. The gradient goes to the "
    "one taken (to x2 on ties, as JAX).")
gcd = _binary(Binary("gcd", _divisor_pair, lambda k, a, b: k.binary_math("gcd", a, b)),
              "The greatest common divisor of integers |x1| and |x2|, broadcast; no gradient.")
lcm = _binary(Binary("lcm", _divisor_pair, lambda k, a, b: k.binary_math("lcm", a, b)),
              "The least common multiple of integers |x1| and |x2|, broadcast; no gradient.")

_BITWISE_DOC = ("x {} y of integers or bools, broadcast, promoted (numpy's rule); floats "
                "raise TypeError; no gradient.")


def _bitwise_function(name, kernel_name, rule=_bitwise_pair, doc=None):
    op = Binary(name, rule, lambda k, a, b: k.binary_math(kernel_name, a, b))
    return _binary(op, doc or _BITWISE_DOC.format(name), bitwise=True)


bitwise_and = _bitwise_function("bitwise_and", "bitwise_and", doc=_BITWISE_DOC.format("&"))
bitwise_or = _bitwise_function("bitwise_or", "bitwise_or", doc=_BITWISE_DOC.format("|"))
bitwise_xor = _bitwise_function("bitwise_xor", "bitwise_xor", doc=_BITWISE_DOC.format("^"))
_SHIFT_DOC = ("x shifted {} by y bits, integers (two bools: int32), broadcast; shifts by "
              "less than 0 or at least the width give 0 ({}); no gradient.")
bitwise_left_shift = _bitwise_function("bitwise_left_shift", "left_shift", _shift_pair,
                                       _SHIFT_DOC.format("left", "as numpy"))
left_shift = _bitwise_function("left_shift", "left_shift", _shift_pair,
                               _SHIFT_DOC.format("left", "as numpy"))
bitwise_right_shift = _bitwise_function("bitwise_right_shift", "right_shift", _shift_pair,
                                        _SHIFT_DOC.format("right", "-1 for negative x"))
right_shift = _bitwise_function("right_shift", "right_shift", _shift_pair,
                                _SHIFT_DOC.format("right", "-1 for negative x"))


@dataclass(frozen=True)
class Logical(Op):
    """The truth values of x1 and x2 (nonzero, NaN included) combined by `combine(k, p, q)`
    -> bool, broadcast; no gradient."""

    name: str
    combine: Callable

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        _dtype(self.name, a, "x1"), _dtype(self.name, b, "x2")
        return Spec(broadcast_shapes(a.shape, b.shape, self.name), "bool")

    def forward(self, k, a, b):
        _dtype(self.name, a, "x1"), _dtype(self.name, b, "x2")
        return self.combine(k, k.not_equal(a, 0), k.not_equal(b, 0)), ()

    def vjp(self, k, dy, residuals, needs): return None, None


_LOGICAL_DOC = "x1 {} x2 of truth values (nonzero is true), broadcast -> bool; no gradient."
logical_and = _binary(Logical("logical_and", lambda k, p, q: k.binary_math("bitwise_and", p, q)),
                      _LOGICAL_DOC.format("and"))
logical_or = _binary(Logical("logical_or", lambda k, p, q: k.binary_math("bitwise_or", p, q)),
                     _LOGICAL_DOC.format("or"))
logical_xor = _binary(Logical("logical_xor", lambda k, p, q: k.not_equal(p, q)),
                      _LOGICAL_DOC.format("xor"))


@dataclass(frozen=True)
class IsClose(Op):
    """|x1 - x2| <= atol + rtol |x2| where x2 is finite, or x1 == x2 (equal infinities), or
    (equal_nan) both NaN; computed in the promoted float dtype (float64 for integers),
    broadcast -> bool. `reduce`: allclose, whether all are. No gradient."""

    rtol: float
    atol: float
    equal_nan: bool
    reduce: bool = False

    weak_pair = (0, 1)

    @property
    def name(self) -> str:
        return "allclose" if self.reduce else "isclose"

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        shape = broadcast_shapes(a.shape, b.shape, self.name)
        _any_pair(self.name, a, b)
        return Spec(() if self.reduce else shape, "bool")

    def forward(self, k, a, b):
        dtype = _any_pair(self.name, a, b)
        dtype = dtype if is_float(dtype) else "float64"
        a, b = _cast(k, a, dtype), _cast(k, b, dtype)
        bound = k.add(k.multiply(k.abs(b), self.rtol), self.atol)
        close = k.binary_math("bitwise_and", k.less_equal(k.abs(k.subtract(a, b)), bound),
                              k.predicate("isfinite", b))
        close = k.binary_math("bitwise_or", close, k.equal(a, b))
        if self.equal_nan:
            both_nan = k.binary_math("bitwise_and", k.predicate("isnan", a),
                                     k.predicate("isnan", b))
            close = k.binary_math("bitwise_or", close, both_nan)
        if not self.reduce:
            return close, ()
        if close.size == 0:
            return k.asarray(np.bool_(True)), ()
        return k.reduce("min", close, None, False), ()

    def vjp(self, k, dy, residuals, needs): return None, None


@composite("equal_nan")
def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether x1 and x2 are close, elementwise with broadcasting: |x1 - x2| <= atol + rtol
    |x2|, equal infinities too, and both NaN when `equal_nan` -> bool; no gradient."""
    return IsClose(float(rtol), float(atol), bool(equal_nan))(x1, x2)


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether isclose holds for every element: a 0-d bool tensor; no gradient."""
    return IsClose(float(rtol), float(atol), bool(equal_nan), reduce=True)(x1, x2)


# ---------------------------------------------------------------------------- saturate_cast

def _saturation_bounds(source: str, target: str) -> tuple:
    """The lowest and highest values of `source` that convert to `target` without overflow,
    as `source` scalars (moved one float step inwards where the target's limit rounds
    outwards in a float source)."""
    def info(dtype):
        return np.finfo(dtype) if is_float(dtype) else np.iinfo(dtype)
    inside, outside = info(target), info(source)
    kind = np.dtype(source).type
    low = kind(max(outside.min, inside.min))
    high = kind(min(outside.max, inside.max))
    if low.item() < inside.min:           # Python numbers compare exactly
        low = np.nextafter(low, kind(0))
    if high.item() > inside.max:
        high = np.nextafter(high, kind(0))
    return low, high


@dataclass(frozen=True)
class SaturateCast(Op):
    """x -> x clipped to the range of `dtype`, then cast (NaN to an integer gives 0, as
    JAX). Between floats the gradient passes inside the range (as clip); integer outputs
    have none."""

    dtype: str

    def output_spec(self, x: Spec) -> Spec:
        _dtype("saturate_cast", x)
        return Spec(x.shape, self.dtype)

    def forward(self, k, x):
        source = _dtype("saturate_cast", x)
        if "bool" in (source, self.dtype):
            return k.cast(x, self.dtype), None
        low, high = _saturation_bounds(source, self.dtype)
        y = k.clip(x, low, high)
        if is_float(source) and not is_float(self.dtype):
            y = k.where(k.predicate("isnan", y), x.dtype.type(0), y)
        inside = (k.binary_math("bitwise_and", k.greater_equal(x, low), k.less_equal(x, high))
                  if is_float(source) and is_float(self.dtype) else None)
        return k.cast(y, self.dtype), (inside, source)

    def vjp(self, k, dy, residuals, needs):
        if residuals is None or residuals[0] is None:
            return (None,)
        inside, source = residuals
        return (k.where(inside, k.cast(dy, source), 0),)


def saturate_cast(x, dtype):
    """x cast to `dtype`, values beyond its range clipped to its limits (NaN -> 0 for
    integer dtypes); the gradient passes (inside the range) between float dtypes."""
    return SaturateCast(standardize_dtype(dtype))(x)
