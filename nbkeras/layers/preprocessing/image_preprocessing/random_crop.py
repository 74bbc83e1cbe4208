"""RandomCrop: a random (height, width) window of the images in training."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ....ops import image
from ....core.random import SeedGenerator, global_generator
from ...layer import require
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer
from .center_crop import crop_and_resize, crop_window
from .resizing import resized_shape


@dataclass(eq=False)
class RandomCrop(BaseImagePreprocessingLayer):
    """(N, H, W, C) -> (N, height, width, C) (or one image; channels_first alike). In
    training, the target-sized window at a corner (top, left) drawn once per batch: uniformly
    (top in [0, H - height], left in [0, W - width]) when H > height and W > width,
    otherwise (as Keras) the corner of the centred window of the target's aspect ratio, the
    window clipped to the image and resized to the target. In inference, the centred window
    of the target's aspect ratio resized to the target (`smart_resize`, as Keras documents;
    Keras 3.15's code returns the input unchanged, a shape its compute_output_shape does not
    promise). `seed` None draws one (kept in the config, as Keras). Differentiable."""

    height: int
    width: int
    seed: int | None = None
    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("height", "width"):
            require(self, name, isinstance(getattr(self, name), (int, np.integer))
                    and getattr(self, name) > 0, "a positive integer")
        self._check_data_format()
        if self.seed is None:
            self.seed = int(global_generator().integers(2**31))
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """(top, left) of the window, or None in inference."""
        if not training:
            return None
        h_axis, w_axis = self._spatial_axes(len(images.shape))
        rows, columns = images.shape[h_axis], images.shape[w_axis]
        if rows > self.height and columns > self.width:
            return tuple(int(self._uniform((), 0.0, float(n - size + 1)))
                         for n, size in ((rows, self.height), (columns, self.width)))
        crop_rows = max(min(rows, int(float(columns * self.height) / self.width)), 1)
        crop_columns = max(min(columns, int(float(rows * self.width) / self.height)), 1)
        return int((rows - crop_rows) / 2), int((columns - crop_columns) / 2)

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return crop_and_resize(self, images, self.height, self.width)
        window = crop_window(self, images, *transformation, self.height, self.width)
        h_axis, w_axis = self._spatial_axes(len(images.shape))
        if (window.shape[h_axis], window.shape[w_axis]) == (self.height, self.width):
            return window
        return image.resize(window, (self.height, self.width), data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        return resized_shape(self, input_shape, self.height, self.width)
