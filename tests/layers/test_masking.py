"""Embedding, Masking and the flow of masks (Keras's `_keras_mask`): the table lookup and its
row-summing gradient against numpy, mask_zero, the Masking layer, masks carried through
Sequential and functional models, consumed by GlobalAveragePooling1D, Softmax,
BatchNormalization and the losses, combined by the merging layers, dropped (with Keras's
warning) by layers that do not support masking, and Keras's numbers where Keras is installed."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers, ops
from nbkeras.testing import layer_test


def _ids(rng, batch, steps, vocabulary, padded=True):
    """Integer ids in [1, vocabulary) with each row's tail padded with 0 (some rows empty)."""
    ids = rng.integers(1, vocabulary, (batch, steps))
    if padded:
        lengths = rng.integers(0, steps + 1, batch)
        ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    return ids


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 4), steps=st.integers(1, 6),
       vocabulary=st.integers(2, 9), width=st.integers(1, 5), mask_zero=st.booleans())
def test_embedding_rows_mask_and_gradient(seed, batch, steps, vocabulary, width, mask_zero):
    rng = np.random.default_rng(seed)
    ids = _ids(rng, batch, steps, vocabulary)
    layer = layers.Embedding(vocabulary, width, mask_zero=mask_zero, dtype="float64")
    out = layer(ids)
    table = layer.get_weights()[0]
    np.testing.assert_array_equal(np.asarray(out), table[ids])
    assert (out._keras_mask is not None) == mask_zero
    if mask_zero:
        np.testing.assert_array_equal(np.asarray(out._keras_mask), ids != 0)
    weights = rng.standard_normal((batch, steps, width))
    with nk.GradientTape() as tape:
        loss = ops.sum(ops.multiply(layer(ids), weights))
    want = np.zeros_like(table)
    np.add.at(want, ids, weights)                        # every use of a row adds into it
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, layer.embeddings)), want,
                               rtol=1e-12, atol=1e-12)


def test_embedding_contract_config_and_construction():
    ids = np.random.default_rng(0).integers(0, 7, (3, 4))
    layer_test(layers.Embedding, {"input_dim": 7, "output_dim": 2}, input_data=ids,
               expected_output_shape=(3, 4, 2), check_gradients=False)
    layer = layers.Embedding(5, 3, weights=np.arange(15.0).reshape(5, 3))
    np.testing.assert_array_equal(np.asarray(layer(np.array([4, 0]))), [[12, 13, 14], [0, 1, 2]])
    assert [w.name for w in layer.weights] == ["embeddings"]
    assert layers.Embedding(5, 3).input_shape is None        # input_dim is not Layer's
    with pytest.warns(UserWarning, match="input_length"):
        layers.Embedding(5, 3, input_length=4)
    np.testing.assert_array_equal(np.asarray(layers.Embedding(5, 3, weights=np.ones((5, 3)))(
        np.array([1.0, 2.0]))), np.ones((2, 3)))             # float ids are cast
    for bad in ({"input_dim": 0, "output_dim": 2}, {"input_dim": 3, "output_dim": -1}):
        with pytest.raises(ValueError, match="Embedding.*(input_dim|output_dim)"):
            layers.Embedding(**bad)


def test_embedding_build_by_hand_keeps_set_weights():
    layer = layers.Embedding(4, 2)
    layer.build((None, 3))
    layer.set_weights([np.arange(8.0).reshape(4, 2)])
    np.testing.assert_array_equal(np.asarray(layer(np.array([[3]]))), [[[6.0, 7.0]]])


def test_masking_layer_zeroes_and_masks_steps():
    x = np.random.default_rng(1).standard_normal((2, 4, 3)).astype("float32")
    x[0, 1] = 0.5
    x[1, [0, 3]] = 0.5
    out = layers.Masking(mask_value=0.5)(x)
    keep = ~np.all(x == 0.5, axis=-1)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), keep)
    np.testing.assert_array_equal(np.asarray(out), np.where(keep[..., None], x, 0))
    assert layers.Masking(mask_value=0.5).get_config()["mask_value"] == 0.5


def _masked_mean(values, keep):
    weights = keep[..., None].astype(values.dtype)
    return (values * weights).sum(1) / weights.sum(1)


