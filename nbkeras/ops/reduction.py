"""Reductions over `axis` (None, an int or a tuple) with `keepdims`: sum, mean, max, min, prod."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.spec import Spec
from .op import Op, float_dtype


def normalize_axes(axis, ndim: int, who: str) -> tuple[int, ...]:
    """Sorted non-negative axes; every axis for None."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{who}: axis {a} is out of range for a tensor of rank {ndim}")
    return tuple(sorted(a % ndim for a in axes))


@dataclass(frozen=True)
class Reduce(Op):
    """x (shape S) -> x reduced over `axes` (kept as size 1 when keepdims)."""

    kernel: str          # "sum" | "mean" | "max" | "min" | "prod"
    axes: tuple[int, ...]
    keepdims: bool

    @property
    def float_inputs(self) -> bool:
        return self.kernel == "mean"

    def output_spec(self, x: Spec) -> Spec:
        shape = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape)
                      if self.keepdims or i not in self.axes)
        return Spec(shape, float_dtype(x.dtype) if self.kernel == "mean" else x.dtype)

    def forward(self, k, x):
        y = k.reduce(self.kernel, x, self.axes, self.keepdims)
        if self.kernel == "sum":
            return y, (x.shape,)
        if self.kernel == "mean":
            count = x.size // y.size if y.size else 0           # the count averaged over
            return y, (x.shape, count or 1)
        return y, (x.shape, x, y)

    def vjp(self, k, dy, residuals, needs):
        shape, *saved = residuals
        kept = tuple(1 if i in self.axes else n for i, n in enumerate(shape))
        dy_kept = k.reshape(dy, kept)
        if self.kernel == "sum":
            return (k.broadcast_to(dy_kept, shape),)
        if self.kernel == "mean":
            return (k.broadcast_to(k.divide(dy_kept, saved[0]), shape),)
        x, y = saved
        if self.kernel == "prod":
            return (k.prod_backward(dy_kept, x, self.axes),)
        return (k.extreme_backward(dy_kept, x, k.reshape(y, kept), self.axes),)


def _reduction(kernel: str):
    def reduce(x, axis=None, keepdims=False):
        ndim = len(x.shape) if hasattr(x, "shape") else 0
        op = Reduce(kernel, normalize_axes(axis, ndim, kernel), bool(keepdims))
        return op(x)
    reduce.__name__ = kernel
    reduce.__doc__ = f"{kernel} of x over `axis` (all axes if None), keeping them if `keepdims`."
    return reduce


sum = _reduction("sum")
mean = _reduction("mean")
max = _reduction("max")
min = _reduction("min")
prod = _reduction("prod")
amax, amin = max, min
