"""RMSNormalization, UnitNormalization and SpectralNormalization: forward against float64
numpy references, float64 finite differences over Hypothesis-drawn configs, the layer
contract (symbolic shapes, config round trip, build by hand then set_weights), Keras's
numbers from its own weights where Keras is importable, and bad configs."""
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads, layer_test
from nbkeras.testing import strategies as nst


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")     # before anything imports keras
    return pytest.importorskip("keras")


# ---- references ---------------------------------------------------------------------------

def _positions(axis, rank):
    return sorted(a % rank for a in (axis if isinstance(axis, list) else [axis]))


def rms_reference(x, axis, scale, epsilon):
    axes = tuple(_positions(axis, x.ndim))
    shape = [n if i in axes else 1 for i, n in enumerate(x.shape)]
    return x / np.sqrt(np.mean(x * x, axis=axes, keepdims=True) + epsilon) * scale.reshape(shape)


def unit_reference(x, axis):
    axes = tuple(_positions(axis, x.ndim))
    return x / np.sqrt(np.sum(x * x, axis=axes, keepdims=True))


def spectral_reference(kernel, u, iterations):
    """(u, kernel / sigma) of Keras's power method, in plain numpy."""
    w = kernel.reshape(-1, kernel.shape[-1])
    for _ in range(iterations):
        v = u @ w.T
        v = v / np.sqrt(np.sum(v * v))
        u = v @ w
        u = u / np.sqrt(np.sum(u * u))
    sigma = (v @ w @ u.T).item()
    return u, kernel / sigma


@st.composite
def axis_cases(draw):
    """(input shape, axis as a user writes it): an int or a list, negative axes too."""
    shape = draw(nst.shapes(2, 4, 1, 4))
    rank = len(shape)
    axes = draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1, unique=True))
    axes = [draw(st.sampled_from([a, a - rank])) for a in axes]
    axis = axes[0] if len(axes) == 1 and draw(st.booleans()) else axes
    return shape, axis


# ---- RMSNormalization ---------------------------------------------------------------------

@given(case=axis_cases(), epsilon=st.sampled_from([0.0, 1e-6, 1e-2, 0.5]),
       seed=st.integers(0, 2**32 - 1))
def test_rms_normalization_matches_reference_contract_and_gradients(case, epsilon, seed):
    shape, axis = case
    rng = np.random.default_rng(seed)
    x = rng.normal(0.3, 1.5, shape)
    config = dict(axis=axis, epsilon=epsilon)
    layer_test(layers.RMSNormalization, config, input_data=x,
               expected_output=rms_reference(x, axis, np.ones(
                   [shape[a] for a in _positions(axis, len(shape))]), epsilon),
               rtol=1e-10, atol=1e-10)
    layer = layers.RMSNormalization(**config, dtype="float64")
    layer.build(shape)
    scale = rng.standard_normal(layer.scale.shape)
    assert layer.scale.shape == tuple(shape[a] for a in _positions(axis, len(shape)))
    layer.set_weights([scale])
    np.testing.assert_allclose(np.asarray(layer(x)), rms_reference(x, axis, scale, epsilon),
                               rtol=1e-10, atol=1e-10)
    check_grads(layer, [x])


def test_rms_normalization_weights_defaults_and_dtypes():
    layer = layers.RMSNormalization()
    assert (layer.axis, layer.epsilon) == (-1, 1e-6)
    layer.build((None, 5, 3))
    assert [(w.name, w.shape, w.trainable) for w in layer.weights] == [("scale", (3,), True)]
    np.testing.assert_array_equal(layer.scale.numpy(), np.ones(3))
    y = layer(np.arange(15, dtype="float64").reshape(1, 5, 3))
    assert y.dtype == "float32"
    assert layers.RMSNormalization(dtype="float16")(np.ones((2, 3))).dtype == "float16"


# ---- UnitNormalization ----------------------------------------------------------------------

