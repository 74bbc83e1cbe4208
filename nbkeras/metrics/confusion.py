"""Confusion-matrix metrics, as in Keras 3: Precision, Recall and AUC.

A prediction counts as positive at threshold t when it is strictly greater than t; labels
count as positive when nonzero. y_true and y_pred get Keras's rank matching, sample weights
are broadcast to y_pred, `top_k` keeps the k largest predictions of each row (lowest index
first on ties), `class_id` keeps one column. Counts accumulate in float Variables.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import config, ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from .metric import Metric, tensors

NEG_INF = -1e10      # Keras's stand-in for "not in the top k" (and the top-k threshold)


def parse_thresholds(thresholds, default: float) -> list[float]:
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    invalid = [t for t in values if t is None or not 0 <= t <= 1]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1]; received {invalid}")
    return [float(t) for t in values]


def evenly_distributed(thresholds) -> bool:
    """Keras's test for thresholds i / (n - 1), i = 0..n-1 (within epsilon)."""
    n = len(thresholds)
    return n >= 3 and bool(np.allclose(thresholds, np.arange(n) / (n - 1),
                                       atol=config.epsilon()))


def _filter_top_k(x, k: int):
    """x with all but the k largest entries of each last-axis row set to NEG_INF (lowest
    index first on ties): an entry is kept when fewer than k entries of its row rank above
    it, counted by comparing every pair of the row (ops has no sort yet)."""
    classes = x.shape[-1]
    row, column = ops.expand_dims(x, -1), ops.expand_dims(x, -2)   # x_i down, x_j across
    earlier = np.tri(classes, k=-1, dtype=bool)                      # [i, j]: j < i
    above = ops.add(ops.cast(ops.greater(column, row), "int64"),
                    ops.cast(ops.where(earlier, ops.equal(column, row), False), "int64"))
    return ops.where(ops.less(ops.sum(above, axis=-1), k), x, NEG_INF)


