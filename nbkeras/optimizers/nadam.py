"""Nadam, as `keras.optimizers.Nadam`: Adam with Nesterov momentum (Dozat, 2015)."""
from __future__ import annotations

import numpy as np

from .. import config as nk_config
from ..core.device import device
from ..core.tensor import Variable
from .optimizer import Optimizer


class Nadam(Optimizer):
    """With u_t = beta_1 (1 - 0.5 * 0.96^t) and U_t = u_1 ... u_t (the `u_product` variable,
    updated once per step): m += (g - m)(1 - beta_1); v += (g² - v)(1 - beta_2);
    m_hat = u_{t+1} m / (1 - U_t u_{t+1}) + (1 - u_t) g / (1 - U_t);
    v_hat = v / (1 - beta_2^t); w -= lr m_hat / (sqrt(v_hat) + epsilon)."""

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
        return [("momentum", "velocity")]

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        super().build(var_list)
        dtype = var_list[0].dtype if var_list else nk_config.floatx()
        # U_t, kept in the first variable's dtype as Keras does; last in `variables`.
        with device("cpu"):            # a host scalar, as the iteration count
            self._u_product = Variable(1.0, trainable=False, name="u_product", dtype=dtype)
        self._variables.append(self._u_product)

    def _u(self, t: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** t)

    def prepare_step(self):
        u_product = self._u_product.data
        u_product[...] = u_product * u_product.dtype.type(self._u(self._local_step()))

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        t = self._local_step()
        u_t, u_next = self._u(t), self._u(t + 1)
        u_product = float(np.asarray(self._u_product.data))
        momentum_coef = u_next / (1 - u_product * u_next)
        grad_coef = (1 - u_t) / (1 - u_product)
        velocity_coef = 1 / (1 - self.beta_2 ** t)
        k.nadam_update(var, grad, slots[0], slots[1], f(learning_rate), f(1 - self.beta_1),
                       f(1 - self.beta_2), f(momentum_coef), f(grad_coef), f(velocity_coef),
                       f(self.epsilon), f(decay))

    def get_config(self):
        return super().get_config() | {"beta_1": self.beta_1, "beta_2": self.beta_2,
                                        "epsilon": self.epsilon}
