"""Turning fit/evaluate/predict inputs into batches.

Arrays (or lists/dicts of arrays) are sliced into batches, shuffled per epoch from a seed, so
a resumed fit sees the same order as an uninterrupted one. Python generators, iterators and
Keras-style sequences (with `__len__` and `__getitem__`, like `datagen.flow(...)`) yield
ready-made batches `(x, y)` or `(x, y, sample_weight)`.
"""
from __future__ import annotations

import math

import numpy as np

from ..tree import leaves as flatten, map_leaves as map_structure
from ..core.tensor import Tensor
from ..utils.py_dataset import PyDataset


def _as_array(x):
    if x is None:
        return None
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def is_array_data(x) -> bool:
    """Arrays, Tensors, or lists/tuples/dicts of them (as opposed to a batch generator)."""
    leaves = flatten(x)
    return bool(leaves) and all(isinstance(v, (np.ndarray, Tensor, list, float, int))
                                for v in leaves) and not _is_sequence(x)


def _is_sequence(x) -> bool:
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and not isinstance(
        x, (np.ndarray, list, tuple, dict, Tensor))


def unpack(batch) -> tuple:
    """(x, y, sample_weight) from a batch that is x, (x,), (x, y) or (x, y, sample_weight)."""
    if isinstance(batch, tuple):
        if len(batch) > 3:
            raise ValueError(f"A data batch must be x, (x, y) or (x, y, sample_weight); "
                             f"received a tuple of {len(batch)} elements")
        return tuple(batch) + (None,) * (3 - len(batch))
    return batch, None, None


class ArrayData:
    """Batches of arrays: x and y (any structure), per-sample weights."""

    def __init__(self, x, y=None, sample_weight=None, batch_size: int = 32,
                 shuffle: bool = False):
        self.x = map_structure(_as_array, x)
        self.y = map_structure(_as_array, y)
        self.sample_weight = _as_array(sample_weight)
        sizes = {len(a) for a in flatten((self.x, self.y, self.sample_weight)) if a is not None}
        if len(sizes) != 1:
            raise ValueError(f"fit/evaluate: x, y and sample_weight must have the same number of "
                             f"samples; received sizes {sorted(sizes)}")
        self.size = sizes.pop()
        self.batch_size = int(batch_size)
        self.shuffle = shuffle

    @property
    def steps(self) -> int:
        return math.ceil(self.size / self.batch_size)

    def split(self, fraction: float) -> tuple["ArrayData", "ArrayData"]:
        """(training part, validation part): the validation part is the last `fraction` of
        the samples, taken before any shuffling (as Keras)."""
        if not 0 < fraction < 1:
            raise ValueError(f"fit: validation_split must be in (0, 1); received {fraction}")
        cut = int(self.size * (1 - fraction))
        if cut == 0 or cut == self.size:
            raise ValueError(f"fit: validation_split={fraction} leaves no training or no "
                             f"validation samples out of {self.size}")
        head, tail = (ArrayData(*map_structure(lambda a, s=part: None if a is None else a[s],
                                               (self.x, self.y, self.sample_weight)),
                                batch_size=self.batch_size, shuffle=self.shuffle)
                      for part in (slice(0, cut), slice(cut, None)))
        tail.shuffle = False
        return head, tail

    def batches(self, epoch_seed=None):
        """(x, y, sample_weight) of each batch, in a shuffled order (copies) or in order (views
        of the arrays: no copy per batch, which only the model reads)."""
        order = np.random.default_rng(epoch_seed).permutation(self.size) if self.shuffle \
            else None
        for start in range(0, self.size, self.batch_size):
            index = (slice(start, start + self.batch_size) if order is None
                     else order[start:start + self.batch_size])
            take = (lambda a: None if a is None else a[index])
            yield map_structure(take, self.x), map_structure(take, self.y), take(self.sample_weight)


class GeneratorData:
    """Batches from a generator, an iterable, or a sequence with `__len__`/`__getitem__`."""

    def __init__(self, source, steps: int | None = None):
        self.source = source
        self.sequence = _is_sequence(source)
        self._iterator = None if self.sequence else iter(source)
        self._steps = steps

    @property
    def steps(self) -> int | None:
        if self._steps is not None:
            return self._steps
        return len(self.source) if self.sequence else None

    def batches(self, epoch_seed=None):
        """One epoch of batches: `steps` of them, or until the source runs out (a
        re-iterable source then starts over next epoch; a generator continues)."""
        if self.sequence:
            yield from self._sequence_batches()
            return
        count = 0
        while self._steps is None or count < self._steps:
            batch = next(self._iterator, _END)
            if batch is _END:
                self._iterator = iter(self.source)
                return
            yield self._unpacked(batch)
            count += 1

    def _sequence_batches(self):
        """One epoch of a sequence: its on_epoch_begin, the batches (a PyDataset loads them
        with its workers), its on_epoch_end (Keras's hooks, where datasets reshuffle)."""
        if hasattr(self.source, "on_epoch_begin"):
            self.source.on_epoch_begin()
        length = len(self.source)
        if isinstance(self.source, PyDataset) and self.steps <= length:
            batches = self.source.batches(self.steps)
        else:
            batches = (self.source[i % length] for i in range(self.steps))
        for batch in batches:
            yield self._unpacked(batch)
        if hasattr(self.source, "on_epoch_end"):
            self.source.on_epoch_end()

    @staticmethod
    def _unpacked(batch):
        x, y, sample_weight = unpack(batch)
        return map_structure(_as_array, x), map_structure(_as_array, y), _as_array(sample_weight)


_END = object()


def step_count(steps, who: str, argument: str) -> int | None:
    """A number of steps as given to fit/evaluate/predict: None, a positive whole number, or a
    positive real number rounded up (tf.keras 2's tutorials pass `len(x) / batch_size`)."""
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, (int, float, np.integer, np.floating)) \
            or not steps > 0 or not np.isfinite(steps):
        raise ValueError(f"{who}: {argument} must be a positive number of batches or None, "
                         f"got {steps!r}")
    return int(np.ceil(steps))


def make_data(x, y=None, sample_weight=None, batch_size=None, shuffle=False, steps=None,
              who="fit"):
    """ArrayData for arrays (the caller stops after `steps` batches if given), GeneratorData
    for generators and sequences."""
    if is_array_data(x):
        return ArrayData(x, y, sample_weight, batch_size or 32, shuffle)
    if y is not None or sample_weight is not None:
        raise ValueError(f"{who}: when x is a generator or sequence it yields the targets "
                         f"itself; y and sample_weight must be None")
    return GeneratorData(x, steps)
