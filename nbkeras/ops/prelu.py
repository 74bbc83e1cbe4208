"""PReLU: the leaky ReLU whose negative slope is a (broadcast) tensor, as one op."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.spec import Spec
from .op import Op, broadcast_shapes, result_type


@dataclass(frozen=True)
class PReLU(Op):
    """x (any shape), alpha (broadcastable to x) -> x where x >= 0, alpha * x elsewhere."""

    def output_spec(self, x: Spec, alpha: Spec) -> Spec:
        shape = broadcast_shapes(x.shape, alpha.shape, "prelu")
        if shape != tuple(x.shape):
            raise ValueError(f"prelu: alpha of shape {alpha.shape} must broadcast to the input "
                             f"shape {x.shape}")
        return Spec(shape, result_type(x.dtype, alpha.dtype))

    def forward(self, k, x, alpha):
        return k.where(k.greater_equal(x, 0), x, k.multiply(alpha, x)), (x, alpha)

    def vjp(self, k, dy, residuals, needs):
        x, alpha = residuals
        positive = k.greater_equal(x, 0)
        dx = k.where(positive, dy, k.multiply(dy, alpha)) if needs[0] else None
        dalpha = (k.sum_to_shape(k.where(positive, 0, k.multiply(dy, x)), alpha.shape)
                  if needs[1] else None)
        return dx, dalpha


_prelu = PReLU()


def prelu(x, alpha):
    """Parametric ReLU: x for x >= 0, alpha * x below; alpha broadcasts against x."""
    return _prelu(x, alpha)
