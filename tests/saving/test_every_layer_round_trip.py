"""Every exported layer class, and drawn configs of the convolution family, survive a whole
`.keras` save and load: the same config, the same weights and the same predictions."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from layers.test_build_by_hand import CASES
from nbkeras import layers
from parity.parity_cases import conv_cases


def _functional(layer, shapes):
    """A model whose inputs have `shapes` (batch axis first) and whose output is `layer`'s."""
    if isinstance(shapes, list):
        inputs = [nk.Input(s[1:], dtype=layer.dtype) for s in shapes]
        return nk.Model(inputs, layer(inputs))
    inputs = nk.Input(shapes[1:], dtype=layer.dtype)
    return nk.Model(inputs, layer(inputs))


def _assert_round_trip(model, x, path):
    """Saves and loads `model`, then compares config, weights and predictions."""
    model.save(path)
    loaded = nk.models.load_model(path)
    assert loaded.get_config() == model.get_config()
    saved_weights, loaded_weights = model.get_weights(), loaded.get_weights()
    assert len(loaded_weights) == len(saved_weights)
    for ours, theirs in zip(saved_weights, loaded_weights):
        np.testing.assert_array_equal(theirs, ours)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("class_name", sorted(CASES))
def test_every_layer_class_round_trips_through_a_keras_file(class_name, tmp_path):
    rng = np.random.default_rng(sum(map(ord, class_name)))
    kwargs, shapes = CASES[class_name]
    model = _functional(getattr(layers, class_name)(**kwargs, dtype="float64"), shapes)
    model.set_weights([rng.standard_normal(w.shape) + 1.5 for w in model.get_weights()])
    x = ([rng.standard_normal(s) for s in shapes] if isinstance(shapes, list)
         else rng.standard_normal(shapes))
    _assert_round_trip(model, x, tmp_path / f"{class_name}.keras")


CONV_CLASSES = {"conv": "Conv{}D", "transpose": "Conv{}DTranspose",
                "depthwise": "DepthwiseConv{}D", "separable": "SeparableConv{}D"}


@settings(max_examples=20)
@given(family=st.sampled_from(sorted(CONV_CLASSES)), rank=st.integers(1, 2), data=st.data())
def test_drawn_convolution_configs_round_trip(tmp_path_factory, family, rank, data):
    config, x = data.draw(conv_cases(family, rank))
    layer = getattr(layers, CONV_CLASSES[family].format(rank))(**config, dtype="float64")
    model = _functional(layer, x.shape)
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    model.set_weights([rng.standard_normal(w.shape) for w in model.get_weights()])
    _assert_round_trip(model, x, tmp_path_factory.mktemp("conv") / "model.keras")
