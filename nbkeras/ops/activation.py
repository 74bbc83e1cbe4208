"""Activation ops: one op class over the `<name>_forward/_backward` kernel pairs; softmax and
log_softmax run their fused last-axis row kernels over any axis or axes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .composite import composite
from .elementwise import UnaryOp
from .reduction import normalize_axes
from .shape import reshape, transpose


@dataclass(frozen=True)
class Activation(UnaryOp):
    """y = f(x) elementwise by a kernel pair: `kernels(k)` gives (forward, backward) of
    kernel module k (`lambda k: (k.relu_forward, k.relu_backward)`); `params` are the
    kernels' extra scalar arguments. The backward reads x and y (dy, x, y, *params)."""

    kernels: Callable
    params: tuple = ()

    def forward(self, k, x):
        y = self.kernels(k)[0](x, *self.params)
        return y, (x, y)

    def vjp(self, k, dy, residuals, needs):
        return (self.kernels(k)[1](dy, *residuals, *self.params),)


KERNELS = {   # name -> the kernel pair of a device module, by explicit attribute
    "linear": lambda k: (k.linear_forward, k.linear_backward),
    "relu": lambda k: (k.relu_forward, k.relu_backward),
    "elu": lambda k: (k.elu_forward, k.elu_backward),
    "selu": lambda k: (k.selu_forward, k.selu_backward),
    "gelu": lambda k: (k.gelu_forward, k.gelu_backward),
    "sigmoid": lambda k: (k.sigmoid_forward, k.sigmoid_backward),
    "silu": lambda k: (k.silu_forward, k.silu_backward),
    "softplus": lambda k: (k.softplus_forward, k.softplus_backward),
    "mish": lambda k: (k.mish_forward, k.mish_backward),
    "hard_sigmoid": lambda k: (k.hard_sigmoid_forward, k.hard_sigmoid_backward),
    "tanh": lambda k: (k.tanh_forward, k.tanh_backward),
    "softsign": lambda k: (k.softsign_forward, k.softsign_backward),
    "exponential": lambda k: (k.exponential_forward, k.exponential_backward),
    "softmax": lambda k: (k.softmax_forward, k.softmax_backward),
    "log_softmax": lambda k: (k.log_softmax_forward, k.log_softmax_backward),
}


def _over_axis(kernel: str, x, axis):
    """The row kernels work on the last axis: move the axes of `axis` (an int or a tuple,
    normalized over together) last, merged into one, and back."""
    rank = len(x.shape)
    activation = Activation(KERNELS[kernel])
    if not rank:
        return activation(x)
    axes = normalize_axes(axis, rank, kernel)
    order = [i for i in range(rank) if i not in axes] + list(axes)
    moved = transpose(x, order) if order != list(range(rank)) else x
    if len(axes) == 1:
        y = activation(moved)
    else:   # rows of the merged axes; an unknown batch size stays the one -1
        sizes = [moved.shape[i] for i in range(rank - len(axes), rank)]
        rows = (*(-1 if n is None else n for n in moved.shape[:rank - len(axes)]),
                -1 if None in sizes else math.prod(sizes))
        y = reshape(activation(reshape(moved, rows)), moved.shape)
    return y if moved is x else transpose(y, [order.index(i) for i in range(rank)])


@composite("axis")
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis` (an int, or a tuple normalized over together),
    computed stably."""
    return _over_axis("softmax", x, axis)


@composite("axis")
def log_softmax(x, axis=-1):
    """x - logsumexp(x) along `axis` (an int or a tuple)."""
    return _over_axis("log_softmax", x, axis)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    return Activation(KERNELS["relu"], (float(negative_slope), max_value, float(threshold)))(x)


def relu6(x):
    return Activation(KERNELS["relu"], (0.0, 6.0, 0.0))(x)


def leaky_relu(x, negative_slope=0.2):
    return Activation(KERNELS["relu"], (float(negative_slope), None, 0.0))(x)


def elu(x, alpha=1.0):
    return Activation(KERNELS["elu"], (float(alpha),))(x)


def gelu(x, approximate=True):
    return Activation(KERNELS["gelu"], (bool(approximate),))(x)


def _simple(kernel: str):
    op = Activation(KERNELS[kernel])

    def activation(x):
        return op(x)
    activation.__name__ = kernel
    return activation


linear = _simple("linear")
selu = _simple("selu")
silu = _simple("silu")
swish = silu
mish = _simple("mish")
sigmoid = _simple("sigmoid")
hard_sigmoid = _simple("hard_sigmoid")
tanh = _simple("tanh")
softplus = _simple("softplus")
softsign = _simple("softsign")
exponential = _simple("exponential")
