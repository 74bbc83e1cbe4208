"""RandomFlip: each image flipped left-right and/or upside down with probability 1/2."""
from __future__ import annotations

from dataclasses import dataclass

from .... import ops
from ....core.random import SeedGenerator
from ...layer import require
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer

MODES = ("horizontal", "vertical", "horizontal_and_vertical")


@dataclass(eq=False)
class RandomFlip(BaseImagePreprocessingLayer):
    """In training, each image of (N, H, W, C) (or one image; channels_first alike) is
    flipped where a uniform draw u <= 0.5: along the width ("horizontal"), the height
    ("vertical"), or both with the same draw ("horizontal_and_vertical", as Keras).
    Identity in inference. Same shape; differentiable."""

    mode: str = "horizontal_and_vertical"
    seed: int | None = None
    data_format: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "mode", self.mode in MODES, f"one of {MODES}")
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"flips": bool (N, 1, 1, 1) ((1, 1, 1) for one image)}, or None in inference."""
        if not training:
            return None
        shape = (self._batch_size(images), 1, 1, 1)[4 - len(images.shape):]
        return {"flips": self._uniform(shape, 0.0, 1.0) <= 0.5}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        flips = ops.convert_to_tensor(transformation["flips"])
        h_axis, w_axis = self._spatial_axes(len(images.shape))
        axes = {"horizontal": (w_axis,), "vertical": (h_axis,),
                "horizontal_and_vertical": (w_axis, h_axis)}[self.mode]
        for axis in axes:
            images = ops.where(flips, ops.flip(images, axis), images)
        return images
