"""Keras 3's object serialization (`nk.saving.serialize_keras_object`/`deserialize_keras_object`).

An object is written as Keras writes the equivalent Keras object: `{"module", "class_name",
"config", "registered_name"}` (plus `build_config`/`compile_config` where the object has
them), with Keras's module and class names and Keras's form of every value in the config (an
initializer named "glorot_uniform" is written as Keras's GlorotUniform dict, a layer's dtype
as a DTypePolicy dict). Reading maps Keras's names to nbkeras's classes, takes nbkeras's own
forms too, and finds custom classes through the registry, the active `custom_object_scope`
or `custom_objects`. Safe mode (the default) refuses Python bytecode and classes from
modules other than nbkeras's, unless registered or given in `custom_objects`.
"""
from __future__ import annotations

import codecs
import dataclasses
import functools
import importlib
import inspect
import marshal
import threading
import types
import warnings
import weakref

import numpy as np

from . import object_registration
from .object_registration import CustomObjectScope, get_registered_name, get_registered_object
from .keras_config_orders import KERAS_CONFIG_ORDERS

PLAIN_TYPES = (str, int, float, bool)

# Keras's public modules and the nbkeras namespaces that hold the same names. A class is
# written under the first one exporting it (Keras's canonical name): Keras's top-level names
# first, then these in order (schedules before the optimizers namespace that imports them).
_NAMESPACES = {
    "keras.layers": "nbkeras.layers", "keras.initializers": "nbkeras.initializers",
    "keras.regularizers": "nbkeras.regularizers", "keras.constraints": "nbkeras.constraints",
    "keras.optimizers.schedules": "nbkeras.optimizers.schedules",
    "keras.optimizers": "nbkeras.optimizers", "keras.losses": "nbkeras.losses",
    "keras.metrics": "nbkeras.metrics", "keras.activations": "nbkeras.activations",
    "keras.dtype_policies": "nbkeras.dtype_policies", "keras.models": "nbkeras.models",
}
# The classes Keras exports as `keras.<name>` (module "keras" in its files).
_TOP_LEVEL = ("Sequential", "Model", "DTypePolicy", "FloatDTypePolicy", "Layer", "Loss",
              "Metric", "Optimizer", "Initializer", "Regularizer", "Function", "Operation",
              "InputSpec")
# Classes Keras does not export, written where Keras keeps them (module, registered name).
_UNEXPORTED = {"Functional": ("keras.src.models.functional", "Functional")}
# Where a function written as {"module": "builtins", "class_name": "function"} is looked up.
_FUNCTION_NAMESPACES = ("activations", "constraints", "initializers", "losses", "metrics",
                        "optimizers", "regularizers")
# Keras functions that are not part of a model: never called from a file (as Keras).
_NON_MODELING = frozenset({
    "keras.backend.clear_session", "keras.config.enable_unsafe_deserialization",
    "keras.models.load_model", "keras.models.model_from_json", "keras.models.save_model",
    "keras.saving.deserialize_keras_object", "keras.saving.load_model",
    "keras.saving.load_weights", "keras.saving.register_keras_serializable",
    "keras.saving.save_model", "keras.saving.save_weights", "keras.saving.serialize_keras_object",
    "keras.utils.clear_session", "keras.utils.deserialize_keras_object", "keras.utils.get_file",
    "keras.utils.register_keras_serializable", "keras.utils.serialize_keras_object"})

# Per thread, as Keras's global state: .safe_mode (None: unset, True or False) and .shared
# (the maps of an ObjectSharingScope).
_state = threading.local()


class UnknownObjectError(TypeError, ValueError):
    """A config names a class or function that is neither nbkeras's nor a custom object (a
    TypeError as in Keras, and a ValueError)."""


# ---- safe mode ------------------------------------------------------------------------------
def in_safe_mode() -> bool | None:
    """The safe mode of the enclosing deserialization (None outside one, unless
    `enable_unsafe_deserialization` was called)."""
    return getattr(_state, "safe_mode", None)


