"""AdamW, as `keras.optimizers.AdamW`: Adam with decoupled weight decay (on by default)."""
from __future__ import annotations

from .adam import Adam


class AdamW(Adam):
    """Adam whose `weight_decay` (default 0.004) is required: w -= w * weight_decay * lr
    before each Adam step (Loshchilov & Hutter)."""

    def __init__(self, learning_rate=0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name: str | None = None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
