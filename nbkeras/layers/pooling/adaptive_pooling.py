"""AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D: pooling to a fixed output
size whatever the input's spatial size."""
from __future__ import annotations

from dataclasses import dataclass

from ... import config
from ...ops.nn_functions import adaptive_average_pool, adaptive_max_pool
from ..input_spec import InputSpec
from ..layer import Layer, require
from .base_pooling import positive_ints


@dataclass(eq=False)
class BaseAdaptivePooling(Layer):
    """(N, *spatial, C) -> (N, *output_size, C) (channels_first: (N, C, *spatial) -> (N, C,
    *output_size)). Along an axis of n cells, output cell j reduces the input cells
    [floor(j n / out), ceil((j + 1) n / out)), as Keras and PyTorch; bins overlap when out
    does not divide n, and out > n repeats cells. Subclasses set `_rank` and `_pool`."""

    output_size: int | tuple
    data_format: str | None = None    # None: config.image_data_format()

    _rank = 2
    _pool = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.output_size = positive_ints(self, "output_size", self._rank)
        self.data_format = self.data_format or config.image_data_format()
        require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                "'channels_last' or 'channels_first'")
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def _spatial(self, shape) -> tuple:
        return tuple(shape[1:-1] if self.data_format == "channels_last" else shape[2:])

    def call(self, inputs):
        return type(self)._pool(inputs, self.output_size, self.data_format)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self._rank + 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': expects inputs of rank "
                             f"{self._rank + 2}; received input shape {input_shape}")
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)


@dataclass(eq=False)
class AdaptiveAveragePooling1D(BaseAdaptivePooling):
    """The mean of each adaptive bin: (N, steps, C) -> (N, output_size, C)."""

    _rank = 1
    _pool = staticmethod(adaptive_average_pool)


@dataclass(eq=False)
class AdaptiveAveragePooling2D(BaseAdaptivePooling):
    """The mean of each adaptive bin: (N, H, W, C) -> (N, *output_size, C)."""

    _rank = 2
    _pool = staticmethod(adaptive_average_pool)


@dataclass(eq=False)
class AdaptiveAveragePooling3D(BaseAdaptivePooling):
    """The mean of each adaptive bin: (N, D, H, W, C) -> (N, *output_size, C)."""

    _rank = 3
    _pool = staticmethod(adaptive_average_pool)


@dataclass(eq=False)
class AdaptiveMaxPooling1D(BaseAdaptivePooling):
    """The max of each adaptive bin (gradient to the bin's maxima): (N, steps, C) ->
    (N, output_size, C)."""

    _rank = 1
    _pool = staticmethod(adaptive_max_pool)


@dataclass(eq=False)
class AdaptiveMaxPooling2D(BaseAdaptivePooling):
    """The max of each adaptive bin: (N, H, W, C) -> (N, *output_size, C)."""

    _rank = 2
    _pool = staticmethod(adaptive_max_pool)


@dataclass(eq=False)
class AdaptiveMaxPooling3D(BaseAdaptivePooling):
    """The max of each adaptive bin: (N, D, H, W, C) -> (N, *output_size, C)."""

    _rank = 3
    _pool = staticmethod(adaptive_max_pool)
