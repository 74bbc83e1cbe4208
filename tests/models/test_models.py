"""Functional, Sequential and subclassed models: graphs, shared and nested layers,
intermediate outputs, weights tracking, summary, and shape errors at graph-build time."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers, ops
from nbkeras.testing import check_grads

rng = np.random.default_rng(7)


def test_multi_input_multi_output_functional_with_dicts():
    a = nk.Input(shape=(4,), name="a")
    b = nk.Input(shape=(3,), name="b")
    h = layers.Dense(5, activation="relu", name="h")(ops.concatenate([a, b], axis=-1))
    out1 = layers.Dense(2, name="out1")(h)
    out2 = layers.Dense(1, activation="sigmoid", name="out2")(h)
    model = nk.Model(inputs={"a": a, "b": b}, outputs={"y1": out1, "y2": out2})
    xa, xb = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    y = model({"a": xa, "b": xb})
    assert set(y) == {"y1", "y2"} and y["y1"].shape == (6, 2) and y["y2"].shape == (6, 1)
    hidden = np.maximum(np.concatenate([xa, xb], -1) @ model.get_layer("h").kernel.numpy(), 0)
    np.testing.assert_allclose(np.asarray(y["y1"]), hidden @ model.get_layer("out1").kernel.numpy(),
                               rtol=1e-4, atol=1e-5)
    assert [layer.name for layer in model.layers][:2] == ["a", "b"]


def test_list_inputs_and_outputs_and_gradients_through_the_graph():
    a, b = nk.Input(shape=(3,)), nk.Input(shape=(3,))
    shared = layers.Dense(2, dtype="float64")
    model = nk.Model([a, b], [shared(a), shared(b)])
    assert len(model.trainable_weights) == 2             # one shared kernel and bias
    check_grads(model_sum(model), [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))])


def model_sum(model):
    def fn(x1, x2):
        y1, y2 = model([x1, x2])
        return y1 * y2
    fn.trainable_weights = model.trainable_weights
    return fn


def test_shared_layer_uses_the_same_weights():
    shared = layers.Dense(3)
    x1, x2 = nk.Input(shape=(4,)), nk.Input(shape=(4,))
    model = nk.Model([x1, x2], ops.add(shared(x1), shared(x2)))
    v = rng.standard_normal((2, 4)).astype("float32")
    expected = 2 * (v @ shared.kernel.numpy() + shared.bias.numpy())
    np.testing.assert_allclose(np.asarray(model([v, v])), expected, rtol=1e-5)
    assert len(shared._inbound_nodes) == 2


def test_intermediate_feature_model_from_get_layer():
    inputs = nk.Input(shape=(6,))
    x = layers.Dense(8, activation="relu", name="block1")(inputs)
    x = layers.Dense(4, name="block2_pool")(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = nk.Model(inputs, outputs)
    features = nk.Model(model.input, model.get_layer("block2_pool").output)
    by_index = nk.Model(model.input, model.get_layer(index=1).output)
    v = rng.standard_normal((3, 6))
    f = np.asarray(features(v))
    assert f.shape == (3, 4)
    manual = np.maximum(v @ model.get_layer("block1").kernel.numpy(), 0) \
        @ model.get_layer("block2_pool").kernel.numpy()
    np.testing.assert_allclose(f, manual, rtol=1e-4, atol=1e-5)
    assert by_index(v).shape == (3, 8)
    assert len(features.trainable_weights) == 4


def test_nested_model_as_a_layer():
    inner_in = nk.Input(shape=(5,))
    inner = nk.Model(inner_in, layers.Dense(3, activation="tanh")(inner_in), name="inner")
    outer_in = nk.Input(shape=(5,))
    outer = nk.Model(outer_in, layers.Dense(1)(inner(outer_in)))
    seq = nk.Sequential([nk.Input((5,)), inner, layers.Dense(2)])
    v = rng.standard_normal((4, 5))
    assert outer(v).shape == (4, 1) and seq(v).shape == (4, 2)
    assert len(outer.trainable_weights) == 4
    assert inner in outer.layers
    assert seq.output_shape == (None, 2)


def test_sequential_lazy_build_add_pop():
    model = nk.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)])
    assert not model.built and model.weights == []
    with pytest.raises(AttributeError, match="'sequential.*' has no defined inputs yet"):
        model.inputs
    y = model(rng.standard_normal((3, 7)))
    assert y.shape == (3, 2) and model.built
    assert model.inputs == [model.input] and model.outputs == [model.output]
    # as Keras, the graph keeps the first batch's size (another batch size still runs)
    assert model.inputs[0].shape == (3, 7) and model.outputs[0].shape == (3, 2)
    assert [w.shape for w in model.weights] == [(7, 4), (4,), (4, 2), (2,)]
    assert model.output_shape == (3, 2)
    popped = model.pop()
    assert isinstance(popped, layers.Dense) and model.output_shape == (3, 4)
    model.add(layers.Dense(5))
    assert model(rng.standard_normal((1, 7))).shape == (1, 5)


def test_sequential_config_round_trip_and_input_dim():
    model = nk.Sequential([layers.Dense(3, input_dim=2, activation="relu"), layers.Dropout(0.2),
                           layers.Dense(1)])
    clone = nk.Sequential.from_config(model.get_config())
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
    assert clone.output_shape == (None, 1)
    clone.set_weights(model.get_weights())
    v = rng.standard_normal((4, 2))
    np.testing.assert_allclose(np.asarray(clone(v)), np.asarray(model(v)))


class TwoLayerModel(nk.Model):
    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(hidden, activation="relu")
        self.blocks = [layers.Dense(hidden), layers.Dense(hidden)]
        self.dropout = layers.Dropout(0.5)
        self.out = layers.Dense(1)

    def call(self, inputs, training=False):
        x = self.hidden(inputs)
        for block in self.blocks:
            x = block(x)
        return self.out(self.dropout(x))   # Dropout sees `training` from the outer call


def test_subclassed_model_tracks_layers_and_training_flag():
    model = TwoLayerModel(hidden=6)
    v = rng.standard_normal((50, 3))
    y_infer = np.asarray(model(v))
    np.testing.assert_array_equal(y_infer, np.asarray(model(v, training=False)))
    assert not np.allclose(np.asarray(model(v, training=True)), y_infer)
    assert len(model.layers) == 5 and len(model.trainable_weights) == 8
    assert model.get_config()["hidden"] == 6
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 8
    with nk.GradientTape() as tape:
        loss = ops.sum(model(v))
    assert tape.gradient(loss, model.weights[0]) is None   # frozen: not watched
    model.trainable = True
    assert len(model.trainable_weights) == 8


def test_summary_of_branching_model_has_connections_and_totals():
    a, b = nk.Input((3,), name="left"), nk.Input((3,), name="right")
    merged = ops.add(layers.Dense(2, name="da")(a), layers.Dense(2, name="db")(b))
    model = nk.Model([a, b], merged, name="two_towers")
    lines = []
    model.summary(print_fn=lines.append, line_length=100)
    text = "\n".join(lines)
    assert 'Model: "two_towers"' in text and "Connected to" in text
    assert "left[0][0]" in text and "Total params: 16" in text
    assert all(len(line) == 100 for line in lines[1:-3])


def test_summary_names_which_call_of_a_shared_layer_feeds_a_layer():
    a, b = nk.Input((3,), name="left"), nk.Input((3,), name="right")
    shared = layers.Dense(2, name="shared")
    model = nk.Model([a, b], layers.Add(name="sum")([shared(a), shared(b)]))
    lines = []
    model.summary(print_fn=lines.append, line_length=100)
    sum_row = next(line for line in lines if "sum (Add)" in line)
    assert "shared[0][0], shared[1][0]" in sum_row


def test_summary_lists_op_calls_and_mask_ops_as_keras_does():
    """An op called on symbolic tensors is a row named as Keras names it, and a mask's
    NotEqual feeds the layers that take the mask; "-" as Trainable without weights."""
    nk.utils.clear_session()
    ids = nk.Input((5,), dtype="int32", name="ids")
    sequences = layers.LSTM(3, return_sequences=True)(layers.Embedding(10, 4, mask_zero=True)(ids))
    model = nk.Model(ids, ops.sum(layers.GlobalAveragePooling1D()(sequences) * 2, axis=-1))
    lines = []
    model.summary(print_fn=lines.append, line_length=120, show_trainable=True)
    rows = {line.split("│")[1].strip(): line for line in lines if line.startswith("│")}
    assert list(rows) == ["ids (InputLayer)", "embedding (Embedding)", "not_equal (NotEqual)",
                          "lstm (LSTM)", "global_average_pooling1d (Gl…", "multiply (Multiply)",
                          "sum (Sum)"]
    assert "embedding[0][0], not_equal[0][0]" in rows["lstm (LSTM)"]
    assert [cell.strip() for cell in rows["not_equal (NotEqual)"].split("│")[2:-1]] == [
        "(None, 5)", "0", "ids[0][0]", "-"]
    assert rows["lstm (LSTM)"].split("│")[-2].strip() == "Y"


def test_shape_that_cannot_flow_names_both_layers_and_shapes():
    x = nk.Input((4, 4))
    flat = layers.Flatten(name="flat")(x)
    with pytest.raises(ValueError, match=r"Reshape 'bad'.*Flatten 'flat' \(shape \(None, 16\)\)"
                                         r".*\(15\b.*elements\)|Reshape 'bad'.*Flatten 'flat'"):
        layers.Reshape((5, 3), name="bad")(flat)
    dense = layers.Dense(3, name="d3")
    dense(nk.Input((5,)))
    with pytest.raises(ValueError, match=r"Dense 'd3' cannot take the output of InputLayer .*"
                                         r"\(shape \(None, 6\)\).*axis -1 .* size 5"):
        dense(nk.Input((6,)))


def test_graph_disconnected_and_bad_model_inputs():
    a, b = nk.Input((2,)), nk.Input((2,))
    out = layers.Dense(1)(ops.add(a, b))
    with pytest.raises(ValueError, match="Graph disconnected"):
        nk.Model(a, out)
    model = nk.Model([a, b], out)
    with pytest.raises(ValueError, match=r"expects shape \(None, 2\); received .*\(3, 5\)"):
        model([np.ones((3, 5)), np.ones((3, 2))])
    with pytest.raises(ValueError, match="expects 2 inputs; received 1"):
        model(np.ones((3, 2)))


def test_set_weights_checks_count_and_shapes_and_changes_nothing_on_error():
    layer = layers.Dense(2, name="dd")
    layer(np.ones((1, 3)))
    before = layer.get_weights()
    with pytest.raises(ValueError, match=r"Dense 'dd': set_weights expects 2 arrays"):
        layer.set_weights([before[0]])
    with pytest.raises(ValueError, match=r"'dd/bias' has shape \(2,\); received .* \(3,\)"):
        layer.set_weights([before[0] + 1, np.ones(3)])
    for w, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(w, b)
