"""Wrappers: Wrapper (the abstract base), TimeDistributed and Bidirectional. Forward against
float64 numpy references built from the wrapped layers' own weights (TimeDistributed(Dense)
is Dense on the flattened steps; Bidirectional is the forward layer plus the time-reversed
backward layer, merged); finite differences for inputs, initial states and weights; masks
(Embedding(mask_zero=True) -> Bidirectional(LSTM) equals each row on its unpadded prefix);
every merge_mode with return_state; symbolic shapes; configs; build by hand; Keras's numbers
from its weights; named errors; and a small Bidirectional LSTM learning a memory task."""
import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers, ops
from nbkeras.testing import check_grads

MERGE_MODES = ("concat", "sum", "mul", "ave", None)
KINDS = ("simple", "lstm", "gru")


# ---- references ----------------------------------------------------------------------------
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _rnn_reference(kind, weights, x, mask=None, go_backwards=False, states=None):
    """(outputs in processing order (B, T, U), final states) of SimpleRNN, LSTM or GRU
    (reset_after=True) with Keras's default activations, one step at a time in float64; a
    masked step carries the states and repeats the previous output."""
    kernel, recurrent, bias = weights
    units = recurrent.shape[0]
    batch, steps, _ = x.shape
    if states is None:
        states = [np.zeros((batch, units))] * (2 if kind == "lstm" else 1)
    states = [np.asarray(s, np.float64) for s in states]
    outputs = []
    for t in (range(steps - 1, -1, -1) if go_backwards else range(steps)):
        h = states[0]
        if kind == "simple":
            new = [np.tanh(x[:, t] @ kernel + bias + h @ recurrent)]
        elif kind == "lstm":
            z = x[:, t] @ kernel + h @ recurrent + bias
            i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
            c = _sigmoid(f) * states[1] + _sigmoid(i) * np.tanh(g)
            new = [_sigmoid(o) * np.tanh(c), c]
        else:
            xp, rp = x[:, t] @ kernel + bias[0], h @ recurrent + bias[1]
            u = units
            z, r = _sigmoid(xp[:, :u] + rp[:, :u]), _sigmoid(xp[:, u:2 * u] + rp[:, u:2 * u])
            new = [z * h + (1 - z) * np.tanh(xp[:, 2 * u:] + r * rp[:, 2 * u:])]
        if mask is not None:
            new = [np.where(mask[:, t][:, None], n, s) for n, s in zip(new, states)]
        states = new
        outputs.append(states[0])
    return np.stack(outputs, axis=1), states


def _merge(mode, y, y_rev):
    return {"concat": lambda: [np.concatenate([y, y_rev], -1)], "sum": lambda: [y + y_rev],
            "mul": lambda: [y * y_rev], "ave": lambda: [(y + y_rev) / 2],
            None: lambda: [y, y_rev]}[mode]()


def _bidirectional_reference(kind, layer, x, mask=None, initial_state=None):
    """Bidirectional's outputs as a list, from its forward and backward layers' weights."""
    n = len(layer.forward_layer.weights)
    weights = layer.get_weights()
    half = None if initial_state is None else len(initial_state) // 2
    y, states = _rnn_reference(kind, weights[:n], x, mask, states=(
        None if half is None else initial_state[:half]))
    y_rev, states_rev = _rnn_reference(kind, weights[n:], x, mask, go_backwards=True, states=(
        None if half is None else initial_state[half:]))
    if layer.return_sequences:
        y_rev = y_rev[:, ::-1]
        if mask is not None:   # zero_output_for_mask, as Keras's Bidirectional sets it
            y, y_rev = (np.where(mask[..., None], v, 0.0) for v in (y, y_rev))
    else:
        y, y_rev = y[:, -1], y_rev[:, -1]
    out = _merge(layer.merge_mode, y, y_rev)
    return out + states + states_rev if layer.return_state else out


