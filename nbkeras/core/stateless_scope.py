"""StatelessScope, as `keras.StatelessScope`: inside it, Variables read the values of a
`state_mapping` and `assign` records the new value in the scope instead of writing it, so a
computation leaves every Variable as it was; `get_current_value(variable)` gives a value
afterwards. Layers send `add_loss` losses to the scope (kept with `collect_losses=True`).

Variables read the scope through `get_stateless_scope()` (core/tensor.py); scopes nest, the
innermost one counts, per thread.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor, Variable


class _State(threading.local):
    scope = None          # a class default: reading it raises nothing (Variable.data reads it)


_state = _State()


def get_stateless_scope() -> "StatelessScope | None":
    """The innermost StatelessScope entered in this thread, or None."""
    return _state.scope


def in_stateless_scope() -> bool:
    return get_stateless_scope() is not None


class StatelessScope:
    """`StatelessScope(state_mapping=None, collect_losses=False, initialize_variables=True)`:
    `state_mapping` pairs `(variable, value)`; each value (an array, Tensor or Variable of the
    variable's shape) is copied into a Tensor of the variable's dtype on its device.

    `initialize_variables` is accepted for Keras's signature: Keras defers the initial values
    of Variables made inside the scope until it exits; nbkeras creates every Variable with its
    value, so there is nothing left to initialize."""

    def __init__(self, state_mapping=None, collect_losses: bool = False,
                 initialize_variables: bool = True):
        from .tensor import Tensor, Variable   # tensor.py imports this module

        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        self.losses: list = []
        self.state_mapping: dict[int, Tensor] = {}
        self._loss_owners: dict[int, list] = {}
        for variable, value in state_mapping or ():
            if not isinstance(variable, Variable):
                raise ValueError("Invalid reference variable in StatelessScope: all keys in "
                                 "argument `mapping` must be Variable instances. Received "
                                 f"instead: {variable}")
            source = value.numpy() if isinstance(value, Tensor) else value
            if tuple(np.shape(source)) != variable.shape:
                raise ValueError("Invalid variable value in StatelessScope: all values in "
                                 "argument `mapping` must be tensors with a shape that matches "
                                 f"the corresponding variable shape. For variable {variable}, "
                                 f"received invalid value of shape {np.shape(source)}.")
            # a copy: in-place updates inside the scope never reach the caller's array
            self.state_mapping[id(variable)] = variable._scoped_copy(source)

    def __enter__(self) -> "StatelessScope":
        self.original_scope = get_stateless_scope()
        _state.scope = self
        return self

    def __exit__(self, *exc) -> None:
        _state.scope = self.original_scope

    def add_loss(self, loss, layer=None) -> None:
        """Collect `loss`; `layer` (the layer whose `add_loss` sent it) lets that layer's
        `losses` list it while the scope is active."""
        self.losses.append(loss)
        if layer is not None:
            self._loss_owners.setdefault(id(layer), []).append(loss)

    def losses_of(self, layer) -> list:
        """The losses `layer` added in this scope."""
        return list(self._loss_owners.get(id(layer), ()))

    def add_update(self, update) -> None:
        """Record `(variable, value)`: the variable's value from now on, inside the scope."""
        variable, value = update
        self.state_mapping[id(variable)] = value

    def get_current_value(self, variable: Variable) -> Tensor | None:
        """The variable's value in this scope (mapped or assigned), or None."""
        return self.state_mapping.get(id(variable))
