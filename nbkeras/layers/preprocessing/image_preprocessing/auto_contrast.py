"""AutoContrast: each channel of each image stretched to fill the value range."""
from __future__ import annotations

from dataclasses import dataclass

from .... import ops
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer
from .random_contrast import check_value_range


@dataclass(eq=False)
class AutoContrast(BaseImagePreprocessingLayer):
    """(N, H, W, C) (or one image; channels_first alike), in training and inference as
    Keras: each channel of each image mapped linearly so its minimum over the pixels goes to
    value_range[0] and its maximum to value_range[1] (stored sorted); a constant channel is
    left as it is. Values are clipped to value_range. Same shape; differentiable in the
    images (through the minimum and maximum too). Keras 3.15 takes the extremes over axes
    (1, 2) whatever the data_format; here over the spatial axes of the data_format."""

    value_range: tuple = (0, 255)
    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_value_range(self)
        self.value_range = sorted(self.value_range)
        self._check_data_format()

    def get_random_transformation(self, images, training=True):
        return None

    def transform_images(self, images, transformation=None, training=True):
        axes = self._spatial_axes(len(images.shape))
        low = ops.min(images, axis=axes, keepdims=True)
        high = ops.max(images, axis=axes, keepdims=True)
        spread = high - low
        flat = spread <= 0
        lowest, highest = self.value_range
        stretched = (images - low) * ((highest - lowest) / ops.where(flat, 1.0, spread)) + lowest
        return ops.where(flat, images, ops.clip(stretched, lowest, highest))
