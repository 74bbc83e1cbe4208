"""Resizing: images to (height, width) by interpolation, optionally cropped or padded first to
the target's aspect ratio."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .... import ops
from ....core.dtype import is_float
from ....ops import image
from ...layer import require
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")


@dataclass(eq=False)
class Resizing(BaseImagePreprocessingLayer):
    """(N, H, W, C) -> (N, height, width, C) (or one image; channels_first alike) by
    `ops.image.resize`, in training and inference ("area" as Keras's TensorFlow backend). Float inputs give the layer's dtype;
    integer inputs keep their dtype (rounded half to even and clipped to its range, as
    Keras). Differentiable in float inputs."""

    height: int
    width: int
    interpolation: str = "bilinear"
    crop_to_aspect_ratio: bool = False
    pad_to_aspect_ratio: bool = False
    fill_mode: str = "constant"
    fill_value: float = 0.0
    antialias: bool = False
    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("height", "width"):
            require(self, name, isinstance(getattr(self, name), (int, np.integer))
                    and getattr(self, name) > 0, "a positive integer")
        require(self, "interpolation", self.interpolation in INTERPOLATIONS,
                f"one of {INTERPOLATIONS}")
        require(self, "fill_mode", self.fill_mode == "constant", "'constant'")
        require(self, "pad_to_aspect_ratio", not (self.pad_to_aspect_ratio
                                                  and self.crop_to_aspect_ratio),
                "False when crop_to_aspect_ratio is True")
        self.antialias = bool(self.antialias)
        self._check_data_format()

    def call(self, inputs, training=True):   # Keras's signature; the same resize either way
        images = self._images(inputs)
        resized = image.resize(images, (self.height, self.width), self.interpolation,
                               self.antialias, self.crop_to_aspect_ratio,
                               self.pad_to_aspect_ratio, self.fill_mode, self.fill_value,
                               self.data_format)
        if is_float(inputs.dtype):
            return resized
        limits = np.iinfo(inputs.dtype)
        return ops.cast(ops.clip(ops.round(resized), limits.min, limits.max), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return resized_shape(self, input_shape, self.height, self.width)


def resized_shape(layer: BaseImagePreprocessingLayer, input_shape, height: int,
                  width: int) -> tuple:
    """input_shape with its spatial sizes set to (height, width)."""
    shape = list(input_shape)
    h_axis, w_axis = layer._spatial_axes(len(shape))
    shape[h_axis], shape[w_axis] = height, width
    return tuple(shape)
