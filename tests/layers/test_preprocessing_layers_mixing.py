"""Preprocessing layers, group 3 (RandomGrayscale, RandomErasing, RandomGaussianBlur,
AutoContrast, Solarization, MixUp, CutMix): each drawn transformation replayed through a
plain-numpy reference and through Keras's own `transform_images` / `transform_labels`, the
draws' structure, inference behaviour, seeding, one image, channels_first, dict inputs
with labels, float64 gradients, shapes, configs and bad arguments."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads

GRAY = np.array([0.2989, 0.5870, 0.1140])


def _replaying(layer):
    """layer(x) in training with the same draws at every call (its seed stream rewound)."""
    def fn(x):
        layer.seed_generator.counter = 0
        return layer(x, training=True)
    return fn


def _first_draw(cls, kwargs, x):
    """The transformation a fresh layer of `kwargs` draws on its first call."""
    return cls(**kwargs).get_random_transformation(nk.ops.convert_to_tensor(x))


def _gaussian_blur(x, kernel_size, sigma):
    """Per-channel 'same' zero-padded blur: kernel_size[0], sigma[0] along the width."""
    def taps(size, s):
        d = np.arange(size) - (size - 1) / 2
        w = np.exp(-0.5 * (d / s) ** 2)
        return w / w.sum()
    kh, kw = kernel_size[1], kernel_size[0]
    kernel = np.outer(taps(kh, sigma[1]), taps(kw, sigma[0]))
    padded = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    out = np.zeros_like(x)
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * padded[:, i:i + x.shape[1], j:j + x.shape[2]]
    return out


def _references(name, x, t, kwargs):
    """The layer's output on x for its draw t, the plainest way."""
    if name == "RandomGrayscale":
        return np.where(t, (x @ GRAY)[..., None], x)
    if name == "RandomErasing":
        erase = np.asarray(t["batch_masks"]) & t["apply_erasing"][:, None, None, None]
        return np.where(erase, np.asarray(t["fill_value"]), x)
    if name == "RandomGaussianBlur":
        blurred = _gaussian_blur(x, kwargs.get("kernel_size", (3, 3)), t["blur_factor"])
        return np.clip(np.where(t["should_apply_blur"][:, None, None, None], blurred, x),
                       0, 255)
    if name == "Solarization":
        v = np.clip(x + t["additions"], 0, 255)
        return np.where(v < t["thresholds"], v, 255 - v)
    order = t["permutation_order"]
    if name == "MixUp":
        w = t["mix_weight"][:, None, None, None]
        return w * x + (1 - w) * x[order]
    return np.where(t["batch_masks"], x[order], x)                        # CutMix


RANDOM = {
    "RandomGrayscale": {"factor": 0.5},
    "RandomErasing": {"factor": 0.9, "scale": (0.1, 0.5)},
    "RandomGaussianBlur": {"factor": 0.9, "kernel_size": (3, 5), "sigma": (0.3, 1.0)},
    "Solarization": {"addition_factor": 0.3, "threshold_factor": (0.2, 0.8)},
    "MixUp": {"alpha": 0.4},
    "CutMix": {"factor": 0.8},
}


