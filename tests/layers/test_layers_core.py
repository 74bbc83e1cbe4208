"""Core layers: the layer contract (layer_test), forward against plain numpy, float64
gradients over Hypothesis-drawn configs and shapes, and config errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads, layer_test
from nbkeras.testing import strategies as nst

import reference


def reference_activation(name, x):
    """The plain-numpy activation by Keras name (gelu exact, as keras.activations.gelu)."""
    if name == "gelu":
        return reference.gelu(x, approximate=False)
    return getattr(reference, name or "linear")(x)


@given(config=nst.dense_configs(), shape=nst.shapes(2, 4, 1, 4), data=st.data())
def test_dense_matches_reference_and_finite_differences(config, shape, data):
    x = data.draw(nst.arrays(shape, kinks=(0.0,)))
    layer = layers.Dense(**config, dtype="float64")
    y = layer_test(layers.Dense, config, input_data=x,
                   expected_output_shape=(*shape[:-1], config["units"]), check_gradients=False)
    layer = layers.Dense(**config, dtype="float64")
    layer(x)
    weights = layer.get_weights()
    z = x @ weights[0] + (weights[1] if config["use_bias"] else 0)
    np.testing.assert_allclose(np.asarray(layer(x)), reference_activation(config["activation"], z),
                               rtol=1e-10, atol=1e-12)
    assert np.asarray(y).shape == z.shape
    check_grads(layer, [x])


@given(name=st.sampled_from(["relu", "tanh", "sigmoid", "softmax", "elu", "gelu", "selu",
                             "softplus", "softsign", "silu", "mish", "hard_sigmoid", "relu6",
                             "leaky_relu", "exponential", "log_softmax", "linear"]),
       shape=nst.shapes(2, 3, 1, 5), data=st.data())
def test_activation_layer(name, shape, data):
    kinks = {"relu": (0.0,), "relu6": (0.0, 6.0), "leaky_relu": (0.0,),
             "hard_sigmoid": (-3.0, 3.0), "elu": (0.0,), "selu": (0.0,)}.get(name, ())
    x = data.draw(nst.arrays(shape, kinks=kinks))
    y = layer_test(layers.Activation, {"activation": name}, input_data=x)
    np.testing.assert_allclose(np.asarray(y), reference_activation(name, x), rtol=1e-9, atol=1e-12)


@given(shape=nst.shapes(2, 5, 1, 4), data_format=st.sampled_from(["channels_last",
                                                                  "channels_first"]),
       data=st.data())
def test_flatten(shape, data_format, data):
    x = data.draw(nst.arrays(shape))
    moved = np.moveaxis(x, 1, -1) if data_format == "channels_first" and x.ndim > 2 else x
    layer_test(layers.Flatten, {"data_format": data_format}, input_data=x,
               expected_output=moved.reshape(len(x), -1))


@given(shape=nst.shapes(2, 4, 1, 4), data=st.data())
def test_reshape_with_inferred_axis(shape, data):
    x = data.draw(nst.arrays(shape))
    features = int(np.prod(shape[1:]))
    divisors = [d for d in range(1, features + 1) if features % d == 0]
    d = data.draw(st.sampled_from(divisors))
    target = data.draw(st.sampled_from([(d, -1), (-1, d), (features // d, d)]))
    layer_test(layers.Reshape, {"target_shape": target}, input_data=x,
               expected_output=x.reshape(len(x), *target))


@given(shape=nst.shapes(3, 5, 1, 4), data=st.data())
def test_permute(shape, data):
    x = data.draw(nst.arrays(shape))
    dims = tuple(data.draw(st.permutations(range(1, len(shape)))))
    layer_test(layers.Permute, {"dims": dims}, input_data=x,
               expected_output=np.transpose(x, (0, *dims)))


@given(n=st.integers(1, 4), shape=nst.shapes(2, 2, 1, 5), data=st.data())
def test_repeat_vector(n, shape, data):
    x = data.draw(nst.arrays(shape))
    expected = np.stack([x] * n, axis=1)
    layer_test(layers.RepeatVector, {"n": n}, input_data=x, expected_output=expected)


@given(shape=nst.shapes(1, 4, 1, 4), data=st.data())
def test_identity_and_lambda(shape, data):
    x = data.draw(nst.arrays((2, *shape)))
    layer_test(layers.Identity, {}, input_data=x, expected_output=x)
    layer_test(layers.Lambda, {"function": lambda t: t * t + 1.0}, input_data=x,
               expected_output=x * x + 1.0)


def test_lambda_with_output_shape_for_a_numpy_function():
    layer = layers.Lambda(lambda t: nk.ops.sum(t, axis=-1, keepdims=True), output_shape=(1,))
    assert layer(nk.Input((4,))).shape == (None, 1)
    np.testing.assert_allclose(np.asarray(layer(np.ones((2, 4)))), [[4.0], [4.0]])


@given(rate=st.floats(0.1, 0.9), seed=st.integers(0, 1000))
def test_dropout_training_only_scaled_and_seeded(rate, seed):
    x = np.random.default_rng(seed).uniform(1.0, 2.0, (64, 32))
    layer = layers.Dropout(rate, seed=seed, dtype="float64")
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    y = np.asarray(layer(x, training=True))
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-12)
    assert abs((1 - kept.mean()) - rate) < 0.06
    again = np.asarray(layers.Dropout(rate, seed=seed, dtype="float64")(x, training=True))
    np.testing.assert_array_equal(again, y)


def test_dropout_noise_shape_shares_the_mask_and_gradient_uses_the_mask():
    x = np.random.default_rng(0).uniform(1.0, 2.0, (4, 10, 3))
    layer = layers.Dropout(0.5, noise_shape=(None, 1, 3), seed=3, dtype="float64")
    y = np.asarray(layer(x, training=True))
    dropped = y == 0
    assert (dropped == dropped[:, :1, :]).all()
    v = nk.Tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(v)
        out = nk.ops.sum(layer(v, training=True))
    grad = np.asarray(tape.gradient(out, v))
    assert set(np.unique(grad)) <= {0.0, 2.0}


def test_dense_acts_on_last_axis_of_rank3():
    layer = layers.Dense(3)
    x = np.random.default_rng(2).standard_normal((2, 5, 4)).astype("float32")
    y = np.asarray(layer(x))
    np.testing.assert_allclose(y, x @ layer.kernel.numpy() + layer.bias.numpy(), rtol=1e-5,
                               atol=1e-6)
    assert layer.compute_output_shape((None, 5, 4)) == (None, 5, 3)


@pytest.mark.parametrize("activation", [None, "linear"])
def test_a_dense_layer_without_activation_makes_one_op_call_and_keeps_its_gradient(
        activation, monkeypatch):
    """Keras's `linear` returns its input: the layer's output is the dense op's, and the
    kernel's gradient through it is x.T @ dy."""
    from nbkeras.ops import activation as activation_ops
    layer = layers.Dense(3, activation=activation)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 4)).astype("float32")
    layer.build(x.shape)
    calls = []
    original = activation_ops.Activation.__call__
    monkeypatch.setattr(activation_ops.Activation, "__call__",
                        lambda op, *a: calls.append(op) or original(op, *a))
    with nk.GradientTape() as tape:
        y = layer(x)
        loss = nk.ops.sum(y * 2.0)
    assert calls == []
    np.testing.assert_allclose(np.asarray(y), x @ layer.kernel.numpy() + layer.bias.numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, layer.kernel)),
                               x.T @ np.full((5, 3), 2.0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Dense(0), r"Dense 'dense\w*': units must be a positive integer; received units=0"),
    (lambda: layers.Dense(-1), "units must be a positive integer"),
    (lambda: layers.Dropout(rate=1.5), r"Dropout '\w+': rate must be a number in \[0, 1\)"),
    (lambda: layers.Dense(3, activation="nope"), "Unknown activation 'nope'"),
    (lambda: layers.Reshape((2, -1, -1)), r"Reshape '\w+': target_shape must be"),
    (lambda: layers.Permute((1, 3)), r"Permute '\w+': dims must be a permutation"),
    (lambda: layers.Flatten(data_format="nchw"), r"Flatten '\w+': data_format must be"),
    (lambda: layers.RepeatVector(0), r"RepeatVector '\w+': n must be a positive integer"),
])
def test_bad_config_fails_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_automatic_unique_names_and_weight_paths():
    a, b = layers.Dense(1), layers.Dense(1)
    assert a.name != b.name and a.name.startswith("dense") and b.name.startswith("dense_")
    a(np.ones((1, 2)))
    assert [w.path for w in a.weights] == [f"{a.name}/kernel", f"{a.name}/bias"]