class SafeModeScope:
    """Carries `safe_mode` to the deserializations nested in a `from_config`."""

    def __init__(self, safe_mode: bool | None = True):
        self.safe_mode = safe_mode

    def __enter__(self):
        self.original_value = in_safe_mode()
        _state.safe_mode = self.safe_mode
        return self

    def __exit__(self, *args, **kwargs):
        _state.safe_mode = self.original_value


def enable_unsafe_deserialization() -> None:
    """Disables safe mode globally (in this thread), allowing deserialization of lambdas."""
    _state.safe_mode = False


class ObjectSharingScope:
    """Within it, an object serialized twice is written with Keras's `shared_object_id` on
    both entries, and entries with the same id deserialize to one object (as Keras's
    `.keras` saving does)."""

    def __enter__(self):
        self.original = getattr(_state, "shared", None)
        _state.shared = ({}, {})   # id -> config written; id in a file -> object read
        return self

    def __exit__(self, *args, **kwargs):
        _state.shared = self.original


def _record_serialized(obj, config: dict) -> None:
    shared = getattr(_state, "shared", None)
    if shared is None:
        return
    written = shared[0]
    if id(obj) not in written:
        written[id(obj)] = (obj, config)   # the object too: its id stays its own meanwhile
    else:
        config["shared_object_id"] = written[id(obj)][1]["shared_object_id"] = id(obj)


def _lambda_refused(what: str) -> ValueError:
    """Keras's error for Python bytecode met in safe mode."""
    return ValueError(
        f"Requested the deserialization of {what}. This carries a potential risk of arbitrary "
        "code execution and thus it is disallowed by default. If you trust the source of the "
        "artifact, you can override this error by passing `safe_mode=False` to the loading "
        "function, or calling `nk.config.enable_unsafe_deserialization()`.")


# Functions this process dumped, by their code: loading that very code again returns the live
# function (the same object: nothing from a file runs), so in-process round trips of lambdas
# (clone_model, from_config(get_config())) work in safe mode.
_dumped_functions: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def function_code(function) -> tuple:
    """Keras's `func_dump`: (base64 of the marshalled code, defaults, closure values)."""
    code = codecs.encode(marshal.dumps(function.__code__), "base64").decode("ascii")
    closure = (tuple(cell.cell_contents for cell in function.__closure__)
               if function.__closure__ else None)
    _dumped_functions[code] = function
    return code, function.__defaults__, closure


def dumped_function(code, defaults=None, closure=None):
    """The live function `function_code` dumped as exactly these values, or None."""
    if isinstance(code, (tuple, list)):
        code, defaults, closure = code
    function = _dumped_functions.get(code) if isinstance(code, str) else None
    if function is None:
        return None
    _, own_defaults, own_closure = function_code(function)
    same = _same(own_defaults, defaults) and _same(own_closure, closure)
    return function if same else None


def _same(ours, theirs) -> bool:
    """Defaults or closure values equal, tuples and lists alike (JSON makes tuples lists)."""
    if isinstance(ours, (list, tuple)) and isinstance(theirs, (list, tuple)):
        return len(ours) == len(theirs) and all(_same(a, b) for a, b in zip(ours, theirs))
    try:
        return ours is theirs or (type(ours) is type(theirs) and bool(ours == theirs))
    except (TypeError, ValueError):   # values without a plain equality (arrays)
        return False


def function_from_code(code, defaults=None, closure=None, safe_mode: bool = True,
                       what: str = "a Python lambda"):
    """Keras's `func_load`: the function `function_code` wrote. In safe mode only a function
    this process dumped itself is returned; other bytecode raises a ValueError naming
    `what`."""
    known = dumped_function(code, defaults, closure)
    if known is not None:
        return known
    if safe_mode:
        raise _lambda_refused(what)
    if isinstance(code, (tuple, list)):
        code, defaults, closure = code
    code = marshal.loads(codecs.decode(code.encode("ascii"), "base64"))
    cells = None if closure is None else tuple(types.CellType(value) for value in closure)
    return types.FunctionType(code, globals(), name=code.co_name,
                              argdefs=None if defaults is None else tuple(defaults),
                              closure=cells)


