"""EinsumDense: a dense layer whose product is an einsum equation of the input and kernel."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ... import activations, initializers, ops
from ..input_spec import InputSpec
from ..layer import Layer, apply_activation, require

_FORMS = ((r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
          (r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),      # "...ab,bc->...ac"
          (r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False))   # "ab...,bc->ac..."


def einsum_shapes(layer_name: str, equation: str, bias_axes, input_shape, output_shape):
    """(kernel shape, bias shape or None, full output shape, kernel input axes, kernel output
    axes) for `equation` (input,kernel->output; '...' leading or trailing) on input_shape,
    with `output_shape` the output's shape without the batch axis (None where it follows
    from the input), as Keras's EinsumDense computes them (but sizes shared with the input
    are filled in where Keras leaves None)."""
    text = equation.replace("...", "0")
    for pattern, left_elided in _FORMS:
        match = re.fullmatch(pattern, text)
        if match:
            break
    else:
        raise ValueError(f"EinsumDense '{layer_name}': invalid equation {equation!r}; it must "
                         "be '[X],[Y]->[Z]', '...[X],[Y]->...[Z]' or '[X]...,[Y]->[Z]...'")
    input_spec, weight_spec, output_spec = match.groups()
    elided = len(input_shape) - len(input_spec)
    output = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    output.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):
            output.insert(1, input_shape[i])
    elif elided > 0:
        output += list(input_shape[len(input_shape) - elided:])
    if left_elided:
        input_axis = {c: i + elided - len(input_shape) for i, c in enumerate(input_spec)}
        output_axis = {c: i + elided for i, c in enumerate(output_spec)}
    else:
        input_axis = {c: i for i, c in enumerate(input_spec)}
        output_axis = {c: i for i, c in enumerate(output_spec)}
    for c in input_spec:
        if c in output_axis and output[output_axis[c]] is None:    # Keras leaves None here
            output[output_axis[c]] = input_shape[input_axis[c]]
        if c in output_axis and output[output_axis[c]] not in (None, input_shape[input_axis[c]]):
            raise ValueError(f"EinsumDense '{layer_name}': input and output shapes differ at "
                             f"the shared axis {c!r}: {input_shape[input_axis[c]]} and "
                             f"{output[output_axis[c]]}")
    for c in output_spec:
        if c not in input_spec and c not in weight_spec:
            raise ValueError(f"EinsumDense '{layer_name}': output axis {c!r} of {equation!r} "
                             "is in neither the input nor the kernel")
    kernel, input_axes, output_axes = [], [], []
    for i, c in enumerate(weight_spec):
        if c in output_axis:
            kernel.append(output[output_axis[c]])
            output_axes.append(i)
        elif c in input_axis:
            kernel.append(input_shape[input_axis[c]])
            input_axes.append(i)
        else:
            raise ValueError(f"EinsumDense '{layer_name}': kernel axis {c!r} of {equation!r} "
                             "is in neither the input nor the output")
    bias = None
    if bias_axes is not None:
        for c in bias_axes:
            if c not in output_spec:
                raise ValueError(f"EinsumDense '{layer_name}': bias axis {c!r} is not in the "
                                 f"output {output_spec!r}")
        offset = elided if left_elided else 0
        sizes = {c: output[i + offset] for i, c in enumerate(output_spec)}
        first = min(output_spec.find(c) for c in bias_axes)
        bias = [sizes[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias += [1] * max(elided, 0)
    return kernel, bias, output, input_axes, output_axes


@dataclass(eq=False)
class EinsumDense(Layer):
    """activation(einsum(equation, inputs, kernel) + bias): `equation` names the input's,
    kernel's and output's axes ("ab,bc->ac" is Dense; '...' stands for leading or trailing
    axes); `output_shape` is the output's shape without the batch axis (None for sizes that
    follow from the input); the bias covers `bias_axes` (output letters) and broadcasts over
    the rest. A fan-scaled kernel initializer counts the kernel's input and output letters as
    its fans, as Keras."""

    _supports_masking_by_default = True

    equation: str = dataclasses.field()
    output_shape: object = dataclasses.field()
    activation: object = None
    bias_axes: str | None = None
    kernel_initializer: object = "glorot_uniform"
    bias_initializer: object = "zeros"
    kernel_regularizer: object = None
    bias_regularizer: object = None
    activity_regularizer: object = None
    kernel_constraint: object = None
    bias_constraint: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "equation", isinstance(self.equation, str), "an einsum string")
        if not isinstance(self.output_shape, int):
            self.output_shape = tuple(self.output_shape)
        self.activation = activations.serialize(activations.get(self.activation))

    def build(self, input_shape) -> None:
        kernel, bias, _, input_axes, output_axes = einsum_shapes(
            self.name, self.equation, self.bias_axes, tuple(input_shape), self.output_shape)
        self.input_spec = InputSpec(ndim=len(input_shape))
        initializer = initializers.get(self.kernel_initializer)
        if getattr(initializer, "input_axes", False) is None \
                or getattr(initializer, "output_axes", False) is None:
            initializer = dataclasses.replace(initializer, input_axes=input_axes,
                                              output_axes=output_axes)
        self.kernel = self.add_weight(kernel, initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = (None if bias is None else
                     self.add_weight(bias, self.bias_initializer,
                                     regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint, name="bias"))

    def call(self, inputs):
        y = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            y = ops.add(y, self.bias)
        return apply_activation(self.activation, y)

    def compute_output_shape(self, input_shape):
        return tuple(einsum_shapes(self.name, self.equation, self.bias_axes,
                                   tuple(input_shape), self.output_shape)[2])
