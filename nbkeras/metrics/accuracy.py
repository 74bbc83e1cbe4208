"""Accuracy metrics, as in Keras 3: the functions give per-sample matches (floatx Tensors),
the classes average them with sample weights. Computed in numpy."""
from __future__ import annotations

import numpy as np

from .. import config
from ..core.tensor import Tensor
from .metric import to_numpy
from .reduction import MeanMetricWrapper, same_rank


def _matches(values) -> Tensor:
    return Tensor(np.asarray(values, dtype=config.floatx()))


def accuracy(y_true, y_pred):
    """mean(y_true == y_pred, axis=-1): exact equality."""
    y_pred = to_numpy(y_pred)
    y_true = to_numpy(y_true).astype(y_pred.dtype)
    y_true, y_pred = same_rank(y_true, y_pred)
    return _matches(np.mean(y_true == y_pred, axis=-1))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """mean(y_true == (y_pred > threshold), axis=-1)."""
    y_true, y_pred = same_rank(to_numpy(y_true), to_numpy(y_pred))
    predicted = (y_pred > threshold).astype(y_true.dtype)
    return _matches(np.mean(y_true == predicted, axis=-1))


def categorical_accuracy(y_true, y_pred):
    """argmax(y_true, -1) == argmax(y_pred, -1), per sample (first index on ties)."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    return _matches(np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred):
    """y_true == argmax(y_pred, -1) for integer labels; a trailing size-1 axis of y_true
    is dropped."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1:] == (1,):
        y_true = y_true[..., 0]
    predicted = np.argmax(y_pred, axis=-1).astype(y_true.dtype)
    matches = y_true == predicted
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches[..., 0]
    return _matches(matches)


def _in_top_k(targets: np.ndarray, predictions: np.ndarray, k: int) -> np.ndarray:
    """Whether predictions[i, targets[i]] is at least the k-th largest of row i (ties count
    as in the top k, as Keras's `in_top_k`)."""
    k = min(int(k), predictions.shape[-1])
    kth_largest = np.sort(predictions, axis=-1)[:, -k]
    target_values = np.take_along_axis(predictions, targets[:, None].astype(np.int64), -1)[:, 0]
    return target_values >= kth_largest


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Whether argmax(y_true) is among the k largest predictions, per sample."""
    labels = np.argmax(to_numpy(y_true), axis=-1)
    return sparse_top_k_categorical_accuracy(labels, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Whether the integer label is among the k largest predictions, per sample."""
    y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
    matches = _in_top_k(y_true.reshape(-1), y_pred.reshape(-1, y_pred.shape[-1]), k)
    return _matches(matches.reshape(y_true.shape))


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) matches binary labels."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and not 0 < threshold < 1:
            raise ValueError(f"BinaryAccuracy: threshold must be in (0, 1); "
                             f"received threshold={threshold!r}")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches one-hot labels."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches integer labels."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label is among the `k` largest predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the `k` largest predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
