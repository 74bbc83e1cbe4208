"""Spec: the shape and dtype of a tensor, with None for unknown (batch) dimensions."""
from __future__ import annotations

from dataclasses import dataclass

Shape = tuple  # tuple[int | None, ...]


@dataclass(frozen=True)
class Spec:
    shape: Shape
    dtype: str

    def __post_init__(self) -> None:   # a plain tuple (a device array's shape may not be)
        object.__setattr__(self, "shape", tuple(self.shape))

    @property
    def ndim(self) -> int:
        return len(self.shape)
