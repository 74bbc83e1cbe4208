"""GaussianDropout: multiplicative one-centred Gaussian noise in training."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ... import ops
from ...core.random import SeedGenerator
from ...ops.dropout import random_normal
from ..layer import Layer, require


@dataclass(eq=False)
class GaussianDropout(Layer):
    """In training, x * N(1, rate / (1 - rate)) noise per element (the variance of dropout
    at `rate`); identity at inference. Same shape."""

    _supports_masking_by_default = True

    rate: float
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "rate", isinstance(self.rate, (int, float))
                and not isinstance(self.rate, bool) and 0 <= self.rate < 1, "a number in [0, 1)")
        self.seed_generator = SeedGenerator(self.seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = random_normal(inputs.shape, 1.0, stddev, inputs.dtype, self.seed_generator)
        return ops.multiply(inputs, noise)

    def compute_output_shape(self, input_shape):
        return input_shape
