"""Keras 3's input-rank adjustment: a model input one trailing axis of size 1 off its
declared rank is expanded or squeezed (Functional and Sequential models alike)."""
from __future__ import annotations

from ..core.keras_tensor import KerasTensor
from ..ops import expand_dims, squeeze


def adjust_input_rank(expected: KerasTensor, value):
    """`value` with a missing trailing axis of size 1 added, or an extra one removed, when
    its rank is one off the model input's (as Keras 3: `fit(x)` with x (N,) for an input
    (None, 1)); otherwise unchanged (the shape check that follows names any mismatch)."""
    if not hasattr(value, "shape") or isinstance(value, KerasTensor):
        return value
    rank, expected_rank = len(value.shape), len(expected.shape)
    if rank == expected_rank - 1 and expected.shape[-1] == 1:
        return expand_dims(value, -1)
    if rank == expected_rank + 1 and value.shape[-1] == 1:
        return squeeze(value, -1)
    return value
