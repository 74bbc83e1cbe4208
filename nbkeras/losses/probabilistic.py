"""Probabilistic losses, as in Keras 3: binary, binary focal, categorical and sparse
categorical cross-entropy, KL divergence and Poisson, each with its `Loss` class.

`from_logits=True` runs the fused, stable cross-entropy ops (`nbkeras.ops.losses`);
probabilities are clipped to [epsilon, 1 - epsilon] as Keras's backends do.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import config, ops
from ..ops import losses as loss_ops
from .loss import LossFunctionWrapper, as_float_tensor, prepare


def _check_axis(axis) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be of type `int`; received axis={axis!r} of type "
                         f"{type(axis).__name__}")
    return int(axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over `axis` of -(z log p + (1 - z) log(1 - p)); labels smoothed towards 0.5."""
    axis = _check_axis(axis)
    y_true, y_pred = prepare(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return ops.mean(loss_ops.binary_crossentropy(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over `axis` of (1 - p_t) ** gamma * bce, p_t = z p + (1 - z)(1 - p); with class
    balancing also weighted by alpha (z = 1) and 1 - alpha (z = 0)."""
    axis = _check_axis(axis)
    y_true, y_pred = prepare(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    bce = loss_ops.binary_crossentropy(y_true, y_pred, from_logits)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal_bce = ops.power(1.0 - p_t, float(gamma)) * bce
    if apply_class_balancing:
        weight = y_true * float(alpha) + (1.0 - y_true) * (1.0 - float(alpha))
        focal_bce = weight * focal_bce
    return ops.mean(focal_bce, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                             axis=-1):
    """-sum(y_true * log p, axis) with one-hot (or probability) labels; label smoothing
    mixes them with the uniform distribution over the classes along `axis`."""
    axis = _check_axis(axis)
    y_true, y_pred = prepare(y_true, y_pred)
    if len(y_pred.shape) and y_pred.shape[-1] == 1:
        warnings.warn(f"In loss categorical_crossentropy, expected y_pred.shape to be "
                      f"(batch_size, num_classes) with num_classes > 1. Received: "
                      f"y_pred.shape={tuple(y_pred.shape)}. Consider using "
                      f"'binary_crossentropy' if you only have 2 classes.", SyntaxWarning,
                      stacklevel=2)
    if label_smoothing:
        num_classes = y_true.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return loss_ops.categorical_crossentropy(y_true, y_pred, from_logits, axis)


def _sparse_labels(y_true, y_pred, ignore_class):
    """(integer labels with ignored ones set to class 0, mask of the kept ones or None)."""
    labels = np.asarray(y_true)
    if labels.ndim == len(y_pred.shape) and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if ignore_class is None:
        return labels, None
    valid = labels != ignore_class
    return np.where(valid, labels, 0), valid


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """-log p[label] along the class `axis` for integer labels; labels equal to
    `ignore_class` give 0 (and are left out of a Loss's mean)."""
    axis = _check_axis(axis)
    y_pred = as_float_tensor(y_pred)
    labels, valid = _sparse_labels(y_true, y_pred, ignore_class)
    res = loss_ops.sparse_categorical_crossentropy(labels, y_pred, from_logits, axis)
    if valid is not None:
        res = ops.where(valid, res, np.zeros((), res.dtype))
    return res


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [epsilon, 1]."""
    y_true, y_pred = prepare(y_true, y_pred)
    eps = config.epsilon()
    y_true = ops.clip(y_true, eps, 1.0)
    y_pred = ops.clip(y_pred, eps, 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)."""
    y_true, y_pred = prepare(y_true, y_pred)
    return ops.mean(y_pred - y_true * ops.log(y_pred + config.epsilon()), axis=-1)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy from probabilities or (`from_logits=True`) logits."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary focal cross-entropy (Lin et al., 2018)."""

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, apply_class_balancing=apply_class_balancing,
                         alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy for one-hot labels."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Categorical cross-entropy for integer labels; `ignore_class` entries are masked out
    of the reduction (the mean is over the kept entries)."""

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class)

    def call_with_mask(self, y_true, y_pred):
        values = self.call(y_true, y_pred)
        if self.ignore_class is None:
            return values, None
        _, valid = _sparse_labels(y_true, y_pred, self.ignore_class)
        return values, valid.reshape(values.shape)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence of y_pred from y_true."""

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """Poisson loss y_pred - y_true * log(y_pred)."""

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)