@settings(max_examples=12)
@given(name=st.sampled_from(sorted(RANDOM)), seed=st.integers(0, 2**31))
def test_random_layers_match_numpy_for_their_draw(name, seed):
    x = np.random.default_rng(seed).uniform(0, 255, (6, 7, 5, 3))
    kwargs = dict(RANDOM[name], seed=seed, dtype="float64")
    cls = getattr(layers, name)
    t = _first_draw(cls, kwargs, x)
    np.testing.assert_allclose(np.asarray(cls(**kwargs)(x)), _references(name, x, t, kwargs),
                               rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_same_output_as_keras_for_the_same_draw(name):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(1).uniform(0, 255, (5, 8, 6, 3)).astype("float32")
    labels = np.eye(5, dtype="float32")
    for data_format, data in (("channels_last", x), ("channels_first", np.moveaxis(x, -1, 1))):
        kwargs = dict(RANDOM[name], seed=3, data_format=data_format)
        ours = getattr(layers, name)(**kwargs)
        theirs = getattr(keras.layers, name)(**kwargs)
        t = ours.get_random_transformation(nk.ops.convert_to_tensor(data))
        as_keras = ({k: np.asarray(v) for k, v in t.items()} if isinstance(t, dict)
                    else np.asarray(t))
        y = np.asarray(ours.transform_images(nk.ops.convert_to_tensor(data), t))
        np.testing.assert_allclose(y, np.asarray(theirs.transform_images(data, as_keras)),
                                   rtol=1e-5, atol=1e-3)
        if name in ("MixUp", "CutMix"):
            np.testing.assert_allclose(
                np.asarray(ours.transform_labels(nk.ops.convert_to_tensor(labels), t)),
                np.asarray(theirs.transform_labels(labels, as_keras)), rtol=1e-5, atol=1e-6)


def test_auto_contrast_stretches_each_channel_like_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    x = rng.uniform(0.2, 0.7, (3, 6, 5, 3))
    x[1, ..., 2] = 0.4                                    # a constant channel stays as it is
    layer = layers.AutoContrast(value_range=(1, 0), dtype="float64")
    assert layer.value_range == [0, 1]
    low, high = x.min((1, 2), keepdims=True), x.max((1, 2), keepdims=True)
    expected = np.where(high > low, (x - low) / np.where(high > low, high - low, 1), x)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), expected, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(layer(x[0])), expected[0], rtol=1e-12)
    cf = layers.AutoContrast(value_range=(0, 1), data_format="channels_first", dtype="float64")
    np.testing.assert_allclose(np.asarray(cf(np.moveaxis(x, -1, 1))), np.moveaxis(expected, -1, 1),
                               rtol=1e-12, atol=1e-12)
    theirs = keras.layers.AutoContrast(value_range=(0, 1))(x.astype("float32"))
    np.testing.assert_allclose(np.asarray(layers.AutoContrast(value_range=(0, 1))(x)),
                               np.asarray(theirs), rtol=1e-5, atol=1e-5)
    x = rng.uniform(0.2, 0.7, (2, 4, 5, 2))        # distinct values: no ties at the extremes
    check_grads(layers.AutoContrast(value_range=(0, 1), dtype="float64"), [x])


def test_draws_have_their_structure():
    x = np.zeros((400, 9, 8, 3))
    t = layers.RandomErasing(factor=(0.3, 0.3), scale=(0.04, 0.25), seed=1).\
        get_random_transformation(x)
    assert 0.2 < t["apply_erasing"].mean() < 0.4
    for mask in t["batch_masks"][:50, ..., 0]:               # one rectangle per image
        rows, cols = np.nonzero(mask)
        if rows.size:
            assert rows.size == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
            assert np.ptp(cols) + 1 <= 0.5 * 8 + 1 and np.ptp(rows) + 1 <= 0.5 * 9 + 1
    fill = np.asarray(t["fill_value"])
    assert fill.shape == x.shape and fill.min() == 0 and 100 < fill.max() <= 255
    t = layers.RandomGaussianBlur(factor=1.0, sigma=(0.2, 0.4), seed=1).\
        get_random_transformation(x)
    assert t["blur_factor"].shape == (2,) and np.all((0.2 <= t["blur_factor"])
                                                     & (t["blur_factor"] <= 0.4 + 1e-6))
    assert 0.4 < t["should_apply_blur"].mean() < 0.6         # probability U(0, 1): 1/2
    t = layers.MixUp(alpha=0.5, seed=1).get_random_transformation(x)
    assert sorted(t["permutation_order"]) == list(range(400))
    assert 0.45 < t["mix_weight"].mean() < 0.55 and np.all((0 < t["mix_weight"])
                                                           & (t["mix_weight"] < 1))
    t = layers.CutMix(seed=1).get_random_transformation(x)
    assert sorted(t["permutation_order"]) == list(range(400))
    covered = t["batch_masks"][..., 0].mean((1, 2))
    np.testing.assert_allclose(covered, 1 - t["mix_weight"], atol=0.25)
    assert np.all((0 <= t["mix_weight"]) & (t["mix_weight"] <= 1))
    assert layers.CutMix(seed=1).get_random_transformation(x[0]) is None      # as Keras
    t = layers.Solarization(addition_factor=0.2, threshold_factor=(0.5, 1.0), seed=1).\
        get_random_transformation(x)
    assert t["additions"].min() >= 0 and t["additions"].max() <= 0.2 * 255
    assert t["thresholds"].min() >= 0.5 and t["thresholds"].max() <= 255


