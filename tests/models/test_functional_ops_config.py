"""Functional models whose graphs call ops directly on symbolic tensors: their configs are
Keras 3's (an entry of Keras's op class per call), read back by nbkeras and by Keras."""
import json
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nbkeras as nk
from nbkeras import layers

# op applications: (name, function of one (batch, 3, 4) tensor and the second input)
UNARY = {
    "add": lambda x, y: nk.ops.add(x, y), "subtract": lambda x, y: nk.ops.subtract(x, 0.5),
    "multiply": lambda x, y: x * y, "divide": lambda x, y: nk.ops.divide(x, 2.0),
    "power": lambda x, y: nk.ops.power(nk.ops.abs(x), 2.0),
    "maximum": lambda x, y: nk.ops.maximum(x, y), "minimum": lambda x, y: nk.ops.minimum(x, y),
    "negative": lambda x, y: -x, "exp": lambda x, y: nk.ops.exp(x),
    "log": lambda x, y: nk.ops.log(nk.ops.square(x) + 1.0),
    "sqrt": lambda x, y: nk.ops.sqrt(nk.ops.abs(x)), "tanh": lambda x, y: nk.ops.tanh(x),
    "sigmoid": lambda x, y: nk.ops.sigmoid(x), "relu": lambda x, y: nk.ops.relu(x),
    "leaky_relu": lambda x, y: nk.ops.leaky_relu(x, 0.1), "gelu": lambda x, y: nk.ops.gelu(x),
    "elu": lambda x, y: nk.ops.elu(x), "silu": lambda x, y: nk.ops.silu(x),
    "softmax": lambda x, y: nk.ops.softmax(x, axis=-1),
    "softmax_axis": lambda x, y: nk.ops.softmax(x, axis=1),
    "greater": lambda x, y: nk.ops.cast(nk.ops.greater(x, y), "float32"),
    "concatenate": lambda x, y: nk.ops.concatenate([x, y], axis=-1)[..., :4],
    "stack": lambda x, y: nk.ops.sum(nk.ops.stack([x, y], axis=1), axis=1),
    "reshape": lambda x, y: nk.ops.reshape(nk.ops.reshape(x, (-1, 12)), (-1, 3, 4)),
    "transpose": lambda x, y: nk.ops.transpose(nk.ops.transpose(x, (0, 2, 1)), (0, 2, 1)),
    "expand_squeeze": lambda x, y: nk.ops.squeeze(nk.ops.expand_dims(x, 1), 1),
    "matmul": lambda x, y: nk.ops.matmul(x, nk.ops.transpose(y, (0, 2, 1)))[..., :1] + x,
    "einsum": lambda x, y: nk.ops.einsum("bij,bkj->bik", x, y)[..., :1] * x,
    "sum": lambda x, y: nk.ops.sum(x, axis=1, keepdims=True) + x,
    "mean": lambda x, y: x - nk.ops.mean(x, axis=-1, keepdims=True),
    "max": lambda x, y: nk.ops.max(x, axis=2, keepdims=True) * x,
    "min": lambda x, y: nk.ops.min(x) + x,
    "getitem": lambda x, y: x[:, 0:1] * x[:, None, 2] + x[..., ::-1],
    "take": lambda x, y: nk.ops.take(x, [2, 0, 1], axis=1),
    "math": lambda x, y: nk.ops.arctan2(nk.ops.sin(x), nk.ops.floor(y) + 3.0),
    "where": lambda x, y: nk.ops.where(nk.ops.isnan(nk.ops.log(x)), nk.ops.erf(y), x),
    "round_sort": lambda x, y: nk.ops.sort(nk.ops.round(x, 1), axis=1),
    "dense": lambda x, y: layers.Dense(4)(x),
}


def two_inputs():
    return nk.Input((3, 4), name="x"), nk.Input((3, 4), name="y")


def predictions(model, seed: int):
    rng = np.random.default_rng(seed)
    data = [rng.normal(size=(5, 3, 4)).astype("float32") for _ in range(2)]
    return data, np.asarray(model.predict(data, verbose=0))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=5),
       st.integers(0, 2 ** 16))
def test_config_round_trip_gives_the_same_config_and_predictions(names, seed):
    nk.utils.clear_session()
    x, y = two_inputs()
    h = x
    for name in names:
        h = UNARY[name](h, y)
    model = nk.Model([x, y], h)
    config = model.get_config()
    revived = nk.Model.from_config(json.loads(json.dumps(config)))
    revived.set_weights(model.get_weights())
    assert revived.get_config() == config
    data, expected = predictions(model, seed)
    np.testing.assert_allclose(np.asarray(revived.predict(data, verbose=0)), expected,
                               rtol=1e-5, atol=1e-6)


