"""Optimizers, as `keras.optimizers`: `get("adam")`, `Adam(learning_rate=...)`,
`opt.apply_gradients(zip(grads, weights))`, and learning-rate `schedules`."""
from __future__ import annotations

from typing import Any

from . import schedules  # noqa: F401
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .ftrl import Ftrl
from .lamb import Lamb
from .lion import Lion
from .loss_scale_optimizer import LossScaleOptimizer
from .muon import Muon
from .multi_optimizer import MultiOptimizer, OptimizerMap
from .nadam import Nadam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .schedule_free_adamw import ScheduleFreeAdamW
from .sgd import SGD
from ..serialization import lookup
from ..serialization import serialize as _serialize

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "Nadam", "Lion", "Lamb", "Ftrl", "Adafactor", "ScheduleFreeAdamW", "Muon",
           "LossScaleOptimizer", "MultiOptimizer", "OptimizerMap", "schedules",
           "get", "serialize", "deserialize"]

# Keras's lookup: class names, case-insensitive ("adam", "Adam", "RMSprop", "rmsprop").
_OPTIMIZERS = {cls.__name__.lower(): cls for cls in
               (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Lamb,
                Ftrl, Adafactor, ScheduleFreeAdamW, Muon, LossScaleOptimizer, MultiOptimizer,
                OptimizerMap)}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Keras's serialized form `{"class_name": ..., "config": {...}}`."""
    return _serialize(optimizer)


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Optimizer:
    """The optimizer a `serialize` dict (nbkeras's or Keras's) describes; class names are
    case-insensitive, and objects registered, in a custom_object_scope or in
    `custom_objects` come first."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret optimizer identifier {config!r}: a dict must have "
                         f"a 'class_name' key (and optionally 'config')")
    return lookup({**config, "class_name": _keras_case(config["class_name"])}, "optimizer",
                  _OPTIMIZERS, custom_objects)


def get(identifier) -> Optimizer | None:
    """An optimizer from None, a name ("adam", "SGD"), a serialized dict, an Optimizer class
    (instantiated with its defaults) or an instance (returned as is)."""
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return get(lookup(_keras_case(identifier), "optimizer", _OPTIMIZERS))
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


def _keras_case(name: str) -> str:
    """Keras's case-insensitive names of the built-in optimizers ("Adam" -> "adam")."""
    return name.lower() if isinstance(name, str) and name.lower() in _OPTIMIZERS else name
