"""Elementwise math by name over Numba device arrays: the CUDA twin of kernels/cpu/math.py,
with numpy's and scipy.special's results (the names are kernels/api.py's UNARY_MATH,
PREDICATES and BINARY_MATH).

One op-coded grid-stride kernel per family: `op` picks the formula, the same for every
thread of a launch. Broadcasting, dtype promotion and Python-number operands are
kernels/cuda/array.py's (its geometry rows and host helpers). Numbers enter as tuples of the
array's dtype (a bare `0.5` would make a float32 kernel compute in float64), and so do the
series some functions need:

- sin, cos, tan (and sinc): reduced by the nearest multiple of pi/2 in three parts (Cody and
  Waite) and Cephes's polynomials on [-pi/4, pi/4], since libdevice's float32 sine has a
  float64 path for huge arguments. Accurate to a few ulps for |x| < 8192 pi in float32 and
  2**29 pi in float64; beyond that the reduction loses digits (as Cephes's).
- floor, ceil, rint, trunc: by adding and subtracting 2**(mantissa bits), exact and in the
  array's dtype (Numba's math.floor returns an integer).
- erfinv: Giles's single-precision approximation refined by Newton steps on erf (on erfc
  near +-1, where 1 - |x| is exact).
- i0, i1: their power series, whose terms are all positive (no cancellation).
- nextafter: x plus or minus its ulp, from frexp and ldexp.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from numba import types

from .array import (GEOMETRY, INTS, _broadcast, _device, _filled, _flat, _offset, _operand,
                    _result_type, equal, less, maximum, minimum, not_equal)
from .runtime import FLOATS, THREADS, blocks, device, empty, grid, gridsize, kernel, to_device

__all__ = ["unary_math", "predicate", "binary_math"]

(_SIN, _COS, _TAN, _ARCSIN, _ARCCOS, _ARCTAN, _SINH, _COSH, _ARCSINH, _ARCCOSH, _ARCTANH,
 _EXP2, _EXPM1, _LOG1P, _LOG2, _LOG10, _CBRT, _RSQRT, _RECIPROCAL, _FLOOR, _CEIL, _RINT,
 _TRUNC, _SINC, _I0, _I1, _ERF, _ERFC, _ERFINV) = range(29)
_UNARY_CODE = {
    "sin": _SIN, "cos": _COS, "tan": _TAN, "arcsin": _ARCSIN, "arccos": _ARCCOS,
    "arctan": _ARCTAN, "sinh": _SINH, "cosh": _COSH, "arcsinh": _ARCSINH, "arccosh": _ARCCOSH,
    "arctanh": _ARCTANH, "exp2": _EXP2, "expm1": _EXPM1, "log1p": _LOG1P, "log2": _LOG2,
    "log10": _LOG10, "cbrt": _CBRT, "rsqrt": _RSQRT, "reciprocal": _RECIPROCAL,
    "floor": _FLOOR, "ceil": _CEIL, "rint": _RINT, "trunc": _TRUNC, "sinc": _SINC, "i0": _I0,
    "i1": _I1, "erf": _ERF, "erfc": _ERFC, "erfinv": _ERFINV}

(_ISFINITE, _ISINF, _ISNAN, _ISNEGINF, _ISPOSINF, _SIGNBIT, _ISREAL, _LOGICAL_NOT) = range(8)
_PREDICATE_CODE = {
    "isfinite": _ISFINITE, "isinf": _ISINF, "isnan": _ISNAN, "isneginf": _ISNEGINF,
    "isposinf": _ISPOSINF, "signbit": _SIGNBIT, "isreal": _ISREAL,
    "logical_not": _LOGICAL_NOT}

(_ARCTAN2, _HYPOT, _LOGADDEXP, _LOGADDEXP2, _NEXTAFTER, _HEAVISIDE, _LDEXP, _GCD, _LCM, _AND,
 _OR, _XOR, _LEFT_SHIFT, _RIGHT_SHIFT, _MOD, _FMOD, _FLOOR_DIVIDE, _FMAX, _FMIN) = range(19)
_BINARY_CODE = {
    "arctan2": _ARCTAN2, "hypot": _HYPOT, "logaddexp": _LOGADDEXP, "logaddexp2": _LOGADDEXP2,
    "nextafter": _NEXTAFTER, "heaviside": _HEAVISIDE, "ldexp": _LDEXP, "gcd": _GCD,
    "lcm": _LCM, "bitwise_and": _AND, "bitwise_or": _OR, "bitwise_xor": _XOR,
    "left_shift": _LEFT_SHIFT, "right_shift": _RIGHT_SHIFT, "mod": _MOD, "fmod": _FMOD,
    "floor_divide": _FLOOR_DIVIDE, "fmax": _FMAX, "fmin": _FMIN}
_BOOL_BINARY = {"bitwise_and": minimum, "bitwise_or": maximum, "bitwise_xor": not_equal,
                "fmax": maximum, "fmin": minimum}   # on bools, by array.py's kernels

# pi/2 in three parts whose products with the quadrant count are exact (Cephes's split)
_HALF_PI_PARTS = {np.float32: (1.5703125, 4.837512969970703125e-4, 7.549789948768648e-8),
                  np.float64: (1.57079625129699707031, 7.54978941586159635335e-8,
                               5.39030285815811905290e-15)}
# Cephes's sin and cos on [-pi/4, pi/4]: sin r = r + r z S(z), cos r = 1 - z/2 + z^2 C(z)
_SIN_SERIES = (1.58962301576546568060e-10, -2.50507477628578072866e-8,
               2.75573136213857245213e-6, -1.98412698295895385996e-4,
               8.33333333332211858878e-3, -1.66666666666666307295e-1)
_COS_SERIES = (-1.13585365213876817300e-11, 2.08757008419747316778e-9,
               -2.75573141792967388112e-7, 2.48015872888517045348e-5,
               -1.38888888888730564116e-3, 4.16666666666665929218e-2)
# Giles, "Approximating the erfinv function" (2010), single precision: w < 5, then w >= 5
_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                   0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)

_N_CONSTANTS = 13


@functools.lru_cache(maxsize=None)
def _constants(dtype) -> tuple:
    """(numbers, series) of `dtype`, kept on the device for reuse. numbers, a tuple: 0, 1/2,
    1, 2, 3, pi, ln 2, inf, NaN, machine epsilon, the smallest subnormal, 2**(mantissa bits),
    the largest float;
    series, a device array (kernels index it by loop counters, which a tuple does not allow):
    the three parts of pi/2, then the sin, cos and erfinv series, highest power first."""
    kind = np.dtype(dtype).type
    info = np.finfo(kind)
    numbers = (0.0, 0.5, 1.0, 2.0, 3.0, math.pi, math.log(2.0), math.inf, math.nan,
               float(info.eps), float(info.smallest_subnormal), 2.0 ** info.nmant,
               float(info.max))
    series = (_HALF_PI_PARTS[kind] + _SIN_SERIES + _COS_SERIES + _ERFINV_CENTRAL
              + _ERFINV_TAIL)
    return tuple(kind(v) for v in numbers), to_device(np.array(series, kind))


# ---------------------------------------------------------------------------- device math

@device
def _polynomial(z, series, start, count):
    """series[start] z^(count-1) + ... + series[start + count - 1], by Horner's rule."""
    p = series[start]
    for j in range(start + 1, start + count):
        p = p * z + series[j]
    return p


