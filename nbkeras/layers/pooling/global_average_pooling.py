"""GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D: the mean over all
the spatial axes; the 1-D layer also takes a (N, steps) mask of the steps to average."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ...ops.pooling import average_pool
from .base_global_pooling import BaseGlobalPooling


@dataclass(eq=False)
class GlobalAveragePooling1D(BaseGlobalPooling):
    """(N, steps, C) -> (N, C); with `mask` (N, steps), the mean of the unmasked steps."""

    _supports_masking_by_default = True

    _rank = 1
    _pool = staticmethod(average_pool)

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        steps = 1 if self.data_format == "channels_last" else 2
        weights = ops.expand_dims(ops.cast(ops.cast(mask, "bool"), inputs.dtype), 3 - steps)
        total = ops.sum(ops.multiply(inputs, weights), axis=steps, keepdims=self.keepdims)
        return ops.divide(total, ops.sum(weights, axis=steps, keepdims=self.keepdims))

    def compute_mask(self, inputs, previous_mask):
        return None                                   # the steps are pooled away


@dataclass(eq=False)
class GlobalAveragePooling2D(BaseGlobalPooling):
    """(N, H, W, C) -> (N, C)."""

    _rank = 2
    _pool = staticmethod(average_pool)


@dataclass(eq=False)
class GlobalAveragePooling3D(BaseGlobalPooling):
    """(N, D, H, W, C) -> (N, C)."""

    _rank = 3
    _pool = staticmethod(average_pool)
