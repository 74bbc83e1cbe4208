"""CenterCrop: the central (height, width) window of images."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .... import ops
from ....ops import image
from ...layer import require
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer
from .resizing import resized_shape


def crop_window(layer: BaseImagePreprocessingLayer, images, top: int, left: int, height: int,
                width: int):
    """images[..., top:top + height, left:left + width, ...] on the spatial axes."""
    key = [slice(None)] * len(images.shape)
    h_axis, w_axis = layer._spatial_axes(len(images.shape))
    key[h_axis], key[w_axis] = slice(top, top + height), slice(left, left + width)
    return ops.get_item(images, tuple(key))


def crop_and_resize(layer: BaseImagePreprocessingLayer, images, height: int, width: int):
    """Keras's `smart_resize`: the largest centred window of the target's aspect ratio,
    resized (bilinear) to (height, width) unless it already has that size."""
    h_axis, w_axis = layer._spatial_axes(len(images.shape))
    rows, columns = images.shape[h_axis], images.shape[w_axis]
    crop_rows = max(min(rows, int(float(columns * height) / width)), 1)
    crop_columns = max(min(columns, int(float(rows * width) / height)), 1)
    window = crop_window(layer, images, int((rows - crop_rows) / 2),
                         int((columns - crop_columns) / 2), crop_rows, crop_columns)
    if (crop_rows, crop_columns) == (height, width):
        return window
    return image.resize(window, (height, width), data_format=layer.data_format)


@dataclass(eq=False)
class CenterCrop(BaseImagePreprocessingLayer):
    """(N, H, W, C) -> (N, height, width, C) (or one image; channels_first alike), in training
    and inference: the centred window, top-left at ((H - height) // 2, (W - width) // 2);
    an image smaller than the target on either side is first cropped to the target's aspect
    ratio and resized (bilinear), as Keras. Differentiable."""

    height: int
    width: int
    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("height", "width"):
            require(self, name, isinstance(getattr(self, name), (int, np.integer))
                    and getattr(self, name) > 0, "a positive integer")
        self._check_data_format()

    def call(self, inputs, training=True):   # Keras's signature; the same crop either way
        images = self._images(inputs)
        h_axis, w_axis = self._spatial_axes(len(images.shape))
        rows, columns = images.shape[h_axis], images.shape[w_axis]
        if rows >= self.height and columns >= self.width:
            return crop_window(self, images, (rows - self.height) // 2,
                               (columns - self.width) // 2, self.height, self.width)
        return crop_and_resize(self, images, self.height, self.width)

    def compute_output_shape(self, input_shape):
        return resized_shape(self, input_shape, self.height, self.width)
