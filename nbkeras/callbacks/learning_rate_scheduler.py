"""LearningRateScheduler: set the learning rate from `schedule(epoch, lr)` each epoch (each
inner optimizer's, for a MultiOptimizer)."""
from __future__ import annotations

from .callback import Callback
from .learning_rates import log_learning_rates, rate_holders


class LearningRateScheduler(Callback):
    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        for _, optimizer in rate_holders(self.model.optimizer):
            lr = self.schedule(epoch, float(optimizer.learning_rate))
            if not isinstance(lr, (float, int)):
                raise ValueError(f"LearningRateScheduler: the schedule must return a float; "
                                 f"received {lr!r}")
            optimizer.learning_rate = float(lr)
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: LearningRateScheduler setting {optimizer.name} "
                      f"learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            log_learning_rates(self.model.optimizer, logs)
