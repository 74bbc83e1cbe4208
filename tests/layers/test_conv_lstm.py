"""ConvLSTM1D/2D/3D: forward against a float64 numpy step loop whose convolutions are explicit
loops; finite differences for inputs, initial states and every weight; masks (a masked step
keeps h and c; right-padded rows equal their unpadded prefix); return_state/sequences,
go_backwards, stateful calls; channels_first; shapes equal compute_output_shape and the
symbolic call; configs round trip (Keras's load); named errors; Keras's numbers from its
weights."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads

LAYERS = {1: layers.ConvLSTM1D, 2: layers.ConvLSTM2D, 3: layers.ConvLSTM3D}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _conv(x, w, strides, padding, dilation):
    """x (B, *S, C) convolved with w (*k, C, O), channels_last, one output cell and one kernel
    tap at a time; "same" pads as TensorFlow (the odd cell after)."""
    rank = x.ndim - 2
    kernel = w.shape[:rank]
    pads, out = [], []
    for n, k, s, d in zip(x.shape[1:-1], kernel, strides, dilation):
        eff = d * (k - 1) + 1
        if padding == "same":
            size = math.ceil(n / s)
            total = max((size - 1) * s + eff - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            size = (n - eff) // s + 1
            pads.append((0, 0))
        out.append(size)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    y = np.zeros((x.shape[0], *out, w.shape[-1]))
    for cell in np.ndindex(*out):
        for tap in np.ndindex(*kernel):
            at = tuple(cell[a] * strides[a] + tap[a] * dilation[a] for a in range(rank))
            y[(slice(None), *cell)] += xp[(slice(None), *at)] @ w[tap]
    return y


def _reference(weights, x, states, strides, padding, dilation, mask=None, go_backwards=False):
    """(h of every step in processing order, [h, c]) in float64, channels_last; a masked step
    keeps h and c."""
    kernel, recurrent, bias = (weights + [None])[:3]
    rank = x.ndim - 3
    f = recurrent.shape[-2]
    h, c = (np.array(s, np.float64) for s in states)
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    outputs = []
    for t in order:
        z = (_conv(x[:, t], kernel, strides, padding, dilation)
             + _conv(h, recurrent, (1,) * rank, "same", (1,) * rank))
        if bias is not None:
            z = z + bias
        i, fg, g, o = (z[..., k * f:(k + 1) * f] for k in range(4))
        c_new = _sigmoid(fg) * c + _sigmoid(i) * np.tanh(g)
        h_new = _sigmoid(o) * np.tanh(c_new)
        if mask is not None:
            keep = mask[:, t].reshape((-1,) + (1,) * (rank + 1))
            h_new, c_new = np.where(keep, h_new, h), np.where(keep, c_new, c)
        h, c = h_new, c_new
        outputs.append(h)
    return np.stack(outputs, axis=1), [h, c]


def _mask(rng, batch, steps):
    mask = rng.random((batch, steps)) < 0.6
    if batch > 1:
        mask[-1] = False
    return mask


def _listify(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _to_first(a, time=True):
    """channels_last -> channels_first for sequences (time=True) or states."""
    return np.moveaxis(a, -1, 2 if time else 1)


@st.composite
def cases(draw):
    rank = draw(st.sampled_from([1, 1, 2, 2, 3]))
    kernel = tuple(draw(st.integers(1, 3 if rank < 3 else 2)) for _ in range(rank))
    stride_or_dilation = draw(st.sampled_from(["none", "strides", "dilation"]))
    strides = tuple(draw(st.integers(1, 2)) if stride_or_dilation == "strides" else 1
                    for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 2)) if stride_or_dilation == "dilation" else 1
                     for _ in range(rank))
    padding = draw(st.sampled_from(["valid", "same"]))
    spatial = tuple(draw(st.integers(d * (k - 1) + 1, d * (k - 1) + 3 if rank < 3 else
                                     d * (k - 1) + 2)) for k, d in zip(kernel, dilation))
    return dict(rank=rank, kernel=kernel, strides=strides, dilation=dilation, padding=padding,
                spatial=spatial, filters=draw(st.integers(1, 2)), channels=draw(st.integers(1, 2)),
                steps=draw(st.integers(1, 3)), batch=draw(st.integers(1, 2)),
                go_backwards=draw(st.booleans()), return_sequences=draw(st.booleans()),
                return_state=draw(st.booleans()), masked=draw(st.booleans()),
                use_bias=draw(st.booleans()), channels_first=draw(st.booleans()),
                initial=draw(st.booleans()), seed=draw(st.integers(0, 2**31 - 1)))


def _make(case, **extra):
    return LAYERS[case["rank"]](
        case["filters"], case["kernel"], strides=case["strides"], padding=case["padding"],
        dilation_rate=case["dilation"], use_bias=case["use_bias"],
        go_backwards=case["go_backwards"], return_sequences=case["return_sequences"],
        return_state=case["return_state"], dtype="float64",
        data_format="channels_first" if case["channels_first"] else "channels_last", **extra)


def _data(case, rng):
    """Sequences (channels_last) and a mask or None."""
    x = rng.standard_normal((case["batch"], case["steps"], *case["spatial"], case["channels"]))
    mask = _mask(rng, case["batch"], case["steps"]) if case["masked"] else None
    return x, mask


@settings(max_examples=25, deadline=None)
@given(case=cases())
def test_forward_shapes_and_reference(case):
    rng = np.random.default_rng(case["seed"])
    x, mask = _data(case, rng)
    layer = _make(case)
    first = case["channels_first"]
    x_in = _to_first(x) if first else x
    layer.build(x_in.shape)
    layer.set_weights([rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()])
    weights = layer.get_weights()
    probe = _conv(x[:, 0], weights[0], case["strides"], case["padding"], case["dilation"])
    state_shape = probe.shape[:-1] + (case["filters"],)
    states = [rng.standard_normal(state_shape) if case["initial"] else np.zeros(state_shape)
              for _ in range(2)]
    given_states = [_to_first(s, time=False) if first else s for s in states]
    y = _listify(layer(x_in, initial_state=given_states if case["initial"] else None,
                       mask=mask))
    outputs, final = _reference(weights, x, states, case["strides"], case["padding"],
                                case["dilation"], mask, case["go_backwards"])
    expected = [outputs if case["return_sequences"] else outputs[:, -1]]
    if case["return_state"]:
        expected += final
    assert len(y) == len(expected)
    for got, want in zip(y, expected):
        got = np.asarray(got)
        if first:
            got = np.moveaxis(got, 2 if got.ndim == want.ndim and want.ndim == x.ndim else 1,
                              -1)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    shapes = layer.compute_output_shape(x_in.shape)
    shapes = list(shapes) if case["return_state"] else [shapes]
    assert [tuple(t.shape) for t in y] == [tuple(s) for s in shapes]
    symbolic = _listify(layer(nk.Input(x_in.shape[1:])))
    assert [tuple(t.shape) for t in symbolic] == [(None, *s[1:]) for s in shapes]
    if case["return_sequences"] and mask is not None:
        np.testing.assert_array_equal(np.asarray(y[0]._keras_mask), mask)


GRAD_CASES = [
    dict(rank=1, kernel=(2,), strides=(1,), dilation=(1,), padding="same", spatial=(4,),
         masked=True, go_backwards=True, return_sequences=True),
    dict(rank=1, kernel=(2,), strides=(2,), dilation=(1,), padding="valid", spatial=(5,),
         masked=False, go_backwards=False, return_sequences=False, channels_first=True),
    dict(rank=2, kernel=(2, 2), strides=(1, 1), dilation=(1, 2), padding="valid",
         spatial=(3, 4), masked=True, go_backwards=False, return_sequences=True),
    dict(rank=3, kernel=(2, 1, 2), strides=(1, 1, 1), dilation=(1, 1, 1), padding="same",
         spatial=(2, 2, 2), masked=False, go_backwards=True, return_sequences=False),
]


@pytest.mark.parametrize("spec", GRAD_CASES)
def test_gradients_inputs_states_and_weights(spec):
    case = {**dict(filters=2, channels=2, steps=3, batch=2, return_state=True, use_bias=True,
                   channels_first=False, initial=True, seed=0), **spec}
    rng = np.random.default_rng(1)
    x, _ = _data(case, rng)
    mask = np.array([[True, False, True], [True, True, False]]) if case["masked"] else None
    layer = _make(case)
    if case["channels_first"]:
        x = _to_first(x)
    layer.build(x.shape)
    layer.set_weights([rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()])
    kwargs = {"mask": mask} if mask is not None else None
    check_grads(layer, [x], call_kwargs=kwargs, mode="projection")
    h0 = [rng.standard_normal(s.shape) for s in layer.get_initial_state(2)]
    check_grads(lambda x, h, c: layer(x, initial_state=[h, c], mask=mask), [x, *h0],
                mode="projection")


@pytest.mark.parametrize("rank", [1, 2])
def test_masked_rows_equal_their_unpadded_prefix(rank):
    rng = np.random.default_rng(rank)
    spatial = (4,) * rank
    x = rng.standard_normal((3, 5, *spatial, 2))
    layer = LAYERS[rank](3, 3, padding="same", return_state=True, dtype="float64")
    lengths = [5, 3, 1]
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    y, h, c = layer(x, mask=mask)
    for row, n in enumerate(lengths):
        yp, hp, cp = layer(x[row:row + 1, :n])
        np.testing.assert_allclose(np.asarray(y)[row], np.asarray(yp)[0], rtol=1e-12)
        np.testing.assert_allclose(np.asarray(c)[row], np.asarray(cp)[0], rtol=1e-12)
    backwards = LAYERS[rank](3, 3, padding="same", go_backwards=True, dtype="float64")
    backwards.build(x.shape)
    backwards.set_weights(layer.get_weights())
    flipped = np.asarray(backwards(x))
    np.testing.assert_allclose(flipped, np.asarray(layer(x[:, ::-1]))[0], rtol=1e-12)


def test_stateful_calls_continue_the_sequence():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 4, 3))
    whole = layers.ConvLSTM1D(2, 2, padding="same", dtype="float64", return_sequences=True)
    parts = layers.ConvLSTM1D(2, 2, padding="same", dtype="float64", return_sequences=True,
                              stateful=True)
    whole.build(x.shape)
    parts.build((2, 3, 4, 3))
    parts.set_weights(whole.get_weights())
    first, second = np.asarray(parts(x[:, :3])), np.asarray(parts(x[:, 3:]))
    np.testing.assert_allclose(np.concatenate([first, second], 1), np.asarray(whole(x)),
                               rtol=1e-12)
    parts.reset_state()
    np.testing.assert_allclose(np.asarray(parts(x[:, :3])), first, rtol=1e-12)
    assert [tuple(s.shape) for s in parts.states] == [(2, 4, 2), (2, 4, 2)]


def test_dropout_in_training_only():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 5, 2))
    layer = layers.ConvLSTM2D(3, 3, dropout=0.5, recurrent_dropout=0.5, seed=1,
                              dtype="float64")
    plain = layers.ConvLSTM2D(3, 3, dtype="float64")
    layer.build(x.shape)
    plain.build(x.shape)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(plain(x)), rtol=1e-12)
    trained = np.asarray(layer(x, training=True))
    assert trained.shape == (2, 3, 3, 3) and not np.allclose(trained, np.asarray(plain(x)))
    check_grads(lambda x: layer(x, training=False), [x], mode="projection")


def test_in_a_model_with_fit():
    rng = np.random.default_rng(0)
    model = nk.Sequential([layers.Input((4, 6, 6, 1)),
                           layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True),
                           layers.ConvLSTM2D(2, 3), layers.Flatten(), layers.Dense(1)])
    assert model.output_shape == (None, 1)
    model.compile(optimizer="adam", loss="mse")
    x = rng.standard_normal((4, 4, 6, 6, 1)).astype("float32")
    history = model.fit(x, rng.standard_normal((4, 1)), epochs=2, batch_size=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize("make", [
    lambda: layers.ConvLSTM1D(3, 2),
    lambda: layers.ConvLSTM2D(4, (3, 2), strides=(2, 1), padding="same",
                              data_format="channels_first", activation="relu",
                              recurrent_activation="hard_sigmoid", use_bias=False,
                              kernel_regularizer="l2", recurrent_constraint="non_neg",
                              dropout=0.1, recurrent_dropout=0.2, seed=3, return_sequences=True,
                              return_state=True, go_backwards=True, name="c2"),
    lambda: layers.ConvLSTM3D(2, 2, dilation_rate=2, unit_forget_bias=False, stateful=True,
                              activity_regularizer="l1"),
])
def test_config_round_trip(make):
    from nbkeras.models.functional import _serialize_layer, deserialize_layer
    layer = make()
    config = layer.get_config()
    twin = type(layer).from_config(config)
    assert twin.get_config() == config
    assert deserialize_layer(_serialize_layer(layer)).get_config() == config
    assert layer.filters == config["filters"] and layer.padding == config["padding"]


def test_bad_config_and_inputs_name_the_layer_and_field():
    with pytest.raises(ValueError, match="ConvLSTMCell.*filters"):
        layers.ConvLSTM2D(0, 3)
    with pytest.raises(ValueError, match="ConvLSTMCell.*padding"):
        layers.ConvLSTM2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="ConvLSTMCell.*kernel_size"):
        layers.ConvLSTM2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match="ConvLSTMCell.*data_format"):
        layers.ConvLSTM1D(2, 3, data_format="nhwc")
    with pytest.raises(ValueError, match="strides > 1 is not compatible with dilation_rate"):
        layers.ConvLSTM1D(2, 3, strides=2, dilation_rate=2)
    layer = layers.ConvLSTM2D(2, 3, name="clstm")
    with pytest.raises(ValueError, match="ConvLSTM2D 'clstm'.*sequences must be 5-D"):
        layer(np.zeros((2, 3, 5, 1)))
    with pytest.raises(ValueError, match="ConvLSTM2D 'clstm'.*initial_state"):
        layer(np.zeros((2, 3, 5, 5, 1)), initial_state=[np.zeros((2, 3, 3, 2))])
    with pytest.raises(ValueError, match="ConvLSTM1D.*initial_state"):
        layers.ConvLSTM1D(2, 3)(np.zeros((2, 3, 5, 1)),
                                initial_state=[np.zeros((2, 5, 2)), np.zeros((2, 5, 2))])
    with pytest.raises(ValueError, match="static spatial"):
        layers.ConvLSTM1D(2, 3)(nk.Input((3, None, 1)))


@pytest.mark.parametrize("rank,options", [
    (1, dict()),
    (1, dict(padding="same", go_backwards=True, return_sequences=True, return_state=True)),
    (2, dict(strides=2, return_sequences=True)),
    (2, dict(padding="same", dilation_rate=(1, 2), return_state=True)),
    (3, dict(padding="same", go_backwards=True)),
])
def test_keras_numbers(rank, options):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(rank)
    x = rng.standard_normal((2, 4, *(5,) * rank, 2)).astype("float32") if rank < 3 else \
        rng.standard_normal((2, 3, 3, 4, 3, 2)).astype("float32")
    ours = LAYERS[rank](3, 3 if rank < 3 else 2, **options)
    theirs = getattr(keras.layers, f"ConvLSTM{rank}D")(3, 3 if rank < 3 else 2, **options)
    theirs.build(x.shape)
    ours.build(x.shape)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    theirs.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.3
                        for w in ours.get_weights()])
    ours.set_weights(theirs.get_weights())
    # no masks: Keras 3.15's ConvLSTM on JAX fails to broadcast a (batch, timesteps) mask
    got, want = _listify(ours(x)), _listify(theirs(x))
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=2e-6)
    config = {k: v for k, v in theirs.get_config().items() if k != "dtype"}
    assert set(config) <= set(ours.get_config())
    from nbkeras.models.functional import deserialize_layer
    loaded = deserialize_layer({"class_name": f"ConvLSTM{rank}D",
                                "config": {**config, "dtype": "float32"}})
    loaded.build(x.shape)
    loaded.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(_listify(loaded(x))[0]),
                               np.asarray(_listify(theirs(x))[0]), rtol=1e-5, atol=2e-6)


def test_on_each_device(device):
    """Forward against the reference and gradients, on each device of tests/devices.py (the
    convolutions run on that device's kernels)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4, 4, 2))
    mask = np.array([[True, False, True], [True, True, False]])
    layer = layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True, dtype="float64")
    layer.build(x.shape)
    layer.set_weights([rng.standard_normal(w.shape) * 0.5 for w in layer.get_weights()])
    outputs, _ = _reference(layer.get_weights(), x, [np.zeros((2, 4, 4, 2))] * 2, (1, 1),
                            "same", (1, 1), mask)
    np.testing.assert_allclose(np.asarray(layer(x, mask=mask)), outputs, rtol=1e-10,
                               atol=1e-12)
    check_grads(layer, [x], call_kwargs={"mask": mask}, mode="projection")


def test_keras_weights_files_both_ways(tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("h5py")
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 5, 1)).astype("float32")

    def build(m):
        return m.Sequential([m.Input((3, 5, 5, 1)), m.layers.ConvLSTM2D(
            2, 3, padding="same", return_sequences=True), m.layers.ConvLSTM2D(2, 2),
            m.layers.Flatten(), m.layers.Dense(1)])
    theirs, ours = build(keras), build(nk)
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    ours.load_weights(str(tmp_path / "keras.weights.h5"))
    want = np.asarray(theirs.predict(x, verbose=0))
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    ours.save_weights(str(tmp_path / "nbkeras.weights.h5"))
    again = build(keras)
    again.load_weights(str(tmp_path / "nbkeras.weights.h5"))
    np.testing.assert_allclose(np.asarray(again.predict(x, verbose=0)), want, rtol=1e-6)
