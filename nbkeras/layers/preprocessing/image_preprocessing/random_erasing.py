"""RandomErasing: a random rectangle of some images replaced by noise or a fill value."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .... import ops, random
from ....core.random import SeedGenerator
from ...layer import require
from .base_image_preprocessing_layer import BaseImagePreprocessingLayer, _is_number
from .random_contrast import check_value_range


def random_boxes(layer: BaseImagePreprocessingLayer, images, ratios: np.ndarray):
    """Keras's boxes of CutMix and RandomErasing: for each image a box of ratios[:, 0] of
    the width and ratios[:, 1] of the height at a uniformly drawn position (columns drawn
    first). Returns the box mask, bool (N, H, W, 1) (channels_first (N, 1, H, W)), and the
    corners x0, x1, y0, y1 (N,) in pixels (a pixel (i, j) is in if x0 <= j < x1 and
    y0 <= i < y1)."""
    h_axis, w_axis = layer._spatial_axes(4)
    height, width = images.shape[h_axis], images.shape[w_axis]
    n = ratios.shape[0]
    corners = []
    for length, ratio in ((width, ratios[:, 0]), (height, ratios[:, 1])):
        crop = ratio * length
        start = layer._uniform((n,), 0.0, 1.0) * (length - crop)
        corners += [start, start + crop]
    x0, x1, y0, y1 = (c[:, None, None] for c in corners)
    rows, columns = np.arange(height)[None, :, None], np.arange(width)[None, None, :]
    mask = (columns >= x0) & (columns < x1) & (rows >= y0) & (rows < y1)
    channel_axis = 3 if layer.data_format == "channels_last" else 1
    return np.expand_dims(mask, channel_axis), corners


@dataclass(eq=False)
class RandomErasing(BaseImagePreprocessingLayer):
    """In training, each image of (N, H, W, C) (or one image; channels_first alike) is, with
    a probability drawn uniformly in the factor's pair (a number f in [0, 1]: (0, f)),
    erased inside a box whose sides are sqrt(s) of the image's, s drawn uniformly in the
    scale pair (a number s: (0, s)) per side, at a uniform position: the box takes
    fill_value (a number, or one per channel), or, with fill_value None, N(0, 1) noise
    times value_range[1]; both clipped to value_range. Identity in inference. Same shape;
    differentiable in the images."""

    factor: float | tuple = 1.0
    scale: float | tuple = (0.02, 0.33)
    fill_value: float | tuple | None = None
    value_range: tuple = (0, 255)
    seed: int | None = None
    data_format: str | None = None

    _FACTOR_BOUNDS = (0.0, 1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._set_factor()
        self._set_factor("scale")
        fill = self.fill_value
        require(self, "fill_value", fill is None or _is_number(fill) or (
            isinstance(fill, (list, tuple)) and len(fill) == 3 and all(map(_is_number, fill))),
            "None, a number or a list of three numbers")
        check_value_range(self)
        self._check_data_format()
        self.seed_generator = SeedGenerator(self.seed)

    def get_random_transformation(self, images, training=True):
        """{"apply_erasing": bool (N,), "batch_masks": bool (N, H, W, 1), "fill_value":
        (N, H, W, C) or a broadcastable constant} (channels_first alike), or None in
        inference; one image draws as a batch of one."""
        if not training:
            return None
        batch = images if len(images.shape) == 4 else ops.expand_dims(images, 0)
        n = batch.shape[0]
        ratios = np.sqrt(self._uniform((n, 2), *self.scale))
        masks, _ = random_boxes(self, batch, ratios)
        probability = self._uniform((n,), *self.factor)
        apply = self._uniform((n,), 0.0, 1.0) < probability
        low, high = self.value_range
        if self.fill_value is None:
            fill = random.normal(tuple(batch.shape), dtype=self.dtype,
                                 seed=self.seed_generator) * float(high)
        else:
            fill = np.asarray(self.fill_value, self.dtype)
            if fill.ndim and self.data_format == "channels_first":
                fill = fill[:, None, None]
            fill = ops.convert_to_tensor(fill)
        return {"apply_erasing": apply, "batch_masks": masks,
                "fill_value": ops.clip(fill, low, high)}

    def transform_images(self, images, transformation, training=True):
        if not training or transformation is None:
            return images
        single = len(images.shape) == 3
        batch = ops.expand_dims(images, 0) if single else images
        erase = transformation["batch_masks"] & transformation["apply_erasing"][:, None, None,
                                                                                None]
        fill = ops.cast(transformation["fill_value"], self.dtype)
        erased = ops.where(ops.convert_to_tensor(erase), fill, batch)
        return ops.squeeze(erased, 0) if single else erased
