"""UpSampling1D, UpSampling2D, UpSampling3D: spatial axes scaled by integer factors, cells
repeated ("nearest") or, in 2-D, bilinearly interpolated."""
from __future__ import annotations

from dataclasses import dataclass

from ... import config
from ...ops.resize import upsample
from ..input_spec import InputSpec
from ..layer import Layer, require
from ..pooling.base_pooling import positive_ints
from .zero_padding import spatial_start


@dataclass(eq=False)
class BaseUpSampling(Layer):
    """(N, *spatial, C) -> (N, *(n * size), C) (or channels_first). Subclasses set `_rank`;
    UpSampling1D has no data_format (as in Keras) and is channels_last."""

    size: object = 2
    _rank = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        self._factors = positive_ints(self, "size", self._rank)
        self.size = self._factors[0] if self._rank == 1 else self._factors
        if hasattr(self, "data_format"):
            self.data_format = self.data_format or config.image_data_format()
            require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                    "'channels_last' or 'channels_first'")
        self.input_spec = InputSpec(ndim=self._rank + 2)

    @property
    def _format(self) -> str:
        return getattr(self, "data_format", "channels_last")

    def call(self, inputs):
        return upsample(inputs, self._factors, getattr(self, "interpolation", "nearest"),
                        self._format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, factor in enumerate(self._factors, spatial_start(self._format)):
            shape[axis] = None if shape[axis] is None else shape[axis] * factor
        return tuple(shape)


@dataclass(eq=False)
class UpSampling1D(BaseUpSampling):
    """(N, steps, C) -> (N, steps * size, C): each step repeated `size` times."""

    size: int = 2
    _rank = 1


@dataclass(eq=False)
class UpSampling2D(BaseUpSampling):
    """(N, H, W, C) -> (N, H * size[0], W * size[1], C): rows and columns repeated
    ("nearest") or bilinearly interpolated with Keras 3's half-pixel centres ("bilinear")."""

    size: int | tuple[int, int] = (2, 2)
    data_format: str | None = None
    interpolation: str = "nearest"    # "nearest" | "bilinear"
    _rank = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.interpolation, str):
            self.interpolation = self.interpolation.lower()
        require(self, "interpolation", self.interpolation in ("nearest", "bilinear"),
                "'nearest' or 'bilinear'")


@dataclass(eq=False)
class UpSampling3D(BaseUpSampling):
    """(N, D, H, W, C) -> (N, D * size[0], H * size[1], W * size[2], C), cells repeated."""

    size: int | tuple[int, int, int] = (2, 2, 2)
    data_format: str | None = None
    _rank = 3
