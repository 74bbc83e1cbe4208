"""Tensor: an eager array on a device, and Variable: a named, assignable, trainable Tensor."""
from __future__ import annotations

import numpy as np

from .device import canonical, current_device, kernels_for
from .dtype import standardize_dtype
from .operators import TensorOperators
from .stateless_scope import get_stateless_scope


_DTYPE_NAMES: dict = {}


def on_device(array) -> bool:
    """A Numba CUDA device array (or the simulator's stand-in) rather than a numpy array."""
    return hasattr(array, "copy_to_host")


class Tensor(TensorOperators):
    """An eager value. `data` is the array of its device: numpy on "cpu", a Numba device
    array on "cuda"; `t.numpy()` and `np.asarray(t)` give a numpy array (a copy to the host
    for "cuda")."""

    __slots__ = ("data", "_keras_mask")

    def __init__(self, data):
        self.data = data
        self._keras_mask = None     # bool (batch, time) Tensor a masking layer attached

    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> str:
        dtype = self.data.dtype          # numpy's dtype.name is slow: names are cached
        name = _DTYPE_NAMES.get(dtype)
        return name if name is not None else _DTYPE_NAMES.setdefault(dtype, dtype.name)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def device(self) -> str:
        return "cuda:0" if on_device(self.data) else "cpu"

    def numpy(self) -> np.ndarray:
        return self.data.copy_to_host() if on_device(self.data) else self.data

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __float__(self) -> float:
        return float(self.numpy())

    def __int__(self) -> int:
        return int(self.numpy())

    def __bool__(self) -> bool:
        return bool(self.numpy())

    def __repr__(self) -> str:
        device = "" if self.device == "cpu" else f" device={self.device}"
        return (f"<Tensor shape={self.shape} dtype={self.dtype}{device}\n"
                f"{np.array2string(self.numpy())}>")


class Variable(Tensor):
    """A weight: `Variable(initial_value, trainable=True, name=..., dtype=...)`, placed on the
    current device (`nk.device`).

    `assign` writes in place, so every holder of the Variable sees the new value.
    `path` is set by the owning layer ("dense/kernel"). Inside a `StatelessScope`, `data`
    is the scope's value of the Variable (when it has one) and `assign` records the new value
    in the scope instead.
    """

    __slots__ = ("_data", "name", "path", "trainable", "constraint", "regularizer")

    def __init__(self, initial_value, trainable: bool = True, name: str = "variable",
                 dtype=None, constraint=None, regularizer=None):
        value = np.asarray(initial_value.numpy() if isinstance(initial_value, Tensor)
                           else initial_value)
        dtype = standardize_dtype(dtype if dtype is not None else
                                  (value.dtype if value.dtype.kind == "f" else None))
        array = np.array(value, dtype=dtype, order="C")
        device = current_device()
        super().__init__(array if device == "cpu" else kernels_for(device).asarray(array))
        self.name = name
        self.path = name
        self.trainable = bool(trainable)
        self.constraint = constraint
        self.regularizer = regularizer

    @property
    def data(self):
        """The array of the value: the StatelessScope's, if one is active and maps it."""
        scope = get_stateless_scope()
        if scope is not None:
            value = scope.get_current_value(self)
            if value is not None:
                return value.data
        return self._data

    @data.setter
    def data(self, array) -> None:
        self._data = array

    @property
    def value(self) -> Tensor:
        return Tensor(self.data)

    def numpy(self) -> np.ndarray:
        return self.data.copy_to_host() if on_device(self.data) else self.data.copy()

    def assign(self, value) -> "Variable":
        """Write `value` (an array or Tensor of this shape, on any device) into the Variable
        (inside a StatelessScope: record it there)."""
        source = value.data if isinstance(value, Tensor) else value
        shape = tuple(np.shape(source)) if not on_device(source) else tuple(source.shape)
        if shape != self._data.shape:
            raise ValueError(f"Variable '{self.path}': assign expects shape {self._data.shape}; "
                             f"received shape {shape}")
        scope = get_stateless_scope()
        if scope is not None:
            scope.add_update((self, self._scoped_copy(source)))
            return self
        if not on_device(self.data):
            self.data[...] = source.copy_to_host() if on_device(source) else np.asarray(source)
        elif on_device(source) and source.dtype == self.data.dtype:
            self.data.copy_to_device(source)
        else:
            host = source.copy_to_host() if on_device(source) else np.asarray(source)
            self.data.copy_to_device(np.ascontiguousarray(host, dtype=self.data.dtype))
        return self

    def _scoped_copy(self, source) -> Tensor:
        """`source` as a new Tensor of this Variable's dtype on its device (an update a
        StatelessScope records)."""
        host = np.array(source.copy_to_host() if on_device(source) else source,
                        dtype=self._data.dtype)
        return Tensor(host if not on_device(self._data) else kernels_for(self.device).asarray(host))

    def move_to(self, device: str) -> None:
        """Put the value on `device` ("cpu", "cuda"); the Variable stays the same object, so
        every holder follows."""
        host = self.numpy()
        self.data = host if canonical(device) == "cpu" else kernels_for(device).asarray(host)

    def assign_add(self, delta) -> "Variable":
        k = kernels_for(self.device)
        return self.assign(k.add(self.data, k.asarray(_data(delta))))

    def assign_sub(self, delta) -> "Variable":
        k = kernels_for(self.device)
        return self.assign(k.subtract(self.data, k.asarray(_data(delta))))

    def __repr__(self) -> str:
        return (f"<Variable path={self.path} shape={self.shape} dtype={self.dtype} "
                f"trainable={self.trainable}>")


def _data(value):
    return value.data if isinstance(value, Tensor) else value
