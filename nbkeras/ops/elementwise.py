"""Elementwise ops with numpy broadcasting. A binary op's VJP sums each cotangent back to
its input's shape (`k.sum_to_shape`), so broadcasting differentiates correctly."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from ..core.tensor import Tensor
from .op import Op, broadcast_shapes, float_dtype, result_dtype


@dataclass(frozen=True)
class UnaryOp(Op):
    """Shape-preserving op on one input; integer inputs give floatx outputs."""

    float_inputs = True

    def output_spec(self, x: Spec) -> Spec:
        return Spec(x.shape, float_dtype(x.dtype))


@dataclass(frozen=True)
class BinaryOp(Op):
    """x1 (shape A), x2 (shape B) -> broadcast(A, B); dtype by numpy promotion."""

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        return Spec(broadcast_shapes(a.shape, b.shape, type(self).__name__.lower()),
                    result_dtype(a.dtype, b.dtype))

    def vjp(self, k, dy, y, a, b):
        da, db = self.partials(k, dy, y, a, b)
        return (None if da is None else k.sum_to_shape(da, a.shape),
                None if db is None else k.sum_to_shape(db, b.shape))


@dataclass(frozen=True)
class Negative(UnaryOp):
    def forward(self, k, x): return k.negative(x)
    def vjp(self, k, dy, y, x): return (k.negative(dy),)


@dataclass(frozen=True)
class Exp(UnaryOp):
    def forward(self, k, x): return k.exp(x)
    def vjp(self, k, dy, y, x): return (k.multiply(dy, y),)


@dataclass(frozen=True)
class Log(UnaryOp):
    def forward(self, k, x): return k.log(x)
    def vjp(self, k, dy, y, x): return (k.divide(dy, x),)


@dataclass(frozen=True)
class Sqrt(UnaryOp):
    def forward(self, k, x): return k.sqrt(x)
    def vjp(self, k, dy, y, x): return (k.divide(dy, k.multiply(y, 2)),)


@dataclass(frozen=True)
class Square(UnaryOp):
    def forward(self, k, x): return k.square(x)
    def vjp(self, k, dy, y, x): return (k.multiply(dy, k.multiply(x, 2)),)


@dataclass(frozen=True)
class Abs(UnaryOp):
    def forward(self, k, x): return k.abs(x)
    def vjp(self, k, dy, y, x): return (k.multiply(dy, k.sign(x)),)


@dataclass(frozen=True)
class Add(BinaryOp):
    def forward(self, k, a, b): return k.add(a, b)
    def partials(self, k, dy, y, a, b): return dy, dy


@dataclass(frozen=True)
class Subtract(BinaryOp):
    def forward(self, k, a, b): return k.subtract(a, b)
    def partials(self, k, dy, y, a, b): return dy, k.negative(dy)


@dataclass(frozen=True)
class Multiply(BinaryOp):
    def forward(self, k, a, b): return k.multiply(a, b)
    def partials(self, k, dy, y, a, b): return k.multiply(dy, b), k.multiply(dy, a)


@dataclass(frozen=True)
class Divide(BinaryOp):
    float_inputs = True

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        spec = super().output_spec(a, b)
        return Spec(spec.shape, float_dtype(spec.dtype))

    def forward(self, k, a, b): return k.divide(a, b)

    def partials(self, k, dy, y, a, b):
        da = k.divide(dy, b)
        return da, k.negative(k.multiply(da, y))


@dataclass(frozen=True)
class Power(BinaryOp):
    def forward(self, k, a, b): return k.power(a, b)

    def partials(self, k, dy, y, a, b):
        da = k.multiply(dy, k.multiply(b, k.power(a, k.subtract(b, 1))))
        # d(a**b)/db = a**b * log(a): defined where a > 0 (0 elsewhere, as in TF)
        safe_log = k.log(k.where(k.greater(a, 0), a, 1))
        return da, k.multiply(dy, k.multiply(y, safe_log))


@dataclass(frozen=True)
class Extremum(BinaryOp):
    """Elementwise maximum or minimum; the gradient goes to the input that won, and to x1
    on ties (as in TF)."""

    kernel: str  # "maximum" | "minimum"

    def forward(self, k, a, b): return getattr(k, self.kernel)(a, b)

    def partials(self, k, dy, y, a, b):
        first = k.equal(y, a)
        return k.where(first, dy, 0), k.where(first, 0, dy)


@dataclass(frozen=True)
class Compare(BinaryOp):
    """x1 <op> x2 -> bool; not differentiable."""

    kernel: str

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        return Spec(super().output_spec(a, b).shape, "bool")

    def forward(self, k, a, b): return getattr(k, self.kernel)(a, b)
    def vjp(self, k, dy, y, a, b): return None, None


def _as_operand(x, like):
    """Python numbers take the dtype of the tensor they meet (as Keras does), so that
    `x * 2` keeps float32."""
    if isinstance(x, (int, float, bool, np.number)) and not isinstance(x, np.ndarray):
        dtype = like.dtype if isinstance(like, (Tensor, KerasTensor, np.ndarray)) else None
        if dtype is not None and (np.dtype(dtype).kind == "f" or isinstance(x, (int, bool))):
            return Tensor(np.asarray(x, dtype=dtype))
    return x


def _binary(op: Op):
    def apply(x1, x2):
        return op(_as_operand(x1, x2), _as_operand(x2, x1))
    return apply


add = _binary(Add())
subtract = _binary(Subtract())
multiply = _binary(Multiply())
divide = _binary(Divide())
true_divide = divide
power = _binary(Power())
maximum = _binary(Extremum("maximum"))
minimum = _binary(Extremum("minimum"))
less = _binary(Compare("less"))
less_equal = _binary(Compare("less_equal"))
greater = _binary(Compare("greater"))
greater_equal = _binary(Compare("greater_equal"))
equal = _binary(Compare("equal"))
not_equal = _binary(Compare("not_equal"))
negative = Negative()
exp = Exp()
log = Log()
sqrt = Sqrt()
square = Square()
abs = Abs()
absolute = abs
