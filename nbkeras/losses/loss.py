"""Loss base class and the reductions of Keras 3: per-sample values, times sample weights
(broadcast as Keras does after matching ranks), reduced to one differentiable scalar.

Reductions: "sum_over_batch_size" and "mean" divide the weighted sum by the number of loss
values, "mean_with_sample_weight" by the sum of the sample weights (0 when that is 0),
"sum" is the weighted sum, None / "none" return the weighted values unreduced.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod

from typing import Any, Callable

import numpy as np

from .. import config, ops
from ..core.dtype import is_float, standardize_dtype
from ..core.tensor import Tensor
from ..serialization import snake_case

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`: expected one of "
                         f"{list(REDUCTIONS)}; received reduction={reduction!r}")
    return reduction


def as_float_tensor(x, dtype=None, device=None) -> Tensor:
    """x as a Tensor of `dtype` (default: its own float dtype, floatx for integers); a cast
    of a Tensor is an op, so gradients flow through it. Arrays go to `device` (default: the
    current one); a Tensor stays where it is."""
    if dtype is not None and not isinstance(x, Tensor):
        return ops.convert_to_tensor(x, standardize_dtype(dtype), device=device)  # no float32 detour
    t = x if isinstance(x, Tensor) else ops.convert_to_tensor(x, device=device)
    target = standardize_dtype(dtype) if dtype is not None else (
        t.dtype if is_float(t.dtype) else config.floatx())
    return t if t.dtype == target else ops.cast(t, target)


def prepare(y_true, y_pred) -> tuple[Tensor, Tensor]:
    """(y_true cast to y_pred's dtype and on its device, y_pred as a float Tensor)."""
    y_pred = as_float_tensor(y_pred)
    return as_float_tensor(y_true, y_pred.dtype, y_pred.device), y_pred


def check_same_shape(loss: str, y_true, y_pred) -> None:
    """Raise a ValueError naming `loss` and both arguments unless y_true and y_pred have the
    same shape."""
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"{loss}: y_true and y_pred must have the same shape; received "
                         f"y_true.shape={tuple(y_true.shape)}, "
                         f"y_pred.shape={tuple(y_pred.shape)}")


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1: bool = True):
    """Keras's rank matching: when the ranks differ by one and the longer one ends in a
    size-1 axis, squeeze that axis (or expand a rank-1 partner when `expand_rank_1`)."""
    rank1, rank2 = len(x1.shape), len(x2.shape)
    if rank1 == rank2 + 1 and x1.shape[-1] == 1:
        if rank2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    if rank2 == rank1 + 1 and x2.shape[-1] == 1:
        if rank1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def reduce_values(values: Tensor, sample_weight=None, reduction="sum_over_batch_size"):
    """Keras's `reduce_values`: no reduction for None/"none" or for 0-d or empty values."""
    if reduction in (None, "none") or tuple(values.shape) in ((), (0,)):
        return values
    loss = ops.sum(values)
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            total = float(np.sum(np.asarray(sample_weight, dtype=np.float64)))
            loss = ops.divide(loss, total) if total != 0 else ops.multiply(loss, 0)
        else:
            count = math.prod(values.shape)
            loss = ops.divide(loss, count) if count else ops.multiply(loss, 0)
    return loss


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """values * sample_weight (and mask), reduced; as Keras's `reduce_weighted_values`."""
    reduction = standardize_reduction(reduction)
    values = as_float_tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = as_float_tensor(sample_weight, values.dtype, values.device)
    if mask is not None:
        mask = np.asarray(mask, dtype=values.dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            # valid entries weigh total/valid, so the mean over all is the mean over valid
            valid = mask.sum()
            mask = mask * (mask.size / valid if valid else 0.0)
        mask = ops.convert_to_tensor(mask, values.dtype, device=values.device)
        if sample_weight is None:
            sample_weight = mask
        else:
            mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
            sample_weight = ops.multiply(sample_weight, mask)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = ops.multiply(values, sample_weight)
    return reduce_values(values, sample_weight, reduction)


class Loss(ABC):
    """Base class: subclasses define `call(y_true, y_pred)` returning per-sample losses.

    `loss(y_true, y_pred, sample_weight=None)` casts both to the loss dtype (the given
    `dtype`, else y_pred's float dtype), weights the values and reduces them."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = None if dtype is None else standardize_dtype(dtype)

    @property
    def dtype(self) -> str:
        return self._dtype or config.floatx()

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = getattr(y_pred, "_keras_mask", None)      # masked steps do not count
        y_pred = as_float_tensor(y_pred, self._dtype)
        y_true = as_float_tensor(y_true, y_pred.dtype, y_pred.device)
        values, mask = self.call_with_mask(y_true, y_pred)
        if in_mask is not None:
            in_mask = np.asarray(in_mask, bool)
            mask = in_mask if mask is None else np.logical_and(in_mask, np.asarray(mask, bool))
        return reduce_weighted_values(values, sample_weight, mask, self.reduction,
                                      y_pred.dtype)

    @abstractmethod
    def call(self, y_true, y_pred):
        """The per-sample loss values."""

    def call_with_mask(self, y_true, y_pred) -> tuple[Any, np.ndarray | None]:
        """(per-sample losses, mask of the values that count or None)."""
        return self.call(y_true, y_pred), None

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({fields})"


class LossFunctionWrapper(Loss):
    """A Loss from a function `fn(y_true, y_pred, **kwargs)` of per-sample losses; y_true and
    y_pred get their ranks matched first (Keras's `squeeze_or_expand_to_same_rank`)."""

    def __init__(self, fn: Callable, reduction="sum_over_batch_size", name=None, dtype=None,
                 **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs
        if type(self) is not LossFunctionWrapper:
            for key, value in kwargs.items():      # BinaryCrossentropy().from_logits, ...
                setattr(self, key, value)

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = getattr(self.fn, "__name__", self.fn)
        return {**config, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        config = dict(config)
        if cls is LossFunctionWrapper and isinstance(config.get("fn"), str):
            from . import get
            config["fn"] = get(config["fn"])
        return cls(**config)
