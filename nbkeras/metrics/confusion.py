"""Confusion-matrix metrics, as in Keras 3: TruePositives, FalsePositives, TrueNegatives,
FalseNegatives, Precision, Recall, PrecisionAtRecall, RecallAtPrecision,
SensitivityAtSpecificity, SpecificityAtSensitivity and AUC.

All of them accumulate the weighted counts of `threshold_counts`. A prediction counts as
positive at threshold t when it is strictly greater than t; labels count as positive when
nonzero. y_true and y_pred get Keras's rank matching, sample weights are broadcast to y_pred,
`top_k` keeps the k largest predictions of each row (lowest index first on ties), `class_id`
keeps one column. Where the thresholds are evenly spaced over [0, 1] (i / (n - 1), n >= 3),
predictions are first clipped to [0, 1], as Keras's bucketed update does. Counts accumulate
in float Variables.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import config, ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from .metric import Metric, tensors

NEG_INF = -1e10      # Keras's stand-in for "not in the top k" (and the top-k threshold)


def parse_thresholds(thresholds, default: float, owner: str = "") -> list[float]:
    """The thresholds as a list of floats (`default` alone for None); each must be a number
    in [0, 1]. `owner` names the metric in the error."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    invalid = [t for t in values if not isinstance(t, (int, float, np.number))
               or isinstance(t, bool) or not 0 <= t <= 1]
    if invalid or not values:
        prefix = f"{owner}: argument `thresholds`: " if owner else ""
        raise ValueError(f"{prefix}Threshold values must be in [0, 1]; received "
                         f"{invalid if invalid else thresholds!r}")
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
                     dtype="float32", owner: str = "metric"):
    """(positive labels (0/1), predictions, weights) as `dtype` Tensors of y_pred's final
    shape, after Keras's rank matching, top-k filtering and class selection. `owner` names
    the metric in errors."""
    y_true, y_pred, weight = tensors(y_true, y_pred, sample_weight, dtype=dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if not broadcastable(y_true.shape, y_pred.shape):
        raise ValueError(f"{owner}: y_true and y_pred must have the same shape; received "
                         f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}")
    if weight is not None:
        _, weight = squeeze_or_expand_to_same_rank(y_true, ops.expand_dims(weight, -1),
                                                   expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, int(top_k))
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(f"{owner}: when class_id is provided, y_pred must be a 2D array of "
                             f"shape (num_samples, num_classes); received shape {y_pred.shape}")
        if not -y_pred.shape[-1] <= class_id < y_pred.shape[-1]:
            raise ValueError(f"{owner}: class_id must be in [0, {y_pred.shape[-1]}) for y_pred "
                             f"of shape {tuple(y_pred.shape)}; received class_id={class_id}")
        y_true, y_pred = y_true[..., class_id:class_id + 1], y_pred[..., class_id:class_id + 1]
    if weight is not None and not broadcastable(weight.shape, y_pred.shape):
        raise ValueError(f"{owner}: sample_weight of shape {tuple(weight.shape)} does not "
                         f"broadcast to y_pred of shape {tuple(y_pred.shape)}")
    weight = (ops.broadcast_to(ops.convert_to_tensor(1.0, dtype, device=y_pred.device),
                               y_pred.shape) if weight is None
              else ops.broadcast_to(weight, y_pred.shape))
    positive = ops.broadcast_to(ops.cast(ops.not_equal(y_true, 0), dtype), y_pred.shape)
    return positive, y_pred, weight


def broadcastable(shape, target) -> bool:
    """Whether an array of `shape` broadcasts to `target` (numpy's rule, one way)."""
    shape, target = tuple(shape), tuple(target)
    return len(shape) <= len(target) and all(
        a in (1, b) for a, b in zip(shape[::-1], target[::-1]))


def owner_name(metric) -> str:
    """How errors name a metric: `Precision 'precision'`."""
    return f"{type(metric).__name__} '{metric.name}'"


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


def accumulate_counts(metric, accumulators: dict, y_true, y_pred, sample_weight, thresholds,
                      evenly: bool, top_k=None, class_id=None) -> None:
    """Add a batch's weighted counts at `thresholds` to `accumulators` ({"tp": Variable, ...},
    any of tp, fp, tn, fn), as Keras's `update_confusion_matrix_variables`: predictions
    clipped to [0, 1] first where the thresholds are `evenly` spaced."""
    positive, y_pred, weight = confusion_inputs(y_true, y_pred, sample_weight, top_k, class_id,
                                                metric.dtype, owner_name(metric))
    if evenly:
        y_pred = ops.clip(y_pred, 0.0, 1.0)
    counts = threshold_counts(positive, y_pred, weight, thresholds)
    for key, variable in accumulators.items():
        variable.assign_add(counts[key])


class _ConfusionMatrixConditionCount(Metric):
    """One weighted count of the confusion matrix (tp, fp, tn or fn) per threshold, in one
    Variable named "accumulator"; the result is that count (a vector for several
    thresholds)."""

    _condition = ""    # "tp", "fp", "tn" or "fn"

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5, type(self).__name__)
        self._evenly = evenly_distributed(self.thresholds)
        self.accumulator = self.add_variable((len(self.thresholds),), name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        accumulate_counts(self, {self._condition: self.accumulator}, y_true, y_pred,
                          sample_weight, self.thresholds, self._evenly)

    def result(self):
        value = self.accumulator[0] if len(self.thresholds) == 1 else self.accumulator
        return self._tensor(value)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of positives predicted positive."""

    _condition = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of negatives predicted positive."""

    _condition = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of negatives predicted negative."""

    _condition = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of positives predicted negative."""

    _condition = "fn"


class _PrecisionRecall(Metric):
    """Shared state of Precision and Recall: true positives and one error count per threshold."""

    _error = ""    # "fp" (Precision) or "fn" (Recall)

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF,
                                           type(self).__name__)
        self._evenly = evenly_distributed(self.thresholds)
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(size, name="true_positives")
        self.errors = self.add_variable(size, name={"fp": "false_positives",
                                                    "fn": "false_negatives"}[self._error])

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        accumulate_counts(self, {"tp": self.true_positives, self._error: self.errors}, y_true,
                          y_pred, sample_weight, self.thresholds, self._evenly, self.top_k,
                          self.class_id)

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


