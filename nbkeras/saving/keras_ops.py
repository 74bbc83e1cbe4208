"""Ops called directly on symbolic tensors, in Keras 3's functional config format.

A functional graph records nbkeras's Op instances (`Add()`, `Concatenate(axis=-1)`,
`Reduce("sum", (1,), True)`) and the Composite of each op built from others (`stack(axis=1)`,
ops/composite.py); Keras writes each call as an entry of its op class
(`keras.src.ops.numpy.Concatenate` with config `{"name", "axis"}`). `keras_op_entry` names
the Keras class and config of a recorded op and lays out its arguments as Keras's `call`
takes them; `nbkeras_op_function` gives the `nk.ops` function that replays a Keras op entry.
One rule covers most ops (Keras's class name is nbkeras's op class name, without config; the
`nk.ops` function is the class name in snake case); a Composite's class is its function's
name in camel case, its config its parameters; the tables below hold the exceptions.
"""
from __future__ import annotations

import dataclasses
import re
import types

import numpy as np

from ..serialization import snake_case

NUMPY, NN, CORE = "keras.src.ops.numpy", "keras.src.ops.nn", "keras.src.ops.core"
IMAGE = "keras.src.ops.image"
MATH, LINALG = "keras.src.ops.math", "keras.src.ops.linalg"

# Keras op classes of keras.src.ops.nn that nbkeras writes from the nk.ops function of the
# same name (ops/composite.py)
_NN_FUNCTIONS = {"Celu", "Glu", "HardShrink", "HardSilu", "HardTanh", "LogSigmoid", "SoftShrink",
                 "SparsePlus", "SparseSigmoid", "Squareplus", "TanhShrink", "Threshold",
                 "Sparsemax", "Normalize", "DepthToSpace", "SpaceToDepth", "Unfold", "Fold",
                 "AdaptiveAveragePool", "AdaptiveMaxPool", "Moments", "OneHot", "MultiHot"}

# Keras op class -> its module, for classes outside keras.src.ops.numpy
_MODULES = {"Cast": CORE, "ConvertToTensor": CORE, "Slice": CORE, "Relu": NN, "Relu6": NN, "LeakyRelu": NN, "Elu": NN,
            "Selu": NN, "Gelu": NN, "Sigmoid": NN, "HardSigmoid": NN, "Silu": NN,
            "Softplus": NN, "Softsign": NN, "Softmax": NN, "LogSoftmax": NN,
            "StopGradient": CORE, "Rsqrt": MATH, "Erf": MATH, "Erfc": MATH, "Erfinv": MATH,
            "Logsumexp": MATH, "TopK": MATH, "Unstack": CORE, "Norm": LINALG, "RMSNorm": NN,
            "LayerNorm": NN, "MaxPool": NN, "AveragePool": NN, "Resize": IMAGE,
            "RGBToGrayscale": IMAGE, "Conv": NN, "DepthwiseConv": NN, "SeparableConv": NN,
            **dict.fromkeys(_NN_FUNCTIONS, NN)}

# nk.ops functions whose Keras op class is not their name in camel case
_CLASS_OF_FUNCTION = {"rms_normalization": "RMSNorm", "layer_normalization": "LayerNorm",
                      "rgb_to_grayscale": "RGBToGrayscale", "_keras_conv": "Conv",
                      "_keras_depthwise_conv": "DepthwiseConv",
                      "_keras_separable_conv": "SeparableConv", "_multi_hot": "MultiHot"}

# Keras op classes -> the nk.ops function that replays them, where not the class name in
# snake case at nk.ops' top level
_FUNCTION_OF_CLASS = {"RMSNorm": "rms_normalization", "LayerNorm": "layer_normalization",
                      "RGBToGrayscale": "image.rgb_to_grayscale", "Resize": "image.resize"}

# nbkeras op classes whose Keras class has the same name and no arguments
_SAME_NAME = {"Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Power", "Negative", "Exp",
              "Log", "Sqrt", "Square", "GetItem"}

