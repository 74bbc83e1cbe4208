"""RandomGrayscale: each image turned grey with probability `factor`."""
from __future__ import annotations

from dataclasses import dataclass

from .... import ops
from ....core.random import SeedGenerator
from ...layer import require
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer, _is_number


@dataclass(eq=False)
class RandomGrayscale(BaseImagePreprocessingLayer):
    """In training, each RGB image of (N, H, W, 3) (or one image; channels_first alike)
    where a uniform draw u < factor becomes its grey level 0.2989 R + 0.5870 G + 0.1140 B
    (`ops.image.rgb_to_grayscale`) in all three channels. Identity in inference. Same shape;
    differentiable in the images."""

    factor: float = 0.5
    data_format: str | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "factor", _is_number(self.factor) and 0 <= self.factor <= 1,
                "a number in [0, 1]")
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """bool (N, 1, 1, 1) ((1, 1, 1) for one image): which images turn grey; None in
        inference."""
        if not training:
            return None
        shape = (self._batch_size(images), 1, 1, 1)[4 - len(images.shape):]
        return self._uniform(shape, 0.0, 1.0) < self.factor

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        grey = ops.image.rgb_to_grayscale(images, data_format=self.data_format)
        return ops.where(ops.convert_to_tensor(transformation), grey, images)
