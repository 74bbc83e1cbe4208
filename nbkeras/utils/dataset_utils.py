"""Datasets from arrays, as keras.utils: sliding windows of a time series
(`timeseries_dataset_from_array`) and a two-way split (`split_dataset`). Keras returns
tf.data datasets; nbkeras returns `ArrayBatches` (batches `fit` and `predict` take, with
`len` and indexing) and numpy arrays."""
from __future__ import annotations

import math

import numpy as np

from ..tree import leaves as flatten, map_leaves as map_structure
from .py_dataset import PyDataset


class ArrayBatches(PyDataset):
    """Batches of sample indices `order` into arrays: batch i is (x[rows], y[rows]) (x alone
    without targets), `rows` the i-th `batch_size` of `order`, through `take(array, rows)`."""

    def __init__(self, take, x, y, order, batch_size: int):
        super().__init__()
        self._take, self._x, self._y = take, x, y
        self._order, self._batch_size = np.asarray(order), int(batch_size)

    def __len__(self) -> int:
        return math.ceil(len(self._order) / self._batch_size)

    def __getitem__(self, index: int):
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        rows = self._order[(index % len(self)) * self._batch_size:][:self._batch_size]
        x = self._take(self._x, rows)
        return x if self._y is None else (x, self._y[rows])


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"timeseries_dataset_from_array: {name} must be a positive integer; "
                         f"received {name}={value!r}")
    return int(value)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None) -> ArrayBatches:
    """Batches of windows of `data` (steps, ...): window i takes `sequence_length` steps,
    `sampling_rate` apart, from start_index + i * sequence_stride; its target is
    targets[start_index + i * sequence_stride] (targets None: windows alone). Windows lie
    within [start_index, end_index); `shuffle` shuffles them (seeded by `seed`)."""
    sequence_length = _positive("sequence_length", sequence_length)
    sequence_stride = _positive("sequence_stride", sequence_stride)
    sampling_rate = _positive("sampling_rate", sampling_rate)
    batch_size = _positive("batch_size", batch_size)
    data = np.asarray(data)
    start = 0 if start_index is None else int(start_index)
    end = len(data) if end_index is None else int(end_index)
    if not 0 <= start < len(data) or not start < end <= len(data):
        raise ValueError(f"timeseries_dataset_from_array: need 0 <= start_index < end_index <= "
                         f"len(data) = {len(data)}; received start_index={start_index}, "
                         f"end_index={end_index}")
    if targets is not None:
        targets = np.asarray(targets)
        if len(targets) != len(data):
            raise ValueError(f"timeseries_dataset_from_array: data and targets must have the "
                             f"same length; received {len(data)} and {len(targets)}")
    span = (sequence_length - 1) * sampling_rate
    starts = start + np.arange(0, max(end - start - span, 0), sequence_stride)
    if shuffle:
        np.random.default_rng(seed).shuffle(starts)
    offsets = np.arange(sequence_length) * sampling_rate
    return ArrayBatches(lambda x, rows: x[rows[:, None] + offsets], data, targets, starts,
                        batch_size)


def _split_size(name: str, size, total: int) -> int | None:
    if size is None:
        return None
    if isinstance(size, float) and 0.0 < size < 1.0:
        return round(total * size)
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool) and 0 < size <= total:
        return int(size)
    raise ValueError(f"split_dataset: {name} must be a float in (0, 1) or an integer in "
                     f"(0, {total}]; received {name}={size!r}")


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """(left, right): the samples of `dataset` (an array, or a tuple/list/dict of arrays of
    one length) split in two, left_size and right_size fractions or counts (either may be
    None: the rest), the order kept unless `shuffle` (seeded by `seed`)."""
    arrays = map_structure(np.asarray, dataset)
    sizes = {len(a) for a in flatten(arrays)}
    if len(sizes) != 1:
        raise ValueError(f"split_dataset: the arrays must have one length; received lengths "
                         f"{sorted(sizes)}")
    total = sizes.pop()
    left, right = _split_size("left_size", left_size, total), _split_size(
        "right_size", right_size, total)
    if left is None and right is None:
        raise ValueError("split_dataset: give left_size or right_size")
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total or not left or not right:
        raise ValueError(f"split_dataset: left_size={left_size} and right_size={right_size} "
                         f"do not split {total} samples into two non-empty parts")
    order = np.random.default_rng(seed).permutation(total) if shuffle else np.arange(total)
    return tuple(map_structure(lambda a, rows=rows: a[rows], arrays)
                 for rows in (order[:left], order[left:left + right]))