def _rnn(kind, units, **kwargs):
    return {"simple": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[kind](
        units, **kwargs)


def _listify(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _perturb(layer, rng, scale=0.5):
    layer.set_weights([rng.standard_normal(w.shape) * scale for w in layer.get_weights()])


def _assert_all_close(got, want, rtol=1e-10, atol=1e-12):
    got, want = _listify(got), _listify(want)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


# ---- Bidirectional: forward, shapes, gradients ----------------------------------------------
configs = st.fixed_dictionaries(dict(
    kind=st.sampled_from(KINDS), merge_mode=st.sampled_from(MERGE_MODES),
    units=st.integers(1, 3), steps=st.integers(1, 4), batch=st.integers(1, 3),
    features=st.integers(1, 3), return_sequences=st.booleans(), return_state=st.booleans(),
    masked=st.booleans(), seed=st.integers(0, 2**31 - 1)))


@settings(max_examples=25, deadline=None)
@given(case=configs)
def test_bidirectional_matches_reference_and_shapes(case):
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["batch"], case["steps"], case["features"]))
    mask = rng.random(x.shape[:2]) < 0.6 if case["masked"] else None
    if mask is not None and case["batch"] > 1:
        mask[-1] = False   # an all-masked row
    inner = _rnn(case["kind"], case["units"], return_sequences=case["return_sequences"],
                 return_state=case["return_state"], dtype="float64")
    layer = layers.Bidirectional(inner, merge_mode=case["merge_mode"], dtype="float64")
    layer.build(x.shape)
    _perturb(layer, rng)
    got = _listify(layer(x, mask=mask))
    _assert_all_close(got, _bidirectional_reference(case["kind"], layer, x, mask))
    shapes = layer.compute_output_shape(x.shape)
    shapes = [shapes] if len(got) == 1 else list(shapes)
    assert [tuple(g.shape) for g in got] == [tuple(s) for s in shapes]
    symbolic = _listify(layers.Bidirectional(inner, merge_mode=case["merge_mode"])(
        nk.Input(x.shape[1:])))
    assert [s.shape for s in symbolic] == [(None, *s[1:]) for s in shapes]
    if mask is not None and case["return_sequences"]:   # the output carries the mask
        for y in got[:1 if case["merge_mode"] else 2]:
            np.testing.assert_array_equal(np.asarray(y._keras_mask), mask)


@pytest.mark.parametrize("merge_mode", MERGE_MODES)
@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_gradients(kind, merge_mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 3))
    mask = np.array([[True, True, False, True], [True, False, False, False]])
    layer = layers.Bidirectional(_rnn(kind, 2, return_sequences=True, return_state=True,
                                      dtype="float64"), merge_mode=merge_mode, dtype="float64")
    layer.build(x.shape)
    _perturb(layer, rng)
    check_grads(layer, [x], mode="projection", call_kwargs={"mask": mask})
    check_grads(layers.Bidirectional(_rnn(kind, 2, dtype="float64"), merge_mode=merge_mode,
                                     dtype="float64"), [x], mode="projection")


def test_initial_state_halves_and_their_gradients():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 3))
    states = [rng.standard_normal((2, 2)) for _ in range(4)]   # h, c forward; h, c backward
    layer = layers.Bidirectional(layers.LSTM(2, return_sequences=True, return_state=True,
                                             dtype="float64"), dtype="float64")
    layer.build(x.shape)
    _perturb(layer, rng)
    got = layer(x, initial_state=states)
    _assert_all_close(got, _bidirectional_reference("lstm", layer, x, initial_state=states))
    check_grads(lambda x, *s: layer(x, initial_state=list(s)), [x, *states], mode="projection")
    inp, h = nk.Input((3, 3)), [nk.Input((2,)) for _ in range(4)]
    model = nk.Model([inp, *h], layer(inp, initial_state=h))
    _assert_all_close(model([x, *states]), got)


def test_weights_order_and_the_weights_argument():
    rng = np.random.default_rng(3)
    layer = layers.Bidirectional(layers.GRU(2, name="g"))
    layer.build((1, 3, 4))
    assert layer.forward_layer.name == "forward_g" and layer.backward_layer.name == "backward_g"
    assert not layer.forward_layer.go_backwards and layer.backward_layer.go_backwards
    assert layer.weights == layer.forward_layer.weights + layer.backward_layer.weights
    assert layer.layer is layer.forward_layer
    chosen = [rng.standard_normal(w.shape).astype("float32") for w in layer.weights]
    twin = layers.Bidirectional(layers.GRU(2), weights=chosen)
    twin(rng.standard_normal((1, 3, 4)))
    _assert_all_close(twin.get_weights(), chosen, rtol=0, atol=0)
    _assert_all_close(twin.forward_layer.get_weights(), chosen[:3], rtol=0, atol=0)
    assert "weights" not in twin.get_config()


