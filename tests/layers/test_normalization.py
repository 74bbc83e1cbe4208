"""Normalization layers and ops: forward against plain loops in training and inference,
moving statistics, frozen BatchNormalization, float64 gradients (through the batch
statistics in training) over Hypothesis-drawn configs, the layer contract and bad configs."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers, ops
from nbkeras.testing import check_grads, layer_test
from nbkeras.testing import strategies as nst

import reference_normalization as ref

EPSILONS = st.sampled_from([1e-3, 1e-2, 0.5])


def _random_affine(layer, rng, shape):
    """gamma, beta (where present) drawn at random, so the affine part is really tested."""
    values = {}
    for name in ("gamma", "beta"):
        if getattr(layer, name) is not None:
            values[name] = rng.standard_normal(shape)
            getattr(layer, name).assign(values[name])
    return values.get("gamma"), values.get("beta")


@st.composite
def batch_norm_cases(draw):
    shape = draw(nst.shapes(2, 4, 1, 4))
    axis = draw(st.sampled_from([-1, *range(1, len(shape))]))
    config = dict(axis=axis, momentum=draw(st.sampled_from([0.0, 0.5, 0.99])),
                  epsilon=draw(EPSILONS), center=draw(st.booleans()), scale=draw(st.booleans()))
    return shape, config, draw(st.integers(0, 2**32 - 1))


def _built_batch_norm(case):
    """(x, config, layer, gamma, beta, moving_mean, moving_variance): a float64
    BatchNormalization built for the drawn case, with random affine weights and moving
    statistics, and a random input."""
    shape, config, seed = case
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 2.0, shape)
    layer = layers.BatchNormalization(**config, dtype="float64")
    layer.build(shape)
    channels = shape[config["axis"]]
    gamma, beta = _random_affine(layer, rng, (channels,))
    moving_mean, moving_variance = rng.standard_normal(channels), rng.uniform(0.5, 2, channels)
    layer.moving_mean.assign(moving_mean)
    layer.moving_variance.assign(moving_variance)
    return x, config, layer, gamma, beta, moving_mean, moving_variance


@given(case=batch_norm_cases())
def test_batch_norm_training_matches_reference_updates_moving_stats_and_gradients(case):
    x, config, layer, gamma, beta, moving_mean, moving_variance = _built_batch_norm(case)
    y = layer(x, training=True)
    expected, mean, variance = ref.batch_norm_training(x, config["axis"], gamma, beta,
                                                       config["epsilon"])
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-10, atol=1e-10)
    m = config["momentum"]
    np.testing.assert_allclose(layer.moving_mean.numpy(), moving_mean * m + mean * (1 - m),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               moving_variance * m + variance * (1 - m), rtol=1e-12, atol=1e-12)
    check_grads(layer, [x], call_kwargs={"training": True})


@given(case=batch_norm_cases())
def test_batch_norm_inference_uses_moving_stats_and_gradients(case):
    x, config, layer, gamma, beta, mean, variance = _built_batch_norm(case)
    y = layer(x)
    np.testing.assert_allclose(np.asarray(y), ref.batch_norm_inference(
        x, config["axis"], mean, variance, gamma, beta, config["epsilon"]),
        rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), mean)   # no update at inference
    check_grads(layer, [x])


@given(shape=nst.shapes(2, 4, 1, 4), data=st.data())
def test_batch_normalization_op_gradients_in_every_input(shape, data):
    x = data.draw(nst.arrays(shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    c = shape[axis]
    mean, scale, offset = (data.draw(nst.arrays((c,))) for _ in range(3))
    variance = data.draw(nst.arrays((c,), positive=True))
    y = ops.batch_normalization(x, mean, variance, axis, offset, scale, 0.01)
    np.testing.assert_allclose(np.asarray(y), ref.batch_norm_inference(
        x, axis, mean, variance, scale, offset, 0.01), rtol=1e-10, atol=1e-10)
    check_grads(lambda *a: ops.batch_normalization(a[0], a[1], a[2], axis, a[4], a[3], 0.01),
                [x, mean, variance, scale, offset])


def test_frozen_batch_norm_runs_in_inference_mode():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (6, 4))
    layer = layers.BatchNormalization(dtype="float64")
    layer.build(x.shape)
    layer.moving_mean.assign(rng.standard_normal(4))
    layer.moving_variance.assign(rng.uniform(0.5, 2, 4))
    before = layer.get_weights()
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
    y = layer(x, training=True)
    np.testing.assert_allclose(np.asarray(y), np.asarray(layer(x, training=False)), rtol=0)
    for w, w0 in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(w, w0)
    layer.trainable = True
    layer(x, training=True)
    assert not np.array_equal(layer.moving_mean.numpy(), before[2])


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.BatchNormalization(), (0, 4)),
    (lambda: layers.BatchNormalization(axis=1), (2, 4, 0)),       # channels first, W = 0
    (lambda: layers.BatchNormalization(), (2, 0, 0, 4)),          # valid pooling to nothing
    (lambda: layers.LayerNormalization(axis=1), (2, 4, 0)),
    (lambda: layers.GroupNormalization(groups=2, axis=1), (2, 4, 0))])
def test_normalization_of_an_empty_tensor(make, shape):
    """As Keras: an empty output; BatchNormalization's training statistics of no values are
    NaN (0 / 0), so its moving averages become NaN; the gradients are empty or zero."""
    layer = make()
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    assert layer(x).shape == shape
    with nk.GradientTape() as tape:
        y = layer(x, training=True)
        loss = ops.sum(y)
    assert y.shape == shape
    grads = tape.gradient(loss, layer.trainable_weights)
    for g, w in zip(grads, layer.trainable_weights):
        np.testing.assert_array_equal(np.asarray(g), np.zeros(w.shape, "float32"))
    if isinstance(layer, layers.BatchNormalization):
        assert np.isnan(layer.moving_mean.numpy()).all()
        assert np.isnan(layer.moving_variance.numpy()).all()


def test_batch_norm_weights_in_keras_order_and_training_flag_from_fit():
    layer = layers.BatchNormalization(axis=1)
    layer.build((None, 3, 5))
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.shape for w in layer.weights] == [(3,)] * 4
    assert [w.name for w in layers.BatchNormalization(center=False, scale=False).weights] == []
    model = nk.Sequential([layers.Input((3,)), layers.BatchNormalization(momentum=0.5)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(1).normal(4.0, 1.0, (8, 3)).astype("float32")
    model.fit(x, np.zeros((8, 3), "float32"), batch_size=8, epochs=1, verbose=0)
    bn = model.layers[-1]
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.5 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.5 + 0.5 * x.var(0), rtol=1e-5)


@given(shape=nst.shapes(3, 4, 1, 4), seed=st.integers(0, 2**32 - 1))
def test_batch_norm_channels_first_equals_channels_last_transposed(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    last = layers.BatchNormalization(axis=-1, dtype="float64")
    first = layers.BatchNormalization(axis=1, dtype="float64")
    moved = np.moveaxis(x, -1, 1)
    last.build(x.shape)
    first.build(moved.shape)
    first.set_weights([rng.standard_normal(shape[-1]) for _ in range(2)]
                      + [rng.standard_normal(shape[-1]), rng.uniform(0.5, 2, shape[-1])])
    last.set_weights(first.get_weights())
    for training in (True, False):
        np.testing.assert_allclose(np.moveaxis(np.asarray(first(moved, training=training)), 1, -1),
                                   np.asarray(last(x, training=training)), rtol=1e-12, atol=1e-12)


@st.composite
def layer_norm_cases(draw):
    shape = draw(nst.shapes(2, 4, 1, 4))
    rank = len(shape)
    axes = draw(st.lists(st.integers(1, rank - 1), min_size=1, max_size=rank - 1, unique=True))
    axes = [draw(st.sampled_from([a, a - rank])) for a in axes]   # negative axes too
    axis = axes[0] if len(axes) == 1 and draw(st.booleans()) else axes
    config = dict(axis=axis, epsilon=draw(EPSILONS), center=draw(st.booleans()),
                  scale=draw(st.booleans()), rms_scaling=draw(st.booleans()))
    return shape, config, draw(st.integers(0, 2**32 - 1))


@given(case=layer_norm_cases())
def test_layer_norm_matches_reference_and_gradients(case):
    shape, config, seed = case
    rng = np.random.default_rng(seed)
    x = rng.normal(0.5, 2.0, shape)
    layer = layers.LayerNormalization(**config, dtype="float64")
    layer.build(shape)
    axes = layer.axis if isinstance(layer.axis, list) else [layer.axis]
    assert axes == sorted(axes)      # build sorts by value, as Keras: [1, -1] -> [-1, 1]
    gamma, beta = _random_affine(layer, rng, tuple(shape[a] for a in axes))
    if config["rms_scaling"]:
        assert layer.beta is None and layer.gamma is not None
    y = layer(x)
    np.testing.assert_allclose(np.asarray(y), ref.layer_norm(
        x, layer.axis, gamma, beta, config["epsilon"], config["rms_scaling"]),
        rtol=1e-10, atol=1e-10)
    check_grads(layer, [x])


@st.composite
def group_norm_cases(draw):
    groups = draw(st.integers(1, 3))
    channels = groups * draw(st.integers(1, 3))
    spatial = draw(nst.shapes(0, 2, 1, 3))
    batch = draw(st.integers(1, 3))
    channels_first = draw(st.booleans())
    shape = (batch, channels, *spatial) if channels_first else (batch, *spatial, channels)
    config = dict(groups=draw(st.sampled_from([groups, -1] if groups == channels else [groups])),
                  axis=1 if channels_first else -1, epsilon=draw(EPSILONS),
                  center=draw(st.booleans()), scale=draw(st.booleans()))
    return shape, config, draw(st.integers(0, 2**32 - 1))


@given(case=group_norm_cases())
def test_group_norm_matches_reference_and_gradients(case):
    shape, config, seed = case
    rng = np.random.default_rng(seed)
    x = rng.normal(-0.5, 1.5, shape)
    layer = layers.GroupNormalization(**config, dtype="float64")
    layer.build(shape)
    channels = shape[config["axis"]]
    gamma, beta = _random_affine(layer, rng, (channels,))
    groups = channels if config["groups"] == -1 else config["groups"]
    y = layer(x)
    np.testing.assert_allclose(np.asarray(y), ref.group_norm(
        x, groups, config["axis"], gamma, beta, config["epsilon"]), rtol=1e-10, atol=1e-10)
    check_grads(layer, [x])


@settings(max_examples=10)
@given(groups=st.sampled_from([1, 2, 4]), seed=st.integers(0, 2**32 - 1))
def test_group_norm_channels_first_equals_channels_last_transposed(groups, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 2, 4))
    last = layers.GroupNormalization(groups, axis=-1, dtype="float64")
    first = layers.GroupNormalization(groups, axis=1, dtype="float64")
    last(x)
    first(np.moveaxis(x, -1, 1))
    first.set_weights([rng.standard_normal(4), rng.standard_normal(4)])
    last.set_weights(first.get_weights())
    np.testing.assert_allclose(np.moveaxis(np.asarray(first(np.moveaxis(x, -1, 1))), 1, -1),
                               np.asarray(last(x)), rtol=1e-12, atol=1e-12)


def test_large_inputs_take_the_parallel_path_in_float32_and_float64():
    """Big enough for several threads and chunks: compare with numpy's own formulas."""
    rng = np.random.default_rng(3)
    x64 = rng.normal(5.0, 3.0, (64, 8, 8, 16))
    gamma, beta = rng.standard_normal(16), rng.standard_normal(16)
    for dtype, tol in (("float64", 1e-12), ("float32", 2e-5)):
        x = x64.astype(dtype)
        xs = x.astype(np.float64)
        y, mean, variance = ops.batch_normalization_training(x, -1, gamma.astype(dtype),
                                                             beta.astype(dtype), 1e-3)
        assert y.dtype == dtype
        mu, var = xs.mean((0, 1, 2)), xs.var((0, 1, 2))
        np.testing.assert_allclose(np.asarray(y), (xs - mu) / np.sqrt(var + 1e-3) * gamma + beta,
                                   rtol=tol, atol=tol)
        np.testing.assert_allclose(np.asarray(variance), var, rtol=tol)
        yl = ops.layer_normalization(x, gamma.astype(dtype), beta.astype(dtype), -1, 1e-3)
        mu, var = xs.mean(-1, keepdims=True), xs.var(-1, keepdims=True)
        np.testing.assert_allclose(np.asarray(yl), (xs - mu) / np.sqrt(var + 1e-3) * gamma + beta,
                                   rtol=tol, atol=tol)
    layer = layers.LayerNormalization(dtype="float64")
    layer(x64)
    layer.set_weights([gamma, beta])
    check_grads(layer, [x64], mode="projection")
    bn = layers.BatchNormalization(axis=1, dtype="float64")
    check_grads(bn, [x64], mode="projection", call_kwargs={"training": True})


