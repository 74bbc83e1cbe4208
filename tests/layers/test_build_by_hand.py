"""A user's own `layer.build(shape)` marks the layer built, for every layer class: the next
call must not build again, so weights set after a hand-made build are the ones used."""
import inspect

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers

# class name -> (constructor arguments, input shape or list of input shapes)
CASES = {
    "Activation": (dict(activation="tanh"), (2, 3)),
    "ActivityRegularization": (dict(l1=0.1), (2, 3)),
    "Add": ({}, [(2, 3), (2, 3)]),
    "AutoContrast": ({}, (2, 4, 5, 3)),
    "AlphaDropout": (dict(rate=0.2), (2, 3)),
    "Average": ({}, [(2, 3), (2, 3)]),
    "AveragePooling1D": (dict(pool_size=2), (2, 6, 3)),
    "AveragePooling2D": (dict(pool_size=2), (2, 6, 6, 3)),
    "AveragePooling3D": (dict(pool_size=2), (2, 4, 4, 4, 3)),
    "BatchNormalization": ({}, (4, 3)),
    "Bidirectional": (dict(layer=layers.LSTM(3, return_sequences=True, dtype="float64")),
                      (2, 4, 3)),
    "CenterCrop": (dict(height=2, width=3), (2, 4, 4, 3)),
    "Concatenate": ({}, [(2, 3), (2, 4)]),
    "Conv1D": (dict(filters=4, kernel_size=3), (2, 7, 3)),
    "Conv1DTranspose": (dict(filters=4, kernel_size=3, strides=2), (2, 5, 3)),
    "Conv2D": (dict(filters=4, kernel_size=3), (2, 6, 6, 3)),
    "Conv2DTranspose": (dict(filters=4, kernel_size=3, strides=2), (2, 4, 4, 3)),
    "Conv3D": (dict(filters=2, kernel_size=2), (2, 4, 4, 4, 3)),
    "Conv3DTranspose": (dict(filters=2, kernel_size=2, strides=2), (2, 3, 3, 3, 3)),
    "ConvLSTM1D": (dict(filters=2, kernel_size=2, return_sequences=True), (2, 3, 5, 3)),
    "ConvLSTM2D": (dict(filters=2, kernel_size=2, padding="same"), (2, 3, 4, 4, 2)),
    "ConvLSTM3D": (dict(filters=2, kernel_size=2), (2, 2, 3, 3, 3, 2)),
    "Cropping1D": (dict(cropping=1), (2, 6, 3)),
    "Cropping2D": (dict(cropping=1), (2, 6, 6, 3)),
    "Cropping3D": (dict(cropping=1), (2, 4, 4, 4, 3)),
    "AdaptiveAveragePooling1D": (dict(output_size=2), (2, 5, 3)),
    "AdaptiveAveragePooling2D": (dict(output_size=2), (2, 5, 4, 3)),
    "AdaptiveAveragePooling3D": (dict(output_size=2), (2, 4, 4, 3, 2)),
    "AdaptiveMaxPooling1D": (dict(output_size=2), (2, 5, 3)),
    "AdaptiveMaxPooling2D": (dict(output_size=2), (2, 5, 4, 3)),
    "AdaptiveMaxPooling3D": (dict(output_size=2), (2, 4, 4, 3, 2)),
    "Dense": (dict(units=4), (2, 3)),
    "Embedding": (dict(input_dim=5, output_dim=3), (2, 4)),   # float ids in (-3, 3): cast
    "Masking": (dict(), (2, 3, 4)),
    "EinsumDense": (dict(equation="abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de"),
                    (2, 4, 5)),
    "LocallyConnected1D": (dict(filters=3, kernel_size=2), (2, 5, 3)),
    "LocallyConnected2D": (dict(filters=3, kernel_size=2), (2, 4, 5, 3)),
    "RMSNormalization": (dict(), (2, 3, 4)),
    "UnitNormalization": (dict(), (2, 3, 4)),
    "DepthwiseConv1D": (dict(kernel_size=3, depth_multiplier=2), (2, 7, 3)),
    "DepthwiseConv2D": (dict(kernel_size=3, depth_multiplier=2), (2, 6, 6, 3)),
    "Dot": (dict(axes=1), [(2, 3), (2, 3)]),
    "Dropout": (dict(rate=0.5), (2, 3)),
    "ELU": ({}, (2, 3)),
    "Flatten": ({}, (2, 3, 4)),
    "GaussianDropout": (dict(rate=0.2), (2, 3)),
    "GaussianNoise": (dict(stddev=0.1), (2, 3)),
    "GlobalAveragePooling1D": ({}, (2, 5, 3)),
    "GlobalAveragePooling2D": ({}, (2, 5, 5, 3)),
    "GlobalAveragePooling3D": ({}, (2, 3, 3, 3, 3)),
    "GlobalMaxPooling1D": ({}, (2, 5, 3)),
    "GlobalMaxPooling2D": ({}, (2, 5, 5, 3)),
    "GlobalMaxPooling3D": ({}, (2, 3, 3, 3, 3)),
    "GroupNormalization": (dict(groups=2), (2, 5, 4)),
    "GRU": (dict(units=3, return_sequences=True), (2, 4, 3)),
    "Identity": ({}, (2, 3)),
    "LayerNormalization": ({}, (2, 3)),
    "LeakyReLU": ({}, (2, 3)),
    "LSTM": (dict(units=3, return_state=True), (2, 4, 3)),
    "MaxPooling1D": (dict(pool_size=2), (2, 6, 3)),
    "MaxPooling2D": (dict(pool_size=2), (2, 6, 6, 3)),
    "MaxPooling3D": (dict(pool_size=2), (2, 4, 4, 4, 3)),
    "Maximum": ({}, [(2, 3), (2, 3)]),
    "Minimum": ({}, [(2, 3), (2, 3)]),
    "Multiply": ({}, [(2, 3), (2, 3)]),
    "PReLU": ({}, (2, 3)),
    "Permute": (dict(dims=(2, 1)), (2, 3, 4)),
    "ReLU": ({}, (2, 3)),
    "RNN": (dict(cell=layers.GRUCell(3, reset_after=False, dtype="float64")), (2, 4, 3)),
    "RepeatVector": (dict(n=3), (2, 4)),
    "Rescaling": (dict(scale=0.5, offset=1.0), (2, 3)),
    "Resizing": (dict(height=3, width=5), (2, 4, 4, 3)),
    "ReversibleEmbedding": (dict(input_dim=5, output_dim=3, tie_weights=False), (2, 4)),
    "Reshape": (dict(target_shape=(4, 3)), (2, 12)),
    "SeparableConv1D": (dict(filters=4, kernel_size=3), (2, 7, 3)),
    "SeparableConv2D": (dict(filters=4, kernel_size=3), (2, 6, 6, 3)),
    "SimpleRNN": (dict(units=3, go_backwards=True), (2, 4, 3)),
    "Softmax": ({}, (2, 3)),
    "SpatialDropout1D": (dict(rate=0.5), (2, 5, 3)),
    "SpatialDropout2D": (dict(rate=0.5), (2, 4, 4, 3)),
    "SpatialDropout3D": (dict(rate=0.5), (2, 3, 3, 3, 3)),
    "Subtract": ({}, [(2, 3), (2, 3)]),
    "ThresholdedReLU": ({}, (2, 3)),
    # one Dense instance for both of the test's wrappers (test_wrappers.py builds fresh ones)
    "TimeDistributed": (dict(layer=layers.Dense(3, dtype="float64")), (2, 4, 3)),
    "UpSampling1D": ({}, (2, 4, 3)),
    "UpSampling2D": ({}, (2, 4, 4, 3)),
    "UpSampling3D": ({}, (2, 3, 3, 3, 3)),
    "ZeroPadding1D": ({}, (2, 4, 3)),
    "ZeroPadding2D": ({}, (2, 4, 4, 3)),
    "ZeroPadding3D": ({}, (2, 3, 3, 3, 3)),
}
NOT_BUILT_FROM_A_SHAPE = {"Layer", "InputLayer", "Lambda",    # no weights; tested elsewhere
                          "SpectralNormalization",   # wraps a layer: its own test builds it
                          "Wrapper",   # abstract (no call): tests/layers/test_wrappers.py
                          # recurrent cells take states: tests/layers/test_recurrent.py
                          "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells",
                          # attention takes query and value: tests/layers/test_attention_layers.py
                          "MultiHeadAttention", "GroupedQueryAttention", "Attention",
                          "AdditiveAttention",
                          # random image layers draw anew at each call (no weights):
                          # tests/layers/test_preprocessing_layers*.py
                          "RandomCrop", "RandomFlip", "RandomRotation", "RandomZoom",
                          "RandomTranslation", "RandomShear", "RandomContrast",
                          "RandomBrightness", "RandomGrayscale", "RandomErasing",
                          "RandomGaussianBlur", "Solarization", "MixUp", "CutMix",
                          # an integer count weight: test_preprocessing_layers.py builds it
                          "Normalization"}