def test_custom_backward_layer():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 5, 3))
    backward = layers.SimpleRNN(3, activation="relu", go_backwards=True, return_sequences=True,
                                dtype="float64")
    layer = layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True, dtype="float64"),
                                 backward_layer=backward, merge_mode="sum", dtype="float64")
    assert layer.backward_layer is backward
    y = np.asarray(layer(x))
    forward = np.asarray(layer.forward_layer(x))
    np.testing.assert_allclose(y, forward + np.asarray(backward(x))[:, ::-1], rtol=1e-12)


def test_a_user_cell_in_rnn():
    """The backward copy of RNN(user cell) is made from the config, with the user's class."""
    class Tanh(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight((input_shape[-1], self.units), name="kernel")

        def call(self, inputs, states):
            h = ops.tanh(ops.matmul(inputs, self.kernel) + states[0])
            return h, [h]

    x = np.random.default_rng(5).standard_normal((2, 3, 4))
    layer = layers.Bidirectional(layers.RNN(Tanh(2, dtype="float64"), dtype="float64"),
                                 dtype="float64")
    assert type(layer.backward_layer.cell) is Tanh
    assert layer(x).shape == (2, 4)
    check_grads(layer, [x], mode="projection")


# ---- masks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("return_sequences", [False, True])
def test_masks_from_embedding_equal_the_unpadded_prefix(return_sequences):
    """Embedding(mask_zero=True) -> Bidirectional(LSTM): each right-padded row gives what its
    unpadded prefix gives alone; padded steps output zeros and the mask flows on."""
    rng = np.random.default_rng(6)
    lengths = [5, 3, 1]
    ids = np.zeros((3, 5), "int64")
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(1, 9, n)
    embedding = layers.Embedding(9, 4, mask_zero=True, dtype="float64")
    bidi = layers.Bidirectional(layers.LSTM(3, return_sequences=return_sequences,
                                            dtype="float64"), dtype="float64")
    model = nk.Sequential([layers.Input((5,), dtype="int64"), embedding, bidi])
    _perturb(bidi, rng)
    y = model(ids)
    for row, n in enumerate(lengths):
        alone = np.asarray(bidi(embedding(ids[row:row + 1, :n])))
        if return_sequences:
            np.testing.assert_allclose(np.asarray(y)[row:row + 1, :n], alone, rtol=1e-10)
            np.testing.assert_array_equal(np.asarray(y)[row, n:], 0.0)
        else:
            np.testing.assert_allclose(np.asarray(y)[row:row + 1], alone, rtol=1e-10)
    if return_sequences:
        np.testing.assert_array_equal(np.asarray(y._keras_mask), ids != 0)
    assert bidi.forward_layer.zero_output_for_mask is return_sequences   # restored after calls


def test_masked_sequences_take_the_fused_kernels(monkeypatch):
    """return_sequences sets zero_output_for_mask on both layers (as Keras); Bidirectional
    zeros the masked steps itself, so LSTM and GRU still run their fused kernels."""
    rng = np.random.default_rng(16)
    x = rng.standard_normal((2, 4, 3))
    mask = np.array([[True, True, True, False], [True, False, True, False]])
    layer = layers.Bidirectional(layers.GRU(2, return_sequences=True, dtype="float64"),
                                 dtype="float64")
    layer.build(x.shape)
    _perturb(layer, rng)

    def no_generic_loop(*args, **kwargs):
        raise AssertionError("the generic loop ran")
    monkeypatch.setattr(layers.RNN, "_generic_loop", no_generic_loop)
    _assert_all_close(layer(x, mask=mask), _bidirectional_reference("gru", layer, x, mask))
    assert layer.forward_layer.zero_output_for_mask and layer.backward_layer.zero_output_for_mask


def test_in_models_with_fit():
    """Stacked Bidirectional layers and TimeDistributed in a functional model: shapes, masks
    through the graph, a fit step."""
    rng = np.random.default_rng(17)
    ids = rng.integers(1, 9, (8, 6))
    ids[:, 4:] = 0
    inp = nk.Input((None,), dtype="int64")
    x = layers.Embedding(9, 4, mask_zero=True)(inp)
    x = layers.Bidirectional(layers.LSTM(3, return_sequences=True))(x)
    x = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode="sum")(x)
    out = layers.TimeDistributed(layers.Dense(2, activation="softmax"))(x)
    model = nk.Model(inp, out)
    assert model.output_shape == (None, None, 2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(ids, rng.integers(0, 2, (8, 6)), epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    np.testing.assert_allclose(model.predict(ids, verbose=0)[:, :4],
                               model.predict(ids[:, :4], verbose=0), rtol=1e-5, atol=1e-6)


# ---- stateful ----------------------------------------------------------------------------------
def test_stateful_states_and_reset():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 3))
    layer = layers.Bidirectional(layers.LSTM(2, stateful=True, dtype="float64"),
                                 dtype="float64")
    first = np.asarray(layer(x))
    assert len(layer.states) == 4
    second = np.asarray(layer(x))
    assert not np.allclose(first, second)
    forward_alone = layers.LSTM(2, stateful=True, dtype="float64")
    forward_alone.build(x.shape)
    forward_alone.set_weights(layer.forward_layer.get_weights())
    forward_alone(x)
    np.testing.assert_allclose(second[:, :2], np.asarray(forward_alone(x)), rtol=1e-10)
    layer.reset_states()
    np.testing.assert_allclose(np.asarray(layer(x)), first, rtol=1e-12)
    with pytest.raises(AttributeError, match="Bidirectional.*stateful"):
        layers.Bidirectional(layers.LSTM(2)).reset_state()


