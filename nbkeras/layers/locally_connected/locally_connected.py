"""LocallyConnected1D and LocallyConnected2D: convolutions whose weights are not shared, one
filter bank per output position, with Keras 2's config and weight layout (Keras 3 dropped
them)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ... import activations, config, constraints, initializers, ops, regularizers
from ..input_spec import InputSpec
from ..layer import Layer, apply_activation, as_tuple, require


def local_output_size(size, kernel: int, stride: int, padding: str):
    """Output cells along an axis of `size` input cells (None stays None), as Keras 2."""
    if size is None:
        return None
    return -(-size // stride) if padding == "same" else (size - kernel) // stride + 1


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras 2's "same" for locally connected layers: output cell j sees input cells
    [j s - k // 2, j s - k // 2 + k), out of range ones being zero."""
    left = kernel // 2
    out = -(-size // stride)
    return left, max(0, (out - 1) * stride - left + kernel - size)


@dataclass(eq=False)
class LocallyConnected(Layer):
    """(N, *spatial, C) -> (N, *out, filters) (channels_first: (N, C, *spatial) -> (N,
    filters, *out)). Output position p (row-major over `out`) multiplies its window of the
    input, flattened as Keras 2 flattens it ((*kernel_size, C) for channels_last, (C,
    *kernel_size) for channels_first), by its own kernel[p] (kernel_size * C, filters).
    Weights as Keras 2's implementation 1: kernel (prod(out), prod(kernel_size) * C,
    filters), bias (*out, filters); channels_first adds the bias read as (filters, *out), as
    Keras 2's bias_add reshapes it. `implementation` 1, 2 or 3 is accepted and kept in the
    config; all three compute the same way in this layout (a gather of the windows and one
    einsum). padding "same" (zeros, k // 2 cells before) needs implementation 2 or 3, as in
    Keras 2."""

    filters: int
    kernel_size: int | tuple
    strides: int | tuple = 1
    padding: str = "valid"
    data_format: str | None = None
    activation: object = None
    use_bias: bool = True
    kernel_initializer: object = "glorot_uniform"
    bias_initializer: object = "zeros"
    kernel_regularizer: object = None
    bias_regularizer: object = None
    activity_regularizer: object = None
    kernel_constraint: object = None
    bias_constraint: object = None
    implementation: int = 1

    rank: ClassVar[int] = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "filters", isinstance(self.filters, (int, np.integer))
                and not isinstance(self.filters, bool) and self.filters > 0, "a positive integer")
        for field in ("kernel_size", "strides"):
            setattr(self, field, as_tuple(self, field, self.rank))
            require(self, field, min(getattr(self, field)) > 0,
                    f"an int or a tuple of {self.rank} ints, all positive")
        require(self, "implementation", self.implementation in (1, 2, 3)
                and not isinstance(self.implementation, bool), "1, 2 or 3")
        require(self, "padding", isinstance(self.padding, str)
                and self.padding.lower() in ("valid", "same"), "'valid' or 'same'")
        self.padding = self.padding.lower()
        require(self, "padding", self.padding == "valid" or self.implementation != 1,
                f"'valid' with implementation=1 (as in Keras 2; 'same' needs implementation 2 "
                f"or 3)")
        self.data_format = self.data_format or config.image_data_format()
        require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                "'channels_last' or 'channels_first'")
        self.activation = activations.serialize(activations.get(self.activation))
        regularizers.get(self.activity_regularizer)
        for prefix in ("kernel", "bias"):
            initializers.get(getattr(self, f"{prefix}_initializer"))
            regularizers.get(getattr(self, f"{prefix}_regularizer"))
            constraints.get(getattr(self, f"{prefix}_constraint"))
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _who(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _split(self, shape) -> tuple[tuple, object]:
        """(spatial sizes, channels) of an input shape."""
        shape = tuple(shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"{self._who} expects inputs of rank {self.rank + 2} (batch, "
                             f"{self.rank} spatial axes, channels); received input shape "
                             f"{shape}")
        if self.data_format == "channels_last":
            return shape[1:-1], shape[-1]
        return shape[2:], shape[1]

    def _output_spatial(self, spatial) -> tuple:
        return tuple(local_output_size(n, k, s, self.padding)
                     for n, k, s in zip(spatial, self.kernel_size, self.strides))

    def build(self, input_shape) -> None:
        spatial, channels = self._split(input_shape)
        if channels is None or any(n is None for n in spatial):
            raise ValueError(f"{self._who}: the spatial and channel axes of the input must be "
                             f"known (each output position has its own weights); received "
                             f"input shape {tuple(input_shape)}")
        out = self._output_spatial(spatial)
        if min(out) <= 0:
            raise ValueError(f"{self._who}: kernel_size={self.kernel_size} and strides="
                             f"{self.strides} leave no output position for input shape "
                             f"{tuple(input_shape)} (padding={self.padding!r})")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={
            i: n for i, n in enumerate(input_shape) if i > 0})
        self._index, self._paddings = self._window_index(spatial, channels)
        self.kernel = self.add_weight(
            (int(np.prod(out)), int(np.prod(self.kernel_size)) * channels, self.filters),
            self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self.bias = (self.add_weight((*out, self.filters), self.bias_initializer,
                                     regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint, name="bias")
                     if self.use_bias else None)

    def _window_index(self, spatial, channels):
        """(index (positions, features) into the flattened (padded) example, paddings of
        every axis or None): the gather that lays each output position's window out as
        Keras 2 flattens it."""
        paddings = [_same_padding(n, k, s) if self.padding == "same" else (0, 0)
                    for n, k, s in zip(spatial, self.kernel_size, self.strides)]
        padded = tuple(n + a + b for n, (a, b) in zip(spatial, paddings))
        out = self._output_spatial(spatial)
        first = self.data_format == "channels_first"
        layout = (channels, *padded) if first else (*padded, channels)
        rows = []
        for position in itertools.product(*(range(o) for o in out)):
            cells = np.stack(np.meshgrid(*(p * s + np.arange(k) for p, s, k in zip(
                position, self.strides, self.kernel_size)), np.arange(channels),
                indexing="ij"), axis=0)                     # (rank + 1, *kernel, C)
            if first:                                       # features in (C, *kernel) order
                cells = np.moveaxis(cells, -1, 1)
                cells = np.concatenate([cells[-1:], cells[:-1]])
            rows.append(np.ravel_multi_index(tuple(cells.reshape(self.rank + 1, -1)), layout))
        has_padding = any(a or b for a, b in paddings)
        return np.stack(rows).astype(np.int64), (paddings if has_padding else None)

    def call(self, inputs):
        x = inputs
        if self._paddings is not None:
            pads = [(0, 0), *self._paddings]
            pads = ([(0, 0), (0, 0), *self._paddings] if self.data_format == "channels_first"
                    else [*pads, (0, 0)])
            x = ops.pad(x, pads)
        windows = ops.take(ops.reshape(x, (-1, int(np.prod(x.shape[1:])))), self._index,
                           axis=1)                          # (N, positions, features)
        y = ops.einsum("npf,pfo->npo", windows, self.kernel)
        spatial, _ = self._split(inputs.shape)
        out = self._output_spatial(spatial)
        y = ops.reshape(y, (-1, *out, self.filters))
        if self.data_format == "channels_first":
            y = ops.moveaxis(y, -1, 1)
            if self.bias is not None:                       # Keras 2 reshapes, not transposes
                y = ops.add(y, ops.reshape(self.bias, (1, self.filters, *out)))
        elif self.bias is not None:
            y = ops.add(y, ops.expand_dims(self.bias, 0))
        return apply_activation(self.activation, y)

    def compute_output_shape(self, input_shape):
        spatial, _ = self._split(input_shape)
        out = self._output_spatial(spatial)
        if self.data_format == "channels_last":
            return (input_shape[0], *out, self.filters)
        return (input_shape[0], self.filters, *out)


@dataclass(eq=False)
class LocallyConnected1D(LocallyConnected):
    """(N, steps, C) -> (N, out, filters); kernel (out, kernel_size * C, filters), bias
    (out, filters)."""

    rank: ClassVar[int] = 1


@dataclass(eq=False)
class LocallyConnected2D(LocallyConnected):
    """(N, H, W, C) -> (N, H', W', filters); kernel (H' W', kh kw C, filters), bias (H', W',
    filters)."""

    strides: int | tuple = (1, 1)
    rank: ClassVar[int] = 2
