"""Activation: applies an activation function by name or callable."""
from __future__ import annotations

from dataclasses import dataclass

from ... import activations
from ..layer import Layer


@dataclass(eq=False)
class Activation(Layer):
    """activation(x), same shape."""

    _supports_masking_by_default = True

    activation: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.activation = activations.serialize(activations.get(self.activation))

    def call(self, inputs):
        return activations.get(self.activation)(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape
