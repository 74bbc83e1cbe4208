"""F-scores, as in Keras 3: FBetaScore and F1Score from weighted per-class counts of true
positives, false positives and false negatives (so batches merge exactly).

Inputs are (batch, classes). A prediction is positive above `threshold`; with threshold=None
the largest prediction(s) of each row are positive (when not ~0). Sample weights are one per
sample. `average`: None (one score per class), "micro" (counts summed over classes first),
"macro" (mean of the class scores) or "weighted" (class scores weighted by the weighted
number of true instances of each class).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import config, ops
from .confusion import owner_name
from .metric import Metric, tensors


class FBetaScore(Metric):
    """(1 + beta^2) P R / (beta^2 P + R), with epsilon in each denominator as Keras."""

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        owner = type(self).__name__
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{owner}: invalid `average` argument value; expected one of "
                             f"{{None, 'micro', 'macro', 'weighted'}}; received "
                             f"average={average!r}")
        if not isinstance(beta, float) or not beta > 0.0:
            raise ValueError(f"{owner}: invalid `beta` argument value; it should be a Python "
                             f"float > 0; received beta={beta!r}")
        if threshold is not None and (not isinstance(threshold, float)
                                      or not 0.0 < threshold <= 1.0):
            raise ValueError(f"{owner}: invalid `threshold` argument value; it should be a "
                             f"Python float with 0 < threshold <= 1; received "
                             f"threshold={threshold!r}")
        super().__init__(name=name, dtype=dtype)
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(f"{owner_name(self)}: expects 2D inputs with shape (batch_size, "
                             f"output_dim); received y_pred.shape={y_pred_shape} and "
                             f"y_true.shape={y_true_shape}")
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, name="intermediate_weights")
        self._classes = y_pred_shape[-1]
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred, weight = tensors(y_true, y_pred, sample_weight, dtype=self.dtype)
        if not self._built:
            self._build(tuple(y_true.shape), tuple(y_pred.shape))
        if tuple(y_true.shape) != tuple(y_pred.shape) or y_pred.shape[-1:] != (self._classes,):
            raise ValueError(f"{owner_name(self)}: y_true and y_pred must have the same shape "
                             f"(batch_size, {self._classes}); received y_true.shape="
                             f"{tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}")
        if self.threshold is None:
            top = ops.max(y_pred, axis=-1, keepdims=True)
            predicted = ops.logical_and(ops.greater_equal(y_pred, top),
                                        ops.greater(ops.abs(y_pred), 1e-9))
        else:
            predicted = ops.greater(y_pred, np.asarray(self.threshold, self.dtype))
        predicted = ops.cast(predicted, self.dtype)
        if weight is not None:
            if int(np.prod(weight.shape)) != y_pred.shape[0]:
                raise ValueError(f"{owner_name(self)}: sample_weight must hold one weight per "
                                 f"sample ({y_pred.shape[0]}); received shape "
                                 f"{tuple(weight.shape)}")
            weight = ops.reshape(weight, (-1, 1))

        def weighted_sum(values):
            if weight is not None:
                values = ops.multiply(values, weight)
            return ops.sum(values, axis=self.axis)

        missed = ops.subtract(1.0, predicted)
        self.true_positives.assign_add(weighted_sum(ops.multiply(predicted, y_true)))
        self.false_positives.assign_add(
            weighted_sum(ops.multiply(predicted, ops.subtract(1.0, y_true))))
        self.false_negatives.assign_add(weighted_sum(ops.multiply(missed, y_true)))
        self.intermediate_weights.assign_add(weighted_sum(y_true))

    def result(self):
        if not self._built:
            return self._tensor(0.0)
        eps = config.epsilon()
        tp = self.true_positives
        precision = ops.divide(tp, ops.add(ops.add(tp, self.false_positives), eps))
        recall = ops.divide(tp, ops.add(ops.add(tp, self.false_negatives), eps))
        beta2 = self.beta ** 2
        score = ops.multiply(
            ops.divide(ops.multiply(precision, recall),
                       ops.add(ops.add(ops.multiply(precision, beta2), recall), eps)),
            1.0 + beta2)
        if self.average == "weighted":
            weights = ops.divide(self.intermediate_weights,
                                 ops.add(ops.sum(self.intermediate_weights), eps))
            score = ops.sum(ops.multiply(score, weights))
        elif self.average is not None:
            score = ops.mean(score)
        return self._tensor(score)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F-score with beta = 1: 2 P R / (P + R)."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
