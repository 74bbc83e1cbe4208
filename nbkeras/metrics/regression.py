"""Regression metrics, as in Keras 3: means of the per-sample regression losses, the root of
the mean squared error, cosine similarity and the coefficient of determination (R2Score)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import config, losses, ops
from ..losses.loss import prepare, squeeze_or_expand_to_same_rank
from .metric import Metric, tensors
from .reduction import Mean, MeanMetricWrapper, SameShapeWrapper


class MeanSquaredError(MeanMetricWrapper):
    """The mean of mean_squared_error over the samples seen."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean of mean_absolute_error over the samples seen."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The mean of mean_absolute_percentage_error over the samples seen."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """The mean of mean_squared_logarithmic_error over the samples seen."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of the elementwise squared errors."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = squeeze_or_expand_to_same_rank(
            *tensors(y_true, y_pred, dtype=self.dtype))
        super().update_state(ops.square(ops.subtract(y_pred, y_true)),
                             sample_weight=sample_weight)

    def result(self):
        return self._tensor(ops.sqrt(ops.divide_no_nan(self.total, self.count)))


def _l2_normalize(x, axis: int):
    """x / max(||x||, epsilon) along `axis` (Keras's `normalize`: x * min(rsqrt(sum x^2),
    1 / epsilon)); a zero vector stays zero."""
    squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.multiply(x, ops.rsqrt(ops.maximum(squares, config.epsilon() ** 2)))


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): +1 for vectors pointing the
    same way (the loss `losses.cosine_similarity` is its negative)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*prepare(y_true, y_pred))
    return ops.sum(ops.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)),
                   axis=axis)


class CosineSimilarity(SameShapeWrapper):
    """The mean cosine similarity between labels and predictions along `axis`."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class LogCoshError(SameShapeWrapper):
    """The mean of log_cosh (log(cosh(y_pred - y_true)) averaged over the last axis)."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


class R2Score(Metric):
    """The coefficient of determination 1 - SS_res / SS_tot of each output column, over all
    the samples seen, from weighted running sums (so batches merge exactly); aggregated over
    the columns by `class_aggregation` ("uniform_average", "variance_weighted_average" or
    None for one score per column); adjusted for `num_regressors` > 0 as
    1 - (1 - R2) (n - 1) / (n - p - 1), where n counts the values seen (Keras counts every
    element of y_true, not the samples). Inputs are (batch, outputs)."""

    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(f"R2Score: invalid value for argument `class_aggregation`; "
                             f"expected one of {self._AGGREGATIONS}; received "
                             f"class_aggregation={class_aggregation!r}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, (int, np.integer)) \
                or num_regressors < 0:
            raise ValueError(f"R2Score: invalid value for argument `num_regressors`; expected "
                             f"an integer >= 0; received num_regressors={num_regressors!r}")
        super().__init__(name=name, dtype=dtype)
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        self.num_samples = self.add_variable((), name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(f"R2Score '{self.name}': expects 2D inputs with shape "
                             f"(batch_size, output_dim); received y_pred.shape={y_pred_shape}"
                             f" and y_true.shape={y_true_shape}")
        columns = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(columns, name="squared_sum")
        self.sum = self.add_variable(columns, name="sum")
        self.total_mse = self.add_variable(columns, name="residual")
        self.count = self.add_variable(columns, name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred, weight = tensors(y_true, y_pred, sample_weight, dtype=self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(tuple(y_true.shape), tuple(y_pred.shape))
        if tuple(y_true.shape) != tuple(y_pred.shape) or y_pred.shape[-1] != self.sum.shape[0]:
            raise ValueError(f"R2Score '{self.name}': y_true and y_pred must have the same "
                             f"shape (batch_size, {self.sum.shape[0]}); received y_true.shape="
                             f"{tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}")
        if weight is None:
            weight = ops.ones_like(y_true)
        else:
            if weight.ndim == 1:
                weight = ops.expand_dims(weight, 1)
            weight = ops.broadcast_to(weight, y_true.shape)
        weighted = ops.multiply(y_true, weight)
        self.sum.assign_add(ops.sum(weighted, axis=0))
        self.squared_sum.assign_add(ops.sum(ops.multiply(y_true, weighted), axis=0))
        residual = ops.square(ops.subtract(y_true, y_pred))
        self.total_mse.assign_add(ops.sum(ops.multiply(residual, weight), axis=0))
        self.count.assign_add(ops.sum(weight, axis=0))
        self.num_samples.assign_add(np.asarray(int(np.prod(y_true.shape)), self.dtype))

    def result(self):
        if not self._built:
            return self._tensor(0.0)
        with np.errstate(divide="ignore", invalid="ignore"):    # 0/0 and x/0, as Keras
            return self._tensor(self._score())

    def _score(self):
        mean = ops.divide(self.sum, self.count)
        total = ops.subtract(self.squared_sum, ops.multiply(self.sum, mean))
        raw = ops.subtract(1.0, ops.divide(self.total_mse, total))
        raw = ops.where(ops.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = ops.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = ops.divide(ops.sum(ops.multiply(total, raw)), ops.sum(total))
        else:
            score = raw
        if self.num_regressors:
            n, p = float(np.asarray(self.num_samples)), float(self.num_regressors)
            if p > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 "
                              "score. Falling back to standard R2 score.", stacklevel=2)
            elif p == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            else:
                score = ops.subtract(1.0, ops.multiply(ops.subtract(1.0, score),
                                                       (n - 1.0) / (n - p - 1.0)))
        return score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
