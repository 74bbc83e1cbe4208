"""Pooling layers and ops: forward against plain loops, Keras's output-shape formula, float64
gradients over Hypothesis-drawn configs (max pooling on tie-free inputs), channels_first ==
channels_last transposed, the layer contract, and config errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads, layer_test
from nbkeras.testing import strategies as nst

import reference_pooling as ref

POOLING = {"max": (layers.MaxPooling1D, layers.MaxPooling2D, layers.MaxPooling3D),
           "average": (layers.AveragePooling1D, layers.AveragePooling2D, layers.AveragePooling3D)}
GLOBAL = {"max": (layers.GlobalMaxPooling1D, layers.GlobalMaxPooling2D, layers.GlobalMaxPooling3D),
          "average": (layers.GlobalAveragePooling1D, layers.GlobalAveragePooling2D,
                      layers.GlobalAveragePooling3D)}
MAX_SIDE = {1: 7, 2: 5, 3: 4}   # keeps every drawn input at most a few hundred cells
FORMATS = st.sampled_from(["channels_last", "channels_first"])


@st.composite
def pooling_cases(draw):
    """(config as a user writes it, channels_last input shape): rank 1-3, pool and strides
    1-3 per axis (strides None half the time), both paddings, batch 1-2, odd and even sides."""
    rank = draw(st.integers(1, 3))
    sizes = st.lists(st.integers(1, 3), min_size=rank, max_size=rank).map(tuple)
    pool_size = draw(sizes)
    strides = draw(st.none() | sizes)
    padding = draw(st.sampled_from(["valid", "same"]))
    low = pool_size if padding == "valid" else (1,) * rank
    spatial = tuple(draw(st.integers(k, max(k, MAX_SIDE[rank]))) for k in low)
    shape = (draw(st.integers(1, 2)), *spatial, draw(st.integers(1, 3)))
    config = {"pool_size": pool_size[0] if len(set(pool_size)) == 1 and draw(st.booleans())
              else pool_size, "strides": strides, "padding": padding}
    return config, pool_size, shape


def _formatted(x_last, data_format):
    return x_last if data_format == "channels_last" else ref.to_channels_first(x_last)


@given(case=pooling_cases(), family=st.sampled_from(["max", "average"]), data_format=FORMATS,
       data=st.data())
def test_pooling_layers_match_loops_shapes_and_finite_differences(case, family, data_format,
                                                                   data):
    config, pool_size, shape = case
    x_last = data.draw(nst.arrays(shape, no_ties=family == "max"))
    strides = config["strides"] or pool_size
    expected = ref.pool(x_last, pool_size, strides, config["padding"], family)
    cls = POOLING[family][len(pool_size) - 1]
    layer = cls(**config, data_format=data_format)
    x = _formatted(x_last, data_format)
    keras_shape = ref.pooling_output_shape((None, *x.shape[1:]), pool_size, strides,
                                           config["padding"], data_format)
    assert layer.compute_output_shape((None, *x.shape[1:])) == keras_shape
    layer_test(cls, {**config, "data_format": data_format}, input_data=x,
               expected_output=_formatted(expected, data_format), rtol=1e-12, atol=1e-12)


@given(case=pooling_cases(), family=st.sampled_from(["max", "average"]), data=st.data())
def test_channels_first_equals_channels_last_transposed(case, family, data):
    config, pool_size, shape = case
    x = data.draw(nst.arrays(shape, no_ties=family == "max"))
    pool = nk.ops.max_pool if family == "max" else nk.ops.average_pool
    last = np.asarray(pool(x, **config, data_format="channels_last"))
    first = np.asarray(pool(ref.to_channels_first(x), **config, data_format="channels_first"))
    np.testing.assert_array_equal(ref.to_channels_last(first), last)


@given(rank=st.integers(1, 3), family=st.sampled_from(["max", "average"]),
       keepdims=st.booleans(), data_format=FORMATS, data=st.data())
def test_global_pooling_layers(rank, family, keepdims, data_format, data):
    shape = data.draw(nst.shapes(rank + 2, rank + 2, 1, MAX_SIDE[rank] - 1))
    x_last = data.draw(nst.arrays(shape, no_ties=family == "max"))
    expected = ref.global_pool(x_last, family, keepdims)
    cls = GLOBAL[family][rank - 1]
    x = _formatted(x_last, data_format)
    y = layer_test(cls, {"data_format": data_format, "keepdims": keepdims}, input_data=x,
                   expected_output=_formatted(expected, data_format) if keepdims else expected,
                   rtol=1e-12, atol=1e-12)
    channels = shape[-1]
    rest = (1,) * rank if keepdims else ()
    assert np.asarray(y).shape == ((shape[0], *rest, channels) if data_format == "channels_last"
                                   else (shape[0], channels, *rest))


@given(keepdims=st.booleans(), data_format=FORMATS, data=st.data())
def test_global_average_pooling_1d_averages_the_unmasked_steps(keepdims, data_format, data):
    x = data.draw(nst.arrays((3, 5, 2)))
    mask = np.random.default_rng(data.draw(st.integers(0, 99))).random((3, 5)) < 0.6
    mask[:, 0] = True
    layer = layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims,
                                          dtype="float64")
    expected = (x * mask[..., None]).sum(1) / mask.sum(1)[:, None]
    expected = expected[:, None, :] if keepdims else expected
    y = layer(_formatted(x, data_format), mask=mask)
    np.testing.assert_allclose(np.asarray(y), _formatted(expected, data_format) if keepdims
                               else expected, rtol=1e-12)
    check_grads(layer, [_formatted(x, data_format)], call_kwargs={"mask": mask})


def test_same_average_pooling_divides_by_the_real_cells():
    """A constant input stays constant, also in the windows that overhang the border."""
    y = layers.AveragePooling2D(3, strides=2, padding="same")(np.ones((1, 4, 5, 2), "float32"))
    np.testing.assert_array_equal(np.asarray(y), np.ones((1, 2, 3, 2), "float32"))
    x = np.arange(4.0).reshape(1, 4, 1)      # windows [0, 1, 2], [2, 3] (+ one padded cell)
    y = np.asarray(nk.ops.average_pool(x, 3, 2, padding="same"))
    np.testing.assert_allclose(y[0, :, 0], [1.0, 2.5])
    y = np.asarray(nk.ops.max_pool(-x - 1.0, 3, 2, padding="same"))    # padding is not 0
    np.testing.assert_allclose(y[0, :, 0], [-1.0, -3.0])


def test_max_pool_gradient_of_a_tie_goes_to_the_first_maximum():
    """As TF's MaxPoolGrad: one cell per window (the first in scan order) gets dy."""
    x = nk.Tensor(np.zeros((1, 4, 4, 2)))
    with nk.GradientTape() as tape:
        tape.watch(x)
        y = nk.ops.max_pool(x, 2, 2)
    dx = np.asarray(tape.gradient(y, x, output_gradients=np.ones((1, 2, 2, 2))))
    expected = np.zeros((1, 4, 4, 2))
    expected[0, ::2, ::2] = 1.0
    np.testing.assert_array_equal(dx, expected)


