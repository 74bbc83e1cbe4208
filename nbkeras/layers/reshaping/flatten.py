"""Flatten: folds every axis but the batch axis into one."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ... import config, ops
from ..layer import Layer, require


@dataclass(eq=False)
class Flatten(Layer):
    """(N, d1, ..., dk) -> (N, d1 * ... * dk); channels_first inputs are first moved to
    channels_last order, so the features line up with Keras's."""

    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.data_format = self.data_format or config.image_data_format()
        require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                "'channels_last' or 'channels_first'")

    def call(self, inputs):
        if self.data_format == "channels_first" and len(inputs.shape) > 2:
            inputs = ops.transpose(inputs, (0, *range(2, len(inputs.shape)), 1))
        return ops.reshape(inputs, (-1, self._features(inputs.shape)))

    def _features(self, shape) -> int:
        if any(n is None for n in shape[1:]):
            raise ValueError(f"Flatten '{self.name}': the non-batch axes must be known; "
                             f"received input shape {shape}")
        return math.prod(shape[1:])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self._features(input_shape))