# ---- serialization --------------------------------------------------------------------------
def serialize_keras_object(obj):
    """Keras 3's config of `obj`: plain values as is, lists/tuples/dicts item by item, numpy
    arrays, bytes and lambdas as Keras's `__numpy__`/`__bytes__`/`__lambda__` entries, a
    function as Keras's `{"class_name": "function", ...}`, any object with `get_config` as
    `{"module", "class_name", "config", "registered_name"}` (+ `build_config`,
    `compile_config`)."""
    if obj is None or isinstance(obj, PLAIN_TYPES):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return serialize_dict(obj)
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": serialize_keras_object(obj.start), "stop": serialize_keras_object(obj.stop),
            "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    special = _serialize_value(obj)
    if special is not None:
        return special
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        warnings.warn("The object being serialized includes a `lambda`. This is unsafe. In "
                      "order to reload the object, you will have to pass `safe_mode=False` to "
                      "the loading function. Please avoid using `lambda` in the future, and use "
                      "named Python functions instead.", stacklevel=2)
        return {"class_name": "__lambda__", "config": {"value": function_code(obj)}}
    if isinstance(obj, types.FunctionType):
        return {"module": "builtins", "class_name": "function",
                "config": get_registered_name(obj), "registered_name": "function"}
    module, class_name, registered_name = keras_name(type(obj))
    config = {"module": module, "class_name": class_name,
              "config": _in_keras_order(f"{module}.{class_name}", _keras_config(obj)),
              "registered_name": registered_name}
    _add_build_and_compile_config(obj, config)
    _record_serialized(obj, config)
    return config


def serialize_dict(obj: dict) -> dict:
    return {key: serialize_keras_object(value) for key, value in obj.items()}


