"""ReversibleEmbedding: the lookup and the reverse projection (tied and untied, soft cap,
reverse_dtype) against plain float64 numpy; finite differences for hidden states and both
tables (the tied table through both directions at once); masks; symbolic shapes; configs;
named errors; Keras's numbers from its weights."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads


def _reference_logits(hidden, weights, tie_weights, cap):
    kernel = weights[0].T if tie_weights else weights[1]
    logits = np.asarray(hidden, np.float64) @ kernel
    return np.tanh(logits / cap) * cap if cap is not None else logits


cases = st.fixed_dictionaries(dict(
    input_dim=st.integers(1, 6), output_dim=st.integers(1, 4), tie_weights=st.booleans(),
    cap=st.sampled_from([None, 0.7, 3.0]), lead=st.sampled_from([(2,), (1, 3), (2, 2, 2)]),
    seed=st.integers(0, 2**31 - 1)))


@settings(max_examples=20, deadline=None)
@given(case=cases)
def test_lookup_and_reverse_match_numpy_and_shapes(case):
    rng = np.random.default_rng(case["seed"])
    layer = layers.ReversibleEmbedding(case["input_dim"], case["output_dim"],
                                       tie_weights=case["tie_weights"],
                                       logit_soft_cap=case["cap"], dtype="float64")
    layer.build()
    layer.set_weights([rng.standard_normal(w.shape) for w in layer.get_weights()])
    weights = layer.get_weights()
    assert [w.shape for w in weights] == [(case["input_dim"], case["output_dim"])] + (
        [] if case["tie_weights"] else [(case["output_dim"], case["input_dim"])])
    ids = rng.integers(0, case["input_dim"], case["lead"])
    np.testing.assert_array_equal(np.asarray(layer(ids)), weights[0][ids])
    hidden = rng.standard_normal((*case["lead"], case["output_dim"]))
    logits = layer(hidden, reverse=True)
    np.testing.assert_allclose(np.asarray(logits), _reference_logits(
        hidden, weights, case["tie_weights"], case["cap"]), rtol=1e-12, atol=1e-12)
    assert tuple(logits.shape) == layer.compute_output_shape(hidden.shape, reverse=True)
    assert tuple(layer(ids).shape) == layer.compute_output_shape(ids.shape)
    symbolic = layer(nk.Input(case["lead"][1:] + (case["output_dim"],)), reverse=True)
    assert tuple(symbolic.shape) == (None, *case["lead"][1:], case["input_dim"])
    assert tuple(layer(nk.Input(case["lead"][1:], dtype="int32")).shape) == (
        None, *case["lead"][1:], case["output_dim"])


@pytest.mark.parametrize("tie_weights", [True, False])
@pytest.mark.parametrize("cap", [None, 1.5])
def test_finite_differences(tie_weights, cap):
    rng = np.random.default_rng(1)
    layer = layers.ReversibleEmbedding(5, 3, tie_weights=tie_weights, logit_soft_cap=cap,
                                       dtype="float64")
    layer.build()
    layer.set_weights([rng.standard_normal(w.shape) for w in layer.get_weights()])
    check_grads(layer, [rng.standard_normal((2, 4, 3))], call_kwargs={"reverse": True})
    ids = rng.integers(0, 5, (2, 4))
    check_grads(lambda ids: layer(layer(ids), reverse=True), [ids])   # a tied table: both ways
    model_like = _RoundTrip(layer)
    check_grads(model_like, [ids])


class _RoundTrip(layers.Layer):
    """ids -> embeddings -> logits with one layer: its weights get both paths' gradients."""

    def __init__(self, inner, **kwargs):
        super().__init__(dtype="float64", **kwargs)
        self.inner = inner

    def call(self, ids):
        return self.inner(self.inner(ids), reverse=True)


def test_masks_and_in_a_model():
    layer = layers.ReversibleEmbedding(7, 3, mask_zero=True)
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    hidden = layer(ids)
    np.testing.assert_array_equal(np.asarray(hidden._keras_mask), ids != 0)
    assert layer(hidden, reverse=True)._keras_mask is None
    assert layers.ReversibleEmbedding(7, 3)(ids)._keras_mask is None
    inp = nk.Input((3,), dtype="int32")
    shared = layers.ReversibleEmbedding(7, 4, mask_zero=True, logit_soft_cap=5.0)
    logits = shared(layers.LSTM(4, return_sequences=True)(shared(inp)), reverse=True)
    model = nk.Model(inp, logits)
    assert model.output_shape == (None, 3, 7)
    assert [w.path for w in shared.weights] == [f"{shared.name}/embeddings"]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(ids, ids, epochs=1, verbose=0)
    assert np.all(np.abs(model.predict(ids, verbose=0)) <= 5.0)


