"""RMSNormalization: scales each example by the root mean square over the given axes."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import Layer, require


def check_axes(layer: Layer, axis) -> None:
    """`axis` is an int or a non-empty list of ints (raises naming the layer otherwise)."""
    axes = axis if isinstance(axis, list) else [axis]
    require(layer, "axis", len(axes) > 0 and all(isinstance(a, int) and not isinstance(a, bool)
                                                 for a in axes),
            "an int or a non-empty list of ints")


def positions(layer: Layer, axis, input_shape) -> list[int]:
    """The distinct non-negative positions `axis` names in `input_shape`, in order."""
    rank = len(input_shape)
    axes = axis if isinstance(axis, list) else [axis]
    if any(not -rank <= a < rank for a in axes) or len({a % rank for a in axes}) < len(axes):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': axis {axis} must name "
                         f"distinct axes of the input; received input shape {tuple(input_shape)}")
    return sorted(a % rank for a in axes)


@dataclass(eq=False)
class RMSNormalization(Layer):
    """x / sqrt(mean(x^2 over `axis`) + epsilon) * scale, computed in at least float32; the
    weight `scale` (ones) is shaped like the normalized axes taken in the input's order. Same
    shape. Keras broadcasts `scale` against the trailing axes, which is the same for the
    usual trailing `axis`; here it always lines up with the normalized axes."""

    axis: int | list = -1
    epsilon: float = 1e-6

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.axis, tuple):
            self.axis = list(self.axis)
        check_axes(self, self.axis)
        require(self, "epsilon", isinstance(self.epsilon, (int, float))
                and not isinstance(self.epsilon, bool) and self.epsilon >= 0,
                "a non-negative number")

    def build(self, input_shape) -> None:
        axes = positions(self, self.axis, input_shape)
        if any(input_shape[a] is None for a in axes):
            raise ValueError(f"RMSNormalization '{self.name}': the axes {self.axis} of the input "
                             f"must be known; received input shape {tuple(input_shape)}")
        self.scale = self.add_weight(tuple(input_shape[a] for a in axes), "ones", name="scale")
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]  # as Keras

    def call(self, inputs):
        axes = positions(self, self.axis, inputs.shape)
        y = ops.rms_normalization(inputs, None, axes, self.epsilon)
        shape = [n if i in axes else 1 for i, n in enumerate(inputs.shape)]
        return ops.multiply(y, ops.reshape(ops.cast(self.scale, y.dtype), shape))

    def compute_output_shape(self, input_shape):
        positions(self, self.axis, input_shape)
        return input_shape
