"""ZeroPadding, Cropping and UpSampling layers (1-D, 2-D, 3-D) and the pad / resize ops:
forward against plain numpy, Keras's output shapes and docstring examples, float64 gradients
over Hypothesis-drawn configs, channels_first == channels_last transposed, the layer
contract, and config errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads, layer_test
from nbkeras.testing import strategies as nst

import reference_pooling as ref

PADDING = (layers.ZeroPadding1D, layers.ZeroPadding2D, layers.ZeroPadding3D)
CROPPING = (layers.Cropping1D, layers.Cropping2D, layers.Cropping3D)
UPSAMPLING = (layers.UpSampling1D, layers.UpSampling2D, layers.UpSampling3D)
FORMATS = st.sampled_from(["channels_last", "channels_first"])


def _formatted(x_last, data_format):
    return x_last if data_format == "channels_last" else ref.to_channels_first(x_last)


@st.composite
def widths(draw, rank, max_width=2):
    """(argument in one of Keras's forms, the (before, after) pair per spatial axis)."""
    count = st.integers(0, max_width)
    pairs = tuple(draw(st.tuples(count, count)) for _ in range(rank))
    form = draw(st.sampled_from(["int", "ints", "pairs"]))
    if form == "int" or (form == "ints" and rank == 1):
        n = draw(count)
        return n, ((n, n),) * rank
    if form == "ints":
        sizes = tuple(draw(count) for _ in range(rank))
        return sizes, tuple((n, n) for n in sizes)
    return (pairs[0] if rank == 1 else pairs), pairs


@given(rank=st.integers(1, 3), data_format=FORMATS, data=st.data())
def test_zero_padding_layers(rank, data_format, data):
    padding, pairs = data.draw(widths(rank))
    shape = data.draw(nst.shapes(rank + 2, rank + 2, 1, 3))
    x_last = data.draw(nst.arrays(shape))
    expected = _formatted(ref.zero_pad(x_last, pairs), data_format)
    config = {"padding": padding, "data_format": data_format}
    x = _formatted(x_last, data_format)
    layer = PADDING[rank - 1](**config)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *expected.shape[1:])
    layer_test(PADDING[rank - 1], config, input_data=x, expected_output=expected, rtol=0, atol=0)


@given(rank=st.integers(1, 3), data_format=FORMATS, data=st.data())
def test_cropping_layers(rank, data_format, data):
    cropping, pairs = data.draw(widths(rank))
    sides = [a + b + data.draw(st.integers(1, 2)) for a, b in pairs]
    shape = (data.draw(st.integers(1, 2)), *sides, data.draw(st.integers(1, 2)))
    x_last = data.draw(nst.arrays(shape))
    expected = _formatted(ref.crop(x_last, pairs), data_format)
    config = {"cropping": cropping}
    if rank > 1:
        config["data_format"] = data_format       # Cropping1D is channels_last only, as in Keras
    else:
        data_format = "channels_last"
        expected = ref.crop(x_last, pairs)
    layer_test(CROPPING[rank - 1], config, input_data=_formatted(x_last, data_format),
               expected_output=expected, rtol=0, atol=0)


@given(rank=st.integers(1, 3), data_format=FORMATS, data=st.data())
def test_nearest_upsampling_layers(rank, data_format, data):
    size = tuple(data.draw(st.integers(1, 3)) for _ in range(rank))
    shape = data.draw(nst.shapes(rank + 2, rank + 2, 1, 3))
    x_last = data.draw(nst.arrays(shape))
    config = {"size": size[0] if rank == 1 or data.draw(st.booleans()) and len(set(size)) == 1
              else size}
    size = (size[0],) * rank if isinstance(config["size"], int) else size
    if rank == 1:
        data_format = "channels_last"             # UpSampling1D has no data_format, as in Keras
    else:
        config["data_format"] = data_format
    expected = _formatted(ref.upsample_nearest(x_last, size), data_format)
    layer_test(UPSAMPLING[rank - 1], config, input_data=_formatted(x_last, data_format),
               expected_output=expected, rtol=0, atol=0)


@given(size=st.tuples(st.integers(1, 3), st.integers(1, 3)), data_format=FORMATS,
       shape=nst.shapes(4, 4, 1, 4), data=st.data())
def test_bilinear_upsampling_follows_jax_image_resize(size, data_format, shape, data):
    x_last = data.draw(nst.arrays(shape))
    expected = ref.resize_bilinear(x_last, (shape[1] * size[0], shape[2] * size[1]))
    layer_test(layers.UpSampling2D, {"size": size, "data_format": data_format,
                                     "interpolation": "bilinear"},
               input_data=_formatted(x_last, data_format),
               expected_output=_formatted(expected, data_format), rtol=1e-12, atol=1e-12)


@given(out_hw=st.tuples(st.integers(1, 7), st.integers(1, 7)), shape=nst.shapes(4, 4, 1, 5),
       data=st.data())
