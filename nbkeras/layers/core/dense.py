"""Dense: the fully connected layer."""
from __future__ import annotations

from dataclasses import dataclass

from ... import activations, ops
from ...core.tensor import Tensor
from ..input_spec import InputSpec
from ..layer import Layer, apply_activation, require


@dataclass(eq=False)
class Dense(Layer):
    """activation(x @ kernel + bias) on the last axis: (..., in) -> (..., units);
    kernel (in, units), bias (units,)."""

    _supports_masking_by_default = True

    units: int
    activation: object = None
    use_bias: bool = True
    kernel_initializer: object = "glorot_uniform"
    bias_initializer: object = "zeros"
    kernel_regularizer: object = None
    bias_regularizer: object = None
    activity_regularizer: object = None
    kernel_constraint: object = None
    bias_constraint: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "units", isinstance(self.units, int) and self.units > 0,
                "a positive integer")
        self.activation = activations.serialize(activations.get(self.activation))

    def build(self, input_shape) -> None:
        if input_shape[-1] is None:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must be known; "
                             f"received input shape {input_shape}")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_shape[-1]})
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = (self.add_weight((self.units,), self.bias_initializer,
                                     regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint, name="bias")
                     if self.use_bias else None)

    def call(self, inputs: Tensor) -> Tensor:
        return apply_activation(self.activation, ops.dense(inputs, self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)
