"""Activation ops: one op class over the `<name>_forward/_backward` kernel pairs; softmax and
log_softmax run their fused last-axis row kernels over any axis."""
from __future__ import annotations

from dataclasses import dataclass

from .elementwise import UnaryOp
from .shape import moveaxis


@dataclass(frozen=True)
class Activation(UnaryOp):
    """y = f(x) elementwise, for the kernel pair `<kernel>_forward` / `<kernel>_backward`;
    `params` are the kernel's extra scalar arguments."""

    kernel: str
    params: tuple = ()

    def forward(self, k, x):
        return getattr(k, self.kernel + "_forward")(x, *self.params)

    def vjp(self, k, dy, y, x):
        return (getattr(k, self.kernel + "_backward")(dy, x, y, *self.params),)


def _over_axis(kernel: str, x, axis: int):
    """The row kernels work on the last axis: move `axis` there and back."""
    if not len(x.shape) or axis % len(x.shape) == len(x.shape) - 1:
        return Activation(kernel)(x)
    return moveaxis(Activation(kernel)(moveaxis(x, axis, -1)), -1, axis)


def softmax(x, axis: int = -1):
    """exp(x) / sum(exp(x)) along `axis`, computed stably."""
    return _over_axis("softmax", x, axis)


def log_softmax(x, axis: int = -1):
    """x - logsumexp(x) along `axis`."""
    return _over_axis("log_softmax", x, axis)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    return Activation("relu", (float(negative_slope), max_value, float(threshold)))(x)


def relu6(x):
    return Activation("relu", (0.0, 6.0, 0.0))(x)


def leaky_relu(x, negative_slope=0.2):
    return Activation("relu", (float(negative_slope), None, 0.0))(x)


def elu(x, alpha=1.0):
    return Activation("elu", (float(alpha),))(x)


def gelu(x, approximate=True):
    return Activation("gelu", (bool(approximate),))(x)


def _simple(kernel: str):
    op = Activation(kernel)

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
