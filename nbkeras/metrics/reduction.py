"""Mean, Sum and MeanMetricWrapper, as in Keras 3: values weighted by sample_weight (ranks
matched as Keras does), reduced per sample, accumulated in `total` (and `count`)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .metric import Metric, divide_no_nan, no_tape, to_numpy


def same_rank(x1: np.ndarray, x2: np.ndarray, expand_rank_1: bool = True):
    """Keras's `squeeze_or_expand_to_same_rank` on arrays."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def samplewise(values, sample_weight, reduce: Callable):
    """Keras's `reduce_to_samplewise_values`: (weighted values reduced to one per sample,
    the weights reduced alike, or None)."""
    values = np.asarray(to_numpy(values), dtype=np.float64)
    if sample_weight is not None:
        weight = np.asarray(to_numpy(sample_weight), dtype=np.float64)
        values, weight = same_rank(values, weight)
        if values.ndim > weight.ndim:
            values = reduce(values, axis=tuple(range(weight.ndim, values.ndim)))
        weight = np.broadcast_to(weight, values.shape)
        values = values * weight
        if weight.ndim > 1:
            weight = reduce(weight, axis=tuple(range(1, weight.ndim)))
        sample_weight = weight
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values, sample_weight=None) -> None:
        values, _ = samplewise(values, sample_weight, np.sum)
        self.total.assign_add(np.sum(values))

    def result(self):
        return self._tensor(self.total.data)


class Mean(Metric):
    """The (weighted) mean of the values seen: total / count."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None) -> None:
        values, weight = samplewise(values, sample_weight, np.mean)
        self.total.assign_add(np.sum(values))
        if weight is not None:
            self.count.assign_add(np.sum(weight))
        else:
            self.count.assign_add(values.shape[0] if values.ndim else 1)

    def result(self):
        return self._tensor(divide_no_nan(self.total.data, self.count.data))


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
        with no_tape():
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
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