@device
def _rint(v, c):
    """v rounded to the nearest integer, ties to even, in v's dtype (NaN, inf and -0 kept):
    adding 2**(mantissa bits) leaves no fraction bits."""
    big = c[11]
    a = abs(v)
    if a < big:
        a = (a + big) - big
    return math.copysign(a, v)


@device
def _floor(v, c):
    r = _rint(v, c)
    return r - c[2] if r > v else r


@device
def _ceil(v, c):
    r = _rint(v, c)
    return r + c[2] if r < v else r


@device
def _sin_cos(v, c, s):
    """(sin v, cos v): v less the nearest multiple n of pi/2, in three exact parts, then
    the polynomials, rotated by n quarter turns. NaN for inf and NaN."""
    zero, half, one, two, three, pi, ln2, inf, nan, eps, tiny, big, huge = c
    if not abs(v) < inf:
        return nan, nan
    n = _rint(v * (two / pi), c)
    r = ((v - n * s[0]) - n * s[1]) - n * s[2]
    z = r * r
    sin_r = r + r * z * _polynomial(z, s, 3, 6)
    cos_r = one - half * z + z * z * _polynomial(z, s, 9, 6)
    quarter = int(n) & 3
    if quarter == 0:
        return sin_r, cos_r
    if quarter == 1:
        return cos_r, -sin_r
    if quarter == 2:
        return -sin_r, -cos_r
    return -cos_r, sin_r


