"""Permute: reorders the non-batch axes."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import Layer, require


@dataclass(eq=False)
class Permute(Layer):
    """dims is a 1-indexed permutation of the non-batch axes: Permute((2, 1)) swaps them."""

    dims: tuple = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.dims = tuple(self.dims)
        require(self, "dims", sorted(self.dims) == list(range(1, len(self.dims) + 1)),
                "a permutation of 1..rank-1")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"Permute '{self.name}': dims {self.dims} needs inputs of rank "
                             f"{len(self.dims) + 1}; received input shape {input_shape}")
        return (input_shape[0], *[input_shape[d] for d in self.dims])

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)
        return ops.transpose(inputs, (0, *self.dims))
