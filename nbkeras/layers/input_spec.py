"""InputSpec: the rank, dtype and shape a layer accepts, checked on every call (as Keras).

A layer's `input_spec` is one InputSpec or a nested structure of them, one per input tensor
of the first call argument; `assert_input_compatibility` checks a call's inputs against it.
"""
from __future__ import annotations

from ..core.dtype import standardize_dtype
from ..tree import flatten


def _standardize_shape(shape) -> tuple:
    """A tuple of non-negative ints and None (unknown size), as Keras's `standardize_shape`."""
    if shape is None or not hasattr(shape, "__iter__"):
        raise ValueError(f"Cannot convert '{shape}' to a shape.")
    dims = []
    for d in shape:
        if d is not None:
            if isinstance(d, (str, float)):
                raise ValueError(f"Cannot convert '{shape}' to a shape. Found invalid "
                                 f"dimension '{d}' of type '{type(d)}'.")
            d = int(d)
            if d < 0:
                raise ValueError(f"Cannot convert '{shape}' to a shape. Negative dimensions "
                                 "are not allowed.")
        dims.append(d)
    return tuple(dims)


class InputSpec:
    """Expectations on one input tensor; every argument left None is not checked.

    `shape` (with None for any size, batch included) also sets `ndim`; `axes` maps axis ->
    size; `allow_last_axis_squeeze` also accepts rank N+1 with a last axis of 1 and rank N-1
    when the spec's last axis is 1; `name` is the input's key when inputs come as a dict;
    an `optional` input may be None.
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = standardize_dtype(dtype) if dtype is not None else None
        if shape is not None:
            self.shape = _standardize_shape(shape)
            self.ndim = len(self.shape)
        else:
            self.ndim = ndim
            self.shape = None
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.name = name
        self.optional = optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        axes = axes or {}
        try:
            self.axes = {int(k): axes[k] for k in axes}
        except (ValueError, TypeError):
            raise TypeError(f"Argument `axes` must be a dict with integer keys. Received: "
                            f"axes={axes}") from None
        rank = self.ndim if self.ndim is not None else self.max_ndim
        if self.axes and rank is not None and max(self.axes) > rank - 1:
            raise ValueError(f"Axis {max(self.axes)} is greater than the maximum allowed "
                             f"value: {rank - 1}")

    def __repr__(self) -> str:
        fields = ("dtype", "shape", "ndim", "max_ndim", "min_ndim", "axes")
        shown = [f"{key}={getattr(self, key)}" for key in fields if getattr(self, key)]
        return f"InputSpec({', '.join(shown)})"

    def get_config(self) -> dict:
        """Keras's keys, plus `allow_last_axis_squeeze` and `name` so a round trip keeps them
        (Keras's `from_config` takes them too)."""
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes,
                "allow_last_axis_squeeze": self.allow_last_axis_squeeze, "name": self.name,
                "optional": self.optional}

    @classmethod
    def from_config(cls, config: dict) -> InputSpec:
        return cls(**config)


def _named_inputs(specs: list, inputs: dict) -> list:
    """A dict's values in the order of the specs' names."""
    names = [spec.name for spec in specs]
    missing = [name for name in names if name not in inputs]
    if missing:
        raise ValueError(f'Missing data for input "{missing[0]}". You passed a data dictionary '
                         f"with keys {list(inputs)}. Expected the following keys: {names}")
    return [inputs[name] for name in names]


def _check_count(specs: list, inputs: list, layer_name: str) -> None:
    if len(inputs) == len(specs):
        return
    names = [spec.name for spec in specs if spec is not None]
    if len(names) == len(specs) and all(names):
        keys = ", ".join(f"'{n}': ..." for n in names)
        raise ValueError(f"Layer {layer_name} expects {len(specs)} named input(s) with keys "
                         f"{names}, but it received {len(inputs)} input tensors. Pass inputs "
                         f"as a dict, e.g. `layer({{{keys}}})`.")
    shapes = [getattr(x, "shape", x) for x in inputs]
    raise ValueError(f"Layer {layer_name} expects {len(specs)} input(s), but it received "
                     f"{len(inputs)} input tensors. Shapes of the inputs received: {shapes}")


def _check_one(spec: InputSpec, x, index: int, layer_name: str) -> None:
    """Rank, dtype, axes and shape of input `index` against `spec`."""
    if not hasattr(x, "shape"):
        raise ValueError(f"Inputs to a layer should be tensors. Got '{x}' (of type {type(x)}) "
                         f"as input for layer {layer_name}.")
    shape = _standardize_shape(x.shape)
    ndim = len(shape)
    which = f"Input {index}" + (f" ('{spec.name}')" if spec.name else "")
    where = f"{which} of layer {layer_name} is incompatible with the layer"
    if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
        raise ValueError(f"{where}: expected ndim={spec.ndim} (inputs of rank {spec.ndim}), "
                         f"found ndim={ndim}. Full shape received: {shape}")
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        raise ValueError(f"{where}: expected max_ndim={spec.max_ndim} (inputs of rank <= "
                         f"{spec.max_ndim}), found ndim={ndim}. Full shape received: {shape}")
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        raise ValueError(f"{where}: expected min_ndim={spec.min_ndim} (inputs of rank >= "
                         f"{spec.min_ndim}), found ndim={ndim}. Full shape received: {shape}")
    if spec.dtype is not None:
        dtype = standardize_dtype(x.dtype)
        if dtype != spec.dtype:
            raise ValueError(f"{where}: expected dtype={spec.dtype}, found dtype={dtype}")
    for axis, size in spec.axes.items():
        if size is None:
            continue
        if not -ndim <= axis < ndim:
            raise ValueError(f"{where}: it expects axis {axis} of input shape to have size "
                             f"{size}, but received input with shape {shape}, which has no "
                             f"axis {axis}")
        if shape[axis] not in (size, None):
            raise ValueError(f"{where}: it expects axis {axis} of input shape to have size "
                             f"{size}, but received input with shape {shape}")
    if spec.shape is not None:
        spec_shape = spec.shape
        if spec.allow_last_axis_squeeze:
            shape = shape[:-1] if shape and shape[-1] == 1 else shape
            spec_shape = spec_shape[:-1] if spec_shape and spec_shape[-1] == 1 else spec_shape
        if any(want is not None and got is not None and want != got
               for want, got in zip(spec_shape, shape)):
            raise ValueError(f"{where}: expected shape={spec.shape}, found shape={shape}")


def assert_input_compatibility(input_spec, inputs, layer_name: str) -> None:
    """Raise ValueError unless `inputs` (a tensor or a nested structure of them) meets
    `input_spec` (an InputSpec, a nested structure of them, or None): one input per spec,
    dict inputs matched to named specs, None allowed for optional inputs and None specs."""
    if not input_spec:
        return
    specs = flatten(input_spec)
    if isinstance(inputs, dict) and all(spec is not None and spec.name for spec in specs):
        inputs = _named_inputs(specs, inputs)
    inputs = flatten(inputs)
    _check_count(specs, inputs, layer_name)
    for index, (x, spec) in enumerate(zip(inputs, specs)):
        if spec is not None and not (x is None and spec.optional):
            _check_one(spec, x, index, layer_name)
