"""ELU: the exponential linear unit."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import Layer, require


@dataclass(eq=False)
class ELU(Layer):
    """x for x > 0, alpha * (exp(x) - 1) otherwise. Same shape."""

    _supports_masking_by_default = True

    alpha: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "alpha", isinstance(self.alpha, (int, float))
                and not isinstance(self.alpha, bool), "a number")

    def call(self, inputs):
        return ops.elu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape
