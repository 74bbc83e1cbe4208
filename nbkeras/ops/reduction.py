"""Reductions over `axis` (None, an int or a tuple) with `keepdims`: sum, mean, max, min, prod."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..core.spec import Spec
from .composite import composite
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


_WIDENED = {"bool": "int32", "int8": "int32", "int16": "int32", "uint8": "uint32",
            "uint16": "uint32"}


@dataclass(frozen=True)
class Reduce(Op):
    """x (shape S) -> x reduced over `axes` (kept as size 1 when keepdims)."""

    kernel: str          # "sum" | "mean" | "max" | "min" | "prod"
    axes: tuple[int, ...]
    keepdims: bool
    axis: object = field(default=None, compare=False)   # as the caller wrote it (configs)

    @property
    def float_inputs(self) -> bool:
        return self.kernel == "mean"

    def output_spec(self, x: Spec) -> Spec:
        shape = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape)
                      if self.keepdims or i not in self.axes)
        return Spec(shape, self._dtype(x.dtype))

    def _dtype(self, dtype: str) -> str:
        """mean: float; sum and prod: bool and narrow integers accumulate in 32 bits (Keras's
        rule); max and min: x's dtype."""
        if self.kernel == "mean":
            return float_dtype(dtype)
        if self.kernel in ("sum", "prod") and dtype in _WIDENED:
            return _WIDENED[dtype]
        return dtype

    def forward(self, k, x):
        y = k.reduce(self.kernel, x, self.axes, self.keepdims)
        dtype = self._dtype(x.dtype.name)
        if y.dtype != dtype:                   # numpy's sum of int32 is int64
            y = k.cast(y, dtype)
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
        op = Reduce(kernel, normalize_axes(axis, ndim, kernel), bool(keepdims), axis)
        return op(x)
    reduce.__name__ = kernel
    reduce.__doc__ = f"{kernel} of x over `axis` (all axes if None), keeping them if `keepdims`."
    return reduce


sum = _reduction("sum")
mean = _reduction("mean")


def _extreme(kernel: str, x, axis, keepdims: bool, initial):
    """max or min over axis; with `initial`, also over that value (which an empty reduction
    returns)."""
    from .creation import full                      # creation builds on ops: on use
    from .elementwise import maximum, minimum

    ndim = len(x.shape) if hasattr(x, "shape") else 0
    op = Reduce(kernel, normalize_axes(axis, ndim, kernel), bool(keepdims), axis)
    if initial is None:
        return op(x)
    if any(x.shape[a] == 0 for a in op.axes):
        shape = op.output_spec(Spec(tuple(x.shape), str(x.dtype))).shape
        return full(shape, initial, x.dtype)
    return (maximum if kernel == "max" else minimum)(op(x), initial)


def max(x, axis=None, keepdims=False, initial=None):
    """The largest element of x over `axis` (all axes if None), and `initial` if given."""
    return _extreme("max", x, axis, keepdims, initial)


def min(x, axis=None, keepdims=False, initial=None):
    """The smallest element of x over `axis` (all axes if None), and `initial` if given."""
    return _extreme("min", x, axis, keepdims, initial)


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product of x's elements over `axis`, computed in `dtype` if given."""
    from .core import cast                          # core imports this module

    ndim = len(x.shape) if hasattr(x, "shape") else 0
    x = x if dtype is None else cast(x, dtype)
    return Reduce("prod", normalize_axes(axis, ndim, "prod"), bool(keepdims), axis)(x)


@composite("axis", "keepdims")
def amax(x, axis=None, keepdims=False):
    """The largest element of x over `axis` (all axes if None): max, as Keras's Amax op."""
    return max(x, axis, keepdims)


@composite("axis", "keepdims")
def amin(x, axis=None, keepdims=False):
    """The smallest element of x over `axis` (all axes if None): min, as Keras's Amin op."""
    return min(x, axis, keepdims)
