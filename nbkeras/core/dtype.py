"""Dtype names: nbkeras speaks numpy dtype strings ('float32', 'int64', ...)."""
from __future__ import annotations

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