# ---- TimeDistributed --------------------------------------------------------------------------
def test_time_distributed_dense_is_dense_on_the_flattened_steps():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 5, 3))
    layer = layers.TimeDistributed(layers.Dense(4, activation="tanh", dtype="float64"),
                                   dtype="float64")
    y = np.asarray(layer(x))
    kernel, bias = layer.layer.get_weights()
    np.testing.assert_allclose(y, np.tanh(x.reshape(10, 3) @ kernel + bias).reshape(2, 5, 4),
                               rtol=1e-12)
    assert layer.weights == layer.layer.weights
    check_grads(layer, [x], mode="projection")


def test_time_distributed_conv2d_and_sequential():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 6, 6, 2))
    conv = layers.Conv2D(3, 3, padding="same", dtype="float64")
    layer = layers.TimeDistributed(conv, dtype="float64")
    y = np.asarray(layer(x))
    assert y.shape == (2, 3, 6, 6, 3) == layer.compute_output_shape(x.shape)
    for t in range(3):
        np.testing.assert_allclose(y[:, t], np.asarray(conv(x[:, t])), rtol=1e-12, atol=1e-12)
    check_grads(layer, [x], mode="projection")
    inner = nk.Sequential([layers.Dense(4, activation="relu", dtype="float64"),
                           layers.Dense(2, dtype="float64")])
    wrapped = layers.TimeDistributed(inner, dtype="float64")
    z = rng.standard_normal((3, 4, 5))
    np.testing.assert_allclose(np.asarray(wrapped(z)),
                               np.asarray(inner(z.reshape(12, 5))).reshape(3, 4, 2), rtol=1e-12)
    assert nk.Input((4, 5)).shape and wrapped(nk.Input((4, 5))).shape == (None, 4, 2)
    assert layers.TimeDistributed(layers.Conv2D(3, 3))(nk.Input((None, 8, 8, 2))).shape \
        == (None, None, 6, 6, 3)


