"""Fill Numba's disk cache with the kernels of nbkeras's first-run models, so that their first
training step after `pip install` loads machine code instead of compiling it.

    python -m nbkeras.utils.precompile

The package build runs this on the wheel's own copy of nbkeras (setup.py), so the cache
ships in the installed package's __pycache__ folders: `pip install .` then `python -m
nbkeras.demo` trains from its first step instead of compiling for ten seconds. The cache
stays correct: Numba keys each entry by the CPU's name and features and by the Python and
Numba versions, and nbkeras by the hash of all its kernel sources (kernels/disk_cache.py), so
another machine, interpreter or package version compiles afresh, as it would without it.

The models, float32, at the batch sizes their examples train with, warmed up for training
and inference (utils/warmup.py) on every core: the README demo's MNIST-1D CNN, the README's
first look (a CNN on the 8x8 digits), and Keras's Simple MNIST convnet, Timeseries
classification (Conv1D, BatchNormalization) and Bidirectional LSTM on IMDB (Embedding, LSTM)
examples. Other models compile the kernels these do not share on their first use, as before.
"""
from __future__ import annotations

import time

import numpy as np

import nbkeras as nk
from nbkeras import layers
from nbkeras.demo import paper_cnn


def simple_mnist_convnet(api=nk, image_shape=(28, 28, 1)):
    """Keras's "Simple MNIST convnet" example, compiled, (N, 28, 28, 1) -> (N, 10); `api` is
    `nbkeras` or `keras` (the same public names build the same model in either)."""
    model = api.Sequential([
        api.Input(image_shape),
        api.layers.Conv2D(32, 3, activation="relu"),
        api.layers.MaxPooling2D(2),
        api.layers.Conv2D(64, 3, activation="relu"),
        api.layers.MaxPooling2D(2),
        api.layers.Flatten(),
        api.layers.Dropout(0.5),
        api.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def first_look_cnn() -> nk.Sequential:
    """The README's first look, uncompiled: (N, 8, 8, 1) digits -> (N, 10)."""
    return nk.Sequential([
        nk.Input((8, 8, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10, activation="softmax"),
    ])


def timeseries_cnn(length: int = 500, classes: int = 2) -> nk.Model:
    """Keras's "Timeseries classification from scratch" example, compiled: (N, length, 1)
    -> (N, classes), three Conv1D + BatchNormalization + ReLU blocks, a functional model."""
    inputs = nk.Input((length, 1))
    x = inputs
    for _ in range(3):
        x = layers.Conv1D(64, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    outputs = layers.Dense(classes, activation="softmax")(layers.GlobalAveragePooling1D()(x))
    model = nk.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    return model


def imdb_bidirectional_lstm(vocabulary: int = 20000) -> nk.Model:
    """Keras's "Bidirectional LSTM on IMDB" example, compiled: (N, steps) int32 token ids
    -> (N, 1) probability, Embedding and two Bidirectional LSTM(64)."""
    inputs = nk.Input((None,), dtype="int32")
    x = layers.Embedding(vocabulary, 128)(inputs)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    model = nk.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def first_run_models() -> list[tuple]:
    """(model, x, y) of each first-run model, random data at its example's batch size."""
    rng = np.random.default_rng(0)
    demo, first_look = paper_cnn(), first_look_cnn()
    demo.compile(optimizer=nk.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    first_look.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"])
    return [
        (demo, rng.random((100, 40, 1), np.float32), rng.integers(0, 10, 100)),
        (first_look, rng.random((32, 8, 8, 1), np.float32), rng.integers(0, 10, 32)),
        (simple_mnist_convnet(), rng.random((128, 28, 28, 1), np.float32),
         nk.utils.to_categorical(rng.integers(0, 10, 128), 10)),
        (timeseries_cnn(), rng.random((32, 500, 1), np.float32), rng.integers(0, 2, 32)),
        (imdb_bidirectional_lstm(), rng.integers(1, 20000, (32, 200)).astype(np.int32),
         rng.integers(0, 2, (32, 1)).astype(np.float32)),
    ]


def main() -> float:
    """Warm every first-run model up; returns the seconds it took."""
    start = time.perf_counter()
    for model, x, y in first_run_models():
        nk.utils.warmup(model, x, y)
    seconds = time.perf_counter() - start
    print(f"nbkeras: compiled the first-run models' kernels into Numba's cache in "
          f"{seconds:.1f} s")
    return seconds


if __name__ == "__main__":
    main()
