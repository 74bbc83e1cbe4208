"""Activation functions by name, as in `keras.activations` (all differentiable ops)."""
from __future__ import annotations

from . import ops


def linear(x): return ops.linear(x)
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    return ops.relu(x, negative_slope, max_value, threshold)
def relu6(x): return ops.relu6(x)
def leaky_relu(x, negative_slope=0.2): return ops.leaky_relu(x, negative_slope)
def elu(x, alpha=1.0): return ops.elu(x, alpha)
def selu(x): return ops.selu(x)
def gelu(x, approximate=False): return ops.gelu(x, approximate)
def silu(x): return ops.silu(x)
def mish(x): return ops.mish(x)
def sigmoid(x): return ops.sigmoid(x)
def hard_sigmoid(x): return ops.hard_sigmoid(x)
def tanh(x): return ops.tanh(x)
def softmax(x, axis=-1): return ops.softmax(x, axis)
def log_softmax(x, axis=-1): return ops.log_softmax(x, axis)
def softplus(x): return ops.softplus(x)
def softsign(x): return ops.softsign(x)
def exponential(x): return ops.exp(x)


swish = silu
_BY_NAME = {f.__name__: f for f in (linear, relu, relu6, leaky_relu, elu, selu, gelu, silu, mish,
                                     sigmoid, hard_sigmoid, tanh, softmax, log_softmax, softplus,
                                     softsign, exponential)}
_BY_NAME["swish"] = silu


def get(identifier):
    """The activation function for a name, a callable, or None (-> linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown activation {identifier!r}; expected one of "
                             f"{sorted(_BY_NAME)} or a callable")
        return _BY_NAME[identifier]
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation identifier {identifier!r}")


def serialize(activation):
    """The name of a built-in activation; a user's callable is returned as is."""
    return next((name for name, f in _BY_NAME.items() if f is activation and name != "swish"),
                activation)