@pytest.mark.parametrize("cls, kwargs, shape", [
    (layers.BatchNormalization, {}, (4, 3)),
    (layers.BatchNormalization, {"axis": 1, "center": False}, (2, 3, 4, 2)),
    (layers.LayerNormalization, {"axis": [1, 2]}, (2, 3, 4)),
    (layers.LayerNormalization, {"rms_scaling": True}, (2, 5)),
    (layers.GroupNormalization, {"groups": 2}, (2, 3, 4)),
    (layers.GroupNormalization, {"groups": -1, "axis": 1, "scale": False}, (1, 3, 2, 2)),
])
def test_normalization_layer_contract(cls, kwargs, shape):
    layer_test(cls, kwargs, input_shape=shape, expected_output_shape=shape)


def test_symbolic_shapes_and_compute_output_shape():
    inp = nk.Input((5, 6))
    for layer in (layers.BatchNormalization(), layers.LayerNormalization(axis=[1, 2]),
                  layers.GroupNormalization(3)):
        assert layer(inp).shape == (None, 5, 6)
        assert layer.compute_output_shape((None, 5, 6)) == (None, 5, 6)


@pytest.mark.parametrize("make, match", [
    (lambda: layers.BatchNormalization(axis="x"), r"BatchNormalization '\w+': axis must be"),
    (lambda: layers.BatchNormalization(momentum=1.5), r"BatchNormalization '\w+': momentum"),
    (lambda: layers.BatchNormalization(epsilon=0), r"BatchNormalization '\w+': epsilon"),
    (lambda: layers.LayerNormalization(axis=[]), r"LayerNormalization '\w+': axis must be"),
    (lambda: layers.LayerNormalization(epsilon=-1.0), r"LayerNormalization '\w+': epsilon"),
    (lambda: layers.GroupNormalization(groups=0), r"GroupNormalization '\w+': groups must be"),
    (lambda: layers.GroupNormalization(axis=1.5), r"GroupNormalization '\w+': axis must be"),
])
def test_bad_config_fails_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("layer, shape, match", [
    (lambda: layers.GroupNormalization(4), (2, 3, 6), r"GroupNormalization '\w+': groups=4"),
    (lambda: layers.GroupNormalization(8), (2, 3, 6), r"GroupNormalization '\w+': groups=8"),
    (lambda: layers.GroupNormalization(2, axis=0), (2, 3, 6), r"GroupNormalization.*axis"),
    (lambda: layers.BatchNormalization(axis=3), (2, 3), r"BatchNormalization '\w+': axis 3"),
    (lambda: layers.LayerNormalization(axis=[1, -2]), (2, 3, 4), r"LayerNormalization.*axis"),
])
def test_bad_input_shapes_fail_at_build(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer()(np.zeros(shape))


@pytest.mark.parametrize("call, match", [
    (lambda x: ops.group_normalization(x, 4), r"group_normalization: the 6 channels .* groups=4"),
    (lambda x: ops.group_normalization(x, 2, axis=0), r"group_normalization: axis must not"),
    (lambda x: ops.layer_normalization(x, np.ones(5)), r"layer_normalization: scale of shape"),
    (lambda x: ops.batch_normalization(x, np.zeros(6), np.ones(4), -1),
     r"batch_normalization: variance of shape \(4,\)"),
    (lambda x: ops.batch_normalization_training(x, 3), r"batch_normalization: axis 3"),
])
def test_op_errors_name_the_op_and_the_shapes(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.zeros((2, 3, 6)))


def test_an_op_node_replayed_twice_in_one_tape_differentiates_each_call():
    """An op in a functional graph is one object run on every call; its vjp must not use the
    statistics of a later call."""
    inp = nk.Input((5,), dtype="float64")
    model = nk.Model(inp, ops.layer_normalization(inp))
    rng = np.random.default_rng(0)
    xs, vs = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 5))

    def grads(f):
        tensors = [nk.Tensor(x) for x in xs]
        with nk.GradientTape() as tape:
            tape.watch(tensors)
            loss = ops.add(*[ops.sum(ops.multiply(f(t), v)) for t, v in zip(tensors, vs)])
        return [np.asarray(g) for g in tape.gradient(loss, tensors)]
    for g_model, g_direct in zip(grads(model), grads(ops.layer_normalization)):
        np.testing.assert_allclose(g_model, g_direct, rtol=1e-12, atol=1e-12)