@given(case=axis_cases(), seed=st.integers(0, 2**32 - 1))
def test_unit_normalization_matches_reference_contract_and_gradients(case, seed):
    shape, axis = case
    x = np.random.default_rng(seed).normal(0.5, 1.0, shape)
    y = layer_test(layers.UnitNormalization, dict(axis=axis), input_data=x,
                   expected_output=unit_reference(x, axis), rtol=1e-12, atol=1e-12)
    axes = tuple(_positions(axis, len(shape)))
    np.testing.assert_allclose(np.sum(np.asarray(y) ** 2, axis=axes), 1.0, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")   # 1/0 -> min(inf, 1e12)
def test_unit_normalization_keeps_zero_slices_and_takes_a_tuple():
    layer = layers.UnitNormalization(axis=(1, 2))
    assert layer.axis == [1, 2] and layer.get_config()["axis"] == [1, 2]
    x = np.zeros((2, 3, 4))
    x[1] = 2.0
    y = np.asarray(layer(x))
    np.testing.assert_array_equal(y[0], 0.0)
    np.testing.assert_allclose(y[1], 1 / np.sqrt(12), rtol=1e-6)
    assert layer.weights == []
    assert layer.supports_masking and not layers.RMSNormalization().supports_masking


# ---- SpectralNormalization --------------------------------------------------------------------

WRAPPED = {
    "dense": (lambda: layers.Dense(3, dtype="float64"), (2, 4)),
    "dense_3d": (lambda: layers.Dense(2, use_bias=False, dtype="float64"), (2, 3, 5)),
    "conv2d": (lambda: layers.Conv2D(3, 2, dtype="float64"), (2, 4, 4, 2)),
    "conv1d": (lambda: layers.Conv1D(2, 3, activation="tanh", dtype="float64"), (1, 5, 3)),
}


@pytest.mark.parametrize("name", sorted(WRAPPED))
@given(iterations=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_spectral_normalization_training_updates_u_and_kernel_as_the_reference(name, iterations,
                                                                             seed):
    make, shape = WRAPPED[name]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    inner = make()
    layer = layers.SpectralNormalization(inner, power_iterations=iterations, dtype="float64")
    layer.build(shape)
    assert layer.kernel is inner.kernel
    kernel = rng.standard_normal(inner.kernel.shape)
    u = rng.standard_normal((1, inner.kernel.shape[-1]))
    inner.kernel.assign(kernel)
    layer.vector_u.assign(u)
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(inner(x)), rtol=0)  # inference
    np.testing.assert_array_equal(inner.kernel.numpy(), kernel)             # leaves weights be
    y = layer(x, training=True)
    u_ref, kernel_ref = spectral_reference(kernel, u, iterations)
    np.testing.assert_allclose(layer.vector_u.numpy(), u_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(inner.kernel.numpy(), kernel_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(y), np.asarray(inner(x)), rtol=1e-12, atol=1e-12)
    sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
    estimate = np.linalg.norm(kernel) / np.linalg.norm(kernel_ref)
    assert estimate <= sigma * (1 + 1e-9)               # the power method approaches from below
    check_grads(layer, [x])                             # inference: the wrapped layer's
    with nk.GradientTape() as tape:                     # training: no gradient through the update
        loss = nk.ops.sum(layer(x, training=True))
    after = inner.kernel.numpy()
    grads = tape.gradient(loss, layer.trainable_weights)
    with nk.GradientTape() as tape:
        inner.kernel.assign(after)
        expected = tape.gradient(nk.ops.sum(inner(x)), inner.trainable_weights)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-12, atol=1e-12)


def test_spectral_normalization_converges_to_the_largest_singular_value():
    nk.utils.set_random_seed(3)      # the weights' draws, not whatever ran before this test
    rng = np.random.default_rng(3)
    inner = layers.Dense(4, dtype="float64")
    layer = layers.SpectralNormalization(inner, power_iterations=50, dtype="float64")
    x = rng.standard_normal((2, 6))
    layer(x, training=True)
    assert np.linalg.svd(inner.kernel.numpy(), compute_uv=False)[0] == pytest.approx(1, abs=1e-6)


def test_spectral_normalization_weights_contract_and_zero_kernel():
    inner = layers.Dense(3, kernel_initializer="zeros")
    layer = layers.SpectralNormalization(inner)
    layer.build((None, 4))
    assert [(w.path, w.shape, w.trainable) for w in layer.weights] == [
        (f"{inner.name}/kernel", (4, 3), True), (f"{layer.name}/vector_u", (1, 3), False),
        (f"{inner.name}/bias", (3,), True)]
    assert [w.path for w in layer.trainable_weights] == [f"{inner.name}/kernel",
                                                         f"{inner.name}/bias"]
    u = layer.vector_u.numpy()
    assert np.all(np.abs(u) <= 0.04 + 1e-7) and u.dtype == np.float32   # truncated, stddev 0.02
    layer(np.ones((2, 4)), training=True)               # an all-zero kernel is left alone
    np.testing.assert_array_equal(layer.vector_u.numpy(), u)
    assert not np.isnan(inner.kernel.numpy()).any()
    layer.trainable = False
    assert layer.trainable_weights == [] and not inner.kernel.trainable


def test_spectral_normalization_layer_contract_symbolic_and_functional_round_trip():
    layer_test(layers.SpectralNormalization,
               dict(layer=layers.Dense(3, dtype="float64"), power_iterations=2),
               input_shape=(2, 5))
    inputs = nk.Input((6, 6, 2))
    wrapper = layers.SpectralNormalization(layers.Conv2D(4, 3, padding="same"))
    out = wrapper(inputs)
    assert out.shape == (None, 6, 6, 4) == wrapper.compute_output_shape((None, 6, 6, 2))
    model = nk.Model(inputs, layers.Flatten()(out))
    clone = nk.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 2)).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    config = wrapper.get_config()
    assert config["layer"]["class_name"] == "Conv2D" and config["power_iterations"] == 1
    assert isinstance(layers.SpectralNormalization.from_config(config).layer, layers.Conv2D)