@device
def _bessel_i(order, v, c):
    """I_0 (order 0) or I_1 (order 1) of v by the power series in (v/2)^2, summed until a
    term no longer changes the sum; NaN at +-inf, as numpy's and scipy's."""
    zero, half, one = c[0], c[1], c[2]
    if not abs(v) < c[7]:
        return c[8]
    h = half * abs(v)
    q = h * h
    term = one if order == 0 else h
    shift = zero if order == 0 else one
    total = term
    j = one
    while term > c[9] * total:
        term = term * q / (j * (j + shift))
        total += term
        j += one
    return total if order == 0 else math.copysign(total, v)


@device
def _erfinv(v, c, s):
    """erfinv v: Giles's approximation, then two Newton steps on erf (on erfc for
    |v| > 1/2, where 1 - |v| is exact)."""
    zero, half, one, two, three, pi, ln2, inf, nan, eps, tiny, big, huge = c
    a = abs(v)
    if not a <= one:
        return nan
    if a == one:
        return math.copysign(inf, v)
    w = -math.log((one - a) * (one + a))
    if w < two + three:
        y = _polynomial(w - (two + half), s, 15, 9) * a
    else:
        y = _polynomial(math.sqrt(w) - three, s, 24, 9) * a
    slope = two / math.sqrt(pi)
    for _ in range(2):
        residual = (one - a) - math.erfc(y) if a > half else math.erf(y) - a
        y = y - residual / (slope * math.exp(-y * y))
    return math.copysign(y, v)


@device
def _unary(op, v, c, s):
    """UNARY_MATH's function number `op` of v."""
    zero, half, one, two, three, pi, ln2, inf, nan, eps, tiny, big, huge = c
    if op <= _TAN:
        sin_v, cos_v = _sin_cos(v, c, s)
        if op == _SIN:
            return sin_v
        return cos_v if op == _COS else sin_v / cos_v
    if op == _ARCSIN:
        return math.asin(v)
    if op == _ARCCOS:
        return math.acos(v)
    if op == _ARCTAN:
        return math.atan(v)
    if op == _SINH:
        return math.sinh(v)
    if op == _COSH:
        return math.cosh(v)
    if op == _ARCSINH:
        return math.asinh(v)
    if op == _ARCCOSH:
        return math.acosh(v)
    if op == _ARCTANH:
        return math.atanh(v)
    if op == _EXP2:
        return math.pow(two, v)
    if op == _EXPM1:
        return math.expm1(v)
    if op == _LOG1P:
        return math.log1p(v)
    if op == _LOG2:
        return math.log2(v)
    if op == _LOG10:
        return math.log10(v)
    if op == _CBRT:                      # pow, then one Newton step on y^3 = v
        y = math.copysign(math.pow(abs(v), one / three), v)
        if y != zero and y - y == zero:
            y = y - (y * y * y - v) / (three * y * y)
        return y
    if op == _RSQRT:
        return one / math.sqrt(v)
    if op == _RECIPROCAL:
        return one / v
    if op == _FLOOR:
        return _floor(v, c)
    if op == _CEIL:
        return _ceil(v, c)
    if op == _RINT:
        return _rint(v, c)
    if op == _TRUNC:
        return _floor(v, c) if v >= zero else _ceil(v, c)
    if op == _SINC:                      # numpy's sin(pi x) / (pi x), 1 at 0
        if v == zero:
            return one
        t = pi * v
        return _sin_cos(t, c, s)[0] / t
    if op == _I0:
        return _bessel_i(0, v, c)
    if op == _I1:
        return _bessel_i(1, v, c)
    if op == _ERF:
        return math.erf(v)
    if op == _ERFC:
        return math.erfc(v)
    return _erfinv(v, c, s)


@kernel(*[(types.int64, f[::1], f[::1], types.UniTuple(f, _N_CONSTANTS), f[::1])
          for f in FLOATS])
def _unary_math(op, x, out, c, s):
    """out[i] = UNARY_MATH's function `op` of x[i]."""
    for i in range(grid(1), x.size, gridsize(1)):
        out[i] = _unary(op, x[i], c, s)


