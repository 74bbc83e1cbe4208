"""ThresholdedReLU: x where x > theta, 0 elsewhere (Keras 2's layer)."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import Layer, require
from .relu import non_negative


@dataclass(eq=False)
class ThresholdedReLU(Layer):
    """x for x > theta, 0 otherwise (at x == theta too, as Keras 2). Same shape."""

    theta: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "theta", non_negative(self.theta), "a number >= 0")

    def call(self, inputs):
        above = ops.cast(ops.greater(inputs, self.theta), inputs.dtype)
        return ops.multiply(inputs, above)

    def compute_output_shape(self, input_shape):
        return input_shape
