"""Accuracy metrics, as in Keras 3: the functions give per-sample matches (floatx Tensors),
the classes average them with sample weights. Ops on the predictions' device."""
from __future__ import annotations

import numpy as np

from .. import config, ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from .metric import tensors
from .reduction import MeanMetricWrapper


def _matches(matches):
    """bool matches as floatx."""
    return ops.cast(matches, config.floatx())


def accuracy(y_true, y_pred):
    """mean(y_true == y_pred, axis=-1): exact equality."""
    y_true, y_pred = tensors(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(ops.cast(y_true, y_pred.dtype), y_pred)
    return ops.mean(_matches(ops.equal(y_true, y_pred)), axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """mean(y_true == (y_pred > threshold), axis=-1)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*tensors(y_true, y_pred))
    predicted = ops.cast(ops.greater(y_pred, np.asarray(threshold, y_pred.dtype)), y_true.dtype)
    return ops.mean(_matches(ops.equal(y_true, predicted)), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """argmax(y_true, -1) == argmax(y_pred, -1), per sample (first index on ties)."""
    y_true, y_pred = tensors(y_true, y_pred)
    return _matches(ops.equal(ops.argmax(y_true, axis=-1), ops.argmax(y_pred, axis=-1)))


def sparse_categorical_accuracy(y_true, y_pred):
    """y_true == argmax(y_pred, -1) for integer labels; a trailing size-1 axis of y_true
    is dropped."""
    y_true, y_pred = tensors(y_true, y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1:] == (1,):
        y_true = ops.squeeze(y_true, -1)
    matches = ops.equal(y_true, ops.argmax(y_pred, axis=-1))   # integer labels: no cast
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = ops.squeeze(matches, -1)
    return _matches(matches)


def _in_top_k(targets, predictions, k: int):
    """Whether predictions[i, targets[i]] is at least the k-th largest of row i (ties count
    as in the top k, as Keras's `in_top_k`): fewer than k predictions of the row exceed it."""
    classes = predictions.shape[-1]
    is_target = ops.cast(ops.one_hot(ops.cast(targets, "int64"), classes), "bool")
    target_values = ops.sum(ops.where(is_target, predictions, 0.0), axis=-1, keepdims=True)
    above = ops.sum(ops.cast(ops.greater(predictions, target_values), "int64"), axis=-1)
    return ops.less(above, min(int(k), classes))


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Whether argmax(y_true) is among the k largest predictions, per sample."""
    y_true, y_pred = tensors(y_true, y_pred)
    return sparse_top_k_categorical_accuracy(ops.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Whether the integer label is among the k largest predictions, per sample."""
    y_true, y_pred = tensors(y_true, y_pred)
    matches = _in_top_k(ops.reshape(y_true, (-1,)),
                        ops.reshape(y_pred, (-1, y_pred.shape[-1])), k)
    return _matches(ops.reshape(matches, y_true.shape))


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
