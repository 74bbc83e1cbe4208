"""Conv1D, Conv2D, Conv3D: grouped convolution + bias + activation (one fused op)."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import require
from .base_conv import ConvLayer


@dataclass(eq=False)
class BaseConv(ConvLayer):
    """activation(conv(x, kernel) + bias): (N, *spatial, C) -> (N, *out, filters) (or
    channels_first); kernel (*kernel_size, C // groups, filters), bias (filters,)."""

    filters: int
    kernel_size: object
    strides: object = 1
    padding: str = "valid"          # "valid" | "same" | "causal" (Conv1D only)
    data_format: str | None = None
    dilation_rate: object = 1
    groups: int = 1
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
        self._require_positive_int("groups")
        self._check_config("kernel", "bias")
        require(self, "filters", self.filters % self.groups == 0,
                f"divisible by groups ({self.groups})")

    def _paddings(self) -> tuple:
        return ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(f"{self._who}: the input's channels ({channels}) must be divisible "
                             f"by groups ({self.groups}); received input shape "
                             f"{tuple(input_shape)}")
        self.compute_output_shape(input_shape)        # the output must not be empty
        self.kernel = self._add("kernel", (*self.kernel_size, channels // self.groups,
                                           self.filters), "kernel")
        self.bias = self._bias(self.filters)

    def call(self, inputs):
        return ops.conv(inputs, self.kernel, self.strides, self.padding, self.data_format,
                        self.dilation_rate, bias=self.bias, groups=self.groups,
                        activation=self.activation)

    def compute_output_shape(self, input_shape):
        shape = ops.conv_output_shape(self._channels_last(input_shape),
                                      (*self.kernel_size, None, self.filters), self.strides,
                                      self.padding, self.dilation_rate, self._who)
        return self._caller_layout(shape)


class Conv1D(BaseConv):
    """1-D convolution over (N, steps, C); padding may also be "causal"."""

    rank = 1


class Conv2D(BaseConv):
    """2-D convolution over (N, H, W, C)."""

    rank = 2


class Conv3D(BaseConv):
    """3-D convolution over (N, D, H, W, C)."""

    rank = 3
