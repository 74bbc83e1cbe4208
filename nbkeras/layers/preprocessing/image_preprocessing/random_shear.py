"""RandomShear: each image sheared along x and y by random factors."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ....core.random import SeedGenerator
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer, factor_pair


@dataclass(eq=False)
class RandomShear(BaseImagePreprocessingLayer):
    """In training, each image of (N, H, W, C) (or one image; channels_first alike) sheared
    about the origin (the top-left pixel), as Keras: output pixel (x, y) reads input
    (x + sx y, sy x + y), with sx drawn uniformly in x_factor's pair and sy in y_factor's
    (a factor f in [0, 1] is the pair (-f, f); a pair has values in [-1, 1]), both negated
    for an image whose coin u > 0.5. Resampled by `ops.image.affine_transform`. Identity in
    inference. Same shape; differentiable in the images."""

    x_factor: float | tuple = 0.0
    y_factor: float | tuple = 0.0
    interpolation: str = "bilinear"
    fill_mode: str = "reflect"
    fill_value: float = 0.0
    data_format: str | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        # stored as the pair, Keras's config; a pair may reach -1 so that the config of
        # x_factor=f, (-f, f), builds the layer again (Keras's own from_config rejects it)
        for name in ("x_factor", "y_factor"):
            value = getattr(self, name)
            low = -1.0 if isinstance(value, (list, tuple)) else 0.0
            setattr(self, name, factor_pair(self, name, low, 1.0))
        self._check_resampling()
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"shear_factor": (N, 2) [sx, sy]}, or None in inference."""
        if not training:
            return None
        shape = (self._batch_size(images), 1)
        invert = np.where(self._uniform(shape, 0.0, 1.0) > 0.5, -1.0, 1.0)
        shear_y = self._uniform(shape, *self.y_factor)
        shear_x = self._uniform(shape, *self.x_factor)
        return {"shear_factor": np.concatenate([shear_x, shear_y], axis=1) * invert}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        shear_x, shear_y = transformation["shear_factor"].T
        ones, zeros = np.ones_like(shear_x), np.zeros_like(shear_x)
        matrices = np.stack([ones, shear_x, zeros, shear_y, ones, zeros, zeros, zeros], axis=1)
        return self._resample(images, matrices)
