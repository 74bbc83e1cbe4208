"""GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D: the maximum over all the
spatial axes."""
from __future__ import annotations

from dataclasses import dataclass

from ...ops.pooling import max_pool
from .base_global_pooling import BaseGlobalPooling


@dataclass(eq=False)
class GlobalMaxPooling1D(BaseGlobalPooling):
    """(N, steps, C) -> (N, C)."""

    _rank = 1
    _pool = staticmethod(max_pool)


@dataclass(eq=False)
class GlobalMaxPooling2D(BaseGlobalPooling):
    """(N, H, W, C) -> (N, C)."""

    _rank = 2
    _pool = staticmethod(max_pool)


@dataclass(eq=False)
class GlobalMaxPooling3D(BaseGlobalPooling):
    """(N, D, H, W, C) -> (N, C)."""

    _rank = 3
    _pool = staticmethod(max_pool)
