"""Schedule-Free AdamW, as `keras.optimizers.ScheduleFreeAdamW` (Defazio et al., 2024)."""
from __future__ import annotations

import numbers

from .optimizer import Optimizer


class ScheduleFreeAdamW(Optimizer):
    """The variable holds y, the interpolation of the gradient sequence z (the `momentum`
    slot, starting at the variable's value) and the average x. With t the step and lr ramped
    by min(t / warmup_steps, 1): v += (g² - v)(1 - beta_2);
    z' = z - lr g / (sqrt(v / (1 - beta_2^t)) + epsilon); x = (y - (1 - beta_1) z) / beta_1;
    x' = (1 - 1/t) x + z' / t; y <- (1 - beta_1) z' + beta_1 x'."""

    def __init__(self, learning_rate=0.0025, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, warmup_steps: int = 0, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps,
                         name=name, **kwargs)
        if not 0 < beta_1 <= 1:     # x is recovered from y by dividing by beta_1
            raise ValueError("ScheduleFreeAdamW: `beta_1` must be in (0, 1]; received "
                             f"beta_1={beta_1!r}")
        if not 0 <= beta_2 < 1:
            raise ValueError("ScheduleFreeAdamW: `beta_2` must be in [0, 1); received "
                             f"beta_2={beta_2!r}")
        if not epsilon >= 0:
            raise ValueError("ScheduleFreeAdamW: `epsilon` must be >= 0; received "
                             f"epsilon={epsilon!r}")
        if (not isinstance(warmup_steps, numbers.Integral) or isinstance(warmup_steps, bool)
                or warmup_steps < 0):
            raise ValueError("ScheduleFreeAdamW: `warmup_steps` must be an integer >= 0; "
                             f"received warmup_steps={warmup_steps!r}")
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def slot_groups(self):
        return [("momentum", "velocity")]

    def build(self, var_list):
        """The slots, with each `momentum` starting at its variable's value (as Keras)."""
        if self.built:
            return
        var_list = list(var_list)
        super().build(var_list)
        for variable, slots in zip(var_list, self._slots):
            slots[0].assign(variable.data)

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        t = self._local_step()
        if self.warmup_steps > 0:
            learning_rate = learning_rate * min(t / self.warmup_steps, 1.0)
        weight = 1.0 / t
        k.schedule_free_adamw_update(var, grad, slots[0], slots[1], f(learning_rate),
                                     f(self.beta_1), f(1 - self.beta_1), f(1 - self.beta_2),
                                     f(1 - self.beta_2 ** t), f(self.epsilon), f(weight),
                                     f(1 - weight), f(decay))

    def get_config(self):
        return super().get_config() | {"beta_1": self.beta_1, "beta_2": self.beta_2,
                                        "epsilon": self.epsilon,
                                        "warmup_steps": self.warmup_steps}