def test_spectral_normalization_trains_in_fit():
    model = nk.Sequential([nk.Input((3,)),
                           layers.SpectralNormalization(layers.Dense(2, use_bias=False))])
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((16, 3)).astype("float32"), rng.standard_normal((16, 2))
              .astype("float32"), batch_size=8, epochs=2, verbose=0)
    kernel = model.layers[0].layer.kernel.numpy()
    assert np.isfinite(kernel).all()
    assert np.linalg.svd(kernel, compute_uv=False)[0] < 1.5


# ---- Keras ----------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [-1, [1, 2], 1])
def test_rms_and_unit_normalization_match_keras(axis):
    keras = _keras()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 5)).astype("float32")
    if axis == [1, 2] or axis == -1:      # Keras lines scale up with trailing axes only
        theirs = keras.layers.RMSNormalization(axis=axis, epsilon=1e-3)
        theirs.build(x.shape)
        theirs.set_weights([rng.standard_normal(w.shape) for w in theirs.get_weights()])
        ours = layers.RMSNormalization(axis=axis, epsilon=1e-3)
        ours.build(x.shape)
        ours.set_weights(theirs.get_weights())
        np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=2e-6,
                                   atol=2e-6)
        assert {k: v for k, v in theirs.get_config().items() if k in ("epsilon",)} == \
               {"epsilon": ours.get_config()["epsilon"]}
    np.testing.assert_allclose(np.asarray(layers.UnitNormalization(axis=axis)(x)),
                               np.asarray(keras.layers.UnitNormalization(axis=axis)(x)),
                               rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("make", [lambda m: m.layers.Dense(3),
                                  lambda m: m.layers.Conv2D(3, 2, padding="same")])
def test_spectral_normalization_matches_keras_from_its_weights(make):
    keras = _keras()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 4, 3)).astype("float32")
    theirs = keras.layers.SpectralNormalization(make(keras), power_iterations=2)
    ours = layers.SpectralNormalization(make(nk), power_iterations=2)
    theirs.build(x.shape)
    ours.build(x.shape)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)
    for _ in range(2):
        np.testing.assert_allclose(np.asarray(ours(x, training=True)),
                                   np.asarray(theirs(x, training=True)), rtol=1e-4, atol=1e-5)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-6)