def _serialize_value(obj):
    """Keras's entries for tensors, numpy values and KerasTensors (None for anything else)."""
    from ..core.keras_tensor import KerasTensor
    from ..core.tensor import Tensor

    if isinstance(obj, KerasTensor):
        history = None   # also for a tensor made by an op (nbkeras's ops have no names)
        operation = getattr(obj.node, "operation", None)
        if getattr(operation, "name", None) is not None:
            history = [operation.name, operation._inbound_nodes.index(obj.node), obj.index]
        return {"class_name": "__keras_tensor__", "config": {
            "shape": obj.shape, "dtype": obj.dtype, "keras_history": history}}
    if isinstance(obj, Tensor):
        value = obj.numpy()
        return {"class_name": "__tensor__",
                "config": {"value": value.tolist(), "dtype": str(value.dtype)}}
    if type(obj).__module__ == np.__name__:
        if isinstance(obj, np.ndarray) and obj.ndim > 0:
            return {"class_name": "__numpy__",
                    "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
        if obj.dtype.kind == "f" and obj.dtype.itemsize < 8:   # a Python number made float32
            return float(str(obj[()]))   # its shortest decimal: 1.01, not 1.0099999904632568
        return obj.item()
    return None


def _add_build_and_compile_config(obj, config: dict) -> None:
    for key, method in (("build_config", "get_build_config"),
                        ("compile_config", "get_compile_config")):
        if hasattr(obj, method):
            value = getattr(obj, method)()
            if value is not None:
                config[key] = serialize_dict(value)


@functools.cache
def _public_names() -> dict:
    """nbkeras class or function -> (Keras's module, Keras's name) for everything nbkeras
    exports under a Keras namespace."""
    names = {}
    top = importlib.import_module("nbkeras")
    for name in _TOP_LEVEL:
        if isinstance(getattr(top, name, None), type):
            names.setdefault(getattr(top, name), ("keras", name))
    for own_names_first in (True, False):   # AvgPool2D is written as AveragePooling2D
        for module, namespace in _NAMESPACES.items():
            for name, value in vars(importlib.import_module(namespace)).items():
                if (isinstance(value, type) and value.__module__.startswith(namespace)
                        and not name.startswith("_")
                        and (name == value.__name__) == own_names_first):
                    names.setdefault(value, (module, name))
    return names


def keras_name(cls: type) -> tuple[str | None, str, str | None]:
    """(module, class_name, registered_name) as Keras writes them for an instance of `cls`."""
    if cls in object_registration.GLOBAL_CUSTOM_NAMES:
        return _module_of(cls), cls.__name__, get_registered_name(cls)
    if cls.__module__.startswith("nbkeras.") and cls.__name__ in _UNEXPORTED:
        module, registered_name = _UNEXPORTED[cls.__name__]
        return module, cls.__name__, registered_name
    public = _public_names().get(cls)
    if public is not None:
        return public[0], public[1], None
    return _module_of(cls), cls.__name__, get_registered_name(cls)


def _module_of(cls: type) -> str | None:
    return None if cls.__module__ == "__main__" else cls.__module__


def _in_keras_order(name: str, config: dict) -> dict:
    """`config` with its keys in the order Keras writes them for the class `name`
    ("keras.layers.LSTM"); keys Keras does not write for it stay last, in their order."""
    order = KERAS_CONFIG_ORDERS.get(name)
    if order is None:
        return config
    return {**{key: config[key] for key in order if key in config}, **config}


def _keras_config(obj) -> dict:
    """`obj.get_config()` as Keras writes the config of the equivalent Keras object."""
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize object {obj} of type {type(obj)}. To be "
                        "serializable, a class must implement the `get_config()` method.")
    config = obj.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"The `get_config()` method of {obj} should return a dict. It returned: "
                        f"{config}")
    from ..layers.layer import Layer
    from ..losses import Loss
    from ..optimizers import Optimizer

    public = _public_names().get(type(obj))
    kind = ".".join(public) if public else None
    if kind in _KERAS_LAYOUTS:
        return {key: serialize_keras_object(config.get(key, off))
                for key, off in _KERAS_LAYOUTS[kind].items()}
    layer = isinstance(obj, Layer)
    unset = (*_WRITTEN_WHEN_SET.get(kind, ()), *(("input_shape", "input_dim") if layer else ()),
             *(("dtype",) if isinstance(obj, Loss) else ()))
    float32 = (*_FLOAT32_OPTIONS.get(kind, ()),
               *(("learning_rate",) if isinstance(obj, Optimizer) else ()))
    out = {}
    for key in [k for k in _LAYER_BASE_KEYS if layer and k in config] + list(config):
        value = config[key]
        if key in out or (key in unset and value is None):
            continue
        if layer and key == "dtype" and isinstance(value, str):
            from .. import dtype_policies

            out[key] = dtype_policies.serialize(dtype_policies.get(value))
        elif key in float32 and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(np.float32(value))   # Keras keeps these in float32 variables
        else:
            out[key] = _keras_value(obj, key, value)
    for key, off in _KERAS_ONLY_OPTIONS.get(kind, {}).items():
        out.setdefault(key, off)
    return out


# Where Keras's config of a class (by Keras's name) differs from the fields nbkeras writes.
# Classes whose config Keras writes as exactly these keys, in this order (with the value
# meaning "off" for a key nbkeras lacks); nbkeras's other keys are its own bookkeeping.
_SPATIAL_DROPOUT = {"rate": None, "seed": None, "name": None, "dtype": None}
_KERAS_LAYOUTS = {
    "keras.layers.InputLayer": {"batch_shape": None, "dtype": None, "sparse": False,
                                "ragged": False, "name": None, "optional": False},
    "keras.layers.SpatialDropout1D": _SPATIAL_DROPOUT,
    "keras.layers.SpatialDropout2D": {**_SPATIAL_DROPOUT, "data_format": None},
    "keras.layers.SpatialDropout3D": {**_SPATIAL_DROPOUT, "data_format": None}}
# Keras options nbkeras lacks, written with the value that leaves them off.
_QUANTIZATION = {"quantization_config": None}
_KERAS_ONLY_OPTIONS = {
    "keras.layers.Dense": _QUANTIZATION, "keras.layers.EinsumDense": _QUANTIZATION,
    "keras.layers.Embedding": _QUANTIZATION, "keras.layers.ReversibleEmbedding": _QUANTIZATION,
    "keras.layers.BatchNormalization": {"renorm": False, "renorm_clipping": None,
                                        "renorm_momentum": 0.99},
    "keras.metrics.SparseCategoricalCrossentropy": {"ignore_class": None}}
