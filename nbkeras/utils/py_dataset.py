"""PyDataset (and its Keras 2 name Sequence): a dataset of batches by index, which fit,
evaluate and predict take; `workers` > 1 loads batches ahead on threads, or on processes
with `use_multiprocessing` (then the dataset must pickle)."""
from __future__ import annotations

import concurrent.futures


class PyDataset:
    """Subclasses define `__len__` (the number of batches, or the `num_batches` property)
    and `__getitem__(index)` returning x, (x, y) or (x, y, sample_weight) of one batch;
    `on_epoch_begin` / `on_epoch_end` run around each epoch (reshuffle there)."""

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"{type(self).__name__}: workers must be a positive integer; "
                             f"received workers={workers!r}")
        if not isinstance(max_queue_size, int) or max_queue_size < 1:
            raise ValueError(f"{type(self).__name__}: max_queue_size must be a positive "
                             f"integer; received max_queue_size={max_queue_size!r}")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    @property
    def workers(self) -> int:
        return self.__dict__.get("_workers", 1)

    @property
    def use_multiprocessing(self) -> bool:
        return self.__dict__.get("_use_multiprocessing", False)

    @property
    def max_queue_size(self) -> int:
        return self.__dict__.get("_max_queue_size", 10)

    @property
    def num_batches(self) -> int | None:
        """The number of batches (`len`), or None for an endless dataset."""
        return len(self) if type(self).__len__ is not PyDataset.__len__ else None

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} must define __len__ (or num_batches)")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} must define __getitem__")

    def on_epoch_begin(self) -> None:
        """Called before each epoch."""

    def on_epoch_end(self) -> None:
        """Called after each epoch."""

    def batches(self, count: int):
        """Batches 0 .. count - 1 in order, loaded `workers` at a time ahead when
        workers > 1 (at most max_queue_size waiting)."""
        if self.workers == 1:
            for index in range(count):
                yield self[index]
            return
        pool_type = (concurrent.futures.ProcessPoolExecutor if self.use_multiprocessing
                     else concurrent.futures.ThreadPoolExecutor)
        ahead = max(self.max_queue_size, self.workers)
        with pool_type(max_workers=self.workers) as pool:
            pending = [pool.submit(self.__getitem__, i) for i in range(min(ahead, count))]
            for index in range(count):
                batch = pending[index].result()
                if index + ahead < count:
                    pending.append(pool.submit(self.__getitem__, index + ahead))
                pending[index] = None
                yield batch


Sequence = PyDataset
