"""Lion, as `keras.optimizers.Lion` (Chen et al., 2023)."""
from __future__ import annotations

from .optimizer import Optimizer


class Lion(Optimizer):
    """w -= lr sign(beta_1 m + (1 - beta_1) g); then m = beta_2 m + (1 - beta_2) g."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.99,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        if not 0 < beta_1 <= 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
                             f"optimizer degenerates to SignSGD. Received: beta_1={beta_1}.")
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def slot_groups(self):
        return [("momentum",)]

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        k.lion_update(var, grad, slots[0], f(learning_rate), f(self.beta_1), f(1 - self.beta_1),
                      f(self.beta_2), f(1 - self.beta_2), f(decay))

    def get_config(self):
        return super().get_config() | {"beta_1": self.beta_1, "beta_2": self.beta_2}
