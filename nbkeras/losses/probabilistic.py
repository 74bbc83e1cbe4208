"""Probabilistic losses, as in Keras 3: binary, binary focal, categorical, categorical focal
and sparse categorical cross-entropy, categorical generalized cross-entropy, KL divergence and
Poisson, each with its `Loss` class.

`from_logits=True` runs the fused, stable cross-entropy ops (`nbkeras.ops.losses`);
probabilities are clipped to [epsilon, 1 - epsilon] as Keras's backends do.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import config, ops
from ..ops import losses as loss_ops
from .loss import LossFunctionWrapper, as_float_tensor, check_same_shape, prepare


def _check_axis(axis, loss: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{loss}: `axis` must be of type `int`; received axis={axis!r} of "
                         f"type {type(axis).__name__}")
    return int(axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over `axis` of -(z log p + (1 - z) log(1 - p)); labels smoothed towards 0.5."""
    axis = _check_axis(axis, "binary_crossentropy")
    y_true, y_pred = prepare(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return ops.mean(loss_ops.binary_crossentropy(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over `axis` of (1 - p_t) ** gamma * bce, p_t = z p + (1 - z)(1 - p); with class
    balancing also weighted by alpha (z = 1) and 1 - alpha (z = 0)."""
    axis = _check_axis(axis, "binary_focal_crossentropy")
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
    axis = _check_axis(axis, "categorical_crossentropy")
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


def _class_weights(alpha, y_pred, axis: int, loss: str):
    """alpha as a number, or as a tensor of one weight per class along `axis`."""
    weights = np.asarray(alpha, dtype=np.float64)
    if weights.ndim == 0:
        return float(weights)
    classes = y_pred.shape[axis]
    if weights.shape != (classes,):
        raise ValueError(f"{loss}: alpha must be a number or a list of one weight per class "
                         f"({classes} along axis {axis}); received alpha={alpha!r}")
    shape = [1] * len(y_pred.shape)
    shape[axis] = classes
    return ops.convert_to_tensor(weights.reshape(shape), y_pred.dtype, device=y_pred.device)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """sum over `axis` of -alpha * (1 - p) ** gamma * y_true * log p (Lin et al., 2018), with
    p the softmax of logits or y_pred normalized to sum 1 along `axis`, clipped to
    [epsilon, 1 - epsilon] as Keras does (so log p and 1 - p stay finite for any logits).
    `alpha` is a number or one weight per class; labels smoothed as in
    categorical_crossentropy."""
    axis = _check_axis(axis, "categorical_focal_crossentropy")
    y_true, y_pred = prepare(y_true, y_pred)
    check_same_shape("categorical_focal_crossentropy", y_true, y_pred)
    if len(y_pred.shape) and y_pred.shape[-1] == 1:
        warnings.warn(f"In loss categorical_focal_crossentropy, expected y_pred.shape to be "
                      f"(batch_size, num_classes) with num_classes > 1. Received: "
                      f"y_pred.shape={tuple(y_pred.shape)}. Consider using "
                      f"'binary_crossentropy' if you only have 2 classes.", SyntaxWarning,
                      stacklevel=2)
    if label_smoothing:
        num_classes = y_true.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits:
        output = ops.softmax(y_pred, axis=axis)
    else:
        output = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
    eps = config.epsilon()
    output = ops.clip(output, eps, 1.0 - eps)
    weight = ops.power(1.0 - output, float(gamma)) * _class_weights(
        alpha, y_pred, axis, "categorical_focal_crossentropy")
    return ops.sum(weight * (-y_true * ops.log(output)), axis=axis)


def _class_indices(loss: str, y_true, y_pred) -> np.ndarray:
    """y_true as integer class indices of y_pred's rows (a trailing size-1 axis dropped),
    checked against y_pred's shape and number of classes."""
    labels = np.asarray(y_true)
    if labels.ndim == len(y_pred.shape) and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if labels.shape != tuple(y_pred.shape[:-1]):
        raise ValueError(f"{loss}: y_true must hold one class index per row of y_pred, of "
                         f"shape {tuple(y_pred.shape[:-1])} (or with a trailing 1); received "
                         f"y_true.shape={np.shape(y_true)}, y_pred.shape={tuple(y_pred.shape)}")
    classes = y_pred.shape[-1]
    if labels.size and (np.any(labels != np.round(labels)) or labels.min() < 0
                        or labels.max() >= classes):
        bad = labels[(labels != np.round(labels)) | (labels < 0) | (labels >= classes)][0]
        raise ValueError(f"{loss}: y_true must hold class indices in [0, {classes}); received "
                         f"label {bad}")
    return labels.astype(np.int64)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """(1 - p ** q) / q for p the predicted probability of the true class (Zhang & Sabuncu,
    2018): y_true integer class indices (batch,) or (batch, 1), y_pred probabilities
    (batch, num_classes). q -> 0 approaches cross-entropy, q = 1 is mean absolute error."""
    y_pred = as_float_tensor(y_pred)
    labels = _class_indices("categorical_generalized_cross_entropy", y_true, y_pred)
    one_hot = np.eye(y_pred.shape[-1])[labels]
    one_hot = ops.convert_to_tensor(one_hot, y_pred.dtype, device=y_pred.device)
    p = ops.sum(y_pred * one_hot, axis=-1)
    return (1.0 - ops.power(p, float(q))) / float(q)


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
    axis = _check_axis(axis, "sparse_categorical_crossentropy")
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


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical focal cross-entropy (Lin et al., 2018) for one-hot labels."""

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized cross-entropy (Zhang & Sabuncu, 2018) for integer labels, robust to noisy
    labels; q in (0, 1)."""

    def __init__(self, q=0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        if isinstance(q, bool) or not isinstance(q, (int, float, np.number)) or not 0 < q < 1:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: q must be in the interval "
                             f"(0, 1); received q={q!r}")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name,
                         dtype=dtype, q=q)


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
