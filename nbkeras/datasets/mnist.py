"""MNIST handwritten digits, from the `mnist.npz` Keras publishes (nbkeras does not download:
put the file at $NBKERAS_HOME/datasets/mnist.npz, or pass its path).

    (x_train, y_train), (x_test, y_test) = nk.datasets.mnist.load_data()
    x_train.shape, x_train.dtype            # (60000, 28, 28) uint8, values 0..255
"""
from __future__ import annotations

import numpy as np

from ._keras_files import KERAS_DATASETS_URL, locate


def load_data(path="mnist.npz"):
    """`((x_train, y_train), (x_test, y_test))` as keras.datasets.mnist gives them: uint8
    images (n, 28, 28) and uint8 labels (n,). `path` is relative to $NBKERAS_HOME/datasets
    (default ~/.nbkeras/datasets) unless absolute; read without unpickling."""
    where = locate("mnist", path, "mnist.npz", KERAS_DATASETS_URL + "mnist.npz")
    with np.load(where, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
