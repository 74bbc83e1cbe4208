"""BasePooling: the config, validation and shape rule shared by the max and average pooling
layers of every rank."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import config
from ...ops.pooling import pooling_output_shape
from ..input_spec import InputSpec
from ..layer import Layer, as_tuple, require


def positive_ints(layer: Layer, field: str, rank: int) -> tuple[int, ...]:
    """`layer.<field>` (an int or `rank` ints, all positive) as a tuple."""
    value = getattr(layer, field)
    require(layer, field, isinstance(value, (int, np.integer, tuple, list)) and
            not isinstance(value, bool), f"an int or a tuple of {rank} ints")
    values = as_tuple(layer, field, rank)
    require(layer, field, min(values) > 0, "positive")
    return values


@dataclass(eq=False)
class BasePooling(Layer):
    """(N, *spatial, C) -> (N, *out, C) (or channels_first), one reduction per window of
    `pool_size` cells moved by `strides` (None: pool_size). Subclasses set `_rank` (1, 2 or 3)
    and `_pool` (the op function)."""

    pool_size: int | tuple = 2
    strides: int | tuple | None = None
    padding: str = "valid"            # "valid" | "same"
    data_format: str | None = None    # None: config.image_data_format()

    _rank = 2
    _pool = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.pool_size = positive_ints(self, "pool_size", self._rank)
        if self.strides is None:
            self.strides = self.pool_size
        self.strides = positive_ints(self, "strides", self._rank)
        if isinstance(self.padding, str):
            self.padding = self.padding.lower()
        require(self, "padding", self.padding in ("valid", "same"), "'valid' or 'same'")
        self.data_format = self.data_format or config.image_data_format()
        require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                "'channels_last' or 'channels_first'")
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def call(self, inputs):
        return type(self)._pool(inputs, self.pool_size, self.strides, self.padding,
                                self.data_format)

    def compute_output_shape(self, input_shape):
        try:
            return pooling_output_shape(tuple(input_shape), self.pool_size, self.strides,
                                        self.padding, self.data_format)
        except ValueError as error:
            raise ValueError(f"{type(self).__name__} '{self.name}': {error}") from None
