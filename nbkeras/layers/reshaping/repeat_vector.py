"""RepeatVector: repeats a vector n times."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import Layer, require


@dataclass(eq=False)
class RepeatVector(Layer):
    """(N, F) -> (N, n, F)."""

    n: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "n", isinstance(self.n, int) and self.n > 0, "a positive integer")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"RepeatVector '{self.name}': expects inputs of rank 2 (batch, "
                             f"features); received input shape {input_shape}")
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)
        batch, features = inputs.shape
        return ops.broadcast_to(ops.expand_dims(inputs, 1), (batch, self.n, features))
