"""Recurrent layers: SimpleRNN, LSTM and GRU (both reset_after variants), their cells, the
generic RNN over any cell, StackedRNNCells. Forward against a plain float64 numpy loop over
time; finite-difference gradients for inputs, initial states and every weight; masks (a
masked step keeps the state; right-padded rows equal their unpadded prefix); stateful calls;
shapes equal compute_output_shape and the symbolic call; configs round trip; named errors;
the fused path equals the generic one; Keras's numbers for the same weights."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers, ops
from nbkeras.testing import check_grads

KINDS = ("simple", "lstm", "gru", "gru_before")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _reference(kind, weights, x, states, mask=None, go_backwards=False):
    """(outputs in processing order (B, T, U), final states): one step at a time in float64,
    a masked step carrying the states and repeating the previous output (h)."""
    kernel, recurrent, bias = (weights + [None])[:3]
    units = recurrent.shape[0]
    states = [np.array(s, np.float64) for s in states]
    batch, steps, _ = x.shape
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs = []
    for t in order:
        h = states[0]
        xt = x[:, t] @ kernel
        if kind == "simple":
            new = [np.tanh(xt + (bias if bias is not None else 0) + h @ recurrent)]
        elif kind == "lstm":
            z = xt + h @ recurrent + (bias if bias is not None else 0)
            i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
            c = _sigmoid(f) * states[1] + _sigmoid(i) * np.tanh(g)
            new = [_sigmoid(o) * np.tanh(c), c]
        else:
            b_in = b_rec = 0
            if bias is not None:
                b_in, b_rec = (bias[0], bias[1]) if kind == "gru" else (bias, 0)
            xp = xt + b_in
            u = units
            if kind == "gru":
                rp = h @ recurrent + b_rec
                zg, r = _sigmoid(xp[:, :u] + rp[:, :u]), _sigmoid(xp[:, u:2 * u] + rp[:, u:2 * u])
                hh = np.tanh(xp[:, 2 * u:] + r * rp[:, 2 * u:])
            else:
                rp = h @ recurrent[:, :2 * u]
                zg, r = _sigmoid(xp[:, :u] + rp[:, :u]), _sigmoid(xp[:, u:2 * u] + rp[:, u:])
                hh = np.tanh(xp[:, 2 * u:] + (r * h) @ recurrent[:, 2 * u:])
            new = [zg * h + (1 - zg) * hh]
        if mask is not None:
            keep = mask[:, t][:, None]
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        states = new
        outputs.append(states[0])
    return np.stack(outputs, axis=1), states


def _layer(kind, units, **kwargs):
    if kind == "simple":
        return layers.SimpleRNN(units, **kwargs)
    if kind == "lstm":
        return layers.LSTM(units, **kwargs)
    return layers.GRU(units, reset_after=(kind == "gru"), **kwargs)


def _cell(kind, units, **kwargs):
    if kind == "simple":
        return layers.SimpleRNNCell(units, **kwargs)
    if kind == "lstm":
        return layers.LSTMCell(units, **kwargs)
    return layers.GRUCell(units, reset_after=(kind == "gru"), **kwargs)


def _n_states(kind):
    return 2 if kind == "lstm" else 1


def _mask(rng, batch, steps):
    """Random keep/drop per step, with an all-masked row when batch > 1."""
    mask = rng.random((batch, steps)) < 0.6
    if batch > 1:
        mask[-1] = False
    return mask


def _perturb(layer, rng, scale=0.5):
    layer.set_weights([rng.standard_normal(w.shape) * scale for w in layer.get_weights()])


def _listify(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


configs = st.fixed_dictionaries(dict(
    kind=st.sampled_from(KINDS), units=st.integers(1, 4), steps=st.integers(1, 4),
    batch=st.integers(1, 3), features=st.integers(1, 3), go_backwards=st.booleans(),
    return_sequences=st.booleans(), return_state=st.booleans(), masked=st.booleans(),
    use_bias=st.booleans(), seed=st.integers(0, 2**31 - 1)))


@settings(max_examples=30, deadline=None)
@given(case=configs)
def test_forward_shapes_and_reference(case):
    rng = np.random.default_rng(case["seed"])
    kind = case["kind"]
    x = rng.standard_normal((case["batch"], case["steps"], case["features"]))
    mask = _mask(rng, case["batch"], case["steps"]) if case["masked"] else None
    layer = _layer(kind, case["units"], go_backwards=case["go_backwards"],
                   return_sequences=case["return_sequences"], return_state=case["return_state"],
                   use_bias=case["use_bias"], dtype="float64")
    layer.build(x.shape)
    _perturb(layer, rng)
    h0 = [rng.standard_normal((case["batch"], case["units"])) for _ in range(_n_states(kind))]
    y = _listify(layer(x, initial_state=h0, mask=mask))
    outputs, states = _reference(kind, layer.get_weights(), x, h0, mask, case["go_backwards"])
    expected = [outputs if case["return_sequences"] else outputs[:, -1]]
    if case["return_state"]:
        expected += states
    assert len(y) == len(expected)
    for got, want in zip(y, expected):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)
    shapes = layer.compute_output_shape(x.shape)
    shapes = list(shapes) if case["return_state"] else [shapes]
    assert [tuple(t.shape) for t in y] == [tuple(s) for s in shapes]
    symbolic = _listify(layer(nk.Input((case["steps"], case["features"]))))
    assert [tuple(t.shape) for t in symbolic] == [(None, *s[1:]) for s in shapes]
    if case["return_sequences"] and mask is not None:
        np.testing.assert_array_equal(np.asarray(y[0]._keras_mask), mask)


@settings(max_examples=15, deadline=None)
@given(case=configs)
def test_gradients_inputs_states_and_weights(case):
    rng = np.random.default_rng(case["seed"])
    kind = case["kind"]
    x = rng.standard_normal((case["batch"], case["steps"], case["features"]))
    mask = _mask(rng, case["batch"], case["steps"]) if case["masked"] else None
    layer = _layer(kind, case["units"], go_backwards=case["go_backwards"],
                   return_sequences=case["return_sequences"], return_state=case["return_state"],
                   use_bias=case["use_bias"], dtype="float64")
    layer.build(x.shape)
    _perturb(layer, rng)
    check_grads(layer, [x], call_kwargs={"mask": mask} if mask is not None else None)
    h0 = [rng.standard_normal((case["batch"], case["units"])) for _ in range(_n_states(kind))]
    check_grads(lambda x, *s: layer(x, initial_state=list(s), mask=mask), [x, *h0])


@pytest.mark.parametrize("kind", KINDS)
def test_fused_path_equals_the_generic_path(kind):
    """The layer (fused where its cell allows) against RNN(cell) with the same weights,
    values and gradients, with a mask and going backwards."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 5, 4))
    mask = _mask(rng, 3, 5)
    layer = _layer(kind, 3, return_sequences=True, return_state=True, go_backwards=True,
                   dtype="float64")
    generic = layers.RNN(_cell(kind, 3, dtype="float64"), return_sequences=True,
                         return_state=True, go_backwards=True, dtype="float64")
    layer.build(x.shape)
    generic.build(x.shape)
    assert layer._fused_cell(training=False) is not None and generic._fused_loop(
        x, None, None, False) is None
    _perturb(layer, rng)
    generic.set_weights(layer.get_weights())
    for a, b in zip(_listify(layer(x, mask=mask)), _listify(generic(x, mask=mask))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)
    cotangents = [rng.standard_normal(np.shape(t)) for t in _listify(layer(x, mask=mask))]

    def gradients(model):
        xt = ops.convert_to_tensor(x)
        with nk.GradientTape() as tape:
            tape.watch(xt)
            ys = _listify(model(xt, mask=mask))
            loss = sum(ops.sum(y * c) for y, c in zip(ys, cotangents))
        return tape.gradient(loss, [xt] + model.trainable_weights)
    for a, b in zip(gradients(layer), gradients(generic)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(KINDS), batch=st.integers(1, 3), steps=st.integers(1, 5),
       seed=st.integers(0, 2**31 - 1), go_backwards=st.booleans())
