"""SeparableConv1D, SeparableConv2D: a depthwise convolution, then a pointwise (1x1) one."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from .base_conv import ConvLayer


@dataclass(eq=False)
class BaseSeparableConv(ConvLayer):
    """activation(pointwise(depthwise(x)) + bias): (N, *spatial, C) -> (N, *out, filters) (or
    channels_first); weights [depthwise_kernel (*kernel_size, C, depth_multiplier),
    pointwise_kernel (1.., C * depth_multiplier, filters), bias (filters,)]."""

    filters: int
    kernel_size: object
    strides: object = 1
    padding: str = "valid"          # "valid" | "same"
    data_format: str | None = None
    dilation_rate: object = 1
    depth_multiplier: int = 1
    activation: object = None
    use_bias: bool = True
    depthwise_initializer: object = "glorot_uniform"
    pointwise_initializer: object = "glorot_uniform"
    bias_initializer: object = "zeros"
    depthwise_regularizer: object = None
    pointwise_regularizer: object = None
    bias_regularizer: object = None
    activity_regularizer: object = None
    depthwise_constraint: object = None
    pointwise_constraint: object = None
    bias_constraint: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_positive_int("filters")
        self._require_positive_int("depth_multiplier")
        self._check_config("depthwise", "pointwise", "bias")

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)        # the output must not be empty
        self.depthwise_kernel = self._add("depthwise", (*self.kernel_size, channels,
                                                        self.depth_multiplier),
                                          "depthwise_kernel")
        self.pointwise_kernel = self._add("pointwise", ((1,) * self.rank + (
            channels * self.depth_multiplier, self.filters)), "pointwise_kernel")
        self.bias = self._bias(self.filters)

    def call(self, inputs):
        return ops.separable_conv(inputs, self.depthwise_kernel, self.pointwise_kernel,
                                  self.strides, self.padding, self.data_format,
                                  self.dilation_rate, bias=self.bias, activation=self.activation)

    def compute_output_shape(self, input_shape):
        shape = ops.conv_output_shape(self._channels_last(input_shape),
                                      (*self.kernel_size, None, self.filters), self.strides,
                                      self.padding, self.dilation_rate, self._who)
        return self._caller_layout(shape)


class SeparableConv1D(BaseSeparableConv):
    """1-D separable convolution over (N, steps, C)."""

    rank = 1


class SeparableConv2D(BaseSeparableConv):
    """2-D separable convolution over (N, H, W, C)."""

    rank = 2
