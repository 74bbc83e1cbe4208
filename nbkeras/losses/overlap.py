"""Overlap losses for segmentation, as in Keras 3: Dice and Tversky, one minus a soft overlap
ratio of y_true and y_pred summed over `axis` (all axes when None), each with its `Loss`
class."""
from __future__ import annotations

from .. import config, ops
from .loss import LossFunctionWrapper, check_same_shape, prepare


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def dice(y_true, y_pred, axis=None):
    """1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon), sums over `axis`
    (an int, a tuple, or None for all axes: then one scalar)."""
    y_true, y_pred = prepare(y_true, y_pred)
    check_same_shape("dice", y_true, y_pred)
    axis = _axis(axis)
    intersection = ops.sum(y_true * y_pred, axis=axis)
    total = ops.sum(y_true, axis=axis) + ops.sum(y_pred, axis=axis) + config.epsilon()
    return 1.0 - 2.0 * intersection / total


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """1 - TP / (TP + alpha FP + beta FN + epsilon) with TP = sum(y_true * y_pred), FP =
    sum((1 - y_pred) * y_true), FN = sum(y_pred * (1 - y_true)) over `axis` (Keras's
    definitions: alpha weighs the true mass the prediction misses, beta the predicted mass
    off the truth; Salehi et al., 2017). alpha = beta = 0.5 is the Dice loss."""
    y_true, y_pred = prepare(y_true, y_pred)
    check_same_shape("tversky", y_true, y_pred)
    axis = _axis(axis)
    intersection = ops.sum(y_true * y_pred, axis=axis)
    fp = ops.sum((1.0 - y_pred) * y_true, axis=axis)
    fn = ops.sum(y_pred * (1.0 - y_true), axis=axis)
    denominator = intersection + fp * float(alpha) + fn * float(beta) + config.epsilon()
    return 1.0 - intersection / denominator


class Dice(LossFunctionWrapper):
    """Dice loss, 1 - the soft Dice coefficient over `axis` (None: every axis)."""

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Tversky(LossFunctionWrapper):
    """Tversky loss, with alpha and beta weighing false positives and false negatives."""

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky",
                 axis=None, dtype=None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         beta=beta, axis=axis)
