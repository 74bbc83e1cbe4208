"""Adam, as `keras.optimizers.Adam` (with the AMSGrad option)."""
from __future__ import annotations

import math

from .optimizer import Optimizer


class Adam(Optimizer):
    """m += (g - m)(1 - beta_1); v += (g² - v)(1 - beta_2); AMSGrad: v_hat = max(v_hat, v)
    replaces v below; w -= alpha m / (sqrt(v) + epsilon), with the bias correction folded
    into alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t) (Keras's "epsilon hat")."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name: str | None = None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def slot_groups(self):
        groups = [("momentum", "velocity")]
        return groups + [("velocity_hat",)] if self.amsgrad else groups

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        t = self._local_step()
        alpha = learning_rate * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        m, v = slots[:2]
        k.adam_update(var, grad, m, v, slots[2] if self.amsgrad else None, f(alpha),
                      f(1 - self.beta_1), f(1 - self.beta_2), f(self.epsilon), f(decay))

    def get_config(self):
        return super().get_config() | {"beta_1": self.beta_1, "beta_2": self.beta_2,
                                        "epsilon": self.epsilon, "amsgrad": self.amsgrad}
