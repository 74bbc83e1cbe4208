"""Layers, their VJPs and whole models on "cuda" (a GPU, or Numba's simulator): the same
finite-difference gradient checks as on the CPU, the CPU's numbers for the same weights,
a small CNN that trains step for step like the CPU, dropout included, and the README demo's
and the benchmark's models, unchanged, for a few steps."""
import sys
from pathlib import Path

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers
from nbkeras.core.device import simulator_requested
from nbkeras.testing import check_grads
from nbkeras.demo import paper_cnn
from nbkeras.testing import strategies as nst

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))   # <repo>/benchmarks
import mnist_convnet  # noqa: E402

LAYERS = [   # tiny configs: the simulator runs one Python thread per CUDA thread
    (layers.Dense, dict(units=3, activation="tanh"), (2, 4)),
    (layers.Conv2D, dict(filters=2, kernel_size=2, padding="same", activation="relu"),
     (1, 3, 3, 2)),
    (layers.Conv1D, dict(filters=2, kernel_size=3, strides=2, groups=2), (1, 7, 2)),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=2, strides=2), (1, 2, 2, 1)),
    (layers.DepthwiseConv2D, dict(kernel_size=2, depth_multiplier=2), (1, 3, 3, 1)),
    (layers.MaxPooling2D, dict(pool_size=2), (1, 4, 4, 2)),
    (layers.AveragePooling1D, dict(pool_size=2, padding="same"), (1, 5, 2)),
    (layers.BatchNormalization, dict(), (4, 3)),
    (layers.LayerNormalization, dict(), (2, 4)),
    (layers.GroupNormalization, dict(groups=2), (2, 2, 4)),
    (layers.Softmax, dict(), (2, 5)),
    (layers.UpSampling2D, dict(interpolation="bilinear"), (1, 2, 2, 1)),
    (layers.ZeroPadding1D, dict(padding=1), (1, 3, 2)),
    (layers.PReLU, dict(), (2, 3)),
]


@pytest.mark.parametrize("cls, config, shape", LAYERS, ids=[c[0].__name__ for c in LAYERS])
def test_layer_on_cuda_matches_the_cpu_and_finite_differences(cls, config, shape):
    x = nst.distinct(shape, np.random.default_rng(len(shape)))
    training = dict(training=cls is layers.BatchNormalization)
    cpu_layer = cls(**config, dtype="float64")
    expected = np.asarray(cpu_layer(x, **training))
    with nk.device("cuda"):
        layer = cls(**config, dtype="float64")
        layer.build(shape)
        layer.set_weights(cpu_layer.get_weights())
        y = layer(x, **training)
        assert y.device == "cuda:0" and all(w.device == "cuda:0" for w in layer.weights)
        np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-10, atol=1e-12)
        check_grads(layer, [x], mode="projection", call_kwargs=training)   # 2 calls per argument


