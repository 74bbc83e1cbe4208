"""Inference fusion of Conv + MaxPooling in Sequential models: same numbers as layer by layer,
taken only where it is exact and only in inference."""
import numpy as np
import pytest

import nbkeras as nk
import nbkeras.models.fusion as fusion
import nbkeras.models.sequential as sequential
from nbkeras import layers


@pytest.fixture
def fused_calls(monkeypatch):
    """The layer names of each fused call made while the test runs."""
    calls = []
    real = fusion.run_block

    def counting(block, x, checked=False, op=None, out=None):
        calls.append(tuple(layer.name for layer in block.layers))
        return real(block, x, checked, op, out)

    monkeypatch.setattr(fusion, "run_block", counting)
    return calls


def distinct(calls: list) -> list:
    """`calls` without repeats (predict's first batch is preceded by a compile run)."""
    return list(dict.fromkeys(calls))


def through_layers(model, x):
    """The model's layers called one by one (never fused)."""
    for layer in model.layers:
        x = layer(x)
    return x


def layer_by_layer(model, x):
    return np.asarray(through_layers(model, x))


def convnet(data_format="channels_last", pool_padding="valid", activation="relu"):
    shape = (11, 10, 2) if data_format == "channels_last" else (2, 11, 10)
    return nk.Sequential([
        nk.Input(shape),
        layers.Conv2D(4, 3, activation=activation, data_format=data_format),
        layers.MaxPooling2D(2, padding=pool_padding, data_format=data_format),
        layers.Conv2D(3, 2, strides=(1, 2), padding="same", data_format=data_format),
        layers.MaxPooling2D((2, 1), strides=(1, 1), data_format=data_format),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("activation", ["relu", "tanh", None])
def test_predict_fuses_and_matches_layer_by_layer(fused_calls, data_format, activation):
    model = convnet(data_format, activation=activation)
    x = np.random.default_rng(0).standard_normal((5, *model.input_shape[1:])).astype("float32")
    expected = layer_by_layer(model, x)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    assert distinct(fused_calls) == [(model.layers[0].name, model.layers[1].name),
                                     (model.layers[2].name, model.layers[3].name)]


def test_no_fusion_for_same_pooling_other_activations_or_training(fused_calls):
    x = np.random.default_rng(1).standard_normal((3, 11, 10, 2)).astype("float32")
    same = convnet(pool_padding="same")
    np.testing.assert_allclose(np.asarray(same(x)), layer_by_layer(same, x), rtol=1e-6)
    assert len(fused_calls) == 1                          # only the second pair fuses
    softmax = convnet(activation="softmax")
    np.testing.assert_allclose(np.asarray(softmax(x)), layer_by_layer(softmax, x), rtol=1e-6)
    assert len(fused_calls) == 2
    model = convnet()
    model(x, training=True)
    with nk.GradientTape():
        model(x)
    assert len(fused_calls) == 2


def test_no_fusion_for_a_conv_subclass_with_its_own_call(fused_calls):
    class Doubled(layers.Conv2D):
        def call(self, inputs):
            return super().call(inputs) * 2.0

    model = nk.Sequential([nk.Input((6, 6, 1)), Doubled(2, 3), layers.MaxPooling2D(2)])
    x = np.random.default_rng(2).standard_normal((2, 6, 6, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), layer_by_layer(model, x), rtol=1e-6)
    assert fused_calls == []


def _gradients(fn, x, weights):
    tensor = nk.ops.convert_to_tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(tensor)
        y = fn(tensor)
        loss = nk.ops.sum(nk.ops.multiply(y, np.linspace(-1, 1, int(np.prod(y.shape)))
                                          .reshape(y.shape)))
    return [np.asarray(g) for g in tape.gradient(loss, [tensor, *weights])]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_gradients_of_the_fused_pair_equal_the_layers_gradients(activation):
    """The fused conv + max-pool (fusion.run_block, differentiable by recomputing) and the
    model call under a tape give the values of the layer-by-layer gradients."""
    model = convnet(activation=activation)
    conv, pool = model.layers[0], model.layers[1]
    x = np.random.default_rng(3).standard_normal((2, 11, 10, 2)).astype("float32")
    weights = conv.trainable_weights
    by_layers = _gradients(lambda t: pool(conv(t)), x, weights)
    block = fusion.fused_block([conv, pool])
    fused = _gradients(lambda t: fusion.run_block(block, t), x, weights)
    for a, b in zip(fused, by_layers):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    whole = _gradients(model, x, model.trainable_weights)
    layered = _gradients(lambda t: through_layers(model, t), x, model.trainable_weights)
    for a, b in zip(whole, layered):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_functional_fuses_only_a_conv_output_that_nothing_else_reads(fused_calls):
    inputs = nk.Input((9, 9, 1))
    conv_a, pool_a = layers.Conv2D(3, 3, activation="relu"), layers.MaxPooling2D(2)
    a = conv_a(inputs)
    pooled_a = pool_a(a)                                      # fuses
    b = layers.Conv2D(3, 2)(inputs)
    pooled_b = layers.MaxPooling2D(2)(b)                      # b is also a model output
    c = layers.Conv2D(3, 2)(inputs)
    pooled_c = layers.MaxPooling2D(2)(c)                      # c is read twice
    summed = layers.Flatten()(layers.Add()([c, c]))
    model = nk.Model(inputs, [layers.Flatten()(pooled_a), pooled_b, b,
                              layers.Flatten()(pooled_c), summed])
    x = np.random.default_rng(4).standard_normal((3, 9, 9, 1)).astype("float32")
    results = model.predict(x, verbose=0)
    assert distinct(fused_calls) == [(conv_a.name, pool_a.name)]
    expected_a = layers.Flatten()(pool_a(conv_a(x)))
    np.testing.assert_allclose(results[0], np.asarray(expected_a), rtol=1e-6, atol=1e-6)


def test_bad_inputs_raise_the_layers_own_errors(fused_calls):
    model = convnet()
    model.predict(np.zeros((1, 11, 10, 2), "float32"), verbose=0)
    with pytest.raises(ValueError, match=f"Conv2D '{model.layers[0].name}'.*axis -1"):
        sequential.Sequential.call(model, np.zeros((1, 11, 10, 3), "float32"))
    with pytest.raises(ValueError, match=f"Conv2D '{model.layers[0].name}'"):
        sequential.Sequential.call(model, np.zeros((1, 11, 2), "float32"))
