"""Config objects named as in Keras: the dataclass-fields-are-config base, Keras's snake_case
names, and the `get`/`serialize` lookup shared by initializers, regularizers and constraints."""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, fields
from typing import Any


@dataclass
class ConfigObject:
    """A Keras config object: its dataclass fields are its config."""

    def get_config(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)


def snake_case(name: str) -> str:
    """Keras's snake_case of a class name: 'GlorotUniform' -> 'glorot_uniform', 'L1L2' -> 'l1l2'."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def registry(classes: list[type], **aliases: type) -> dict[str, type]:
    """Name -> class for `get`: each class under its own name and its snake_case name."""
    names = {cls.__name__: cls for cls in classes}
    names.update({snake_case(cls.__name__): cls for cls in classes})
    names.update(aliases)
    return names


def serialize(obj: ConfigObject | None) -> dict[str, Any] | None:
    """Keras's serialized form `{"class_name": ..., "config": {...}}` (None for None)."""
    if obj is None:
        return None
    if not hasattr(obj, "get_config"):
        raise TypeError(f"serialize: {obj!r} has no get_config(), so it cannot be serialized")
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def resolve(identifier, kind: str, names: dict[str, type]):
    """The object `identifier` names: None, a name in `names`, a serialized dict, a class,
    an instance or any callable (returned as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return _lookup(identifier, kind, names)()
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"Could not interpret {kind} identifier {identifier!r}: a dict "
                             f"must have a 'class_name' key (and optionally 'config')")
        cls = _lookup(identifier["class_name"], kind, names)
        return cls.from_config(identifier.get("config") or {})
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")


def _lookup(name: str, kind: str, names: dict[str, type]) -> type:
    if name not in names:
        raise ValueError(f"Unknown {kind}: {name!r}. Valid names are: {', '.join(sorted(names))}")
    return names[name]


def serialize_object_or_function(obj, base: type, kind: str) -> dict[str, Any] | None:
    """Keras's form for an instance of `base` (a Loss, a Metric), `{"class_name":
    "function", "config": name}` for a plain function, None for None."""
    if obj is None:
        return None
    if isinstance(obj, base):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    if inspect.isfunction(obj):
        return {"class_name": "function", "config": obj.__name__}
    raise TypeError(f"serialize: cannot serialize {obj!r}; expected a {kind} or a function")
