"""LossScaleOptimizer, as `keras.optimizers.LossScaleOptimizer` (Keras 3): dynamic loss
scaling around an inner optimizer.

The trainer multiplies the loss by `scale_loss` before taking gradients; `apply` divides the
gradients by the current scale and hands them to the inner optimizer. A step whose
gradients hold an inf or NaN is skipped and the scale halves; after `dynamic_growth_steps`
finite steps in a row the scale doubles. nbkeras computes in float32/float64, where scaling
rarely matters, but the optimizer behaves as Keras's does, so scripts that wrap their
optimizer train the same way.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .. import ops
from ..core.device import device, kernels_for
from ..ops import convert_to_tensor
from .optimizer import Optimizer

# Base optimizer arguments Keras accepts only at their defaults (older configs carry them).
_BASE_DEFAULTS = {"learning_rate": None, "weight_decay": None, "clipnorm": None,
                  "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                  "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None}


class LossScaleOptimizer(Optimizer):
    """Wraps `inner_optimizer`; variables: `iteration`, `step_counter` (finite steps since
    the scale last changed), `dynamic_scale` (float32, starts at `initial_scale`), then the
    inner optimizer's variables."""

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = 2.0 ** 15,
                 dynamic_growth_steps: int = 2000, name: str | None = None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, "
                             "simply set `loss_scale_factor` directly on the "
                             "`inner_optimizer`.")
        for key, default in _BASE_DEFAULTS.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{key}`. Instead, set "
                                 f"`{key}` on the `inner_optimizer`.")
        if kwargs:
            raise ValueError("LossScaleOptimizer does not support arguments: "
                             f"`{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise ValueError("LossScaleOptimizer: `inner_optimizer` must be an optimizer "
                             f"instance; received inner_optimizer={inner_optimizer!r}")
        if not (isinstance(initial_scale, (int, float, np.floating))
                and np.isfinite(initial_scale) and initial_scale > 0):
            raise ValueError("LossScaleOptimizer: `initial_scale` must be a positive finite "
                             f"number; received initial_scale={initial_scale!r}")
        if (not isinstance(dynamic_growth_steps, (int, np.integer))
                or isinstance(dynamic_growth_steps, bool) or dynamic_growth_steps < 1):
            raise ValueError("LossScaleOptimizer: `dynamic_growth_steps` must be an integer "
                             f">= 1; received dynamic_growth_steps={dynamic_growth_steps!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        # The inner optimizer must not unscale again.
        self.inner_optimizer.loss_scale_factor = None

    def build(self, var_list: Iterable) -> None:
        if self.built:
            return
        var_list = list(var_list)
        with device("cpu"):            # host scalars, read every step
            self.step_counter = self.add_variable((), "zeros", dtype="int64",
                                                  name="step_counter")
            self.dynamic_scale = self.add_variable((), float(self.initial_scale),
                                                   dtype="float32", name="dynamic_scale")
        self.inner_optimizer.build(var_list)
        super().build(var_list)

    @property
    def variables(self) -> list:
        """Its own variables, then the inner optimizer's."""
        return list(self._variables) + self.inner_optimizer.variables

    def update_step(self, k, var, grad, slots, learning_rate, decay) -> None:
        # `apply` hands every step to the inner optimizer, which runs its own update_step.
        raise TypeError("LossScaleOptimizer has no update rule of its own: it applies "
                        "gradients through `inner_optimizer`")

    def apply(self, grads, trainable_variables=None) -> None:
        """Unscaled gradients to the inner optimizer and a growth count when every gradient
        is finite; otherwise skip the step and halve the scale."""
        if not self.built:
            if trainable_variables is None:
                raise ValueError("When passing `grads` without `variables`, the optimizer "
                                 "must already be built on a list of variables. Call "
                                 "`optimizer.build(trainable_variables)` first.")
            self.build(trainable_variables)
        grads = list(grads)
        scale = float(self.dynamic_scale.numpy())
        if not self.check_finite(grads):
            self.step_counter.assign(0)
            self.dynamic_scale.assign(np.float32(scale * 0.5))
            return
        self.inner_optimizer.apply([None if g is None else _divided(g, scale) for g in grads],
                                   trainable_variables=trainable_variables)
        if int(self.step_counter.numpy()) == self.dynamic_growth_steps - 1:
            self.step_counter.assign(0)
            self.dynamic_scale.assign(np.float32(scale * 2.0))
        else:
            self.step_counter.assign(int(self.step_counter.numpy()) + 1)

    @staticmethod
    def check_finite(grads) -> bool:
        """Whether every entry of every (non-None) gradient is finite."""
        return all(bool(ops.all(ops.isfinite(convert_to_tensor(g))))
                   for g in grads if g is not None)

    def scale_loss(self, loss):
        """loss * the current scale (`initial_scale` before the first step)."""
        scale = float(self.dynamic_scale.numpy()) if self.built else self.initial_scale
        return ops.multiply(loss, scale)

    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate) -> None:
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def finalize_variable_values(self, var_list) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    # ---- saving, as Keras lays it out ---------------------------------------------------

    def save_own_variables(self, store) -> None:
        """Its own state (iteration, the 0.0 learning rate, step_counter, dynamic_scale),
        then the inner optimizer's, numbered on (`variables` order, as Keras writes them);
        the inner optimizer is also saved as the child `inner_optimizer`."""
        own, inner = {}, {}
        super().save_own_variables(own)
        self.inner_optimizer.save_own_variables(inner)
        for i, value in enumerate([*own.values(), *inner.values()]):
            store[str(i)] = value

    def load_own_variables(self, store) -> None:
        """Read back what `save_own_variables` wrote (Keras's files too)."""
        own = {}
        super().save_own_variables(own)
        count = len(own)
        super().load_own_variables({str(i): store[str(i)] for i in range(count)})
        self.inner_optimizer.load_own_variables(
            {str(i): store[str(count + i)] for i in range(len(store.keys()) - count)})

    def _saveable_children(self) -> list[tuple[str, object]]:
        return [("inner_optimizer", self.inner_optimizer)]

    def get_config(self) -> dict[str, Any]:
        from . import serialize
        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None):
        from . import deserialize
        config = dict(config)
        inner = deserialize(config.pop("inner_optimizer"))
        return cls(inner, **config)


def _divided(grad, scale: float):
    """grad / scale in the gradient's dtype, on its device."""
    tensor = convert_to_tensor(grad)
    data = tensor.data
    return kernels_for(tensor.device).divide(data, data.dtype.type(scale))
