"""nbkeras/ops/activation.py: every activation against its reference, configs, numerical stability
on huge inputs.

Forwards against plain numpy (tests/reference.py), gradients against central differences
(check_grads), on every device of the `device` fixture (tests/conftest.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

import reference  # tests/reference.py (tests/ is on sys.path: pyproject.toml)
from op_checks import assert_matches, assert_on_current_device, tensor  # tests/op_checks.py


# --------------------------------------------------------------------------- activations

SIMPLE_ACTIVATIONS = {
    # name: (reference, kinks, scale)
    "relu6": (reference.relu6, (0.0, 6.0), 4.0),
    "selu": (reference.selu, (0.0,), 1.5),
    "silu": (reference.silu, (), 2.0),
    "swish": (reference.silu, (), 2.0),
    "mish": (reference.mish, (), 2.0),
    "sigmoid": (reference.sigmoid, (), 3.0),
    "hard_sigmoid": (reference.hard_sigmoid, (-3.0, 3.0), 3.0),
    "tanh": (reference.tanh, (), 2.0),
    "softplus": (reference.softplus, (), 3.0),
    "softsign": (reference.softsign, (0.0,), 2.0),
    "exponential": (reference.exponential, (), 1.0),
    "linear": (reference.linear, (), 1.0),
}


@pytest.mark.parametrize("name", sorted(SIMPLE_ACTIVATIONS))
@given(data=st.data(), shape=nst.shapes(0, 3))
def test_simple_activations(device, name, data, shape):
    ref, kinks, scale = SIMPLE_ACTIVATIONS[name]
    x = data.draw(nst.arrays(shape, kinks=kinks, scale=scale))
    op = getattr(ops, name)
    assert_matches(op(x), ref(x))
    check_grads(op, [x])


@st.composite
def relu_configs(draw):
    threshold = draw(st.just(0.0) | st.floats(-1.0, 1.0))
    negative_slope = draw(st.just(0.0) | st.floats(0.05, 0.5))
    max_value = draw(st.none() | st.floats(max(threshold, 0.0) + 0.5, max(threshold, 0.0) + 3.0))
    return dict(negative_slope=negative_slope, max_value=max_value, threshold=threshold)


@given(data=st.data(), shape=nst.shapes(0, 3), config=relu_configs())
def test_relu_configs(device, data, shape, config):
    kinks = (config["threshold"],) + (() if config["max_value"] is None
                                      else (config["max_value"],))
    x = data.draw(nst.arrays(shape, kinks=kinks, scale=2.0))
    assert_matches(ops.relu(x, **config), reference.relu(x, **config))
    check_grads(lambda t: ops.relu(t, **config), [x])


def test_relu_keras_formula_on_fixed_points(device):
    x = np.array([-2.0, 0.5, 1.0, 1.5, 5.0, 6.0, 7.0])
    got = np.asarray(ops.relu(x, negative_slope=0.1, max_value=6.0, threshold=1.0))
    np.testing.assert_allclose(got, [-0.3, -0.05, 1.0, 1.5, 5.0, 6.0, 6.0], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ops.relu(x)), np.maximum(x, 0), rtol=0)


@given(data=st.data(), shape=nst.shapes(0, 3),
       slope=st.none() | st.floats(0.01, 0.9))
def test_leaky_relu(device, data, shape, slope):
    x = data.draw(nst.arrays(shape, kinks=(0.0,)))
    kwargs = {} if slope is None else {"negative_slope": slope}
    assert_matches(ops.leaky_relu(x, **kwargs), reference.leaky_relu(x, slope or 0.2))
    check_grads(lambda t: ops.leaky_relu(t, **kwargs), [x])


@given(data=st.data(), shape=nst.shapes(0, 3), alpha=st.none() | st.floats(0.1, 2.0))
def test_elu(device, data, shape, alpha):
    x = data.draw(nst.arrays(shape, kinks=(0.0,), scale=1.5))
    kwargs = {} if alpha is None else {"alpha": alpha}
    assert_matches(ops.elu(x, **kwargs), reference.elu(x, alpha or 1.0))
    check_grads(lambda t: ops.elu(t, **kwargs), [x])


@given(data=st.data(), shape=nst.shapes(0, 3), approximate=st.none() | st.booleans())
def test_gelu(device, data, shape, approximate):
    x = data.draw(nst.arrays(shape, scale=2.0))
    kwargs = {} if approximate is None else {"approximate": approximate}
    expected = reference.gelu(x, approximate=True if approximate is None else approximate)
    assert_matches(ops.gelu(x, **kwargs), expected)
    check_grads(lambda t: ops.gelu(t, **kwargs), [x])


def test_gelu_exact_and_approximate_differ(device):
    x = np.array([-2.0, -0.7, 0.4, 1.3, 3.0])
    exact, approx = np.asarray(ops.gelu(x, approximate=False)), np.asarray(ops.gelu(x))
    assert np.max(np.abs(exact - approx)) > 1e-5
    np.testing.assert_allclose(exact, reference.gelu(x, approximate=False), rtol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), default_axis=st.booleans())
def test_softmax_and_log_softmax_over_axis(device, name, data, shape, default_axis):
    axis = -1 if default_axis else data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(nst.arrays(shape, scale=3.0))
    op = getattr(ops, name)
    call = (lambda t: op(t)) if default_axis else (lambda t: op(t, axis=axis))
    expected = getattr(reference, name)(x, axis)
    assert_matches(call(x), expected)
    if name == "softmax":
        np.testing.assert_allclose(np.asarray(call(x)).sum(axis=axis), 1.0, rtol=1e-12)
    # on cuda a random-direction check (2 calls, not 2 per element: the simulator's row
    # kernels meet at a barrier per row)
    check_grads(call, [x], mode="projection" if device == "cuda" else "auto")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(3, 0), (0, 4), (2, 0, 5)])
def test_softmax_of_an_empty_tensor_is_empty(device, name, shape):
    """No rows, or rows of no values (Keras returns the empty shape): no kernel runs, and the
    gradient is empty too."""
    x = np.zeros(shape)
    t = tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = getattr(ops, name)(t)
        loss = ops.sum(y)
    assert y.shape == shape
    assert tape.gradient(loss, t).shape == shape
    assert_on_current_device(y)


STABILITY_CASES = {
    "softmax": (ops.softmax, lambda x: reference.softmax(x)),
    "log_softmax": (ops.log_softmax, lambda x: reference.log_softmax(x)),
    "sigmoid": (ops.sigmoid, reference.sigmoid),
    "softplus": (ops.softplus, reference.softplus),
}


@pytest.mark.parametrize("name", sorted(STABILITY_CASES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_large_inputs_stay_finite(device, name, dtype):
    op, ref = STABILITY_CASES[name]
    x = np.array([[1e4, -1e4, 0.0, 3.0], [-1e4, -1e4 + 1.0, -1e4, -1e4 - 5.0]], dtype=dtype)
    t = tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = op(t)
        loss = ops.sum(ops.multiply(y, np.array([1.0, -2.0, 0.5, 3.0], dtype=dtype)))
    assert_on_current_device(y)
    got = np.asarray(y)
    assert got.dtype == dtype
    assert np.all(np.isfinite(got)), got
    np.testing.assert_allclose(got, ref(x.astype(np.float64)),
                               rtol=1e-11 if dtype == "float64" else 1e-5, atol=1e-30)
    grad = np.asarray(tape.gradient(loss, t))
    assert np.all(np.isfinite(grad)), grad
