"""Dtype casts, selection and non-differentiable ops: cast, clip, where, stop_gradient,
argmax, argmin, one_hot."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.dtype import is_float, standardize_dtype
from ..core.spec import Spec
from .composite import composite
from .op import Op, broadcast_shapes, convert_to_tensor, promoted, result_type  # noqa: F401 (re-export)
from .reduction import normalize_axes


@dataclass(frozen=True)
class Cast(Op):
    dtype: str

    def output_spec(self, x: Spec) -> Spec: return Spec(x.shape, self.dtype)
    def forward(self, k, x): return k.cast(x, self.dtype), (x.dtype,)
    def vjp(self, k, dy, residuals, needs): return (k.cast(dy, residuals[0]),)


@dataclass(frozen=True)
class Clip(Op):
    """x limited to [low, high]; the gradient passes where x is inside (bounds included).
    Integer x keeps its dtype (the bounds rounded inward), bool x is clipped as int32, as
    in Keras."""

    low: float
    high: float

    def output_spec(self, x: Spec) -> Spec:
        return Spec(x.shape, "int32" if x.dtype == "bool" else x.dtype)

    def forward(self, k, x):
        if x.dtype == np.bool_:
            x = k.cast(x, "int32")
        return k.clip(x, *self._bounds(x.dtype)), (x,)

    def _bounds(self, dtype) -> tuple:
        """(low, high) as numbers of `dtype`: integer dtypes hold the integers inside."""
        if is_float(dtype):
            return dtype.type(self.low), dtype.type(self.high)
        info = np.iinfo(dtype)
        low = math.ceil(min(max(self.low, info.min), info.max))
        high = math.floor(max(min(self.high, info.max), info.min))
        return dtype.type(low), dtype.type(high)

    def vjp(self, k, dy, residuals, needs):
        (x,) = residuals
        inside = k.multiply(k.greater_equal(x, self.low), k.less_equal(x, self.high))
        return (k.where(inside, dy, 0),)


@dataclass(frozen=True)
class Where(Op):
    """condition ? x1 : x2, broadcasting all three; not differentiable in the condition."""

    weak_pair = (1, 2)

    def output_spec(self, c: Spec, a: Spec, b: Spec) -> Spec:
        shape = broadcast_shapes(broadcast_shapes(c.shape, a.shape, "where"), b.shape, "where")
        return Spec(shape, result_type(a.dtype, b.dtype))

    def forward(self, k, c, a, b):
        a, b = promoted(k, a, b)
        return k.where(c, a, b), (c, a.shape, b.shape)

    def vjp(self, k, dy, residuals, needs):
        c, a_shape, b_shape = residuals
        return (None, k.sum_to_shape(k.where(c, dy, 0), a_shape) if needs[1] else None,
                k.sum_to_shape(k.where(c, 0, dy), b_shape) if needs[2] else None)


@dataclass(frozen=True)
class StopGradient(Op):
    def output_spec(self, x: Spec) -> Spec: return x
    def forward(self, k, x): return x, ()
    def vjp(self, k, dy, residuals, needs): return (None,)


@dataclass(frozen=True)
class ArgMax(Op):
    """int32 index of the first largest (or, with `smallest`, smallest) element over `axis`
    (of the flattened x when None); NaN counts as the extreme. No gradient."""

    axis: int | None
    keepdims: bool
    smallest: bool = False

    def output_spec(self, x: Spec) -> Spec:
        who = "argmin" if self.smallest else "argmax"
        axes = normalize_axes(self.axis, len(x.shape), who)
        shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape)
                      if self.keepdims or i not in axes)
        return Spec(shape, "int32")

    def forward(self, k, x):
        if self.smallest:   # an order-reversing map: -x; -1 - x for ints (no overflow); not x
            x = (k.negative(x) if x.dtype.kind == "f" else k.equal(x, False)
                 if x.dtype.kind == "b" else k.subtract(x.dtype.type(-1), x))
        return k.cast(k.argmax(x, axis=self.axis, keepdims=self.keepdims), "int32"), ()

    def vjp(self, k, dy, residuals, needs): return (None,)


@dataclass(frozen=True)
class OneHot(Op):
    """int indices (shape S) -> one-hot floats with a new axis of `num_classes` at `axis`."""

    num_classes: int
    axis: int
    dtype: str

    def output_spec(self, x: Spec) -> Spec:
        shape = list(x.shape)
        shape.insert(self.axis % (len(shape) + 1), self.num_classes)
        return Spec(tuple(shape), self.dtype)

    def forward(self, k, x): return k.one_hot(x, self.num_classes, self.axis, self.dtype), ()
    def vjp(self, k, dy, residuals, needs): return (None,)


def cast(x, dtype):
    return Cast(standardize_dtype(dtype))(x)


@composite("x_min", "x_max")
def clip(x, x_min, x_max):
    return Clip(float(x_min), float(x_max))(x)


def where(condition, x1=None, x2=None):
    """x1 where condition else x2, the three broadcast together; with neither x1 nor x2, the
    indices of condition's true elements (as `nonzero`)."""
    if x1 is None and x2 is None:
        from .sorting import nonzero      # sorting builds on this module
        return nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    return Where()(condition, x1, x2)


def stop_gradient(variable):
    """`variable` itself, with no gradient flowing back through it (Keras's argument name)."""
    return StopGradient()(variable)


@composite("axis", "keepdims")
def argmax(x, axis=None, keepdims=False):
    """int32 index of the first largest element over `axis`. No gradient."""
    return ArgMax(axis, bool(keepdims))(x)


@composite("axis", "keepdims")
def argmin(x, axis=None, keepdims=False):
    """int32 index of the first smallest element over `axis`. No gradient."""
    return ArgMax(axis, bool(keepdims), smallest=True)(x)


@composite("num_classes", "axis", "dtype", "sparse", resolve={"dtype": standardize_dtype})
def one_hot(x, num_classes: int, axis: int = -1, dtype=None, sparse=False):
    """Integer x -> one-hot rows of `num_classes` at `axis` (indices outside [0, num_classes)
    give zero rows); nbkeras tensors are dense, so sparse=True raises."""
    if sparse:
        raise ValueError("one_hot: nbkeras tensors are dense; received sparse=True")
    return OneHot(int(num_classes), int(axis), standardize_dtype(dtype))(x)
