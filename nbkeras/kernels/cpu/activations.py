"""Activation functions: `<name>_forward(x, *params)` and `<name>_backward(dy, x, y, *params)`.

Elementwise numpy expressions, written to stay finite for large |x| (sigmoid via tanh,
softplus via logaddexp). Scalar parameters are Python floats, so float32 stays float32.
"""
import math

import numpy as np
from scipy.special import erf

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


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def linear_forward(x):
    return x


def linear_backward(dy, x, y):
    return dy


def relu_forward(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """x above threshold (capped at max_value), negative_slope * (x - threshold) below."""
    y = np.where(x >= threshold, x, negative_slope * (x - threshold) if negative_slope else 0.0)
    if max_value is not None:
        y = np.minimum(y, max_value)
    return y.astype(x.dtype, copy=False)


def relu_backward(dy, x, y, negative_slope=0.0, max_value=None, threshold=0.0):
    slope = np.where(x > threshold, 1.0, negative_slope)
    if max_value is not None:      # zero where the forward was capped (y reached max_value)
        slope = np.where(y >= max_value, 0.0, slope)
    return (dy * slope).astype(dy.dtype, copy=False)


def elu_forward(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_backward(dy, x, y, alpha=1.0):
    return dy * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))).astype(dy.dtype)


def selu_forward(x):
    return _SELU_SCALE * elu_forward(x, _SELU_ALPHA)


def selu_backward(dy, x, y):
    return _SELU_SCALE * elu_backward(dy, x, y, _SELU_ALPHA)


def gelu_forward(x, approximate=False):
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0))).astype(x.dtype)


def gelu_backward(dy, x, y, approximate=False):
    if approximate:
        t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
        inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x ** 2)
        return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner)
    cdf = (0.5 * (1.0 + erf(x / math.sqrt(2.0)))).astype(x.dtype)
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return dy * (cdf + x * pdf)


def sigmoid_forward(x):
    return _sigmoid(x)


def sigmoid_backward(dy, x, y):
    return dy * y * (1.0 - y)


def silu_forward(x):
    return x * _sigmoid(x)


def silu_backward(dy, x, y):
    s = _sigmoid(x)
    return dy * (s + x * s * (1.0 - s))


def softplus_forward(x):
    return np.logaddexp(x.dtype.type(0), x)


def softplus_backward(dy, x, y):
    return dy * _sigmoid(x)


def mish_forward(x):
    return x * np.tanh(softplus_forward(x))


def mish_backward(dy, x, y):
    t = np.tanh(softplus_forward(x))
    return dy * (t + x * (1.0 - t * t) * _sigmoid(x))


def hard_sigmoid_forward(x):
    """relu6(x + 3) / 6."""
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def hard_sigmoid_backward(dy, x, y):
    return dy * ((x > -3.0) & (x < 3.0)) / 6.0


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(dy, x, y):
    return dy * (1.0 - y * y)


def softsign_forward(x):
    return x / (1.0 + np.abs(x))


def softsign_backward(dy, x, y):
    return dy / (1.0 + np.abs(x)) ** 2


def exponential_forward(x):
    return np.exp(x)


def exponential_backward(dy, x, y):
    return dy * y