def test_mixing_layers_mix_labels_of_a_dict_input():
    x = np.random.default_rng(3).uniform(0, 1, (6, 4, 4, 3))
    labels = np.eye(6)
    for cls, kwargs in ((layers.MixUp, {"alpha": 0.3}), (layers.CutMix, {})):
        t = _first_draw(cls, dict(kwargs, seed=2, dtype="float64"), x)
        out = cls(**kwargs, seed=2, dtype="float64")({"images": x, "labels": labels})
        w, order = t["mix_weight"][:, None], t["permutation_order"]
        np.testing.assert_allclose(np.asarray(out["labels"]),
                                   w * labels + (1 - w) * labels[order], rtol=1e-12)
        assert np.asarray(out["images"]).shape == x.shape
    flip = layers.RandomFlip(seed=1)({"images": x, "labels": labels})
    np.testing.assert_array_equal(np.asarray(flip["labels"]), labels.astype("float32"))
    with pytest.raises(ValueError, match="MixUp.*segmentation"):
        layers.MixUp()({"images": x, "segmentation_masks": x})


GROUP_3 = [
    (layers.RandomGrayscale, {"factor": 0.7}),
    (layers.RandomErasing, {"factor": 1.0, "scale": (0.2, 0.6), "fill_value": (10, 20, 30)}),
    (layers.RandomGaussianBlur, {"factor": 1.0, "value_range": (-1, 10)}),
    (layers.Solarization, {"addition_factor": 0.1, "threshold_factor": 0.9,
                           "value_range": (0, 1)}),
    (layers.MixUp, {"alpha": 0.5}),
    (layers.CutMix, {"factor": 0.5}),
]


@pytest.mark.parametrize("cls, kwargs", GROUP_3)
def test_inference_seeding_single_images_layouts_and_gradients(cls, kwargs):
    x = np.random.default_rng(4).uniform(0.05, 0.95, (4, 7, 6, 3))
    layer = cls(**kwargs, seed=4, dtype="float64")
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    y = np.asarray(layer(x))
    assert not np.allclose(y, x)
    np.testing.assert_array_equal(np.asarray(cls(**kwargs, seed=4, dtype="float64")(x)), y)
    cf = cls(**kwargs, seed=4, dtype="float64", data_format="channels_first")
    np.testing.assert_allclose(np.asarray(cf(np.moveaxis(x, -1, 1))), np.moveaxis(y, -1, 1),
                               rtol=1e-12, atol=1e-12)
    assert np.asarray(cls(**kwargs, seed=4, dtype="float64")(x[0])).shape == x[0].shape
    nk.config.set_random_seed(5)
    unseeded = np.asarray(cls(**kwargs, dtype="float64")(x))
    nk.config.set_random_seed(5)
    np.testing.assert_array_equal(np.asarray(cls(**kwargs, dtype="float64")(x)), unseeded)
    check_grads(_replaying(layer), [x[:2, :4, :4]], mode="projection")


@pytest.mark.parametrize("cls, kwargs", GROUP_3 + [(layers.AutoContrast, {})])
def test_symbolic_shapes_and_config_round_trip(cls, kwargs):
    layer = cls(**kwargs) if cls is layers.AutoContrast else cls(**kwargs, seed=1)
    inputs = layers.Input((6, 7, 3))
    model = nk.Model(inputs, layer(inputs))
    assert model.output_shape == (None, *layer.compute_output_shape((6, 7, 3)))
    x = np.random.default_rng(5).uniform(0, 1, (3, 6, 7, 3)).astype("float32")
    y = np.asarray(layer(x))
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    np.testing.assert_array_equal(np.asarray(clone(x)), y)


@pytest.mark.parametrize("make, argument", [
    (lambda: layers.RandomGrayscale(1.5), "factor"),
    (lambda: layers.RandomErasing(factor=2.0), "factor"),
    (lambda: layers.RandomErasing(scale=(0.1, 0.2, 0.3)), "scale"),
    (lambda: layers.RandomErasing(fill_value=(1, 2)), "fill_value"),
    (lambda: layers.RandomGaussianBlur(kernel_size=4), "kernel_size"),
    (lambda: layers.RandomGaussianBlur(sigma=-0.5), "sigma"),
    (lambda: layers.AutoContrast(value_range=3), "value_range"),
    (lambda: layers.Solarization(addition_factor=1.5), "addition_factor"),
    (lambda: layers.Solarization(threshold_factor=(-0.1, 0.5)), "threshold_factor"),
    (lambda: layers.MixUp(alpha=0), "alpha"),
    (lambda: layers.CutMix(factor=-0.5), "factor"),
])
def test_bad_arguments_name_layer_and_argument(make, argument):
    with pytest.raises(ValueError, match=f"'.*{argument}"):
        make()
