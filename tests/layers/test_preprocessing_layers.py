"""Preprocessing layers, group 1 (Rescaling, Resizing, CenterCrop, RandomCrop, RandomFlip,
Normalization): plain-numpy references, Keras's outputs where they are deterministic, shapes
of symbolic calls, config round trips, inference identity, seeding, one image and batches,
channels_first, float64 gradients, and bad arguments."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads, layer_test


def _images(rng, shape=(2, 7, 6, 3)):
    return rng.uniform(0.0, 1.0, shape)


def _replaying(layer):
    """layer(x) in training with the same random draws at every call (its seed stream
    rewound), so finite differences see one function."""
    def fn(x):
        layer.seed_generator.counter = 0
        return layer(x, training=True)
    return fn


def _channels_first(x):
    return np.moveaxis(x, -1, -3)


# ------------------------------------------------------------------------------ Rescaling

@settings(max_examples=10)
@given(scale=st.floats(-3, 3), offset=st.floats(-2, 2), seed=st.integers(0, 2**31))
def test_rescaling_matches_reference_and_gradients(scale, offset, seed):
    x = _images(np.random.default_rng(seed))
    y = layer_test(layers.Rescaling, {"scale": scale, "offset": offset}, input_data=x)
    np.testing.assert_allclose(np.asarray(y), x * scale + offset, rtol=1e-12, atol=1e-12)


def test_rescaling_integer_inputs_and_per_channel_scale_in_both_layouts():
    x = np.random.default_rng(0).integers(0, 256, (2, 4, 5, 3)).astype("uint8")
    y = layers.Rescaling(1 / 255)(x)
    assert y.dtype == "float32"
    np.testing.assert_allclose(np.asarray(y), x / 255, rtol=1e-6)
    scale = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.asarray(layers.Rescaling(scale, -1.0, dtype="float64")(x)),
                               x * scale - 1.0)
    nk.config.set_image_data_format("channels_first")
    try:
        y = layers.Rescaling(scale, dtype="float64")(_channels_first(x))
    finally:
        nk.config.set_image_data_format("channels_last")
    np.testing.assert_allclose(np.asarray(y), _channels_first(x * scale))


# ------------------------------------------------------------------------------ Resizing

def _nearest_reference(x, height, width):
    rows = np.floor((np.arange(height) + 0.5) * x.shape[1] / height).astype(int)
    cols = np.floor((np.arange(width) + 0.5) * x.shape[2] / width).astype(int)
    return x[:, rows][:, :, cols]


def _bilinear_reference(x, height, width):
    """Half-pixel centres, edges clamped: the plainest loops."""
    n, h, w, c = x.shape
    out = np.zeros((n, height, width, c))
    for i in range(height):
        for j in range(width):
            r = min(max((i + 0.5) * h / height - 0.5, 0), h - 1)
            s = min(max((j + 0.5) * w / width - 0.5, 0), w - 1)
            r0, s0 = int(np.floor(r)), int(np.floor(s))
            r1, s1 = min(r0 + 1, h - 1), min(s0 + 1, w - 1)
            a, b = r - r0, s - s0
            out[:, i, j] = ((1 - a) * (1 - b) * x[:, r0, s0] + (1 - a) * b * x[:, r0, s1]
                            + a * (1 - b) * x[:, r1, s0] + a * b * x[:, r1, s1])
    return out


@settings(max_examples=10)
@given(height=st.integers(1, 9), width=st.integers(1, 9), seed=st.integers(0, 2**31))
def test_resizing_matches_references_and_gradients(height, width, seed):
    x = _images(np.random.default_rng(seed))
    y = layer_test(layers.Resizing, {"height": height, "width": width}, input_data=x,
                   expected_output_shape=(2, height, width, 3))
    np.testing.assert_allclose(np.asarray(y), _bilinear_reference(x, height, width),
                               rtol=1e-10, atol=1e-12)
    nearest = layers.Resizing(height, width, "nearest", dtype="float64")(x)
    np.testing.assert_array_equal(np.asarray(nearest), _nearest_reference(x, height, width))


def _area_reference(x, height, width):
    """Each output cell the mean of the input over its box, cells weighed by overlap."""
    n, h, w, c = x.shape
    sh, sw = h / height, w / width
    out = np.zeros((n, height, width, c))
    for i in range(height):
        for j in range(width):
            for r in range(h):
                for s in range(w):
                    area = (max(0.0, min(r + 1, (i + 1) * sh) - max(r, i * sh))
                            * max(0.0, min(s + 1, (j + 1) * sw) - max(s, j * sw)))
                    out[:, i, j] += area * x[:, r, s]
    return out / (sh * sw)


@settings(max_examples=8)
@given(height=st.integers(1, 9), width=st.integers(1, 9), seed=st.integers(0, 2**31))
def test_resizing_area_averages_the_cells_under_each_output_cell(height, width, seed):
    """"area" is TensorFlow's (Keras's TF backend); Keras's JAX backend has none."""
    x = _images(np.random.default_rng(seed), (2, 5, 6, 2))
    y = layer_test(layers.Resizing, {"height": height, "width": width,
                                     "interpolation": "area"}, input_data=x)
    np.testing.assert_allclose(np.asarray(y), _area_reference(x, height, width), rtol=1e-10,
                               atol=1e-12)
    cf = layers.Resizing(height, width, "area", data_format="channels_first", dtype="float64")
    np.testing.assert_allclose(np.asarray(cf(_channels_first(x[0]))),
                               _channels_first(np.asarray(y)[0]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "lanczos3",
                                           "lanczos5"])
