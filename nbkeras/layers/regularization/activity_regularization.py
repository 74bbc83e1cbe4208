"""ActivityRegularization: identity that adds an L1/L2 penalty on its input to the losses."""
from __future__ import annotations

from dataclasses import dataclass

from ... import regularizers
from ..layer import Layer, require


@dataclass(eq=False)
class ActivityRegularization(Layer):
    """Returns x unchanged and adds l1 * sum(|x|) + l2 * sum(x²) to `losses` on every call,
    as Keras 3 (the loss counts only where losses are minimized, i.e. in training)."""

    _supports_masking_by_default = True

    l1: float = 0.0
    l2: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("l1", "l2"):
            value = getattr(self, name)
            require(self, name, isinstance(value, (int, float)) and not isinstance(value, bool)
                    and value >= 0, "a number >= 0")

    @property
    def activity_regularizer(self):
        return regularizers.L1L2(l1=self.l1, l2=self.l2)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
