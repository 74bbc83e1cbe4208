"""Activation functions, the CUDA twins of `kernels.cpu.activations`: `<name>_forward(x,
*params)` and `<name>_backward(dy, x, y, *params)` over device arrays of any shape.

One elementwise grid-stride kernel per direction serves every activation: `kind` picks the
formula, the same for all threads of a launch, so the branch costs nothing. The formulas are
the CPU file's, as stable for large |x| (sigmoid via tanh, softplus as numpy's logaddexp).
Numbers enter as `k`, a tuple of the arrays' type (0, 1/2, 1, 3, 6, a, b, c), where a, b, c
are the activation's parameters (0 when unused): a bare `0.5` would make a float32 kernel
compute in float64.
"""
import math

from numba import types

from .runtime import FLOATS, THREADS, blocks, device, empty, grid, gridsize, kernel, to_device

__all__ = ["linear_forward", "linear_backward", "relu_forward", "relu_backward", "elu_forward",
           "elu_backward", "selu_forward", "selu_backward", "gelu_forward", "gelu_backward",
           "sigmoid_forward", "sigmoid_backward", "silu_forward", "silu_backward",
           "softplus_forward", "softplus_backward", "mish_forward", "mish_backward",
           "hard_sigmoid_forward", "hard_sigmoid_backward", "tanh_forward", "tanh_backward",
           "softsign_forward", "softsign_backward", "exponential_forward",
           "exponential_backward"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

# The kinds of activation the kernels compute (frozen into them as constants).
(_RELU, _ELU, _SELU, _GELU, _GELU_TANH, _SIGMOID, _SILU, _SOFTPLUS, _MISH, _HARD_SIGMOID, _TANH,
 _SOFTSIGN, _EXPONENTIAL) = range(13)


@device
def _sigmoid(x, half, one):
    return half * (one + math.tanh(half * x))


@device
def _softplus(x, zero):
    """log(1 + exp(x)), as numpy's logaddexp(0, x)."""
    return x + math.log1p(math.exp(-x)) if x > zero else math.log1p(math.exp(x))


@device
def _activate(kind, x, k, capped):
    """The activation `kind` of the scalar x."""
    zero, half, one, three, six, a, b, c = k
    if kind == _RELU:                  # a, b, c: negative_slope, max_value, threshold
        y = x if x >= c else (a * (x - c) if a != zero else zero)
        return b if capped and y > b else y
    if kind == _ELU:                   # a: alpha
        return x if x > zero else a * math.expm1(x)
    if kind == _SELU:                  # a, b: alpha, scale
        return b * (x if x > zero else a * math.expm1(x))
    if kind == _GELU:                  # a: sqrt(2)
        return half * x * (one + math.erf(x / a))
    if kind == _GELU_TANH:             # a, b: sqrt(2 / pi), 0.044715
        return half * x * (one + math.tanh(a * (x + b * (x * x * x))))
    if kind == _SIGMOID:
        return _sigmoid(x, half, one)
    if kind == _SILU:
        return x * _sigmoid(x, half, one)
    if kind == _SOFTPLUS:
        return _softplus(x, zero)
    if kind == _MISH:
        return x * math.tanh(_softplus(x, zero))
    if kind == _HARD_SIGMOID:          # relu6(x + 3) / 6
        y = x + three
        y = zero if y < zero else y
        return (six if y > six else y) / six
    if kind == _TANH:
        return math.tanh(x)
    if kind == _SOFTSIGN:
        return x / (one + abs(x))
    return math.exp(x)                 # _EXPONENTIAL


@device
def _activate_backward(kind, dy, x, y, k, capped):
    """dy times the derivative of the activation `kind` at x (y: its value there)."""
    zero, half, one, three, six, a, b, c = k
    if kind == _RELU:
        slope = one if x > c else a
        return dy * (zero if capped and y >= b else slope)   # capped where y reached b
    if kind == _ELU:
        return dy * (one if x > zero else a * math.exp(x))
    if kind == _SELU:
        return b * (dy * (one if x > zero else a * math.exp(x)))
    if kind == _GELU:                  # a, b: sqrt(2), sqrt(2 pi)
        cdf = half * (one + math.erf(x / a))
        pdf = math.exp(-half * x * x) / b
        return dy * (cdf + x * pdf)
    if kind == _GELU_TANH:             # a, b, c: sqrt(2 / pi), 0.044715, 3 * 0.044715
        t = math.tanh(a * (x + b * (x * x * x)))
        inner = a * (one + c * (x * x))
        return dy * (half * (one + t) + half * x * (one - t * t) * inner)
    if kind == _SIGMOID:
        return dy * y * (one - y)
    if kind == _SILU:
        s = _sigmoid(x, half, one)
        return dy * (s + x * s * (one - s))
    if kind == _SOFTPLUS:
        return dy * _sigmoid(x, half, one)
    if kind == _MISH:
        t = math.tanh(_softplus(x, zero))
        return dy * (t + x * (one - t * t) * _sigmoid(x, half, one))
    if kind == _HARD_SIGMOID:
        return dy * (one if -three < x < three else zero) / six
    if kind == _TANH:
        return dy * (one - y * y)
    if kind == _SOFTSIGN:
        d = one + abs(x)
        return dy / (d * d)
    return dy * y                      # _EXPONENTIAL


@kernel(*[(f[::1], types.int64, types.UniTuple(f, 8), types.boolean, f[::1]) for f in FLOATS])
def _forward_kernel(x, kind, k, capped, out):
    """out = activation(x), elementwise over flat arrays."""
    for i in range(grid(1), x.shape[0], gridsize(1)):
        out[i] = _activate(kind, x[i], k, capped)


@kernel(*[(f[::1], f[::1], f[::1], types.int64, types.UniTuple(f, 8), types.boolean, f[::1])
          for f in FLOATS])
def _backward_kernel(dy, x, y, kind, k, capped, out):
    """out = dy * activation'(x), elementwise over flat arrays."""
    for i in range(grid(1), x.shape[0], gridsize(1)):
        out[i] = _activate_backward(kind, dy[i], x[i], y[i], k, capped)


def _numbers(dtype, a, b, c):
    """k: (0, 1/2, 1, 3, 6, a, b, c) in `dtype`."""
    return tuple(dtype.type(v) for v in (0, 0.5, 1, 3, 6, a, b, c))


def _forward(x, kind, a=0.0, b=0.0, c=0.0, capped=False):
    x = to_device(x)
    out = empty(x.shape, x.dtype)
    _forward_kernel[blocks(x.size), THREADS](x.reshape(-1), kind, _numbers(x.dtype, a, b, c),
                                             capped, out.reshape(-1))
    return out


def _backward(dy, x, y, kind, a=0.0, b=0.0, c=0.0, capped=False):
    dy, x, y = to_device(dy), to_device(x), to_device(y)
    out = empty(dy.shape, dy.dtype)
    _backward_kernel[blocks(dy.size), THREADS](dy.reshape(-1), x.reshape(-1), y.reshape(-1),
                                               kind, _numbers(dy.dtype, a, b, c), capped,
                                               out.reshape(-1))
    return out


def _relu(negative_slope, max_value, threshold):
    """relu's kernel arguments: kind, a, b, c, capped."""
    capped = max_value is not None
    return _RELU, negative_slope, max_value if capped else 0.0, threshold, capped


def _gelu(approximate):
    """gelu's kernel arguments: kind, a, b, c (tanh form or exact, via erf)."""
    if approximate:
        return _GELU_TANH, _SQRT_2_OVER_PI, 0.044715, 3 * 0.044715
    return _GELU, math.sqrt(2.0), math.sqrt(2.0 * math.pi), 0.0


def linear_forward(x):
    return to_device(x)


def linear_backward(dy, x, y):
    return to_device(dy)


def relu_forward(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """x above threshold (capped at max_value), negative_slope * (x - threshold) below."""
    return _forward(x, *_relu(negative_slope, max_value, threshold))


def relu_backward(dy, x, y, negative_slope=0.0, max_value=None, threshold=0.0):
    return _backward(dy, x, y, *_relu(negative_slope, max_value, threshold))


def elu_forward(x, alpha=1.0):
    return _forward(x, _ELU, alpha)


def elu_backward(dy, x, y, alpha=1.0):
    return _backward(dy, x, y, _ELU, alpha)


def selu_forward(x):
    return _forward(x, _SELU, _SELU_ALPHA, _SELU_SCALE)


def selu_backward(dy, x, y):
    return _backward(dy, x, y, _SELU, _SELU_ALPHA, _SELU_SCALE)


def gelu_forward(x, approximate=False):
    return _forward(x, *_gelu(approximate))


def gelu_backward(dy, x, y, approximate=False):
    return _backward(dy, x, y, *_gelu(approximate))


def sigmoid_forward(x):
    return _forward(x, _SIGMOID)


def sigmoid_backward(dy, x, y):
    return _backward(dy, x, y, _SIGMOID)


def silu_forward(x):
    return _forward(x, _SILU)


def silu_backward(dy, x, y):
    return _backward(dy, x, y, _SILU)


def softplus_forward(x):
    return _forward(x, _SOFTPLUS)


def softplus_backward(dy, x, y):
    return _backward(dy, x, y, _SOFTPLUS)


def mish_forward(x):
    return _forward(x, _MISH)


def mish_backward(dy, x, y):
    return _backward(dy, x, y, _MISH)


def hard_sigmoid_forward(x):
    """relu6(x + 3) / 6."""
    return _forward(x, _HARD_SIGMOID)


def hard_sigmoid_backward(dy, x, y):
    return _backward(dy, x, y, _HARD_SIGMOID)


def tanh_forward(x):
    return _forward(x, _TANH)


def tanh_backward(dy, x, y):
    return _backward(dy, x, y, _TANH)


def softsign_forward(x):
    return _forward(x, _SOFTSIGN)


def softsign_backward(dy, x, y):
    return _backward(dy, x, y, _SOFTSIGN)


def exponential_forward(x):
    return _forward(x, _EXPONENTIAL)


def exponential_backward(dy, x, y):
    return _backward(dy, x, y, _EXPONENTIAL)
