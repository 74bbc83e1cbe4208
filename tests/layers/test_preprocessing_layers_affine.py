"""Preprocessing layers, group 2 (RandomRotation, RandomZoom, RandomTranslation, RandomShear,
RandomContrast, RandomBrightness): each drawn transform replayed through
scipy.ndimage.affine_transform (or plain numpy) and through Keras's own `transform_images`,
the draws within their ranges, inference identity, seeding, one image, channels_first,
float64 gradients, a small augmented model that trains, and bad arguments."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads

# Keras's fill modes (JAX's map_coordinates) in scipy's names
SCIPY_MODES = {"reflect": "reflect", "wrap": "grid-wrap", "constant": "grid-constant",
               "nearest": "nearest"}


def _replaying(layer):
    """layer(x) in training with the same draws at every call (its seed stream rewound)."""
    def fn(x):
        layer.seed_generator.counter = 0
        return layer(x, training=True)
    return fn


def _resampled(x, matrices, interpolation, fill_mode, fill_value):
    """x (N, H, W, C) through Keras-layout matrices (N, 8) (output (x, y) reads input
    (a0 x + a1 y + a2, b0 x + b1 y + b2)), by scipy per image and channel."""
    out = np.empty_like(x)
    order = {"nearest": 0, "bilinear": 1}[interpolation]
    for i, (a0, a1, a2, b0, b1, b2, _, _) in enumerate(matrices):
        for c in range(x.shape[-1]):       # scipy's (row, column) = (y, x)
            out[i, ..., c] = ndimage.affine_transform(
                x[i, ..., c], [[b1, b0], [a1, a0]], offset=[b2, a2], order=order,
                mode=SCIPY_MODES[fill_mode], cval=fill_value)
    return out


def _rotation(t, height, width):
    """Rotation about ((W - 1) / 2, (H - 1) / 2) by t["angle"] degrees."""
    theta = np.radians(t["angle"])
    cos, sin = np.cos(theta), np.sin(theta)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    zeros = np.zeros_like(cos)
    return np.stack([cos, -sin, cx - cx * cos + cy * sin, sin, cos,
                     cy - cx * sin - cy * cos, zeros, zeros], 1)


def _zoom(t, height, width):
    zx, zy = t["width_zoom"][:, 0], t["height_zoom"][:, 0]
    zeros = np.zeros_like(zx)
    return np.stack([zx, zeros, (width - 1) / 2 * (1 - zx), zeros, zy,
                     (height - 1) / 2 * (1 - zy), zeros, zeros], 1)


def _translation(t, height, width):
    dx, dy = t["translations"].T
    ones, zeros = np.ones_like(dx), np.zeros_like(dx)
    return np.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], 1)


def _shear(t, height, width):
    sx, sy = t["shear_factor"].T
    ones, zeros = np.ones_like(sx), np.zeros_like(sx)
    return np.stack([ones, sx, zeros, sy, ones, zeros, zeros, zeros], 1)


AFFINE = {
    "RandomRotation": (dict(factor=(-0.3, 0.2)), _rotation),
    "RandomZoom": (dict(height_factor=(-0.4, 0.3), width_factor=0.5), _zoom),
    "RandomTranslation": (dict(height_factor=0.3, width_factor=(-0.2, 0.4)), _translation),
    "RandomShear": (dict(x_factor=0.4, y_factor=(0.1, 0.3)), _shear),
}


@settings(max_examples=12)
@given(name=st.sampled_from(sorted(AFFINE)), fill_mode=st.sampled_from(sorted(SCIPY_MODES)),
       interpolation=st.sampled_from(["bilinear", "nearest"]), seed=st.integers(0, 2**31))
def test_affine_layers_match_scipy_with_the_drawn_transform(name, fill_mode, interpolation,
                                                            seed):
    kwargs, matrices = AFFINE[name]
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (3, 7, 5, 2))      # odd sides: nearest never meets a tie at centre
    layer = getattr(layers, name)(**kwargs, fill_mode=fill_mode, interpolation=interpolation,
                                  fill_value=0.25, seed=seed, dtype="float64")
    t = layer.get_random_transformation(x)
    y = np.asarray(layer.transform_images(nk.ops.convert_to_tensor(x), t))
    expected = _resampled(x, matrices(t, 7, 5), interpolation, fill_mode, 0.25)
    np.testing.assert_allclose(y, expected, rtol=1e-9, atol=1e-9)
    fresh = getattr(layers, name)(**kwargs, fill_mode=fill_mode, interpolation=interpolation,
                                  fill_value=0.25, seed=seed, dtype="float64")
    np.testing.assert_allclose(np.asarray(fresh(x)), y, rtol=1e-12)     # the call draws t


def test_rotation_matrix_is_keras_composition():
    layer = layers.RandomRotation(0.5, seed=3, dtype="float64")
    t = layer.get_random_transformation(np.zeros((4, 7, 5, 1)))
    np.testing.assert_allclose(t["rotation_matrix"], _rotation(t, 7, 5), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("name", sorted(AFFINE) + ["RandomContrast", "RandomBrightness"])
def test_same_output_as_keras_for_the_same_draw(name):
    keras = pytest.importorskip("keras")
    kwargs = AFFINE[name][0] if name in AFFINE else {"factor": 0.4}
    x = np.random.default_rng(1).uniform(0, 255, (3, 9, 8, 3)).astype("float32")
    for data_format, data in (("channels_last", x),
                              ("channels_first", np.moveaxis(x, -1, 1))):
        ours = getattr(layers, name)(**kwargs, seed=2, data_format=data_format)
        theirs = getattr(keras.layers, name)(**kwargs, seed=2, data_format=data_format)
        t = ours.get_random_transformation(data)
        y = np.asarray(ours.transform_images(nk.ops.convert_to_tensor(data), t))
        as_keras = {k: v.astype("float32") for k, v in t.items()}
        expected = np.asarray(theirs.transform_images(data, as_keras, training=True))
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=2e-3)


def test_draws_cover_their_ranges():
    images = np.zeros((4000, 5, 6, 1))

    def spread(values, low, high):
        assert low <= values.min() < low + 0.01 * (high - low)
        assert high - 0.01 * (high - low) < values.max() <= high

    spread(layers.RandomRotation((-0.1, 0.3), seed=1).get_random_transformation(
        images)["angle"], -36.0, 108.0)
    t = layers.RandomZoom((-0.5, 0.2), seed=1).get_random_transformation(images)
    spread(t["height_zoom"], 0.5, 1.2)
    np.testing.assert_array_equal(t["width_zoom"], t["height_zoom"])   # width_factor None
    t = layers.RandomTranslation(0.2, (0.0, 0.5), seed=1).get_random_transformation(images)
    spread(t["translations"][:, 1], -1.0, 1.0)          # 0.2 of 5 rows
    spread(t["translations"][:, 0], 0.0, 3.0)           # 0.5 of 6 columns
    shear = layers.RandomShear(x_factor=(0.2, 0.6), seed=1).get_random_transformation(
        images)["shear_factor"]
    spread(np.abs(shear[:, 0]), 0.2, 0.6)
    assert 0.45 < np.mean(shear[:, 0] < 0) < 0.55 and np.all(shear[:, 1] == 0)
    spread(layers.RandomContrast(0.3, seed=1).get_random_transformation(
        images)["contrast_factor"], 1.0, 1.3)           # Keras: a number f -> [1, 1 + f]
    spread(layers.RandomBrightness((-0.2, 0.1), (0, 10), seed=1).get_random_transformation(
        images)["rgb_delta"], -2.0, 1.0)


@settings(max_examples=8)
@given(factor=st.floats(0.05, 1.0), seed=st.integers(0, 2**31))
def test_contrast_and_brightness_match_numpy(factor, seed):
    x = np.random.default_rng(seed).uniform(0, 1, (3, 4, 5, 2))

    def contrast(**kwargs):
        return layers.RandomContrast(factor, value_range=(0.1, 0.9), seed=seed,
                                     dtype="float64", **kwargs)
    c = contrast().get_random_transformation(x)["contrast_factor"]   # the call's first draw
    mean = x.mean(axis=(1, 2), keepdims=True)
    expected = np.clip((x - mean) * c + mean, 0.1, 0.9)
    np.testing.assert_allclose(np.asarray(contrast()(x)), expected, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(contrast(data_format="channels_first")(
        np.moveaxis(x, -1, 1))), np.moveaxis(expected, -1, 1), rtol=1e-12)

    def brightness():
        return layers.RandomBrightness(factor, value_range=(1, 0), seed=seed, dtype="float64")
    delta = brightness().get_random_transformation(x)["rgb_delta"]
    assert brightness().value_range == [0, 1]
    np.testing.assert_allclose(np.asarray(brightness()(x)), np.clip(x + delta, 0, 1),
                               rtol=1e-12)


GROUP_2 = [
    (layers.RandomRotation, {"factor": 0.2, "fill_mode": "constant"}),
    (layers.RandomZoom, {"height_factor": 0.3, "width_factor": -0.2}),
    (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": 0.3,
                                "interpolation": "nearest"}),
    (layers.RandomShear, {"x_factor": 0.3, "y_factor": 0.2, "fill_mode": "wrap"}),
    (layers.RandomContrast, {"factor": 0.5, "value_range": (-10, 10)}),
    (layers.RandomBrightness, {"factor": 0.5, "value_range": (-10, 10)}),
]


@pytest.mark.parametrize("cls, kwargs", GROUP_2)
def test_inference_seeding_single_images_layouts_and_gradients(cls, kwargs):
    x = np.random.default_rng(2).uniform(0, 1, (3, 7, 5, 2))
    layer = cls(**kwargs, seed=4, dtype="float64")
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    y = np.asarray(layer(x))
    assert not np.allclose(y, x)
    np.testing.assert_array_equal(np.asarray(cls(**kwargs, seed=4, dtype="float64")(x)), y)
    assert not np.array_equal(np.asarray(layer(x)), y)          # the stream moves on
    cf = cls(**kwargs, seed=4, dtype="float64", data_format="channels_first")
    np.testing.assert_allclose(np.asarray(cf(np.moveaxis(x, -1, 1))), np.moveaxis(y, -1, 1),
                               rtol=1e-12, atol=1e-12)
    single = cls(**kwargs, seed=4, dtype="float64")
    np.testing.assert_allclose(np.asarray(single(x[0])), y[0], rtol=1e-12, atol=1e-12)
    nk.config.set_random_seed(5)
    unseeded = np.asarray(cls(**kwargs, dtype="float64")(x))
    nk.config.set_random_seed(5)
    np.testing.assert_array_equal(np.asarray(cls(**kwargs, dtype="float64")(x)), unseeded)
    check_grads(_replaying(layer), [x[:2]])


@pytest.mark.parametrize("cls, kwargs", GROUP_2)
def test_symbolic_shapes_and_config_round_trip(cls, kwargs):
    layer = cls(**kwargs, seed=1)
    inputs = layers.Input((6, 7, 3))
    model = nk.Model(inputs, layer(inputs))
    assert model.output_shape == (None, *layer.compute_output_shape((6, 7, 3)))
    x = np.random.default_rng(3).uniform(0, 1, (2, 6, 7, 3)).astype("float32")
    y = np.asarray(layer(x))
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(np.asarray(clone(x)), y)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_an_augmented_model_trains():
    nk.config.set_random_seed(4)                        # the weights' initial draws
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 64)
    x = rng.uniform(0, 80, (64, 32, 32, 3)) + labels[:, None, None, None] * 150.0
    model = nk.Sequential([
        layers.Input((32, 32, 3)), layers.RandomFlip(seed=1), layers.RandomRotation(0.1, seed=2),
        layers.Rescaling(1 / 255), layers.Conv2D(4, 3, activation="relu"),
        layers.GlobalAveragePooling2D(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, labels, batch_size=16, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("make, argument", [
    (lambda: layers.RandomRotation(1.5), "factor"),
    (lambda: layers.RandomRotation((0.1, 0.2, 0.3)), "factor"),
    (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), "fill_mode"),
    (lambda: layers.RandomRotation(0.1, interpolation="bicubic"), "interpolation"),
    (lambda: layers.RandomZoom(-1.0), "height_factor"),
    (lambda: layers.RandomZoom(0.1, width_factor=(0.1, 1.5)), "width_factor"),
    (lambda: layers.RandomTranslation(0.1, 1.2), "width_factor"),
    (lambda: layers.RandomShear(x_factor=-0.1), "x_factor"),
    (lambda: layers.RandomShear(y_factor=(0.1, 1.2)), "y_factor"),
    (lambda: layers.RandomContrast(1.5), "factor"),
    (lambda: layers.RandomContrast(0.2, value_range=(0,)), "value_range"),
    (lambda: layers.RandomBrightness(0.2, value_range=5), "value_range"),
    (lambda: layers.RandomBrightness("bright"), "factor"),
])
def test_bad_arguments_name_layer_and_argument(make, argument):
    with pytest.raises(ValueError, match=f"'.*{argument}"):
        make()