@pytest.mark.parametrize("aspect", [{}, {"crop_to_aspect_ratio": True},
                                    {"pad_to_aspect_ratio": True, "fill_value": 0.5}])
def test_resizing_matches_keras(interpolation, aspect):
    keras = pytest.importorskip("keras")
    x = _images(np.random.default_rng(1), (2, 9, 6, 3)).astype("float32")
    for data_format, data in (("channels_last", x), ("channels_first", _channels_first(x))):
        kwargs = dict(height=5, width=7, interpolation=interpolation, data_format=data_format,
                      **aspect)
        ours = np.asarray(layers.Resizing(**kwargs)(data))
        theirs = np.asarray(keras.layers.Resizing(**kwargs)(data))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(layers.Resizing(**kwargs)(data[0])), theirs[0],
                                   rtol=1e-5, atol=1e-5)


def test_resizing_keeps_integer_dtypes_rounded_and_clipped():
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(2).integers(0, 256, (2, 5, 5, 1)).astype("uint8")
    ours = layers.Resizing(8, 3, "bicubic")(x)
    assert ours.dtype == "uint8"
    np.testing.assert_array_equal(np.asarray(ours),
                                  np.asarray(keras.layers.Resizing(8, 3, "bicubic")(x)))


# ------------------------------------------------------------------------------ crops

def test_center_crop_window_and_smaller_images_like_keras():
    keras = pytest.importorskip("keras")
    x = _images(np.random.default_rng(3), (2, 8, 7, 3))
    y = layer_test(layers.CenterCrop, {"height": 4, "width": 3}, input_data=x)
    np.testing.assert_array_equal(np.asarray(y), x[:, 2:6, 2:5])
    y = layers.CenterCrop(4, 3, data_format="channels_first", dtype="float64")(
        _channels_first(x[0]))
    np.testing.assert_array_equal(np.asarray(y), _channels_first(x[0, 2:6, 2:5]))
    for height, width in ((10, 3), (4, 9), (12, 12)):        # smaller: crop to aspect, resize
        ours = np.asarray(layers.CenterCrop(height, width)(x.astype("float32")))
        theirs = np.asarray(keras.layers.CenterCrop(height, width)(x.astype("float32")))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_random_crop_draws_one_window_per_batch_and_covers_every_offset():
    x = _images(np.random.default_rng(4), (3, 6, 5, 2))
    layer = layers.RandomCrop(4, 3, seed=5, dtype="float64")
    seen = set()
    for _ in range(60):
        y = np.asarray(layer(x, training=True))
        hits = [(t, l) for t in range(3) for l in range(3)
                if np.array_equal(y, x[:, t:t + 4, l:l + 3])]
        assert len(hits) == 1
        seen.add(hits[0])
    assert seen == {(t, l) for t in range(3) for l in range(3)}
    again = layers.RandomCrop(4, 3, seed=5, dtype="float64")
    first = np.asarray(again(x, training=True))
    np.testing.assert_array_equal(first, np.asarray(
        layers.RandomCrop(4, 3, seed=5, dtype="float64")(x, training=True)))
    single = layers.RandomCrop(4, 3, seed=5, data_format="channels_first", dtype="float64")
    y = np.asarray(single(_channels_first(x[0]), training=True))
    assert any(np.array_equal(y, _channels_first(x[0, t:t + 4, l:l + 3]))
               for t in range(3) for l in range(3))
    check_grads(_replaying(layer), [x])


