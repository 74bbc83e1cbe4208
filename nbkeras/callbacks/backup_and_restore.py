"""BackupAndRestore: resume an interrupted fit from its last completed epoch."""
from __future__ import annotations

import json
import os
import shutil

from ..utils.file_utils import atomic_write_path
from .callback import Callback


class BackupAndRestore(Callback):
    """After each epoch, saves the weights, the optimizer state and the epoch number in
    `backup_dir`; a later `fit` with the same callback starts from there, so an interrupted
    run ends with the weights of an uninterrupted one (given the same seed: batches are
    shuffled per epoch from a seed drawn at fit start). The backup is removed when fit ends
    normally, unless `delete_checkpoint=False`. Only `save_freq="epoch"` is supported."""

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: only save_freq='epoch' is supported; received "
                             f"save_freq={save_freq!r}")
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir is required")
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint = delete_checkpoint
        self._state_path = os.path.join(self.backup_dir, "training_state.json")

    def on_train_begin(self, logs=None):
        if not os.path.exists(self._state_path):
            return
        with open(self._state_path) as f:
            state = json.load(f)
        self.model.load_weights(os.path.join(self.backup_dir, state["weights"]))
        self.model._initial_epoch_from_backup = state["epoch"] + 1

    def on_epoch_end(self, epoch, logs=None):
        """Write the new weights file, then switch the state file to it (atomically), then
        drop the previous weights file: a crash at any point leaves a consistent backup."""
        os.makedirs(self.backup_dir, exist_ok=True)
        weights = f"epoch_{epoch}.weights.h5"
        self.model.save_weights(os.path.join(self.backup_dir, weights))
        previous = None
        if os.path.exists(self._state_path):
            with open(self._state_path) as f:
                previous = json.load(f)["weights"]
        with atomic_write_path(self._state_path) as temporary:
            with open(temporary, "w") as f:
                json.dump({"epoch": epoch, "weights": weights}, f)
        if previous and previous != weights:
            os.remove(os.path.join(self.backup_dir, previous))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):   # fit completed
            shutil.rmtree(self.backup_dir)
