"""Functional models' get_config / from_config in Keras 3's format: round trips of graphs
(shared layers, nested models, several inputs and outputs), JSON, configs written by Keras
itself, and the errors for what a config cannot describe."""
import json
import os

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers, ops

rng = np.random.default_rng(11)


def assert_same_model(model, clone, x):
    """Same layers (types, names), output shapes and, with the same weights, predictions;
    the clone's weights are fresh ones of the same shapes."""
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert clone.output_shape == model.output_shape
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    assert all(a is not b for a, b in zip(clone.weights, model.weights))
    clone.set_weights(model.get_weights())
    expected, got = model.predict(x, verbose=0), clone.predict(x, verbose=0)
    if isinstance(expected, dict):
        assert sorted(got) == sorted(expected)
        expected, got = [expected[k] for k in sorted(expected)], [got[k] for k in sorted(expected)]
    for e, g in zip(expected if isinstance(expected, list) else [expected],
                    got if isinstance(got, list) else [got]):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)


def test_dense_chain_round_trip():
    inp = nk.Input((6,), name="features")
    h = layers.Dense(8, activation="relu", name="hidden")(inp)
    out = layers.Dense(3, activation="softmax", name="probs")(layers.Dropout(0.2)(h))
    model = nk.Model(inp, out, name="chain")
    config = model.get_config()
    assert config["name"] == "chain" and config["trainable"] is True
    assert [entry["class_name"] for entry in config["layers"]] == [
        "InputLayer", "Dense", "Dropout", "Dense"]
    assert config["input_layers"] == ["features", 0, 0]
    assert config["output_layers"] == ["probs", 0, 0]
    hidden = config["layers"][1]
    assert hidden["name"] == "hidden" and hidden["module"] == "keras.layers"
    assert hidden["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["features", 0, 0]
    clone = nk.Model.from_config(config)
    assert isinstance(clone, nk.models.Functional) and clone.name == "chain"
    assert_same_model(model, clone, rng.standard_normal((5, 6)))


def test_multi_input_multi_output_keeps_dict_and_list_structure():
    a, b = nk.Input((4,), name="a"), nk.Input((3,), name="b")
    ha, hb = layers.Dense(5, name="ha")(a), layers.Dense(5, name="hb")(b)
    joined = layers.Concatenate(name="joined")([ha, hb])
    summed = layers.Add(name="summed")([ha, hb])
    model = nk.Model({"a": a, "b": b}, [joined, layers.Dense(2, name="head")(summed)])
    config = model.get_config()
    assert config["input_layers"] == {"a": ["a", 0, 0], "b": ["b", 0, 0]}
    assert config["output_layers"] == [["joined", 0, 0], ["head", 0, 0]]
    clone = nk.Model.from_config(config)
    assert set(clone.input) == {"a", "b"} and isinstance(clone.output, list)
    assert_same_model(model, clone, {"a": rng.standard_normal((4, 4)),
                                     "b": rng.standard_normal((4, 3))})

    outputs_by_name = nk.Model([a, b], {"joined": joined, "summed": summed})
    clone = nk.Model.from_config(outputs_by_name.get_config())
    assert isinstance(clone.input, list) and set(clone.output) == {"joined", "summed"}
    assert_same_model(outputs_by_name, clone, [rng.standard_normal((2, 4)),
                                               rng.standard_normal((2, 3))])


def test_shared_layer_is_one_layer_with_two_calls():
    """A layer applied twice, the second time deeper in the graph (d(x), then d(f(d(x))))."""
    inp = nk.Input((4,), name="x")
    shared = layers.Dense(4, activation="tanh", name="shared")
    first = shared(inp)
    second = shared(layers.Dense(4, name="between")(first))
    model = nk.Model(inp, [first, second])
    config = model.get_config()
    entry = next(e for e in config["layers"] if e["name"] == "shared")
    assert len(entry["inbound_nodes"]) == 2
    assert config["output_layers"] == [["shared", 0, 0], ["shared", 1, 0]]
    clone = nk.Model.from_config(config)
    assert len(clone.get_layer("shared")._inbound_nodes) == 2
    assert len(clone.weights) == 4          # one shared kernel and bias, and `between`'s
    assert_same_model(model, clone, rng.standard_normal((3, 4)))


def test_nested_functional_model_round_trip():
    inner_in = nk.Input((5,), name="inner_in")
    inner = nk.Model(inner_in, layers.Dense(3, activation="relu", name="inner_dense")(inner_in),
                     name="inner")
    inp = nk.Input((5,), name="outer_in")
    twice = inner(layers.Dense(5, name="pre")(inp))          # the nested model, called twice
    once = inner(inp)
    model = nk.Model(inp, layers.Add(name="add")([twice, once]))
    config = model.get_config()
    entry = next(e for e in config["layers"] if e["name"] == "inner")
    assert entry["class_name"] == "Functional" and len(entry["inbound_nodes"]) == 2
    assert [e["name"] for e in entry["config"]["layers"]] == ["inner_in", "inner_dense"]
    clone = nk.Model.from_config(config)
    nested = clone.get_layer("inner")
    assert isinstance(nested, nk.models.Functional) and nested is not inner
    assert [layer.name for layer in nested.layers] == ["inner_in", "inner_dense"]
    assert_same_model(model, clone, rng.standard_normal((3, 5)))


def test_sequential_inside_functional_round_trip():
    block = nk.Sequential([nk.Input((6,)), layers.Dense(4, activation="relu"),
                           layers.Dense(2)], name="block")
    inp = nk.Input((6,), name="x")
    model = nk.Model(inp, layers.Softmax(name="soft")(block(inp)))
    config = model.get_config()
    assert [e["class_name"] for e in config["layers"]] == ["InputLayer", "Sequential", "Softmax"]
    clone = nk.Model.from_config(config)
    assert isinstance(clone.get_layer("block"), nk.Sequential)
    assert_same_model(model, clone, rng.standard_normal((4, 6)))


def test_config_is_json_and_survives_json_round_trip():
    inp = nk.Input((9, 9, 2), name="img")
    x = layers.Conv2D(3, (3, 3), strides=2, padding="same", name="conv")(inp)
    x = layers.Flatten()(layers.MaxPooling2D(2)(x))
    out = layers.Dense(2, kernel_initializer=nk.initializers.GlorotUniform(seed=3))(x)
    model = nk.Model(inp, out)
    text = json.dumps(model.get_config())
    clone = nk.Model.from_config(json.loads(text))
    assert clone.get_layer("conv").kernel_size == (3, 3)
    assert json.dumps(clone.get_config()) == text
    assert_same_model(model, clone, rng.standard_normal((2, 9, 9, 2)).astype("float32"))


class Scale(layers.Layer):
    """A Keras-style custom layer: y = factor * x."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor


def test_custom_layer_needs_custom_objects():
    inp = nk.Input((3,))
    model = nk.Model(inp, Scale(0.5, name="half")(layers.Dense(3)(inp)))
    config = json.loads(json.dumps(model.get_config()))
    with pytest.raises(ValueError, match="Unknown layer class 'Scale'.*custom_objects"):
        nk.Model.from_config(config)
    clone = nk.Model.from_config(config, custom_objects={"Scale": Scale})
    assert clone.get_layer("half").factor == 0.5
    assert_same_model(model, clone, rng.standard_normal((2, 3)))


def test_plain_model_from_config_without_graph_raises():
    with pytest.raises(ValueError, match="Model.from_config.*'layers'"):
        nk.Model.from_config({"name": "m", "trainable": True})
    with pytest.raises(ValueError, match="Functional.from_config.*'layers'"):
        nk.models.Functional.from_config({"name": "m", "trainable": True})


def test_calling_a_plain_model_raises():
    with pytest.raises(NotImplementedError, match="Model 'bare' has no graph and no `call`"):
        nk.Model(name="bare")(np.ones((2, 3)))


def test_get_config_of_a_graph_with_an_op_keras_cannot_write_raises():
    a = nk.Input((3,))
    model = nk.Model(a, layers.Dense(2)(ops.relu(a, max_value=2.0)), name="capped")
    with pytest.raises(ValueError, match="capped.*cannot write the op Activation"):
        model.get_config()


def test_conv_ops_on_symbolic_tensors_are_keras_ops_and_replay(tmp_path):
    """ops.conv with Keras's arguments is Keras's Conv op entry (the constant kernel a
    __numpy__ argument); with nbkeras's fused extras it cannot be written, and says so."""
    rng = np.random.default_rng(3)
    kernel = rng.standard_normal((3, 3, 2, 4))
    x = nk.Input((6, 6, 2))
    model = nk.Model(x, ops.relu(ops.conv(x, kernel, strides=(2, 1), padding="same")))
    entry = model.get_config()["layers"][1]
    assert (entry["module"], entry["class_name"]) == ("keras.src.ops.nn", "Conv")
    assert entry["config"] == {"name": "conv", "strides": [2, 1], "padding": "same",
                               "data_format": "channels_last", "dilation_rate": 1}
    assert entry["inbound_nodes"][0]["args"][1]["class_name"] == "__numpy__"
    images = rng.standard_normal((2, 6, 6, 2))
    model.save(tmp_path / "conv.keras")
    np.testing.assert_allclose(nk.models.load_model(tmp_path / "conv.keras").predict(images),
                               model.predict(images), rtol=1e-5, atol=1e-6)
    fused = nk.Model(x, ops.conv(x, kernel, bias=np.ones(4), activation="relu"), name="fused")
    with pytest.raises(ValueError, match="fused.*cannot write the op Conv"):
        fused.get_config()


def test_cyclic_or_disconnected_config_raises():
    inp = nk.Input((3,), name="x")
    config = nk.Model(inp, layers.Dense(2, name="d")(inp)).get_config()
    call = config["layers"][1]["inbound_nodes"][0]["args"][0]["config"]
    call["keras_history"] = ["d", 0, 0]                      # d reads its own output
    with pytest.raises(ValueError, match=r"calls of layers \['d'\].*cycle"):
        nk.Model.from_config(config)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def test_keras_config_loads_and_predicts_as_keras(keras):
    kl = keras.layers
    inp = keras.Input((8, 8, 3), name="img")
    x = kl.Conv2D(4, 3, activation="relu", padding="same", name="conv")(inp)
    x = kl.Flatten()(kl.MaxPooling2D(2)(x))
    left = kl.Dense(6, activation="tanh", kernel_regularizer="l2")(x)
    right = kl.Dense(6)(x)
    out = kl.Dense(3, activation="softmax", name="probs")(kl.Concatenate()([left, right]))
    keras_model = keras.Model(inp, [out, left])
    config = json.loads(json.dumps(keras_model.get_config()))

    model = nk.Model.from_config(config)
    assert [layer.name for layer in model.layers] == [layer.name for layer in keras_model.layers]
    assert model.output_shape == [(None, 3), (None, 6)]
    model.set_weights(keras_model.get_weights())
    x = rng.standard_normal((4, 8, 8, 3)).astype("float32")
    for got, expected in zip(model.predict(x, verbose=0), keras_model.predict(x, verbose=0)):
        np.testing.assert_allclose(got, np.asarray(expected), atol=1e-5)


def test_keras_option_nbkeras_lacks_raises(keras):
    inp = keras.Input((4,))
    keras_model = keras.Model(inp, keras.layers.BatchNormalization(renorm=True, name="bn")(inp))
    with pytest.raises(ValueError, match="BatchNormalization 'bn'.*renorm=True"):
        nk.Model.from_config(keras_model.get_config())
