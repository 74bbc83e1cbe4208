"""Matrix products: matmul (numpy semantics, batch axes broadcast) and dot."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.spec import Spec
from .op import Op, broadcast_shapes, promoted, result_type
from .composite import composite
from .elementwise import multiply


@dataclass(frozen=True)
class MatMul(Op):
    """a (..., M, K) @ b (..., K, N) -> (..., M, N); a 1-D a or b loses its M or N axis."""

    def output_spec(self, a: Spec, b: Spec) -> Spec:
        if not a.ndim or not b.ndim:
            raise ValueError("matmul: operands must have at least one axis; received shapes "
                             f"{a.shape} and {b.shape}")
        a_shape = (1,) + a.shape if a.ndim == 1 else a.shape
        b_shape = b.shape + (1,) if b.ndim == 1 else b.shape
        if None not in (a_shape[-1], b_shape[-2]) and a_shape[-1] != b_shape[-2]:
            raise ValueError(f"matmul: inner dimensions differ: shapes {a.shape} and {b.shape}")
        batch = broadcast_shapes(a_shape[:-2], b_shape[:-2], "matmul")
        shape = batch + a_shape[-2:-1] * (a.ndim > 1) + b_shape[-1:] * (b.ndim > 1)
        return Spec(shape, result_type(a.dtype, b.dtype))

    def forward(self, k, a, b):
        a, b = promoted(k, a, b)
        return k.matmul(a, b), (a, b)

    def vjp(self, k, dy, residuals, needs):
        a, b = residuals
        a2 = k.reshape(a, (1, -1)) if a.ndim == 1 else a
        b2 = k.reshape(b, (-1, 1)) if b.ndim == 1 else b
        if b.ndim == 1:                      # restore the N axis that a vector b removed
            dy = k.expand_dims(dy, -1)
        if a.ndim == 1:                      # and the M axis that a vector a removed
            dy = k.expand_dims(dy, -2)
        da = db = None
        if needs[0]:
            da = k.reshape(k.sum_to_shape(k.matmul(dy, k.swapaxes(b2, -1, -2)), a2.shape),
                           a.shape)
        if needs[1]:
            db = k.reshape(k.sum_to_shape(k.matmul(k.swapaxes(a2, -1, -2), dy), b2.shape),
                           b.shape)
        return da, db


_matmul = MatMul()


def matmul(x1, x2):
    """numpy.matmul, differentiable in both operands."""
    return _matmul(x1, x2)


@composite()
def dot(x1, x2):
    """numpy.dot: matmul for rank <= 2; otherwise sums x1's last axis with x2's second-to-last
    (a tensordot, so unknown sizes on both sides are fine)."""
    from .products import tensordot     # products builds on this module

    if not len(x1.shape) or not len(x2.shape):
        return multiply(x1, x2)
    if len(x1.shape) <= 2 and len(x2.shape) <= 2 or len(x2.shape) < 2:
        return _matmul(x1, x2)
    return tensordot(x1, x2, axes=([-1], [-2]))
