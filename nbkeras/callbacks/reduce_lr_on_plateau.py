"""ReduceLROnPlateau: multiply the learning rate by `factor` when a value stops improving."""
from __future__ import annotations

from .callback import Callback
from .learning_rates import log_learning_rates, rate_holders
from .monitor import Monitor


class ReduceLROnPlateau(Callback):
    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1; received factor={factor}")
        self._monitor = Monitor("ReduceLROnPlateau", monitor, mode, min_delta)
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr

    def on_train_begin(self, logs=None):
        self.wait, self.cooldown_counter = 0, 0
        self.best = self._monitor.worst

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        log_learning_rates(self.model.optimizer, logs)
        current = self._monitor.value(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._monitor.improved(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                reduced = False
                for _, optimizer in rate_holders(self.model.optimizer):
                    old = float(optimizer.learning_rate)
                    if old > self.min_lr:
                        new = max(old * self.factor, self.min_lr)
                        optimizer.learning_rate = new
                        reduced = True
                        if self.verbose > 0:
                            print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing "
                                  f"{optimizer.name} learning rate to {new}.")
                if reduced:
                    self.cooldown_counter, self.wait = self.cooldown, 0