@given(case=pooling_cases(), data=st.data())
def test_max_pool_is_nan_where_a_window_holds_nan(case, data, two_threads):
    """As Keras (JAX) and PyTorch, a NaN anywhere in a window makes its maximum NaN: windows
    inside the input (the kernel's line-by-line path) and clipped ones."""
    config, pool_size, shape = case
    strides = config["strides"] or pool_size
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal(shape)
    x[rng.random(shape) < 0.3] = np.nan
    y = np.asarray(nk.ops.max_pool(x, pool_size, strides, config["padding"]))
    np.testing.assert_array_equal(y, ref.max_pool_nan(x, pool_size, strides,
                                                      config["padding"]))


@pytest.mark.parametrize("family", ["max", "average"])
@pytest.mark.parametrize("shape, pool_size, strides, padding", [
    ((1, 64, 32, 40), (3, 3), (2, 2), "same"),     # batch 1: split over channel blocks
    ((4, 24, 24, 24), (2, 2), (2, 2), "valid"),    # whole images per thread
    ((2, 12, 10, 9, 32), (2, 3, 2), (1, 2, 2), "same"),
])
def test_multithreaded_kernels_match_loops(family, shape, pool_size, strides, padding):
    """Arrays past the single-thread threshold, forward and backward."""
    rng = np.random.default_rng(0)
    x = nst.distinct(shape, rng)
    pool = nk.ops.max_pool if family == "max" else nk.ops.average_pool
    tensor = nk.Tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(tensor)
        y = pool(tensor, pool_size, strides, padding)
    dy = rng.standard_normal(y.shape)
    dx = tape.gradient(y, tensor, output_gradients=dy)
    np.testing.assert_allclose(np.asarray(y), ref.pool(x, pool_size, strides, padding, family),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(dx), ref.pool_grad(x, dy, pool_size, strides, padding,
                                                             family), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool", [nk.ops.max_pool, nk.ops.average_pool])
def test_pooling_ops_strides_default_dtypes_and_symbolic_shapes(pool):
    x = np.random.default_rng(1).standard_normal((2, 7, 6, 3)).astype("float32")
    y = pool(x, (3, 2))
    assert y.dtype == "float32" and tuple(y.shape) == (2, 2, 3, 3)
    family = "max" if pool is nk.ops.max_pool else "average"
    np.testing.assert_allclose(np.asarray(y), ref.pool(x, (3, 2), (3, 2), "valid", family),
                               rtol=1e-5, atol=1e-6)
    symbolic = pool(nk.Input((None, 6, 3)), 2, 1, "same")
    assert tuple(symbolic.shape) == (None, None, 6, 3)
    assert tuple(pool(nk.Input((7, 6, 3)), 2, 1, "same").shape) == (None, 7, 6, 3)


def test_average_pool_of_integers_gives_floatx_and_max_pool_keeps_the_dtype():
    x = np.arange(16).reshape(1, 4, 4, 1)
    assert nk.ops.average_pool(x, 2).dtype == nk.config.floatx()
    np.testing.assert_array_equal(np.asarray(nk.ops.max_pool(x, 2))[0, :, :, 0], [[5, 7],
                                                                                [13, 15]])
    assert nk.ops.max_pool(x, 2).dtype == x.dtype


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((2, 9, 8, 5))
    xt = torch.from_numpy(x).permute(0, 3, 1, 2)
    for ours, theirs in ((nk.ops.max_pool, torch.nn.functional.max_pool2d),
                         (nk.ops.average_pool, torch.nn.functional.avg_pool2d)):
        expected = theirs(xt, (3, 2), (2, 2)).permute(0, 2, 3, 1).numpy()
        np.testing.assert_allclose(np.asarray(ours(x, (3, 2), 2)), expected, rtol=1e-12)


def test_pooling_in_a_model_trains():
    model = nk.Sequential([layers.Input((8, 8, 2)), layers.MaxPooling2D(),
                           layers.AveragePooling2D(padding="same"),
                           layers.GlobalAveragePooling2D(), layers.Dense(2)])
    assert model.output_shape == (None, 2)
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 8, 8, 2)), rng.random((8, 2))
    model.compile(optimizer=nk.optimizers.SGD(0.1), loss="mse")
    losses = model.fit(x, y, epochs=5, verbose=0).history["loss"]
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.mark.parametrize("make, match", [
    (lambda: layers.MaxPooling2D(pool_size=0), r"MaxPooling2D '\w+': pool_size must be positive"),
    (lambda: layers.MaxPooling2D(pool_size=(2, 2, 2)), r"MaxPooling2D '\w+': pool_size must be"),
    (lambda: layers.AveragePooling1D(pool_size=2.5), r"AveragePooling1D '\w+': pool_size"),
    (lambda: layers.AveragePooling1D(strides=0), r"AveragePooling1D '\w+': strides must be"),
    (lambda: layers.MaxPooling3D(strides=(1, 2)), r"MaxPooling3D '\w+': strides must be"),
    (lambda: layers.MaxPooling3D(padding="full"), r"MaxPooling3D '\w+': padding must be 'valid'"),
    (lambda: layers.AveragePooling2D(data_format="nhwc"), r"AveragePooling2D '\w+': data_format"),
    (lambda: layers.GlobalMaxPooling2D(data_format="x"), r"GlobalMaxPooling2D '\w+': data_format"),
    (lambda: layers.GlobalAveragePooling1D(keepdims="yes"),
     r"GlobalAveragePooling1D '\w+': keepdims"),
    (lambda: nk.ops.max_pool(np.ones((1, 4, 4, 1)), 2, padding="full"), "max_pool: padding"),
    (lambda: nk.ops.average_pool(np.ones((1, 4, 4, 1)), (2, 2, 2)), "average_pool: pool_size"),
    (lambda: nk.ops.max_pool(np.ones((1, 4, 4, 1)), 2, data_format="nchw"),
     "max_pool: data_format"),
    (lambda: nk.ops.max_pool(np.ones((4, 4)), 2), "max_pool: inputs must have rank 3, 4 or 5"),
])
def test_bad_config_fails_with_a_named_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_shapes_that_cannot_flow_name_the_layer():
    with pytest.raises(ValueError, match=r"MaxPooling2D '\w+'.*does not fit"):
        layers.MaxPooling2D(4, strides=1)(nk.Input((2, 5, 1)))
    with pytest.raises(ValueError, match=r"GlobalMaxPooling1D '\w+'.*rank 3"):
        layers.GlobalMaxPooling1D()(nk.Input((4, 4, 1)))
    with pytest.raises(ValueError, match=r"AveragePooling3D '\w+'.*rank 5"):
        layers.AveragePooling3D()(np.ones((1, 4, 4, 1)))


