"""Lambda: wraps an arbitrary function of tensors as a layer."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from ..layer import Layer, require


@dataclass(eq=False)
class Lambda(Layer):
    """function(x, **arguments) (and `mask=` when the function takes it). Give `output_shape`
    (without the batch axis, or a function of the input shape) when the function cannot run
    on symbolic tensors; `mask` is the output's mask or a function (inputs, mask) -> mask."""

    _supports_masking_by_default = True

    function: object = None
    output_shape: object = None
    mask: object = None
    arguments: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "function", callable(self.function), "a callable")

    def call(self, inputs, mask=None):
        if mask is not None and "mask" in _parameters(self.function):
            return self.function(inputs, mask=mask, **self.arguments)
        return self.function(inputs, **self.arguments)

    def compute_mask(self, inputs, previous_mask):
        """`mask` itself, or `mask(inputs, previous_mask)` when callable (as Keras)."""
        return self.mask(inputs, previous_mask) if callable(self.mask) else self.mask

    def compute_output_shape(self, input_shape):
        if self.output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self.output_shape):
            return self.output_shape(input_shape)
        return (input_shape[0], *self.output_shape)


def _parameters(function) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()