def _exported_layer_classes() -> set[str]:
    """Each class exported by nbkeras.layers once (aliases such as Conv2D/Convolution2D
    count as one)."""
    classes = {}
    for name in dir(layers):
        value = getattr(layers, name)
        if inspect.isclass(value) and issubclass(value, layers.Layer):
            classes.setdefault(value, value.__name__)
    return set(classes.values()) - NOT_BUILT_FROM_A_SHAPE


def test_every_layer_class_has_a_case():
    assert _exported_layer_classes() <= set(CASES), sorted(_exported_layer_classes() - set(CASES))


def _inputs(shapes, rng):
    if isinstance(shapes, list):
        return [rng.standard_normal(s) for s in shapes]
    return rng.standard_normal(shapes)


@pytest.mark.parametrize("class_name", sorted(CASES))
def test_build_by_hand_then_set_weights_survives_the_call(class_name):
    rng = np.random.default_rng(0)
    kwargs, shapes = CASES[class_name]
    layer = getattr(layers, class_name)(**kwargs, dtype="float64")
    layer.build(shapes)
    assert layer.built, f"{class_name}.build did not mark the layer built"
    chosen = [rng.standard_normal(w.shape) + 1.5 for w in layer.get_weights()]  # > 0: variances
    layer.set_weights(chosen)
    x = _inputs(shapes, rng)
    y = np.asarray(layer(x))
    after = layer.get_weights()
    assert len(after) == len(chosen), f"{class_name} built again on its first call"
    for a, b in zip(after, chosen):
        np.testing.assert_array_equal(a, b)
    twin = getattr(layers, class_name)(**kwargs, dtype="float64")   # built by its call
    twin(x)
    twin.set_weights(chosen)
    np.testing.assert_allclose(np.asarray(twin(x)), y, rtol=1e-12, atol=1e-12)


