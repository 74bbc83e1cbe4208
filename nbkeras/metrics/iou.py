"""Intersection-over-union metrics, as in Keras 3: IoU, BinaryIoU, MeanIoU, OneHotIoU and
OneHotMeanIoU, from a (num_classes, num_classes) confusion matrix accumulated over every batch
(rows: true class, columns: predicted class), so batches merge exactly.

As in Keras the state's dtype defaults to int32: sample weights are cast to it (a float weight
is truncated, with a warning); pass dtype="float32" for fractional weights. Entries whose true
or predicted class lies outside [0, num_classes), or whose true class is `ignore_class`, are
left out. The result is float32: the mean IoU over the target classes that occur
(a class absent from both labels and predictions is not counted).
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import config, ops
from ..core.dtype import is_float
from .confusion import owner_name
from .metric import Metric, tensors


def _check_classes(owner: str, num_classes, target_class_ids) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"{owner}: argument `num_classes` must be a positive integer; "
                         f"received num_classes={num_classes!r}")
    ids = list(target_class_ids)
    if not ids:
        raise ValueError(f"{owner}: argument `target_class_ids` must name at least one class; "
                         f"received target_class_ids={target_class_ids!r}")
    bad = [i for i in ids if not isinstance(i, (int, np.integer)) or not 0 <= i < num_classes]
    if bad:
        raise ValueError(f"{owner}: target class id {bad[0]!r} in argument `target_class_ids` "
                         f"is out of range, which is [0, {num_classes})")


class IoU(Metric):
    """IoU = tp / (tp + fp + fn) per class, averaged over `target_class_ids`. Labels and
    predictions are class indices (`sparse_y_true` / `sparse_y_pred`), else scores or one-hot
    vectors reduced by argmax along `axis`."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        _check_classes(type(self).__name__, num_classes, target_class_ids)
        super().__init__(name=name, dtype=dtype or "int32")
        self.num_classes = int(num_classes)
        self.target_class_ids = [int(i) for i in target_class_ids]
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable((self.num_classes, self.num_classes),
                                          name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred, weight = tensors(y_true, y_pred, sample_weight)
        if not self.sparse_y_true:
            y_true = ops.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = ops.argmax(y_pred, axis=self.axis)
        y_true, y_pred = ops.reshape(y_true, (-1,)), ops.reshape(y_pred, (-1,))
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{owner_name(self)}: y_true and y_pred must hold one class per "
                             f"entry alike; received {y_true.shape[0]} labels and "
                             f"{y_pred.shape[0]} predictions")
        cm_dtype = self.total_cm.dtype
        if weight is None:
            weight = ops.ones_like(y_true, dtype=cm_dtype)
        else:
            if is_float(weight.dtype) and not is_float(cm_dtype):
                warnings.warn(f"{owner_name(self)}: you are passing weight as `float`, but "
                              f"dtype is `{cm_dtype}`. This may result in an incorrect weight "
                              f"due to type casting. Consider using integer weights.",
                              stacklevel=2)
            weight = ops.cast(weight, cm_dtype)
            weight = ops.reshape(weight, (-1,)) if weight.ndim > 1 else weight
            if weight.ndim == 1 and weight.shape != y_true.shape:
                raise ValueError(f"{owner_name(self)}: sample_weight of shape "
                                 f"{tuple(weight.shape)} does not match the {y_true.shape[0]} "
                                 f"labels")
            weight = ops.broadcast_to(weight, y_true.shape)
        # class indices as integers (Keras casts them to the state dtype, truncating)
        y_true, y_pred = ops.cast(y_true, "int64"), ops.cast(y_pred, "int64")
        classes = self.num_classes
        valid = ops.logical_and(
            ops.logical_and(ops.greater_equal(y_true, 0), ops.less(y_true, classes)),
            ops.logical_and(ops.greater_equal(y_pred, 0), ops.less(y_pred, classes)))
        if self.ignore_class is not None:
            valid = ops.logical_and(valid, ops.not_equal(y_true, int(self.ignore_class)))
        cell = ops.where(valid, ops.add(ops.multiply(y_true, classes), y_pred), 0)
        weight = ops.where(valid, weight, ops.zeros_like(weight))
        counts = ops.bincount(cell, weights=weight, minlength=classes * classes)
        self.total_cm.assign_add(ops.cast(ops.reshape(counts, (classes, classes)), cm_dtype))

    def result(self):
        cm = ops.cast(self.total_cm, "float32")
        true_positives = ops.diagonal(cm)
        union = ops.subtract(ops.add(ops.sum(cm, axis=0), ops.sum(cm, axis=1)), true_positives)
        ids = np.asarray(self.target_class_ids)
        true_positives, union = ops.take(true_positives, ids), ops.take(union, ids)
        valid = ops.greater(union, 1e-9)
        iou = ops.where(valid, ops.divide(true_positives, ops.add(union, config.epsilon())), 0.0)
        count = ops.sum(ops.cast(valid, "float32"))
        return ops.divide(ops.sum(iou), ops.add(count, config.epsilon()))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of binary labels against predictions thresholded at `threshold` (positive when
    y_pred >= threshold), averaged over `target_class_ids` among (0, 1)."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name,
                         dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = tensors(y_true, y_pred)
        predicted = ops.cast(ops.greater_equal(ops.cast(y_pred, "float32"),
                                               np.float32(self.threshold)), "int64")
        super().update_state(ops.cast(y_true, self.dtype), predicted, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over every class."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        _check_classes(type(self).__name__, num_classes, [0])
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class OneHotIoU(IoU):
    """IoU with one-hot labels (argmax along `axis`) and, unless `sparse_y_pred`, scores."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """MeanIoU with one-hot labels and, unless `sparse_y_pred`, scores."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config
