"""LayerNormalization: normalizes each example over the given axes."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import Layer, require


@dataclass(eq=False)
class LayerNormalization(Layer):
    """Per position of the other axes, (x - mean) / sqrt(variance + epsilon) over `axis` (an
    int or a list), then `* gamma + beta`, both shaped like the normalized axes (in the order
    given). rms_scaling (Keras 3): x / sqrt(variance + epsilon) * gamma, no beta. Same shape."""

    _supports_masking_by_default = True

    axis: int | list = -1
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True
    rms_scaling: bool = False
    beta_initializer: object = "zeros"
    gamma_initializer: object = "ones"
    beta_regularizer: object = None
    gamma_regularizer: object = None
    beta_constraint: object = None
    gamma_constraint: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.axis, tuple):
            self.axis = list(self.axis)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        require(self, "axis", len(axes) > 0 and all(isinstance(a, int) and not isinstance(a, bool)
                                                    for a in axes),
                "an int or a non-empty list of ints")
        require(self, "epsilon", isinstance(self.epsilon, (int, float)) and self.epsilon > 0,
                "a positive number")

    def _axes(self) -> list[int]:
        return self.axis if isinstance(self.axis, list) else [self.axis]

    def build(self, input_shape) -> None:
        rank = len(input_shape)
        axes = self._axes()
        if (any(not -rank <= a < rank for a in axes) or len({a % rank for a in axes}) < len(axes)
                or any(input_shape[a] is None for a in axes)):
            raise ValueError(f"LayerNormalization '{self.name}': axis {self.axis} must name "
                             f"distinct known axes of the input; received input shape "
                             f"{input_shape}")
        # as Keras, the axis becomes a sorted list (the config then holds it) and gamma and
        # beta take its axes' sizes in that order: with axis [1, -1], (size of -1, size of
        # 1); `call` lays them onto the axes in position order by a reshape, as Keras does
        self.axis = sorted(self._axes())
        shape = tuple(input_shape[a] for a in self._axes())
        self.gamma = (self.add_weight(shape, self.gamma_initializer,
                                      regularizer=self.gamma_regularizer,
                                      constraint=self.gamma_constraint, name="gamma")
                      if self.scale or self.rms_scaling else None)
        self.beta = (self.add_weight(shape, self.beta_initializer,
                                     regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint, name="beta")
                     if self.center and not self.rms_scaling else None)

    def call(self, inputs):
        rank = len(inputs.shape)
        sizes = tuple(inputs.shape[a] for a in sorted(a % rank for a in self._axes()))
        gamma, beta = (w if w is None or tuple(w.shape) == sizes else ops.reshape(w, sizes)
                       for w in (self.gamma, self.beta))
        return ops.layer_normalization(inputs, gamma, beta, self._axes(), self.epsilon,
                                       rms_scaling=self.rms_scaling)

    def compute_output_shape(self, input_shape):
        rank = len(input_shape)
        if any(not -rank <= a < rank for a in self._axes()):
            raise ValueError(f"LayerNormalization '{self.name}': axis {self.axis} is out of "
                             f"range for input shape {tuple(input_shape)}")
        return input_shape
