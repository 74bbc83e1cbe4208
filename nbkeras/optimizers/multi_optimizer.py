"""MultiOptimizer and OptimizerMap, as `keras.optimizers.MultiOptimizer` / `OptimizerMap`
(Keras 3): each trainable variable is updated by the optimizer its path maps to.

    opt = MultiOptimizer(OptimizerMap(SGD(0.1), {"encoder/.*": Adam(1e-3)}))

An `OptimizerMap` looks a path up by exact key first, then by `re.fullmatch` against every
key (two matching patterns are an error), else gives its `default_optimizer`. A
MultiOptimizer may also take any callable `variable -> optimizer`. `apply` hands each
optimizer the gradients of its own variables, so each updates them exactly as it would
alone; the MultiOptimizer keeps its own `iterations`.
"""
from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, Callable, Iterable

from ..saving.serialization_lib import deserialize_keras_object, serialize_keras_object
from .loss_scale_optimizer import LossScaleOptimizer
from .optimizer import Optimizer


class OptimizerMap(MutableMapping):
    """Variable paths or regex patterns (str) -> optimizers, with `default_optimizer` for
    paths no key matches. Calling it on a variable looks up `variable.path`."""

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict | None = None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError("default_optimizer must be a Keras Optimizer instance. "
                            f"Received: {default_optimizer}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"optimizer_map must be a dictionary. Received: {optimizer_map}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = optimizer_map or {}

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        """The optimizer of the exact key `key`, else of the one key that `re.fullmatch`es
        it (several: ValueError), else `default_optimizer`."""
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ValueError(f"Multiple optimizers assigned to variable {key}.")
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if key in self._optimizer_map:
            raise ValueError(f"'{key}' already exists in the OptimizerMap with value "
                             f"{self._optimizer_map[key]}. Please make sure to not use "
                             "duplicated keys.")
        if not isinstance(key, str):
            raise ValueError(f"key must be a string. Received: {key}")
        _check_inner(optimizer)
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable) -> Optimizer:
        return self[variable.path]

    def get_config(self) -> dict[str, Any]:
        return {"default_optimizer": serialize_keras_object(self._default_optimizer),
                "optimizer_map": serialize_keras_object(self._optimizer_map)}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None):
        return cls(_deserialized(config["default_optimizer"], custom_objects),
                   _deserialized(config["optimizer_map"], custom_objects))