@kernel(*[(types.int64, f[::1], types.boolean[::1], types.UniTuple(f, _N_CONSTANTS))
          for f in FLOATS])
def _float_predicate(op, x, out, c):
    """out[i] = PREDICATES's test `op` of the float x[i]."""
    zero, one, inf = c[0], c[2], c[7]
    for i in range(grid(1), x.size, gridsize(1)):
        v = x[i]
        if op == _ISFINITE:
            out[i] = abs(v) < inf
        elif op == _ISINF:
            out[i] = v == inf or v == -inf
        elif op == _ISNAN:
            out[i] = v != v
        elif op == _ISNEGINF:
            out[i] = v == -inf
        elif op == _ISPOSINF:
            out[i] = v == inf
        elif op == _SIGNBIT:
            out[i] = math.copysign(one, v) < zero
        elif op == _ISREAL:
            out[i] = True
        else:
            out[i] = v == zero


@device
def _logaddexp(x, y, base_two, c):
    """log(e^x + e^y) (base 2: log2(2^x + 2^y)) without overflow, as numpy's."""
    zero, one, two, ln2 = c[0], c[2], c[3], c[6]
    if x == y:                           # also both infinite
        return x + (one if base_two else ln2)
    d = x - y
    if d != d:
        return d
    top = x if d > zero else y
    if base_two:
        return top + math.log1p(math.pow(two, -abs(d))) / ln2
    return top + math.log1p(math.exp(-abs(d)))


@device
def _nextafter(x, y, c):
    """The float after x towards y: x plus or minus the spacing of floats at x (half of it
    below a power of two when moving towards zero; the smallest subnormal at least)."""
    zero, half, eps, tiny = c[0], c[1], c[9], c[10]
    if x != x or y != y:
        return x + y
    if x == y:
        return y
    if x == zero:
        return math.copysign(tiny, y)
    if not abs(x) < c[7]:
        return math.copysign(c[12], x)
    mantissa, exponent = math.frexp(x)
    towards_zero = (y > x) != (x > zero)
    step = math.ldexp(eps, exponent - (2 if towards_zero and abs(mantissa) == half else 1))
    step = max(step, tiny)
    return x + step if y > x else x - step


@device
def _float_mod(x, y, c):
    """numpy's float mod: the remainder with y's sign (NaN for y = 0)."""
    zero = c[0]
    if y == zero:
        return c[8]
    r = math.fmod(x, y)
    if r != zero:
        if (y < zero) != (r < zero):
            r += y
        return r
    return math.copysign(zero, y)


@device
def _float_floor_divide(x, y, c):
    """numpy's float floor division: (x - fmod(x, y)) / y, corrected to the floor."""
    zero, half, one, inf, nan = c[0], c[1], c[2], c[7], c[8]
    if y == zero:
        if x == zero or x != x:
            return nan
        return math.copysign(inf, x) * math.copysign(one, y)
    r = math.fmod(x, y)
    q = (x - r) / y
    if r != zero and (y < zero) != (r < zero):
        q -= one
    if q == zero:
        return math.copysign(zero, x / y)
    f = _floor(q, c)
    return f + one if q - f > half else f


@device
def _binary_float(op, x, y, c):
    """BINARY_MATH's function number `op` of the floats x and y."""
    zero, one = c[0], c[2]
    if op == _ARCTAN2:
        return math.atan2(x, y)
    if op == _HYPOT:
        return math.hypot(x, y)
    if op == _LOGADDEXP:
        return _logaddexp(x, y, False, c)
    if op == _LOGADDEXP2:
        return _logaddexp(x, y, True, c)
    if op == _NEXTAFTER:
        return _nextafter(x, y, c)
    if op == _HEAVISIDE:
        if x < zero:
            return zero
        return one if x > zero else (y if x == zero else x)
    if op == _LDEXP:
        return math.ldexp(x, int(y))
    if op == _MOD:
        return _float_mod(x, y, c)
    if op == _FMOD:
        return math.fmod(x, y) if y != zero else c[8]
    if op == _FLOOR_DIVIDE:
        return _float_floor_divide(x, y, c)
    if op == _FMAX:                       # NaN only when both are
        return x if x >= y or y != y else y
    return x if x <= y or y != y else y   # _FMIN


