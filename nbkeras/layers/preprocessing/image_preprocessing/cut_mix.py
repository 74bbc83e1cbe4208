"""CutMix: a random box of each image replaced by the same box of another image."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .... import ops, random
from ....core.random import SeedGenerator
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer
from .mix_up import mixed
from .random_erasing import random_boxes


@dataclass(eq=False)
class CutMix(BaseImagePreprocessingLayer):
    """In training, for a batch (N, H, W, C) (channels_first alike; one image is left as
    it is, as Keras): alpha drawn uniformly in the factor's pair (a number f in [0, 1]:
    (0, f)) plus 1e-6, w (N,) from Beta(alpha, alpha), each image's box of sides
    sqrt(1 - w) of the image's at a uniform position takes the pixels of image p[i] (p a
    random permutation); a dict {"images", "labels"} mixes the labels with the boxes' area
    weights 1 - box area / image area. Identity in inference. Same shape; differentiable in
    the images and labels."""

    factor: float | tuple = 1.0
    seed: int | None = None
    data_format: str | None = None

    _FACTOR_BOUNDS = (0.0, 1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set_factor()
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"permutation_order": int (N,), "batch_masks": bool (N, H, W, 1) (channels_first
        (N, 1, H, W)), "mix_weight": (N,)}, or None in inference and for one image."""
        if not training or len(images.shape) == 3:
            return None
        n = images.shape[0]
        alpha = float(self._uniform((), *self.factor)) + 1e-6
        weight = np.asarray(random.beta((n,), alpha, alpha, "float64", self.seed_generator))
        ratio = np.sqrt(1.0 - weight)
        masks, (x0, x1, y0, y1) = random_boxes(self, images, np.stack([ratio, ratio], 1))
        h_axis, w_axis = self._spatial_axes(4)
        area = images.shape[h_axis] * images.shape[w_axis]
        order = np.asarray(random.shuffle(np.arange(n), seed=self.seed_generator))
        return {"permutation_order": order, "batch_masks": masks,
                "mix_weight": 1.0 - (x1 - x0) * (y1 - y0) / area}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        donors = ops.take(images, transformation["permutation_order"], axis=0)
        return ops.where(ops.convert_to_tensor(transformation["batch_masks"]), donors, images)

    def transform_labels(self, labels, transformation, training=True):
        if not training or transformation is None:
            return labels
        return mixed(labels, transformation["mix_weight"], transformation["permutation_order"],
                     self.dtype)