# Options Keras writes only when they are set (nbkeras always writes them).
_WRITTEN_WHEN_SET = {"keras.layers.Dense": ("activity_regularizer",),
                     "keras.layers.SimpleRNN": ("seed",)}
# Float options Keras keeps (and so writes) as float32 values.
_FLOAT32_OPTIONS = {"keras.regularizers.L1": ("l1",),
                    "keras.regularizers.OrthogonalRegularizer": ("factor",)}
_LAYER_BASE_KEYS = ("name", "trainable", "dtype")


def _keras_value(obj, key: str, value):
    """One config value in Keras's form: a named or nbkeras-serialized initializer,
    regularizer or constraint as Keras's dict; a nested object nbkeras wrote as
    `{"class_name", "config"}` by the object itself; an activation function by its name."""
    namespace = _object_namespace(key)
    if namespace is not None and value is not None and not _is_keras_entry(value):
        live = getattr(obj, key, None)   # the very object, so that sharing it shows
        if not (hasattr(live, "get_config") and not isinstance(live, type)):
            live = namespace.get(value)
        return serialize_keras_object(live)
    if isinstance(value, dict) and "class_name" in value and "config" in value \
            and not _is_keras_entry(value) and not value["class_name"].startswith("__"):
        live = getattr(obj, key, None)
        if live is None or type(live).__name__ != value["class_name"]:
            live = deserialize_keras_object(value, safe_mode=False)   # our own config
        return serialize_keras_object(live)
    if isinstance(value, list) and any(_is_keras_entry(v) for v in value):
        return [_keras_entry(obj, v) if _is_keras_entry(v) else serialize_keras_object(v)
                for v in value]
    if _is_keras_entry(value):
        return _keras_entry(obj, value)
    live = getattr(obj, key, getattr(obj, f"_{key}", None))
    if isinstance(value, str) and isinstance(live, types.FunctionType) \
            and not key.endswith("activation") and value == live.__name__:
        return serialize_keras_object(live)   # a function nbkeras wrote by its name
    if isinstance(value, types.FunctionType) and key.endswith("activation"):
        from .. import activations

        name = activations.serialize(value)
        if isinstance(name, str):
            return name
    return serialize_keras_object(value)


def _keras_entry(obj, entry: dict) -> dict:
    """A nested layer's entry (nbkeras's own config, or Keras's) as Keras writes it, from the
    live sublayer of `obj` it describes (a functional model's call records kept); other
    entries as they are."""
    name = (entry.get("config") or {}).get("name") if isinstance(entry.get("config"), dict) \
        else None
    live = next((layer for layer in getattr(obj, "_layers", [])
                 if layer.name == name and type(layer).__name__ == entry["class_name"]), None)
    if live is None:
        return entry
    calls = {key: value for key, value in entry.items()
             if key not in ("module", "class_name", "config", "registered_name", "build_config")}
    return {**serialize_keras_object(live), **calls}


def _object_namespace(key: str):
    """The namespace whose `get` resolves the config option `key` (kernel_initializer ->
    initializers), or None."""
    for suffix, name in (("initializer", "initializers"), ("regularizer", "regularizers"),
                         ("constraint", "constraints")):
        if key.endswith(suffix):
            return importlib.import_module(f"nbkeras.{name}")
    return None


def _is_keras_entry(value) -> bool:
    """A dict already in Keras's form (it says where its class lives)."""
    return isinstance(value, dict) and "module" in value and "class_name" in value


