"""ZeroPadding1D, ZeroPadding2D, ZeroPadding3D: rows of zeros around the spatial axes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import config
from ...ops.padding import pad
from ..input_spec import InputSpec
from ..layer import Layer, require


def spatial_pairs(layer: Layer, field: str, rank: int):
    """Normalize `layer.<field>` (Keras's padding/cropping forms) and return (stored value,
    one (before, after) pair per spatial axis). Rank 1: an int or (before, after), stored as
    the pair. Rank 2-3: an int, `rank` ints (symmetric per axis) or `rank` (before, after)
    pairs, stored as the pairs."""
    value = getattr(layer, field)

    def is_count(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0

    def is_pair(v) -> bool:
        return isinstance(v, (tuple, list)) and len(v) == 2 and all(map(is_count, v))

    if rank == 1:
        pair = (value, value) if is_count(value) else value
        require(layer, field, is_pair(pair), "a non-negative int or a (before, after) pair of them")
        pair = (int(pair[0]), int(pair[1]))
        return pair, (pair,)
    entries = (value,) * rank if is_count(value) else value
    ok = isinstance(entries, (tuple, list)) and len(entries) == rank and all(
        is_count(v) or is_pair(v) for v in entries)
    require(layer, field, ok, f"a non-negative int, a tuple of {rank} of them or a tuple of "
                              f"{rank} (before, after) pairs of them")
    pairs = tuple((int(v), int(v)) if is_count(v) else (int(v[0]), int(v[1])) for v in entries)
    return pairs, pairs


def full_pairs(pairs: tuple, data_format: str) -> tuple:
    """Spatial pairs extended with (0, 0) for the batch and channel axes."""
    if data_format == "channels_first":
        return ((0, 0), (0, 0), *pairs)
    return ((0, 0), *pairs, (0, 0))


def spatial_start(data_format: str) -> int:
    return 2 if data_format == "channels_first" else 1


@dataclass(eq=False)
class BaseZeroPadding(Layer):
    """(N, *spatial, C) -> (N, *(n + before + after), C) (or channels_first), zeros added.
    Subclasses set `_rank`."""

    padding: object = 1
    data_format: str | None = None    # None: config.image_data_format()

    _rank = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        self.padding, self._pairs = spatial_pairs(self, "padding", self._rank)
        self.data_format = self.data_format or config.image_data_format()
        require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                "'channels_last' or 'channels_first'")
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def call(self, inputs):
        return pad(inputs, full_pairs(self._pairs, self.data_format))

    def compute_output_shape(self, input_shape):
        return tuple(None if n is None else n + a + b for n, (a, b) in
                     zip(input_shape, full_pairs(self._pairs, self.data_format)))


@dataclass(eq=False)
class ZeroPadding1D(BaseZeroPadding):
    """(N, steps, C) -> (N, before + steps + after, C); padding: int or (before, after)."""

    padding: int | tuple[int, int] = 1
    _rank = 1


@dataclass(eq=False)
class ZeroPadding2D(BaseZeroPadding):
    """(N, H, W, C) -> (N, H + top + bottom, W + left + right, C); padding: int, (h, w) or
    ((top, bottom), (left, right))."""

    padding: int | tuple = (1, 1)
    _rank = 2


@dataclass(eq=False)
class ZeroPadding3D(BaseZeroPadding):
    """(N, D, H, W, C) -> padded (N, D', H', W', C); padding: int, 3 ints or 3 pairs."""

    padding: int | tuple = ((1, 1), (1, 1), (1, 1))
    _rank = 3
