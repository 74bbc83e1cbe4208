"""Softmax: exp(x) / sum(exp(x)) along an axis (or several), with an optional mask."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ... import ops
from ..layer import Layer, require


@dataclass(eq=False)
class Softmax(Layer):
    """Softmax along `axis` (an int or a list of ints, normalized jointly). `mask` (same shape
    as the input, True = keep) adds -1e9 to the masked logits first, as Keras. Same shape."""

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
        if mask is not None:
            keep = np.asarray(mask).astype(inputs.dtype)
            inputs = ops.add(inputs, ((1.0 - keep) * -1e9).astype(inputs.dtype))
        if not isinstance(self.axis, list):
            return ops.softmax(inputs, self.axis)
        if len(self.axis) == 1:
            return ops.softmax(inputs, self.axis[0])
        return self._joint_softmax(inputs)

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
