"""Identity: returns its input unchanged."""
from __future__ import annotations

from dataclasses import dataclass

from ..layer import Layer


@dataclass(eq=False)
class Identity(Layer):
    """x -> x (any shape)."""

    _supports_masking_by_default = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