def _small_cnn(device_name):
    nk.config.set_random_seed(3)
    with nk.device(device_name):
        model = nk.Sequential([nk.Input((6, 6, 1)), layers.Conv2D(3, 3, activation="relu"),
                               layers.MaxPooling2D(2), layers.BatchNormalization(),
                               layers.Dropout(0.25), layers.Flatten(),
                               layers.Dense(3, activation="softmax")])
        # SGD: Adam would scale the rounding noise of the conv bias's gradient (zero in exact
        # arithmetic, since batch normalization follows) up to full steps on either device
        model.compile(optimizer=nk.optimizers.SGD(0.1, momentum=0.9),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_a_small_cnn_trains_on_cuda_as_on_the_cpu():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 6, 6, 1)).astype("float32"), rng.integers(0, 3, 4)
    cpu, cuda = _small_cnn("cpu"), _small_cnn("cuda")
    assert {w.device for w in cuda.weights} == {"cuda:0"}
    expected = cpu.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0).history
    history = cuda.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-5)
    for a, b in zip(cuda.get_weights(), cpu.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    slots = cuda.optimizer.variables[1:]
    assert slots and all(v.device == "cuda:0" for v in slots)
    prediction = cuda.predict(x, verbose=0)
    assert isinstance(prediction, np.ndarray)
    np.testing.assert_allclose(prediction, cpu.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


def test_a_gradient_tape_loop_on_cuda():
    with nk.device("cuda"):
        dense = layers.Dense(2)
        optimizer = nk.optimizers.SGD(0.1)
    x = np.ones((3, 4), "float32")
    losses = []
    for _ in range(3):
        with nk.GradientTape() as tape:
            loss = nk.ops.mean(nk.ops.square(dense(x)))
        grads = tape.gradient(loss, dense.trainable_weights)
        assert all(g.device == "cuda:0" for g in grads)
        optimizer.apply_gradients(zip(grads, dense.trainable_weights))
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_seeded_dropout_is_the_same_on_both_devices():
    x = np.ones((4, 5), "float32")
    masks = []
    for device_name in ("cpu", "cuda"):
        with nk.device(device_name):
            masks.append(np.asarray(layers.Dropout(0.5, seed=7)(x, training=True)))
    np.testing.assert_array_equal(masks[0], masks[1])


def test_mixing_devices_names_the_op_and_both_devices():
    with nk.device("cuda"):
        on_gpu = nk.ops.convert_to_tensor(np.ones(3, "float32"))
    on_cpu = nk.ops.convert_to_tensor(np.ones(3, "float32"))
    assert on_gpu.device == "cuda:0" and on_cpu.device == "cpu"
    with pytest.raises(ValueError, match=r"Add: inputs live on different devices \(cpu and cuda:0\)"):
        nk.ops.add(on_gpu, on_cpu)
    np.testing.assert_array_equal(np.asarray(nk.ops.add(on_gpu, 1.0)), [2, 2, 2])



def _demo_model():
    """The README demo's MNIST-1D CNN, compiled as the demo does."""
    model = paper_cnn(40)
    model.compile(optimizer=nk.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


# the simulator runs one Python thread per CUDA thread, and a step of the convnet on 28 x 28
# images took it 3-8 minutes: there its same layers see 12 x 12 images (a fifteenth of the
# arithmetic; the Dense kernel is 64 x 10), on a GPU the benchmark's 28 x 28
CONVNET_IMAGE = (12, 12, 1) if simulator_requested() else (28, 28, 1)
BENCHMARK_MODELS = {   # name: (model builder, sample shape, batch size, steps)
    "mnist1d_cnn": (_demo_model, (40, 1), 2, 3),
    "mnist_convnet": (lambda: mnist_convnet.nbkeras_model(image_shape=CONVNET_IMAGE),
                      CONVNET_IMAGE, 1, 1),
}


@pytest.mark.parametrize("name", BENCHMARK_MODELS)
def test_the_benchmark_models_train_on_cuda_as_on_the_cpu(name):
    """The models of the README demo and benchmarks/mnist_convnet.py, their layers unchanged:
    steps at a small batch (three for the demo's CNN; one for the convnet, on smaller images
    in the simulator) give the CPU's losses, weights and predictions, dropout included."""
    build, shape, batch, steps = BENCHMARK_MODELS[name]
    rng = np.random.default_rng(1)
    x = rng.random((batch * steps, *shape), dtype=np.float32)
    labels = rng.integers(0, 10, batch * steps)
    y = labels if name == "mnist1d_cnn" else np.eye(10, dtype=np.float32)[labels]
    models, losses = {}, {}
    for device_name in ("cpu", "cuda"):
        nk.config.set_random_seed(5)
        with nk.device(device_name):
            models[device_name] = model = build()
        losses[device_name] = [model.train_on_batch(x[i * batch:(i + 1) * batch],
                                                    y[i * batch:(i + 1) * batch])[0]
                               for i in range(steps)]
    assert {w.device for w in models["cuda"].weights} == {"cuda:0"}
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-5)
    for a, b in zip(models["cuda"].get_weights(), models["cpu"].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(models["cuda"].predict_on_batch(x[:1]),
                               models["cpu"].predict_on_batch(x[:1]), rtol=1e-4, atol=1e-6)
