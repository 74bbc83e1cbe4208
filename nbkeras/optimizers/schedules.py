"""Learning-rate schedules, as in `keras.optimizers.schedules`: `schedule(step) -> float`.

An optimizer given a schedule calls it with its `iterations` (the number of steps already
applied, so the first step sees step 0). Formulas, defaults, argument order and config keys
are Keras 3's; values are computed in float64 (Keras computes them in the dtype of
`initial_learning_rate`, float32 for a Python float).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import math
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np

from ..serialization import registry, resolve
from ..serialization import serialize as _serialize


class LearningRateSchedule(ABC):
    """Base class: subclasses define `__call__(step) -> float`. A dataclass subclass gets
    `get_config` from its fields; any other subclass defines `get_config` itself."""

    @abstractmethod
    def __call__(self, step) -> float:
        """The learning rate at optimizer step `step`."""

    def get_config(self) -> dict[str, Any]:
        if is_dataclass(self):
            return {f.name: getattr(self, f.name) for f in fields(self)}
        raise TypeError(f"Learning rate schedule '{type(self).__name__}' must override "
                        f"`get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)


def _step(step) -> float:
    """The step as a float: an int, a numpy scalar, or a Tensor/Variable such as `iterations`."""
    return float(np.asarray(step))


def _progress(step, decay_steps, staircase: bool) -> float:
    """step / decay_steps, floored with `staircase` (exponential and inverse-time decay)."""
    p = _step(step) / decay_steps
    return math.floor(p) if staircase else p


def _require_positive_decay_steps(decay_steps, name: str = "decay_steps") -> None:
    if not decay_steps > 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={decay_steps}")


@dataclass
class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ** (step / decay_steps); with `staircase`, the
    exponent is floored."""

    initial_learning_rate: float
    decay_steps: int
    decay_rate: float
    staircase: bool = False
    name: str = "ExponentialDecay"

    def __post_init__(self) -> None:
        _require_positive_decay_steps(self.decay_steps)

    def __call__(self, step) -> float:
        p = _progress(step, self.decay_steps, self.staircase)
        return float(self.initial_learning_rate * self.decay_rate ** p)


@dataclass
class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] once step > boundaries[-1]."""

    boundaries: list
    values: list
    name: str = "PiecewiseConstant"

    def __post_init__(self) -> None:
        if len(self.boundaries) != len(self.values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={self.boundaries} of length {len(self.boundaries)}, "
                f"and values={self.values} of length {len(self.values)}.")

    def __call__(self, step) -> float:
        step = _step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])


@dataclass
class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ** power + end, with step capped at
    decay_steps; with `cycle`, decay_steps grows to the first multiple of itself >= step."""

    initial_learning_rate: float
    decay_steps: int
    end_learning_rate: float = 0.0001
    power: float = 1.0
    cycle: bool = False
    name: str = "PolynomialDecay"

    def __post_init__(self) -> None:
        _require_positive_decay_steps(self.decay_steps)

    def __call__(self, step) -> float:
        step = _step(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return float((self.initial_learning_rate - self.end_learning_rate)
                     * (1 - p) ** self.power + self.end_learning_rate)


@dataclass
class InverseTimeDecay(LearningRateSchedule):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps); with `staircase`,
    step / decay_steps is floored."""

    initial_learning_rate: float
    decay_steps: int
    decay_rate: float
    staircase: bool = False
    name: str = "InverseTimeDecay"

    def __post_init__(self) -> None:
        _require_positive_decay_steps(self.decay_steps)

    def __call__(self, step) -> float:
        p = _progress(step, self.decay_steps, self.staircase)
        return float(self.initial_learning_rate / (1 + self.decay_rate * p))


@dataclass
class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from initial_learning_rate to warmup_target over warmup_steps,
    then cosine decay over decay_steps from warmup_target (or initial_learning_rate when
    warmup_target is None) down to alpha times it:
    lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(s, decay_steps) / decay_steps)) + alpha),
    with s the steps since the warmup ended. Keras's argument order (name before warmup)."""

    initial_learning_rate: float
    decay_steps: int
    alpha: float = 0.0
    name: str = "CosineDecay"
    warmup_target: float | None = None
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        _require_positive_decay_steps(self.decay_steps)

    def _decay(self, step: float, decay_from: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step) -> float:
        step = _step(step)
        if self.warmup_target is None:
            return float(self._decay(min(step, self.decay_steps), self.initial_learning_rate))
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return float(delta * (step / self.warmup_steps) + self.initial_learning_rate)
        return float(self._decay(step - self.warmup_steps, self.warmup_target))


_SCHEDULES = registry([ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                       InverseTimeDecay, CosineDecay])


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """Keras's serialized form `{"class_name": ..., "config": {...}}`."""
    return _serialize(schedule)


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """The schedule a `{"class_name": ..., "config": {...}}` dict describes (keys Keras adds,
    such as "module", are ignored)."""
    if not isinstance(config, dict):
        raise ValueError(f"Could not interpret learning rate schedule: {config!r}; expected a "
                         f"dict with 'class_name' and 'config'")
    return resolve(config, "learning rate schedule", _SCHEDULES)
