"""Rescaling: inputs * scale + offset, in training and inference."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import config, ops
from ..layer import Layer, require


@dataclass(eq=False)
class Rescaling(Layer):
    """x (any shape, any numeric dtype) -> x * scale + offset in the layer's dtype. scale
    and offset are numbers or per-channel arrays: (C,) broadcasts against the last axis, or,
    when `nk.config.image_data_format()` is channels_first, against the channel axis of
    images (the third from the end), as Keras. Differentiable in x."""

    _supports_masking_by_default = True

    scale: float | list
    offset: float | list = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("scale", "offset"):
            value = getattr(self, name)
            require(self, name, not isinstance(value, (bool, str))
                    and np.asarray(value).dtype.kind in "iuf", "a number or an array of numbers")

    def _constant(self, value, channel_axis: bool):
        array = np.asarray(value, self.dtype)
        if channel_axis and array.ndim and config.image_data_format() == "channels_first":
            array = array.reshape(array.shape + (1,) * (3 - array.ndim))
        return ops.convert_to_tensor(array)

    def call(self, inputs):
        x = inputs if inputs.dtype == self.dtype else ops.cast(inputs, self.dtype)
        return x * self._constant(self.scale, True) + self._constant(self.offset, False)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)