def test_masks_flow_through_sequential_and_functional_models():
    rng = np.random.default_rng(2)
    ids = _ids(rng, 5, 6, 10)
    ids[:, 0] = rng.integers(1, 10, 5)                    # no row fully masked
    embedding = layers.Embedding(10, 4, mask_zero=True)
    dense = layers.Dense(3, activation="tanh")
    pool = layers.GlobalAveragePooling1D()
    sequential = nk.Sequential([embedding, dense, pool])
    inputs = nk.Input((6,), dtype="int64")
    functional = nk.Model(inputs, pool(dense(embedding(inputs))))
    hidden = np.tanh(embedding.get_weights()[0][ids] @ dense.get_weights()[0]
                     + dense.get_weights()[1])
    want = _masked_mean(hidden, ids != 0)
    for model in (sequential, functional):
        np.testing.assert_allclose(np.asarray(model(ids)), want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.predict(ids, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_a_functional_graph_computes_masks_with_ops_of_its_own():
    """As Keras 3: a symbolic call gives its outputs symbolic masks (compute_mask's ops are
    graph nodes), a layer whose `call` takes `mask` gets the mask from the graph, and the
    mask's ops are no layers of the model. The graph's masks give what the values' masks
    give: an eager run layer by layer on the same ids."""
    nk.utils.clear_session()
    rng = np.random.default_rng(4)
    ids = _ids(rng, 6, 5, 10)
    inputs = nk.Input((5,), dtype="int32")
    embedding = layers.Embedding(10, 4, mask_zero=True)
    embedded = embedding(inputs)
    assert (embedded._keras_mask.shape, embedded._keras_mask.dtype) == ((None, 5), "bool")
    recurrent = layers.LSTM(3, return_sequences=True)
    sequences = recurrent(embedded)
    assert recurrent._inbound_nodes[0].kwargs["mask"] is embedded._keras_mask
    assert sequences._keras_mask is embedded._keras_mask          # return_sequences: kept
    pool = layers.GlobalAveragePooling1D()
    model = nk.Model(inputs, pool(sequences))
    assert [layer.name for layer in model.layers] == [
        "input_layer", "embedding", "lstm", "global_average_pooling1d"]
    assert "not_equal" in [entry["name"] for entry in model.get_config()["layers"]]
    eager = pool(recurrent(embedding(ids)))
    np.testing.assert_allclose(model.predict(ids, verbose=0), np.asarray(eager), rtol=1e-6)


def test_a_layer_without_mask_support_drops_the_mask_with_a_warning():
    out = layers.Embedding(4, 2, mask_zero=True)(np.array([[1, 0]]))
    with pytest.warns(UserWarning, match="does not support masking"):
        flat = layers.Flatten()(out)
    assert flat._keras_mask is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert layers.Dropout(0.5)(out)._keras_mask is out._keras_mask


def test_merging_layers_combine_masks():
    a = layers.Embedding(4, 2, mask_zero=True)(np.array([[1, 0, 2]]))
    b = layers.Embedding(4, 2, mask_zero=True)(np.array([[0, 0, 3]]))
    np.testing.assert_array_equal(np.asarray(layers.Add()([a, b])._keras_mask),
                                  [[True, False, True]])          # kept where either keeps
    plain = ops.ones((1, 3, 2))
    assert layers.Add()([a, plain])._keras_mask is None
    both = layers.Concatenate(axis=1)([a, b])
    np.testing.assert_array_equal(np.asarray(both._keras_mask),
                                  [[True, False, True, False, False, True]])
    assert layers.Dot(axes=-1)([a, b])._keras_mask is None


def test_softmax_mask_as_keras_3():
    x = np.random.default_rng(3).standard_normal((2, 4)).astype("float32")
    mask = np.array([[True, False, True, True], [False, False, False, False]])
    y = np.asarray(layers.Softmax()(x, mask=mask))
    e = np.where(mask, np.exp(x - x.max(-1, keepdims=True)), 0)
    want = np.where(mask, e / np.maximum(e.sum(-1, keepdims=True), 1e-30), 0)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-7)     # a fully masked row: zeros


def test_batch_normalization_masked_moments():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5, 2))
    mask = rng.random((3, 5)) < 0.6
    mask[0, 0] = True
    layer = layers.BatchNormalization(dtype="float64", epsilon=1e-3)
    y = np.asarray(layer(x, training=True, mask=mask))
    kept = x[mask]
    want = (x - kept.mean(0)) / np.sqrt(kept.var(0) + 1e-3)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="BatchNormalization.*mask"):
        layer(x, training=True, mask=mask[..., None])


