"""Tensor: an eager array on a device, and Variable: a named, assignable, trainable Tensor."""
from __future__ import annotations

import numpy as np

from .dtype import standardize_dtype
from .operators import TensorOperators


class Tensor(TensorOperators):
    """An eager value. `data` is the array (numpy on the CPU); `np.asarray(t)` gives it."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> str:
        return self.data.dtype.name

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def device(self) -> str:
        return "cpu"

    def numpy(self) -> np.ndarray:
        return self.data

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __float__(self) -> float:
        return float(self.data)

    def __int__(self) -> int:
        return int(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __repr__(self) -> str:
        return f"<Tensor shape={self.shape} dtype={self.dtype}\n{np.array2string(self.data)}>"


class Variable(Tensor):
    """A weight: `Variable(initial_value, trainable=True, name=..., dtype=...)`.

    `assign` writes in place, so every holder of the Variable sees the new value.
    `path` is set by the owning layer ("dense/kernel").
    """

    __slots__ = ("name", "path", "trainable", "constraint", "regularizer")

    def __init__(self, initial_value, trainable: bool = True, name: str = "variable",
                 dtype=None, constraint=None, regularizer=None):
        value = np.asarray(initial_value.numpy() if isinstance(initial_value, Tensor)
                           else initial_value)
        dtype = standardize_dtype(dtype if dtype is not None else
                                  (value.dtype if value.dtype.kind == "f" else None))
        super().__init__(np.array(value, dtype=dtype, order="C"))
        self.name = name
        self.path = name
        self.trainable = bool(trainable)
        self.constraint = constraint
        self.regularizer = regularizer

    @property
    def value(self) -> Tensor:
        return Tensor(self.data)

    def numpy(self) -> np.ndarray:
        return self.data.copy()

    def assign(self, value) -> "Variable":
        value = np.asarray(value)
        if value.shape != self.data.shape:
            raise ValueError(f"Variable '{self.path}': assign expects shape {self.data.shape}; "
                             f"received shape {value.shape}")
        self.data[...] = value
        return self

    def assign_add(self, delta) -> "Variable":
        return self.assign(self.data + np.asarray(delta))

    def assign_sub(self, delta) -> "Variable":
        return self.assign(self.data - np.asarray(delta))

    def __repr__(self) -> str:
        return (f"<Variable path={self.path} shape={self.shape} dtype={self.dtype} "
                f"trainable={self.trainable}>")