def test_random_crop_inference_and_small_inputs_like_keras():
    """Small inputs in training: Keras's window and resize. Inference: Keras 3.15's layer
    returns the input unchanged (against its docstring and its compute_output_shape); here,
    as documented, the centred window of the target's aspect ratio, resized (smart_resize)."""
    keras = pytest.importorskip("keras")
    x = _images(np.random.default_rng(6), (2, 7, 9, 3)).astype("float32")
    for height, width in ((8, 5), (7, 9), (3, 12)):
        ours = layers.RandomCrop(height, width, seed=1)(x, training=True)
        theirs = keras.layers.RandomCrop(height, width, seed=1)(x, training=True)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-6)
    for height, width in ((4, 4), (5, 2), (7, 9)):
        ours = layers.RandomCrop(height, width, seed=1)(x, training=False)
        theirs = keras.preprocessing.image.smart_resize(x, (height, width))
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-6)
    assert isinstance(layers.RandomCrop(2, 2).get_config()["seed"], int)   # drawn, as Keras


# ------------------------------------------------------------------------------ RandomFlip

@pytest.mark.parametrize("mode, axes", [("horizontal", (2,)), ("vertical", (1,)),
                                        ("horizontal_and_vertical", (1, 2))])
def test_random_flip_flips_each_image_or_leaves_it(mode, axes):
    x = _images(np.random.default_rng(7), (16, 4, 5, 2))
    layer = layers.RandomFlip(mode, seed=3, dtype="float64")
    y = np.asarray(layer(x))                       # a direct call is in training, as Keras
    flipped = np.flip(x, axes)
    is_flipped = [np.array_equal(y[i], flipped[i]) for i in range(16)]
    assert all(f or np.array_equal(y[i], x[i]) for i, f in enumerate(is_flipped))
    assert 0 < sum(is_flipped) < 16
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    np.testing.assert_array_equal(
        y, np.asarray(layers.RandomFlip(mode, seed=3, dtype="float64")(x)))
    assert not np.array_equal(y, np.asarray(layer(x)))      # the stream moves on
    cf = layers.RandomFlip(mode, seed=3, data_format="channels_first", dtype="float64")
    np.testing.assert_array_equal(np.asarray(cf(_channels_first(x))), _channels_first(y))
    one = np.asarray(layers.RandomFlip(mode, seed=1, dtype="float64")(x[0]))
    assert np.array_equal(one, x[0]) or np.array_equal(one, np.flip(x[0], np.array(axes) - 1))
    check_grads(_replaying(layer), [x[:3]])


