"""RandomBrightness: a random offset added to each image."""
from __future__ import annotations

from dataclasses import dataclass

from .... import ops
from ....core.random import SeedGenerator
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer
from .random_contrast import check_value_range


@dataclass(eq=False)
class RandomBrightness(BaseImagePreprocessingLayer):
    """In training, each image of (N, H, W, C) (or one image; channels_first alike) plus
    delta (high - low), delta drawn uniformly in the factor's pair (a number f: (-f, f);
    values in [-1, 1]) and (low, high) = value_range (stored sorted), clipped to value_range.
    Identity in inference. Same shape; differentiable in the images."""

    factor: float | tuple
    value_range: tuple = (0, 255)
    seed: int | None = None
    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set_factor()
        check_value_range(self)
        self.value_range = sorted(self.value_range)
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"rgb_delta": (N, 1, 1, 1) ((1, 1, 1) for one image)}, or None in inference."""
        if not training:
            return None
        shape = (self._batch_size(images), 1, 1, 1)[4 - len(images.shape):]
        low, high = self.value_range
        return {"rgb_delta": self._uniform(shape, *self.factor) * (high - low)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        delta = ops.convert_to_tensor(transformation["rgb_delta"].astype(self.dtype))
        return ops.clip(images + delta, *self.value_range)