def test_mask_semantics(kind, batch, steps, seed, go_backwards):
    """A masked step leaves the state unchanged; a right-padded row's result is that of its
    unpadded prefix (a left-padded one going backwards)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, steps, 2))
    lengths = rng.integers(0, steps + 1, batch)
    mask = np.arange(steps)[None, :] < lengths[:, None]
    layer = _layer(kind, 3, return_state=True, return_sequences=True,
                   go_backwards=go_backwards, dtype="float64")
    layer.build(x.shape)
    _perturb(layer, rng)
    sequence, *states = layer(x, mask=mask)
    sequence = np.asarray(sequence)
    for b in range(batch):
        n = lengths[b]
        if n == 0:   # every step masked: the zero initial states, output repeated
            for s in states:
                np.testing.assert_array_equal(np.asarray(s)[b], 0)
            np.testing.assert_array_equal(sequence[b], 0)
            continue
        alone = _listify(layer(x[b:b + 1, :n]))
        for s, s_alone in zip(states, alone[1:]):
            np.testing.assert_allclose(np.asarray(s)[b], np.asarray(s_alone)[0], rtol=1e-12,
                                       atol=1e-12)
        prefix = np.asarray(alone[0])[0]
        if go_backwards:   # masked steps come first: they output the zero initial state
            np.testing.assert_array_equal(sequence[b, :steps - n], 0)
            np.testing.assert_allclose(sequence[b, steps - n:], prefix, rtol=1e-12, atol=1e-12)
        else:              # masked steps come last: they repeat the last real output
            np.testing.assert_allclose(sequence[b, :n], prefix, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(sequence[b, n:], np.broadcast_to(prefix[-1:],
                                       (steps - n, prefix.shape[-1])), rtol=1e-12, atol=1e-12)


def test_zero_output_for_mask():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3))
    mask = np.array([[True, False, True, False], [False, False, False, False]])
    layer = layers.RNN(layers.GRUCell(2), return_sequences=True, zero_output_for_mask=True)
    y = np.asarray(layer(x, mask=mask))
    np.testing.assert_array_equal(y[~mask], 0)
    assert np.all(y[mask] != 0)


@pytest.mark.parametrize("kind", KINDS)
def test_stateful_calls_continue_the_sequence(kind):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 3))
    layer = _layer(kind, 4, stateful=True, dtype="float64")
    whole = _layer(kind, 4, dtype="float64")
    layer.build(x.shape)
    whole.build(x.shape)
    _perturb(layer, rng)
    whole.set_weights(layer.get_weights())
    assert len(layer.weights) == len(whole.weights)    # states are not weights (as Keras)
    first = np.asarray(layer(x[:, :3]))
    second = np.asarray(layer(x[:, 3:]))
    np.testing.assert_allclose(second, np.asarray(whole(x)), rtol=1e-12, atol=1e-12)
    layer.reset_states()
    np.testing.assert_allclose(np.asarray(layer(x[:, :3])), first, rtol=1e-12, atol=1e-12)
    layer.reset_state()
    with pytest.raises(ValueError, match="stateful"):
        layer(x[:1])


def test_user_cell_and_stacked_cells():
    """RNN over a Keras-style user cell, and StackedRNNCells of LSTM and GRU cells against
    two layers in sequence."""

    class MinimalRNNCell(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight((input_shape[-1], self.units), name="kernel")
            self.recurrent_kernel = self.add_weight((self.units, self.units),
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            output = ops.matmul(inputs, self.kernel) + ops.matmul(states[0],
                                                                  self.recurrent_kernel)
            return output, [output]

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3))
    layer = layers.RNN(MinimalRNNCell(5, dtype="float64"), dtype="float64")
    y = np.asarray(layer(x))
    k, rk = layer.get_weights()
    h = np.zeros((2, 5))
    for t in range(4):
        h = x[:, t] @ k + h @ rk
    np.testing.assert_allclose(y, h, rtol=1e-12)
    check_grads(layer, [x])

    stacked = layers.RNN([layers.LSTMCell(3, dtype="float64"), layers.GRUCell(2, dtype="float64")],
                         return_sequences=True, return_state=True, dtype="float64")
    out, (h1, c1), h2 = stacked(x)
    first = layers.LSTM(3, return_sequences=True, return_state=True, dtype="float64")
    second = layers.GRU(2, return_sequences=True, return_state=True, dtype="float64")
    first.build(x.shape)
    second.build((2, 4, 3))
    weights = stacked.get_weights()
    first.set_weights(weights[:3])
    second.set_weights(weights[3:])
    seq1, fh1, fc1 = first(x)
    seq2, fh2 = second(seq1)
    for a, b in ((out, seq2), (h1, fh1), (c1, fc1), (h2, fh2)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)
    assert stacked.compute_output_shape((2, 4, 3)) == ((2, 4, 2), [(2, 3), (2, 3)], (2, 2))
    check_grads(layers.RNN([layers.LSTMCell(3, dtype="float64"),
                            layers.GRUCell(2, dtype="float64")], return_sequences=True,
                           dtype="float64"), [x])


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_masks_are_shared_across_steps(kind):
    """In training, one dropout mask per call (Keras's reuse): with recurrent dropout, the
    generic loop; results differ between calls and equal inference when training is False."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5, 3))
    for dropout, recurrent_dropout in ((0.5, 0.0), (0.3, 0.4)):
        layer = _layer(kind, 3, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=1,
                       dtype="float64")
        inference = np.asarray(layer(x))
        np.testing.assert_array_equal(np.asarray(layer(x, training=False)), inference)
        a, b = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
        assert not np.allclose(a, inference) and not np.allclose(a, b)
        assert layer.cell.__dict__.get("_dropout_mask") is None    # dropped after the call


def test_gates_order_and_unit_forget_bias():
    layer = layers.LSTM(3)
    layer.build((2, 4, 5))
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (5, 12) and recurrent.shape == (3, 12) and bias.shape == (12,)
    np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(3), atol=1e-5)   # orthogonal
    gru = layers.GRU(3)
    gru.build((2, 4, 5))
    assert [w.shape for w in gru.weights] == [(5, 9), (3, 9), (2, 9)]
    gru = layers.GRU(3, reset_after=False, use_bias=False)
    gru.build((2, 4, 5))
    assert [w.shape for w in gru.weights] == [(5, 9), (3, 9)]


