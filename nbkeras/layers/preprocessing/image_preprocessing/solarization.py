"""Solarization: pixels above a random threshold inverted, after a random brightening."""
from __future__ import annotations

from dataclasses import dataclass

from .... import ops
from ....core.random import SeedGenerator
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer, factor_pair
from .random_contrast import check_value_range


@dataclass(eq=False)
class Solarization(BaseImagePreprocessingLayer):
    """In training, each image of (N, H, W, C) (or one image; channels_first alike) is
    mapped to [0, 255] from value_range (stored sorted), raised by an addition a and clipped
    to [0, 255]; values v >= a threshold t become 255 - v; then mapped back. a is drawn
    uniformly in [addition_factor[0], 255 addition_factor[1]] and t in [threshold_factor[0],
    255 threshold_factor[1]] (Keras scales only the upper end); a factor f in [0, 1] is the
    pair (0, f), a pair has values in [0, 1]. Identity in inference. Same shape;
    differentiable in the images."""

    addition_factor: float | tuple = 0.0
    threshold_factor: float | tuple = 0.0
    value_range: tuple = (0, 255)
    seed: int | None = None
    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("addition_factor", "threshold_factor"):
            low, high = factor_pair(self, name, 0.0, 1.0)
            setattr(self, name, (max(low, 0.0), high))      # a number f -> (0, f), as Keras
        check_value_range(self)
        self.value_range = sorted(self.value_range)
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"additions": (N, 1, 1, 1), "thresholds": (N, 1, 1, 1)} ((1, 1, 1) for one
        image), or None in inference."""
        if not training:
            return None
        shape = (self._batch_size(images), 1, 1, 1)[4 - len(images.shape):]
        additions = self._uniform(shape, self.addition_factor[0],
                                  self.addition_factor[1] * 255.0)
        thresholds = self._uniform(shape, self.threshold_factor[0],
                                   self.threshold_factor[1] * 255.0)
        return {"additions": additions, "thresholds": thresholds}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        additions, thresholds = (ops.convert_to_tensor(transformation[k].astype(self.dtype))
                                 for k in ("additions", "thresholds"))
        low, high = self.value_range
        scaled = ops.clip((images - low) * (255.0 / (high - low)) + additions, 0.0, 255.0)
        solarized = ops.where(scaled < thresholds, scaled, 255.0 - scaled)
        return solarized * ((high - low) / 255.0) + low
