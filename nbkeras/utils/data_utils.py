"""Small data helpers of keras.utils: packing batches, telling symbolic tensors apart,
dtype names."""
from __future__ import annotations

from ..core.dtype import standardize_dtype as _standardize
from ..core.keras_tensor import KerasTensor


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch tuple fit takes: x (a lone tuple x wrapped as (x,)), (x, y) or (x, y,
    sample_weight)."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """(x, y, sample_weight) of a batch: x, (x,), (x, y) or (x, y, sample_weight); a list
    counts as a tuple."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if not 1 <= len(data) <= 3:
        raise ValueError(f"unpack_x_y_sample_weight: data must be x, (x,), (x, y) or (x, y, "
                         f"sample_weight); received a tuple of {len(data)} elements")
    return tuple(data) + (None,) * (3 - len(data))


def is_keras_tensor(x) -> bool:
    """Whether x is a symbolic tensor of a layer graph (nk.Input and what it flows into)."""
    return isinstance(x, KerasTensor)


def standardize_dtype(dtype) -> str:
    """The dtype's Keras name ("float32", "int64", "bool"); None means floatx."""
    return _standardize(dtype)
