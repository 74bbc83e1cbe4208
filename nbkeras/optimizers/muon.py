"""Muon, as `keras.optimizers.Muon` (Jordan et al., 2024; Moonlight's update scaling): the
momentum of each 2-D variable orthogonalized by a Newton-Schulz iteration; AdamW for every
other variable (other ranks, embeddings, `exclude_layers`)."""
from __future__ import annotations

import math
import numbers
import re

from ..core.device import device
from .optimizer import Optimizer, _norm


class Muon(Optimizer):
    """Muon variables (2-D, not excluded): m += g + (momentum - 1) m; G = g + momentum m
    (Nesterov) or m; w -= lr NS(G) sqrt(max(n, k)) rms_rate, NS being `ns_steps` quintic
    Newton-Schulz steps (a, b, c) = (muon_a, muon_b, muon_c) from G / (||G||_F + 1e-7),
    on G or its transpose, whichever is wide. AdamW variables: Adam (no AMSGrad) at
    lr adam_lr_ratio. Weight decay: `weight_decay` on Muon variables, `adam_weight_decay`
    on AdamW variables, each times the learning rate.

    Slots per variable, in Keras's order: momentum, then velocity for an AdamW variable.
    The Newton-Schulz products run on the host with the device's kernels; one fused kernel
    per variable (muon_update, or adam_update for AdamW variables) then writes the slots and
    the variable."""

    def __init__(self, learning_rate=0.001, adam_beta_1: float = 0.9,
                 adam_beta_2: float = 0.999, adam_weight_decay: float | None = 0.004,
                 epsilon: float = 1e-7, weight_decay=0.004, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name: str | None = None,
                 exclude_layers: list[str] | None = None, exclude_embeddings: bool = True,
                 muon_a: float = 3.4445, muon_b: float = -4.7750, muon_c: float = 2.0315,
                 adam_lr_ratio: float = 1, momentum: float = 0.95, ns_steps: int = 5,
                 nesterov: bool = True, rms_rate: float | None = 0.2, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
        for key, value in dict(adam_beta_1=adam_beta_1, adam_beta_2=adam_beta_2).items():
            if not 0 <= value < 1:
                raise ValueError(f"Muon: `{key}` must be in [0, 1); received {key}={value!r}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"Muon: `momentum` must be in [0, 1]; received momentum={momentum!r}")
        if not isinstance(ns_steps, numbers.Integral) or isinstance(ns_steps, bool) \
                or ns_steps < 0:
            raise ValueError("Muon: `ns_steps` must be an integer >= 0; received "
                             f"ns_steps={ns_steps!r}")
        if adam_weight_decay is not None and not isinstance(adam_weight_decay, numbers.Real):
            raise ValueError("Muon: `adam_weight_decay` must be a float or None; received "
                             f"adam_weight_decay={adam_weight_decay!r}")
        if rms_rate is not None and not rms_rate > 0:
            raise ValueError(f"Muon: `rms_rate` must be > 0 or None; received "
                             f"rms_rate={rms_rate!r}")
        exclude_layers = list(exclude_layers or [])
        if not all(isinstance(pattern, str) for pattern in exclude_layers):
            raise ValueError("Muon: `exclude_layers` must be a list of strings (regular "
                             f"expressions); received exclude_layers={exclude_layers!r}")
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a = muon_a
        self.muon_b = muon_b
        self.muon_c = muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = exclude_layers
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate
        self._shape: tuple[int, ...] = ()

    def _should_use_adamw(self, variable) -> bool:
        """Keras's rule: AdamW for every rank but 2, embeddings (by default) and variables
        whose path matches one of `exclude_layers`."""
        if len(variable.shape) != 2:
            return True
        path = getattr(variable, "path", None) or variable.name
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def build(self, var_list):
        """momentum, and velocity for an AdamW variable, for each variable in turn."""
        if self.built:
            return
        var_list = list(var_list)
        self._trainable_variables = var_list
        self._index = {id(variable): i for i, variable in enumerate(var_list)}
        self._slots = []
        for variable in var_list:
            names = ("momentum", "velocity") if self._should_use_adamw(variable) else ("momentum",)
            with device(variable.device):
                self._slots.append([self.add_variable_from_reference(variable, name)
                                    for name in names])
        self.built = True

    def _update_variable(self, grad, variable, learning_rate, decay):
        # Keras decays Muon and AdamW variables by their own rates, even with weight_decay None.
        rate = self.adam_weight_decay if self._should_use_adamw(variable) else self.weight_decay
        decay = rate * learning_rate if rate is not None and self._use_weight_decay(variable) \
            else 0.0
        self._shape = tuple(variable.shape)     # update_step sees flat arrays
        super()._update_variable(grad, variable, learning_rate, decay)

    def update_step(self, k, var, grad, slots, learning_rate, decay):
        f = var.dtype.type
        if len(slots) == 2:                      # AdamW
            t = self._local_step()
            alpha = (learning_rate * self.adam_lr_ratio * math.sqrt(1 - self.adam_beta_2 ** t)
                     / (1 - self.adam_beta_1 ** t))
            k.adam_update(var, grad, slots[0], slots[1], None, f(alpha), f(1 - self.adam_beta_1),
                          f(1 - self.adam_beta_2), f(self.epsilon), f(decay))
            return
        m = slots[0]
        momentum_minus_one = f(self.momentum - 1)
        m_new = k.add(m, k.add(grad, k.multiply(m, momentum_minus_one)))
        direction = k.add(grad, k.multiply(m_new, f(self.momentum))) if self.nesterov else m_new
        update = self._newton_schulz(k, k.reshape(direction, self._shape), f)
        scale = (1.0 if self.rms_rate is None
                 else math.sqrt(max(self._shape)) * self.rms_rate)
        k.muon_update(var, grad, m, k.reshape(update, (-1,)), momentum_minus_one,
                      f(learning_rate), f(scale), f(decay))

    def _newton_schulz(self, k, x, f):
        """Keras's zeropower_via_newtonschulz5 of a 2-D x, with the device's kernels."""
        tall = x.shape[0] > x.shape[1]
        if tall:
            x = k.transpose(x, (1, 0))
        x = k.divide(x, f(_norm(k, x) + 1e-7))
        a, b, c = f(self.muon_a), f(self.muon_b), f(self.muon_c)
        for _ in range(self.ns_steps):
            gram = k.matmul(x, k.transpose(x, (1, 0)))
            poly = k.add(k.multiply(gram, b), k.matmul(k.multiply(gram, c), gram))
            x = k.add(k.multiply(x, a), k.matmul(poly, x))
        return k.transpose(x, (1, 0)) if tall else x

    def get_config(self):
        return super().get_config() | {
            "adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2,
            "epsilon": self.epsilon, "exclude_layers": list(self.exclude_layers),
            "muon_a": self.muon_a, "muon_b": self.muon_b, "muon_c": self.muon_c,
            "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
            "ns_steps": self.ns_steps, "nesterov": self.nesterov,
            "exclude_embeddings": self.exclude_embeddings,
            "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}