# nbkeras op classes without arguments -> Keras's class (`ops.abs` makes an Absolute)
_RENAMED = {"Abs": "Absolute", "MatMul": "Matmul"}

# nbkeras op classes whose Keras class has the same name and whose fields are its config
_FIELDS_AS_CONFIG = {"Concatenate", "Transpose", "Cast", "ConvertToTensor", "Where", "Round",
                     "Sort", "BroadcastTo", "StopGradient"}

# nbkeras op classes with one instance per numpy function, named by its `name` field
# (`Unary("log1p", ...)`): Keras's class is that name in camel case (`Log1p`)
_NAMED = {"Unary", "Binary", "Predicate", "Logical", "Identity"}

# nbkeras's Activation kernels -> Keras op class (relu's parameters are resolved below)
_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "selu": "Selu", "silu": "Silu",
                "softplus": "Softplus", "softsign": "Softsign", "hard_sigmoid": "HardSigmoid",
                "exponential": "Exp"}

_COMPARISONS = {"less": "Less", "less_equal": "LessEqual", "greater": "Greater",
                "greater_equal": "GreaterEqual", "equal": "Equal", "not_equal": "NotEqual"}


class _KernelNames:
    """A stand-in kernel module whose attributes are their own names: `op.kernel(probe)`
    says which kernel an op picks (`"greater"`, `("relu_forward", "relu_backward")`)."""

    def __getattr__(self, name: str) -> str:
        return name


def camel_case(name: str) -> str:
    """Keras's op class for an op function's name: `expand_dims` -> `ExpandDims`."""
    return "".join(part.capitalize() for part in name.split("_"))


def keras_op_entry(op, args: tuple, model_name: str) -> tuple[str, str, dict, list, dict]:
    """(module, class_name, config without "name", positional and keyword arguments as
    Keras's `call` takes them) of `op` called on `args` (the node's flat arguments). Raises
    ValueError naming the op and the model when Keras has no op for it."""
    class_name, config = _keras_class(op, args)
    if class_name is None:
        raise ValueError(f"Model '{model_name}': get_config cannot write the op "
                         f"{_describe(op)}, which the graph applies directly to symbolic "
                         "tensors, as a Keras op (use a layer, such as layers.Lambda)")
    if type(op).__name__ == "Composite":
        call_args, call_kwargs = op.keras_arguments(args)
    else:
        call_args, call_kwargs = [list(args)] if class_name == "Concatenate" else list(args), {}
    if class_name == "GetItem":
        call_args.append(_index_key(op.key))
    return _MODULES.get(class_name, NUMPY), class_name, config, call_args, call_kwargs


def keras_op_name(op, args: tuple) -> tuple[str, str] | None:
    """(Keras's op class, the name Keras gives the op object it makes for this symbolic call:
    the class in snake case, unique in the session as layer names are: `not_equal_1`), or
    None where Keras has no op for it."""
    from ..layers.layer import unique_name

    class_name, _ = _keras_class(op, args)
    return None if class_name is None else (class_name, unique_name(snake_case(class_name)))


def _describe(op) -> str:
    """The op's repr, with the kernel it picks in place of a kernel-picking lambda."""
    if type(op).__name__ == "Activation":
        return f"Activation({op.kernels(_KernelNames())[0]}, params={op.params})"
    if type(op).__name__ == "Compare":
        return f"Compare({op.kernel(_KernelNames())})"
    return repr(op)


