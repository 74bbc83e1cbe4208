"""DepthwiseConv1D, DepthwiseConv2D: each channel convolved with its own filters."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from .base_conv import ConvLayer


@dataclass(eq=False)
class BaseDepthwiseConv(ConvLayer):
    """activation(depthwise_conv(x, kernel) + bias): (N, *spatial, C) ->
    (N, *out, C * depth_multiplier) (or channels_first); kernel (*kernel_size, C,
    depth_multiplier), output channel c * depth_multiplier + m; bias (C * depth_multiplier,)."""

    kernel_size: object
    strides: object = 1
    padding: str = "valid"          # "valid" | "same"
    depth_multiplier: int = 1
    data_format: str | None = None
    dilation_rate: object = 1
    activation: object = None
    use_bias: bool = True
    depthwise_initializer: object = "glorot_uniform"
    bias_initializer: object = "zeros"
    depthwise_regularizer: object = None
    bias_regularizer: object = None
    activity_regularizer: object = None
    depthwise_constraint: object = None
    bias_constraint: object = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self._require_positive_int("depth_multiplier")
        self._check_config("depthwise", "bias")

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)        # the output must not be empty
        self.kernel = self._add("depthwise", (*self.kernel_size, channels,
                                              self.depth_multiplier), "kernel")
        self.bias = self._bias(channels * self.depth_multiplier)

    def call(self, inputs):
        return ops.depthwise_conv(inputs, self.kernel, self.strides, self.padding,
                                  self.data_format, self.dilation_rate, bias=self.bias,
                                  activation=self.activation)

    def compute_output_shape(self, input_shape):
        last = self._channels_last(input_shape)
        filters = None if last[-1] is None else last[-1] * self.depth_multiplier
        shape = ops.conv_output_shape(last, (*self.kernel_size, 1, filters), self.strides,
                                      self.padding, self.dilation_rate, self._who)
        return self._caller_layout(shape)


class DepthwiseConv1D(BaseDepthwiseConv):
    """1-D depthwise convolution over (N, steps, C)."""

    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
    """2-D depthwise convolution over (N, H, W, C)."""

    rank = 2
