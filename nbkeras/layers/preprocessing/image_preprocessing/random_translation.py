"""RandomTranslation: each image shifted by random fractions of its height and width."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ....core.random import SeedGenerator
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer, factor_pair


@dataclass(eq=False)
class RandomTranslation(BaseImagePreprocessingLayer):
    """In training, each image of (N, H, W, C) (or one image; channels_first alike) shifted
    by dy = H u and dx = W v (output pixel (x, y) reads input (x - dx, y - dy)), u drawn
    uniformly in height_factor's pair and v in width_factor's; a factor f is the pair (-f, f),
    each value in [-1, 1]. Resampled by `ops.image.affine_transform`. Identity in inference.
    Same shape; differentiable in the images."""

    height_factor: float | tuple
    width_factor: float | tuple
    fill_mode: str = "reflect"
    interpolation: str = "bilinear"
    seed: int | None = None
    fill_value: float = 0.0
    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._height_range = factor_pair(self, "height_factor", -1.0, 1.0)
        self._width_range = factor_pair(self, "width_factor", -1.0, 1.0)
        self._check_resampling()
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"translations": (N, 2) pixels [dx, dy]}, or None in inference."""
        if not training:
            return None
        shape = (self._batch_size(images), 1)
        h_axis, w_axis = self._spatial_axes(len(images.shape))
        dy = self._uniform(shape, *self._height_range) * images.shape[h_axis]
        dx = self._uniform(shape, *self._width_range) * images.shape[w_axis]
        return {"translations": np.concatenate([dx, dy], axis=1)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        dx, dy = transformation["translations"].T
        ones, zeros = np.ones_like(dx), np.zeros_like(dx)
        matrices = np.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)
        return self._resample(images, matrices)
