"""The 8x8 handwritten digits bundled with scikit-learn (1797 images, 10 classes), split
into train and test the same way on every machine.

    (x_train, y_train), (x_test, y_test) = nk.datasets.digits.load_data()
    x_train.shape, x_train.dtype, y_train.dtype   # (1348, 8, 8) float32 int64

Images are float32 of shape (n, 8, 8) in [0, 1]. Keras's mnist gives uint8 (n, 28, 28) in
[0, 255] and every tutorial then divides by 255; the digits' pixels are 0..16, so that
recipe would silently give inputs in [0, 0.063]. The images are therefore returned already
scaled (pixel / 16) in the float type a CNN trains in. The shape stays (n, 8, 8), as mnist's,
so the usual `x[..., None]` (or `layers.Reshape((8, 8, 1))`) adds the channel axis for
`Conv2D`, and `layers.Flatten()` feeds a dense network.

scikit-learn is optional (`pip install "nbkeras[datasets]"`); the data ship inside it, so
nothing is downloaded.
"""
from __future__ import annotations

import numpy as np

from ._common import missing_dependency

NUM_CLASSES = 10


def load_data(test_size: float = 0.25, seed: int = 0):
    """`((x_train, y_train), (x_test, y_test))`: x float32 (n, 8, 8) in [0, 1], y int64.

    The split is stratified: each class puts `round(test_size * count)` of its images (at
    least one, and at least one left for training) into the test set, so both sets have the
    class balance of the whole. It depends only on `test_size` and `seed`: the per-class
    choice and the final shuffles use `np.random.RandomState(seed)`, whose streams numpy
    keeps fixed across versions (a `Generator`'s may change), and no scikit-learn splitter.
    Train and test are each shuffled, so classes are mixed (Keras's `validation_split`
    takes the last samples before shuffling).
    """
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.number)) \
            or not 0 < test_size < 1:
        raise ValueError(f"digits.load_data: test_size must be a fraction in (0, 1); received "
                         f"test_size={test_size!r}")
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise missing_dependency("digits", "scikit-learn", error) from None
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)   # (1797, 8, 8), values 0..16
    labels = np.asarray(bunch.target, dtype=np.int64)
    train_index, test_index = stratified_split(labels, float(test_size), int(seed))
    x = (images / 16.0).astype(np.float32)
    return (x[train_index], labels[train_index]), (x[test_index], labels[test_index])


def stratified_split(labels: np.ndarray, test_size: float, seed: int):
    """Indices (train, test) that keep each class's share: per class, a seeded permutation
    of its indices, the first `round(test_size * count)` of them for test."""
    rng = np.random.RandomState(seed)
    train, test = [], []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        members = members[rng.permutation(members.size)]
        n_test = min(max(int(round(test_size * members.size)), 1), members.size - 1)
        test.append(members[:n_test])
        train.append(members[n_test:])
    train_index, test_index = np.concatenate(train), np.concatenate(test)
    return (train_index[rng.permutation(train_index.size)],
            test_index[rng.permutation(test_index.size)])
