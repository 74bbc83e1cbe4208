"""Weight regularizers, as in `keras.regularizers`: `reg(x) -> scalar penalty`.

Penalties are built from `nbkeras.ops`, so a GradientTape differentiates them; the
result is a 0-d Tensor of x's dtype. Defaults and config keys are Keras 3's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from . import ops
from .core.tensor import Tensor
from .serialization import ConfigObject, registry, resolve
from .serialization import serialize as serialize  # noqa: F401 (public)


@dataclass
class Regularizer(ConfigObject):
    """Base class: subclasses override `__call__(x) -> scalar`. The base penalty is 0."""

    def __call__(self, x) -> Tensor | float:
        return 0.0


def penalty_factor(value, name: str, default: float) -> float:
    """`value` as a float (None -> `default`); Keras rejects negatives, inf and NaN."""
    value = default if value is None else value
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


def l1_l2_penalty(x, l1: float, l2: float) -> Tensor:
    """l1 * sum(|x|) + l2 * sum(x²) for x of any shape: a 0-d Tensor of x's dtype.
    A zero factor's term is left out, as in Keras."""
    total = ops.convert_to_tensor(0.0, dtype=x.dtype)
    if l1:
        total = total + l1 * ops.sum(ops.abs(x))
    if l2:
        total = total + l2 * ops.sum(ops.square(x))
    return total


@dataclass
class L1(Regularizer):
    """l1 * sum(|x|)."""

    l1: float = 0.01

    def __post_init__(self) -> None:
        self.l1 = penalty_factor(self.l1, "l1", 0.01)

    def __call__(self, x) -> Tensor:
        return l1_l2_penalty(x, self.l1, 0.0)


@dataclass
class L2(Regularizer):
    """l2 * sum(x²)."""

    l2: float = 0.01

    def __post_init__(self) -> None:
        self.l2 = penalty_factor(self.l2, "l2", 0.01)

    def __call__(self, x) -> Tensor:
        return l1_l2_penalty(x, 0.0, self.l2)


@dataclass
class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x²); both factors default to 0, as in Keras 3."""

    l1: float = 0.0
    l2: float = 0.0

    def __post_init__(self) -> None:
        self.l1 = penalty_factor(self.l1, "l1", 0.0)
        self.l2 = penalty_factor(self.l2, "l2", 0.0)

    def __call__(self, x) -> Tensor:
        return l1_l2_penalty(x, self.l1, self.l2)


@dataclass
class OrthogonalRegularizer(Regularizer):
    """factor * mean |cos| over the pairs of distinct rows (mode "rows") or columns (mode
    "columns") of a rank-2 x: 0.5 * factor * sum(|N N^T - diag|) / (n (n - 1) / 2) with N
    the L2-normalized rows (columns), as Keras's."""

    factor: float = 0.01
    mode: str = "rows"

    def __post_init__(self) -> None:
        self.factor = penalty_factor(self.factor, "factor", 0.01)
        if self.mode not in ("rows", "columns"):
            raise ValueError("Invalid value for argument `mode`. Expected one of "
                             f"{{'rows', 'columns'}}. Received: mode={self.mode!r}")

    def __call__(self, x) -> Tensor:
        if len(x.shape) != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={tuple(x.shape)}")
        x = x if isinstance(x, Tensor) else ops.convert_to_tensor(x)
        if self.mode == "rows":
            x = ops.normalize(x, axis=1)
            product, size = ops.matmul(x, ops.transpose(x)), x.shape[0]
        else:
            x = ops.normalize(x, axis=0)
            product, size = ops.matmul(ops.transpose(x), x), x.shape[1]
        off_diagonal = product * (1.0 - ops.eye(size, dtype=x.dtype))
        pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * ops.sum(ops.abs(off_diagonal)) / pairs


# Keras's lowercase aliases.
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

_REGULARIZERS = registry([L1, L2, L1L2, OrthogonalRegularizer], l1_l2=L1L2)


def get(identifier) -> Regularizer | Callable | None:
    """A regularizer from None, a Keras name ("l2", "L1L2", "l1_l2"), a dict
    `{"class_name": ..., "config": {...}}`, a class, an instance or a callable `x -> scalar`."""
    return resolve(identifier, "regularizer", _REGULARIZERS)


def deserialize(config, custom_objects: dict | None = None) -> Regularizer | Callable | None:
    """The regularizer a `serialize` dict (Keras's or nbkeras's) or a name describes;
    `custom_objects` adds names of your own classes."""
    return resolve(config, "regularizer", {**_REGULARIZERS, **(custom_objects or {})})
