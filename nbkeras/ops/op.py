"""Op: a shape/dtype rule, a forward and a VJP, registered together as one class.

`Op.__call__` is the single dispatch point: on KerasTensors it only infers the output
spec and records a graph node; on values it runs `forward` with the device's kernel module
and lets every active GradientTape record the call.
"""
from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from .. import config
from ..core.device import canonical, current_device, kernels_for
from ..core.dtype import is_float, result_type, standardize_dtype
from ..core.keras_tensor import KerasTensor
from ..core.node import Node
from ..core.spec import Spec
from ..core.symbolic_scope import in_symbolic_scope
from ..core.tape import active_tapes
from ..core.tensor import Tensor, on_device

Array = np.ndarray


_SYMBOLIC_CALLS = itertools.count()   # numbers op calls on KerasTensors as they are made
Residuals = tuple     # what a forward keeps for its VJP: arrays, shapes, small values
Needs = tuple         # needs[i]: whether input i needs a cotangent


@dataclass(frozen=True)
class Op(ABC):
    """Subclasses set their parameters as dataclass fields and define the three methods.
    The contract is pure: no state on the op, nothing shared between forward and VJP but
    the residuals the forward returns."""

    @abstractmethod
    def output_spec(self, *inputs: Spec) -> Spec:
        """Shape and dtype of the output for inputs of these specs (None = unknown size);
        a tuple of Specs for an op with several outputs."""

    @abstractmethod
    def forward(self, k, *inputs: Array) -> tuple:
        """(output, residuals), computed with kernel module `k`: the output (a tuple of
        arrays for several outputs) and what the VJP needs."""

    @abstractmethod
    def vjp(self, k, dy, residuals: Residuals, needs: Needs) -> tuple:
        """Cotangents of the inputs given dy = dL/dy (a tuple for several outputs, None
        where no cotangent reached an output), the forward's residuals, and which inputs
        need one: None where not needed or not differentiable."""

    float_inputs = False   # True: integer inputs are cast to floatx first (exp, mean, ...)
    # (i, j): a Python number among inputs i and j takes the other's dtype (weak_operand) on
    # every call; a graph node records the number as given, as Keras writes it
    weak_pair = None
    n_outputs = 1
    differentiable_outputs = None   # indices of the outputs gradients flow from; None: all
    takes_deferred_gradients = False   # True: vjp's dy may be a tape.DeferredGradient

    def __call__(self, *inputs):
        given = inputs
        if self.weak_pair is not None:
            i, j = self.weak_pair
            inputs = list(inputs)
            inputs[i], inputs[j] = weak_operand(given[i], given[j]), weak_operand(given[j],
                                                                                   given[i])
        device = None       # one pass: symbolic inputs, and the Tensor inputs' device
        for x in inputs:
            if isinstance(x, Tensor):
                if device is None:
                    device = x.device
                elif x.device != device:
                    self._raise_mixed_devices(device, x.device)
            elif isinstance(x, KerasTensor):
                return self._symbolic_call(inputs, given)
        device = current_device() if device is None else device
        k = kernels_for(device)
        tensors = tuple(self._as_input(x, device) for x in inputs)
        try:
            y, residuals = self.forward(k, *[t.data for t in tensors])
        except (ValueError, TypeError, IndexError):
            self.output_spec(*[spec_of(t) for t in tensors])   # raises the error naming shapes
            raise
        outputs = ([Tensor(k.asarray(a)) for a in y] if self.n_outputs > 1
                   else [Tensor(k.asarray(y))])   # numpy turns 0-d results into scalars
        tapes = active_tapes()
        if tapes:
            tracked = (outputs if self.differentiable_outputs is None
                       else [outputs[i] for i in self.differentiable_outputs])
            for tape in tapes:
                tape.record(self, k, tensors, outputs, tracked, residuals)
        return tuple(outputs) if self.n_outputs > 1 else outputs[0]

    def _symbolic_call(self, inputs, given=None):
        """Infer the output spec and record a graph node (some input is a KerasTensor) of
        the inputs as `given` to the call (default: `inputs`)."""
        spec = self.output_spec(*[spec_of(x) for x in inputs])
        specs = list(spec) if self.n_outputs > 1 else [spec]
        outputs = symbolic_node(self, inputs if given is None else given, specs).outputs
        return tuple(outputs) if self.n_outputs > 1 else outputs[0]

    def _raise_mixed_devices(self, first: str, second: str):
        raise ValueError(f"{type(self).__name__}: inputs live on different devices "
                         f"({' and '.join(sorted({first, second}))}); create them under one "
                         "`nk.device(...)`, or convert with nk.ops.convert_to_tensor")

    def _as_input(self, x, device: str) -> Tensor:
        tensor = x if isinstance(x, Tensor) else convert_to_tensor(x, device=device)
        if self.float_inputs and not is_float(tensor.dtype):
            return convert_to_tensor(tensor, config.floatx())
        return tensor


def weak_operand(x, like):
    """A Python number as an array of the dtype Keras gives it where it meets `like`:
    numbers are weakly typed, so they take `like`'s dtype where it holds them (`x * 2`
    stays float32, `int8 + 1` stays int8) and otherwise the default of their kind
    (`bool + 1` is int32, `int8 + 0.5` floatx, `1 + 2` int32). A numpy scalar is weak
    where it meets an array or tensor, and keeps its dtype elsewhere. The op moves the
    result to `like`'s device. Anything else passes unchanged."""
    kind = number_kind(x)
    meets_array = hasattr(like, "dtype") and not isinstance(like, np.generic)
    if kind is None or (isinstance(x, np.generic) and not meets_array):
        return x
    partner = like.dtype if hasattr(like, "dtype") else number_kind(like)
    return np.asarray(x, dtype=result_type(kind, *([partner] if partner is not None else [])))