# Fixed corners, value-checked on every run: "same" padding with even windows and strides on
# odd sides (uneven padding; averages divide by the real cells), strides that differ from the
# pool size, size-1 windows with strides > 1, windows that overlap.
POOLING_CORNERS = [
    ("average", dict(pool_size=2, strides=2, padding="same"), (2, 7, 3)),
    ("max", dict(pool_size=4, strides=3, padding="same"), (1, 10, 2)),
    ("average", dict(pool_size=(2, 4), strides=(3, 2), padding="same"), (1, 7, 5, 2)),
    ("max", dict(pool_size=3, strides=1, padding="same"), (1, 4, 5, 1)),
    ("max", dict(pool_size=1, strides=2), (1, 5, 5, 2)),
    ("average", dict(pool_size=(2, 1, 3), strides=(1, 2, 2), padding="same"), (1, 3, 4, 5, 1)),
    ("max", dict(pool_size=2, strides=None, padding="valid"), (2, 5, 5, 5, 1)),
]


@pytest.mark.parametrize("family, config, shape", POOLING_CORNERS,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(POOLING_CORNERS)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_named_corners_match_the_reference(family, config, shape, data_format):
    x_last = nst.distinct(shape, np.random.default_rng(len(shape)))
    pool_size = config["pool_size"]
    rank = len(shape) - 2
    pool_size = tuple(pool_size) if isinstance(pool_size, tuple) else (pool_size,) * rank
    strides = config["strides"] or pool_size
    strides = tuple(strides) if isinstance(strides, tuple) else (strides,) * rank
    expected = ref.pool(x_last, pool_size, strides, config.get("padding", "valid"), family)
    layer_test(POOLING[family][rank - 1], {**config, "data_format": data_format},
               input_data=_formatted(x_last, data_format),
               expected_output=_formatted(expected, data_format), rtol=1e-12, atol=1e-12)
