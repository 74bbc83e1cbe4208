"""ModelCheckpoint: save the weights every epoch (or every N batches), or only the best."""
from __future__ import annotations

import os

from .callback import Callback
from .monitor import Monitor


class ModelCheckpoint(Callback):
    """`filepath` may hold `{epoch}` and log keys (`"ckpt-{epoch:02d}-{val_loss:.2f}.weights.h5"`).
    Weights go to a `.weights.h5` file, written atomically by `model.save_weights`. Whole-model
    `.keras` files are not supported yet: use a `.weights.h5` path."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        if not self.filepath.endswith(".weights.h5"):
            raise ValueError("ModelCheckpoint: filepath must end with '.weights.h5' (whole-model "
                             f"'.keras' saving is not available); received {self.filepath!r}")
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
        self.model.save_weights(path)
