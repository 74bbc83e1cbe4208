"""BaseImagePreprocessingLayer: what the image layers share. Images are a batch (N, H, W, C)
or one image (H, W, C) (channels_first: (N, C, H, W) or (C, H, W)), cast to the layer's
dtype. As in Keras, `call`'s `training` defaults to True, so a layer (or a model of them) called
without `training` augments: `RandomFlip()(x)` flips; `predict`, `evaluate` and
`training=False` give the inference behaviour.

A random layer splits its call as Keras's does: `get_random_transformation(images,
training)` draws the parameters (a dict of numpy arrays under Keras's keys, or None), and
`transform_images(images, transformation, training)` applies them, so a test or a user can
replay a draw."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .... import config, ops, random
from ...layer import Layer, require


@dataclass(eq=False)
class BaseImagePreprocessingLayer(Layer):
    """Subclasses have a `data_format` field (None: `nk.config.image_data_format()`) and call
    `_check_data_format` (and `_set_factor` when they take a factor) in `__post_init__`."""

    _FACTOR_BOUNDS = (-1.0, 1.0)
    _FILL_MODES = ("reflect", "wrap", "constant", "nearest")
    _INTERPOLATIONS = ("nearest", "bilinear")

    def _check_data_format(self) -> None:
        self.data_format = self.data_format or config.image_data_format()
        require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                "'channels_last' or 'channels_first'")

    def _set_factor(self, name: str = "factor") -> None:
        """`self.<name>`: a number f (-> (-|f|, |f|), clipped to the bounds) or two numbers
        (sorted), within `_FACTOR_BOUNDS`, stored as the (lower, upper) pair (Keras's config)."""
        low, high = self._FACTOR_BOUNDS
        value = getattr(self, name)
        rule = f"a number or a pair of numbers in [{low}, {high}]"
        if isinstance(value, (list, tuple)):
            require(self, name, len(value) == 2 and all(_is_number(v) for v in value)
                    and value[0] <= high and value[1] >= low, rule)
            pair = tuple(sorted(float(v) for v in value))
        else:
            require(self, name, _is_number(value) and low <= value <= high, rule)
            pair = (max(-abs(float(value)), low), abs(float(value)))
        setattr(self, name, pair)

    def call(self, inputs, training=True):
        """images -> transformed images; a dict {"images": ..., "labels": ...} (Keras's data
        dict) -> the same dict with both transformed by one draw."""
        if not isinstance(inputs, dict):
            images = self._images(inputs)
            return self.transform_images(images, self.get_random_transformation(images, training),
                                         training)
        unknown = set(inputs) - {"images", "labels"}
        if unknown or "images" not in inputs:
            raise ValueError(f"{type(self).__name__} '{self.name}': a dict input needs "
                             f"'images' and may have 'labels' (bounding boxes and "
                             f"segmentation masks are not supported); received keys "
                             f"{sorted(inputs)}")
        data = dict(inputs)
        images = self._images(data["images"])
        transformation = self.get_random_transformation(images, training)
        data["images"] = self.transform_images(images, transformation, training)
        if "labels" in data:
            data["labels"] = self.transform_labels(data["labels"], transformation, training)
        return data

    def transform_labels(self, labels, transformation, training=True):
        """Labels as they are: only the mixing layers (MixUp, CutMix) change them."""
        return labels

    def _check_resampling(self) -> None:
        """fill_mode and interpolation of the layers that resample through a transform."""
        require(self, "fill_mode", self.fill_mode in self._FILL_MODES,
                f"one of {self._FILL_MODES}")
        require(self, "interpolation", self.interpolation in self._INTERPOLATIONS,
                f"one of {self._INTERPOLATIONS}")

    def _resample(self, images, matrices: np.ndarray):
        """images through `ops.image.affine_transform` with matrices (N, 8) (output pixel ->
        input pixel, Keras's layout), with the layer's interpolation and fill."""
        transform = ops.convert_to_tensor(matrices.astype(self.dtype))
        return ops.image.affine_transform(images, transform, self.interpolation, self.fill_mode,
                                          self.fill_value, self.data_format)

    def _uniform(self, shape, low: float, high: float) -> np.ndarray:
        """float64 numpy draws U[low, high) of `shape` from the layer's seed stream."""
        return np.asarray(random.uniform(shape, low, high, "float64", self.seed_generator))

    def _images(self, inputs):
        """inputs cast to the layer's dtype, after checking they are one image or a batch."""
        if len(inputs.shape) not in (3, 4):
            raise ValueError(f"{type(self).__name__} '{self.name}': expected images of rank 3 "
                             f"(one image) or 4 (a batch); received images.shape="
                             f"{tuple(inputs.shape)}")
        return inputs if inputs.dtype == self.dtype else ops.cast(inputs, self.dtype)

    def _spatial_axes(self, rank: int) -> tuple[int, int]:
        """(height axis, width axis) of images of `rank` 3 or 4."""
        return (rank - 3, rank - 2) if self.data_format == "channels_last" else (rank - 2,
                                                                                 rank - 1)

    def _batch_size(self, images) -> int:
        return images.shape[0] if len(images.shape) == 4 else 1

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


def factor_pair(layer: Layer, name: str, low: float, high: float,
                low_open: bool = False) -> tuple[float, float]:
    """`layer.<name>`: a number f (-> (-|f|, |f|)) or two numbers (sorted), each in [low,
    high] ((low, high] with low_open), as the (lower, upper) pair of Keras's draws."""
    value = getattr(layer, name)
    pair = isinstance(value, (list, tuple))
    values = tuple(value) if pair else (value,)

    def in_range(v) -> bool:
        return _is_number(v) and (low < v if low_open else low <= v) and v <= high
    require(layer, name, (len(values) == 2 or not pair) and all(map(in_range, values)),
            f"a number or a pair of numbers in {'(' if low_open else '['}{low}, {high}]")
    if pair:
        return tuple(sorted(float(v) for v in values))
    return (-abs(float(value)), abs(float(value)))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

