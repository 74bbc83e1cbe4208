"""BaseGlobalPooling: one window over all the spatial axes, for every rank."""
from __future__ import annotations

from dataclasses import dataclass

from ... import config, ops
from ..input_spec import InputSpec
from ..layer import Layer, require


@dataclass(eq=False)
class BaseGlobalPooling(Layer):
    """(N, *spatial, C) -> (N, C), or (N, 1, ..., 1, C) with keepdims (channels_first:
    (N, C, *spatial) -> (N, C) or (N, C, 1, ..., 1)). Subclasses set `_rank` and `_pool` (the
    pooling op, run with one window covering the whole input: faster than numpy's
    multi-axis reductions, forward and backward)."""

    data_format: str | None = None
    keepdims: bool = False

    _rank = 2
    _pool = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.data_format = self.data_format or config.image_data_format()
        require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                "'channels_last' or 'channels_first'")
        require(self, "keepdims", isinstance(self.keepdims, bool), "True or False")
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def _spatial(self, shape) -> tuple:
        return tuple(shape[1:-1] if self.data_format == "channels_last" else shape[2:])

    def call(self, inputs):
        spatial = self._spatial(inputs.shape)
        pooled = type(self)._pool(inputs, spatial, spatial, "valid", self.data_format)
        return pooled if self.keepdims else ops.reshape(pooled, self.compute_output_shape(
            inputs.shape))

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        if not self.keepdims:
            return (input_shape[0], channels)
        ones = (1,) * self._rank
        if self.data_format == "channels_last":
            return (input_shape[0], *ones, channels)
        return (input_shape[0], channels, *ones)
