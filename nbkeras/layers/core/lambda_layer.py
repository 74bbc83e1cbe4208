"""Lambda: wraps an arbitrary function of tensors as a layer."""
from __future__ import annotations

import inspect
import types
from dataclasses import dataclass, field

from ...saving.serialization_lib import (deserialize_keras_object, function_code,
                                         function_from_code, in_safe_mode,
                                         serialize_keras_object)
from ..layer import Layer, require


@dataclass(eq=False)
class Lambda(Layer):
    """function(x, **arguments) (and `mask=` when the function takes it). Give `output_shape`
    (without the batch axis, or a function of the input shape) when the function cannot run
    on symbolic tensors; `mask` is the output's mask or a function (inputs, mask) -> mask."""

    _supports_masking_by_default = True

    function: object = None
    output_shape: object = None
    mask: object = None
    arguments: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "function", callable(self.function), "a callable")

    def call(self, inputs, mask=None):
        if mask is not None and "mask" in _parameters(self.function):
            return self.function(inputs, mask=mask, **self.arguments)
        return self.function(inputs, **self.arguments)

    def compute_mask(self, inputs, previous_mask):
        """`mask` itself, or `mask(inputs, previous_mask)` when callable (as Keras)."""
        return self.mask(inputs, previous_mask) if callable(self.mask) else self.mask

    def compute_output_shape(self, input_shape):
        if self.output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self.output_shape):
            return self.output_shape(input_shape)
        return (input_shape[0], *self.output_shape)

    def get_config(self) -> dict:
        """Keras's config: a Python lambda as its bytecode (`__lambda__`, which safe loading
        refuses), a named function as Keras's function entry; `output_shape` and `mask`
        only when set."""
        config = super().get_config()
        config["function"] = _function_config(self.function)
        for key in ("output_shape", "mask"):
            value = getattr(self, key)
            if value is None:
                del config[key]
            else:
                config[key] = (_function_config(value) if callable(value)
                               else serialize_keras_object(value))
        config["arguments"] = serialize_keras_object(self.arguments)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None,
                    safe_mode: bool | None = None):
        """The layer of a config; a function stored as bytecode is only loaded with
        `safe_mode=False` (here, or in the enclosing load, or after
        `nk.config.enable_unsafe_deserialization()`), unless this process dumped it itself
        (then it is that same function: nothing runs)."""
        safe = (safe_mode if safe_mode is not None else in_safe_mode()) is not False
        config = dict(config)
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            if isinstance(value, dict) and value.get("class_name") == "__lambda__":
                config[key] = function_from_code(
                    **value["config"], safe_mode=safe,
                    what=f"a `Lambda` layer ({config.get('name')!r}) whose `{key}` is a Python "
                         "lambda")
            elif isinstance(value, dict):
                config[key] = deserialize_keras_object(value, custom_objects, safe_mode=safe)
        if isinstance(config.get("output_shape"), list):
            config["output_shape"] = tuple(config["output_shape"])
        config["arguments"] = deserialize_keras_object(config.get("arguments") or {},
                                                       custom_objects, safe_mode=safe)
        return cls(**config)


def _function_config(function) -> dict:
    """Keras's Lambda form of a function: a lambda's bytecode, else its serialized entry."""
    if isinstance(function, types.LambdaType) and function.__name__ == "<lambda>":
        code, defaults, closure = function_code(function)
        return {"class_name": "__lambda__",
                "config": {"code": code, "defaults": defaults, "closure": closure}}
    return serialize_keras_object(function)


def _parameters(function) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()