class SensitivitySpecificityBase(Metric):
    """The four counts at `num_thresholds` thresholds evenly spaced over [0, 1] (0.5 alone for
    num_thresholds=1); subclasses return the best value of one rate among the thresholds where
    another rate reaches `value` (0 where none does)."""

    _value_name = ""      # the constrained rate's argument: "recall", "precision", ...

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        owner = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or not 0 <= value <= 1:
            raise ValueError(f"{owner}: argument `{self._value_name}` must be in the range "
                             f"[0, 1]; received {self._value_name}={value!r}")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) \
                or num_thresholds <= 0:
            raise ValueError(f"{owner}: argument `num_thresholds` must be an integer > 0; "
                             f"received num_thresholds={num_thresholds!r}")
        super().__init__(name=name, dtype=dtype)
        self.value = value
        self.num_thresholds = int(num_thresholds)
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0] + inner + [1.0], True
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(size, name="true_positives")
        self.false_positives = self.add_variable(size, name="false_positives")
        self.true_negatives = self.add_variable(size, name="true_negatives")
        self.false_negatives = self.add_variable(size, name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        accumulate_counts(self, {"tp": self.true_positives, "fp": self.false_positives,
                                 "tn": self.true_negatives, "fn": self.false_negatives},
                          y_true, y_pred, sample_weight, self.thresholds, self._evenly,
                          class_id=self.class_id)

    def _rates(self) -> dict:
        tp, fp, tn, fn = (self.true_positives, self.false_positives, self.true_negatives,
                          self.false_negatives)
        recall = ops.divide_no_nan(tp, ops.add(tp, fn))
        return {"recall": recall, "sensitivity": recall,
                "precision": ops.divide_no_nan(tp, ops.add(tp, fp)),
                "specificity": ops.divide_no_nan(tn, ops.add(tn, fp))}

    def _max_under_constraint(self, constrained: str, dependent: str):
        """max(dependent rate where the constrained rate >= value, else 0)."""
        rates = self._rates()
        feasible = ops.greater_equal(rates[constrained],
                                     np.asarray(self.value, rates[constrained].dtype))
        return self._tensor(ops.max(ops.where(feasible, rates[dependent], 0.0), initial=0.0))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._value_name: self.value}


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """The best sensitivity (recall) among the thresholds whose specificity
    tn / (tn + fp) is at least `specificity`."""

    _value_name = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)
        self.specificity = specificity

    def result(self):
        return self._max_under_constraint("specificity", "sensitivity")


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """The best specificity among the thresholds whose sensitivity (recall) is at least
    `sensitivity`."""

    _value_name = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)
        self.sensitivity = sensitivity

    def result(self):
        return self._max_under_constraint("sensitivity", "specificity")


class PrecisionAtRecall(SensitivitySpecificityBase):
    """The best precision among the thresholds whose recall is at least `recall`."""

    _value_name = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)
        self.recall = recall

    def result(self):
        return self._max_under_constraint("recall", "precision")


class RecallAtPrecision(SensitivitySpecificityBase):
    """The best recall among the thresholds whose precision is at least `precision`."""

    _value_name = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
        self.precision = precision

    def result(self):
        return self._max_under_constraint("precision", "recall")


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
                                                    dtype=self.dtype, owner=owner_name(self))
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
