"""Elementwise ops with numpy broadcasting. A binary op's VJP sums each cotangent back to
its input's shape (`k.sum_to_shape`), so broadcasting differentiates correctly."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..core.spec import Spec
from .op import Op, broadcast_shapes, float_dtype, promoted, result_type


@dataclass(frozen=True)
class UnaryOp(Op):
    """Shape-preserving op on one input; integer inputs give floatx outputs."""

    float_inputs = True

    def output_spec(self, x: Spec) -> Spec:
        return Spec(x.shape, float_dtype(x.dtype))


@dataclass(frozen=True)
class BinaryOp(Op):
    """x1 (shape A), x2 (shape B) -> broadcast(A, B); dtype by numpy promotion. Subclasses
    define `apply`, `saved` (what `partials` reads) and `partials`; the VJP sums each
    cotangent back to its input's shape."""

    weak_pair = (0, 1)

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        return Spec(broadcast_shapes(a.shape, b.shape, type(self).__name__.lower()),
                    result_type(a.dtype, b.dtype))

    def forward(self, k, a, b):
        a, b = promoted(k, a, b)
        y = self.apply(k, a, b)
        return y, (a.shape, b.shape, *self.saved(k, a, b, y))

    def saved(self, k, a, b, y) -> tuple:
        return ()

    def vjp(self, k, dy, residuals, needs):
        a_shape, b_shape, *saved = residuals
        da, db = self.partials(k, dy, needs, *saved)
        return (None if da is None else k.sum_to_shape(da, a_shape),
                None if db is None else k.sum_to_shape(db, b_shape))


@dataclass(frozen=True)
class IntegerKeepingOp(UnaryOp):
    """A UnaryOp through which integers keep their dtype, as in Keras; bools give
    `bool_dtype` (None: refused, as Keras refuses negative(bool))."""

    float_inputs = False
    bool_dtype = None

    def output_spec(self, x: Spec) -> Spec:
        if x.dtype != "bool":
            return x
        if self.bool_dtype is None:
            raise TypeError(f"{type(self).__name__.lower()}: x must be a numeric tensor, not "
                            f"bool; received shape {x.shape}")
        return Spec(x.shape, self.bool_dtype)

    def numeric(self, k, x):
        """x, with bools cast to `bool_dtype` (numpy's square of a bool is a bool)."""
        if x.dtype == np.bool_ and self.bool_dtype not in (None, "bool"):
            return k.cast(x, self.bool_dtype)
        return x


@dataclass(frozen=True)
class Negative(IntegerKeepingOp):
    def forward(self, k, x): return k.negative(x), ()
    def vjp(self, k, dy, residuals, needs): return (k.negative(dy),)


@dataclass(frozen=True)
class Exp(UnaryOp):
    def forward(self, k, x):
        y = k.exp(x)
        return y, (y,)

    def vjp(self, k, dy, residuals, needs): return (k.multiply(dy, residuals[0]),)


@dataclass(frozen=True)
class Log(UnaryOp):
    def forward(self, k, x): return k.log(x), (x,)
    def vjp(self, k, dy, residuals, needs): return (k.divide(dy, residuals[0]),)


@dataclass(frozen=True)
class Sqrt(UnaryOp):
    def forward(self, k, x):
        y = k.sqrt(x)
        return y, (y,)

    def vjp(self, k, dy, residuals, needs): return (k.divide(dy, k.multiply(residuals[0], 2)),)


@dataclass(frozen=True)
class Square(IntegerKeepingOp):
    bool_dtype = "int32"

    def forward(self, k, x):
        x = self.numeric(k, x)
        return k.square(x), (x,)

    def vjp(self, k, dy, residuals, needs): return (k.multiply(dy, k.multiply(residuals[0], 2)),)


@dataclass(frozen=True)
class Abs(IntegerKeepingOp):
    bool_dtype = "bool"

    def forward(self, k, x): return k.abs(x), (x,)
    def vjp(self, k, dy, residuals, needs): return (k.multiply(dy, k.sign(residuals[0])),)


@dataclass(frozen=True)
class Add(BinaryOp):
    def apply(self, k, a, b): return k.add(a, b)
    def partials(self, k, dy, needs): return dy, dy


@dataclass(frozen=True)
class Subtract(BinaryOp):
    def apply(self, k, a, b): return k.subtract(a, b)
    def partials(self, k, dy, needs): return dy, k.negative(dy) if needs[1] else None