class Scale(layers.Layer):
    """A Keras-style user layer: plain __init__, build and call, no decorator."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight((input_shape[-1], self.units), "random_normal", name="w")

    def call(self, x):
        return nk.ops.matmul(x, self.w)


def test_a_user_subclass_built_by_hand_keeps_its_weights():
    layer = Scale(2, dtype="float64")
    layer.build((None, 3))
    assert layer.built
    w = np.arange(6.0).reshape(3, 2)
    layer.set_weights([w])
    x = np.ones((4, 3))
    np.testing.assert_allclose(np.asarray(layer(x)), x @ w)
    assert len(layer.get_weights()) == 1


def test_a_build_that_raises_leaves_the_layer_unbuilt():
    layer = layers.Dense(3)
    with pytest.raises(Exception):
        layer.build(None)
    assert not layer.built


def test_weights_copied_from_another_model_into_a_built_sequential():
    source = nk.Sequential([nk.Input((4,)), layers.Dense(3), layers.Dense(2)])
    target = nk.Sequential([layers.Dense(3), layers.Dense(2)])
    target.build((None, 4))
    target.set_weights(source.get_weights())
    x = np.random.default_rng(1).standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(target.predict(x, verbose=0), source.predict(x, verbose=0),
                               rtol=1e-6)
    assert len(target.get_weights()) == 4
