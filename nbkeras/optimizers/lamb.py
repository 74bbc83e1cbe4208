"""Lamb, as `keras.optimizers.Lamb` (You et al., 2019): Adam's direction scaled per variable
by the trust ratio ||w|| / ||update||."""
from __future__ import annotations

from .optimizer import Optimizer, _norm


class Lamb(Optimizer):
    """m += (g - m)(1 - beta_1); v += (g² - v)(1 - beta_2);
    update = (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + epsilon);
    w -= ratio lr update, ratio = ||w|| / ||update|| (1 where either norm is 0).

    The two norms are reductions over the whole variable: computed first on the host (the
    update from the moments as they will be, with the device's elementwise kernels), then
    one fused kernel updates the moments and the variable."""

    def __init__(self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay=None, clipnorm=None, clipvalue=None,
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
        for key, value in dict(beta_1=beta_1, beta_2=beta_2).items():
            if not 0 <= value < 1:
                raise ValueError(f"Lamb: `{key}` must be in [0, 1); received {key}={value!r}")
        if not epsilon >= 0:
            raise ValueError(f"Lamb: `epsilon` must be >= 0; received epsilon={epsilon!r}")
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def slot_groups(self):
        return [("momentum", "velocity")]

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        t = self._local_step()
        m, v = slots
        scalars = (f(1 - self.beta_1), f(1 - self.beta_2), f(1 - self.beta_1 ** t),
                   f(1 - self.beta_2 ** t), f(self.epsilon))
        # Keras decays the variable before its step, so ||w|| is the decayed variable's norm.
        w_norm = _norm(k, var) * abs(1 - float(f(decay)))
        g_norm = _norm(k, _update(k, grad, m, v, *scalars))
        ratio = w_norm / g_norm if w_norm > 0 and g_norm > 0 else 1.0
        k.lamb_update(var, grad, m, v, f(ratio * learning_rate), *scalars, f(decay))

    def get_config(self):
        return super().get_config() | {"beta_1": self.beta_1, "beta_2": self.beta_2,
                                        "epsilon": self.epsilon}


def _update(k, grad, m, v, one_minus_beta_1, one_minus_beta_2, bias_correction_1,
            bias_correction_2, epsilon):
    """Lamb's update direction from the moments after this step, in the kernel's order of
    operations (new arrays; m and v unchanged)."""
    m_new = k.add(m, k.multiply(k.subtract(grad, m), one_minus_beta_1))
    v_new = k.add(v, k.multiply(k.subtract(k.square(grad), v), one_minus_beta_2))
    return k.divide(k.divide(m_new, bias_correction_1),
                    k.add(k.sqrt(k.divide(v_new, bias_correction_2)), epsilon))
