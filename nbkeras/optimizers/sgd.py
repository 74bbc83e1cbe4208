"""SGD, as `keras.optimizers.SGD`: plain, momentum or Nesterov-momentum gradient descent."""
from __future__ import annotations

from .optimizer import Optimizer, _is_number


class SGD(Optimizer):
    """w -= lr g; with momentum: m = momentum m - lr g, w += m; with Nesterov:
    w += momentum m - lr g (m already updated). A `momentum` slot exists when momentum != 0."""

    def __init__(self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        if not _is_number(momentum) or not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]; received "
                             f"momentum={momentum!r}")
        self.momentum = momentum
        self.nesterov = nesterov

    def slot_groups(self):
        return [("momentum",)] if self.momentum != 0 else []

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        k.sgd_update(var, grad, slots[0] if slots else None, f(learning_rate), f(self.momentum),
                     self.nesterov, f(decay))

    def get_config(self):
        return super().get_config() | {"momentum": self.momentum, "nesterov": self.nesterov}