def test_regularizers_add_to_losses_and_constraints_are_kept():
    layer = layers.Dense(2, kernel_regularizer="l2", bias_regularizer=nk.regularizers.L1(0.5),
                         activity_regularizer="l2", kernel_constraint="non_neg")
    x = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    y = np.asarray(layer(x))
    losses = [float(np.asarray(loss)) for loss in layer.losses]   # activity: per sample
    kernel, bias = layer.get_weights()
    assert len(losses) == 3
    np.testing.assert_allclose(sorted(losses), sorted([0.01 * np.sum(y ** 2) / len(x),
                                                       0.01 * np.sum(kernel ** 2),
                                                       0.5 * np.sum(np.abs(bias))]), rtol=1e-5)
    assert layer.kernel.constraint is not None
    config = layer.get_config()
    assert config["kernel_regularizer"] == "l2"
    assert config["bias_regularizer"] == {"class_name": "L1", "config": {"l1": 0.5}}
    clone = layers.Dense.from_config(config)
    assert clone.get_config() == config


def test_float64_layers_via_set_floatx():
    nk.config.set_floatx("float64")
    try:
        layer = layers.Dense(2)
        y = layer(np.ones((1, 3), np.float32))
        assert layer.kernel.dtype == "float64" and y.dtype == "float64"
    finally:
        nk.config.set_floatx("float32")
    assert layers.Dense(2).dtype == "float32"


def test_build_then_set_weights_is_not_rebuilt_by_call():
    layer = layers.Dense(2)
    layer.build((None, 3))
    w = [np.arange(6, dtype="float32").reshape(3, 2), np.array([1.0, -1.0], "float32")]
    layer.set_weights(w)
    np.testing.assert_allclose(np.asarray(layer(np.ones((1, 3)))), [[7.0, 8.0]])
