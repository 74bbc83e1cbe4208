"""Noise and regularization layers: identity at inference, the noise's statistics in training
on large inputs, seeding, SpatialDropout dropping whole maps in both data formats, gradients
through the noise, ActivityRegularization's losses, the layer contract and bad configs."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads, layer_test
from nbkeras.testing import strategies as nst

import reference_normalization as ref

NOISE_LAYERS = [
    (layers.GaussianNoise, {"stddev": 0.5}),
    (layers.GaussianDropout, {"rate": 0.3}),
    (layers.AlphaDropout, {"rate": 0.2}),
    (layers.SpatialDropout1D, {"rate": 0.5}),
    (layers.SpatialDropout2D, {"rate": 0.5}),
    (layers.SpatialDropout3D, {"rate": 0.5, "data_format": "channels_first"}),
]
RANKS = {"SpatialDropout1D": 3, "SpatialDropout2D": 4, "SpatialDropout3D": 5}


def _input_for(cls, rng, side=3):
    return rng.uniform(0.5, 2.0, (2,) + (side,) * (RANKS.get(cls.__name__, 3) - 1))


@pytest.mark.parametrize("cls, kwargs", NOISE_LAYERS)
def test_identity_at_inference_and_layer_contract(cls, kwargs):
    x = _input_for(cls, np.random.default_rng(0))
    layer_test(cls, {**kwargs, "seed": 1}, input_data=x, expected_output=x)
    layer = cls(**kwargs, seed=1, dtype="float64")
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    assert not np.array_equal(np.asarray(layer(x, training=True)), x)


@pytest.mark.parametrize("cls, kwargs", NOISE_LAYERS)
def test_seeded_layers_repeat_and_successive_calls_differ(cls, kwargs):
    x = _input_for(cls, np.random.default_rng(1), side=4)
    a, b = cls(**kwargs, seed=7, dtype="float64"), cls(**kwargs, seed=7, dtype="float64")
    first = np.asarray(a(x, training=True))
    np.testing.assert_array_equal(first, np.asarray(b(x, training=True)))
    assert not np.array_equal(first, np.asarray(a(x, training=True)))
    nk.config.set_random_seed(11)
    unseeded = np.asarray(cls(**kwargs, dtype="float64")(x, training=True))
    nk.config.set_random_seed(11)
    np.testing.assert_array_equal(np.asarray(cls(**kwargs, dtype="float64")(x, training=True)),
                                  unseeded)


@settings(max_examples=10)
@given(stddev=st.floats(0.05, 1.0), seed=st.integers(0, 2**31))
def test_gaussian_noise_statistics(stddev, seed):
    x = np.full((200, 500), 3.0)
    noise = np.asarray(layers.GaussianNoise(stddev, seed=seed, dtype="float64")(
        x, training=True)) - x
    n = noise.size
    assert abs(noise.mean()) < 5 * stddev / np.sqrt(n)
    assert abs(noise.var() / stddev ** 2 - 1) < 5 * np.sqrt(2 / n)


@settings(max_examples=10)
@given(rate=st.floats(0.05, 0.9), seed=st.integers(0, 2**31))
def test_gaussian_dropout_statistics(rate, seed):
    x = np.full((200, 500), 2.0)
    factor = np.asarray(layers.GaussianDropout(rate, seed=seed, dtype="float64")(
        x, training=True)) / 2.0
    variance, n = rate / (1 - rate), x.size
    assert abs(factor.mean() - 1) < 5 * np.sqrt(variance / n)
    assert abs(factor.var() / variance - 1) < 5 * np.sqrt(2 / n)


@settings(max_examples=10)
@given(rate=st.floats(0.05, 0.6), seed=st.integers(0, 2**31))
def test_alpha_dropout_keeps_zero_mean_unit_variance_and_matches_keras_formula(rate, seed):
    x = np.random.default_rng(seed).standard_normal((200, 500))
    y = np.asarray(layers.AlphaDropout(rate, seed=seed, dtype="float64")(x, training=True))
    n = x.size
    assert abs(y.mean()) < 6 / np.sqrt(n)
    assert abs(y.var() - 1) < 6 * np.sqrt(2 / n)
    # The mask is recoverable: dropped entries all take the same value a * alpha' + b.
    dropped_value = ref.alpha_dropout(np.zeros(1), np.zeros(1, bool), rate)[0]
    kept = ~np.isclose(y, dropped_value, rtol=0, atol=1e-12)
    assert abs((1 - kept.mean()) - rate) < 6 * np.sqrt(rate * (1 - rate) / n)
    small = x[:3, :5]
    np.testing.assert_allclose(y[:3, :5], ref.alpha_dropout(small, kept[:3, :5], rate),
                               rtol=1e-12, atol=1e-12)


def test_alpha_dropout_noise_shape_shares_the_mask():
    x = np.random.default_rng(0).standard_normal((4, 50, 3))
    layer = layers.AlphaDropout(0.5, noise_shape=(None, 1, 3), seed=2, dtype="float64")
    y = np.asarray(layer(x, training=True))
    alpha_p = -ref.SELU_ALPHA * ref.SELU_SCALE
    a = (0.5 * (1 + 0.5 * alpha_p ** 2)) ** -0.5
    dropped = np.isclose(y, a * alpha_p + (-a * alpha_p * 0.5), rtol=0, atol=1e-12)
    assert (dropped == dropped[:, :1, :]).all() and 0 < dropped.mean() < 1


@pytest.mark.parametrize("cls, rank, data_format", [
    (layers.SpatialDropout1D, 1, "channels_last"),
    (layers.SpatialDropout2D, 2, "channels_last"),
    (layers.SpatialDropout2D, 2, "channels_first"),
    (layers.SpatialDropout3D, 3, "channels_last"),
    (layers.SpatialDropout3D, 3, "channels_first"),
])
@settings(max_examples=5)
@given(rate=st.floats(0.1, 0.8), seed=st.integers(0, 2**31))
def test_spatial_dropout_drops_whole_feature_maps(cls, rank, data_format, rate, seed):
    batch, channels, side = 8, 64, 3
    spatial = (side,) * rank
    shape = ((batch, channels, *spatial) if data_format == "channels_first"
             else (batch, *spatial, channels))
    x = np.random.default_rng(seed).uniform(1.0, 2.0, shape)
    kwargs = {} if cls is layers.SpatialDropout1D else {"data_format": data_format}
    layer = cls(rate, seed=seed, **kwargs, dtype="float64")
    y = np.asarray(layer(x, training=True))
    maps = np.moveaxis(y, 1, -1) if data_format == "channels_first" else y
    source = np.moveaxis(x, 1, -1) if data_format == "channels_first" else x
    maps = maps.reshape(batch, -1, channels)          # (example, position, channel)
    source = source.reshape(batch, -1, channels)
    dropped = (maps == 0).all(axis=1)                 # whole maps are zero ...
    np.testing.assert_allclose(maps[~np.broadcast_to(dropped[:, None], maps.shape)],
                               source[~np.broadcast_to(dropped[:, None], maps.shape)] / (1 - rate),
                               rtol=1e-12)            # ... or all kept and rescaled
    assert ((maps == 0) == dropped[:, None, :]).all()
    n = dropped.size
    assert abs(dropped.mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / n)


def test_spatial_dropout_default_data_format_and_input_rank():
    assert layers.SpatialDropout2D(0.1).data_format == nk.config.image_data_format()
    with pytest.raises(ValueError, match="SpatialDropout2D.*rank 4"):
        layers.SpatialDropout2D(0.1)(np.ones((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="SpatialDropout1D.*rank 3"):
        layers.SpatialDropout1D(0.1)(np.ones((2, 3), "float32"))


@pytest.mark.parametrize("cls, kwargs", NOISE_LAYERS)
def test_gradient_in_training_is_the_noise(cls, kwargs):
    """d(sum y)/dx in training: the mask / multiplier that was drawn (seen in y / x, since the
    additive and affine parts do not depend on x)."""
    rng = np.random.default_rng(3)
    x = _input_for(cls, rng, side=4)
    layer = cls(**kwargs, seed=5, dtype="float64")
    v = nk.Tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(v)
        y = layer(v, training=True)
        total = nk.ops.sum(y)
    grad = np.asarray(tape.gradient(total, v))
    y = np.asarray(y)
    if cls is layers.GaussianNoise:
        np.testing.assert_allclose(grad, 1.0)
    elif cls is layers.AlphaDropout:
        rate = kwargs["rate"]
        alpha_p = -ref.SELU_ALPHA * ref.SELU_SCALE
        a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
        assert set(np.round(np.unique(grad), 12)) <= {0.0, round(a, 12)}
        kept = grad != 0
        np.testing.assert_allclose(y[kept], a * x[kept] - a * alpha_p * rate, rtol=1e-12)
    else:
        np.testing.assert_allclose(grad, y / x, rtol=1e-12, atol=1e-12)


@given(l1=st.sampled_from([0.0, 0.01, 0.5]), l2=st.sampled_from([0.0, 0.02, 1.0]),
       shape=nst.shapes(2, 3, 1, 4), data=st.data())
def test_activity_regularization_adds_its_penalty_and_is_identity(l1, l2, shape, data):
    x = data.draw(nst.arrays(shape, kinks=(0.0,)))
    y = layer_test(layers.ActivityRegularization, {"l1": l1, "l2": l2}, input_data=x,
                   expected_output=x)
    layer = layers.ActivityRegularization(l1, l2, dtype="float64")
    layer(x, training=True)
    expected = (l1 * np.abs(x).sum() + l2 * (x ** 2).sum()) / len(x)   # per sample, as Keras
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(np.asarray(layer.losses[0])), expected, rtol=1e-12)
    assert layer.get_config()["l1"] == l1 and "activity_regularizer" not in layer.get_config()
    assert np.asarray(y).shape == shape

    def penalty(t):
        layer(t)
        return layer.losses[0]
    check_grads(penalty, [x])


@pytest.mark.parametrize("make, match", [
    (lambda: layers.GaussianNoise(-0.1), r"GaussianNoise '\w+': stddev must be"),
    (lambda: layers.GaussianNoise(1.5), r"GaussianNoise '\w+': stddev must be"),
    (lambda: layers.GaussianDropout(1.0), r"GaussianDropout '\w+': rate must be"),
    (lambda: layers.AlphaDropout(-0.5), r"AlphaDropout '\w+': rate must be"),
    (lambda: layers.SpatialDropout1D(1.0), r"SpatialDropout1D '\w+': rate must be"),
    (lambda: layers.SpatialDropout2D(0.5, data_format="nhwc"),
     r"SpatialDropout2D '\w+': data_format must be"),
    (lambda: layers.SpatialDropout3D("half"), r"SpatialDropout3D '\w+': rate must be"),
    (lambda: layers.ActivityRegularization(l1=-1.0), r"ActivityRegularization '\w+': l1 must be"),
])
def test_bad_config_fails_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()
