"""Adadelta, as `keras.optimizers.Adadelta`."""
from __future__ import annotations

from .optimizer import Optimizer


class Adadelta(Optimizer):
    """E[g²] = rho E[g²] + (1 - rho) g²; d = -sqrt(E[d²] + eps) g / sqrt(E[g²] + eps);
    E[d²] = rho E[d²] + (1 - rho) d²; w += lr d (Zeiler's rule scaled by lr)."""

    def __init__(self, learning_rate=0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def slot_groups(self):
        return [("accumulated_grad", "accumulated_delta_var")]

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        k.adadelta_update(var, grad, slots[0], slots[1], f(learning_rate), f(self.rho),
                          f(1 - self.rho), f(self.epsilon), f(decay))

    def get_config(self):
        return super().get_config() | {"rho": self.rho, "epsilon": self.epsilon}