def keras_graph(ops, x, y):
    """The same graph in either framework: `ops` is nk.ops or keras.ops."""
    joined = ops.concatenate([x, y], axis=-1)
    h = ops.add(ops.multiply(joined, 2.0), 1.0)
    h = ops.sum(ops.softmax(ops.relu(h), axis=-1), axis=1, keepdims=True)
    h = ops.maximum(ops.transpose(ops.reshape(h, (-1, 8, 1)), (0, 2, 1)), 0.25)
    h = ops.mean(ops.matmul(ops.tanh(h), ops.reshape(joined, (-1, 8, 3))), axis=2)
    h = ops.cast(ops.greater(h[:, 0], ops.sigmoid(h)[..., 0]), "float32")
    h = ops.subtract(ops.leaky_relu(ops.exp(-h), negative_slope=0.1), ops.gelu(h))
    h = ops.where(ops.logical_and(ops.isfinite(h), h > 0.0), ops.sin(h), ops.erf(h))
    h = ops.round(ops.arctan2(h, ops.floor(h) + 1.0), 2)
    pair = ops.concatenate([h[:, None], ops.stop_gradient(-h)[:, None]], axis=1)
    return ops.sort(pair, axis=1)


def test_config_equals_keras_config_of_the_same_graph():
    keras = pytest.importorskip("keras")
    nk.utils.clear_session()
    x, y = two_inputs()
    ours = nk.Model([x, y], keras_graph(nk.ops, x, y), name="m").get_config()
    keras.backend.clear_session()
    kx, ky = keras.Input((3, 4), name="x"), keras.Input((3, 4), name="y")
    theirs = keras.Model([kx, ky], keras_graph(keras.ops, kx, ky), name="m").get_config()
    assert json.loads(json.dumps(ours)) == json.loads(json.dumps(theirs))   # as in config.json


def test_unknown_op_raises_naming_the_op_and_the_model():
    x = nk.Input((3,))
    model = nk.Model(x, nk.ops.relu(x, max_value=2.0), name="capped")
    with pytest.raises(ValueError, match="capped.*Activation"):
        model.get_config()


def test_keras_file_with_ops_loads_into_nbkeras_with_equal_predictions(tmp_path):
    keras = pytest.importorskip("keras")
    kx, ky = keras.Input((3, 4), name="x"), keras.Input((3, 4), name="y")
    h = keras.layers.Dense(4)(kx)
    h = keras.ops.stack([h, ky], axis=1)
    h = keras.ops.einsum("bsij,bskj->bik", h, h)
    h = keras.ops.squeeze(keras.ops.expand_dims(h, 1), 1)
    h = keras.ops.take(keras.ops.log_softmax(h[:, 1:], axis=1), [1, 0], axis=-1) * 2
    path = str(tmp_path / "keras_ops.keras")
    keras_model = keras.Model([kx, ky], h)
    keras_model.save(path)
    model = nk.models.load_model(path)
    data, expected = predictions(keras_model, 3)
    np.testing.assert_allclose(np.asarray(model.predict(data, verbose=0)), expected,
                               rtol=1e-5, atol=1e-6)


def test_nbkeras_file_with_ops_loads_into_keras_with_equal_predictions(tmp_path):
    keras = pytest.importorskip("keras")
    x, y = two_inputs()
    h = keras_graph(nk.ops, layers.Dense(4)(x), nk.ops.stack([x, y], axis=1)[:, 0])
    model = nk.Model([x, y], nk.ops.expand_dims(nk.ops.sum(h, axis=1), -1) * nk.ops.einsum("bij->bi", x))
    path = str(tmp_path / "nbkeras_ops.keras")
    model.save(path)
    data, expected = predictions(model, 4)
    keras_model = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(keras_model.predict(data, verbose=0)), expected,
                               rtol=1e-5, atol=1e-6)


