"""CIFAR-100 (32x32 colour images, 100 fine or 20 coarse classes), from the Python-pickle files
of https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz as Keras reads them (nbkeras does
not download: put the archive, or its unpacked cifar-100-python folder, in
$NBKERAS_HOME/datasets, or pass its path); read by an unpickler that can only rebuild arrays.

    (x_train, y_train), (x_test, y_test) = nk.datasets.cifar100.load_data(label_mode="coarse")
"""
from __future__ import annotations

import numpy as np

from ._keras_files import read_cifar
from .cifar10 import _layout

URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"


def load_data(label_mode="fine", path=None):
    """`((x_train, y_train), (x_test, y_test))` as keras.datasets.cifar100 gives them: uint8
    images (n, 32, 32, 3) (channels_first: (n, 3, 32, 32)), labels (n, 1) of the "fine" (100)
    or "coarse" (20) classes. `path` as cifar10's (cifar-100-python folder or archive)."""
    if label_mode not in ("fine", "coarse"):
        raise ValueError("cifar100.load_data: label_mode must be 'fine' or 'coarse'; received "
                         f"label_mode={label_mode!r}")
    batches = read_cifar("cifar100", path, "cifar-100-python", "cifar-100-python.tar.gz", URL,
                         ("train", "test"), f"{label_mode}_labels")
    (x_train, y_train), (x_test, y_test) = batches["train"], batches["test"]
    return (_layout(np.asarray(x_train), np.asarray(y_train)),
            _layout(np.asarray(x_test), np.asarray(y_test)))