@pytest.mark.parametrize("make", [
    lambda: layers.SimpleRNN(3, return_sequences=True, dropout=0.2, seed=4),
    lambda: layers.LSTM(3, return_state=True, unit_forget_bias=False, go_backwards=True,
                        kernel_regularizer="l2", recurrent_constraint="non_neg"),
    lambda: layers.GRU(3, reset_after=False, recurrent_activation="hard_sigmoid", stateful=True),
    lambda: layers.RNN(layers.LSTMCell(3), zero_output_for_mask=True),
    lambda: layers.RNN([layers.SimpleRNNCell(2), layers.GRUCell(3)], return_sequences=True),
    lambda: layers.LSTMCell(4, dropout=0.1, recurrent_dropout=0.2, seed=3),
    lambda: layers.GRUCell(4, reset_after=False),
    lambda: layers.SimpleRNNCell(4, activation="relu"),
])
def test_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    twin = type(layer).from_config(config)
    assert twin.get_config() == config
    from nbkeras.models.functional import _serialize_layer, deserialize_layer
    assert deserialize_layer(_serialize_layer(layer)).get_config() == config


def test_bad_input_names_the_layer_and_argument():
    layer = layers.LSTM(3, name="my_lstm")
    with pytest.raises(ValueError, match="LSTM 'my_lstm'.*sequences must be 3-D"):
        layer(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="LSTM 'my_lstm'.*initial_state"):
        layer(np.zeros((2, 4, 3)), initial_state=[np.zeros((2, 3))])
    with pytest.raises(ValueError, match="LSTM 'my_lstm'.*initial_state"):
        layer(np.zeros((2, 4, 3)), initial_state=[np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="GRU 'g'.*initial_state"):
        layers.GRU(3, name="g")(np.zeros((2, 4, 3)), initial_state=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="LSTMCell.*units"):
        layers.LSTMCell(0)
    with pytest.raises(ValueError, match="GRU.*use_cudnn"):
        layers.GRU(2, use_cudnn="yes")
    with pytest.raises(ValueError, match="RNN.*state_size"):
        layers.RNN(layers.Dense(3))
    with pytest.raises(ValueError, match="stateful"):
        layers.SimpleRNN(2, stateful=True)(nk.Input((4, 3)))


def test_in_models_with_masks_and_fit():
    """Embedding(mask_zero) -> LSTM -> Dense in Sequential and functional models: the mask
    reaches the LSTM; a fit step runs."""
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 9, (8, 6))
    ids[:, 4:] = 0
    model = nk.Sequential([layers.Input((6,)), layers.Embedding(9, 4, mask_zero=True),
                           layers.LSTM(5), layers.Dense(1)])
    full = np.asarray(model(ids))
    np.testing.assert_allclose(full, np.asarray(model(ids[:, :4])), rtol=1e-5, atol=1e-6)
    model.compile(optimizer="adam", loss="mse")
    model.fit(ids, rng.standard_normal((8, 1)), epochs=1, batch_size=4, verbose=0)
    inp = nk.Input((6,))
    seq, h, c = layers.LSTM(3, return_sequences=True, return_state=True)(
        layers.Embedding(9, 4, mask_zero=True)(inp))
    out = layers.GRU(3)(seq, initial_state=h)
    functional = nk.Model(inp, [out, c])
    assert [tuple(np.shape(y)) for y in functional(ids)] == [(8, 3), (8, 3)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("options", [dict(), dict(go_backwards=True, return_sequences=True,
                                                  return_state=True)])
def test_keras_numbers(kind, options):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4)).astype("float32")
    mask = _mask(rng, 3, 5)
    mask[0, 0] = True
    ours = _layer(kind, 3, **options)
    theirs = {"simple": lambda: keras.layers.SimpleRNN(3, **options),
              "lstm": lambda: keras.layers.LSTM(3, **options),
              "gru": lambda: keras.layers.GRU(3, **options),
              "gru_before": lambda: keras.layers.GRU(3, reset_after=False, **options)}[kind]()
    theirs.build(x.shape)
    ours.build(x.shape)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    for m in (None, mask):
        got = _listify(ours(x, mask=m))
        want = _listify(theirs(x, mask=m))
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    config = {k: v for k, v in theirs.get_config().items() if k != "dtype"}
    assert set(config) <= set(ours.get_config())


