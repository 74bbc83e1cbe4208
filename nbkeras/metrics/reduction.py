"""Mean, Sum and MeanMetricWrapper, as in Keras 3: values weighted by sample_weight (ranks
matched as Keras does), reduced per sample, accumulated in `total` (and `count`)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import ops
from ..losses.loss import squeeze_or_expand_to_same_rank
from .metric import Metric, tensors


def samplewise(values, sample_weight, reduce: Callable):
    """Keras's `reduce_to_samplewise_values` on Tensors: (weighted values reduced to one per
    sample, the weights reduced alike, or None). `reduce` is ops.sum or ops.mean."""
    if sample_weight is not None:
        values, weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        if values.ndim > weight.ndim:
            values = reduce(values, axis=tuple(range(weight.ndim, values.ndim)))
        if weight.shape != values.shape:
            weight = ops.broadcast_to(weight, values.shape)
        values = ops.multiply(values, weight)
        if weight.ndim > 1:
            weight = reduce(weight, axis=tuple(range(1, weight.ndim)))
        sample_weight = weight
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


def summed(values):
    """The sum of all the values (a 0-d Tensor is its own sum: no op to run)."""
    return values if values.ndim == 0 else ops.sum(values)


class Sum(Metric):
    """The (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None) -> None:
        values, weight = tensors(values, sample_weight, dtype=self.dtype)
        values, _ = samplewise(values, weight, ops.sum)
        self.total.assign_add(summed(values))

    def result(self):
        return self._tensor(self.total)


class Mean(Metric):
    """The (weighted) mean of the values seen: total / count."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None) -> None:
        values, weight = tensors(values, sample_weight, dtype=self.dtype)
        values, weight = samplewise(values, weight, ops.mean)
        self.total.assign_add(summed(values))
        if weight is not None:
            self.count.assign_add(summed(weight))
        else:
            self.count.assign_add(np.asarray(values.shape[0] if values.ndim else 1,
                                             self.dtype))

    def result(self):
        return self._tensor(ops.divide_no_nan(self.total, self.count))


class MeanMetricWrapper(Mean):
    """The mean of `fn(y_true, y_pred, **kwargs)`, a function of per-sample values."""

    def __init__(self, fn: Callable, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None) or "mean_metric_wrapper",
                         dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if type(self) is not MeanMetricWrapper:
            for key, value in kwargs.items():       # BinaryAccuracy().threshold, ...
                setattr(self, key, value)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        mask = getattr(y_pred, "_keras_mask", None)      # masked steps do not count (Keras)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            mask, weight = tensors(mask, sample_weight, dtype=values.dtype)
            if weight is not None:
                mask, weight = squeeze_or_expand_to_same_rank(mask, weight)
                while len(weight.shape) < len(mask.shape):   # per-sample weights (Keras
                    weight = ops.expand_dims(weight, -1)     # fails to broadcast these)
                mask = ops.multiply(weight, mask)
            sample_weight = mask
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self._fn, "__name__", self._fn)
        return {**config, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        config = dict(config)
        if cls is MeanMetricWrapper and isinstance(config.get("fn"), str):
            from . import function_by_name
            config["fn"] = function_by_name(config["fn"])
        return cls(**config)


class SameShapeWrapper(MeanMetricWrapper):
    """A MeanMetricWrapper whose y_true and y_pred must have one shape after Keras's rank
    matching (else a ValueError naming the metric and both shapes)."""

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = tensors(y_true, y_pred)
        matched = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if tuple(matched[0].shape) != tuple(matched[1].shape):
            raise ValueError(f"{type(self).__name__} '{self.name}': y_true and y_pred must "
                             f"have the same shape; received y_true.shape="
                             f"{tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}")
        super().update_state(y_true, y_pred, sample_weight=sample_weight)
