"""Math functions that vectorise inside Numba loops. Numba calls the C library's scalar
`exp` and `tanh`, which stop LLVM from vectorising any loop around them; `exp` here is, for
float32, a Cody–Waite range reduction and a degree-7 polynomial (within 1 ulp of the
correctly rounded result over every float32, denormals, overflow and NaN included) built
from arithmetic and bit casts only, written as LLVM IR (an intrinsic); `tanh` and `sigmoid`
are built on it (float32: absolute error within 2e-7). Other dtypes keep the library's
functions, so float64 gradient checks see the exact ones.

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
def _select(typingctx, condition, if_true, if_false):
    """if_true where `condition` else if_false (float32), without a branch."""
    def codegen(context, builder, signature, args):
        return builder.select(*args)
    return types.float32(types.boolean, types.float32, types.float32), codegen


_LOG2_E = 1.4426950408889634
_LN2_HIGH, _LN2_LOW = 0.693359375, -2.12194440e-4    # ln 2 in 9 bits (n times it is exact), rest
_TAYLOR = (1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5, 1.0, 1.0)   # e ** r, highest first


@intrinsic
def _exp_float32(typingctx, x):
    """e ** x for float32: x = n ln 2 + r with |r| <= ln 2 / 2, e ** r by Taylor's polynomial
    of degree 7 (remainder below 5e-9), times 2 ** n as two normal factors, one at a time (so
    denormal results and overflow to inf come out right); x clamped to [-104, 89] first (exp
    overflows above 88.73 and is 0 below -103.98), NaN returned as it came. Emitted as LLVM IR
    into the caller, multiplies and adds free to fuse (fast-math "contract"): the same
    instructions as when written in Python, without Numba inlining and typing them into every
    kernel (the MNIST convnet's softmax kernel compiled in 1.5 -> 0.8 s)."""
    def codegen(context, builder, signature, args):
        (x,) = args
        single, word = ir.FloatType(), ir.IntType(32)

        def constant(value):
            return ir.Constant(single, value)     # llvmlite rounds it to float32

        def multiply(a, b):
            return builder.fmul(a, b, flags=("contract",))

        def add(a, b):
            return builder.fadd(a, b, flags=("contract",))

        def two_to_the(k):                        # 2.0 ** k for int32 k in [-126, 127]
            exponent = builder.add(k, ir.Constant(word, 127))
            return builder.bitcast(builder.shl(exponent, ir.Constant(word, 23)), single)

        low = builder.select(builder.fcmp_ordered(">", x, constant(-104.0)), x,
                             constant(-104.0))
        clamped = builder.select(builder.fcmp_ordered("<", low, constant(89.0)), low,
                                 constant(89.0))
        floor = builder.module.declare_intrinsic("llvm.floor", [single])
        n = builder.call(floor, [add(multiply(clamped, constant(_LOG2_E)), constant(0.5))])
        r = builder.fsub(builder.fsub(clamped, multiply(n, constant(_LN2_HIGH)),
                                      flags=("contract",)),
                         multiply(n, constant(_LN2_LOW)), flags=("contract",))
        p = constant(_TAYLOR[0])
        for coefficient in _TAYLOR[1:]:
            p = add(multiply(p, r), constant(coefficient))
        whole = builder.fptosi(n, word)
        half = builder.ashr(whole, ir.Constant(word, 1))
        y = multiply(multiply(p, two_to_the(half)), two_to_the(builder.sub(whole, half)))
        return builder.select(builder.fcmp_unordered("uno", x, x), x, y)
    return types.float32(types.float32), codegen


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
