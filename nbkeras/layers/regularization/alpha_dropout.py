"""AlphaDropout: dropout that keeps SELU's self-normalizing mean and variance."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ...core.random import SeedGenerator
from ...ops.dropout import dropout_keep
from ..layer import Layer, require

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@dataclass(eq=False)
class AlphaDropout(Layer):
    """In training, each element is set with probability `rate` to SELU's saturation value
    alpha' = -scale * alpha, then the result is mapped by a * x + b with
    a = ((1 - rate) * (1 + rate * alpha'²))^-1/2 and b = -a * alpha' * rate, which keeps a
    zero-mean unit-variance input so (Keras's formula). `noise_shape` (None entries take the
    input's size) shares the mask. Identity at inference. Same shape."""

    _supports_masking_by_default = True

    rate: float
    noise_shape: tuple | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "rate", isinstance(self.rate, (int, float))
                and not isinstance(self.rate, bool) and 0 <= self.rate < 1, "a number in [0, 1)")
        self.seed_generator = SeedGenerator(self.seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = tuple(inputs.shape) if self.noise_shape is None else tuple(
            n if m is None else m for n, m in zip(inputs.shape, self.noise_shape))
        kept = dropout_keep(shape, self.rate, inputs.dtype, self.seed_generator)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        # a * (x * kept + alpha_p * (1 - kept)) + b, as one multiply and one add
        multiplier = ops.multiply(kept, a)
        offset = ops.add(ops.multiply(ops.subtract(1.0, kept), a * alpha_p), b)
        return ops.add(ops.multiply(inputs, multiplier), offset)

    def compute_output_shape(self, input_shape):
        return input_shape
