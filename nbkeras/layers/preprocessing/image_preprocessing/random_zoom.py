"""RandomZoom: each image zoomed in or out about its centre by random factors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ....core.random import SeedGenerator
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer, factor_pair


@dataclass(eq=False)
class RandomZoom(BaseImagePreprocessingLayer):
    """In training, each image of (N, H, W, C) (or one image; channels_first alike) scaled
    about its centre: output pixel (x, y) reads input (zx (x - cx) + cx, zy (y - cy) + cy),
    cx = (W - 1) / 2, cy = (H - 1) / 2, with zy drawn uniformly in 1 + height_factor's pair
    and zx in 1 + width_factor's (None: zx = zy); a factor f is the pair (-f, f), each value
    in (-1, 1] (positive: zoom out). Resampled by `ops.image.affine_transform`. Identity in
    inference. Same shape; differentiable in the images."""

    height_factor: float | tuple
    width_factor: float | tuple | None = None
    fill_mode: str = "reflect"
    interpolation: str = "bilinear"
    seed: int | None = None
    fill_value: float = 0.0
    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._height_range = factor_pair(self, "height_factor", -1.0, 1.0, low_open=True)
        self._width_range = (None if self.width_factor is None else
                             factor_pair(self, "width_factor", -1.0, 1.0, low_open=True))
        self._check_resampling()
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"height_zoom": (N, 1), "width_zoom": (N, 1)}, or None in inference."""
        if not training:
            return None
        shape = (self._batch_size(images), 1)
        height_zoom = self._uniform(shape, 1.0 + self._height_range[0],
                                    1.0 + self._height_range[1])
        width_zoom = height_zoom if self._width_range is None else self._uniform(
            shape, 1.0 + self._width_range[0], 1.0 + self._width_range[1])
        return {"height_zoom": height_zoom, "width_zoom": width_zoom}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        h_axis, w_axis = self._spatial_axes(len(images.shape))
        zx, zy = transformation["width_zoom"][:, 0], transformation["height_zoom"][:, 0]
        x_offset = (images.shape[w_axis] - 1.0) / 2.0 * (1.0 - zx)
        y_offset = (images.shape[h_axis] - 1.0) / 2.0 * (1.0 - zy)
        zeros = np.zeros_like(zx)
        matrices = np.stack([zx, zeros, x_offset, zeros, zy, y_offset, zeros, zeros], axis=1)
        return self._resample(images, matrices)