class MultiOptimizer(Optimizer):
    """Delegates each variable to the optimizer `optimizer_map` (an OptimizerMap or a
    callable `variable -> optimizer`) gives it. Variables: its own `iteration`, then those
    of each optimizer in `optimizers` (the map's values, its default, then any other
    optimizer the callable returned, in order of first use). `loss_scale_factor` overrides
    the optimizers' own. It has no learning rate: set those of `optimizers`."""

    def __init__(self, optimizer_map: OptimizerMap | Callable,
                 loss_scale_factor: float | None = None, name: str | None = None):
        if not callable(optimizer_map):
            raise TypeError("MultiOptimizer: `optimizer_map` must be an OptimizerMap or a "
                            "callable that returns the optimizer of a variable; received "
                            f"optimizer_map={optimizer_map!r}")
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        self._inner_optimizers: list[Optimizer] = []
        mapped = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for optimizer in [*mapped, *([default] if default is not None else [])]:
            self._add_inner(optimizer)

    def _add_inner(self, optimizer: Optimizer) -> int:
        """The index of `optimizer` in `optimizers`, appended (with this loss scale) if new."""
        for i, known in enumerate(self._inner_optimizers):
            if known is optimizer:
                return i
        optimizer.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(optimizer)
        return len(self._inner_optimizers) - 1

    def build(self, var_list: Iterable) -> None:
        """Map every variable to its optimizer and build each optimizer on its variables."""
        if self.built:
            return
        var_list = list(var_list)
        self._owner: dict[int, int] = {}   # id(variable) -> index in `optimizers`
        for variable in var_list:
            optimizer = self._optimizer_map(variable)
            if not isinstance(optimizer, Optimizer):
                raise ValueError(f"Optimizer for variable {variable} is not an Optimizer "
                                 "instance.")
            if isinstance(optimizer, LossScaleOptimizer):
                raise ValueError("LossScaleOptimizer cannot be used inside an MultiOptimizer.")
            if isinstance(optimizer, MultiOptimizer):
                raise ValueError("MultiOptimizer cannot be used inside an MultiOptimizer.")
            self._owner[id(variable)] = self._add_inner(optimizer)
        for optimizer, own in zip(self._inner_optimizers, self._grouped(var_list)):
            if own:
                optimizer.build(own)
        super().build(var_list)

    def _grouped(self, items: list, variables: list | None = None) -> list[list]:
        """`items` (paired with `variables`, by default the items themselves) split by the
        optimizer that owns each variable, in `optimizers` order."""
        groups: list[list] = [[] for _ in self._inner_optimizers]
        for item, variable in zip(items, items if variables is None else variables):
            if id(variable) not in self._owner:
                raise ValueError(f"Unknown variable: {variable}. This optimizer can only be "
                                 "called for the variables it was originally built with. When "
                                 "working with a new set of variables, you should recreate a "
                                 "new optimizer instance.")
            groups[self._owner[id(variable)]].append(item)
        return groups

    @property
    def optimizers(self) -> list[Optimizer]:
        return self._inner_optimizers

    @property
    def variables(self) -> list:
        """Its own `iteration`, then every optimizer's variables."""
        return [*self._variables, *(v for opt in self._inner_optimizers for v in opt.variables)]

    @property
    def learning_rate(self):
        raise AttributeError("Learning rate cannot be accessed on a MultiOptimizer. Access the "
                             "learning rate on the individual sub-optimizers instead.")

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        raise AttributeError("Learning rate cannot be set on a MultiOptimizer. Set the "
                             "learning rate on the individual sub-optimizers instead.")

    @property
    def loss_scale_factor(self) -> float | None:
        return getattr(self, "_loss_scale_factor", None)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: float | None) -> None:
        self._loss_scale_factor = value
        for optimizer in getattr(self, "_inner_optimizers", ()):
            optimizer.loss_scale_factor = value

    def update_step(self, k, var, grad, slots, learning_rate, decay) -> None:
        # `apply` hands every gradient to the optimizer of its variable.
        raise TypeError("MultiOptimizer has no update rule of its own: it applies gradients "
                        "through `optimizers`")

    def apply(self, grads, trainable_variables=None) -> None:
        """One step: each optimizer applies the gradients of its own variables."""
        grads = list(grads)
        if not grads:
            return
        trainable_variables = self._variables_to_apply(trainable_variables)
        self.build(trainable_variables)
        if len(grads) != len(self._owner) or len(trainable_variables) != len(self._owner):
            raise ValueError("Gradients must match trainable variables one-to-one. Received "
                             f"{len(grads)} gradients and {len(self._owner)} variables.")
        for optimizer, own_grads, own_variables in zip(
                self._inner_optimizers, self._grouped(grads, trainable_variables),
                self._grouped(trainable_variables)):
            if own_grads:
                optimizer.apply(own_grads, own_variables)
        self._iterations.assign(self._iterations.data + 1)

    def finalize_variable_values(self, var_list) -> None:
        for optimizer, own in zip(self._inner_optimizers, self._grouped(list(var_list))):
            if own:
                optimizer.finalize_variable_values(own)

    # ---- saving, as Keras lays it out ---------------------------------------------------

    def save_own_variables(self, store) -> None:
        """Its own state (iteration, the 0.0 learning rate), then each optimizer's, numbered
        on (as Keras writes them); each optimizer is also saved as a child under
        `optimizers`."""
        values = []
        for saveable in (super(), *self._inner_optimizers):
            own = {}
            saveable.save_own_variables(own)
            values.extend(own.values())
        for i, value in enumerate(values):
            store[str(i)] = value

    def load_own_variables(self, store) -> None:
        """Read back what `save_own_variables` wrote (Keras's files too)."""
        start = 0
        for saveable in (super(), *self._inner_optimizers):
            own = {}
            saveable.save_own_variables(own)
            saveable.load_own_variables({str(i): store[str(start + i)] for i in range(len(own))})
            start += len(own)

    def _saveable_children(self) -> list[tuple[str, object]]:
        return [("optimizers", self._inner_optimizers)]

    def get_config(self) -> dict[str, Any]:
        return {"optimizer_map": serialize_keras_object(self._optimizer_map),
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None):
        config = dict(config)
        config["optimizer_map"] = _deserialized(config["optimizer_map"], custom_objects)
        return cls(**config)


def _check_inner(optimizer) -> None:
    """Keras's errors for what an OptimizerMap may not hold."""
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a Keras Optimizer instance. Received: {optimizer}")
    if isinstance(optimizer, LossScaleOptimizer):
        raise ValueError("optimizer cannot be LossScaleOptimizer.")
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError("optimizer cannot be MultiOptimizer.")


def _deserialized(value, custom_objects: dict | None):
    """A config entry as its object: entries come as Keras's dicts, or already deserialized
    when `deserialize_keras_object` read the enclosing config."""
    if isinstance(value, dict) and all(not isinstance(v, Optimizer) for v in value.values()):
        return deserialize_keras_object(value, custom_objects=custom_objects)
    return value