def test_image_layers_augment_when_called_but_not_in_predict():
    x = _images(np.random.default_rng(8), (8, 4, 4, 1)).astype("float32")
    model = nk.Sequential([layers.Input((4, 4, 1)), layers.RandomFlip(seed=2)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert not np.array_equal(np.asarray(model(x, training=True)), x)


# ------------------------------------------------------------------------------ Normalization

def test_normalization_given_statistics_and_invert():
    x = _images(np.random.default_rng(9), (4, 3, 2))
    mean, variance = np.array([0.2, 0.4]), np.array([4.0, 0.25])
    y = layer_test(layers.Normalization, {"mean": mean, "variance": variance}, input_data=x)
    np.testing.assert_allclose(np.asarray(y), (x - mean) / np.sqrt(variance), rtol=1e-12)
    inverse = layers.Normalization(mean=mean, variance=variance, invert=True, dtype="float64")
    np.testing.assert_allclose(np.asarray(inverse(y)), x, rtol=1e-12)
    scalar = layers.Normalization(axis=None, mean=3.0, variance=0.0, dtype="float64")
    np.testing.assert_allclose(np.asarray(scalar(x)), (x - 3.0) / 1e-7)
    per_row = layers.Normalization(axis=(1, 2), mean=[0.5, 1.5], variance=[1.0, 4.0],
                                   dtype="float64")
    np.testing.assert_allclose(np.asarray(per_row(x)), (x - [0.5, 1.5]) / [1.0, 2.0])


@settings(max_examples=10)
@given(axis=st.sampled_from([-1, 1, (1, 2), None]), batches=st.integers(1, 4),
       seed=st.integers(0, 2**31))
def test_normalization_adapt_from_arrays_and_batches(axis, batches, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, (5 * batches, 3, 4))
    reduce = tuple(a for a in range(3) if a not in [b % 3 for b in np.atleast_1d(
        () if axis is None else axis)])
    layer = layers.Normalization(axis=axis, dtype="float64")
    layer.adapt(x)
    expected = (x - x.mean(reduce, keepdims=True)) / x.std(reduce, keepdims=True)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-9, atol=1e-9)
    from_batches = layers.Normalization(axis=axis, dtype="float64")
    sizes = np.sort(rng.choice(np.arange(1, 5 * batches), batches - 1, replace=False))
    from_batches.adapt([(part, None) for part in np.split(x, sizes)])
    np.testing.assert_allclose(np.asarray(from_batches(x)), expected, rtol=1e-9, atol=1e-9)
    check_grads(layer, [x[:2]])


def test_normalization_adapts_from_a_py_dataset_and_a_tensor():
    x = np.random.default_rng(14).normal(-1.0, 2.0, (10, 4))

    class Batches(nk.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            part = x[4 * index:4 * index + 4]
            return part, np.zeros(len(part)), np.ones(len(part))

    for data in (Batches(), nk.ops.convert_to_tensor(x)):
        layer = layers.Normalization(dtype="float64")
        layer.adapt(data)
        np.testing.assert_allclose(layer.get_weights()[0], x.mean(0), rtol=1e-12)
        np.testing.assert_allclose(layer.get_weights()[1], x.var(0), rtol=1e-12)


def test_normalization_adapt_and_weights_like_keras():
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(10).normal(1.0, 2.0, (12, 5, 3)).astype("float32")
    batches = [x[:5], x[5:7], x[7:]]
    ours, theirs = layers.Normalization(axis=(1, -1)), keras.layers.Normalization(axis=(1, -1))
    ours.adapt(iter(batches))
    theirs.adapt(x)       # Keras's adapt of an iterable needs TensorFlow (tf.data checks)
    assert [w.path.split("/")[-1] for w in ours.weights] == ["mean", "variance", "count"]
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-4,
                               atol=1e-5)
    given = dict(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0], invert=True)
    assert (layers.Normalization(**given).get_config()["mean"]
            == keras.layers.Normalization(**given).get_config()["mean"])


def test_normalization_weights_files_move_between_keras_and_nbkeras(tmp_path):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(13).normal(2.0, 3.0, (8, 3)).astype("float32")
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Normalization()])
    theirs.layers[-1].adapt(x)
    theirs.save_weights(tmp_path / "keras.weights.h5")
    ours = nk.Sequential([layers.Input((3,)), layers.Normalization()])
    ours.load_weights(tmp_path / "keras.weights.h5")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5,
                               atol=1e-6)
    ours.layers[-1].adapt(x[:4])
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_allclose(np.asarray(theirs(x)), np.asarray(ours(x)), rtol=1e-5,
                               atol=1e-6)


def test_normalization_built_by_hand_keeps_weights_set_before_its_call():
    layer = layers.Normalization(axis=(1, 2), dtype="float64")
    layer.build((None, 3, 4))
    mean, variance = np.arange(12.0).reshape(3, 4), np.full((3, 4), 4.0)
    layer.set_weights([mean, variance, np.array(7)])
    x = np.random.default_rng(12).normal(size=(2, 3, 4))
    np.testing.assert_allclose(np.asarray(layer(x)), (x - mean) / 2.0, rtol=1e-12)
    assert len(layer.get_weights()) == 3


