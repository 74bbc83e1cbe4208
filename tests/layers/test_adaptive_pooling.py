"""AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D: forward against plain
float64 loops over the bins, float64 finite differences over Hypothesis-drawn configs (max
pooling on tie-free inputs), channels_first == channels_last transposed, the layer contract,
Keras's outputs and configs where Keras is importable, and named config errors."""
import itertools
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.testing import check_grads, layer_test
from nbkeras.testing import strategies as nst

ADAPTIVE = {"average": (layers.AdaptiveAveragePooling1D, layers.AdaptiveAveragePooling2D,
                        layers.AdaptiveAveragePooling3D),
            "max": (layers.AdaptiveMaxPooling1D, layers.AdaptiveMaxPooling2D,
                    layers.AdaptiveMaxPooling3D)}
MAX_SIDE = {1: 9, 2: 6, 3: 4}


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")     # before anything imports keras
    return pytest.importorskip("keras")


def adaptive_reference(x_last, output_size, family):
    """Loops over every output cell: cell j of an axis of n cells reduces input cells
    floor(j n / out) .. ceil((j + 1) n / out) - 1 (channels_last input)."""
    spatial = x_last.shape[1:-1]
    out = np.zeros((x_last.shape[0], *output_size, x_last.shape[-1]))
    reduce = np.max if family == "max" else np.mean
    for cell in itertools.product(*(range(o) for o in output_size)):
        window = tuple(slice(j * n // o, -(-(j + 1) * n // o))
                       for j, n, o in zip(cell, spatial, output_size))
        block = x_last[(slice(None), *window, slice(None))]
        out[(slice(None), *cell, slice(None))] = reduce(
            block.reshape(block.shape[0], -1, block.shape[-1]), axis=1)
    return out


def _formatted(x_last, data_format):
    return x_last if data_format == "channels_last" else np.moveaxis(x_last, -1, 1)


@st.composite
def adaptive_cases(draw):
    """(config as a user writes it, output sizes, channels_last input shape): rank 1-3,
    outputs smaller than, equal to and larger than the input, sizes that do not divide."""
    rank = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, MAX_SIDE[rank])) for _ in range(rank))
    output_size = tuple(draw(st.integers(1, n + 2)) for n in spatial)
    shape = (draw(st.integers(1, 2)), *spatial, draw(st.integers(1, 3)))
    if len(set(output_size)) == 1 and draw(st.booleans()):
        written = output_size[0]
    else:
        written = draw(st.sampled_from([output_size, list(output_size)]))
    return written, output_size, shape


@given(case=adaptive_cases(), family=st.sampled_from(["average", "max"]),
       data_format=st.sampled_from(["channels_last", "channels_first"]), data=st.data())
