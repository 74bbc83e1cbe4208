"""Softmax: exp(x) / sum(exp(x)) along an axis (or several), with an optional mask."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ... import ops
from ..layer import Layer, require


@dataclass(eq=False)
class Softmax(Layer):
    """Softmax along `axis` (an int or a list of ints, normalized jointly). `mask` (broadcast
    to the input, True or > 0.5 = keep) sets the masked logits to -1e9 (-3e4 in float16) and
    the masked outputs to 0, as Keras 3. Same shape."""

    _supports_masking_by_default = True

    axis: int | list = -1

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.axis, tuple):
            self.axis = list(self.axis)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        require(self, "axis", len(axes) > 0 and all(isinstance(a, int) and not isinstance(a, bool)
                                                    for a in axes),
                "an int or a non-empty list of ints")

    def call(self, inputs, mask=None):
        if mask is None:
            return self._softmax(inputs)
        if len(mask.shape) > len(inputs.shape) or any(
                m not in (1, n) for m, n in zip(mask.shape[::-1], inputs.shape[::-1])):
            raise ValueError(f"Softmax '{self.name}': the mask must broadcast to the inputs; "
                             f"received mask.shape={tuple(mask.shape)}, "
                             f"inputs.shape={tuple(inputs.shape)}")
        keep = mask if str(mask.dtype) == "bool" else ops.greater(mask, 0.5)
        lowest = -3e4 if inputs.dtype == "float16" else -1e9
        outputs = self._softmax(ops.where(keep, inputs, lowest))
        return ops.where(keep, outputs, 0.0)          # a fully masked axis gives zeros

    def _softmax(self, x):
        if not isinstance(self.axis, list):
            return ops.softmax(x, self.axis)
        if len(self.axis) == 1:
            return ops.softmax(x, self.axis[0])
        return self._joint_softmax(x)

    def _joint_softmax(self, x):
        """Softmax over several axes: move them last, merge them, softmax, and undo."""
        rank = len(x.shape)
        axes = sorted({a % rank for a in self.axis})
        perm = tuple(a for a in range(rank) if a not in axes) + tuple(axes)
        moved = ops.transpose(x, perm)
        lead = moved.shape[:rank - len(axes)]
        merged = ops.reshape(moved, (*lead, math.prod(moved.shape[rank - len(axes):])))
        y = ops.reshape(ops.softmax(merged, -1), moved.shape)
        return ops.transpose(y, tuple(int(i) for i in np.argsort(perm)))

    def compute_output_shape(self, input_shape):
        return input_shape
