"""Weight constraints, as in `keras.constraints`: `constraint(w) -> w'` on raw numpy arrays,
applied to a variable's value after each optimizer step. Results keep w's (float) dtype.

Formulas, defaults and config keys are Keras 3's, including `nk.config.epsilon()` in the
norm denominators. `axis` is the axis (or list of axes) the norms are taken over: 0 for a
Dense kernel (in, out) constrains each output unit's incoming weights; [0, 1, 2] for a
Conv2D kernel (kh, kw, in, out) constrains each filter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import config
from .serialization import ConfigObject, registry, resolve
from .serialization import serialize as serialize  # noqa: F401 (public)

Axis = int | tuple[int, ...] | list[int] | None


@dataclass
class Constraint(ConfigObject):
    """Base class: subclasses override `__call__(w) -> array`. The base leaves w unchanged."""

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return w


def rescale_norms(w: np.ndarray, axis: Axis,
                  desired: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """w * desired(norms) / (epsilon + norms), with norms the L2 norms over `axis` (kept as
    size-1 axes, so the result has w's shape)."""
    w = np.asarray(w)
    axis = tuple(axis) if isinstance(axis, list) else axis
    norms = np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))
    return w * (desired(norms) / (config.epsilon() + norms))


@dataclass
class MaxNorm(Constraint):
    """Rescales slices whose norm over `axis` exceeds `max_value` down to `max_value`."""

    max_value: float = 2
    axis: Axis = 0

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return rescale_norms(w, self.axis, lambda norms: np.clip(norms, 0, self.max_value))


@dataclass
class MinMaxNorm(Constraint):
    """Moves each slice's norm over `axis` toward [min_value, max_value]: the new norm is
    rate * clip(norm, min_value, max_value) + (1 - rate) * norm."""

    min_value: float = 0.0
    max_value: float = 1.0
    rate: float = 1.0
    axis: Axis = 0

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return rescale_norms(w, self.axis, lambda norms: (
            self.rate * np.clip(norms, self.min_value, self.max_value)
            + (1 - self.rate) * norms))


@dataclass
class NonNeg(Constraint):
    """Zeroes the negative entries."""

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w)
        return w * (w >= 0)


@dataclass
class UnitNorm(Constraint):
    """Scales each slice to unit norm over `axis`."""

    axis: Axis = 0

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return rescale_norms(w, self.axis, np.ones_like)


# Keras's lowercase aliases.
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

_CONSTRAINTS = registry([MaxNorm, MinMaxNorm, NonNeg, UnitNorm])


def get(identifier) -> Constraint | Callable | None:
    """A constraint from None, a Keras name ("max_norm", "MaxNorm"), a dict
    `{"class_name": ..., "config": {...}}`, a class, an instance or a callable `w -> w'`."""
    return resolve(identifier, "constraint", _CONSTRAINTS)


def deserialize(config, custom_objects: dict | None = None) -> Constraint | Callable | None:
    """The constraint a `serialize` dict (Keras's or nbkeras's) or a name describes;
    `custom_objects` adds names of your own classes."""
    return resolve(config, "constraint", {**_CONSTRAINTS, **(custom_objects or {})})
