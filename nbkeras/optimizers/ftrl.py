"""FTRL-proximal, as `keras.optimizers.Ftrl` (McMahan et al., 2013), with Keras's online L2
(`l2_regularization_strength`, `beta`) and shrinkage L2."""
from __future__ import annotations

from .optimizer import Optimizer


class Ftrl(Optimizer):
    """With n the `accumulator` and z the `linear` slot, p = learning_rate_power:
    g' = g + 2 l2_shrinkage w; n' = n + g²; z += g' - (n'^-p - n^-p) / lr w;
    w <- (clip(z, -l1, l1) - z) / (n'^-p / lr + 2 (l2 + beta / (2 lr))); n <- n'."""

    def __init__(self, learning_rate=0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1,
                 l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0,
                 l2_shrinkage_regularization_strength: float = 0.0, beta: float = 0.0,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None,
                 name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
        non_negative = dict(initial_accumulator_value=initial_accumulator_value,
                            l1_regularization_strength=l1_regularization_strength,
                            l2_regularization_strength=l2_regularization_strength,
                            l2_shrinkage_regularization_strength=(
                                l2_shrinkage_regularization_strength))
        for key, value in non_negative.items():
            if not value >= 0.0:
                raise ValueError(f"Ftrl: `{key}` needs to be positive or zero. Received: "
                                 f"{key}={value}.")
        if not learning_rate_power <= 0.0:
            raise ValueError("Ftrl: `learning_rate_power` needs to be negative or zero. "
                             f"Received: learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def slot_groups(self):
        return [("accumulator", "linear")]

    def slot_initial_value(self, slot_name):
        return self.initial_accumulator_value if slot_name == "accumulator" else 0.0

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        l2_reg = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        k.ftrl_update(var, grad, slots[0], slots[1], f(learning_rate),
                      f(-self.learning_rate_power), f(self.l1_regularization_strength),
                      f(2 * self.l2_shrinkage_regularization_strength), f(2 * l2_reg), f(decay))

    def get_config(self):
        return super().get_config() | {
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta}
