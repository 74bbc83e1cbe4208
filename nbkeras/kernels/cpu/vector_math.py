"""Math functions that vectorise inside Numba loops. Numba calls the C library's scalar
`exp` and `tanh`, which stop LLVM from vectorising any loop around them; `exp` here is, for
float32, a Cody–Waite range reduction and a degree-7 polynomial (within 1 ulp of the
correctly rounded result over every float32, denormals, overflow and NaN included) built
from arithmetic and bit casts only; `tanh` and `sigmoid` are built on it (float32: absolute
error within 2e-7). Other dtypes keep the library's functions, so float64 gradient checks see
the exact ones.

Choices are made with `_select` (LLVM's `select`), not Python's `a if c else b`: Numba's
inliner mis-scopes an if-expression inlined twice into one function (numba#9489, Python
3.11), and every kernel that used these printed four "please report" NumbaIRAssumptionWarnings
when it compiled."""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

__all__ = ["exp", "tanh", "sigmoid"]

@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the int32 `bits`."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@intrinsic
def _select(typingctx, condition, if_true, if_false):
    """if_true where `condition` else if_false (float32), without a branch."""
    def codegen(context, builder, signature, args):
        return builder.select(*args)
    return types.float32(types.boolean, types.float32, types.float32), codegen


@njit(inline="always", fastmath={"contract"})
def _times_power_of_two(p, n):
    """p * 2.0 ** n (float32) for integer n in [-151, 128]: two normal factors, applied one
    at a time, so denormal results and overflow to inf come out right."""
    half = n >> 1
    p = p * _float32_from_bits((half + np.int32(127)) << 23)
    return p * _float32_from_bits((n - half + np.int32(127)) << 23)


@njit(inline="always", fastmath={"contract"})
def _exp_float32(x):
    """e ** x: x = n ln 2 + r with |r| <= ln 2 / 2, e ** r by Taylor's polynomial of degree 7
    (remainder below 5e-9), times 2 ** n. ln 2 = 0.693359375 (9 bits, so n times it is
    exact) - 2.12194440e-4; exp overflows above 88.73 and is 0 below -103.98."""
    clamped = min(max(x, np.float32(-104.0)), np.float32(89.0))
    n = np.floor(clamped * np.float32(1.4426950408889634) + np.float32(0.5))
    r = clamped - n * np.float32(0.693359375) - n * np.float32(-2.12194440e-4)
    p = np.float32(1 / 5040) * r + np.float32(1 / 720)
    p = p * r + np.float32(1 / 120)
    p = p * r + np.float32(1 / 24)
    p = p * r + np.float32(1 / 6)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    y = _times_power_of_two(p, np.int32(n))
    return _select(x != x, x, y)


def exp(x):
    """e ** x, vectorisable for float32 (see the module)."""
    return np.exp(x)


@overload(exp, inline="always")
def _exp_overload(x):
    if x == types.float32:
        return lambda x: _exp_float32(x)
    return lambda x: np.exp(x)


@njit(inline="always", fastmath={"contract"})
def _tanh_float32(x):
    """tanh x = sign(x) (1 - e) / (1 + e) with e = exp(-2 |x|) (no overflow)."""
    e = _exp_float32(np.float32(-2.0) * abs(x))
    y = (np.float32(1.0) - e) / (np.float32(1.0) + e)
    return _select(x < 0, -y, y)


def tanh(x):
    """tanh x, vectorisable for float32 (see the module)."""
    return np.tanh(x)


@overload(tanh, inline="always")
def _tanh_overload(x):
    if x == types.float32:
        return lambda x: _tanh_float32(x)
    return lambda x: np.tanh(x)


def sigmoid(x):
    """1 / (1 + e ** -x), vectorisable for float32 (see the module)."""
    return 1 / (1 + np.exp(-x))


@overload(sigmoid, inline="always")
def _sigmoid_overload(x):
    if x == types.float32:
        return lambda x: np.float32(1.0) / (np.float32(1.0) + _exp_float32(-x))
    return lambda x: 1 / (1 + np.exp(-x))
