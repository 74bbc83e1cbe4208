"""Activation layers: forward against plain loops with inputs kept away from the kinks
(0, threshold, max_value, theta), float64 gradients (input and PReLU's alpha), the layer
contract, PReLU's shared axes, Softmax masks and multi-axis softmax, and bad configs."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads, layer_test
from nbkeras.testing import strategies as nst

import reference
import reference_normalization as ref


@st.composite
def relu_configs(draw):
    threshold = draw(st.sampled_from([0.0, 0.3, 1.0]))
    max_value = draw(st.sampled_from([None, threshold + 0.5, threshold + 2.0]))
    return dict(max_value=max_value, negative_slope=draw(st.sampled_from([0.0, 0.1, 0.5])),
                threshold=threshold)


@given(config=relu_configs(), shape=nst.shapes(2, 3, 1, 5), data=st.data())
def test_relu_layer(config, shape, data):
    kinks = (0.0, config["threshold"]) + ((config["max_value"],) if config["max_value"] else ())
    x = data.draw(nst.arrays(shape, kinks=kinks, scale=2.0))
    y = layer_test(layers.ReLU, config, input_data=x, expected_output_shape=shape)
    np.testing.assert_allclose(np.asarray(y), reference.relu(x, **config), rtol=1e-12, atol=1e-12)


@given(slope=st.sampled_from([0.0, 0.01, 0.3, 1.5]), shape=nst.shapes(2, 3, 1, 5), data=st.data())
def test_leaky_relu_layer(slope, shape, data):
    x = data.draw(nst.arrays(shape, kinks=(0.0,)))
    y = layer_test(layers.LeakyReLU, {"negative_slope": slope}, input_data=x)
    np.testing.assert_allclose(np.asarray(y), reference.leaky_relu(x, slope), rtol=1e-12)


def test_leaky_relu_default_slope_and_alpha_keyword():
    x = np.array([[-2.0, -0.5, 0.0, 3.0]])
    np.testing.assert_allclose(np.asarray(layers.LeakyReLU(dtype="float64")(x)),
                               [[-0.6, -0.15, 0.0, 3.0]])
    with pytest.warns(DeprecationWarning, match="alpha"):
        layer = layers.LeakyReLU(alpha=0.1, dtype="float64")
    assert layer.negative_slope == 0.1
    assert "alpha" not in layer.get_config() and layer.get_config()["negative_slope"] == 0.1
    np.testing.assert_allclose(np.asarray(layer(x)), [[-0.2, -0.05, 0.0, 3.0]])


@st.composite
def prelu_cases(draw):
    shape = draw(nst.shapes(2, 4, 1, 4))
    shared = draw(st.lists(st.integers(1, len(shape) - 1), unique=True, max_size=len(shape) - 1))
    return shape, (shared or None) if len(shared) != 1 or draw(st.booleans()) else shared[0]


@given(case=prelu_cases(), data=st.data())
def test_prelu_shared_axes_forward_and_gradients(case, data):
    shape, shared_axes = case
    x = data.draw(nst.arrays(shape, kinks=(0.0,)))
    layer = layers.PReLU(shared_axes=shared_axes, dtype="float64")
    layer(x)
    shared = [] if shared_axes is None else np.atleast_1d(shared_axes).tolist()
    alpha_shape = tuple(1 if i in shared else n for i, n in enumerate(shape) if i > 0)
    assert layer.alpha.shape == alpha_shape
    np.testing.assert_array_equal(layer.alpha.numpy(), 0.0)   # Keras's default: zeros
    alpha = data.draw(nst.arrays(alpha_shape))
    layer.set_weights([alpha])
    np.testing.assert_allclose(np.asarray(layer(x)), ref.prelu(x, alpha), rtol=1e-12)
    check_grads(layer, [x])
    config = layer.get_config()
    assert config["shared_axes"] == (None if shared_axes is None else shared)
    y = layer_test(layers.PReLU, {"shared_axes": shared_axes, "alpha_initializer": "ones"},
                   input_data=x)
    np.testing.assert_allclose(np.asarray(y), x, rtol=1e-12)


def test_prelu_accepts_other_batch_sizes_and_checks_unshared_axes():
    layer = layers.PReLU(shared_axes=[1])
    layer(np.ones((2, 3, 4), "float32"))
    assert layer(np.ones((5, 7, 4), "float32")).shape == (5, 7, 4)
    with pytest.raises(ValueError, match="PReLU"):
        layer(np.ones((2, 3, 5), "float32"))


@given(alpha=st.sampled_from([0.2, 1.0, 2.5]), shape=nst.shapes(2, 3, 1, 5), data=st.data())
def test_elu_layer(alpha, shape, data):
    x = data.draw(nst.arrays(shape, kinks=(0.0,), scale=2.0))
    y = layer_test(layers.ELU, {"alpha": alpha}, input_data=x)
    np.testing.assert_allclose(np.asarray(y), reference.elu(x, alpha), rtol=1e-12, atol=1e-14)


@given(theta=st.sampled_from([0.0, 0.5, 1.0, 2.0]), shape=nst.shapes(2, 3, 1, 5), data=st.data())
def test_thresholded_relu_layer(theta, shape, data):
    x = data.draw(nst.arrays(shape, kinks=(theta,), scale=2.0))
    y = layer_test(layers.ThresholdedReLU, {"theta": theta}, input_data=x)
    np.testing.assert_allclose(np.asarray(y), ref.thresholded_relu(x, theta), rtol=1e-12)


def test_thresholded_relu_is_zero_at_theta_and_keeps_float32():
    x = np.array([[0.5, 1.0, 1.5]], "float32")
    y = layers.ThresholdedReLU(theta=1.0)(x)
    assert y.dtype == "float32"
    np.testing.assert_array_equal(np.asarray(y), [[0.0, 0.0, 1.5]])


@st.composite
def softmax_cases(draw):
    shape = draw(nst.shapes(2, 4, 1, 4))
    rank = len(shape)
    axes = draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=rank,
                         unique_by=lambda a: a % rank))
    axis = axes[0] if len(axes) == 1 and draw(st.booleans()) else axes
    return shape, axis


@given(case=softmax_cases(), data=st.data())
def test_softmax_layer_over_one_or_several_axes(case, data):
    shape, axis = case
    x = data.draw(nst.arrays(shape, scale=2.0))
    y = layer_test(layers.Softmax, {"axis": axis}, input_data=x)
    axes = axis if isinstance(axis, list) else [axis]
    np.testing.assert_allclose(np.asarray(y), ref.masked_softmax(x, axes), rtol=1e-10,
                               atol=1e-14)


@given(shape=nst.shapes(2, 3, 2, 5), data=st.data())
def test_softmax_mask_gives_masked_positions_a_large_negative_logit(shape, data):
    x = data.draw(nst.arrays(shape, scale=2.0))
    mask = data.draw(st.lists(st.booleans(), min_size=int(np.prod(shape)),
                              max_size=int(np.prod(shape)))).copy()
    mask = np.array(mask).reshape(shape)
    mask[..., 0] = True     # at least one kept logit per row
    layer = layers.Softmax(dtype="float64")
    y = np.asarray(layer(x, mask=mask))
    np.testing.assert_allclose(y, ref.masked_softmax(x, [-1], mask), rtol=1e-10, atol=1e-14)
    assert np.all(y[~mask] < 1e-300) and np.allclose(y.sum(-1), 1.0)
    check_grads(lambda t: layer(t, mask=mask), [x])


def test_activation_layers_in_a_model_keep_symbolic_shapes():
    inp = nk.Input((3, 4))
    out = inp
    for layer in (layers.ReLU(max_value=6.0), layers.LeakyReLU(), layers.PReLU(shared_axes=1),
                  layers.ELU(), layers.ThresholdedReLU(), layers.Softmax(axis=[1, 2])):
        out = layer(out)
        assert out.shape == (None, 3, 4)
    model = nk.Model(inp, out)
    y = model.predict(np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32"),
                      verbose=0)
    np.testing.assert_allclose(y.sum((1, 2)), 1.0, rtol=1e-5)


@pytest.mark.parametrize("make, match", [
    (lambda: layers.ReLU(max_value=-1.0), r"ReLU '\w+': max_value must be"),
    (lambda: layers.ReLU(negative_slope=-0.1), r"ReLU '\w+': negative_slope must be"),
    (lambda: layers.ReLU(threshold=None), r"ReLU '\w+': threshold must be"),
    (lambda: layers.LeakyReLU(negative_slope=-1), r"LeakyReLU '\w+': negative_slope must be"),
    (lambda: layers.LeakyReLU(negative_slope=None), r"LeakyReLU '\w+': negative_slope"),
    (lambda: layers.PReLU(shared_axes=[0]), r"PReLU '\w+': shared_axes must be"),
    (lambda: layers.ELU(alpha="big"), r"ELU '\w+': alpha must be a number"),
    (lambda: layers.Softmax(axis="last"), r"Softmax '\w+': axis must be"),
    (lambda: layers.ThresholdedReLU(theta=-1.0), r"ThresholdedReLU '\w+': theta must be"),
])
def test_bad_config_fails_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()
