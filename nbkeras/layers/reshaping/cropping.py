"""Cropping1D, Cropping2D, Cropping3D: cells removed from the ends of the spatial axes."""
from __future__ import annotations

from dataclasses import dataclass

from ... import config
from ...ops.padding import crop
from ..input_spec import InputSpec
from ..layer import Layer, require
from .zero_padding import full_pairs, spatial_pairs, spatial_start


@dataclass(eq=False)
class BaseCropping(Layer):
    """(N, *spatial, C) -> (N, *(n - before - after), C) (or channels_first). Subclasses set
    `_rank`; Cropping1D has no data_format (as in Keras) and is channels_last."""

    cropping: object = 1
    _rank = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        self.cropping, self._pairs = spatial_pairs(self, "cropping", self._rank)
        if hasattr(self, "data_format"):
            self.data_format = self.data_format or config.image_data_format()
            require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                    "'channels_last' or 'channels_first'")
        self.input_spec = InputSpec(ndim=self._rank + 2)

    @property
    def _format(self) -> str:
        return getattr(self, "data_format", "channels_last")

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)
        return crop(inputs, full_pairs(self._pairs, self._format))

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        start = spatial_start(self._format)
        for axis, (before, after) in enumerate(self._pairs, start):
            if shape[axis] is None:
                continue
            if before + after >= shape[axis]:
                raise ValueError(f"{type(self).__name__} '{self.name}': cropping "
                                 f"{self.cropping} removes all {shape[axis]} cells of axis "
                                 f"{axis}; received input shape {tuple(input_shape)}")
            shape[axis] -= before + after
        return tuple(shape)


@dataclass(eq=False)
class Cropping1D(BaseCropping):
    """(N, steps, C) -> (N, steps - before - after, C); cropping: int or (before, after)."""

    cropping: int | tuple[int, int] = (1, 1)
    _rank = 1


@dataclass(eq=False)
class Cropping2D(BaseCropping):
    """(N, H, W, C) -> (N, H - top - bottom, W - left - right, C); cropping: int, (h, w) or
    ((top, bottom), (left, right))."""

    cropping: int | tuple = ((0, 0), (0, 0))
    data_format: str | None = None
    _rank = 2


@dataclass(eq=False)
class Cropping3D(BaseCropping):
    """(N, D, H, W, C) -> cropped (N, D', H', W', C); cropping: int, 3 ints or 3 pairs."""

    cropping: int | tuple = ((1, 1), (1, 1), (1, 1))
    data_format: str | None = None
    _rank = 3
