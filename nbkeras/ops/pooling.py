"""Pooling ops, as `keras.ops.max_pool` / `keras.ops.average_pool`: 1-D, 2-D and 3-D windows.

The ops compute on channels_last tensors (N, *spatial, C); channels_first inputs are
transposed around them. "same" padding is never materialized: the kernels clip each window
to the input, so max pooling ignores padded cells and average pooling divides by the count of
real cells, as Keras (TF, JAX) do.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import config
from ..core.spec import Spec
from ..core.tape import DeferredGradient
from ..kernels.geometry import Window, window
from .composite import composite
from .op import Op, float_dtype
from .shape import transpose

_PADDINGS = ("valid", "same")
_DATA_FORMATS = ("channels_last", "channels_first")


def pooling_output_shape(input_shape: tuple, pool_size: tuple, strides: tuple | None = None,
                         padding: str = "valid", data_format: str = "channels_last") -> tuple:
    """Keras's `compute_pooling_output_shape`: floor((n - k) / s) + 1 cells for "valid",
    ceil(n / s) for "same"; None (unknown) sizes stay None."""
    strides = pool_size if strides is None else strides
    first = 1 if data_format == "channels_last" else 2
    spatial = tuple(input_shape[first:first + len(pool_size)])
    out = window(padding, spatial, pool_size, strides).output_spatial(spatial)
    if any(n is not None and n < 0 for n in out):
        raise ValueError(f"pooling: a window of {tuple(pool_size)} cells does not fit the "
                         f"input shape {tuple(input_shape)} with padding '{padding}'")
    if data_format == "channels_last":
        return (input_shape[0], *out, input_shape[-1])
    return (input_shape[0], input_shape[1], *out)


@dataclass(frozen=True)
class Pool(Op):
    """x (N, *spatial, C) -> (N, *out, C), one reduction per window; the base of MaxPool and
    AveragePool."""

    name = "pool"
    pool_size: tuple[int, ...]
    strides: tuple[int, ...]
    padding: str     # "valid" | "same"

    def output_spec(self, x: Spec) -> Spec:
        if x.ndim != len(self.pool_size) + 2:
            raise ValueError(f"{self.name}: a {len(self.pool_size)}-D pool needs inputs of rank "
                             f"{len(self.pool_size) + 2} (batch, *spatial, channels); received "
                             f"shape {x.shape}")
        shape = pooling_output_shape(x.shape, self.pool_size, self.strides, self.padding)
        return Spec(shape, float_dtype(x.dtype) if self.float_inputs else x.dtype)

    def window(self, x_shape: tuple) -> Window:
        return window(self.padding, x_shape[1:-1], self.pool_size, self.strides)


@dataclass(frozen=True)
class MaxPool(Pool):
    """The maximum of each window; its gradient goes to the window's first maximum."""

    name = "max_pool"

    def forward(self, k, x):
        y = k.max_pool_forward(x, self.window(x.shape))
        return y, (x, y)

    def vjp(self, k, dy, residuals, needs):
        """dL/dx, deferred: the convolution that produced x can take it unmade
        (ops/conv.py); the tape makes it for any other use."""
        x, y = residuals
        return (MaxPoolGradient(k, dy, x, y, self.window(x.shape)),)


@dataclass(frozen=True, eq=False)
class MaxPoolGradient(DeferredGradient):
    """dL/dx of y = max_pool(x) over `window`, given dy = dL/dy, with kernel module k."""

    k: object
    dy: object
    x: object
    y: object
    window: Window

    def materialize(self):
        return self.k.max_pool_backward(self.dy, self.x, self.y, self.window)


@dataclass(frozen=True)
class AveragePool(Pool):
    """The mean of the real (unpadded) cells of each window."""

    name = "average_pool"
    float_inputs = True

    def forward(self, k, x):
        y = k.average_pool_forward(x, self.window(x.shape))
        return y, (x.shape,)

    def vjp(self, k, dy, residuals, needs):
        (shape,) = residuals
        return (k.average_pool_backward(dy, shape, self.window(shape)),)


def as_ints(value, rank: int, who: str, field: str, minimum: int = 1) -> tuple[int, ...]:
    """An int or a `rank`-sequence of ints (each >= minimum), as a tuple."""
    values = (value,) * rank if _is_int(value) else value
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    if len(values) != rank or not all(_is_int(v) and v >= minimum for v in values):
        raise ValueError(f"{who}: {field} must be an int or a tuple of {rank} ints >= {minimum}; "
                         f"received {field}={value!r}")
    return tuple(int(v) for v in values)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def channels_last_axes(rank: int) -> tuple[int, ...]:
    """The permutation taking (N, C, *spatial) to (N, *spatial, C)."""
    return (0, *range(2, rank + 2), 1)


def channels_first_axes(rank: int) -> tuple[int, ...]:
    """The permutation taking (N, *spatial, C) to (N, C, *spatial)."""
    return (0, rank + 1, *range(1, rank + 1))


def _pool(op_class, who, inputs, pool_size, strides, padding, data_format):
    rank = len(inputs.shape) - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"{who}: inputs must have rank 3, 4 or 5 (batch, *spatial, channels); "
                         f"received shape {tuple(inputs.shape)}")
    pool_size = as_ints(pool_size, rank, who, "pool_size")
    strides = pool_size if strides is None else as_ints(strides, rank, who, "strides")
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding not in _PADDINGS:
        raise ValueError(f"{who}: padding must be 'valid' or 'same'; received padding={padding!r}")
    data_format = data_format or config.image_data_format()
    if data_format not in _DATA_FORMATS:
        raise ValueError(f"{who}: data_format must be 'channels_last' or 'channels_first'; "
                         f"received data_format={data_format!r}")
    op = op_class(pool_size, strides, padding)
    if data_format == "channels_last":
        return op(inputs)
    return transpose(op(transpose(inputs, channels_last_axes(rank))), channels_first_axes(rank))


def data_format_or_default(data_format):
    return data_format or config.image_data_format()


@composite("pool_size", "strides", "padding", "data_format",
           resolve={"data_format": data_format_or_default})
def max_pool(inputs, pool_size, strides=None, padding: str = "valid", data_format=None):
    """Max pooling over 1-3 spatial axes; strides=None means pool_size."""
    return _pool(MaxPool, "max_pool", inputs, pool_size, strides, padding, data_format)


@composite("pool_size", "strides", "padding", "data_format",
           resolve={"data_format": data_format_or_default})
def average_pool(inputs, pool_size, strides=None, padding: str = "valid", data_format=None):
    """Average pooling over 1-3 spatial axes; "same" divides by the real cells per window."""
    return _pool(AveragePool, "average_pool", inputs, pool_size, strides, padding, data_format)