def test_normalization_errors_name_the_layer_and_argument():
    with pytest.raises(ValueError, match="Normalization.*mean"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="Normalization.*mean"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    layer = layers.Normalization()
    layer.adapt(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="Normalization.*built for inputs of shape"):
        layer.adapt(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="Normalization.*empty"):
        layers.Normalization().adapt([])
    with pytest.raises(ValueError, match="Normalization.*axis"):
        layers.Normalization(axis=3)(np.zeros((2, 3)))


# ------------------------------------------------------------------------------ all of group 1

GROUP_1 = [
    (layers.Rescaling, {"scale": 0.5, "offset": 1.0}),
    (layers.Resizing, {"height": 5, "width": 3, "interpolation": "bicubic"}),
    (layers.Resizing, {"height": 4, "width": 9, "pad_to_aspect_ratio": True}),
    (layers.CenterCrop, {"height": 3, "width": 4}),
    (layers.RandomCrop, {"height": 3, "width": 4, "seed": 2}),
    (layers.RandomFlip, {"mode": "vertical", "seed": 2}),
    (layers.Normalization, {"mean": 0.5, "variance": 2.0}),
]


LAYOUTS = [(cls, kwargs, layout) for cls, kwargs in GROUP_1 for layout in (
    ("channels_last", "channels_first") if "data_format" in cls.__dataclass_fields__
    else ("channels_last",))]


@pytest.mark.parametrize("cls, kwargs, data_format", LAYOUTS)
def test_symbolic_shapes_and_config_round_trip(cls, kwargs, data_format):
    image_layer = "data_format" in cls.__dataclass_fields__
    extra = {"data_format": data_format} if image_layer else {}
    layer = cls(**kwargs, **extra)
    shape = (6, 7, 3) if data_format == "channels_last" else (3, 6, 7)
    x = np.random.default_rng(11).uniform(0, 1, (2, *shape)).astype("float32")
    inputs = layers.Input(shape)
    model = nk.Model(inputs, layer(inputs))
    assert model.output_shape == (None, *layer.compute_output_shape(shape))
    y = np.asarray(layer(x, training=True))
    assert y.shape == layer.compute_output_shape(x.shape)
    if image_layer:
        assert (np.asarray(layer(x[0], training=True)).shape
                == layer.compute_output_shape(shape))
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(np.asarray(clone(x, training=True)), y)


@pytest.mark.parametrize("make, argument", [
    (lambda: layers.Resizing(0, 3), "height"),
    (lambda: layers.Resizing(3, 3, interpolation="area51"), "interpolation"),
    (lambda: layers.Resizing(3, 3, fill_mode="reflect"), "fill_mode"),
    (lambda: layers.Resizing(3, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
     "pad_to_aspect_ratio"),
    (lambda: layers.CenterCrop(3, -1), "width"),
    (lambda: layers.RandomCrop(3, 3, data_format="NHWC"), "data_format"),
    (lambda: layers.RandomFlip("diagonal"), "mode"),
    (lambda: layers.Rescaling("half"), "scale"),
])
def test_bad_arguments_name_layer_and_argument(make, argument):
    with pytest.raises(ValueError, match=f"'.*{argument}"):
        make()


def test_rank_errors_name_the_layer():
    with pytest.raises(ValueError, match="RandomFlip.*rank 3.*or 4"):
        layers.RandomFlip()(np.zeros((2, 3)))


KERAS_CONFIGS = {
    "Rescaling": dict(scale=0.5), "Resizing": dict(height=3, width=4),
    "CenterCrop": dict(height=2, width=2), "RandomCrop": dict(height=2, width=2, seed=1),
    "RandomFlip": dict(seed=1), "Normalization": dict(mean=[1.0, 2.0], variance=[1.0, 4.0]),
    "RandomRotation": dict(factor=0.1, seed=1), "RandomZoom": dict(height_factor=0.1, seed=1),
    "RandomTranslation": dict(height_factor=0.1, width_factor=0.2, seed=1),
    "RandomShear": dict(x_factor=0.1, seed=1), "RandomContrast": dict(factor=0.2, seed=1),
    "RandomBrightness": dict(factor=0.2, seed=1), "RandomGrayscale": dict(seed=1),
    "RandomErasing": dict(seed=1), "RandomGaussianBlur": dict(seed=1), "AutoContrast": {},
    "Solarization": dict(addition_factor=0.2, seed=1), "MixUp": dict(seed=1),
    "CutMix": dict(seed=1)}


@pytest.mark.parametrize("name", sorted(KERAS_CONFIGS))
def test_keras_serialized_layers_load_and_ours_load_in_keras(name):
    """(Keras's RandomGrayscale config leaves out its seed.)"""
    keras = pytest.importorskip("keras")
    theirs = getattr(keras.layers, name)(**KERAS_CONFIGS[name])
    ours = nk.saving.deserialize_keras_object(keras.saving.serialize_keras_object(theirs))
    assert type(ours) is getattr(layers, name)
    kept = {k: v for k, v in KERAS_CONFIGS[name].items() if k in theirs.get_config()}
    assert ours.get_config() == getattr(layers, name)(**kept, name=ours.name).get_config()
    if name != "RandomShear":       # Keras cannot read its own RandomShear config: (-f, f)
        back = keras.saving.deserialize_keras_object(nk.saving.serialize_keras_object(ours))
        assert type(back) is type(theirs)
