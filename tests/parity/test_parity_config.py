"""Every layer nbkeras exports has a Keras 3 counterpart with the same config keys (but the
commented KNOWN_CONFIG_GAPS) and the same default values, and the same aliases. The
forward/gradient parity of each layer is in the other test_parity_* modules; this module
also fails when a new layer is exported without an entry here (add its parity test too)."""
import pytest

import nbkeras.layers as L
from parity_harness import compare_configs, keras, keras_layer, nbkeras_layer

# Not compared: Input is a function making a KerasTensor, not a layer; InputLayer holds no
# computation (shape/batch bookkeeping only, exercised by every model test); Lambda wraps an
# arbitrary Python function whose body differs by construction (and Keras serializes it as
# bytecode); Layer is the base class.
SKIPPED = {"Input", "InputLayer", "Lambda", "Layer"}

# The smallest constructor arguments of each exported layer class (one entry per class,
# under its canonical Keras name; aliases are checked by test_aliases_match_keras).
REQUIRED = {
    "Activation": {"activation": "relu"}, "ActivityRegularization": {}, "Add": {},
    "AlphaDropout": {"rate": 0.1}, "Average": {},
    "AveragePooling1D": {"pool_size": 2}, "AveragePooling2D": {"pool_size": 2},
    "AveragePooling3D": {"pool_size": 2}, "BatchNormalization": {}, "Concatenate": {},
    "Conv1D": {"filters": 2, "kernel_size": 2}, "Conv2D": {"filters": 2, "kernel_size": 2},
    "Conv3D": {"filters": 2, "kernel_size": 2},
    "Conv1DTranspose": {"filters": 2, "kernel_size": 2},
    "Conv2DTranspose": {"filters": 2, "kernel_size": 2},
    "Conv3DTranspose": {"filters": 2, "kernel_size": 2},
    "Cropping1D": {}, "Cropping2D": {}, "Cropping3D": {}, "Dense": {"units": 3},
    "DepthwiseConv1D": {"kernel_size": 2}, "DepthwiseConv2D": {"kernel_size": 2},
    "Dot": {"axes": 1}, "Dropout": {"rate": 0.1}, "ELU": {}, "Flatten": {},
    "GaussianDropout": {"rate": 0.1}, "GaussianNoise": {"stddev": 0.1},
    "GlobalAveragePooling1D": {}, "GlobalAveragePooling2D": {}, "GlobalAveragePooling3D": {},
    "GlobalMaxPooling1D": {}, "GlobalMaxPooling2D": {}, "GlobalMaxPooling3D": {},
    "GroupNormalization": {}, "Identity": {}, "LayerNormalization": {}, "LeakyReLU": {},
    "MaxPooling1D": {"pool_size": 2}, "MaxPooling2D": {"pool_size": 2},
    "MaxPooling3D": {"pool_size": 2}, "Maximum": {}, "Minimum": {}, "Multiply": {},
    "PReLU": {}, "Permute": {"dims": (2, 1)}, "ReLU": {}, "RepeatVector": {"n": 2},
    "Reshape": {"target_shape": (4,)},
    "SeparableConv1D": {"filters": 2, "kernel_size": 2},
    "SeparableConv2D": {"filters": 2, "kernel_size": 2}, "Softmax": {},
    "SpatialDropout1D": {"rate": 0.1}, "SpatialDropout2D": {"rate": 0.1},
    "SpatialDropout3D": {"rate": 0.1}, "Subtract": {},
    "UpSampling1D": {}, "UpSampling2D": {}, "UpSampling3D": {},
    "ZeroPadding1D": {}, "ZeroPadding2D": {}, "ZeroPadding3D": {},
    # Keras 3 dropped ThresholdedReLU (Keras 2's config was {"theta"}); its numbers are
    # compared with Keras's ReLU(threshold=theta) in test_parity_core.py.
    "ThresholdedReLU": None,
    # preprocessing layers (their numbers: tests/layers/test_preprocessing_layers*.py)
    "CenterCrop": {"height": 2, "width": 3}, "Normalization": {},
    "RandomCrop": {"height": 2, "width": 3, "seed": 1}, "RandomFlip": {"seed": 1},
    "Rescaling": {"scale": 0.5}, "Resizing": {"height": 2, "width": 3},
    "RandomBrightness": {"factor": 0.2, "seed": 1}, "RandomContrast": {"factor": 0.2, "seed": 1},
    "RandomRotation": {"factor": 0.2, "seed": 1}, "RandomShear": {"x_factor": 0.2, "seed": 1},
    "RandomTranslation": {"height_factor": 0.2, "width_factor": 0.1, "seed": 1},
    "RandomZoom": {"height_factor": 0.2, "seed": 1},
    "AutoContrast": {}, "CutMix": {"seed": 1}, "MixUp": {"seed": 1},
    "RandomErasing": {"seed": 1}, "RandomGaussianBlur": {"seed": 1},
    "RandomGrayscale": {"seed": 1}, "Solarization": {"addition_factor": 0.2, "seed": 1},
}

# Layers added in the sequences-and-attention work: each one's own test file compares its
# config (and numbers) with Keras's from Keras's weights (tests/layers/test_attention_*.py,
# test_recurrent.py, test_wrappers.py, test_conv_lstm.py, test_masking.py, ...); they join
# REQUIRED when this table is next extended. LocallyConnected is Keras 2 only.
COMPARED_ELSEWHERE = {
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D", "AdditiveAttention",
    "Attention", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "EinsumDense",
    "Embedding", "GRU", "GRUCell", "GroupQueryAttention", "GroupedQueryAttention", "LSTM",
    "LSTMCell", "LocallyConnected1D", "LocallyConnected2D", "Masking", "MultiHeadAttention",
    "RMSNormalization", "RNN", "ReversibleEmbedding", "SimpleRNN", "SimpleRNNCell",
    "SpectralNormalization", "StackedRNNCells", "TimeDistributed", "UnitNormalization",
    "Wrapper"}

EXPORTED = sorted(n for n in dir(L) if n[0].isupper() and n not in SKIPPED | COMPARED_ELSEWHERE
                  and isinstance(getattr(L, n), type) and issubclass(getattr(L, n), L.Layer))


def _canonical(name: str) -> str:
    """The REQUIRED key of an exported name (an alias maps to its class's entry)."""
    cls = getattr(L, name)
    names = [n for n in REQUIRED if getattr(L, n, None) is cls]
    assert len(names) == 1, f"{name}: no single entry in REQUIRED ({names})"
    return names[0]


def test_every_exported_layer_is_listed():
    assert {_canonical(n) for n in EXPORTED} == set(REQUIRED)


@pytest.mark.parametrize("name", EXPORTED)
def test_aliases_match_keras(name):
    """An alias of ours (AvgPool2D = AveragePooling2D) is the same alias in Keras."""
    if REQUIRED[_canonical(name)] is None:
        assert not hasattr(keras.layers, name)
        return
    assert getattr(keras.layers, name) is getattr(keras.layers, _canonical(name))


@pytest.mark.parametrize("name", [n for n, args in REQUIRED.items() if args is not None])
def test_config_matches_keras(name):
    compare_configs(name, nbkeras_layer(name, REQUIRED[name]),
                    keras_layer(name, REQUIRED[name]))
