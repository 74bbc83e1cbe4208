"""Dtype names: nbkeras speaks numpy dtype strings ('float32', 'int64', ...)."""
from __future__ import annotations

import functools

import numpy as np

from .. import config


_NAMES: dict = {}      # dtype-like -> name (numpy's dtype.name is slow; ops ask per call)


def standardize_dtype(dtype) -> str:
    """'float32' for np.float32, np.dtype('float32'), 'float32' or None (-> floatx)."""
    if dtype is None:
        return config.floatx()
    try:
        return _NAMES[dtype]
    except (KeyError, TypeError):          # TypeError: an unhashable dtype-like
        pass
    name = np.dtype(getattr(dtype, "name", dtype) if not isinstance(dtype, str) else dtype).name
    try:
        _NAMES[dtype] = name
    except TypeError:
        pass
    return name


def is_float(dtype) -> bool:
    """A floating dtype (a name, a numpy dtype or type). Called for every taped input."""
    return (dtype.kind if isinstance(dtype, np.dtype) else np.dtype(dtype).kind) == "f"


# Keras's (JAX's) type promotion lattice: each dtype's next wider dtypes. "int" and "float"
# are the weak types of Python numbers, which take the width of the tensor they meet.
# Unlike Keras, 64-bit results stay 64-bit (as under JAX with x64 enabled): nbkeras
# computes in float64 where asked to, and its gradient checks rely on it.
_WIDER = {
    "bool": ("int",), "int": ("uint8", "int8"), "float": ("float16",),
    "uint8": ("int16", "uint16"), "uint16": ("int32", "uint32"), "uint32": ("int64", "uint64"),
    "uint64": ("float",), "int8": ("int16",), "int16": ("int32",), "int32": ("int64",),
    "int64": ("float",), "float16": ("float32",), "float32": ("float64",), "float64": (),
}


def _at_least(dtype: str) -> frozenset:
    """dtype and every dtype above it on the lattice."""
    above = {dtype}
    for wider in _WIDER[dtype]:
        above |= _at_least(wider)
    return frozenset(above)


_AT_LEAST = {dtype: _at_least(dtype) for dtype in _WIDER}
_WEAK = {bool: "bool", int: "int", float: "float"}


def _lattice_name(dtype) -> str:
    if dtype in _WEAK:
        return _WEAK[dtype]
    name = standardize_dtype(dtype)
    if name not in _AT_LEAST:
        raise TypeError(f"result_type: nbkeras does not promote dtype {name!r}")
    return name


@functools.lru_cache(maxsize=1024)
def _least_upper_bound(names: tuple) -> str:
    common = frozenset.intersection(*(_AT_LEAST[name] for name in names))
    (lowest,) = [dtype for dtype in common if _AT_LEAST[dtype] >= common]
    return lowest


def result_type(*dtypes) -> str:
    """The dtype Keras's promotion gives operands of these dtypes: dtype names or numpy
    dtypes, or the Python types int, float and bool for Python numbers (weakly typed:
    float32 with float is float32, int8 with int is int8, bool with int is int32).
    Integers with floats give the float dtype (int64 with float32 is float32); no
    operands give floatx."""
    if not dtypes:
        return config.floatx()
    lowest = _least_upper_bound(tuple(sorted({_lattice_name(dtype) for dtype in dtypes})))
    if lowest == "float":               # weak: the default dtype of the kind
        return config.floatx()
    return f"int{config.floatx()[-2:]}" if lowest == "int" else lowest
