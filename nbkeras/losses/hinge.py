"""Hinge losses, as in Keras 3: hinge and squared hinge (labels -1/1; 0/1 labels are mapped to
-1/1) averaged over the last axis, and categorical hinge; each with its `Loss` class."""
from __future__ import annotations

import numpy as np

from .. import ops
from .loss import LossFunctionWrapper, prepare


def _hinge_labels(y_true):
    """2 y - 1 when every label is 0 or 1 (binary labels), else y unchanged."""
    values = np.asarray(y_true)
    if np.all((values == 0) | (values == 1)):
        return y_true * 2.0 - 1.0
    return y_true


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0), axis=-1)."""
    y_true, y_pred = prepare(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)."""
    y_true, y_pred = prepare(y_true, y_pred)
    y_true = _hinge_labels(y_true)
    return ops.mean(ops.square(ops.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(neg - pos + 1, 0) with pos = sum(y_true * y_pred), neg = max((1 - y_true) * y_pred),
    over the last axis."""
    y_true, y_pred = prepare(y_true, y_pred)
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


class Hinge(LossFunctionWrapper):
    """mean(max(1 - y_true * y_pred, 0)) per sample, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """mean(max(1 - y_true * y_pred, 0) ** 2) per sample, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """max(neg - pos + 1, 0) per sample, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)