def test_resize_bilinear_to_any_size(out_hw, shape, data):
    x = data.draw(nst.arrays(shape))
    y = nk.ops.resize(x, out_hw)
    np.testing.assert_allclose(np.asarray(y), ref.resize_bilinear(x, out_hw), rtol=1e-12,
                               atol=1e-12)
    check_grads(lambda t: nk.ops.resize(t, out_hw), [x])


def test_bilinear_known_values_and_large_arrays():
    """jax.image.resize([0, 1], (4,), "linear") == [0, .25, .75, 1]; past the single-thread
    threshold (batch 1: channel blocks) the kernel still matches."""
    x = np.array([0.0, 1.0]).reshape(1, 1, 2, 1)
    y = layers.UpSampling2D((1, 2), interpolation="bilinear", dtype="float64")(x)
    np.testing.assert_allclose(np.asarray(y)[0, 0, :, 0], [0.0, 0.25, 0.75, 1.0])
    big = np.random.default_rng(0).standard_normal((1, 24, 20, 48))
    tensor = nk.Tensor(big)
    with nk.GradientTape() as tape:
        tape.watch(tensor)
        y = nk.ops.resize(tensor, (48, 60))
    np.testing.assert_allclose(np.asarray(y), ref.resize_bilinear(big, (48, 60)), rtol=1e-12,
                               atol=1e-12)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    dx = np.asarray(tape.gradient(y, tensor, output_gradients=dy))
    v = np.random.default_rng(2).standard_normal(big.shape)      # <dy, R v> == <R^T dy, v>
    np.testing.assert_allclose(np.sum(dx * v), np.sum(dy * ref.resize_bilinear(v, (48, 60))),
                               rtol=1e-10)


def test_bilinear_matches_pytorch_half_pixel():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((2, 5, 4, 3))
    xt = torch.from_numpy(x).permute(0, 3, 1, 2)
    for out_hw in ((10, 12), (3, 7)):
        expected = torch.nn.functional.interpolate(xt, size=out_hw, mode="bilinear",
                                                   align_corners=False).permute(0, 2, 3, 1)
        np.testing.assert_allclose(np.asarray(nk.ops.resize(x, out_hw)), expected.numpy(),
                                   rtol=1e-12, atol=1e-12)


def test_keras_docstring_examples():
    x = np.arange(4).reshape(1, 1, 2, 2)
    y = np.asarray(layers.ZeroPadding2D(padding=1)(x))
    assert y.shape == (1, 3, 4, 2) and (y[0, 1, 1:3] == x[0, 0]).all() and y.sum() == x.sum()
    x = np.arange(12).reshape(2, 2, 3)
    np.testing.assert_array_equal(np.asarray(layers.ZeroPadding1D(padding=2)(x))[0],
                                  [[0, 0, 0], [0, 0, 0], [0, 1, 2], [3, 4, 5], [0, 0, 0],
                                   [0, 0, 0]])
    assert layers.ZeroPadding3D(padding=2)(np.ones((1, 1, 2, 2, 3))).shape == (1, 5, 6, 6, 3)
    assert layers.Cropping2D(((2, 2), (4, 4)))(np.ones((2, 28, 28, 3))).shape == (2, 24, 20, 3)
    assert layers.Cropping3D((2, 4, 2))(np.ones((2, 28, 28, 10, 3))).shape == (2, 24, 20, 6, 3)
    np.testing.assert_array_equal(np.asarray(layers.Cropping1D((1, 2))(np.ones((3, 5, 7)))),
                                  np.ones((3, 2, 7)))
    x = np.arange(12).reshape(2, 2, 1, 3)
    np.testing.assert_array_equal(np.asarray(layers.UpSampling2D(size=(1, 2))(x)),
                                  np.repeat(x, 2, axis=2))
    x = np.arange(12).reshape(2, 2, 3)
    np.testing.assert_array_equal(np.asarray(layers.UpSampling1D(size=2)(x)),
                                  np.repeat(x, 2, axis=1))
    assert layers.UpSampling3D((2, 2, 2))(np.ones((2, 1, 2, 1, 3))).shape == (2, 2, 4, 2, 3)


def test_keras_config_forms_and_symbolic_shapes():
    assert layers.ZeroPadding1D().get_config()["padding"] == (1, 1)
    assert layers.ZeroPadding2D((1, 2)).padding == ((1, 1), (2, 2))
    assert layers.Cropping1D().cropping == (1, 1)
    assert layers.Cropping3D(1).cropping == ((1, 1),) * 3
    assert layers.UpSampling1D().size == 2 and layers.UpSampling3D(3).size == (3, 3, 3)
    assert layers.UpSampling2D(interpolation="BILINEAR").interpolation == "bilinear"
    inputs = nk.Input((None, 6, 3))
    assert layers.ZeroPadding2D(((1, 2), (0, 1)))(inputs).shape == (None, None, 7, 3)
    assert layers.Cropping2D(((1, 2), (0, 1)))(inputs).shape == (None, None, 5, 3)
    assert layers.UpSampling2D((2, 3))(inputs).shape == (None, None, 18, 3)
    first = nk.Input((3, 4, 5))
    assert layers.UpSampling2D(2, data_format="channels_first")(first).shape == (None, 3, 8, 10)
    assert layers.ZeroPadding2D(1, data_format="channels_first")(first).shape == (None, 3, 6, 7)
    assert layers.Cropping2D(1, data_format="channels_first")(first).shape == (None, 3, 2, 3)


