"""Fashion-MNIST (Zalando's clothing images), from the four gzip files Keras publishes
(nbkeras does not download: put them in $NBKERAS_HOME/datasets/fashion-mnist/, or pass the
folder).

    (x_train, y_train), (x_test, y_test) = nk.datasets.fashion_mnist.load_data()
"""
from __future__ import annotations

import gzip
import os

import numpy as np

from ._common import cache_path
from ._keras_files import KERAS_DATASETS_URL, locate

FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")


def load_data(path="fashion-mnist"):
    """`((x_train, y_train), (x_test, y_test))` as keras.datasets.fashion_mnist gives them:
    uint8 images (n, 28, 28), uint8 labels (n,). `path` is the folder of the four files
    (relative to $NBKERAS_HOME/datasets unless absolute)."""
    folder = cache_path(path)
    paths = [locate("fashion_mnist", os.path.join(folder, name), name,
                    KERAS_DATASETS_URL + name) for name in FILES]
    with gzip.open(paths[0], "rb") as handle:
        y_train = np.frombuffer(handle.read(), np.uint8, offset=8)
    with gzip.open(paths[1], "rb") as handle:
        x_train = np.frombuffer(handle.read(), np.uint8, offset=16).reshape(len(y_train), 28, 28)
    with gzip.open(paths[2], "rb") as handle:
        y_test = np.frombuffer(handle.read(), np.uint8, offset=8)
    with gzip.open(paths[3], "rb") as handle:
        x_test = np.frombuffer(handle.read(), np.uint8, offset=16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
