"""Constant padding and cropping: each the other's VJP (kernels `pad` and `crop`).

`pad` is `keras.ops.pad` for mode="constant"; `crop` (its adjoint) is what the Cropping
layers use. Widths are explicit (before, after) pairs, one per axis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.spec import Spec
from .composite import composite
from .op import Op


@dataclass(frozen=True)
class Pad(Op):
    """x -> x with `pairs[i] = (before, after)` cells of `value` added along axis i."""

    pairs: tuple[tuple[int, int], ...]
    value: float = 0.0

    def output_spec(self, x: Spec) -> Spec:
        if len(self.pairs) != x.ndim:
            raise ValueError(f"pad: {len(self.pairs)} (before, after) pairs for a tensor of rank "
                             f"{x.ndim} (shape {x.shape})")
        return Spec(tuple(None if n is None else n + a + b
                          for n, (a, b) in zip(x.shape, self.pairs)), x.dtype)

    def forward(self, k, x):
        return k.pad(x, self.pairs, self.value), ()

    def vjp(self, k, dy, residuals, needs):
        return (k.crop(dy, self.pairs),)


@dataclass(frozen=True)
class Crop(Op):
    """x -> x without `pairs[i] = (before, after)` cells at the ends of axis i."""

    pairs: tuple[tuple[int, int], ...]

    def output_spec(self, x: Spec) -> Spec:
        if len(self.pairs) != x.ndim:
            raise ValueError(f"crop: {len(self.pairs)} (before, after) pairs for a tensor of "
                             f"rank {x.ndim} (shape {x.shape})")
        shape = tuple(None if n is None else n - a - b for n, (a, b) in zip(x.shape, self.pairs))
        if any(n is not None and n < 0 for n in shape):
            raise ValueError(f"crop: cannot remove {self.pairs} cells from a tensor of shape "
                             f"{x.shape}")
        return Spec(shape, x.dtype)

    def forward(self, k, x):
        return k.crop(x, self.pairs), ()

    def vjp(self, k, dy, residuals, needs):
        return (k.pad(dy, self.pairs, 0.0),)


def _pairs(width, ndim: int, who: str) -> tuple[tuple[int, int], ...]:
    """numpy's pad_width forms: n, (n,), (before, after), or one (before, after) per axis."""
    array = np.asarray(width)
    if array.dtype.kind not in "iu" or array.ndim > 2 or (array < 0).any():
        raise ValueError(f"{who}: widths must be non-negative ints: n, (before, after) or one "
                         f"(before, after) pair per axis; received {width!r}")
    try:
        pairs = np.broadcast_to(array, (ndim, 2))
    except ValueError:
        raise ValueError(f"{who}: widths {width!r} do not fit a tensor of rank {ndim}") from None
    return tuple((int(a), int(b)) for a, b in pairs)


@composite("pad_width", "mode", keywords=("constant_values",))
def pad(x, pad_width, mode: str = "constant", constant_values=None):
    """x with `pad_width` cells of `constant_values` (0 if None) added, as np.pad/keras.ops.pad.
    Only mode="constant" is supported."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported; received mode={mode!r}")
    pairs = _pairs(pad_width, len(x.shape), "pad")
    return Pad(pairs, float(constant_values or 0.0))(x)


def crop(x, cropping):
    """x without `cropping` cells at the ends of each axis (same forms as pad_width)."""
    return Crop(_pairs(cropping, len(x.shape), "crop"))(x)
