"""ConvLayer: what every convolution layer shares (window checks, channel layout, shapes).

Each family (conv.py, conv_transpose.py, depthwise_conv.py, separable_conv.py) declares its
Keras config as dataclass fields on a family base, and its 1-D/2-D/3-D classes differ only
in the class attribute `rank`.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from ... import activations, config, constraints, initializers, regularizers
from ..input_spec import InputSpec
from ..layer import Layer, as_tuple, require


class ConvLayer(Layer):
    """Shared checks and helpers; the fields live on each family's dataclass base."""

    rank: ClassVar[int]

    def _paddings(self) -> tuple:
        return ("valid", "same")

    def _check_config(self, *weights: str) -> None:
        """Normalize and check the window fields, padding, data_format and activation, and
        resolve the initializer/regularizer/constraint of each weight prefix (fail early)."""
        for field in ("kernel_size", "strides", "dilation_rate"):
            setattr(self, field, as_tuple(self, field, self.rank))
            require(self, field, min(getattr(self, field)) > 0,
                    f"an int or a tuple of {self.rank} ints, all positive")
        require(self, "padding", isinstance(self.padding, str)
                and self.padding.lower() in self._paddings(), " or ".join(map(repr,
                                                                               self._paddings())))
        self.padding = self.padding.lower()
        self.data_format = self.data_format or config.image_data_format()
        require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                "'channels_last' or 'channels_first'")
        require(self, "strides", max(self.strides) == 1 or max(self.dilation_rate) == 1,
                f"1 when dilation_rate > 1 (strides > 1 with dilation_rate > 1 is not supported, "
                f"as in Keras; dilation_rate={self.dilation_rate})")
        self.activation = activations.serialize(activations.get(self.activation))
        regularizers.get(self.activity_regularizer)
        for prefix in weights:
            initializers.get(getattr(self, f"{prefix}_initializer"))
            regularizers.get(getattr(self, f"{prefix}_regularizer"))
            constraints.get(getattr(self, f"{prefix}_constraint"))

    def _require_positive_int(self, field: str) -> None:
        value = getattr(self, field)
        require(self, field, isinstance(value, (int, np.integer)) and not isinstance(value, bool)
                and value > 0, "a positive integer")

    @property
    def _who(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _channels_last(self, shape) -> tuple:
        shape = tuple(shape)
        return shape if self.data_format == "channels_last" else (shape[0], *shape[2:], shape[1])

    def _caller_layout(self, shape) -> tuple:
        shape = tuple(shape)
        return shape if self.data_format == "channels_last" else (shape[0], shape[-1], *shape[1:-1])

    def _input_channels(self, input_shape) -> int:
        """The input's channel count; sets the InputSpec (rank and channels) for later calls."""
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self._who} expects inputs of rank {self.rank + 2} (batch, "
                             f"{self.rank} spatial axes, channels); received input shape "
                             f"{tuple(input_shape)}")
        axis = -1 if self.data_format == "channels_last" else 1
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(f"{self._who}: the channel axis of the input must be known; "
                             f"received input shape {tuple(input_shape)}")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={axis: channels})
        return channels

    def _add(self, prefix: str, shape: tuple, name: str):
        """A weight with this layer's `<prefix>_initializer/_regularizer/_constraint`."""
        return self.add_weight(shape, getattr(self, f"{prefix}_initializer"),
                               regularizer=getattr(self, f"{prefix}_regularizer"),
                               constraint=getattr(self, f"{prefix}_constraint"), name=name)

    def _bias(self, size: int):
        return self._add("bias", (size,), "bias") if self.use_bias else None
