"""RMSprop, as `keras.optimizers.RMSprop` (plain momentum, optional centering)."""
from __future__ import annotations

from .optimizer import Optimizer


class RMSprop(Optimizer):
    """v = rho v + (1 - rho) g²; centered: a = rho a + (1 - rho) g and the denominator is
    v - a²; step = lr g / sqrt(denominator + epsilon); momentum > 0: m = momentum m + step,
    w -= m; else w -= step. Slots: velocity, then momentum and average_gradient if used."""

    def __init__(self, learning_rate=0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name: str | None = None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        for key, value in (("rho", rho), ("momentum", momentum)):
            if not 0 <= value <= 1:
                raise ValueError(f"`{key}` must be in [0, 1]; received {key}={value!r}")
        if not epsilon > 0:
            raise ValueError(f"`epsilon` must be positive; received epsilon={epsilon!r}")
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def slot_groups(self):
        return ([("velocity",)] + ([("momentum",)] if self.momentum > 0 else [])
                + ([("average_gradient",)] if self.centered else []))

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        velocity, rest = slots[0], list(slots[1:])
        mom = rest.pop(0) if self.momentum > 0 else None
        average = rest.pop(0) if self.centered else None
        k.rmsprop_update(var, grad, velocity, mom, average, f(learning_rate), f(self.rho),
                         f(1 - self.rho), f(self.momentum), f(self.epsilon), f(decay))

    def get_config(self):
        return super().get_config() | {"rho": self.rho, "momentum": self.momentum,
                                        "epsilon": self.epsilon, "centered": self.centered}
