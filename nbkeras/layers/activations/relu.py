"""ReLU: the rectified linear unit with optional cap, leak and threshold."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import Layer, require


def non_negative(value, allow_none: bool = False) -> bool:
    if value is None:
        return allow_none
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


@dataclass(eq=False)
class ReLU(Layer):
    """max_value for x >= max_value, x for threshold <= x < max_value,
    negative_slope * (x - threshold) otherwise. Same shape."""

    _supports_masking_by_default = True

    max_value: float | None = None
    negative_slope: float = 0.0
    threshold: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "max_value", non_negative(self.max_value, allow_none=True),
                "None or a number >= 0")
        require(self, "negative_slope", non_negative(self.negative_slope), "a number >= 0")
        require(self, "threshold", non_negative(self.threshold), "a number >= 0")

    def call(self, inputs):
        return ops.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape
