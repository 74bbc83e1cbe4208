"""SwapEMAWeights: evaluate with the optimizer's moving averages of the weights, as
`keras.callbacks.SwapEMAWeights`.

The model's trainable variables and the optimizer's `average` variables (`use_ema=True`)
trade values in place before evaluation (fit's validation included) and trade back after it;
with `swap_on_epoch=True` also at each epoch's end (so later callbacks, such as
ModelCheckpoint, see the averages) and back at the next epoch's start.
"""
from __future__ import annotations

from .callback import Callback


class SwapEMAWeights(Callback):
    """Swap the model's weights with the optimizer's EMA weights around evaluation.

    Args:
        swap_on_epoch: also swap at `on_epoch_end` and back at `on_epoch_begin`, for other
            callbacks to use the EMA weights (place them after this one). Defaults to False.
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizer(self):
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)   # a loss-scale wrapper
        if not getattr(optimizer, "use_ema", False):
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the "
                             f"optimizer. Received: use_ema={getattr(optimizer, 'use_ema', None)}")
        return optimizer

    def _swap_variables(self) -> None:
        optimizer = self._optimizer()
        for variable, average in zip(optimizer._trainable_variables,
                                     optimizer._model_variables_moving_average):
            temporary = variable.numpy()
            variable.assign(average.data)
            average.assign(temporary)

    def _finalize_ema_values(self) -> None:
        """Copy the model's (EMA) values back into the averages, so that fit's closing
        `finalize_variable_values` writes the averages, not the swapped-out weights."""
        optimizer = self._optimizer()
        for variable, average in zip(optimizer._trainable_variables,
                                     optimizer._model_variables_moving_average):
            average.assign(variable.data)

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            if epoch == self.params["epochs"] - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_predict_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_predict_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False
