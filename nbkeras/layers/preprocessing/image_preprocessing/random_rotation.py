"""RandomRotation: each image rotated about its centre by a random angle."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ....core.random import SeedGenerator
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer


def affine_matrix(angle, translate_x, translate_y, scale, shear_x, shear_y, height: int,
                  width: int, center_x: float = 0.5, center_y: float = 0.5) -> np.ndarray:
    """Keras's `_compute_affine_matrix`: (N, 8) matrices (output pixel -> input pixel) of
    scale, then shear, then rotation about the point (center_x (width - 1), center_y
    (height - 1)), then a translation; angles and shears (N,) in degrees."""
    theta, shear_x, shear_y = (np.radians(np.asarray(a, np.float64))
                               for a in (angle, shear_x, shear_y))
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    cos, sin = np.cos(theta), np.sin(theta)
    tan_x, tan_y = np.tan(shear_x), np.tan(shear_y)
    a0 = scale * (cos + tan_x * sin)
    a1 = scale * (-sin + tan_x * cos)
    b0 = scale * (tan_y * cos + sin)
    b1 = scale * (tan_y * -sin + cos)
    a2 = translate_x + cx - cx * a0 - cy * a1
    b2 = translate_y + cy - cx * b0 - cy * b1
    zeros = np.zeros_like(a0)
    return np.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


@dataclass(eq=False)
class RandomRotation(BaseImagePreprocessingLayer):
    """In training, each image of (N, H, W, C) (or one image; channels_first alike) rotated
    about its centre by an angle drawn uniformly in [factor[0], factor[1]] * 360 degrees (a
    number f: [-f, f]; |f| <= 1), resampled by `ops.image.affine_transform` (interpolation
    "bilinear" or "nearest"; fill_mode "reflect", "wrap", "constant" with fill_value, or
    "nearest"). Identity in inference. Same shape; differentiable in the images."""

    factor: float | tuple
    fill_mode: str = "reflect"
    interpolation: str = "bilinear"
    seed: int | None = None
    fill_value: float = 0.0
    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set_factor()
        self._check_resampling()
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"angle": (N,) degrees, "rotation_matrix": (N, 8)}, or None in inference."""
        if not training:
            return None
        n = self._batch_size(images)
        h_axis, w_axis = self._spatial_axes(len(images.shape))
        angle = self._uniform((n,), self.factor[0] * 360.0, self.factor[1] * 360.0)
        zeros = np.zeros(n)
        matrix = affine_matrix(angle, zeros, zeros, np.ones(n), zeros, zeros,
                               images.shape[h_axis], images.shape[w_axis])
        return {"angle": angle, "rotation_matrix": matrix}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        return self._resample(images, transformation["rotation_matrix"])
