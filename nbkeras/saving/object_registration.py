"""Custom objects known to deserialization, as `keras.saving`'s object registration: the
global registry of `register_keras_serializable` and the `custom_object_scope` of a thread."""
from __future__ import annotations

import inspect
import threading

GLOBAL_CUSTOM_OBJECTS: dict[str, object] = {}
GLOBAL_CUSTOM_NAMES: dict[object, str] = {}
_scope = threading.local()   # .objects: the custom_object_scope dict of this thread


def _scope_objects() -> dict:
    return getattr(_scope, "objects", {})


class CustomObjectScope:
    """`with custom_object_scope({"MyLayer": MyLayer}):` makes the names known to every
    deserialization inside the block (`load_model`, `from_config`, `deserialize_keras_object`).
    As in Keras, an inner scope replaces the outer one until it exits."""

    def __init__(self, custom_objects):
        self.custom_objects = custom_objects or {}
        self.backup = None

    def __enter__(self):
        self.backup = _scope_objects().copy()
        _scope.objects = dict(self.custom_objects)
        return self

    def __exit__(self, *args, **kwargs):
        _scope.objects = self.backup.copy()


custom_object_scope = CustomObjectScope


def get_custom_objects() -> dict:
    """The live global dict of registered names -> classes and functions (a scope's objects
    are not in it)."""
    return GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Decorator: registers a class (which needs `get_config`) or function under
    `"package>name"` (name defaults to the object's `__name__`)."""

    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered_name = f"{package}>{class_name}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


def get_registered_name(obj) -> str:
    """The name `obj` is registered under, else its `__name__`."""
    if obj in GLOBAL_CUSTOM_NAMES:
        return GLOBAL_CUSTOM_NAMES[obj]
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object called `name` in the active custom_object_scope, the global registry,
    `custom_objects` or `module_objects`, in that order; None if none has it."""
    scope = _scope_objects()
    if name in scope:
        return scope[name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None
