"""Convolution layers, ops and kernels: forward against plain-loop float64 references, output
shapes against Keras's formulas, float64 gradients of the input and every weight over
Hypothesis-drawn configs (kernel sizes, strides, dilations, paddings incl. causal, both data
formats, groups, odd and even sides, batch 1), channels_first == channels_last transposed,
the layer contract, and config errors."""
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.kernels.cpu import (conv_backward, conv_backward_input, conv_backward_kernel,
                                 conv_forward)
from nbkeras.kernels.geometry import Window
from nbkeras.testing import check_grads, layer_test
from nbkeras.testing import strategies as nst

import reference
import reference_conv as ref
import reference_pooling

CONV = {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D}
TRANSPOSE = {1: layers.Conv1DTranspose, 2: layers.Conv2DTranspose, 3: layers.Conv3DTranspose}
DEPTHWISE = {1: layers.DepthwiseConv1D, 2: layers.DepthwiseConv2D}
SEPARABLE = {1: layers.SeparableConv1D, 2: layers.SeparableConv2D}
EXTRA_SIDE = {1: 4, 2: 2, 3: 1}      # keeps every drawn input a few hundred cells at most
FORMATS = st.sampled_from(["channels_last", "channels_first"])
ACTIVATIONS = st.sampled_from([None, "relu", "tanh", "sigmoid", "exponential", "elu",
                               "softmax"])


