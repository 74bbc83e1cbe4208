"""Adagrad, as `keras.optimizers.Adagrad`."""
from __future__ import annotations

from .optimizer import Optimizer


class Adagrad(Optimizer):
    """acc += g² (acc starts at initial_accumulator_value); w -= lr g / sqrt(acc + epsilon)."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def slot_groups(self):
        return [("accumulator",)]

    def slot_initial_value(self, slot_name):
        return self.initial_accumulator_value

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        k.adagrad_update(var, grad, slots[0], f(learning_rate), f(self.epsilon), f(decay))

    def get_config(self):
        return super().get_config() | {
            "initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}
