"""Dropout: zeroes a random fraction of the inputs during training."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ...core.random import SeedGenerator
from ..layer import Layer, require


@dataclass(eq=False)
class Dropout(Layer):
    """In training, each element is zeroed with probability `rate` and the others scaled by
    1 / (1 - rate); `noise_shape` (None entries take the input's size) shares the mask.
    Identity at inference. Same shape in and out."""

    _supports_masking_by_default = True

    rate: float = 0.5
    noise_shape: tuple | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "rate", isinstance(self.rate, (int, float)) and 0 <= self.rate < 1,
                "a number in [0, 1)")
        self.seed_generator = SeedGenerator(self.seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return ops.dropout(inputs, self.rate, self.noise_shape, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape
