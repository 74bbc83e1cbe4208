"""Reshape: gives the non-batch axes a new shape."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ...ops.shape import reshape_target
from ..layer import Layer, require


@dataclass(eq=False)
class Reshape(Layer):
    """(N, *in) -> (N, *target_shape); one entry of target_shape may be -1 (inferred)."""

    target_shape: tuple = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.target_shape = tuple(self.target_shape)
        require(self, "target_shape", all(isinstance(n, int) and (n > 0 or n == -1)
                                          for n in self.target_shape)
                and self.target_shape.count(-1) <= 1,
                "a tuple of positive ints with at most one -1")

    def compute_output_shape(self, input_shape):
        who = f"Reshape '{self.name}'"
        return (input_shape[0], *reshape_target(tuple(input_shape[1:]), self.target_shape, who))

    def call(self, inputs):
        target = self.compute_output_shape(inputs.shape)[1:]
        return ops.reshape(inputs, (-1, *target))
