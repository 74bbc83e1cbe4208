"""RandomGaussianBlur: some images blurred with a Gaussian of a random width."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .... import ops
from ....core.random import SeedGenerator
from ...layer import require
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer
from .random_contrast import check_value_range


@dataclass(eq=False)
class RandomGaussianBlur(BaseImagePreprocessingLayer):
    """In training, each image of (N, H, W, C) (or one image; channels_first alike) is, with
    a probability drawn uniformly in the factor's pair (a number f in [0, 1]: (0, f)),
    blurred by `ops.image.gaussian_blur` with kernel_size (odd; an int or (width, height))
    and sigmas (along width, height) drawn once per batch uniformly in the sigma pair (a
    number s: (0, s)) plus 1e-6; the result is clipped to value_range. Identity in
    inference. Same shape; differentiable in the images."""

    factor: float | tuple = 1.0
    kernel_size: int | tuple = 3
    sigma: float | tuple = 1.0
    value_range: tuple = (0, 255)
    data_format: str | None = None
    seed: int | None = None

    _FACTOR_BOUNDS = (0.0, 1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set_factor()
        size = self.kernel_size
        sizes = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
        require(self, "kernel_size", len(sizes) == 2 and all(
            isinstance(k, (int, np.integer)) and k > 0 and k % 2 == 1 for k in sizes),
            "an odd positive int or a pair of them")
        self.kernel_size = tuple(int(k) for k in sizes)
        self._set_factor("sigma")
        check_value_range(self)
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"should_apply_blur": bool (N,), "blur_factor": (2,) sigmas}, or None in
        inference."""
        if not training:
            return None
        n = self._batch_size(images)
        probability = self._uniform((n,), *self.factor)
        apply = self._uniform((n,), 0.0, 1.0) < probability
        return {"should_apply_blur": apply,
                "blur_factor": self._uniform((2,), *self.sigma) + 1e-6}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        blurred = ops.image.gaussian_blur(images, self.kernel_size,
                                          transformation["blur_factor"], self.data_format)
        apply = transformation["should_apply_blur"]
        apply = apply.reshape(-1, 1, 1, 1) if len(images.shape) == 4 else apply.reshape(1, 1, 1)
        mixed = ops.where(ops.convert_to_tensor(apply), blurred, images)
        return ops.clip(mixed, *self.value_range)