def test_losses_count_only_unmasked_steps():
    rng = np.random.default_rng(5)
    ids = np.array([[1, 2, 0, 0], [3, 1, 2, 0]])
    y_pred = layers.Embedding(4, 3, mask_zero=True)(ids)
    y_true = rng.standard_normal((2, 4, 3)).astype("float32")
    squared = ((np.asarray(y_pred) - y_true) ** 2).mean(-1)
    got = nk.losses.MeanSquaredError()(y_true, y_pred)
    np.testing.assert_allclose(float(got), squared[ids != 0].mean(), rtol=1e-6)


def test_lambda_mask_argument_and_output_mask():
    out = layers.Embedding(4, 2, mask_zero=True)(np.array([[1, 0]]))
    seen = []
    layer = layers.Lambda(lambda x, mask=None: seen.append(mask) or x * 2,
                          mask=lambda inputs, mask: mask)
    y = layer(out)
    assert seen[0] is out._keras_mask and y._keras_mask is out._keras_mask


def test_embedding_and_masking_match_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(6)
    ids = _ids(rng, 3, 5, 8)
    ours = layers.Embedding(8, 4, mask_zero=True)
    theirs = keras.layers.Embedding(8, 4, mask_zero=True)
    theirs.build((None, 5))
    ours.build((None, 5))
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(ids)), np.asarray(theirs(ids)), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(ours.compute_mask(ids, None)),
                                  np.asarray(theirs.compute_mask(ids)))
    x = rng.standard_normal((2, 3, 2)).astype("float32")
    x[0, 1] = 0.0
    np.testing.assert_array_equal(np.asarray(layers.Masking()(x)),
                                  np.asarray(keras.layers.Masking()(x)))


def test_metrics_count_only_unmasked_steps():
    rng = np.random.default_rng(7)
    ids = np.array([[1, 2, 0, 0], [3, 1, 2, 0]])
    y_pred = layers.Embedding(4, 3, mask_zero=True)(ids)
    y_true = rng.standard_normal((2, 4, 3)).astype("float32")
    weights = np.array([1.0, 3.0], "float32")
    squared = ((np.asarray(y_pred) - y_true) ** 2).mean(-1)
    kept = (ids != 0) * weights[:, None]
    metric = nk.metrics.MeanSquaredError()
    metric.update_state(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(float(metric.result()), (squared * kept).sum() / kept.sum(),
                               rtol=1e-6)


def test_a_masked_sequence_model_trains_on_unmasked_steps_only():
    rng = np.random.default_rng(8)
    ids = _ids(rng, 32, 5, 6)
    ids[:, 0] = rng.integers(1, 6, 32)
    y = rng.standard_normal((32, 5, 2)).astype("float32")
    model = nk.Sequential([nk.Input((5,), dtype="int64"),
                           layers.Embedding(6, 4, mask_zero=True), layers.Dense(2)])
    model.compile("sgd", "mse", metrics=["mae"])
    logs = model.evaluate(ids, y, verbose=0, return_dict=True)
    prediction = np.asarray(model(ids))
    keep = ids != 0
    np.testing.assert_allclose(logs["loss"], ((prediction - y) ** 2).mean(-1)[keep].mean(),
                               rtol=1e-5)
    np.testing.assert_allclose(logs["mae"], np.abs(prediction - y).mean(-1)[keep].mean(),
                               rtol=1e-5)


def test_embedding_config_leaves_out_construction_weights():
    config = layers.Embedding(3, 2, weights=np.ones((3, 2))).get_config()
    assert "weights" not in config and "input_length" not in config
    assert layers.Embedding.from_config(config).get_config() == config