# ---- build by hand, devices, bad configs ------------------------------------------------------

@pytest.mark.parametrize("make, shape", [
    (lambda: layers.RMSNormalization(axis=[1, 2], dtype="float64"), (2, 3, 4)),
    (lambda: layers.UnitNormalization(dtype="float64"), (2, 3)),
    (lambda: layers.SpectralNormalization(layers.Dense(3, dtype="float64"), dtype="float64"),
     (2, 4)),
])
def test_build_by_hand_then_set_weights_keeps_the_weights(make, shape):
    rng = np.random.default_rng(0)
    layer = make()
    layer.build(shape)
    assert layer.built
    chosen = [rng.standard_normal(w.shape) + 1.5 for w in layer.get_weights()]
    layer.set_weights(chosen)
    layer(rng.standard_normal(shape))
    for a, b in zip(layer.get_weights(), chosen):
        np.testing.assert_array_equal(a, b)


def test_layers_on_each_device(device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4))
    rms = layers.RMSNormalization(axis=[1, 2], dtype="float64")
    rms.build(x.shape)
    scale = rng.standard_normal((3, 4))
    rms.set_weights([scale])
    np.testing.assert_allclose(np.asarray(rms(x)), rms_reference(x, [1, 2], scale, 1e-6),
                               rtol=1e-10)
    np.testing.assert_allclose(np.asarray(layers.UnitNormalization(dtype="float64")(x)),
                               unit_reference(x, -1), rtol=1e-10)
    inner = layers.Dense(3, dtype="float64")
    spectral = layers.SpectralNormalization(inner, dtype="float64")
    spectral.build(x.shape)
    kernel, u = inner.kernel.numpy(), spectral.vector_u.numpy()
    spectral(x, training=True)
    np.testing.assert_allclose(inner.kernel.numpy(), spectral_reference(kernel, u, 1)[1],
                               rtol=1e-10)
    check_grads(rms, [x])


@pytest.mark.parametrize("make, match", [
    (lambda: layers.RMSNormalization(axis=1.5), r"RMSNormalization '\w+': axis must be"),
    (lambda: layers.RMSNormalization(axis=[]), r"RMSNormalization '\w+': axis must be"),
    (lambda: layers.RMSNormalization(epsilon=-1.0), r"RMSNormalization '\w+': epsilon must be"),
    (lambda: layers.RMSNormalization(axis=3).build((2, 3)), r"RMSNormalization '\w+': axis 3"),
    (lambda: layers.RMSNormalization(axis=[1, -1]).build((2, 3)),
     r"RMSNormalization '\w+': axis \[1, -1\] must name distinct"),
    (lambda: layers.UnitNormalization(axis="x"), r"UnitNormalization '\w+': axis must be"),
    (lambda: layers.UnitNormalization(axis=2)(np.ones((2, 3))), r"UnitNormalization '\w+': axis"),
    (lambda: layers.UnitNormalization(axis=5).compute_output_shape((2, 3)),
     r"UnitNormalization '\w+': axis 5"),
    (lambda: layers.SpectralNormalization("dense"), r"SpectralNormalization '\w+': layer must"),
    (lambda: layers.SpectralNormalization(layers.Dense(2), power_iterations=0),
     r"SpectralNormalization '\w+': power_iterations must be a positive"),
    (lambda: layers.SpectralNormalization(layers.LayerNormalization()).build((2, 3)),
     r"SpectralNormalization '\w+': layer must have a 'kernel'"),
])
def test_bad_config_fails_with_a_named_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()