@kernel(*[(types.int64, types.UniTuple(f, _N_CONSTANTS), f[::1], f[::1], f[::1], GEOMETRY)
          for f in FLOATS])
def _float_binary(op, c, a, b, out, geometry):
    """out[i] = BINARY_MATH's function `op` at index i of the broadcast shape geometry[0];
    a's and b's strides are geometry[1] and geometry[2]."""
    for i in range(grid(1), out.size, gridsize(1)):
        out[i] = _binary_float(op, a[_offset(geometry, 1, i)], b[_offset(geometry, 2, i)], c)


@device
def _binary_integer(op, x, y, bits):
    """BINARY_MATH's function number `op` of the integers x and y (`bits` wide): division
    by 0 gives 0, shifts by less than 0 or at least `bits` give 0 (or -1 for x < 0 shifted
    right), as numpy's."""
    if op == _GCD or op == _LCM:
        a, b = abs(x), abs(y)
        while b != 0:
            a, b = b, a % b
        if op == _GCD:
            return a
        return 0 if a == 0 else abs(x // a * y)
    if op == _AND:
        return x & y
    if op == _OR:
        return x | y
    if op == _XOR:
        return x ^ y
    if op == _LEFT_SHIFT:
        return x << y if 0 <= y < bits else 0
    if op == _RIGHT_SHIFT:
        if 0 <= y < bits:
            return x >> y
        return -1 if x < 0 else 0
    if op == _FMAX:
        return max(x, y)
    if op == _FMIN:
        return min(x, y)
    if y == 0:
        return 0
    if op == _MOD:
        return x % y
    if op == _FLOOR_DIVIDE:
        return x // y
    r = abs(x) % abs(y)                  # _FMOD: the remainder with x's sign
    return -r if x < 0 else r


@kernel(*[(types.int64, types.int64, t[::1], t[::1], t[::1], GEOMETRY) for t in INTS])
def _integer_binary(op, bits, a, b, out, geometry):
    """out[i] = BINARY_MATH's function `op` at index i of the broadcast shape geometry[0]
    for integers `bits` wide."""
    for i in range(grid(1), out.size, gridsize(1)):
        out[i] = _binary_integer(op, a[_offset(geometry, 1, i)], b[_offset(geometry, 2, i)],
                                 bits)


# ---------------------------------------------------------------------------- host

def unary_math(name, x):
    """UNARY_MATH's function `name` of a float x, elementwise, in x's dtype."""
    x = _device(x)
    out = empty(tuple(x.shape), x.dtype)
    if out.size:
        _unary_math[blocks(out.size), THREADS](_UNARY_CODE[name], _flat(x), _flat(out),
                                               *_constants(x.dtype))
    return out


def predicate(name, x):
    """PREDICATES's test `name` of x, elementwise, bool: one kernel for floats; integers
    and bools are finite, real and not NaN, their sign bit is x < 0, and not x is x == 0."""
    x = _device(x)
    shape = tuple(x.shape)
    if x.dtype.kind == "f":
        out = empty(shape, np.bool_)
        if out.size:
            _float_predicate[blocks(out.size), THREADS](_PREDICATE_CODE[name], _flat(x),
                                                        _flat(out), _constants(x.dtype)[0])
        return out
    if name in ("isfinite", "isreal"):
        return _filled(shape, np.bool_, True)
    if name == "signbit":
        return less(x, x.dtype.type(0))
    if name == "logical_not":
        return equal(x, x.dtype.type(0))
    return _filled(shape, np.bool_, False)


def binary_math(name, a, b):
    """BINARY_MATH's function `name` of a and b (one dtype; Python numbers take it),
    broadcast, in that dtype: one kernel for floats, one for integers; bools by array.py's
    kernels (and: min, or: max, xor: !=)."""
    dtype = _result_type(a, b)
    a, b = _operand(a, dtype), _operand(b, dtype)
    if dtype == np.bool_:
        return _BOOL_BINARY[name](a, b)
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    out = empty(shape, dtype)
    if dtype.kind == "f":
        return _broadcast(_float_binary, shape, out, a, b,
                          leading=(_BINARY_CODE[name], _constants(dtype)[0]))
    return _broadcast(_integer_binary, shape, out, a, b,
                      leading=(_BINARY_CODE[name], 8 * dtype.itemsize))
