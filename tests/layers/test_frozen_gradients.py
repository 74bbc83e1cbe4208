"""Frozen weights and unwatched inputs: every combination of which arguments need a
gradient, for each fused op, checked against finite differences. `check_grads(...,
wrt_inputs=...)` leaves the other inputs unwatched, as `fit` leaves the data, and a weight
frozen with `variable.trainable = False` drops out of `trainable_weights` (as in Keras)."""
import itertools

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers, ops
from nbkeras.testing import check_grads

FUSED = {   # layer class, its config, input shape: layers whose ops skip unneeded cotangents
    "conv2d_relu": (layers.Conv2D, dict(filters=3, kernel_size=3, padding="same",
                                        activation="relu"), (2, 5, 5, 2)),
    "conv1d_grouped_strided": (layers.Conv1D, dict(filters=4, kernel_size=3, strides=2,
                                                   groups=2), (2, 9, 4)),
    "conv3d_one_channel": (layers.Conv3D, dict(filters=2, kernel_size=2, activation="relu"),
                           (2, 3, 3, 3, 1)),
    "depthwise_conv2d": (layers.DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=2),
                         (2, 5, 5, 2)),
    "separable_conv1d": (layers.SeparableConv1D, dict(filters=3, kernel_size=3,
                                                      activation="tanh"), (2, 7, 2)),
    "conv2d_transpose": (layers.Conv2DTranspose, dict(filters=2, kernel_size=3, strides=2),
                         (2, 3, 3, 2)),
    "dense_sigmoid": (layers.Dense, dict(units=3, activation="sigmoid"), (4, 5)),
    "batch_normalization": (layers.BatchNormalization, {}, (6, 3)),
    "batch_normalization_training": (layers.BatchNormalization, {}, (6, 2, 3)),
    "layer_normalization": (layers.LayerNormalization, {}, (4, 5)),
    "group_normalization": (layers.GroupNormalization, dict(groups=2), (3, 4, 4)),
    "prelu": (layers.PReLU, {}, (4, 5)),
}


def _needed_combinations(n_weights: int):
    """(input watched, each weight trainable) for every combination needing some gradient."""
    for watched, *trainable in itertools.product((True, False), repeat=n_weights + 1):
        if watched or any(trainable):
            yield watched, trainable


@pytest.mark.parametrize("name", sorted(FUSED))
def test_every_needed_gradient_combination_matches_finite_differences(name):
    cls, config, shape = FUSED[name]
    x = np.random.default_rng(3).standard_normal(shape)
    probe = cls(**config, dtype="float64")
    probe.build(shape)
    n_weights = len(probe.trainable_weights)
    for watched, trainable in _needed_combinations(n_weights):
        layer = cls(**config, dtype="float64")
        layer.build(shape)
        rng = np.random.default_rng(4)
        layer.set_weights([rng.uniform(0.5, 1.5, w.shape) for w in layer.get_weights()])
        for variable, keep in zip(list(layer.trainable_weights), trainable):
            variable.trainable = keep
        assert len(layer.trainable_weights) == sum(trainable)
        check_grads(layer, [x], wrt_inputs=[0] if watched else [],
                    call_kwargs=dict(training=name.endswith("_training")))


def test_frozen_kernel_with_trainable_bias_trains():
    """The first conv frozen by hand, its bias trainable: fit runs and moves only the bias
    (it divided by zero in the fused backward kernel)."""
    rng = np.random.default_rng(0)
    model = nk.Sequential([nk.Input((6, 6, 1)), layers.Conv2D(4, 3, activation="relu"),
                           layers.Flatten(), layers.Dense(2)])
    conv = model.layers[0]
    conv.kernel.trainable = False
    kernel, bias = conv.kernel.numpy(), conv.bias.numpy()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(rng.standard_normal((8, 6, 6, 1)), rng.standard_normal((8, 2)), epochs=1,
              batch_size=4, verbose=0)
    np.testing.assert_array_equal(conv.kernel.numpy(), kernel)
    assert not np.array_equal(conv.bias.numpy(), bias)


def test_conv_op_with_fixed_kernel_and_trainable_bias():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 5, 3))
    kernel = rng.standard_normal((3, 3, 3, 4))
    bias = nk.Variable(rng.standard_normal(4))
    with nk.GradientTape() as tape:
        y = ops.conv(x, kernel, bias=bias, activation="relu")
        loss = ops.sum(y)
    reference = (np.asarray(y) > 0).sum(axis=(0, 1, 2))
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, bias)), reference)


def test_variable_frozen_after_add_weight_leaves_trainable_weights():
    layer = layers.Dense(3)
    layer.build((None, 2))
    layer.bias.trainable = False
    assert [w.name for w in layer.trainable_weights] == ["kernel"]
    assert [w.name for w in layer.non_trainable_weights] == ["bias"]
    assert len(layer.weights) == 2
    model = nk.Sequential([nk.Input((2,)), layer])
    assert [w.name for w in model.trainable_weights] == ["kernel"]
    layer.bias.trainable = True
    assert len(model.trainable_weights) == 2
