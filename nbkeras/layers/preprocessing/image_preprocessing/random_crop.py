"""RandomCrop: a random (height, width) window of the images in training."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .... import random
from ....ops import image
from ....core.random import SeedGenerator, global_generator
from ...layer import require
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer
from .center_crop import crop_and_resize, crop_window
from .resizing import resized_shape


@dataclass(eq=False)
class RandomCrop(BaseImagePreprocessingLayer):
    """(N, H, W, C) -> (N, height, width, C) (or one image; channels_first alike). In
    training, when H > height and W > width, one window for the whole batch with its top-left
    corner drawn uniformly (top in [0, H - height], left in [0, W - width]); otherwise, and
    in inference, the centred window of the target's aspect ratio resized to the target
    (Keras's `smart_resize`). `seed` None draws one (kept in the config, as Keras).
    Differentiable."""

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

    def call(self, inputs, training=True):
        images = self._images(inputs)
        if not training:
            return crop_and_resize(self, images, self.height, self.width)
        h_axis, w_axis = self._spatial_axes(len(images.shape))
        rows, columns = images.shape[h_axis], images.shape[w_axis]
        if rows > self.height and columns > self.width:
            top, left = (int(float(random.uniform((), 0.0, float(n - size + 1), "float32",
                                                      self.seed_generator)))
                         for n, size in ((rows, self.height), (columns, self.width)))
            return crop_window(self, images, top, left, self.height, self.width)
        # Keras: the target-sized window (clipped to the image) at the offset of the centred
        # aspect-ratio window, resized to the target
        top = int((rows - max(min(rows, int(float(columns * self.height) / self.width)), 1)) / 2)
        left = int((columns - max(min(columns, int(float(rows * self.width) / self.height)),
                                  1)) / 2)
        window = crop_window(self, images, top, left, self.height, self.width)
        if tuple(window.shape[a] for a in (h_axis, w_axis)) == (self.height, self.width):
            return window
        return image.resize(window, (self.height, self.width), data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        return resized_shape(self, input_shape, self.height, self.width)