def test_time_distributed_masks():
    """The mask passes through (Keras 3's compute_mask); a wrapped layer whose call takes
    `mask` gets it reshaped to (batch * time, ...)."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4, 5))
    mask = rng.random((2, 3, 4)) < 0.7
    mask[..., 0] = True
    pooled = layers.TimeDistributed(layers.GlobalAveragePooling1D(dtype="float64"),
                                    dtype="float64")(x, mask=mask)
    want = (x * mask[..., None]).sum(2) / mask.sum(2)[..., None]
    np.testing.assert_allclose(np.asarray(pooled), want, rtol=1e-12)
    ids = np.array([[3, 1, 0, 0], [2, 0, 0, 0]])
    model = nk.Sequential([layers.Input((4,), dtype="int64"),
                           layers.Embedding(5, 3, mask_zero=True),
                           layers.TimeDistributed(layers.Dense(2))])
    np.testing.assert_array_equal(np.asarray(model(ids)._keras_mask), ids != 0)


# ---- configs, building ------------------------------------------------------------------------
def test_config_round_trips():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    for layer in (layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode="ave"),
                  layers.Bidirectional(layers.LSTM(2), merge_mode=None,
                                       backward_layer=layers.LSTM(2, go_backwards=True,
                                                                  activation="relu")),
                  layers.TimeDistributed(layers.Dense(3, activation="relu")),
                  layers.TimeDistributed(nk.Sequential([layers.Dense(3), layers.Dense(2)]))):
        config = layer.get_config()
        json.dumps(config)
        twin = type(layer).from_config(json.loads(json.dumps(config)))
        assert twin.get_config() == config
        y = layer(x)
        twin(x)
        twin.set_weights(layer.get_weights())
        _assert_all_close(twin(x), y, rtol=1e-6, atol=1e-6)
        repr(layer), hash(layer)
    config = layers.Bidirectional(layers.LSTM(2, name="l")).get_config()
    assert config["layer"]["config"]["name"] == "forward_l"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    model = nk.Sequential([layers.Input((4, 3)), layers.Bidirectional(layers.LSTM(2)),
                           layers.Dense(1)])
    clone = nk.Sequential.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


@pytest.mark.parametrize("make", [lambda: layers.TimeDistributed(layers.Conv1D(2, 2,
                                                                                dtype="float64"),
                                                                  dtype="float64"),
                                  lambda: layers.Bidirectional(layers.GRU(2, dtype="float64"),
                                                               dtype="float64")])
def test_built_by_hand_then_set_weights(make):
    rng = np.random.default_rng(12)
    shape = (2, 4, 5, 3) if isinstance(make(), layers.TimeDistributed) else (2, 4, 3)
    layer = make()
    layer.build(shape)
    assert layer.built
    chosen = [rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(chosen)
    x = rng.standard_normal(shape)
    y = np.asarray(layer(x))
    _assert_all_close(layer.get_weights(), chosen, rtol=0, atol=0)
    twin = make()
    twin(x)
    twin.set_weights(chosen)
    np.testing.assert_allclose(np.asarray(twin(x)), y, rtol=1e-12)


def test_weights_files_round_trip(tmp_path):
    pytest.importorskip("h5py")
    model = nk.Sequential([layers.Input((4, 3)), layers.Bidirectional(layers.GRU(2)),
                           layers.Dense(2)])
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    twin = nk.Sequential([layers.Input((4, 3)), layers.Bidirectional(layers.GRU(2)),
                          layers.Dense(2)])
    twin.load_weights(path)
    _assert_all_close(twin.get_weights(), model.get_weights(), rtol=0, atol=0)


# ---- errors ------------------------------------------------------------------------------------
def test_bad_input_names_the_layer_and_argument():
    with pytest.raises(ValueError, match="Bidirectional.*layer"):
        layers.Bidirectional(layers.Dense(3))
    with pytest.raises(ValueError, match="Bidirectional.*merge_mode"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="Bidirectional.*backward_layer"):
        layers.Bidirectional(layers.LSTM(3), backward_layer="lstm")
    with pytest.raises(ValueError, match="Bidirectional.*go_backwards"):
        layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(3))
    with pytest.raises(ValueError, match="Bidirectional.*return_sequences"):
        layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(
            3, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match="Bidirectional.*sequences must be"):
        layers.Bidirectional(layers.LSTM(3))(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Bidirectional.*initial_state"):
        layers.Bidirectional(layers.LSTM(3))(np.zeros((2, 4, 3)), initial_state=[np.zeros((2, 3))])
    with pytest.raises(ValueError, match="Bidirectional.*cannot take"):
        layers.Bidirectional(layers.LSTM(3))(nk.Input((3,)))
    with pytest.raises(ValueError, match="TimeDistributed.*layer"):
        layers.TimeDistributed("dense")
    with pytest.raises(ValueError, match="TimeDistributed.*inputs"):
        layers.TimeDistributed(layers.Dense(3))(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="TimeDistributed.*mask"):
        layers.TimeDistributed(layers.Dense(3))(np.zeros((2, 4, 3)), mask=np.ones((2, 5), bool))
    with pytest.raises(ValueError, match="Wrapper.*layer"):
        layers.Wrapper(3)
    with pytest.raises(NotImplementedError, match="Wrapper"):
        layers.Wrapper(layers.Dense(2))(np.zeros((1, 2)))


# ---- Keras -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,merge_mode,options", [
    ("lstm", "concat", dict()),
    ("gru", "sum", dict(return_sequences=True)),
    ("simple", "mul", dict(return_sequences=True, return_state=True)),
    ("lstm", None, dict(return_sequences=True, return_state=True)),
    ("gru", "ave", dict(return_state=True)),
])
def test_keras_numbers_bidirectional(kind, merge_mode, options):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(13)
    x = rng.standard_normal((3, 5, 4)).astype("float32")
    mask = rng.random((3, 5)) < 0.6
    mask[:, 0] = True
    make = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}[kind]
    theirs = keras.layers.Bidirectional(getattr(keras.layers, make)(3, **options),
                                        merge_mode=merge_mode)
    ours = layers.Bidirectional(getattr(layers, make)(3, **options), merge_mode=merge_mode)
    theirs.build(x.shape)
    ours.build(x.shape)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    for m in (None, mask):
        _assert_all_close(ours(x, mask=m), [np.asarray(t) for t in _listify(theirs(x, mask=m))],
                          rtol=1e-5, atol=1e-6)
    theirs_config = theirs.get_config()
    assert set(theirs_config) - {"dtype"} <= set(ours.get_config())
    from nbkeras.models.functional import deserialize_layer
    loaded = deserialize_layer({"class_name": "Bidirectional", "config": theirs_config})
    loaded.build(x.shape)
    loaded.set_weights(theirs.get_weights())
    _assert_all_close(loaded(x, mask=mask), ours(x, mask=mask), rtol=1e-6, atol=1e-6)


def test_keras_numbers_time_distributed():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 3, 6, 6, 2)).astype("float32")
    for make in (lambda m: m.Conv2D(3, 3, activation="relu"),
                 lambda m: m.Flatten()):
        theirs, ours = keras.layers.TimeDistributed(make(keras.layers)), \
            layers.TimeDistributed(make(layers))
        want = np.asarray(theirs(x))
        ours.build(x.shape)
        ours.set_weights(theirs.get_weights())
        np.testing.assert_allclose(np.asarray(ours(x)), want, rtol=1e-5, atol=1e-5)
        assert ours.compute_output_shape((None, 3, 6, 6, 2)) == \
            theirs.compute_output_shape((None, 3, 6, 6, 2))
    z = rng.standard_normal((2, 4, 3)).astype("float32")
    theirs = keras.layers.TimeDistributed(keras.layers.Dense(5))
    want = np.asarray(theirs(z))
    from nbkeras.models.functional import deserialize_layer
    ours = deserialize_layer({"class_name": "TimeDistributed", "config": theirs.get_config()})
    ours.build(z.shape)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(z)), want, rtol=1e-5, atol=1e-6)


def test_keras_weights_files_both_ways(tmp_path):
    """A .weights.h5 written by Keras loads into nbkeras and the other way round (Keras's
    groups backward_layer, forward_layer and layer)."""
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    x = np.random.default_rng(18).standard_normal((2, 4, 3)).astype("float32")

    def build(m):
        return m.Sequential([m.Input((4, 3)), m.layers.Bidirectional(m.layers.GRU(
            2, return_sequences=True)), m.layers.TimeDistributed(m.layers.Dense(2))])
    theirs, ours = build(keras), build(nk)
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    ours.load_weights(str(tmp_path / "keras.weights.h5"))
    want = np.asarray(theirs.predict(x, verbose=0))
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    ours.save_weights(str(tmp_path / "nbkeras.weights.h5"))
    again = build(keras)
    again.load_weights(str(tmp_path / "nbkeras.weights.h5"))
    np.testing.assert_allclose(np.asarray(again.predict(x, verbose=0)), want, rtol=1e-6)


# ---- training ----------------------------------------------------------------------------------
def test_bidirectional_lstm_learns_an_early_token_in_long_padded_sequences():
    """The class is the token at step 1 of a zero-padded sequence of 10 to 50 random tokens
    (4 classes): Embedding(mask_zero=True) + Bidirectional(LSTM) learns it to >= 95%."""
    nk.config.set_random_seed(0)
    rng = np.random.default_rng(15)
    n, steps, vocab, classes = 1400, 50, 16, 4
    lengths = rng.integers(10, steps + 1, n)
    ids = rng.integers(classes + 1, vocab, (n, steps))
    labels = rng.integers(0, classes, n)
    ids[:, 1] = labels + 1
    ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0
    model = nk.Sequential([layers.Input((steps,), dtype="int32"),
                           layers.Embedding(vocab, 8, mask_zero=True),
                           layers.Bidirectional(layers.LSTM(8)),
                           layers.Dense(classes, activation="softmax")])
    model.compile(optimizer=nk.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(ids[:1000], labels[:1000], epochs=6, batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(ids[1000:], labels[1000:], verbose=0)
    print(f"held-out accuracy {accuracy:.3f} after {seconds:.1f} s of fit")
    assert accuracy >= 0.95
