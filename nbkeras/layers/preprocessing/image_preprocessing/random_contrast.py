"""RandomContrast: each image's deviations from its mean scaled by a random factor."""
from __future__ import annotations

from dataclasses import dataclass

from .... import ops
from ....core.random import SeedGenerator
from ...layer import require
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer


def check_value_range(layer) -> None:
    value_range = layer.value_range
    require(layer, "value_range", isinstance(value_range, (list, tuple)) and len(value_range) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    for v in value_range), "a pair of numbers")


@dataclass(eq=False)
class RandomContrast(BaseImagePreprocessingLayer):
    """In training, each image of (N, H, W, C) (or one image; channels_first alike) becomes
    (x - m) c + m, m the image's per-channel mean over its pixels, clipped to value_range;
    c is drawn uniformly in [1 - factor[0], 1 + factor[1]] where the factor (a number f or a
    pair in [0, 1]) is stored as Keras stores it: f -> (0, f), so a single number only raises
    contrast (Keras 3.15's code). Identity in inference. Same shape; differentiable in the
    images (the clip has zero slope outside value_range)."""

    factor: float | tuple
    value_range: tuple = (0, 255)
    seed: int | None = None
    data_format: str | None = None

    _FACTOR_BOUNDS = (0.0, 1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set_factor()
        check_value_range(self)
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"contrast_factor": (N, 1, 1, 1) ((1, 1, 1) for one image)}, or None in
        inference."""
        if not training:
            return None
        shape = (self._batch_size(images), 1, 1, 1)[4 - len(images.shape):]
        return {"contrast_factor": self._uniform(shape, 1.0 - self.factor[0],
                                                 1.0 + self.factor[1])}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        factor = ops.convert_to_tensor(transformation["contrast_factor"].astype(self.dtype))
        mean = ops.mean(images, axis=self._spatial_axes(len(images.shape)), keepdims=True)
        return ops.clip((images - mean) * factor + mean, *self.value_range)