@pytest.mark.parametrize("kind", KINDS + ("stacked",))
def test_cells_built_by_hand_keep_their_weights(kind):
    """A cell built by hand, then set_weights: the next call uses those weights."""
    rng = np.random.default_rng(0)
    cell = (layers.StackedRNNCells([layers.LSTMCell(2, dtype="float64"),
                                    layers.SimpleRNNCell(3, dtype="float64")], dtype="float64")
            if kind == "stacked" else _cell(kind, 3, dtype="float64"))
    cell.build((2, 4))
    chosen = [rng.standard_normal(w.shape) for w in cell.get_weights()]
    cell.set_weights(chosen)
    states = [ops.convert_to_tensor(s) for s in flatten_states(cell.get_initial_state(2))]
    if kind == "stacked":
        states = [[states[0], states[1]], states[2]]
    cell(rng.standard_normal((2, 4)), states=states)
    for a, b in zip(cell.get_weights(), chosen):
        np.testing.assert_array_equal(a, b)


def flatten_states(states):
    out = []
    for s in states:
        out += flatten_states(s) if isinstance(s, (list, tuple)) else [s]
    return out


def test_configs_with_options_of_the_parent_rnn_load():
    """zero_output_for_mask reaches LSTM through RNN's **kwargs; a saved config keeps it."""
    from nbkeras.models.functional import _serialize_layer, deserialize_layer
    for cls in (layers.SimpleRNN, layers.LSTM, layers.GRU):
        layer = cls(3, return_sequences=True, zero_output_for_mask=True)
        assert deserialize_layer(_serialize_layer(layer)).zero_output_for_mask
