"""CSVLogger: one CSV row of logs per epoch."""
from __future__ import annotations

import csv
import os

from .callback import Callback


class CSVLogger(Callback):
    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._file = self._writer = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.exists(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._keys = None
        if has_rows:
            with open(self.filename, newline="") as f:
                self._keys = next(csv.reader(f, delimiter=self.sep))[1:]
        self._file = open(self.filename, "a" if self.append else "w", newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.writer(self._file, delimiter=self.sep)
            self._writer.writerow(["epoch"] + self._keys)
        elif self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.sep)
        self._writer.writerow([epoch] + [logs.get(k, "NA") for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None
