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
    """Keras's short serialized form `{"class_name": ..., "config": {...}}` (None for None;
    `nk.saving.serialize_keras_object` writes the full form)."""
    if obj is None:
        return None
    if not hasattr(obj, "get_config"):
        raise TypeError(f"serialize: {obj!r} has no get_config(), so it cannot be serialized")
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def lookup(identifier: str | dict, kind: str, names: dict, custom_objects: dict | None = None):
    """What a name or a serialized dict (Keras's or nbkeras's form) names, as Keras's
    `<namespace>.deserialize`: objects registered with `register_keras_serializable`, in the
    active `custom_object_scope` or in `custom_objects` first, then `names`; a name gives the
    class or function, a dict the object."""
    from .saving.object_registration import get_registered_object
    from .saving.serialization_lib import UnknownObjectError, deserialize_keras_object

    if isinstance(identifier, str):
        found = get_registered_object(identifier, custom_objects)
        return found if found is not None else _lookup(identifier, kind, names)
    if "class_name" not in identifier:
        raise ValueError(f"Could not interpret {kind} identifier {identifier!r}: a dict "
                         f"must have a 'class_name' key (and optionally 'config')")
    entry = {**identifier, "config": identifier.get("config") or {}}
    try:
        return deserialize_keras_object(entry, custom_objects, module_objects=names)
    except UnknownObjectError as e:
        name = entry["config"] if entry["class_name"] == "function" else entry["class_name"]
        raise UnknownObjectError(f"Unknown {kind}: {name!r}. {e}") from None


def resolve(identifier, kind: str, names: dict[str, type]):
    """The object `identifier` names: None, a name (see `lookup`), a serialized dict, a class
    (instantiated), an instance or any callable (returned as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        identifier = lookup(identifier, kind, names)
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