def _keras_class(op, args: tuple) -> tuple[str | None, dict]:
    kind = type(op).__name__
    if kind in _SAME_NAME:
        return kind, {}
    if kind in _RENAMED:
        return _RENAMED[kind], {}
    if kind in _FIELDS_AS_CONFIG:
        return kind, {field.name: _as_json(getattr(op, field.name))
                      for field in dataclasses.fields(op)}
    if kind in _NAMED:
        return camel_case(op.name), {}
    if kind == "Composite":
        name = op.function.__name__
        return _CLASS_OF_FUNCTION.get(name, camel_case(name)), {
            key: _as_json(value) for key, value in op.params.items()}
    if kind == "Extremum":
        return ("Maximum" if op.maximum else "Minimum"), {}
    if kind == "Compare":
        return _COMPARISONS.get(op.kernel(_KernelNames())), {}
    if kind == "Reshape":
        return "Reshape", {"newshape": list(op.shape)}
    if kind == "Reduce":
        return _reduction(op, len(args[0].shape))
    if kind == "Activation":
        return _activation(op)
    return None, {}


def _as_json(value):
    """A config value as Keras writes it: tuples as lists."""
    return list(value) if isinstance(value, tuple) else value


def _reduction(op, rank: int) -> tuple[str, dict]:
    """Keras's Sum/Mean/Max/Min/Prod config: the axis as the caller wrote it, else (an op
    made without one) from the normalized axes."""
    axes = list(op.axes)
    axis = (_as_json(op.axis) if op.axis is not None else None if axes == list(range(rank))
            else axes[0] if len(axes) == 1 else axes)
    config = {"axis": axis, "keepdims": op.keepdims}
    if op.kernel in ("max", "min"):
        config["initial"] = None
    if op.kernel == "prod":
        config["dtype"] = None
    return op.kernel.capitalize(), config


def _activation(op) -> tuple[str | None, dict]:
    kernel = op.kernels(_KernelNames())[0].removesuffix("_forward")
    if kernel == "relu":
        slope, max_value, threshold = op.params
        if threshold != 0.0 or max_value not in (None, 6.0) or (max_value and slope):
            return None, {}
        if max_value == 6.0:
            return "Relu6", {}
        return ("LeakyRelu", {"negative_slope": slope}) if slope else ("Relu", {})
    if kernel == "elu":
        return "Elu", {"alpha": op.params[0]}
    if kernel == "gelu":
        return "Gelu", {"approximate": op.params[0]}
    return _ACTIVATIONS.get(kernel), {}


def _index_key(key):
    """GetItem's key as Keras writes it: a tuple as a list, index arrays as lists."""
    if isinstance(key, tuple):
        return [_index_key(k) for k in key]
    if isinstance(key, np.ndarray):
        return key.tolist()
    return key


def nbkeras_op_function(class_name: str):
    """The `nk.ops` function that replays Keras's op class `class_name`, or None."""
    from .. import ops

    name = _FUNCTION_OF_CLASS.get(class_name, snake_case(class_name))
    if not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?", name):
        return None
    function = ops
    for part in name.split("."):          # "image.resize": nk.ops.image.resize
        function = getattr(function, part, None)
    return function if isinstance(function, types.FunctionType) else None


def is_op_entry(entry: dict) -> bool:
    """Whether a functional config's entry is an op (Keras's `keras.src.ops.*` modules)."""
    return str(entry.get("module") or "").startswith("keras.src.ops.")


def call_keras_op(class_name: str, config: dict, args: list, kwargs: dict):
    """Keras's op `class_name` with `config` (its entry's config) applied to `args` with
    nbkeras's ops."""
    function = nbkeras_op_function(class_name)
    if function is None:
        raise ValueError(f"nbkeras has no op for Keras's op class {class_name!r} (op "
                         f"{config.get('name')!r} in the model config)")
    options = {key: value for key, value in config.items() if key != "name"}
    if class_name == "GetItem" and isinstance(args[1], list):
        args = [args[0], tuple(args[1])]   # Keras's GetItem reads a listed key as a tuple
    if class_name == "Einsum":
        args = [options.pop("subscripts"), *args]
    try:
        return function(*args, **options, **kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Keras's op {class_name} (op {config.get('name')!r} in the model "
                         f"config) could not be replayed by nk.ops.{function.__name__}: "
                         f"{e}") from e