def confusion_inputs(y_true, y_pred, sample_weight=None, top_k=None, class_id=None,
                     dtype="float32"):
    """(positive labels (0/1), predictions, weights) as `dtype` Tensors of y_pred's final
    shape, after Keras's rank matching, top-k filtering and class selection."""
    y_true, y_pred, weight = tensors(y_true, y_pred, sample_weight, dtype=dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if weight is not None:
        _, weight = squeeze_or_expand_to_same_rank(y_true, ops.expand_dims(weight, -1),
                                                   expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, int(top_k))
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(f"When class_id is provided, y_pred must be a 2D array of shape "
                             f"(num_samples, num_classes); received shape {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id:class_id + 1], y_pred[..., class_id:class_id + 1]
    weight = (ops.broadcast_to(ops.convert_to_tensor(1.0, dtype, device=y_pred.device),
                               y_pred.shape) if weight is None
              else ops.broadcast_to(weight, y_pred.shape))
    positive = ops.broadcast_to(ops.cast(ops.not_equal(y_true, 0), dtype), y_pred.shape)
    return positive, y_pred, weight


def threshold_counts(positive, y_pred, weight, thresholds, columns: bool = False) -> dict:
    """Weighted tp, fp, tn, fn at each threshold, shape (T,): a prediction counts as positive
    above a threshold (strictly). With `columns`, inputs are (N, L) and counts (T, L), one
    column per label."""
    shape = tuple(y_pred.shape) if columns else (-1, 1)
    positive, y_pred, weight = (ops.reshape(a, shape) for a in (positive, y_pred, weight))
    above = np.asarray(thresholds, y_pred.dtype).reshape(-1, 1, 1)
    predicted = ops.cast(ops.greater(ops.expand_dims(y_pred, 0), above), y_pred.dtype)
    weighted_positive = ops.multiply(weight, positive)
    weighted_negative = ops.subtract(weight, weighted_positive)
    tp = ops.sum(ops.multiply(predicted, weighted_positive), axis=1)
    fp = ops.sum(ops.multiply(predicted, weighted_negative), axis=1)
    counts = {"tp": tp, "fp": fp, "tn": ops.subtract(ops.sum(weighted_negative, axis=0), fp),
              "fn": ops.subtract(ops.sum(weighted_positive, axis=0), tp)}
    return counts if columns else {key: ops.reshape(c, (-1,)) for key, c in counts.items()}


class _PrecisionRecall(Metric):
    """Shared state of Precision and Recall: true positives and one error count per threshold."""

    _error = ""    # "fp" (Precision) or "fn" (Recall)

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(size, name="true_positives")
        self.errors = self.add_variable(size, name={"fp": "false_positives",
                                                    "fn": "false_negatives"}[self._error])

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        inputs = confusion_inputs(y_true, y_pred, sample_weight, self.top_k, self.class_id,
                                  self.dtype)
        counts = threshold_counts(*inputs, self.thresholds)
        self.true_positives.assign_add(counts["tp"])
        self.errors.assign_add(counts[self._error])

    def result(self):
        tp = self.true_positives
        value = ops.divide_no_nan(tp, ops.add(tp, self.errors))
        return self._tensor(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """tp / (tp + fp): how many predicted positives are positive."""

    _error = "fp"

    @property
    def false_positives(self):
        return self.errors


class Recall(_PrecisionRecall):
    """tp / (tp + fn): how many positives are predicted positive."""

    _error = "fn"

    @property
    def false_negatives(self):
        return self.errors


class AUC(Metric):
    """Area under the ROC or PR curve, by a Riemann sum over `num_thresholds` thresholds:
    i / (num_thresholds - 1) for i = 1..num_thresholds-2, plus -epsilon and 1 + epsilon
    (or the given `thresholds` plus those two). "interpolation" uses trapezoids for ROC
    and Davis & Goadrich's interpolation for PR; "minoring"/"majoring" the lower/upper
    rectangles. `multi_label` computes one AUC per label column and averages them
    (weighted by `label_weights`)."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_distributed(np.array([0.0] + inner + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1; "
                                 f"received num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        eps = config.epsilon()
        self._thresholds = np.array([0.0 - eps] + inner + [1.0 + eps])
        curves = {"roc": "ROC", "pr": "PR"}
        if str(curve).lower() not in curves:
            raise ValueError(f'Invalid AUC curve value: "{curve}"; expected "ROC" or "PR"')
        self.curve = curves[str(curve).lower()]
        if str(summation_method).lower() not in ("interpolation", "majoring", "minoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}"; '
                             f'expected "interpolation", "majoring" or "minoring"')
        self.summation_method = str(summation_method).lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = (None if label_weights is None
                              else np.asarray(label_weights, dtype=np.float64))
        self.from_logits = bool(from_logits)
        self._built = False
        if self.multi_label:
            if num_labels:
                self._build(num_labels)
        elif num_labels:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        else:
            self._build(None)

    @property
    def thresholds(self) -> list[float]:
        return list(self._thresholds)

    def _build(self, num_labels) -> None:
        shape = (self.num_thresholds,) if num_labels is None else (self.num_thresholds,
                                                                   int(num_labels))
        self._num_labels = num_labels
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.true_negatives = self.add_variable(shape, name="true_negatives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if not self._built:
            if len(y_pred.shape) != 2:
                raise ValueError(f"`y_pred` must have rank 2 when `multi_label=True`; "
                                 f"received shape {tuple(y_pred.shape)}")
            self._build(y_pred.shape[1])
        y_true, y_pred = tensors(y_true, y_pred, dtype=self.dtype)
        if self.from_logits:
            y_pred = ops.sigmoid(y_pred)
        positive, y_pred, weight = confusion_inputs(y_true, y_pred, sample_weight,
                                                    dtype=self.dtype)
        if self.label_weights is not None and not self.multi_label:
            weight = ops.multiply(weight, self.label_weights.astype(self.dtype))
        if self._evenly:
            y_pred = ops.clip(y_pred, 0.0, 1.0)     # as Keras's bucketed update does
        counts = threshold_counts(positive, y_pred, weight, self._thresholds,
                                  columns=self.multi_label)
        self.true_positives.assign_add(counts["tp"])
        self.false_positives.assign_add(counts["fp"])
        self.true_negatives.assign_add(counts["tn"])
        self.false_negatives.assign_add(counts["fn"])

    def _average(self, by_label):
        """The AUC of one label, or the (label-weighted) mean over the labels."""
        if not self.multi_label:
            return by_label
        if self.label_weights is None:
            return ops.mean(by_label)
        weights = self.label_weights.astype(self.dtype)
        return ops.divide_no_nan(ops.sum(ops.multiply(by_label, weights)), weights.sum())

    def _interpolate_pr_auc(self, tp, fp, fn):
        """Davis & Goadrich (2006): tp and tp + fp vary linearly between thresholds, so the
        precision integral over each interval has a closed form."""
        dtp = ops.subtract(tp[:-1], tp[1:])
        p = ops.add(tp, fp)
        dp = ops.subtract(p[:-1], p[1:])
        slope = ops.divide_no_nan(dtp, ops.maximum(dp, 0.0))
        intercept = ops.subtract(tp[1:], ops.multiply(slope, p[1:]))
        both_positive = ops.where(ops.greater(p[:-1], 0.0), ops.greater(p[1:], 0.0), False)
        ratio = ops.where(both_positive, ops.divide_no_nan(p[:-1], ops.maximum(p[1:], 0.0)), 1.0)
        # log(1) where the ratio is not taken: log's argument stays positive
        gain = ops.add(dtp, ops.multiply(intercept, ops.log(ops.where(both_positive, ratio, 1.0))))
        increments = ops.divide_no_nan(ops.multiply(slope, gain),
                                   ops.maximum(ops.add(tp[1:], fn[1:]), 0.0))
        return self._average(ops.sum(increments, axis=0))

    def result(self):
        if not self._built:
            return self._tensor(0.0)
        tp, fp, tn, fn = (self.true_positives, self.false_positives, self.true_negatives,
                          self.false_negatives)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._tensor(self._interpolate_pr_auc(tp, fp, fn))
        recall = ops.divide_no_nan(tp, ops.add(tp, fn))
        if self.curve == "ROC":
            x, y = ops.divide_no_nan(fp, ops.add(fp, tn)), recall
        else:
            x, y = recall, ops.divide_no_nan(tp, ops.add(tp, fp))
        if self.summation_method == "interpolation":
            heights = ops.multiply(ops.add(y[:-1], y[1:]), 0.5)
        elif self.summation_method == "minoring":
            heights = ops.minimum(y[:-1], y[1:])
        else:
            heights = ops.maximum(y[:-1], y[1:])
        widths = ops.subtract(x[:-1], x[1:])
        return self._tensor(self._average(ops.sum(ops.multiply(widths, heights), axis=0)))

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": (None if self.label_weights is None
                                    else self.label_weights.tolist()),
                  "from_logits": self.from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