def test_notebook_two_heads_model_saves_and_loads(tmp_path):
    input_a = nk.Input((8,), name="a")
    input_b = nk.Input((8,), name="b")
    shared = layers.Dense(32, activation="relu", name="shared")
    encoded = nk.ops.concatenate([shared(input_a), shared(input_b)], axis=-1)
    hidden = layers.Dense(32, activation="relu", name="hidden")(encoded)
    label = layers.Dense(3, activation="softmax", name="label")(hidden)
    score = layers.Dense(1, name="score")(hidden)
    model = nk.Model([input_a, input_b], {"label": label, "score": score}, name="two_heads")
    path = os.path.join(tmp_path, "two_heads.keras")
    model.save(path)
    loaded = nk.models.load_model(path)
    rng = np.random.default_rng(5)
    data = [rng.normal(size=(4, 8)).astype("float32") for _ in range(2)]
    expected, got = model.predict(data, verbose=0), loaded.predict(data, verbose=0)
    for key in ("label", "score"):
        np.testing.assert_allclose(np.asarray(got[key]), np.asarray(expected[key]), rtol=1e-6)


KERAS_OPS = {   # Keras ops that nbkeras replays by the general rule (class name in snake case)
    "clip": lambda ops, x: ops.clip(x, -0.5, 0.5),
    "where": lambda ops, x: ops.where(ops.greater(x, 0), x, 0.0),
    "one_hot": lambda ops, x: ops.one_hot(ops.cast(ops.argmax(x, -1), "int32"), 4),
    "pad": lambda ops, x: ops.pad(x, [[0, 0], [1, 1], [0, 0]]),
    "cumsum": lambda ops, x: ops.cumsum(x, axis=1),
    "split": lambda ops, x: ops.split(x, 2, axis=-1)[1],
    "top_k": lambda ops, x: ops.top_k(x, 2)[0],
    "std": lambda ops, x: ops.std(x, axis=1),
    "swapaxes": lambda ops, x: ops.swapaxes(x, 1, 2),
    "slice": lambda ops, x: ops.slice(x, (0, 0, 0), (2, 2, 2)),
    "relu6": lambda ops, x: ops.relu6(x * 4),
    "tensordot": lambda ops, x: ops.tensordot(x, np.ones((4, 2), "float32"), axes=1),
}


@pytest.mark.parametrize("name", sorted(KERAS_OPS))
def test_keras_ops_load_by_their_class_name(name, tmp_path):
    keras = pytest.importorskip("keras")
    kx = keras.Input((3, 4), name="x")
    keras_model = keras.Model(kx, KERAS_OPS[name](keras.ops, kx))
    path = str(tmp_path / f"{name}.keras")
    keras_model.save(path)
    data = np.random.default_rng(6).normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(nk.models.load_model(path).predict(data, verbose=0)),
                               np.asarray(keras_model.predict(data, verbose=0)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("class_name", ["Numpy", "Op", "__Class__", "NoSuchOp"])
def test_op_entry_naming_no_nbkeras_op_raises(class_name):
    x = nk.Input((3,), name="x")
    config = nk.Model(x, nk.ops.exp(x)).get_config()
    config["layers"][1]["class_name"] = class_name
    with pytest.raises(ValueError, match=f"no op for Keras's op class '{class_name}'"):
        nk.Model.from_config(config)


def test_nested_model_with_ops_called_twice_loads_into_nbkeras_and_keras(tmp_path):
    keras = pytest.importorskip("keras")
    a = nk.Input((4,), name="a")
    inner = nk.Model(a, nk.ops.tanh(layers.Dense(3)(a)) * 2.0, name="inner")
    x = nk.Input((4,), name="x")
    model = nk.Model(x, nk.ops.concatenate([inner(x), inner(nk.ops.abs(x))], axis=1) + 1.0)
    path = str(tmp_path / "nested.keras")
    model.save(path)
    data = np.random.default_rng(7).normal(size=(3, 4)).astype("float32")
    expected = model.predict(data, verbose=0)
    for loaded in (nk.models.load_model(path), keras.saving.load_model(path)):
        np.testing.assert_allclose(np.asarray(loaded.predict(data, verbose=0)), expected,
                                   rtol=1e-5, atol=1e-6)


def test_op_entry_that_the_op_cannot_replay_raises_naming_it():
    nk.utils.clear_session()     # op calls are named from the session's counter
    x = nk.Input((3,), name="x")
    config = nk.Model(x, nk.ops.transpose(x, (1, 0))).get_config()
    config["layers"][1]["config"]["axes"] = [0, 0]
    with pytest.raises(ValueError, match="Transpose .*'transpose'.*nk.ops.transpose"):
        nk.Model.from_config(config)
