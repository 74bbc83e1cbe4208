"""CIFAR-10 (32x32 colour images, 10 classes), from the Python-pickle batches of
https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz as Keras reads them (nbkeras does not
download: put the archive, or its unpacked cifar-10-batches-py folder, in
$NBKERAS_HOME/datasets, or pass its path). The pickles are read by an unpickler that can only
rebuild arrays, so a tampered file cannot run code.

    (x_train, y_train), (x_test, y_test) = nk.datasets.cifar10.load_data()
    x_train.shape, y_train.shape           # (50000, 32, 32, 3) (50000, 1), uint8
"""
from __future__ import annotations

import numpy as np

from .. import config
from ._keras_files import read_cifar

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))


def load_data(path=None):
    """`((x_train, y_train), (x_test, y_test))` as keras.datasets.cifar10 gives them: uint8
    images (n, 32, 32, 3) (channels_first: (n, 3, 32, 32)) and uint8 labels (n, 1). `path`:
    the cifar-10-batches-py folder, a folder holding it, or the .tar.gz archive (relative to
    $NBKERAS_HOME/datasets unless absolute)."""
    batches = read_cifar("cifar10", path, "cifar-10-batches-py", "cifar-10-python.tar.gz", URL,
                         TRAIN + ("test_batch",), "labels")
    x_train = np.concatenate([batches[name][0] for name in TRAIN]).astype(np.uint8)
    y_train = np.concatenate([np.asarray(batches[name][1]) for name in TRAIN]).astype(np.uint8)
    x_test = np.asarray(batches["test_batch"][0]).astype(np.uint8)
    y_test = np.asarray(batches["test_batch"][1]).astype(np.uint8)
    return _layout(x_train, y_train), _layout(x_test, y_test)


def _layout(x, y):
    """Images moved to the configured data format, labels as a column."""
    if config.image_data_format() == "channels_last":
        x = x.transpose(0, 2, 3, 1)
    return x, y.reshape(len(y), 1)