@dataclass(frozen=True)
class Multiply(BinaryOp):
    def apply(self, k, a, b): return k.multiply(a, b)
    def saved(self, k, a, b, y): return a, b

    def partials(self, k, dy, needs, a, b):
        return (k.multiply(dy, b) if needs[0] else None,
                k.multiply(dy, a) if needs[1] else None)


@dataclass(frozen=True)
class Divide(BinaryOp):
    float_inputs = True

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        spec = super().output_spec(a, b)
        return Spec(spec.shape, float_dtype(spec.dtype))

    def apply(self, k, a, b): return k.divide(a, b)
    def saved(self, k, a, b, y): return b, y

    def partials(self, k, dy, needs, b, y):
        da = k.divide(dy, b)
        return da, k.negative(k.multiply(da, y)) if needs[1] else None


@dataclass(frozen=True)
class TrueDivide(Divide):
    """x1 / x2, as Divide: keras.ops.true_divide's own op, which `/` makes (Keras writes it
    as TrueDivide)."""


@dataclass(frozen=True)
class DivideNoNan(Divide):
    """x1 / x2, and 0 where x2 == 0 (with zero cotangents there), as keras.ops.divide_no_nan."""

    def apply(self, k, a, b):
        zero = k.equal(b, 0)
        return k.where(zero, 0, k.divide(a, k.where(zero, 1, b)))

    def saved(self, k, a, b, y):
        zero = k.equal(b, 0)
        return zero, k.where(zero, 1, b), y

    def partials(self, k, dy, needs, zero, safe_b, y):
        da = k.where(zero, 0, k.divide(dy, safe_b))
        return da, k.negative(k.multiply(da, y)) if needs[1] else None


@dataclass(frozen=True)
class Power(BinaryOp):
    def apply(self, k, a, b): return k.power(a, b)
    def saved(self, k, a, b, y): return a, b, y

    def partials(self, k, dy, needs, a, b, y):
        da = k.multiply(dy, k.multiply(b, k.power(a, k.subtract(b, 1)))) if needs[0] else None
        if not needs[1]:
            return da, None
        # d(a**b)/db = a**b * log(a): defined where a > 0 (0 elsewhere, as in TF)
        safe_log = k.log(k.where(k.greater(a, 0), a, 1))
        return da, k.multiply(dy, k.multiply(y, safe_log))


@dataclass(frozen=True)
class Extremum(BinaryOp):
    """Elementwise maximum or minimum; the gradient goes to the input that won, and to x1
    on ties (as in TF)."""

    maximum: bool

    def apply(self, k, a, b): return k.maximum(a, b) if self.maximum else k.minimum(a, b)
    def saved(self, k, a, b, y): return (k.equal(y, a),)

    def partials(self, k, dy, needs, first):
        return k.where(first, dy, 0), k.where(first, 0, dy)


@dataclass(frozen=True)
class Compare(BinaryOp):
    """x1 <op> x2 -> bool; not differentiable. `kernel` picks the comparison from a kernel
    module (`lambda k: k.less`)."""

    kernel: Callable

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        return Spec(super().output_spec(a, b).shape, "bool")

    def apply(self, k, a, b): return self.kernel(k)(a, b)
    def partials(self, k, dy, needs): return None, None


def _binary(op: Op):
    def apply(x1, x2):
        return op(x1, x2)
    return apply


add = _binary(Add())
subtract = _binary(Subtract())
multiply = _binary(Multiply())
divide = _binary(Divide())
true_divide = _binary(TrueDivide())
divide_no_nan = _binary(DivideNoNan())
power = _binary(Power())
maximum = _binary(Extremum(maximum=True))
minimum = _binary(Extremum(maximum=False))
less = _binary(Compare(lambda k: k.less))
less_equal = _binary(Compare(lambda k: k.less_equal))
greater = _binary(Compare(lambda k: k.greater))
greater_equal = _binary(Compare(lambda k: k.greater_equal))
equal = _binary(Compare(lambda k: k.equal))
not_equal = _binary(Compare(lambda k: k.not_equal))
def _unary(op: Op, name: str, doc: str):
    def apply(x):
        return op(x)
    apply.__name__, apply.__qualname__, apply.__doc__ = name, name, doc
    return apply


negative = _unary(Negative(), "negative", "-x.")
exp = _unary(Exp(), "exp", "e ** x (integers give floatx).")
log = _unary(Log(), "log", "The natural logarithm of x.")
sqrt = _unary(Sqrt(), "sqrt", "The square root of x.")
square = _unary(Square(), "square", "x * x.")
abs = _unary(Abs(), "abs", "|x|.")
absolute = abs
