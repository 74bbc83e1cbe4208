"""LeakyReLU: x for x >= 0, negative_slope * x below."""
from __future__ import annotations

import warnings
from dataclasses import InitVar, dataclass, field

from ... import ops
from ..layer import Layer, require
from .relu import non_negative


@dataclass(eq=False)
class LeakyReLU(Layer):
    """x for x >= 0, negative_slope * x otherwise. Same shape. `alpha` is the older name of
    `negative_slope` (accepted with a warning, as in Keras 3, and not kept in the config)."""

    _supports_masking_by_default = True

    negative_slope: float = 0.3
    alpha: InitVar[float | None] = field(default=None, kw_only=True)

    def __post_init__(self, alpha) -> None:
        super().__post_init__()
        if alpha is not None:
            warnings.warn("LeakyReLU: argument `alpha` is deprecated; use `negative_slope`",
                          DeprecationWarning, stacklevel=3)
            self.negative_slope = alpha
        require(self, "negative_slope", non_negative(self.negative_slope), "a number >= 0")

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("alpha", None)
        return config
