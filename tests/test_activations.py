"""nbkeras.activations: every Keras 3.15 activation by name (`get`, `serialize`,
`deserialize`, aliases), the new ones against plain numpy with float64 gradients off their
kinks, Dense and Activation layers naming them (config round trips, numbers), and Keras's
signatures and Dense outputs where Keras is installed. (The ops themselves are checked in
tests/ops/test_nn_function_ops.py and tests/ops/test_activation_ops.py.)"""
from __future__ import annotations

import inspect
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import activations, layers
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

KERAS_NAMES = [
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh",
    "tanh_shrink", "threshold"]
ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _sparsemax(x, axis=-1):
    """Projection onto the simplex, row by row: the largest k with 1 + k z_(k) > sum of the
    k largest sets tau = (that sum - 1) / k."""
    moved = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    out = np.empty_like(moved)
    for index in np.ndindex(moved.shape[:-1]):
        row = moved[index]
        z = sorted(row, reverse=True)
        k, total = 0, 0.0
        for j, v in enumerate(z, start=1):
            if 1 + j * v > total + v:
                k, total = j, total + v
            else:
                break
        tau = (total - 1) / k
        out[index] = [max(v - tau, 0.0) for v in row]
    return np.moveaxis(out, -1, axis)


# name: (call with Keras's defaults, plain numpy reference, kinks to keep inputs away from)
NEW = {
    "celu": (lambda f, x: f(x), lambda x: np.where(x > 0, x, np.expm1(x)), (0.0,)),
    "glu": (lambda f, x: f(x), lambda x: np.split(x, 2, -1)[0] * _sigmoid(np.split(x, 2, -1)[1]),
            ()),
    "hard_shrink": (lambda f, x: f(x), lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
                    (-0.5, 0.5)),
    "hard_silu": (lambda f, x: f(x), lambda x: x * np.clip(x + 3, 0, 6) / 6, (-3.0, 3.0)),
    "hard_swish": (lambda f, x: f(x), lambda x: x * np.clip(x + 3, 0, 6) / 6, (-3.0, 3.0)),
    "hard_tanh": (lambda f, x: f(x), lambda x: np.clip(x, -1, 1), (-1.0, 1.0)),
    "log_sigmoid": (lambda f, x: f(x), lambda x: -np.logaddexp(0, -x), ()),
    "soft_shrink": (lambda f, x: f(x), lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0),
                    (-0.5, 0.5)),
    "sparse_plus": (lambda f, x: f(x),
                    lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
                    (-1.0, 1.0)),
    "sparse_sigmoid": (lambda f, x: f(x), lambda x: np.clip((x + 1) / 2, 0, 1), (-1.0, 1.0)),
    "sparsemax": (lambda f, x: f(x), _sparsemax, ()),
    "squareplus": (lambda f, x: f(x), lambda x: (x + np.sqrt(x * x + 4)) / 2, ()),
    "tanh_shrink": (lambda f, x: f(x), lambda x: x - np.tanh(x), ()),
    "threshold": (lambda f, x: f(x, 0.3, -2.0), lambda x: np.where(x > 0.3, x, -2.0), (0.3,)),
}
# the non-default arguments Keras's signatures allow
NON_DEFAULT = {
    "celu": (lambda f, x: f(x, alpha=0.6),
             lambda x: np.where(x > 0, x, 0.6 * np.expm1(x / 0.6)), (0.0,)),
    "glu": (lambda f, x: f(x, axis=0),
            lambda x: np.split(x, 2, 0)[0] * _sigmoid(np.split(x, 2, 0)[1]), ()),
    "hard_shrink": (lambda f, x: f(x, threshold=1.2),
                    lambda x: np.where(np.abs(x) > 1.2, x, 0.0), (-1.2, 1.2)),
    "soft_shrink": (lambda f, x: f(x, threshold=0.2),
                    lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.2, 0), (-0.2, 0.2)),
    "sparsemax": (lambda f, x: f(x, axis=0), lambda x: _sparsemax(x, 0), ()),
    "squareplus": (lambda f, x: f(x, b=1.5), lambda x: (x + np.sqrt(x * x + 1.5)) / 2, ()),
}


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


# ------------------------------------------------------------------------- names and lookup

@pytest.mark.parametrize("name", KERAS_NAMES)
def test_every_keras_name_gets_serializes_and_deserializes(name):
    fn = activations.get(name)
    assert fn is getattr(activations, name) and callable(fn)
    canonical = ALIASES.get(name, name)
    assert activations.serialize(fn) == canonical == fn.__name__
    assert activations.deserialize(canonical) is fn
    assert activations.deserialize(name) is fn
    assert activations.deserialize({"class_name": "function", "config": canonical,
                                    "module": "keras.activations"}) is fn
    assert activations.get({"class_name": "function", "config": canonical}) is fn


def test_get_passes_callables_and_none_and_rejects_unknown_names():
    def custom(x):
        return x * 2
    assert activations.get(custom) is custom and activations.serialize(custom) is custom
    assert activations.get(None) is activations.linear
    assert activations.deserialize("mine", custom_objects={"mine": custom}) is custom
    with pytest.raises(ValueError, match="Unknown activation 'celuu'"):
        activations.get("celuu")
    with pytest.raises(ValueError, match="Unknown activation 'celuu'"):
        layers.Dense(3, activation="celuu")
    with pytest.raises(ValueError, match="activation config"):
        activations.deserialize({"class_name": "Celu", "config": {}})
    with pytest.raises(ValueError, match="activation identifier"):
        activations.get(3)


def test_signatures_match_keras():
    keras = _keras()
    for name in KERAS_NAMES:
        ours = inspect.signature(getattr(activations, name))
        theirs = inspect.signature(getattr(keras.activations, name))
        assert [(p.name, p.default) for p in ours.parameters.values()] == \
               [(p.name, p.default) for p in theirs.parameters.values()], name


# ------------------------------------------------------------------ numbers and gradients

@pytest.mark.parametrize("name", sorted(NEW))
@given(shape=nst.shapes(min_rank=1, max_rank=3, min_side=1, max_side=4), data=st.data())
def test_new_activations_match_numpy_and_finite_differences(name, shape, data):
    for table in (NEW, NON_DEFAULT):
        if name not in table:
            continue
        call, reference, kinks = table[name]
        if name == "glu":
            shape = shape[:-1] + (2 * shape[-1],) if table is NEW else (2 * shape[0],) + shape[1:]
        x = data.draw(nst.arrays(shape, kinks=kinks, scale=2.0), label="x")
        y = call(activations.get(name), x)
        assert isinstance(y, nk.Tensor) and y.dtype == "float64"
        np.testing.assert_allclose(y.numpy(), reference(x), rtol=1e-12, atol=1e-12)
        if name != "sparsemax":         # its kinks move with x; the op tests check it off them
            check_grads(lambda t: call(activations.get(name), t), [x])


def test_sparsemax_is_the_simplex_projection():
    x = np.array([[0.5, 0.4, 0.3, -1.0], [2.0, 1.9, 0.0, 1.95]])
    y = activations.sparsemax(x).numpy()
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(y, _sparsemax(x), rtol=1e-12, atol=1e-15)
    # Keras 3.15's formula returns all zeros for both rows; the projection sums to 1
    np.testing.assert_allclose(y[0], [0.4333333333333333, 0.3333333333333333,
                                      0.2333333333333333, 0.0], rtol=1e-12)


# ------------------------------------------------------------------------------- layers

LAYER_NAMES = [n for n in NEW if n != "threshold"]    # threshold has no default arguments


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_dense_and_activation_layers_by_name(name):
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1.5, (3, 5))
    dense = layers.Dense(4, activation=name, dtype="float64")
    y = dense(x).numpy()
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(y, NEW[name][1](x @ kernel + bias), rtol=1e-12, atol=1e-12)
    config = dense.get_config()
    assert config["activation"] == ALIASES.get(name, name)
    again = layers.Dense.from_config(config)
    again.build((None, 5))
    again.set_weights([kernel, bias])
    np.testing.assert_allclose(again(x).numpy(), y, rtol=0, atol=0)
    layer = layers.Activation(name, dtype="float64")
    assert layer.get_config()["activation"] == ALIASES.get(name, name)
    x = rng.normal(0, 1.5, (3, 6))
    np.testing.assert_allclose(layers.Activation.from_config(layer.get_config())(x).numpy(),
                               NEW[name][1](x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_dense_matches_keras(name):
    """Dense(4, activation=name) in float32, nbkeras's weights copied into Keras's layer. For
    sparsemax the inputs keep one entry per row more than 1 above the rest, where Keras
    3.15's formula agrees with the projection."""
    keras = _keras()
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1.5, (6, 5)).astype("float32")
    ours = layers.Dense(4, activation=name, dtype="float32")
    y = ours(x).numpy()
    kernel, bias = ours.get_weights()
    if name == "sparsemax":
        bias = bias + np.array([0.0, 0.0, 20.0, 0.0], "float32")
        ours.set_weights([kernel, bias])
        y = ours(x).numpy()
    theirs = keras.layers.Dense(4, activation=name, dtype="float32")
    theirs.build((None, 5))
    theirs.set_weights([kernel, bias])
    expected = np.asarray(theirs(x))
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=2e-6, atol=2e-6)
    assert ours.get_config()["activation"] == theirs.get_config()["activation"]