def number_kind(x):
    """bool, int or float for a Python or numpy scalar number (its weak type); else None."""
    for kind, types in ((bool, (bool, np.bool_)), (int, (int, np.integer)),
                        (float, (float, np.floating))):
        if isinstance(x, types):
            return kind
    return None


def symbolic_node(operation, inputs: tuple, specs: list[Spec]) -> Node:
    """The graph node of `operation` called on `inputs` (some of them KerasTensors), whose
    outputs have `specs`; numbered, since configs name op calls in the order they are made.
    A call outside a layer's symbolic trace is named now, as Keras names the op object it
    makes for it (saving/keras_ops.py: `concatenate_1`, from the counter of layer names)."""
    from ..saving.keras_ops import keras_op_name

    node = Node(operation, inputs, {}, specs)
    node.call_number = next(_SYMBOLIC_CALLS)
    if not in_symbolic_scope():
        node.op_name = keras_op_name(operation, inputs)
    return node


def spec_of(x) -> Spec:
    if isinstance(x, KerasTensor):
        return x.spec
    tensor = convert_to_tensor(x)   # Python floats count as floatx, as when run eagerly
    return Spec(tensor.shape, tensor.dtype)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None, *,
                      device: str | None = None) -> Tensor:
    """A Tensor from an array, a Tensor, a Python number or nested list, on `device` (the
    current device if None; a Tensor stays where it is). nbkeras tensors are dense:
    `sparse=True` or `ragged=True` raise.

    Python floats (and lists of them) become `floatx` and Python ints int32 (int64 where a
    value needs it), as in Keras; numpy arrays keep their dtype unless `dtype` is given."""
    if sparse or ragged:
        raise ValueError(f"convert_to_tensor: nbkeras tensors are dense; received "
                         f"sparse={sparse!r}, ragged={ragged!r}")
    if isinstance(x, KerasTensor):   # a graph node, as Keras's ConvertToTensor op
        return ConvertToTensor(None if dtype is None else standardize_dtype(dtype),
                               sparse, ragged)(x)
    if isinstance(x, Tensor) or on_device(x):
        tensor = x if isinstance(x, Tensor) else Tensor(x)
        if dtype is None or tensor.dtype == standardize_dtype(dtype):
            return tensor
        return Tensor(kernels_for(tensor.device).cast(tensor.data, standardize_dtype(dtype)))
    array = np.asarray(x)
    if dtype is None and not isinstance(x, (np.ndarray, np.generic)):
        dtype = _default_dtype(array)
    if dtype is not None:
        array = array.astype(standardize_dtype(dtype), copy=False)
    device = canonical(device) if device is not None else current_device()
    return Tensor(array if device == "cpu" else kernels_for(device).asarray(array))


@dataclass(frozen=True)
class ConvertToTensor(Op):
    """convert_to_tensor of a symbolic tensor: x itself, or cast to `dtype`; the gradient
    passes (cast back). `sparse` and `ragged` are kept as given (None or False: dense)."""
    dtype: str | None = None
    sparse: bool | None = None
    ragged: bool | None = None

    def output_spec(self, x: Spec) -> Spec:
        return Spec(x.shape, x.dtype if self.dtype is None else self.dtype)

    def forward(self, k, x):
        return (x if self.dtype is None else k.cast(x, self.dtype)), (x.dtype,)

    def vjp(self, k, dy, residuals, needs):
        return (k.cast(dy, residuals[0]),)


def _default_dtype(array: np.ndarray) -> str | None:
    """Keras's dtype for an array made from Python numbers: floatx for floats, int32 for
    ints that fit in it; None keeps numpy's."""
    if array.dtype == np.float64:
        return config.floatx()
    int32 = np.iinfo(np.int32)
    if array.dtype == np.int64 and (not array.size or int32.min <= array.min() <= array.max()
                                    <= int32.max):
        return "int32"
    return None


def broadcast_shapes(a: tuple, b: tuple, who: str = "broadcast") -> tuple:
    """numpy broadcasting of two shapes in which None means "unknown"."""
    rank = max(len(a), len(b))
    padded_a = (1,) * (rank - len(a)) + tuple(a)
    padded_b = (1,) * (rank - len(b)) + tuple(b)
    out = []
    for i, j in zip(padded_a, padded_b):
        if i == 1 or i == j:
            out.append(j)
        elif j == 1:
            out.append(i)
        elif i is None or j is None:
            out.append(i if j is None else j)
        else:
            raise ValueError(f"{who}: shapes {a} and {b} cannot be broadcast together")
    return tuple(out)


def promoted(k, *arrays) -> list:
    """The arrays cast to their Keras promotion (`result_type`) where their dtypes differ,
    so that mixed-dtype kernels give the dtype the op's spec promised."""
    if len({x.dtype for x in arrays}) == 1:
        return list(arrays)
    dtype = result_type(*[x.dtype for x in arrays])
    return [x if x.dtype == dtype else k.cast(x, dtype) for x in arrays]


def float_dtype(dtype: str) -> str:
    """The dtype itself if float, else floatx (integer inputs to exp/log/... give floats)."""
    return dtype if is_float(dtype) else config.floatx()
