"""Scatters and segment reductions, as keras.ops: `scatter`, `scatter_update` (set, add, max,
min, mul) and `segment_sum/max/min/prod`.

All run one kernel, `scatter_reduce`, which combines rows of values into rows of a target in
order. The rows are index arithmetic on the host (from the indices, the segment ids and the
shapes), as for numpy's fancy indexing; the values and the target stay on their device.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.spec import Spec
from ..core.tensor import Tensor
from .op import Op, convert_to_tensor
from .shape import GetItem

__all__ = ["scatter", "scatter_update", "segment_sum", "segment_max", "segment_min",
           "segment_prod"]


@dataclass(frozen=True, eq=False)
class ScatterReduce(Op):
    """target (shape S), values (n, *inner) -> target, viewed as (rows, *inner), with values[i]
    combined into row rows[i] by `reduction` ("set": the last value stays; "add", "max",
    "min", "mul")."""

    reduction: str
    rows: np.ndarray = field(repr=False)      # host int64, one target row per value row

    def output_spec(self, target: Spec, values: Spec) -> Spec:
        return Spec(target.shape, target.dtype)

    def forward(self, k, target, values):
        y = k.scatter_reduce(self.reduction, target, self.rows, values)
        return y, (target, values, y)

    def vjp(self, k, dy, residuals, needs):
        target, values, y = residuals
        inner = max(values.size // max(self.rows.size, 1), 1)

        def gather(a):       # a's row of each value row, in values' shape
            return k.reshape(k.getitem(k.reshape(a, (-1, inner)), self.rows), values.shape)

        def host(a, dtype):
            return k.asarray(np.asarray(a, dtype))

        if self.reduction == "add":
            d_target, d_values = dy, gather(dy)
        elif self.reduction == "set":           # overwritten rows pass nothing back
            d_target = k.scatter_reduce("set", dy, self.rows,
                                        host(np.zeros((self.rows.size, inner)), dy.dtype))
            last = _last_writes(self.rows).reshape((-1,) + (1,) * (len(values.shape) - 1))
            d_values = k.multiply(gather(dy), host(last, dy.dtype))
        elif self.reduction == "mul":           # off zeros: the others' product
            ones = host(np.ones(target.shape), dy.dtype)
            d_target = k.multiply(dy, k.scatter_reduce("mul", ones, self.rows, values))
            d_values = k.divide(gather(k.multiply(dy, y)), values)
        else:                                   # max / min: shared among the ties
            won_target = k.cast(k.equal(target, y), dy.dtype)
            won_values = k.cast(k.equal(values, gather(y)), dy.dtype)
            winners = k.scatter_reduce("add", won_target, self.rows, won_values)
            share = k.divide(dy, k.where(k.greater(winners, 0), winners, 1))
            d_target, d_values = k.multiply(share, won_target), k.multiply(gather(share),
                                                                          won_values)
        return (d_target if needs[0] else None,
                k.cast(d_values, values.dtype) if needs[1] else None)


def _last_writes(rows: np.ndarray) -> np.ndarray:
    """Whether each update is the last one written to its row."""
    last = np.zeros(rows.size, bool)
    _, first_from_end = np.unique(rows[::-1], return_index=True)
    last[rows.size - 1 - first_from_end] = True
    return last


def _host_ints(values, who: str, name: str) -> np.ndarray:
    array = np.asarray(values.numpy() if isinstance(values, Tensor) else values)
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(f"{who}: {name} must be integers; received dtype {array.dtype}")
    return array.astype(np.int64)


def _rows(shape: tuple, indices, values_shape: tuple, who: str) -> np.ndarray:
    """The rows of a tensor of `shape`, viewed as (rows, *shape[k:]), that values of
    `values_shape` update at `indices` (N, k): row i of the values goes to indices[i]."""
    index = _host_ints(indices, who, "indices")
    index = index.reshape(-1, index.shape[-1] if index.ndim else 1)
    depth = index.shape[1]
    expected = (index.shape[0], *shape[depth:])
    if depth > len(shape) or tuple(values_shape) != expected:
        raise ValueError(f"{who}: indices of shape {index.shape} into shape {tuple(shape)} take "
                         f"updates of shape {expected}; received {tuple(values_shape)}")
    dims = np.asarray(shape[:depth], np.int64)
    if index.size and ((index >= dims).any() or (index < -dims).any()):
        raise IndexError(f"{who}: indices out of range for shape {tuple(shape)}")
    if not depth:
        return np.zeros(index.shape[0], np.int64)
    return np.ravel_multi_index(tuple((index % np.maximum(dims, 1)).T), shape[:depth])


def _tensor(x) -> Tensor:
    return x if hasattr(x, "shape") and not isinstance(x, np.ndarray) else convert_to_tensor(x)


def scatter(indices, values, shape):
    """Zeros of `shape` with `values` added at `indices` (N, k): repeated indices sum."""
    values = _tensor(values)
    shape = tuple(int(n) for n in shape)
    zeros = convert_to_tensor(np.zeros(shape, values.dtype), device=values.device)
    return ScatterReduce("add", _rows(shape, indices, values.shape, "scatter"))(zeros, values)


def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with `updates` written at `indices` (N, k): replacing (reduction None: the
    last of repeated indices wins) or combined by "add", "max", "min" or "mul"."""
    if reduction not in (None, "add", "max", "min", "mul"):
        raise ValueError(f"scatter_update: reduction must be None, 'add', 'max', 'min' or "
                         f"'mul'; received {reduction!r}")
    inputs, updates = _tensor(inputs), _tensor(updates)
    rows = _rows(inputs.shape, indices, updates.shape, "scatter_update")
    return ScatterReduce(reduction or "set", rows)(inputs, updates)


_IDENTITY = {"add": 0, "mul": 1, "max": -np.inf, "min": np.inf}


def _segment(reduction: str, who: str, data, segment_ids, num_segments):
    """data (N, *rest) reduced by segment: (num_segments, *rest); ids outside
    [0, num_segments) drop their row; empty segments hold the reduction's identity."""
    data = _tensor(data)
    ids = _host_ints(segment_ids, who, "segment_ids").reshape(-1)
    if not data.shape or ids.size != data.shape[0]:
        raise ValueError(f"{who}: segment_ids must hold one id per row of data; received "
                         f"{ids.size} ids for data of shape {data.shape}")
    count = int(num_segments) if num_segments is not None else int(ids.max(initial=-1)) + 1
    kept = (ids >= 0) & (ids < count)
    rows = data if kept.all() else GetItem(np.flatnonzero(kept))(data)
    rest = tuple(data.shape[1:])
    dtype = np.dtype(data.dtype)
    identity = _IDENTITY[reduction]
    if dtype.kind in "iu" and np.isinf(identity):
        identity = np.iinfo(dtype).min if identity < 0 else np.iinfo(dtype).max
    target = convert_to_tensor(np.full((count, *rest), identity, dtype),
                               device=getattr(data, "device", None))
    return ScatterReduce(reduction, ids[kept])(target, rows)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sum of the rows of data with each segment id (`sorted` is a hint and may be ignored)."""
    return _segment("add", "segment_sum", data, segment_ids, num_segments)


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """Maximum of the rows of each segment (-inf, or the integer minimum, where empty)."""
    return _segment("max", "segment_max", data, segment_ids, num_segments)


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """Minimum of the rows of each segment (inf, or the integer maximum, where empty)."""
    return _segment("min", "segment_min", data, segment_ids, num_segments)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """Product of the rows of each segment (1 where empty)."""
    return _segment("mul", "segment_prod", data, segment_ids, num_segments)
