"""Adafactor, as `keras.optimizers.Adafactor` (Shazeer & Stern, 2018): second moments of a
variable of rank >= 2 kept as row and column factors over its last two axes."""
from __future__ import annotations

import math

from ..core.device import device
from .optimizer import Optimizer, _norm


class Adafactor(Optimizer):
    """With t the step, rho = min(lr, 1 / sqrt(t)), beta = 1 - t^beta_2_decay and
    G = g² + epsilon_1: rank >= 2, r <- beta r + (1 - beta) mean(G, -1),
    c <- beta c + (1 - beta) mean(G, -2), v = r / mean(r, -1) (outer) c; else
    v <- beta v + (1 - beta) G. u = g / sqrt(v);
    w -= max(epsilon_2, rms(w)) rho u / max(1, rms(u) / clip_threshold).

    Slots per variable, in Keras's order: r and c (shape () placeholders below rank 2) and
    the velocity v. The means and root-mean-squares are reductions, computed on the host
    with the device's kernels; one fused kernel then writes r, c, v and the variable."""

    def __init__(self, learning_rate=0.001, beta_2_decay: float = -0.8,
                 epsilon_1: float = 1e-30, epsilon_2: float = 1e-3, clip_threshold: float = 1.0,
                 relative_step: bool = True, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
        if not beta_2_decay <= 0:
            raise ValueError("Adafactor: `beta_2_decay` must be <= 0 (beta_2 = 1 - "
                             f"t^beta_2_decay); received beta_2_decay={beta_2_decay!r}")
        for key, value in dict(epsilon_1=epsilon_1, epsilon_2=epsilon_2).items():
            if not value >= 0:
                raise ValueError(f"Adafactor: `{key}` must be >= 0; received {key}={value!r}")
        if not clip_threshold > 0:
            raise ValueError("Adafactor: `clip_threshold` must be > 0; received "
                             f"clip_threshold={clip_threshold!r}")
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step
        self._shape: tuple[int, ...] = ()

    def build(self, var_list):
        """r, c and velocity for each variable in turn, as Keras orders them."""
        if self.built:
            return
        var_list = list(var_list)
        self._trainable_variables = var_list
        self._index = {id(variable): i for i, variable in enumerate(var_list)}
        self._slots = []
        for variable in var_list:
            shape = tuple(variable.shape)
            factored = len(shape) >= 2
            with device(variable.device):
                r, c = (self.add_variable(factor_shape, dtype=variable.dtype, name=variable.name)
                        for factor_shape in ((shape[:-1], shape[:-2] + shape[-1:])
                                             if factored else ((), ())))
            self._slots.append([r, c, self.add_variable_from_reference(variable, "velocity")])
        self.built = True

    def _update_variable(self, grad, variable, learning_rate, decay):
        self._shape = tuple(variable.shape)     # update_step sees flat arrays
        super()._update_variable(grad, variable, learning_rate, decay)

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        t = self._local_step()
        r, c, v = slots
        rho = min(learning_rate, 1 / math.sqrt(t))
        # Keras decays the variable before its step, so rms(w) is the decayed variable's.
        w_rms = _norm(k, var) / math.sqrt(max(var.size, 1)) * abs(1 - float(f(decay)))
        alpha = max(self.epsilon_2, w_rms) * rho
        beta_2 = 1 - float(t) ** self.beta_2_decay
        b2, one_minus_b2, eps_1 = f(beta_2), f(1 - beta_2), f(self.epsilon_1)
        if len(self._shape) >= 2:
            rows, cols = self._shape[-2:]
            g = k.reshape(grad, (-1, rows, cols))
            square = k.add(k.square(g), eps_1)
            r_new = k.add(k.multiply(k.reshape(r, (-1, rows)), b2),
                          k.multiply(k.reduce("mean", square, -1, False), one_minus_b2))
            c_new = k.add(k.multiply(k.reshape(c, (-1, cols)), b2),
                          k.multiply(k.reduce("mean", square, -2, False), one_minus_b2))
            r_mean = k.reduce("mean", r_new, -1, False)
            v_new = k.multiply(k.expand_dims(k.divide(r_new, k.expand_dims(r_mean, -1)), -1),
                               k.expand_dims(c_new, -2))
            factors = (k.reshape(r_new, (-1,)), k.reshape(c_new, (-1,)), r_mean)
        else:
            rows = cols = 1
            g = grad
            v_new = k.add(k.multiply(v, b2), k.multiply(k.add(k.square(g), eps_1), one_minus_b2))
            factors = (None, None, None)
        u_rms = _norm(k, k.divide(g, k.sqrt(v_new))) / math.sqrt(max(var.size, 1))
        divisor = max(1.0, u_rms / self.clip_threshold)
        k.adafactor_update(var, grad, r, c, v, *factors, rows, cols, b2, one_minus_b2, eps_1,
                           f(alpha), f(divisor), f(decay))

    def get_config(self):
        return super().get_config() | {"beta_2_decay": self.beta_2_decay,
                                        "epsilon_1": self.epsilon_1,
                                        "epsilon_2": self.epsilon_2,
                                        "clip_threshold": self.clip_threshold,
                                        "relative_step": self.relative_step}