# ---- deserialization ------------------------------------------------------------------------
def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object a config describes (Keras's form, as `serialize_keras_object` or Keras 3
    writes it; nbkeras's `{"class_name", "config"}` form too). `custom_objects` maps names
    (class names or registered names) to your classes and functions; with `safe_mode`
    (default) bytecode and classes outside nbkeras that are not registered or given are
    refused with a ValueError."""
    scoped = in_safe_mode()
    safe_mode = scoped if scoped is not None else safe_mode
    module_objects = kwargs.pop("module_objects", None)
    custom_objects = {**(custom_objects or {}), **object_registration._scope_objects(),
                      **object_registration.GLOBAL_CUSTOM_OBJECTS}
    if config is None:
        return None
    if isinstance(config, str) and custom_objects.get(config) is not None:
        return custom_objects[config]
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(x, custom_objects, safe_mode) for x in config]
    if isinstance(config, str) and module_objects is not None:
        return module_objects.get(config, config)
    if isinstance(config, PLAIN_TYPES):
        return config
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config}")
    if "class_name" not in config or "config" not in config:
        return {key: deserialize_keras_object(value, custom_objects, safe_mode)
                for key, value in config.items()}
    class_name, module = config["class_name"], config.get("module")
    if not isinstance(class_name, str) or not isinstance(module, (str, type(None))):
        raise TypeError(f"Could not parse config: 'class_name' must be a string and 'module' "
                        f"a string or None; received {config}")
    inner = config["config"] if config["config"] is not None else {}
    special = _deserialize_special(class_name, inner, custom_objects, safe_mode)
    if special is not _NOT_SPECIAL:
        return special
    if class_name == "function":
        if not isinstance(inner, str):
            raise TypeError(f"Expected 'config' to be a non-null str for a function classname,"
                            f"\ninstead got {type(inner)}\nFull config: {config}")
        return _retrieve(inner, config.get("registered_name"), module, "function", config,
                         custom_objects, module_objects, safe_mode)
    if not isinstance(inner, dict):
        raise TypeError(f"Expected 'config' to be a dict for {class_name},\ninstead got "
                        f"{type(inner)}\nFull config: {config}")
    shared = getattr(_state, "shared", None)
    shared_id = config.get("shared_object_id") if shared is not None else None
    if shared_id is not None and shared_id in shared[1]:
        return shared[1][shared_id]   # an object the file shares, read already
    cls = _retrieve(class_name, config.get("registered_name", class_name), module, "class",
                    config, custom_objects, module_objects, safe_mode)
    if isinstance(cls, types.FunctionType):
        return cls
    if not hasattr(cls, "from_config"):
        raise TypeError(f"Unable to reconstruct an instance of '{class_name}' because the "
                        f"class is missing a `from_config()` method. Full object config: "
                        f"{config}")
    with CustomObjectScope(custom_objects), SafeModeScope(safe_mode):
        instance = _from_config(cls, _nbkeras_config(cls, inner), custom_objects)
        _build_and_compile(instance, config)
    if shared_id is not None:
        shared[1][shared_id] = instance
    return instance


_NOT_SPECIAL = object()


def _deserialize_special(class_name: str, inner, custom_objects, safe_mode):
    """The value of Keras's `__numpy__`, `__bytes__`, `__lambda__`, ... entries."""
    if class_name == "__keras_tensor__":
        from ..core.keras_tensor import KerasTensor

        tensor = KerasTensor(inner["shape"], dtype=inner["dtype"])
        tensor._pre_serialization_keras_history = inner["keras_history"]
        return tensor
    if class_name == "__tensor__":
        from ..ops import convert_to_tensor

        return convert_to_tensor(np.array(inner["value"], dtype=inner["dtype"]))
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__slice__":
        return slice(*(deserialize_keras_object(inner[key], custom_objects, safe_mode)
                       for key in ("start", "stop", "step")))
    if class_name == "__lambda__":
        return function_from_code(inner["value"], safe_mode=safe_mode)
    return _NOT_SPECIAL


def _retrieve(name: str, registered_name, module, kind: str, full_config: dict,
              custom_objects: dict, module_objects, safe_mode: bool):
    """The class or function a config names: a custom object (registered, in a scope or in
    `custom_objects`), else nbkeras's equivalent of Keras's `module.name`, else nbkeras's own."""
    keys = (name,) if kind == "function" else (registered_name, name)
    for key in keys:
        found = get_registered_object(key, custom_objects, module_objects)
        if found is not None:
            return found
    if module == "keras" or (module or "").startswith("keras."):
        if f"{module}.{name}" in _NON_MODELING:
            raise ValueError(f"Cannot deserialize `{module}.{name}` because it is not a "
                             "modeling function. Non-modeling APIs are disallowed during "
                             "deserialization for security. Model configuration should only "
                             "contains operations, layers, metrics, losses, or registered "
                             "custom objects and functions.")
        found = _nbkeras_equivalent(module, name, kind)
        if found is not None:
            return found
        raise UnknownObjectError(f"Could not locate {kind} '{name}': nbkeras has no equivalent "
                                 f"of Keras's `{module}.{name}`. Full object config: "
                                 f"{full_config}")
    if module is not None and module != "builtins" and not module.startswith("nbkeras."):
        return _foreign_symbol(name, module, kind, safe_mode, full_config)
    if module is not None and module.startswith("nbkeras."):
        found = _own_symbol(module, name, kind)
    elif kind == "function":
        found = _builtin_function(name, custom_objects)
    else:   # nbkeras's short form {"class_name", "config"} names a public class
        found = next((cls for cls, (_, public) in _public_names().items() if public == name),
                     None)
    if found is not None:
        return found
    raise UnknownObjectError(
        f"Could not locate {kind} '{name}'. Make sure custom classes and functions are "
        "decorated with `@nk.saving.register_keras_serializable()` (or passed in "
        "`custom_objects`). If they are already decorated, make sure they are all imported so "
        f"that the decorator is run before trying to load them. Full object config: {full_config}")


def _nbkeras_equivalent(module: str, name: str, kind: str):
    """nbkeras's class or function for Keras's `module.name` (None if nbkeras lacks it)."""
    if module == "keras":
        found = getattr(importlib.import_module("nbkeras"), name, None) \
            if name in _TOP_LEVEL else None
    elif module in _NAMESPACES:
        found = getattr(importlib.import_module(_NAMESPACES[module]), name, None)
    else:
        found = next((importlib.import_module("nbkeras.models.functional").Functional
                      for cls_name, (where, _) in _UNEXPORTED.items()
                      if where == module and cls_name == name), None)
    if kind == "function":
        return found if callable(found) and not isinstance(found, type) \
            and module.split(".")[-1] in _FUNCTION_NAMESPACES else None
    return found if isinstance(found, type) and found.__module__.startswith("nbkeras.") else None


def _builtin_function(name: str, custom_objects: dict):
    """A function Keras wrote as "builtins": from nbkeras's activations, losses, metrics, ...,
    else a registered function of that name in any package (as Keras)."""
    for namespace in _FUNCTION_NAMESPACES:
        found = getattr(importlib.import_module(f"nbkeras.{namespace}"), name, None)
        if isinstance(found, types.FunctionType):
            return found
    if ">" not in name:
        return next((obj for key, obj in custom_objects.items() if key.endswith(f">{name}")),
                    None)
    return None


def _own_symbol(module: str, name: str, kind: str):
    """nbkeras's own class (or function) `module.name`, for classes it does not export."""
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    if kind == "class" and isinstance(found, type) and found.__module__.startswith("nbkeras"):
        return found
    return found if kind == "function" and isinstance(found, types.FunctionType) else None


def _foreign_symbol(name: str, module: str, kind: str, safe_mode: bool, full_config: dict):
    """A class or function from a module outside nbkeras: refused in safe mode (importing
    the module runs its code), else imported."""
    if safe_mode:
        raise UnknownObjectError(
            f"Refusing to deserialize the {kind} '{name}' of module '{module}' in safe mode: it "
            "is neither nbkeras's nor a registered custom object. Register it with "
            "`@nk.saving.register_keras_serializable()`, pass it in `custom_objects`, or, if "
            "you trust the file, pass `safe_mode=False` (which imports the module).")
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ModuleNotFoundError:
        raise UnknownObjectError(f"Could not deserialize {kind} '{name}' because its parent "
                                 f"module {module} cannot be imported. Full object config: "
                                 f"{full_config}")
    if not (isinstance(found, type) if kind == "class" else callable(found)):
        raise UnknownObjectError(f"Could not locate {kind} '{name}' in module '{module}'. Full "
                                 f"object config: {full_config}")
    return found


def _from_config(cls: type, config: dict, custom_objects: dict):
    takes_custom_objects = "custom_objects" in inspect.signature(cls.from_config).parameters
    try:
        if takes_custom_objects:
            return cls.from_config(config, custom_objects=custom_objects)
        return cls.from_config(config)
    except UnknownObjectError:
        raise   # a nested class or function nobody registered: already says what to do
    except TypeError as e:
        raise TypeError(f"{cls} could not be deserialized properly. Please ensure that "
                        "components that are Python object instances (layers, models, etc.) "
                        "returned by `get_config()` are explicitly deserialized in the model's "
                        f"`from_config()` method.\n\nconfig={config}.\n\nException "
                        f"encountered: {e}") from e


def _build_and_compile(instance, config: dict) -> None:
    """Keras's `build_config` (build an unbuilt layer for its input shape) and
    `compile_config` (compile a model), where the object can take them."""
    build_config = config.get("build_config")
    if build_config and not getattr(instance, "built", True) \
            and hasattr(instance, "build_from_config"):
        instance.build_from_config(build_config)
    compile_config = config.get("compile_config")
    if compile_config and hasattr(instance, "compile_from_config"):
        instance.compile_from_config(compile_config)


# ---- Keras's configs as nbkeras's constructors take them -----------------------------------
# Keras config entries for features nbkeras lacks are accepted when they leave the feature
# off: None or False, or a setting of a feature that is off.
_SETTING_OF = {"renorm_momentum": "renorm"}


def _nbkeras_config(cls: type, config: dict) -> dict:
    """A config, as Keras 3 or nbkeras writes it, as `cls.from_config` takes it: dtype
    policies as dtype names, Keras's initializers, regularizers, constraints and schedules
    as nbkeras objects, and (for nbkeras's classes) options nbkeras lacks left out when off.
    Nested layers and the layers of a graph are left to `cls.from_config` (as in Keras)."""
    if "layers" in config and "name" in config:
        return config   # Sequential, Functional: from_config reads its layers' entries itself
    config = {key: _nbkeras_value(value) for key, value in config.items()}
    return keywords_of(cls, config) if cls.__module__.startswith("nbkeras.") else config


def _nbkeras_value(value):
    """A config value: a dtype policy as its name, a Keras function, initializer,
    regularizer, constraint, schedule, loss or metric (a dict naming its module) as the
    nbkeras object; a layer's or an optimizer's entry (their containers deserialize them, as
    in Keras) and anything else unchanged."""
    if not _is_keras_entry(value):
        return value
    if value["class_name"] == "function":
        return deserialize_keras_object(value)
    if value["class_name"] in ("DTypePolicy", "FloatDTypePolicy"):
        return (value.get("config") or {}).get("name")
    from ..layers.layer import Layer
    from ..optimizers import Optimizer

    cls = _retrieve(value["class_name"], value.get("registered_name") or value["class_name"],
                    value.get("module"), "class", value, _custom_objects(), None,
                    in_safe_mode() is not False)
    if isinstance(cls, type) and issubclass(cls, (Layer, Optimizer)):
        return value
    return deserialize_keras_object(value)


def _custom_objects() -> dict:
    return {**object_registration._scope_objects(), **object_registration.GLOBAL_CUSTOM_OBJECTS}


def keywords_of(cls: type, config: dict) -> dict:
    """`config` without the Keras options `cls` does not take and that are off; an option
    it does not take that is on raises a ValueError naming both."""
    from ..layers.layer import Layer

    accepted, open_ended = set(), True
    for klass in cls.__mro__:   # **kwargs reach the parents' __init__ (LSTM's, then RNN's)
        if klass is object or "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters.values()
        accepted |= {p.name for p in parameters
                     if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        open_ended = any(p.kind is p.VAR_KEYWORD for p in parameters)
        if not open_ended or klass is Layer:
            break
    if open_ended and not issubclass(cls, Layer):
        return config
    if issubclass(cls, Layer):
        accepted |= {f.name for f in dataclasses.fields(Layer)}   # what Layer takes
    kept = {}
    for key, value in config.items():
        if key in accepted:
            kept[key] = value
        elif not (value is None or value is False
                  or (key in _SETTING_OF and not config.get(_SETTING_OF[key]))):
            raise ValueError(f"{cls.__name__} {config.get('name', '')!r}: nbkeras has no option "
                             f"{key}={value!r} (from a Keras config)")
    return kept
