"""Conv1DTranspose, Conv2DTranspose, Conv3DTranspose: transposed convolution + bias +
activation, with Keras's output length."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import as_tuple, require
from .base_conv import ConvLayer


@dataclass(eq=False)
class BaseConvTranspose(ConvLayer):
    """activation(conv_transpose(x, kernel) + bias): (N, *spatial, C) -> (N, *out, filters)
    (or channels_first); kernel (*kernel_size, filters, C), bias (filters,)."""

    filters: int
    kernel_size: object
    strides: object = 1
    padding: str = "valid"          # "valid" | "same"
    output_padding: object = None   # None or per axis, each < its stride
    data_format: str | None = None
    dilation_rate: object = 1
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
        self._require_positive_int("filters")
        self._check_config("kernel", "bias")
        if self.output_padding is not None:
            self.output_padding = as_tuple(self, "output_padding", self.rank)
            require(self, "output_padding", all(0 <= o < s for o, s in
                                                zip(self.output_padding, self.strides)),
                    f"non-negative and smaller than strides ({self.strides})")

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)        # the output must not be empty
        self.kernel = self._add("kernel", (*self.kernel_size, self.filters, channels), "kernel")
        self.bias = self._bias(self.filters)

    def call(self, inputs):
        return ops.conv_transpose(inputs, self.kernel, self.strides, self.padding,
                                  self.output_padding, self.data_format, self.dilation_rate,
                                  bias=self.bias, activation=self.activation)

    def compute_output_shape(self, input_shape):
        shape = ops.conv_transpose_output_shape(
            self._channels_last(input_shape), (*self.kernel_size, self.filters, None),
            self.strides, self.padding, self.output_padding, self.dilation_rate, self._who)
        return self._caller_layout(shape)


class Conv1DTranspose(BaseConvTranspose):
    """1-D transposed convolution over (N, steps, C)."""

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """2-D transposed convolution over (N, H, W, C)."""

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """3-D transposed convolution over (N, D, H, W, C)."""

    rank = 3
