"""PReLU: a leaky ReLU whose negative slopes are learned."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..input_spec import InputSpec
from ..layer import Layer, require


@dataclass(eq=False)
class PReLU(Layer):
    """x for x >= 0, alpha * x below; alpha has the input's non-batch shape with the
    `shared_axes` (1-based, as the input's axes) set to 1. Same shape."""

    _supports_masking_by_default = True

    alpha_initializer: object = "zeros"
    alpha_regularizer: object = None
    alpha_constraint: object = None
    shared_axes: int | list | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.shared_axes, int) and not isinstance(self.shared_axes, bool):
            self.shared_axes = [self.shared_axes]
        elif isinstance(self.shared_axes, tuple):
            self.shared_axes = list(self.shared_axes)
        require(self, "shared_axes", self.shared_axes is None or (
            isinstance(self.shared_axes, list)
            and all(isinstance(a, int) and not isinstance(a, bool) and a >= 1
                    for a in self.shared_axes)),
            "None, an axis >= 1 or a list of them")

    def build(self, input_shape) -> None:
        rank = len(input_shape)
        shared = set(self.shared_axes or [])
        if any(a >= rank for a in shared):
            raise ValueError(f"PReLU '{self.name}': shared_axes {self.shared_axes} must be axes "
                             f"of the input; received input shape {input_shape}")
        shape = tuple(1 if i in shared else input_shape[i] for i in range(1, rank))
        if None in shape:
            raise ValueError(f"PReLU '{self.name}': the unshared axes of the input must be "
                             f"known; received input shape {input_shape}")
        self.alpha = self.add_weight(shape, self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint, name="alpha")
        self.input_spec = InputSpec(ndim=rank, axes={i: input_shape[i] for i in range(1, rank)
                                                     if i not in shared})

    def call(self, inputs):
        return ops.prelu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape
