"""Programs from the Keras guides, unchanged but for the import."""
import numpy as np

import nbkeras as keras
from nbkeras import layers, ops
from nbkeras.layers import Dense, Input, Reshape
from nbkeras.models import Model, Sequential


def test_sequential_add_and_summary():
    model = Sequential()
    model.add(Dense(32, input_shape=(16,)))
    model.add(Dense(32))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "sequential' in text
    assert "(None, 32)" in text and "544" in text and "1,056" in text
    assert "Total params: 1,600" in text
    assert model.output_shape == (None, 32)


def test_functional_logistic_regression():
    x = Input(shape=(32,))
    y = Dense(16, activation="softmax")(x)
    model = Model(x, y)
    out = model(np.random.default_rng(0).standard_normal((5, 32)))
    assert out.shape == (5, 16)
    np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, rtol=1e-5)
    assert model.output_shape == (None, 16)


class SimpleDense(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


def test_simple_dense_custom_layer_trains_and_round_trips():
    layer = SimpleDense(4)
    x = np.random.default_rng(1).standard_normal((3, 5)).astype("float32")
    y = layer(x)
    assert y.shape == (3, 4) and len(layer.trainable_weights) == 2
    np.testing.assert_allclose(np.asarray(y), x @ layer.w.numpy() + layer.b.numpy(), rtol=1e-5)
    clone = SimpleDense.from_config(layer.get_config())
    assert clone.units == 4 and clone.get_config() == layer.get_config()
    optimizer = keras.optimizers.SGD(0.1)
    losses = []
    for _ in range(5):
        with keras.GradientTape() as tape:
            loss = ops.mean(ops.square(layer(x)))
        grads = tape.gradient(loss, layer.trainable_weights)
        assert [g.shape for g in grads] == [(5, 4), (4,)]
        optimizer.apply_gradients(zip(grads, layer.trainable_weights))
        losses.append(float(loss))
    assert losses[-1] < 0.8 * losses[0], losses


class SimpleDenseNoGetConfig(layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units


def test_handwritten_init_arguments_are_recorded_without_get_config():
    layer = SimpleDenseNoGetConfig(7, name="seven")
    config = layer.get_config()
    assert config["units"] == 7 and config["name"] == "seven"
    assert SimpleDenseNoGetConfig.from_config(config).units == 7


class ComputeSum(layers.Layer):
    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total


def test_compute_sum_non_trainable_state_accumulates():
    x = np.ones((2, 2))
    my_sum = ComputeSum(2)
    np.testing.assert_array_equal(np.asarray(my_sum(x)), [2.0, 2.0])
    np.testing.assert_array_equal(np.asarray(my_sum(x)), [4.0, 4.0])
    assert len(my_sum.weights) == 1
    assert len(my_sum.non_trainable_weights) == 1
    assert my_sum.trainable_weights == []


def test_reshape_chain_output_shapes():
    model = Sequential()
    model.add(Reshape((3, 4), input_shape=(12,)))
    assert model.output_shape == (None, 3, 4)
    model.add(Reshape((6, 2)))
    assert model.output_shape == (None, 6, 2)
    model.add(Reshape((-1, 2, 2)))
    assert model.output_shape == (None, 3, 2, 2)
    x = np.arange(24, dtype="float32").reshape(2, 12)
    np.testing.assert_array_equal(np.asarray(model(x)), x.reshape(2, 3, 2, 2))