@st.composite
def windows(draw, rank, paddings=("valid", "same"), transposed=False):
    """(config as a user writes it, normalized window, channels_last spatial shape): kernel
    1-3, strides 1-3 or dilation 1-2 (not both > 1, as Keras), odd and even sides."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    dilated = draw(st.booleans())
    strides = (1,) * rank if dilated else tuple(draw(st.integers(1, 3)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(rank)) if dilated else (1,) * rank
    padding = draw(st.sampled_from(paddings))
    effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    low = effective if padding == "valid" and not transposed else [1] * rank
    spatial = tuple(draw(st.integers(n, n + EXTRA_SIDE[rank])) for n in low)
    config = {"kernel_size": kernel[0] if len(set(kernel)) == 1 and draw(st.booleans())
              else kernel, "strides": strides, "padding": padding, "dilation_rate": dilation}
    return config, (kernel, strides, padding, dilation), spatial


def _formatted(x_last, data_format):
    return x_last if data_format == "channels_last" else ref.to_channels_first(x_last)


def _activate(name, y_last, data_format):
    """The activation in the caller's layout (softmax acts on the caller's last axis)."""
    y = _formatted(y_last, data_format)
    if name is None:
        return y
    return reference.softmax(y, axis=-1) if name == "softmax" else getattr(reference, name)(y)


def _check_layer(cls, config, x, expected, keras_shape):
    # A positive bias: a window wholly in the padding then sits clear of relu's kink at 0.
    layer = cls(**config, bias_initializer=nk.initializers.RandomUniform(0.1, 1.0),
                dtype="float64")
    y = np.asarray(layer(x))
    assert y.shape == tuple(keras_shape)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *keras_shape[1:])
    np.testing.assert_allclose(y, expected(layer.get_weights()), rtol=1e-10, atol=1e-12)
    check_grads(layer, [x])


@pytest.mark.parametrize("rank", [1, 2, 3])
@given(data_format=FORMATS, activation=ACTIVATIONS, use_bias=st.booleans(), data=st.data())
def test_conv_layers_match_loops_shapes_and_finite_differences(rank, data_format, activation,
                                                               use_bias, data):
    paddings = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
    config, (kernel, strides, padding, dilation), spatial = data.draw(windows(rank, paddings))
    groups = data.draw(st.sampled_from([1, 2]))
    channels, filters = groups * data.draw(st.integers(1, 2)), groups * data.draw(
        st.integers(1, 2))
    x_last = data.draw(nst.arrays((data.draw(st.integers(1, 2)), *spatial, channels)))
    config.update(filters=filters, groups=groups, data_format=data_format,
                  activation=activation, use_bias=use_bias)
    x = _formatted(x_last, data_format)
    keras_shape = ref.conv_output_shape(x.shape, filters, kernel, strides, padding, dilation,
                                        data_format)

    def expected(weights):
        z = ref.conv(x_last, weights[0], weights[1] if use_bias else None, strides, padding,
                     dilation, groups)
        return _activate(activation, z, data_format)
    _check_layer(CONV[rank], config, x, expected, keras_shape)


@pytest.mark.parametrize("rank", [1, 2, 3])
@given(data_format=FORMATS, use_bias=st.booleans(), data=st.data())
def test_conv_transpose_layers_match_loops_shapes_and_finite_differences(rank, data_format,
                                                                         use_bias, data):
    config, (kernel, strides, padding, dilation), spatial = data.draw(
        windows(rank, transposed=True))
    output_padding = data.draw(st.none() | st.tuples(*[st.integers(0, s - 1) for s in strides]))
    channels, filters = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    x_last = data.draw(nst.arrays((data.draw(st.integers(1, 2)), *spatial, channels)))
    keras_shape = ref.conv_transpose_output_shape(_formatted(x_last, data_format).shape, filters,
                                                  kernel, strides, padding, output_padding,
                                                  dilation, data_format)
    if min(keras_shape[1:]) <= 0:    # "same", even kernel, output_padding 0: Keras is empty
        with pytest.raises(ValueError, match="too small"):
            TRANSPOSE[rank](filters, **config, output_padding=output_padding)(x_last)
        return
    config.update(filters=filters, output_padding=output_padding, data_format=data_format,
                  use_bias=use_bias)

    def expected(weights):
        y = ref.conv_transpose(x_last, weights[0], weights[1] if use_bias else None, strides,
                               padding, output_padding, dilation)
        return _formatted(y, data_format)
    _check_layer(TRANSPOSE[rank], config, _formatted(x_last, data_format), expected, keras_shape)


@pytest.mark.parametrize("rank", [1, 2])
@given(data_format=FORMATS, activation=ACTIVATIONS, use_bias=st.booleans(), data=st.data())
def test_depthwise_conv_layers_match_loops_shapes_and_finite_differences(rank, data_format,
                                                                         activation, use_bias,
                                                                         data):
    config, (kernel, strides, padding, dilation), spatial = data.draw(windows(rank))
    channels, multiplier = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2))
    x_last = data.draw(nst.arrays((data.draw(st.integers(1, 2)), *spatial, channels)))
    config.update(depth_multiplier=multiplier, data_format=data_format, activation=activation,
                  use_bias=use_bias)
    x = _formatted(x_last, data_format)
    keras_shape = ref.conv_output_shape(x.shape, channels * multiplier, kernel, strides,
                                        padding, dilation, data_format)

    def expected(weights):
        z = ref.depthwise_conv(x_last, weights[0], weights[1] if use_bias else None, strides,
                               padding, dilation)
        return _activate(activation, z, data_format)
    _check_layer(DEPTHWISE[rank], config, x, expected, keras_shape)


@pytest.mark.parametrize("rank", [1, 2])
@given(data_format=FORMATS, activation=ACTIVATIONS, use_bias=st.booleans(), data=st.data())
def test_separable_conv_layers_match_loops_shapes_and_finite_differences(rank, data_format,
                                                                         activation, use_bias,
                                                                         data):
    config, (kernel, strides, padding, dilation), spatial = data.draw(windows(rank))
    channels, multiplier = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2))
    filters = data.draw(st.integers(1, 3))
    x_last = data.draw(nst.arrays((data.draw(st.integers(1, 2)), *spatial, channels)))
    config.update(filters=filters, depth_multiplier=multiplier, data_format=data_format,
                  activation=activation, use_bias=use_bias)
    x = _formatted(x_last, data_format)
    keras_shape = ref.conv_output_shape(x.shape, filters, kernel, strides, padding, dilation,
                                        data_format)

    def expected(weights):
        z = ref.separable_conv(x_last, weights[0], weights[1], weights[2] if use_bias else None,
                               strides, padding, dilation)
        return _activate(activation, z, data_format)
    _check_layer(SEPARABLE[rank], config, x, expected, keras_shape)


@settings(max_examples=15)
@given(family=st.sampled_from(["conv", "transpose", "depthwise", "separable"]),
       rank=st.integers(1, 3), activation=ACTIVATIONS, data=st.data())
def test_channels_first_equals_channels_last_transposed(family, rank, activation, data):
    rank = min(rank, 2) if family in ("depthwise", "separable") else rank
    cls = {"conv": CONV, "transpose": TRANSPOSE, "depthwise": DEPTHWISE,
           "separable": SEPARABLE}[family][rank]
    config, _, spatial = data.draw(windows(rank, transposed=family == "transpose"))
    config = {**config, **({} if family == "depthwise" else {"filters": 2}),
              "activation": None if activation == "softmax" else activation}
    x = data.draw(nst.arrays((1, *spatial, 2)))
    last = cls(**config, data_format="channels_last", dtype="float64")
    first = cls(**config, data_format="channels_first", dtype="float64")
    try:
        y_last = np.asarray(last(x))
    except ValueError:               # an empty transposed output: nothing to compare
        return
    first.build(ref.to_channels_first(x).shape)
    first.set_weights(last.get_weights())
    y_first = np.asarray(first(ref.to_channels_first(x)))
    np.testing.assert_allclose(ref.to_channels_last(y_first), y_last, rtol=1e-12, atol=1e-12)


CONTRACT = [
    (layers.Conv1D, dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (2, 7, 2),
     (2, 7, 3)),
    (layers.Conv2D, dict(filters=4, kernel_size=3, strides=2, padding="same",
                         activation="relu"), (2, 9, 8, 3), (2, 5, 4, 4)),
    (layers.Conv3D, dict(filters=4, kernel_size=(2, 1, 2), groups=2,
                         data_format="channels_first"), (1, 4, 3, 2, 3), (1, 4, 2, 2, 2)),
    (layers.Conv1DTranspose, dict(filters=2, kernel_size=3, strides=2), (2, 4, 3), (2, 9, 2)),
    (layers.Conv2DTranspose, dict(filters=3, kernel_size=3, strides=2, padding="same",
                                  output_padding=1), (1, 3, 4, 2), (1, 6, 8, 3)),
    (layers.Conv3DTranspose, dict(filters=2, kernel_size=2, strides=(2, 1, 1)), (1, 2, 2, 2, 2),
     (1, 4, 3, 3, 2)),
    (layers.DepthwiseConv1D, dict(kernel_size=3, depth_multiplier=2, padding="same"), (2, 6, 3),
     (2, 6, 6)),
    (layers.DepthwiseConv2D, dict(kernel_size=2, strides=2, activation="tanh"), (1, 5, 4, 3),
     (1, 2, 2, 3)),
    (layers.SeparableConv1D, dict(filters=3, kernel_size=3, depth_multiplier=2), (2, 6, 2),
     (2, 4, 3)),
    (layers.SeparableConv2D, dict(filters=2, kernel_size=3, padding="same",
                                  data_format="channels_first"), (1, 2, 4, 5), (1, 2, 4, 5)),
]


@pytest.mark.parametrize("cls, kwargs, input_shape, output_shape", CONTRACT,
                         ids=[c[0].__name__ for c in CONTRACT])
def test_layer_contract(cls, kwargs, input_shape, output_shape):
    layer_test(cls, kwargs, input_shape=input_shape, expected_output_shape=output_shape)


def test_weight_layouts_names_and_defaults_are_keras():
    x = np.zeros((1, 6, 6, 4), "float32")
    conv = layers.Conv2D(6, 3, groups=2)
    conv(x)
    assert [(w.name, w.shape) for w in conv.weights] == [("kernel", (3, 3, 2, 6)),
                                                        ("bias", (6,))]
    transpose = layers.Conv2DTranspose(5, (2, 3))
    transpose(x)
    assert [w.shape for w in transpose.weights] == [(2, 3, 5, 4), (5,)]
    depthwise = layers.DepthwiseConv2D(3, depth_multiplier=2)
    depthwise(x)
    assert [(w.name, w.shape) for w in depthwise.weights] == [("kernel", (3, 3, 4, 2)),
                                                             ("bias", (8,))]
    separable = layers.SeparableConv2D(7, 3, depth_multiplier=2)
    separable(x)
    assert [(w.name, w.shape) for w in separable.weights] == [
        ("depthwise_kernel", (3, 3, 4, 2)), ("pointwise_kernel", (1, 1, 8, 7)), ("bias", (7,))]
    config = layers.Conv1D(4, 3).get_config()
    assert (config["strides"], config["padding"], config["data_format"], config["groups"],
            config["dilation_rate"], config["activation"]) == ((1,), "valid", "channels_last", 1,
                                                               (1,), "linear")
    assert conv.name.startswith("conv2d") and transpose.name.startswith("conv2d_transpose")
    assert depthwise.name.startswith("depthwise_conv2d")


def test_data_format_default_follows_config():
    nk.config.set_image_data_format("channels_first")
    try:
        layer = layers.Conv2D(3, 2)
    finally:
        nk.config.set_image_data_format("channels_last")
    assert layer.data_format == "channels_first"
    assert layer.compute_output_shape((None, 4, 5, 6)) == (None, 3, 4, 5)


def test_symbolic_shapes_with_unknown_spatial_sizes_and_padding_changes():
    inputs = nk.Input((None, None, 3))
    y = layers.Conv2D(8, 3, strides=2, padding="same")(inputs)
    z = layers.Conv2DTranspose(4, 3, strides=2, padding="same")(y)
    assert y.shape == (None, None, None, 8) and z.shape == (None, None, None, 4)
    model = nk.Model(inputs, z)
    out = model(np.random.default_rng(0).standard_normal((2, 7, 6, 3)).astype("float32"))
    assert out.shape == (2, 8, 6, 4)


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Conv2D(0, 3), r"Conv2D '\w+': filters must be a positive integer"),
    (lambda: layers.Conv2D(4, 0), r"Conv2D '\w+': kernel_size must be"),
    (lambda: layers.Conv2D(4, (3, 3, 3)), r"Conv2D '\w+': kernel_size must be"),
    (lambda: layers.Conv2D(4, 3, padding="full"), r"Conv2D '\w+': padding must be 'valid' or "
                                                  "'same'"),
    (lambda: layers.Conv2D(4, 3, padding="causal"), r"Conv2D.*padding"),
    (lambda: layers.Conv1D(4, 3, strides=2, dilation_rate=2), r"Conv1D.*strides must be 1 when"),
    (lambda: layers.Conv2D(4, 3, groups=3), r"Conv2D.*filters must be divisible by groups"),
    (lambda: layers.Conv2D(4, 3, groups=0), r"Conv2D.*groups must be a positive integer"),
    (lambda: layers.Conv2D(4, 3, data_format="nhwc"), r"Conv2D.*data_format"),
    (lambda: layers.Conv2D(4, 3, activation="nope"), "Unknown activation 'nope'"),
    (lambda: layers.Conv2D(4, 3, kernel_initializer="nope"), "initializer"),
    (lambda: layers.Conv2D(4, 3, strides=-1), r"Conv2D.*strides"),
    (lambda: layers.Conv3D(4, 3, dilation_rate=(1, 0, 1)), r"Conv3D.*dilation_rate"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2),
     r"Conv2DTranspose.*output_padding must be non-negative and smaller than strides"),
    (lambda: layers.Conv1DTranspose(4, 3, padding="causal"), r"Conv1DTranspose.*padding"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0),
     r"DepthwiseConv2D.*depth_multiplier must be a positive integer"),
    (lambda: layers.DepthwiseConv1D(3, padding="causal"), r"DepthwiseConv1D.*padding"),
    (lambda: layers.SeparableConv2D(0, 3), r"SeparableConv2D.*filters"),
    (lambda: layers.SeparableConv1D(2, 3, strides=2, dilation_rate=2),
     r"SeparableConv1D.*strides"),
])
def test_bad_config_fails_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, shape, match", [
    (lambda: layers.Conv2D(4, 3, groups=2), (1, 5, 5, 3), r"Conv2D.*channels \(3\) must be "
                                                          "divisible by groups"),
    (lambda: layers.Conv2D(4, 5), (1, 3, 3, 2), "too small"),
    (lambda: layers.Conv2D(4, 3), (1, 5, 2), "rank 4"),
    (lambda: layers.Conv1D(4, 3, data_format="channels_first"), (1, None, 5),
     "channel axis of the input must be known"),
])
def test_shapes_that_cannot_flow_fail_when_built(make, shape, match):
    with pytest.raises(ValueError, match=match):
        make()(nk.Input(batch_shape=shape))


def test_built_layer_rejects_other_channels():
    layer = layers.Conv2D(2, 3)
    layer(np.zeros((1, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match="axis -1"):
        layer(np.zeros((1, 4, 4, 5), "float32"))


# ---- ops ---------------------------------------------------------------------------------

@given(data=st.data())
def test_ops_conv_infers_groups_and_takes_explicit_and_causal_padding(data):
    x = data.draw(nst.arrays((2, 7, 4)))
    kernel = data.draw(nst.arrays((3, 2, 6)))                     # groups = 4 // 2
    y = nk.ops.conv(x, kernel, padding="causal", dilation_rate=2)
    np.testing.assert_allclose(np.asarray(y), ref.conv(x, kernel, None, (1,), "causal", (2,), 2),
                               rtol=1e-12, atol=1e-12)
    pads = ((3, 1),)
    explicit = nk.ops.conv(x, kernel, padding=pads, strides=2)
    padded = np.pad(x, ((0, 0), (3, 1), (0, 0)))
    np.testing.assert_allclose(np.asarray(explicit),
                               ref.conv(padded, kernel, None, (2,), "valid", (1,), 2),
                               rtol=1e-12, atol=1e-12)


@given(name=st.sampled_from(["relu", "sigmoid", "tanh", "exponential"]), data=st.data())
def test_fused_activation_matches_the_separate_op_with_its_own_gradient(name, data):
    x = data.draw(nst.arrays((2, 5, 4, 3)))
    kernel = data.draw(nst.arrays((2, 3, 3, 4), scale=0.3))     # exp stays well-scaled
    bias = data.draw(nst.arrays((4,)))

    def fused(x, kernel, bias):
        return nk.ops.conv(x, kernel, padding="same", bias=bias, activation=name)

    def separate(x, kernel, bias):
        return getattr(nk.activations, name)(nk.ops.conv(x, kernel, padding="same", bias=bias))
    np.testing.assert_allclose(np.asarray(fused(x, kernel, bias)),
                               np.asarray(separate(x, kernel, bias)), rtol=1e-12, atol=1e-12)
    check_grads(fused, [x, kernel, bias])


@settings(max_examples=40)
@given(rank=st.integers(1, 3), data_format=FORMATS, groups=st.sampled_from([1, 2]),
       activation=st.sampled_from([None, "relu", "sigmoid", "tanh"]), data=st.data())
def test_conv_with_max_pool_equals_conv_then_max_pool(rank, data_format, groups, activation,
                                                       data):
    """ops.conv(..., max_pool=(size, strides)) = max_pool(conv(...), "valid") for every window
    and layout, one input channel and Winograd's convolutions included; its VJP (recomputing
    the unpooled output) passes the finite-difference check."""
    _, (kernel, strides, padding, dilation), spatial = data.draw(windows(rank))
    channels = groups * data.draw(st.sampled_from([1, 2, 8]))   # 8: 3x3 ones run Winograd's
    out = [conv_out for conv_out in nk.ops.conv_output_shape(
        (1, *spatial, channels), (*kernel, channels // groups, 2), strides, padding,
        dilation)[1:-1]]
    pool_size = tuple(data.draw(st.integers(1, min(3, n))) for n in out)
    pool_strides = tuple(data.draw(st.integers(1, 3)) for _ in range(rank))
    x = _formatted(data.draw(nst.arrays((2, *spatial, channels))), data_format)
    w = data.draw(nst.arrays((*kernel, channels // groups, 2 * groups), scale=0.5))
    b = data.draw(nst.arrays((2 * groups,)))
    config = dict(strides=strides, padding=padding, data_format=data_format,
                  dilation_rate=dilation, groups=groups, activation=activation)

    def fused(x, w, b):
        return nk.ops.conv(x, w, bias=b, max_pool=(pool_size, pool_strides), **config)

    def separate_ops(x, w, b):
        return nk.ops.max_pool(nk.ops.conv(x, w, bias=b, **config), pool_size, pool_strides,
                               "valid", data_format)

    separate = separate_ops(x, w, b)
    np.testing.assert_allclose(np.asarray(fused(x, w, b)), np.asarray(separate), rtol=1e-12,
                               atol=1e-12)
    check_grads(fused, [x, w, b])
    tensors = [nk.Tensor(a) for a in (x, w, b)]
    dy = data.draw(nst.arrays(tuple(separate.shape)))
    gradients = []
    for fn in (fused, separate_ops):
        with nk.GradientTape() as tape:
            tape.watch(tensors)
            y = fn(*tensors)
        gradients.append(tape.gradient(y, tensors, output_gradients=dy))
    for a, b in zip(*gradients):          # the fused VJP = the separate ops' gradients
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)


@settings(max_examples=40)
@given(rank=st.integers(1, 3), groups=st.sampled_from([1, 2]),
       activation=st.sampled_from([None, "relu", "tanh"]),
       pool_padding=st.sampled_from(["valid", "same"]), batch=st.integers(1, 3),
       data=st.data())
def test_conv_takes_max_pools_deferred_gradient(rank, groups, activation, pool_padding, batch,
                                                data):
    """max_pool(conv(x)) under a tape, as a CNN trains: the convolution's VJP takes the
    pooling's gradient unmade (relu and linear; the CPU kernel then makes the unpooled
    gradient a block of images at a time) where the windows lie inside the image, and its
    gradients equal those through the made pooling gradient, for disjoint (tiling the image
    or with gaps between them), overlapping and "same" windows, one input channel and
    Winograd's convolutions; finite differences agree."""
    from nbkeras.kernels import cpu as cpu_kernels
    from nbkeras.ops.conv import Conv

    kernel = tuple(data.draw(st.integers(1, 3)) for _ in range(rank))
    strides = tuple(data.draw(st.integers(1, 2)) for _ in range(rank))
    padding, dilation = data.draw(st.sampled_from(["valid", "same"])), (1,) * rank
    spatial = tuple(data.draw(st.integers(3, {1: 12, 2: 8, 3: 5}[rank])) for _ in range(rank))
    channels = groups * data.draw(st.sampled_from([1, 2, 8]))
    out = nk.ops.conv_output_shape((1, *spatial, channels), (*kernel, channels // groups, 2),
                                   strides, padding, dilation)[1:-1]
    pool_size = tuple(data.draw(st.integers(1, min(3, n))) for n in out)
    pool_strides = tuple(data.draw(st.integers(1, size)) for size in pool_size)  # overlapping
    gapped = tuple(size + data.draw(st.integers(1, 2)) for size in pool_size)
    pool_strides = data.draw(st.sampled_from([pool_strides, pool_size, gapped]))  # or disjoint
    tensors = [nk.Tensor(data.draw(nst.arrays(shape, scale=scale))) for shape, scale in
               (((batch, *spatial, channels), 1.0),
                ((*kernel, channels // groups, 2 * groups), 0.5), ((2 * groups,), 1.0))]

    def conv_then_pool(x, w, b):
        y = nk.ops.conv(x, w, bias=b, strides=strides, padding=padding, dilation_rate=dilation,
                        groups=groups, activation=activation)
        return nk.ops.max_pool(y, pool_size, pool_strides, pool_padding)

    def gradients():
        with nk.GradientTape() as tape:
            tape.watch(tensors)
            y = conv_then_pool(*tensors)
        return tape.gradient(y, tensors, output_gradients=dy)

    dy = data.draw(nst.arrays(tuple(conv_then_pool(*tensors).shape)))
    with mock.patch.object(cpu_kernels, "conv_backward", wraps=cpu_kernels.conv_backward) as spy:
        deferred = gradients()
    pool = spy.call_args.args[8] if len(spy.call_args.args) > 8 else None
    assert (pool is not None) == (activation != "tanh")
    with mock.patch.object(Conv, "takes_deferred_gradients", False):
        made = gradients()
    for a, b in zip(deferred, made):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)
    check_grads(conv_then_pool, [t.numpy() for t in tensors])


@pytest.mark.parametrize("channels", [1, 8], ids=["direct", "winograd"])
def test_a_nan_reaching_a_fused_pool_window_makes_it_nan(channels):
    """The fused pool propagates NaN as max pooling does (a NaN anywhere in a window), on the
    direct kernel's path and Winograd's."""
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((2, 12, 11, channels)).astype("float32")
    x[rng.random(x.shape[:-1]) < 0.05] = np.nan
    w = rng.standard_normal((3, 3, channels, 4)).astype("float32")
    fused = nk.ops.conv(x, w, max_pool=((2, 2), (2, 2)), activation="relu")
    separate = nk.ops.max_pool(nk.ops.conv(x, w, activation="relu"), 2, 2)
    assert np.isnan(np.asarray(separate)).any() and not np.isnan(np.asarray(separate)).all()
    np.testing.assert_allclose(np.asarray(fused), np.asarray(separate), rtol=1e-5, atol=1e-5)


def test_float32_runs_in_float32():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 5, 3)).astype("float32")
    layer = layers.Conv2D(4, 3, padding="same", activation="relu")
    y = layer(x)
    assert y.dtype == "float32"
    expected = reference.relu(ref.conv(x.astype("float64"), *[w.astype("float64") for w in
                                                              layer.get_weights()],
                                       (1, 1), "same", (1, 1)))
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5, atol=1e-5)


def _products_in_runs(runs, w, groups):
    """The conv kernels' products in runs of `runs` rows (as where BLAS has small products,
    see kernels/cpu/gemm.py and blas.py: with 16, the kernel gradient's too), or each in one
    call (0)."""
    from nbkeras.kernels.cpu import conv as conv_kernels

    limit = runs * w[..., 0].size * (w.shape[-1] // groups)
    return mock.patch.object(conv_kernels, "small_product_limit", lambda: limit)


@pytest.mark.parametrize("runs", [0, 8, 16])
@pytest.mark.parametrize("rank, groups, channels", [(1, 1, 4), (2, 2, 4), (3, 1, 4),
                                                     (1, 1, 1), (2, 1, 1), (3, 1, 1)])
def test_kernels_are_adjoint_for_odd_paddings_and_parallel_batches(rank, groups, channels,
                                                                   runs, two_threads):
    """<conv(x, w), dy> = <x, backward_input(dy)> = <w, backward_kernel(dy, x)>, exactly (up to
    rounding), with asymmetric paddings larger than the kernel and a batch large enough to
    split across threads; one input channel takes its own im2col path."""
    rng = np.random.default_rng(rank)
    spatial = {1: (200,), 2: (12, 11), 3: (6, 5, 7)}[rank]
    kernel = {1: (3,), 2: (2, 3), 3: (3, 1, 2)}[rank]
    strides = {1: (3,), 2: (2, 1), 3: (1, 2, 3)}[rank]
    dilation = {1: (2,), 2: (1, 2), 3: (2, 1, 1)}[rank]
    padding = {1: ((5, 0),), 2: ((0, 4), (3, 2)), 3: ((1, 4), (0, 0), (2, 3))}[rank]
    x = rng.standard_normal((16, *spatial, channels))
    w = rng.standard_normal((*kernel, channels // groups, 6))
    geometry = Window(kernel, strides, padding, dilation)
    with _products_in_runs(runs, w, groups):
        y = conv_forward(x, w, geometry, groups)
        dy = rng.standard_normal(y.shape)
        dx = conv_backward_input(dy, w, x.shape, geometry, groups)
        dw = conv_backward_kernel(dy, x, w.shape, geometry, groups)
    inner = np.sum(y * dy)
    np.testing.assert_allclose([np.sum(x * dx), np.sum(w * dw)], [inner, inner], rtol=1e-10)
    padded = np.pad(x, ((0, 0), *padding, (0, 0)))
    np.testing.assert_allclose(y[:2], ref.conv(padded[:2], w, None, strides, "valid", dilation,
                                               groups), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("runs", [0, 8, 16])
@pytest.mark.parametrize("groups, relu", [(1, True), (2, False)])
def test_fused_backward_matches_tap_by_tap_gradients_on_threads(groups, relu, runs,
                                                                two_threads):
    """conv_backward's one pass (relu mask from y, bias, kernel and input gradients), on a
    batch split across two threads, equals plain numpy gradients computed tap by tap; the
    gradients not asked for are None, the others unchanged."""
    from nbkeras.kernels.cpu import conv as conv_kernels

    rng = np.random.default_rng(groups)
    x = rng.standard_normal((24, 9, 8, 4))
    w = rng.standard_normal((3, 2, 4 // groups, 6))
    geometry = Window((3, 2), (2, 1), ((1, 1), (0, 1)), (1, 1))
    with _products_in_runs(runs, w, groups):
        y = conv_forward(x, w, geometry, groups, rng.standard_normal(6), relu)
        dy = rng.standard_normal(y.shape)
        dx, dw, db = conv_backward(dy, x, w, geometry, groups, y if relu else None)
    assert conv_kernels._chunks(x.shape[0], dy.size * w[..., 0].size) == 2
    dz = np.where(y > 0, dy, 0) if relu else dy
    expected = ref.conv_gradients(x, w, dz, geometry.strides, geometry.padding,
                                  geometry.dilation, groups)
    for got, want in zip((dx, dw, db), expected):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)
    only_input = conv_backward(dy, x, w, geometry, groups, y if relu else None,
                               kernel_gradient=False)
    only_kernel = conv_backward(dy, x, w, geometry, groups, y if relu else None,
                                input_gradient=False)
    only_bias = conv_backward(dy, x, w, geometry, groups, y if relu else None,
                              input_gradient=False, kernel_gradient=False)
    assert only_input[1] is None and only_kernel[0] is None and only_bias[:2] == (None, None)
    np.testing.assert_allclose(only_input[0], expected[0], rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(only_kernel[1], expected[1], rtol=1e-11, atol=1e-11)
    for partial in (only_input, only_kernel, only_bias):
        np.testing.assert_allclose(partial[2], expected[2], rtol=1e-11, atol=1e-11)


@settings(max_examples=30, deadline=None)
@given(rank=st.integers(1, 3), groups=st.sampled_from([1, 2]), relu=st.booleans(),
       kept=st.sampled_from([0.0, 0.1, 0.5, 0.9]), batch=st.integers(1, 9),
       dtype=st.sampled_from(["float32", "float64"]), seed=st.integers(0, 2**16))
def test_backward_drops_rows_without_gradient_exactly(rank, groups, relu, kept, batch, dtype,
                                                      seed, two_threads):
    """conv_backward skips the output positions whose gradient row is all zero (those no
    pooling window took, dead units): dx, dw and db equal the tap-by-tap gradients whatever
    share of rows is zero (none kept, some, most), a NaN row is kept, and two threads
    split the batch."""
    rng = np.random.default_rng(seed)
    spatial = {1: (11,), 2: (7, 6), 3: (4, 5, 3)}[rank]
    x = rng.standard_normal((batch, *spatial, 4)).astype(dtype)
    w = rng.standard_normal((*(3,) * rank, 4 // groups, 6)).astype(dtype)
    geometry = Window((3,) * rank, (1,) * rank, ((1, 0),) * rank, (1,) * rank)
    y = conv_forward(x, w, geometry, groups, rng.standard_normal(6).astype(dtype), relu)
    rows = rng.random(y.shape[:-1]) < kept
    dy = np.where(rows[..., None], rng.standard_normal(y.shape), 0).astype(dtype)
    dx, dw, db = conv_backward(dy, x, w, geometry, groups, y if relu else None)
    dz = (np.where(y > 0, dy, 0) if relu else dy).astype("float64")
    expected = ref.conv_gradients(x.astype("float64"), w.astype("float64"), dz,
                                  geometry.strides, geometry.padding, geometry.dilation, groups)
    tolerance = 1e-4 if dtype == "float32" else 1e-11
    for got, want in zip((dx, dw, db), expected):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)
    if not relu and batch > 1:           # a NaN in one row reaches dw and db; dx of image 0 only
        dy[(0,) * (rank + 1) + (2,)] = np.nan
        dx, dw, db = conv_backward(dy, x, w, geometry, groups)
        assert np.isnan(dw).any() and np.isnan(db[2]) and not np.isnan(dx[1:]).any()
        assert np.isnan(dx[0]).any()


def test_frozen_conv_passes_the_input_gradient_only():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 6, 2))
    layer = layers.Conv2D(3, 3, activation="relu", dtype="float64")
    layer(x)
    layer.trainable = False
    tensor = nk.ops.convert_to_tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(tensor)
        y = layer(tensor)
    dx, dw, db = tape.gradient(y, [tensor, *layer.weights])
    assert dw is None and db is None and dx.shape == x.shape
    check_grads(layer, [x])


@pytest.mark.parametrize("call, match", [
    (lambda: nk.ops.conv(np.zeros((1, 5, 3)), np.zeros((2, 3, 4)), padding="full"),
     r"conv: padding must be 'valid' or 'same' or 'causal'"),
    (lambda: nk.ops.conv(np.zeros((1, 5, 5, 3)), np.zeros((2, 2, 3, 4)), padding="causal"),
     "conv: padding must be"),
    (lambda: nk.ops.conv(np.zeros((1, 5, 5, 3)), np.zeros((2, 2, 2, 4))),
     r"conv: the input's channels \(3\) must equal the kernel's input channels"),
    (lambda: nk.ops.conv(np.zeros((1, 2, 3)), np.zeros((3, 3, 4))), "conv: .* too small"),
    (lambda: nk.ops.conv(np.zeros((1, 5, 3)), np.zeros((2, 3, 4)), bias=np.zeros(3)),
     r"conv: the bias must have shape \(4,\)"),
    (lambda: nk.ops.conv(np.zeros((1, 5, 3)), np.zeros((2, 3, 4)), strides=0),
     "conv: strides must be"),
    (lambda: nk.ops.conv_transpose(np.zeros((1, 5, 3)), np.zeros((2, 4, 3)), strides=2,
                                   output_padding=2), "output_padding must be smaller"),
    (lambda: nk.ops.conv_transpose(np.zeros((1, 5, 3)), np.zeros((2, 4, 2))),
     r"conv_transpose: the input's channels \(3\) must equal the kernel's last axis"),
    (lambda: nk.ops.depthwise_conv(np.zeros((1, 5, 5, 3)), np.zeros((2, 2, 3, 1)),
                                   data_format="nchw"), "depthwise_conv: data_format"),
])
def test_bad_op_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# Fixed corners the Keras layer docs name, value-checked against the float64 loops on every
# run (the Hypothesis tests above reach them only in some runs): uneven "same" padding
# (even kernels, strides > 1, odd sides), causal padding with dilation, transposed
# convolutions with output_padding and dilation, grouped and channels_first convolutions.
CORNERS = [
    ("conv", 1, dict(filters=2, kernel_size=2, strides=2, padding="same"), (2, 7, 3)),
    ("conv", 1, dict(filters=2, kernel_size=4, strides=3, padding="same"), (1, 10, 2)),
    ("conv", 1, dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (2, 7, 2)),
    ("conv", 1, dict(filters=2, kernel_size=2, padding="causal", dilation_rate=3), (1, 5, 1)),
    ("conv", 2, dict(filters=2, kernel_size=(4, 2), strides=(3, 2), padding="same"),
     (1, 7, 5, 2)),
    ("conv", 2, dict(filters=4, kernel_size=3, padding="same", dilation_rate=2, groups=2,
                     data_format="channels_first"), (1, 4, 6, 5)),
    ("conv", 3, dict(filters=2, kernel_size=2, strides=2, padding="same"), (1, 3, 5, 4, 1)),
    ("transpose", 1, dict(filters=2, kernel_size=3, strides=2, output_padding=1), (2, 4, 3)),
    ("transpose", 1, dict(filters=2, kernel_size=4, strides=3, padding="same",
                          output_padding=2), (1, 3, 2)),
    ("transpose", 2, dict(filters=3, kernel_size=3, strides=(2, 3), padding="same",
                          output_padding=(1, 0)), (1, 3, 4, 2)),
    ("transpose", 2, dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"),
     (1, 4, 3, 2)),
    ("transpose", 3, dict(filters=2, kernel_size=2, strides=2, output_padding=1),
     (1, 2, 2, 3, 1)),
    ("depthwise", 1, dict(kernel_size=2, strides=2, padding="same", depth_multiplier=2),
     (2, 7, 3)),
    ("depthwise", 2, dict(kernel_size=3, dilation_rate=2, padding="same"), (1, 6, 5, 2)),
    ("separable", 1, dict(filters=2, kernel_size=4, strides=2, padding="same"), (1, 9, 2)),
    ("separable", 2, dict(filters=3, kernel_size=2, strides=2, padding="same",
                          depth_multiplier=2), (1, 5, 7, 2)),
]


def _normalized(config, rank):
    def per_axis(value):
        return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank
    return (per_axis(config["kernel_size"]), per_axis(config.get("strides", 1)),
            config.get("padding", "valid"), per_axis(config.get("dilation_rate", 1)))


@pytest.mark.parametrize("family, rank, config, shape", CORNERS,
                         ids=[f"{f}{r}d-{i}" for i, (f, r, _, _) in enumerate(CORNERS)])
def test_named_corners_match_the_reference(family, rank, config, shape):
    x = np.random.default_rng(len(shape)).standard_normal(shape)
    data_format = config.get("data_format", "channels_last")
    x_last = x if data_format == "channels_last" else ref.to_channels_last(x)
    kernel, strides, padding, dilation = _normalized(config, rank)
    cls = {"conv": CONV, "transpose": TRANSPOSE, "depthwise": DEPTHWISE,
           "separable": SEPARABLE}[family][rank]
    if family == "transpose":
        output_padding = config.get("output_padding")
        output_padding = (None if output_padding is None else
                          _normalized({"kernel_size": output_padding}, rank)[0])
        keras_shape = ref.conv_transpose_output_shape(x.shape, config["filters"], kernel,
                                                      strides, padding, output_padding,
                                                      dilation, data_format)

        def expected(weights):
            return _formatted(ref.conv_transpose(x_last, *weights, strides, padding,
                                                 output_padding, dilation), data_format)
    else:
        filters = config.get("filters", shape[-1] * config.get("depth_multiplier", 1))
        keras_shape = ref.conv_output_shape(x.shape, filters, kernel, strides, padding,
                                            dilation, data_format)

        def expected(weights):
            if family == "conv":
                y = ref.conv(x_last, *weights, strides, padding, dilation,
                             config.get("groups", 1))
            elif family == "depthwise":
                y = ref.depthwise_conv(x_last, *weights, strides, padding, dilation)
            else:
                y = ref.separable_conv(x_last, *weights, strides, padding, dilation)
            return _formatted(y, data_format)
    _check_layer(cls, config, x, expected, keras_shape)


@pytest.mark.parametrize("cls, kwargs, input_shape, output_shape", CONTRACT,
                         ids=[c[0].__name__ for c in CONTRACT])
def test_layer_contract_values_match_the_reference(cls, kwargs, input_shape, output_shape):
    """The contract cases' outputs, not only their shapes, against the float64 loops."""
    rank = len(input_shape) - 2
    family = next(name for name, classes in (("conv", CONV), ("transpose", TRANSPOSE),
                                             ("depthwise", DEPTHWISE),
                                             ("separable", SEPARABLE))
                  if classes.get(rank) is cls)
    layer = cls(**kwargs, dtype="float64", bias_initializer="random_normal")
    x = np.random.default_rng(7).standard_normal(input_shape)
    y = np.asarray(layer(x))
    assert y.shape == output_shape
    data_format = kwargs.get("data_format", "channels_last")
    x_last = x if data_format == "channels_last" else ref.to_channels_last(x)
    kernel, strides, padding, dilation = _normalized(kwargs, rank)
    weights = layer.get_weights()
    if family == "conv":
        z = ref.conv(x_last, *weights, strides, padding, dilation, kwargs.get("groups", 1))
    elif family == "transpose":
        output_padding = kwargs.get("output_padding")
        z = ref.conv_transpose(x_last, *weights, strides, padding,
                               None if output_padding is None else
                               _normalized({"kernel_size": output_padding}, rank)[0], dilation)
    elif family == "depthwise":
        z = ref.depthwise_conv(x_last, *weights, strides, padding, dilation)
    else:
        z = ref.separable_conv(x_last, *weights, strides, padding, dilation)
    np.testing.assert_allclose(y, _activate(kwargs.get("activation"), z, data_format),
                               rtol=1e-10, atol=1e-12)


@settings(max_examples=20)
@given(groups=st.sampled_from([1, 2]), pool=st.booleans(), relu=st.booleans(),
       block_rows=st.integers(1, 40), tile_rows=st.integers(1, 40), data=st.data())
def test_forward_in_tiles_of_rows_equals_the_reference(groups, pool, relu, block_rows,
                                                       tile_rows, data):
    """conv_forward stacks images up to BLOCK_ROWS im2col rows and gathers and multiplies at
    most TILE_ROWS rows at a time: tiles that end inside an image row, stacked small images
    and the fused max-pool all give the reference's numbers (both lowered so small images
    take every path)."""
    from nbkeras.kernels.cpu import conv as conv_kernels

    spatial = (data.draw(st.integers(2, 9)), data.draw(st.integers(2, 9)))
    x = data.draw(nst.arrays((3, *spatial, 2 * groups)))
    w = data.draw(nst.arrays((3, 2, 2, 4 * groups)))
    b = data.draw(nst.arrays((4 * groups,)))
    geometry = Window((3, 2), (1, 1), ((1, 1), (0, 1)), (1, 1))
    pooling = Window((2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)) if pool else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_kernels, "BLOCK_ROWS", block_rows)
        patch.setattr(conv_kernels, "TILE_ROWS", tile_rows)
        y = conv_forward(x, w, geometry, groups, b, relu, pooling)
    expected = ref.conv(np.pad(x, ((0, 0), (1, 1), (0, 1), (0, 0))), w, b, (1, 1), "valid",
                        (1, 1), groups)
    expected = np.maximum(expected, 0) if relu else expected
    if pool:
        expected = reference_pooling.pool(expected, (2, 2), (2, 2), "valid", "max")
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
