"""Adamax, as `keras.optimizers.Adamax`: Adam with the infinity norm."""
from __future__ import annotations

from .optimizer import Optimizer


class Adamax(Optimizer):
    """m += (g - m)(1 - beta_1); u = max(beta_2 u, |g|);
    w -= lr m / ((1 - beta_1^t)(u + epsilon))."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def slot_groups(self):
        return [("momentum", "norm")]

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        bias_correction = 1 - self.beta_1 ** self._local_step()
        k.adamax_update(var, grad, slots[0], slots[1], f(learning_rate), f(self.beta_2),
                        f(1 - self.beta_1), f(bias_correction), f(self.epsilon), f(decay))

    def get_config(self):
        return super().get_config() | {"beta_1": self.beta_1, "beta_2": self.beta_2,
                                        "epsilon": self.epsilon}