def test_adaptive_pooling_matches_loops_shapes_contract_and_gradients(case, family,
                                                                       data_format, data):
    written, output_size, shape = case
    x_last = data.draw(nst.arrays(shape, no_ties=family == "max"))
    cls = ADAPTIVE[family][len(output_size) - 1]
    x = _formatted(x_last, data_format)
    layer = cls(written, data_format=data_format)
    assert layer.output_size == output_size
    expected_shape = ((None, *output_size, shape[-1]) if data_format == "channels_last"
                      else (None, shape[-1], *output_size))
    assert layer.compute_output_shape((None, *x.shape[1:])) == expected_shape
    layer_test(cls, {"output_size": written, "data_format": data_format}, input_data=x,
               expected_output=_formatted(adaptive_reference(x_last, output_size, family),
                                          data_format), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("family", ["average", "max"])
def test_symbolic_inputs_with_unknown_spatial_sizes(family):
    layer = ADAPTIVE[family][1]((3, 2))
    out = layer(nk.Input((None, None, 5)))
    assert out.shape == (None, 3, 2, 5)
    model = nk.Model(layer.input, out)
    for side in (3, 7, 11):
        x = np.random.default_rng(side).standard_normal((2, side, side + 1, 5))
        assert model.predict(x.astype("float32"), verbose=0).shape == (2, 3, 2, 5)
    first = ADAPTIVE[family][2](2, data_format="channels_first")
    assert first(nk.Input((4, None, 5, 6))).shape == (None, 4, 2, 2, 2)


def test_defaults_and_data_format_from_config():
    layer = layers.AdaptiveAveragePooling2D(4)
    assert layer.output_size == (4, 4) and layer.data_format == "channels_last"
    assert layer.weights == []
    nk.config.set_image_data_format("channels_first")
    try:
        assert layers.AdaptiveMaxPooling1D(2).data_format == "channels_first"
    finally:
        nk.config.set_image_data_format("channels_last")


@pytest.mark.parametrize("family", ["average", "max"])
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_matches_keras(family, rank, data_format):
    keras = _keras()
    name = f"Adaptive{'Average' if family == 'average' else 'Max'}Pooling{rank}D"
    spatial = (7, 5, 6)[:rank]
    output_size = (3, 4, 2)[:rank]
    x_last = np.random.default_rng(rank).standard_normal((2, *spatial, 3)).astype("float32")
    x = _formatted(x_last, data_format)
    theirs = getattr(keras.layers, name)(output_size, data_format=data_format)
    ours = getattr(layers, name)(output_size, data_format=data_format)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6, atol=1e-6)
    config = {k: v for k, v in theirs.get_config().items() if k in ("output_size", "data_format")}
    assert config == {k: ours.get_config()[k] for k in config}
    assert ours.compute_output_shape((None, *x.shape[1:])) == \
        tuple(theirs.compute_output_shape((None, *x.shape[1:])))


@pytest.mark.parametrize("family", ["average", "max"])
def test_on_each_device(device, family):
    x_last = nst.distinct((2, 5, 7, 3), np.random.default_rng(0))
    layer = ADAPTIVE[family][1]((2, 3), dtype="float64")
    np.testing.assert_allclose(np.asarray(layer(x_last)),
                               adaptive_reference(x_last, (2, 3), family), rtol=1e-12)
    check_grads(layer, [x_last])


@pytest.mark.parametrize("class_name", [f"Adaptive{f}Pooling{r}D" for f in ("Average", "Max")
                                        for r in (1, 2, 3)])
def test_build_by_hand_then_call(class_name):
    layer = getattr(layers, class_name)(2, dtype="float64")
    shape = (2, *(4,) * int(class_name[-2]), 3)
    layer.build(shape)
    assert layer.built and layer.get_weights() == []
    assert np.asarray(layer(np.ones(shape))).shape == layer.compute_output_shape(shape)


@pytest.mark.parametrize("make, match", [
    (lambda: layers.AdaptiveAveragePooling2D(-1), r"AdaptiveAveragePooling2D '\w+': output_size"),
    (lambda: layers.AdaptiveMaxPooling1D(0), r"AdaptiveMaxPooling1D '\w+': output_size must be"),
    (lambda: layers.AdaptiveMaxPooling2D((2, 3, 4)), r"AdaptiveMaxPooling2D '\w+': output_size"),
    (lambda: layers.AdaptiveAveragePooling3D((2, 2, 2.5)),
     r"AdaptiveAveragePooling3D '\w+': output_size"),
    (lambda: layers.AdaptiveAveragePooling1D("2"), r"AdaptiveAveragePooling1D '\w+': output_size"),
    (lambda: layers.AdaptiveMaxPooling2D(2, data_format="nhwc"),
     r"AdaptiveMaxPooling2D '\w+': data_format must be"),
    (lambda: layers.AdaptiveMaxPooling2D(2)(np.ones((2, 4, 3))), r"AdaptiveMaxPooling2D '\w+'"),
    (lambda: layers.AdaptiveAveragePooling1D(2)(nk.Input((4, 4, 3))),
     r"AdaptiveAveragePooling1D '\w+'"),
])
def test_bad_config_fails_with_a_named_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()
