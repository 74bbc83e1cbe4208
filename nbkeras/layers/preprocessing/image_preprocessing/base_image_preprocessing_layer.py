"""BaseImagePreprocessingLayer: what the image layers share. Images are a batch (N, H, W, C)
or one image (H, W, C) (channels_first: (N, C, H, W) or (C, H, W)), cast to the layer's
dtype. As in Keras, a layer called directly (not inside a model's call) is in training, so
`RandomFlip()(x)` flips; `predict` and `training=False` give the inference behaviour."""
from __future__ import annotations

from dataclasses import dataclass

from .... import config, ops
from ....core.keras_tensor import KerasTensor
from ....tree import leaves
from ...layer import Layer, _training_context, require


@dataclass(eq=False)
class BaseImagePreprocessingLayer(Layer):
    """Subclasses have a `data_format` field (None: `nk.config.image_data_format()`) and call
    `_check_data_format` (and `_set_factor` when they take a factor) in `__post_init__`."""

    _FACTOR_BOUNDS = (-1.0, 1.0)

    def __call__(self, inputs, *args, training=None, **kwargs):
        eager = not any(isinstance(x, KerasTensor) for x in leaves(inputs))
        if training is None and eager and not _training_context:
            training = True         # Keras: `call(data, training=True)` when nothing says
        return super().__call__(inputs, *args, training=training, **kwargs)

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


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

