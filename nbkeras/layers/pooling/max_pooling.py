"""MaxPooling1D, MaxPooling2D, MaxPooling3D: the maximum of each window."""
from __future__ import annotations

from dataclasses import dataclass

from ...ops.pooling import max_pool
from .base_pooling import BasePooling


@dataclass(eq=False)
class MaxPooling1D(BasePooling):
    """(N, steps, C) -> (N, steps', C) (channels_first: (N, C, steps))."""

    pool_size: int | tuple[int] = 2
    _rank = 1
    _pool = staticmethod(max_pool)


@dataclass(eq=False)
class MaxPooling2D(BasePooling):
    """(N, H, W, C) -> (N, H', W', C) (channels_first: (N, C, H, W))."""

    pool_size: int | tuple[int, int] = (2, 2)
    _rank = 2
    _pool = staticmethod(max_pool)


@dataclass(eq=False)
class MaxPooling3D(BasePooling):
    """(N, D, H, W, C) -> (N, D', H', W', C) (channels_first: (N, C, D, H, W))."""

    pool_size: int | tuple[int, int, int] = (2, 2, 2)
    _rank = 3
    _pool = staticmethod(max_pool)
