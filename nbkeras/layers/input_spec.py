"""InputSpec: the rank and axis sizes a built layer accepts, checked on every call."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class InputSpec:
    """`ndim` exact rank, `min_ndim` least rank, `axes` {axis: size} that must match."""

    ndim: int | None = None
    min_ndim: int | None = None
    axes: dict = field(default_factory=dict)

    def check(self, who: str, shape: tuple) -> None:
        rank = len(shape)
        if self.ndim is not None and rank != self.ndim:
            raise ValueError(f"{who} expects inputs of rank {self.ndim}; received shape {shape}")
        if self.min_ndim is not None and rank < self.min_ndim:
            raise ValueError(f"{who} expects inputs of rank >= {self.min_ndim}; received shape "
                             f"{shape}")
        for axis, size in self.axes.items():
            if shape[axis] is not None and shape[axis] != size:
                raise ValueError(f"{who} expects axis {axis} of the input to have size {size} "
                                 f"(it was built for that); received shape {shape}")
