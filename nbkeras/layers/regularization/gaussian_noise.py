"""GaussianNoise: additive zero-centred Gaussian noise in training."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ...core.random import SeedGenerator
from ...ops.dropout import random_normal
from ..layer import Layer, require


@dataclass(eq=False)
class GaussianNoise(Layer):
    """In training, x + N(0, stddev²) noise per element; identity at inference. Same shape.
    stddev in [0, 1], as Keras 3 checks."""

    _supports_masking_by_default = True

    stddev: float
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "stddev", isinstance(self.stddev, (int, float))
                and not isinstance(self.stddev, bool) and 0 <= self.stddev <= 1,
                "a number in [0, 1]")
        self.seed_generator = SeedGenerator(self.seed)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = random_normal(inputs.shape, 0.0, self.stddev, inputs.dtype, self.seed_generator)
        return ops.add(inputs, noise)

    def compute_output_shape(self, input_shape):
        return input_shape
