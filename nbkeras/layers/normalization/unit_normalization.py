"""UnitNormalization: divides each example by its L2 norm over the given axes."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import Layer
from .rms_normalization import check_axes, positions


@dataclass(eq=False)
class UnitNormalization(Layer):
    """x * min(1 / ||x||_2, 1e12) with the norm over `axis` (an int or a list): each slice
    along the other axes gets unit length (zero slices stay zero). Same shape, no weights."""

    axis: int | list = -1

    _supports_masking_by_default = True     # as Keras: the mask passes through

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.axis, tuple):
            self.axis = list(self.axis)
        check_axes(self, self.axis)

    def call(self, inputs):
        axes = positions(self, self.axis, inputs.shape)
        return ops.normalize(inputs, axis=axes if len(axes) > 1 else axes[0], order=2,
                             epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        positions(self, self.axis, input_shape)
        return input_shape
