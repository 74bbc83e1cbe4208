"""MixUp: each image (and label) blended with another of the batch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .... import ops, random
from ....core.random import SeedGenerator
from ...layer import require
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer, _is_number


def mixed(values, weight: np.ndarray, order: np.ndarray, dtype: str):
    """weight * values + (1 - weight) * values[order], weight (N,) broadcast over the rest."""
    values = ops.cast(values, dtype)
    weight = ops.convert_to_tensor(weight.reshape((-1,) + (1,) * (len(values.shape) - 1))
                                   .astype(dtype))
    return weight * values + (1.0 - weight) * ops.take(values, order, axis=0)


@dataclass(eq=False)
class MixUp(BaseImagePreprocessingLayer):
    """In training, images (N, H, W, C) (or one image; channels_first alike) become
    w x + (1 - w) x[p], p a random permutation of the batch and w (N,) drawn from
    Beta(alpha, alpha); a dict {"images", "labels"} mixes the labels (N, ...) by the same
    w and p. Identity in inference. Same shape; differentiable in the images and labels."""

    alpha: float = 0.2
    data_format: str | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "alpha", _is_number(self.alpha) and self.alpha > 0, "a positive number")
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"mix_weight": (N,), "permutation_order": int (N,)}, or None in inference."""
        if not training:
            return None
        n = self._batch_size(images)
        order = np.asarray(random.shuffle(np.arange(n), seed=self.seed_generator))
        weight = np.asarray(random.beta((n,), self.alpha, self.alpha, "float64",
                                        self.seed_generator))
        return {"mix_weight": weight, "permutation_order": order}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        single = len(images.shape) == 3
        batch = ops.expand_dims(images, 0) if single else images
        out = mixed(batch, transformation["mix_weight"], transformation["permutation_order"],
                    self.dtype)
        return ops.squeeze(out, 0) if single else out

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        return mixed(labels, transformation["mix_weight"], transformation["permutation_order"],
                     self.dtype)
