"""Activation functions by name, as in `keras.activations` (all differentiable ops), with
Keras's `get`, `serialize` and `deserialize`."""
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


def celu(x, alpha=1.0):
    """x for x > 0, else alpha * (exp(x / alpha) - 1)."""
    return ops.celu(x, alpha)


def glu(x, axis=-1):
    """a * sigmoid(b) for the two halves a, b of x along `axis` (of even size)."""
    return ops.glu(x, axis)


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    return ops.hard_shrink(x, threshold)


def hard_silu(x):
    """x * relu6(x + 3) / 6 (also named hard_swish)."""
    return ops.hard_silu(x)


def hard_tanh(x):
    """x clipped to [-1, 1]."""
    return ops.hard_tanh(x)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    return ops.log_sigmoid(x)


def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, else 0."""
    return ops.soft_shrink(x, threshold)


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1."""
    return ops.sparse_plus(x)


def sparse_sigmoid(x):
    """0 for x <= -1, (x + 1) / 2 for -1 < x < 1, 1 for x >= 1."""
    return ops.sparse_sigmoid(x)


def sparsemax(x, axis=-1):
    """The Euclidean projection of x onto the probability simplex along `axis` (Martins &
    Astudillo, 2016): max(x - tau, 0) with tau chosen so each slice sums to 1.

    This is the true projection, as Keras's docstring defines it. Keras 3.15's own
    `sparsemax` computes tau from the sum of the running sums instead of the running sum
    of the k largest entries, which agrees with the projection only when a single entry
    stays nonzero; elsewhere its rows need not sum to 1 (for [0.5, 0.4, 0.3, -1.0] it
    returns all zeros, the projection [0.433, 0.333, 0.233, 0]). nbkeras keeps the
    projection."""
    return ops.sparsemax(x, axis)


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2, a smooth relu."""
    return ops.squareplus(x, b)


def tanh_shrink(x):
    """x - tanh(x)."""
    return ops.tanh_shrink(x)


def threshold(x, threshold, default_value):
    """x where x > threshold, else default_value."""
    return ops.threshold(x, threshold, default_value)


swish = silu
hard_swish = hard_silu

ALL_OBJECTS = (linear, relu, relu6, leaky_relu, elu, selu, gelu, silu, mish, sigmoid,
               hard_sigmoid, tanh, softmax, log_softmax, softplus, softsign, exponential, celu,
               glu, hard_shrink, hard_silu, hard_tanh, log_sigmoid, soft_shrink, sparse_plus,
               sparse_sigmoid, sparsemax, squareplus, tanh_shrink, threshold)
_BY_NAME = {f.__name__: f for f in ALL_OBJECTS}
_ALIASES = {"swish": silu, "hard_swish": hard_silu}
_BY_NAME.update(_ALIASES)
ALL_OBJECTS_DICT = dict(_BY_NAME)


def _lookup(name: str):
    if name not in _BY_NAME:
        raise ValueError(f"Unknown activation {name!r}; expected one of {sorted(_BY_NAME)} "
                         f"or a callable")
    return _BY_NAME[name]


def get(identifier):
    """As `keras.activations.get`: the activation function for a name (aliases "swish" and
    "hard_swish" included), a serialized dict, a callable (returned as is), or None
    (-> linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation identifier {identifier!r}")


def serialize(activation):
    """As `keras.activations.serialize`: the name of a built-in activation (an alias gives
    its function's own name: hard_swish -> "hard_silu"); a user's callable is returned as
    is."""
    return next((name for name, f in _BY_NAME.items()
                 if f is activation and name not in _ALIASES), activation)


def deserialize(config, custom_objects=None):
    """As `keras.activations.deserialize`: the function for a name, or for Keras's
    `{"class_name": "function", "config": name}`; names in the active custom_object_scope,
    registered with `register_keras_serializable` or in `custom_objects` come first."""
    from .saving.object_registration import get_registered_object

    if isinstance(config, dict):
        if config.get("class_name") != "function" or not isinstance(config.get("config"), str):
            raise ValueError(f"Could not interpret activation config {config!r}: expected a "
                             f"name or {{'class_name': 'function', 'config': name}}")
        config = config["config"]
    if not isinstance(config, str):
        raise ValueError(f"Could not interpret activation config {config!r}: expected a name")
    custom = get_registered_object(config, custom_objects)
    return custom if custom is not None else _lookup(config)
