"""Regression metrics, as in Keras 3: means of the per-sample regression losses, and the
root of the mean squared error."""
from __future__ import annotations

from .. import losses, ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from .metric import tensors
from .reduction import Mean, MeanMetricWrapper


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
