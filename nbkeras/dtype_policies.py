"""Dtype policies, as in `keras.dtype_policies`: the dtype a layer computes in and keeps its
variables in. nbkeras computes in float32 or float64, so a policy is one of those two names;
Keras's mixed policies ("mixed_float16", "mixed_bfloat16") and quantized policies raise a
ValueError saying nbkeras does not support them.

A policy can be given wherever a layer takes `dtype=`: the layer reads its `name`.
"""
from __future__ import annotations

from typing import Any

from . import config

_SUPPORTED = ("float32", "float64")


class DTypePolicy:
    """`DTypePolicy(name=None)`: `name` "float32" or "float64" (None: `nk.config.floatx()`);
    `compute_dtype` and `variable_dtype` are both that name, as for Keras's float policies."""

    def __init__(self, name: str | None = None):
        if name is None:
            name = config.floatx()
        if not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: 'name' must be a string, such as "
                            f"'float32'. Received: name={name!r} (of type {type(name)})")
        if name.startswith("mixed_") or name.startswith(("int8", "int4", "float8", "gptq", "awq")):
            raise ValueError(f"{type(self).__name__}: the policy {name!r} is not supported by "
                             f"nbkeras, which computes in one float dtype: use one of "
                             f"{list(_SUPPORTED)}")
        if name not in _SUPPORTED:
            raise ValueError(f"{type(self).__name__}: cannot convert {name!r} to a dtype "
                             f"policy; nbkeras supports {list(_SUPPORTED)}")
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return self._name

    @property
    def variable_dtype(self) -> str:
        return self._name

    @property
    def quantization_mode(self) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "DTypePolicy":
        return cls(**config)

    def __eq__(self, other) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


class FloatDTypePolicy(DTypePolicy):
    """Keras 3's name for the float policies (a subclass of DTypePolicy, as there)."""


_POLICIES = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy}


def serialize(dtype_policy: DTypePolicy) -> dict[str, Any]:
    """Keras's form: `{"module": "keras", "class_name": ..., "config": {"name": ...},
    "registered_name": None}`."""
    if not isinstance(dtype_policy, DTypePolicy):
        raise TypeError("dtype_policies.serialize: expected a DTypePolicy; received "
                        f"{dtype_policy!r}")
    return {"module": "keras", "class_name": type(dtype_policy).__name__,
            "config": dtype_policy.get_config(), "registered_name": None}


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> DTypePolicy:
    """The policy of a `serialize` dict (Keras's or nbkeras's)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"dtype_policies.deserialize: expected a dict with a 'class_name' key; "
                         f"received {config!r}")
    names = {**_POLICIES, **(custom_objects or {})}
    if config["class_name"] not in names:
        raise ValueError(f"dtype_policies.deserialize: unknown dtype policy class "
                         f"{config['class_name']!r}; nbkeras has {sorted(_POLICIES)}")
    return names[config["class_name"]].from_config(config.get("config") or {})


def get(identifier) -> DTypePolicy:
    """A policy from None (floatx), a name ("float64"), a `serialize` dict or a policy."""
    if identifier is None or isinstance(identifier, str):
        return DTypePolicy(identifier)
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Cannot interpret `dtype` argument. Expected a string or an instance of "
                     f"DTypePolicy. Received: dtype={identifier!r}")
