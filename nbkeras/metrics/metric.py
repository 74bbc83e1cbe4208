"""Metric base class, as in Keras 3: state in non-trainable Variables, `update_state`,
`result` (a Tensor), `reset_state`, config by name and dtype.

Metrics are bookkeeping, not part of the model's math: updates run with every GradientTape
paused (subclasses' `update_state` too), so a metric updated inside a training step records
nothing. State and updates are ops on the metric's device: the `nk.device` block the metric
was made in (a compiled model makes its metrics on its own device), else the current one; a
batch on another device is reduced there and only the reduced counts move.
"""
from __future__ import annotations

import contextlib
import functools
from abc import ABC, abstractmethod

from typing import Any

import numpy as np

from .. import config, ops
from ..core.device import device, scoped_device
from ..core.dtype import standardize_dtype
from ..core.tape import GradientTape
from ..core.tensor import Tensor, Variable
from ..serialization import snake_case


_NO_TAPE = GradientTape().stop_recording()   # pauses every tape while inside; re-entrant


def tensors(*values, dtype=None) -> list:
    """The values as Tensors (None stays None) on one device: that of the first Tensor among
    them, else the current device; cast to `dtype` if given."""
    home = next((v.device for v in values if isinstance(v, Tensor)), None)
    return [None if v is None else ops.convert_to_tensor(v, dtype, device=home) for v in values]


def _without_tape(update_state):
    @functools.wraps(update_state)
    def update(self, *args, **kwargs):
        with _NO_TAPE:
            return update_state(self, *args, **kwargs)
    return update


class Metric(ABC):
    """Base class: subclasses create their state with `add_variable` in `__init__` and define
    `update_state(...)` and `result()`."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "update_state" in cls.__dict__:
            cls.update_state = _without_tape(cls.update_state)

    def __init__(self, dtype=None, name=None):
        self.name = name or snake_case(type(self).__name__)
        self._dtype = None if dtype is None else standardize_dtype(dtype)
        self._variables: list[Variable] = []
        self._placement = scoped_device()   # state made later (AUC's) goes here too

    @property
    def dtype(self) -> str:
        return self._dtype or config.floatx()

    @property
    def variables(self) -> list[Variable]:
        return list(self._variables)

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None) -> Variable:
        """A non-trainable state Variable of `shape`, all zeros (the only initializer metrics
        use)."""
        if initializer not in ("zeros", None):
            raise ValueError(f"Metric '{self.name}': add_variable supports initializer='zeros'; "
                             f"received {initializer!r}")
        placement = device(self._placement) if self._placement else contextlib.nullcontext()
        with placement:
            variable = Variable(np.zeros(tuple(shape)), trainable=False,
                                name=name or "variable", dtype=dtype or self.dtype)
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def adopt_device(self, device_name: str) -> None:
        """Keep the state on `device_name` from now on, unless the metric was made in an
        `nk.device` block (a model compiled on a device adopts the metric objects it is
        given there)."""
        if self._placement is None:
            self._placement = device_name
            for variable in self._variables:
                variable.move_to(device_name)

    @abstractmethod
    def update_state(self, *args, **kwargs) -> None:
        """Accumulate a batch into the state variables."""

    @abstractmethod
    def result(self) -> Tensor:
        """The metric's value from the accumulated state (a 0-d Tensor)."""

    def reset_state(self) -> None:
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape))

    def save_own_variables(self, store) -> None:
        """Write the state variables to `store` as "0", "1", ... (the saveable protocol of
        nbkeras/saving/walker.py; a model's compiled metrics are not saved, as in Keras)."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable

    def load_own_variables(self, store) -> None:
        """Assign what `save_own_variables` wrote; another count is a ValueError."""
        if len(store.keys()) != len(self._variables):
            raise ValueError(f"Metric '{self.name}' expected {len(self._variables)} variables, "
                             f"but received {len(store.keys())} variables during loading. "
                             f"Expected: {[v.name for v in self._variables]}")
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    def __call__(self, *args, **kwargs) -> Tensor:
        """update_state(*args, **kwargs), then the result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def _tensor(self, value) -> Tensor:
        """value (a Tensor on the metric's device, or a number) as a Tensor of the metric's
        dtype."""
        return ops.convert_to_tensor(value, self.dtype, device=self._variables[0].device
                                     if self._variables else None)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"
