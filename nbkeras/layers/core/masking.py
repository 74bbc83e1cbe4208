"""Masking: marks the time steps whose features all equal `mask_value` as padding."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import Layer


@dataclass(eq=False)
class Masking(Layer):
    """(batch, steps, ...features) -> the same, with the steps whose features all equal
    `mask_value` zeroed and masked: the output's mask (batch, steps) is False there, and the
    layers after it skip those steps."""

    _supports_masking_by_default = True

    mask_value: float = 0.0

    def call(self, inputs):
        keep = ops.any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        outputs = ops.where(keep, inputs, ops.zeros((), inputs.dtype))
        outputs._keras_mask = ops.squeeze(keep, axis=-1)
        return outputs

    def compute_mask(self, inputs, previous_mask):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape
