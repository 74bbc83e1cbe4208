"""The dense op: x @ kernel + bias over the last axis, fused (one op, one VJP)."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.spec import Spec
from .op import Op, result_type


@dataclass(frozen=True)
class Dense(Op):
    """x (..., in) @ kernel (in, out) [+ bias (out,)] -> (..., out).

    One op, one VJP: the leading axes fold into one so each product is a single 2-D BLAS
    call, and the bias is added in place."""

    def output_spec(self, x: Spec, w: Spec, b: Spec | None = None) -> Spec:
        if x.shape[-1] is not None and x.shape[-1] != w.shape[0]:
            raise ValueError(f"dense: the last axis of the input {x.shape} must equal the "
                             f"kernel's input size {w.shape[0]} (kernel shape {w.shape})")
        return Spec(x.shape[:-1] + w.shape[1:], result_type(x.dtype, w.dtype))

    def forward(self, k, x, w, b=None):
        y = k.gemm(k.reshape(x, (-1, w.shape[0])), w)
        if b is not None:
            y = k.add(y, b)
        return k.reshape(y, x.shape[:-1] + w.shape[1:]), (x, w)

    def vjp(self, k, dy, residuals, needs):
        x, w = residuals
        dy2 = k.reshape(dy, (-1, w.shape[1]))
        dx = k.reshape(k.gemm(dy2, k.transpose(w, (1, 0))), x.shape) if needs[0] else None
        dw = (k.gemm(k.transpose(k.reshape(x, (-1, w.shape[0])), (1, 0)), dy2)
              if needs[1] else None)
        if len(needs) == 2:
            return dx, dw
        return dx, dw, k.reduce("sum", dy2, 0, False) if needs[2] else None


_dense = Dense()


def dense_op() -> Dense:
    """The Dense op `dense` applies: the inference plan repeats a checked call by its
    `forward` on the arrays (models/fusion.py's repeat_call)."""
    return _dense


def dense(x, kernel, bias=None):
    """x @ kernel + bias over the last axis of x."""
    return _dense(x, kernel) if bias is None else _dense(x, kernel, bias)
