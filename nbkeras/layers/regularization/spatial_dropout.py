"""SpatialDropout1D/2D/3D: dropout of whole feature maps (channels)."""
from __future__ import annotations

from dataclasses import dataclass

from ... import config, ops
from ...core.random import SeedGenerator
from ..input_spec import InputSpec
from ..layer import Layer, require


@dataclass(eq=False)
class _SpatialDropout(Layer):
    """In training, each (example, channel) feature map is zeroed with probability `rate` and
    the others scaled by 1 / (1 - rate). Identity at inference. Same shape."""

    rank = 0   # spatial axes (class attribute, not config)

    def _setup(self) -> None:
        require(self, "rate", isinstance(self.rate, (int, float)) and not isinstance(self.rate, bool)
                and 0 <= self.rate < 1, "a number in [0, 1)")
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.seed_generator = SeedGenerator(self.seed)

    def _channels_first(self) -> bool:
        return False

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        ones = (1,) * self.rank
        noise_shape = ((None, None, *ones) if self._channels_first() else (None, *ones, None))
        return ops.dropout(inputs, self.rate, noise_shape, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape


@dataclass(eq=False)
class SpatialDropout1D(_SpatialDropout):
    """(N, steps, channels): drops whole channels (Keras has no data_format here)."""

    rate: float
    seed: int | None = None
    rank = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        self._setup()


@dataclass(eq=False)
class _SpatialDropoutND(_SpatialDropout):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.data_format = self.data_format or config.image_data_format()
        require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                "'channels_last' or 'channels_first'")
        self._setup()

    def _channels_first(self) -> bool:
        return self.data_format == "channels_first"


@dataclass(eq=False)
class SpatialDropout2D(_SpatialDropoutND):
    """(N, H, W, C) or (N, C, H, W) (channels_first): drops whole (H, W) maps."""

    rate: float
    data_format: str | None = None
    seed: int | None = None
    rank = 2


@dataclass(eq=False)
class SpatialDropout3D(_SpatialDropoutND):
    """(N, D, H, W, C) or (N, C, D, H, W) (channels_first): drops whole (D, H, W) maps."""

    rate: float
    data_format: str | None = None
    seed: int | None = None
    rank = 3
