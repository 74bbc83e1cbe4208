"""Metric base class, as in Keras 3: state in non-trainable Variables, `update_state`,
`result` (a Tensor), `reset_state`, config by name and dtype.

Metrics are bookkeeping, not part of the model's math: updates run in numpy with every
GradientTape paused, so a metric updated inside a training step records nothing.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from typing import Any

import numpy as np

from .. import config
from ..core.dtype import standardize_dtype
from ..core.tape import GradientTape
from ..core.tensor import Tensor, Variable
from ..serialization import snake_case


def no_tape():
    """A context in which no tape records (`GradientTape.stop_recording` pauses them all)."""
    return GradientTape().stop_recording()


def to_numpy(x) -> np.ndarray:
    """An array of x's values (Tensors, Variables, lists, numpy)."""
    return np.asarray(x.numpy() if isinstance(x, Tensor) else x)


def divide_no_nan(a, b):
    """a / b, with 0 where b == 0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    safe = np.where(b == 0, 1.0, b)
    return np.where(b == 0, 0.0, a / safe)


class Metric(ABC):
    """Base class: subclasses create their state with `add_variable` in `__init__` and define
    `update_state(...)` and `result()`."""

    def __init__(self, dtype=None, name=None):
        self.name = name or snake_case(type(self).__name__)
        self._dtype = None if dtype is None else standardize_dtype(dtype)
        self._variables: list[Variable] = []

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
        variable = Variable(np.zeros(tuple(shape)), trainable=False, name=name or "variable",
                            dtype=dtype or self.dtype)
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    @abstractmethod
    def update_state(self, *args, **kwargs) -> None:
        """Accumulate a batch into the state variables."""

    @abstractmethod
    def result(self) -> Tensor:
        """The metric's value from the accumulated state (a 0-d Tensor)."""

    def reset_state(self) -> None:
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape))

    def __call__(self, *args, **kwargs) -> Tensor:
        """update_state(*args, **kwargs), then the result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def _tensor(self, value) -> Tensor:
        return Tensor(np.asarray(value, dtype=self.dtype))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"
