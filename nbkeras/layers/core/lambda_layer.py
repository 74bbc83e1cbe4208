"""Lambda: wraps an arbitrary function of tensors as a layer."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..layer import Layer, require


@dataclass(eq=False)
class Lambda(Layer):
    """function(x, **arguments). Give `output_shape` (without the batch axis, or a function
    of the input shape) when the function cannot run on symbolic tensors."""

    function: object = None
    output_shape: object = None
    mask: object = None
    arguments: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "function", callable(self.function), "a callable")

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self.output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self.output_shape):
            return self.output_shape(input_shape)
        return (input_shape[0], *self.output_shape)