@given(shape=nst.shapes(1, 4, 1, 4), data=st.data())
def test_pad_op_matches_numpy_and_its_gradient_crops(shape, data):
    x = data.draw(nst.arrays(shape))
    width = data.draw(st.sampled_from([1, (1,), (0, 2), [(1, 0)] * len(shape),
                                       tuple((i % 2, 1) for i in range(len(shape)))]))
    value = data.draw(st.sampled_from([None, 0.0, -1.5]))
    y = nk.ops.pad(x, width, constant_values=value)
    np.testing.assert_array_equal(np.asarray(y), np.pad(x, width, constant_values=value or 0))
    check_grads(lambda t: nk.ops.pad(t, width, constant_values=value), [x])


def test_resize_nearest_repeats_and_unbatched_images():
    x = np.random.default_rng(4).standard_normal((5, 4, 2))
    y = np.asarray(nk.ops.resize(x, (10, 12), interpolation="nearest"))
    np.testing.assert_array_equal(y, np.repeat(np.repeat(x, 2, 0), 3, 1))
    y = np.asarray(nk.ops.resize(x[None], (10, 8)))[0]
    np.testing.assert_allclose(y, ref.resize_bilinear(x[None], (10, 8))[0], rtol=1e-12)


def test_reshaping_layers_in_a_model_train():
    model = nk.Sequential([layers.Input((6, 6, 2)), layers.ZeroPadding2D(1),
                           layers.UpSampling2D(interpolation="bilinear"),
                           layers.Cropping2D(((1, 2), (2, 1))), layers.UpSampling2D(),
                           layers.MaxPooling2D(4), layers.Flatten(), layers.Dense(2)])
    assert model.output_shape == (None, 2)
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 6, 6, 2)), rng.random((8, 2))
    model.compile(optimizer=nk.optimizers.SGD(0.01), loss="mse")
    losses = model.fit(x, y, epochs=5, verbose=0).history["loss"]
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.parametrize("make, match", [
    (lambda: layers.ZeroPadding1D(-1), r"ZeroPadding1D '\w+': padding must be a non-negative"),
    (lambda: layers.ZeroPadding1D((1, 2, 3)), r"ZeroPadding1D '\w+': padding must be"),
    (lambda: layers.ZeroPadding2D((1, 2, 3)), r"ZeroPadding2D '\w+': padding must be"),
    (lambda: layers.ZeroPadding3D(((1, 1), (1, 1))), r"ZeroPadding3D '\w+': padding must be"),
    (lambda: layers.ZeroPadding2D("1"), r"ZeroPadding2D '\w+': padding must be"),
    (lambda: layers.ZeroPadding2D(data_format="nhwc"), r"ZeroPadding2D '\w+': data_format"),
    (lambda: layers.Cropping1D((1,)), r"Cropping1D '\w+': cropping must be"),
    (lambda: layers.Cropping2D(((1, -1), (0, 0))), r"Cropping2D '\w+': cropping must be"),
    (lambda: layers.Cropping3D(data_format="x"), r"Cropping3D '\w+': data_format"),
    (lambda: layers.UpSampling1D(0), r"UpSampling1D '\w+': size must be positive"),
    (lambda: layers.UpSampling2D((2, 2, 2)), r"UpSampling2D '\w+': size must be"),
    (lambda: layers.UpSampling2D(1.5), r"UpSampling2D '\w+': size must be"),
    (lambda: layers.UpSampling2D(interpolation="bicubic"), r"UpSampling2D '\w+': interpolation"),
    (lambda: layers.UpSampling3D(data_format="x"), r"UpSampling3D '\w+': data_format"),
    (lambda: nk.ops.pad(np.ones((2, 2)), 1, mode="reflect"), "pad: only mode='constant'"),
    (lambda: nk.ops.pad(np.ones((2, 2)), -1), "pad: widths must be non-negative"),
    (lambda: nk.ops.pad(np.ones((2, 2)), [(1, 1)] * 3), "pad: widths .* do not fit"),
    (lambda: nk.ops.resize(np.ones((1, 2, 2, 1)), (3, 3), interpolation="gaussian"),
     "resize: interpolation must be"),
])
def test_bad_config_fails_with_a_named_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_cropping_everything_fails_naming_the_layer():
    with pytest.raises(ValueError, match=r"Cropping2D '\w+'.*removes all 4 cells of axis 1"):
        layers.Cropping2D(((2, 2), (0, 0)))(nk.Input((4, 5, 1)))
    with pytest.raises(ValueError, match=r"Cropping1D '\w+'.*removes all 5 cells"):
        layers.Cropping1D((3, 3))(np.ones((3, 5, 7)))
    with pytest.raises(ValueError, match=r"UpSampling3D '\w+'.*rank 5"):
        layers.UpSampling3D()(nk.Input((4, 4, 1)))