def test_reverse_dtype():
    rng = np.random.default_rng(0)
    layer = layers.ReversibleEmbedding(4, 3, reverse_dtype="float32", dtype="float64")
    hidden = rng.standard_normal((2, 3))
    logits = layer(hidden, reverse=True)
    assert str(logits.dtype) == "float32"
    assert layer(nk.Input((3,)), reverse=True).dtype == "float32"
    want = hidden.astype("float32") @ layer.get_weights()[0].astype("float32").T
    np.testing.assert_allclose(np.asarray(logits), want, rtol=1e-6)
    assert str(layer(np.array([1, 2])).dtype) == "float64"


@pytest.mark.parametrize("make", [
    lambda: layers.ReversibleEmbedding(10, 4),
    lambda: layers.ReversibleEmbedding(10, 4, False, "glorot_uniform", "l2", "non_neg", True,
                                       "float64", 30.0, name="rev"),
])
def test_config_round_trip(make):
    from nbkeras.models.functional import _serialize_layer, deserialize_layer
    layer = make()
    config = layer.get_config()
    assert {"tie_weights", "reverse_dtype", "logit_soft_cap"} <= set(config)
    twin = type(layer).from_config(config)
    assert twin.get_config() == config
    assert deserialize_layer(_serialize_layer(layer)).get_config() == config
    given_weights = layers.ReversibleEmbedding(3, 2, weights=np.ones((3, 2)))
    assert "weights" not in given_weights.get_config()
    np.testing.assert_array_equal(given_weights.get_weights()[0], np.ones((3, 2)))


def test_build_by_hand_then_set_weights():
    rng = np.random.default_rng(0)
    layer = layers.ReversibleEmbedding(5, 3, tie_weights=False, dtype="float64")
    layer.build((None, 4))
    chosen = [rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(chosen)
    hidden = rng.standard_normal((2, 3))
    np.testing.assert_allclose(np.asarray(layer(hidden, reverse=True)), hidden @ chosen[1])
    for a, b in zip(layer.get_weights(), chosen):
        np.testing.assert_array_equal(a, b)


def test_bad_config_names_the_layer_and_field():
    with pytest.raises(ValueError, match="ReversibleEmbedding 'r'.*input_dim"):
        layers.ReversibleEmbedding(0, 3, name="r")
    with pytest.raises(ValueError, match="ReversibleEmbedding.*output_dim"):
        layers.ReversibleEmbedding(3, -1)
    with pytest.raises(ValueError, match="ReversibleEmbedding.*logit_soft_cap"):
        layers.ReversibleEmbedding(3, 2, logit_soft_cap=-1.0)
    with pytest.raises(ValueError, match="ReversibleEmbedding.*tie_weights"):
        layers.ReversibleEmbedding(3, 2, tie_weights="yes")
    with pytest.raises(ValueError, match="ReversibleEmbedding.*reverse_dtype"):
        layers.ReversibleEmbedding(3, 2, reverse_dtype="float7")


@pytest.mark.parametrize("tie_weights", [True, False])
def test_keras_numbers(tie_weights):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    theirs = keras.layers.ReversibleEmbedding(9, 4, tie_weights=tie_weights, mask_zero=True,
                                              logit_soft_cap=2.0)
    ours = layers.ReversibleEmbedding(9, 4, tie_weights=tie_weights, mask_zero=True,
                                      logit_soft_cap=2.0)
    ids = rng.integers(0, 9, (3, 5))
    theirs(ids)
    ours.build()
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights([rng.standard_normal(w.shape) for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(ids)), np.asarray(theirs(ids)), rtol=1e-6)
    hidden = rng.standard_normal((3, 5, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(hidden, reverse=True)),
                               np.asarray(theirs(hidden, reverse=True)), rtol=1e-5, atol=1e-6)
    config = {k: v for k, v in theirs.get_config().items() if k != "dtype"}
    assert set(config) <= set(ours.get_config()) | {"quantization_config"}
    from nbkeras.models.functional import deserialize_layer
    loaded = deserialize_layer({"class_name": "ReversibleEmbedding",
                                "config": {**config, "dtype": "float32"}})
    assert (loaded.tie_weights, loaded.logit_soft_cap, loaded.mask_zero) == (
        tie_weights, 2.0, True)


def test_keras_weights_files_both_ways(tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    ids = np.random.default_rng(3).integers(0, 9, (2, 4))

    def build(m):
        return m.Sequential([m.Input((4,), dtype="int32"), m.layers.ReversibleEmbedding(
            9, 3, tie_weights=False), m.layers.Flatten(), m.layers.Dense(1)])
    theirs, ours = build(keras), build(nk)
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    ours.load_weights(str(tmp_path / "keras.weights.h5"))
    want = np.asarray(theirs.predict(ids, verbose=0))
    np.testing.assert_allclose(ours.predict(ids, verbose=0), want, rtol=1e-5, atol=1e-6)
    ours.save_weights(str(tmp_path / "nbkeras.weights.h5"))
    again = build(keras)
    again.load_weights(str(tmp_path / "nbkeras.weights.h5"))
    np.testing.assert_allclose(np.asarray(again.predict(ids, verbose=0)), want, rtol=1e-6)
