"""LocallyConnected1D and LocallyConnected2D (Keras 2 semantics and weight layout): forward
against a float64 numpy transcription of Keras 2's local_conv and bias_add (and its
connectivity rule for "same"), against Conv1D/Conv2D when every position holds the same
filters, float64 finite differences over Hypothesis-drawn configs, the layer contract,
build by hand then set_weights, devices, and named config errors. Keras 3 has no such layers
(and tf.keras 2 is not a dependency), so nothing here compares with a running Keras."""
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads, layer_test

LOCAL = {1: layers.LocallyConnected1D, 2: layers.LocallyConnected2D}
ACTIVATIONS = {None: lambda y: y, "tanh": np.tanh, "sigmoid": lambda y: 1 / (1 + np.exp(-y))}


def keras2_reference(x, kernel, bias, kernel_size, strides, padding, data_format, activation):
    """Keras 2's implementation 1 loop (local_conv: every output position's window sliced,
    flattened in the input's own axis order, times its kernel) and bias_add (channels_first
    reshapes the (*out, filters) bias to (filters, *out)). For "same", the window of output
    cell j along an axis is input cells j s - k // 2 .. j s - k // 2 + k - 1, the ones
    outside the input being zero (Keras 2's conv_connected_inputs)."""
    first = data_format == "channels_first"
    spatial = x.shape[2:] if first else x.shape[1:-1]
    if padding == "same":
        out = tuple(-(-n // s) for n, s in zip(spatial, strides))
    else:
        out = tuple((n - k) // s + 1 for n, k, s in zip(spatial, kernel_size, strides))
    y = np.zeros((x.shape[0], int(np.prod(out)), kernel.shape[-1]))
    for p, position in enumerate(itertools.product(*(range(o) for o in out))):
        shift = [k // 2 if padding == "same" else 0 for k in kernel_size]
        window = np.zeros((x.shape[0], x.shape[1], *kernel_size) if first
                          else (x.shape[0], *kernel_size, x.shape[-1]))
        for offset in itertools.product(*(range(k) for k in kernel_size)):
            cell = [q * s - h + o for q, s, h, o in zip(position, strides, shift, offset)]
            if all(0 <= c < n for c, n in zip(cell, spatial)):
                if first:
                    window[(slice(None), slice(None), *offset)] = x[(slice(None), slice(None),
                                                                     *cell)]
                else:
                    window[(slice(None), *offset)] = x[(slice(None), *cell)]
        y[:, p] = window.reshape(x.shape[0], -1) @ kernel[p]
    y = y.reshape(x.shape[0], *out, kernel.shape[-1])
    if first:
        y = np.moveaxis(y, -1, 1)
        if bias is not None:
            y = y + bias.reshape(1, bias.shape[-1], *bias.shape[:-1])
    elif bias is not None:
        y = y + bias[None]
    return ACTIVATIONS[activation](y)


@st.composite
def local_cases(draw):
    """(config as a user writes it, input shape): rank 1 or 2, windows and strides 1-3,
    both paddings (same with implementation 2 or 3), both formats, with or without bias."""
    rank = draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    padding = draw(st.sampled_from(["valid", "same"]))
    implementation = draw(st.sampled_from([2, 3] if padding == "same" else [1, 2, 3]))
    spatial = tuple(draw(st.integers(k if padding == "valid" else 1, k + (4 if rank == 1 else 2)))
                    for k in kernel)
    channels = draw(st.integers(1, 3))
    data_format = draw(st.sampled_from(["channels_last", "channels_first"]))
    shape = ((draw(st.integers(1, 2)), *spatial, channels) if data_format == "channels_last"
             else (draw(st.integers(1, 2)), channels, *spatial))
    config = dict(filters=draw(st.integers(1, 3)),
                  kernel_size=kernel[0] if len(set(kernel)) == 1 and draw(st.booleans())
                  else kernel, strides=strides, padding=padding, data_format=data_format,
                  activation=draw(st.sampled_from(list(ACTIVATIONS))),
                  use_bias=draw(st.booleans()), implementation=implementation)
    return rank, config, shape, kernel, draw(st.integers(0, 2**32 - 1))


@given(case=local_cases())
def test_locally_connected_matches_keras2_reference_contract_and_gradients(case):
    rank, config, shape, kernel_size, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    cls = LOCAL[rank]
    layer = cls(**config, dtype="float64")
    layer.build(shape)
    weights = [rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    expected = keras2_reference(x, weights[0], weights[1] if config["use_bias"] else None,
                                kernel_size, config["strides"], config["padding"],
                                config["data_format"], config["activation"])
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-10, atol=1e-10)
    assert layer.compute_output_shape(shape) == expected.shape
    check_grads(layer, [x])
    layer_test(cls, config, input_data=x)     # symbolic shapes, config round trip, clone


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank", [1, 2])
def test_shared_filters_at_every_position_give_the_convolution(rank, data_format):
    rng = np.random.default_rng(rank)
    spatial = (7, 6)[:rank]
    shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
    x = rng.standard_normal(shape)
    conv = (layers.Conv1D, layers.Conv2D)[rank - 1](4, 3, strides=2, data_format=data_format,
                                                    dtype="float64")
    y_conv = np.asarray(conv(x))
    kernel, bias = conv.get_weights()                    # (*k, C, O), (O,)
    flat = (kernel.reshape(-1, 4) if data_format == "channels_last"
            else np.moveaxis(kernel, -2, 0).reshape(-1, 4))   # features (C, *k)
    local = LOCAL[rank](4, 3, strides=2, data_format=data_format, dtype="float64")
    local.build(shape)
    positions = local.kernel.shape[0]
    out = y_conv.shape[1:-1] if data_format == "channels_last" else y_conv.shape[2:]
    local.set_weights([np.broadcast_to(flat, (positions, *flat.shape)),
                       np.broadcast_to(bias, (*out, 4))])
    np.testing.assert_allclose(np.asarray(local(x)), y_conv, rtol=1e-12, atol=1e-12)


def test_keras2_weight_layout_names_defaults_and_config():
    one = layers.LocallyConnected1D(5, 3, strides=2)
    one.build((None, 10, 4))
    assert [(w.name, w.shape) for w in one.weights] == [("kernel", (4, 12, 5)), ("bias", (4, 5))]
    two = layers.LocallyConnected2D(6, (2, 3), data_format="channels_first", use_bias=False)
    two.build((None, 2, 5, 7))
    assert [(w.name, w.shape) for w in two.weights] == [("kernel", (4 * 5, 12, 6))]
    three = layers.LocallyConnected2D(2, 3, padding="same", strides=2, implementation=3)
    three.build((None, 5, 6, 1))
    assert [w.shape for w in three.weights] == [(9, 9, 2), (3, 3, 2)]
    keras2_keys = {"filters", "kernel_size", "strides", "padding", "data_format", "activation",
                   "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
                   "bias_regularizer", "activity_regularizer", "kernel_constraint",
                   "bias_constraint", "implementation", "name", "trainable", "dtype"}
    config = two.get_config()
    assert keras2_keys <= set(config)
    assert (config["kernel_size"], config["strides"], config["padding"], config["activation"],
            config["implementation"]) == ((2, 3), (1, 1), "valid", "linear", 1)
    assert layers.LocallyConnected1D(2, 2, padding="VALID").padding == "valid"


def test_symbolic_shapes_model_and_training():
    model = nk.Sequential([nk.Input((8, 8, 1)),
                           layers.LocallyConnected2D(3, 3, activation="relu",
                                                     kernel_regularizer="l2"),
                           layers.LocallyConnected2D(2, 2, strides=2),
                           layers.Flatten(), layers.Dense(1)])
    assert model.output_shape == (None, 1)
    assert model.layers[0].output.shape == (None, 6, 6, 3)
    assert model.layers[1].output.shape == (None, 3, 3, 2)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 8, 8, 1)).astype("float32")
    y = x[:, 2:6, 2:6, 0].mean(axis=(1, 2))[:, None]
    history = model.fit(x, y, batch_size=8, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert len(model.layers[0].losses) == 1
    inputs = nk.Input((7, 2))
    assert layers.LocallyConnected1D(4, 2, strides=3)(inputs).shape == (None, 2, 4)
    assert layers.LocallyConnected1D(4, 2).compute_output_shape((None, None, 2)) == \
        (None, None, 4)


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.LocallyConnected1D(3, 2, dtype="float64"), (2, 5, 2)),
    (lambda: layers.LocallyConnected2D(3, 2, data_format="channels_first", dtype="float64"),
     (2, 2, 4, 3)),
])
def test_build_by_hand_then_set_weights_keeps_the_weights(make, shape):
    rng = np.random.default_rng(0)
    layer = make()
    layer.build(shape)
    assert layer.built
    chosen = [rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(chosen)
    x = rng.standard_normal(shape)
    y = np.asarray(layer(x))
    for a, b in zip(layer.get_weights(), chosen):
        np.testing.assert_array_equal(a, b)
    twin = make()
    twin(x)
    twin.set_weights(chosen)
    np.testing.assert_allclose(np.asarray(twin(x)), y, rtol=1e-12)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_on_each_device(device, data_format):
    rng = np.random.default_rng(1)
    shape = (2, 5, 4, 2) if data_format == "channels_last" else (2, 2, 5, 4)
    x = rng.standard_normal(shape)
    layer = layers.LocallyConnected2D(3, (2, 3), padding="same", implementation=2,
                                      data_format=data_format, activation="tanh",
                                      dtype="float64")
    layer.build(shape)
    weights = [rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    np.testing.assert_allclose(np.asarray(layer(x)), keras2_reference(
        x, *weights, (2, 3), (1, 1), "same", data_format, "tanh"), rtol=1e-10, atol=1e-12)
    check_grads(layer, [x])


@pytest.mark.parametrize("make, match", [
    (lambda: layers.LocallyConnected1D(0, 2), r"LocallyConnected1D '\w+': filters must be"),
    (lambda: layers.LocallyConnected2D(2, -1), r"LocallyConnected2D '\w+': kernel_size must"),
    (lambda: layers.LocallyConnected2D(2, (2, 2, 2)), r"LocallyConnected2D '\w+': kernel_size"),
    (lambda: layers.LocallyConnected1D(2, 2, strides=0), r"LocallyConnected1D '\w+': strides"),
    (lambda: layers.LocallyConnected1D(2, 2, padding="same"),
     r"LocallyConnected1D '\w+': padding must be 'valid' with implementation=1"),
    (lambda: layers.LocallyConnected2D(2, 2, padding="causal", implementation=2),
     r"LocallyConnected2D '\w+': padding must be 'valid' or 'same'"),
    (lambda: layers.LocallyConnected1D(2, 2, implementation=4),
     r"LocallyConnected1D '\w+': implementation must be 1, 2 or 3"),
    (lambda: layers.LocallyConnected2D(2, 2, data_format="nhwc"),
     r"LocallyConnected2D '\w+': data_format must be"),
    (lambda: layers.LocallyConnected1D(2, 2, kernel_initializer="nope"), r"nope"),
    (lambda: layers.LocallyConnected1D(2, 4).build((None, 3, 2)),
     r"LocallyConnected1D '\w+': kernel_size=\(4,\).*no output position"),
    (lambda: layers.LocallyConnected2D(2, 2)(nk.Input((None, 4, 1))),
     r"LocallyConnected2D '\w+'.*must be known"),
    (lambda: layers.LocallyConnected1D(2, 2)(np.ones((2, 4))),
     r"LocallyConnected1D '\w+'.*rank"),
])
def test_bad_config_fails_with_a_named_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_a_built_layer_rejects_another_input_size():
    layer = layers.LocallyConnected1D(2, 2)
    layer(np.ones((1, 5, 3)))
    with pytest.raises(ValueError, match=r"LocallyConnected1D '\w+'"):
        layer(np.ones((1, 6, 3)))
