"""ModelCheckpoint: save the weights every epoch (or every N batches), or only the best."""
from __future__ import annotations

import os

from .callback import Callback
from .monitor import Monitor


class ModelCheckpoint(Callback):
    """`filepath` may hold `{epoch}` and log keys (`"ckpt-{epoch:02d}-{val_loss:.2f}.keras"`).
    A `.keras` path gets the whole model (`model.save`), a `.weights.h5` path the weights and
    optimizer state (`model.save_weights`); both are written atomically. As Keras,
    `save_weights_only=True` needs a `.weights.h5` path."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                             "filepath provided must end in `.weights.h5` (Keras weights "
                             f"format). Received: filepath={self.filepath}")
        if not self.filepath.endswith((".keras", ".weights.h5")):
            raise ValueError("The filepath provided must end in `.keras` (Keras model format) "
                             f"or `.weights.h5`. Received: filepath={self.filepath}")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive int; "
                             f"received {save_freq!r}")
        self._monitor = Monitor("ModelCheckpoint", monitor, mode)
        self.monitor, self.verbose, self.save_best_only = monitor, verbose, save_best_only
        self.save_weights_only, self.save_freq = save_weights_only, save_freq
        self.best = self._monitor.worst if initial_value_threshold is None \
            else initial_value_threshold
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches % self.save_freq == 0:
                self._save(self._epoch, logs, batch=batch)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _save(self, epoch, logs, batch=None):
        logs = dict(logs or {})
        path = self.filepath.format(epoch=epoch + 1, batch=batch, **logs)
        if self.save_best_only:
            current = self._monitor.value(logs)
            if current is None or not self._monitor.improved(current, self.best):
                if self.verbose > 0 and current is not None:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if path.endswith(".keras"):
            self.model.save(path)
        else:
            self.model.save_weights(path)
