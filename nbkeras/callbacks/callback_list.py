"""CallbackList: calls every callback's hook in order, adding History and the progress bar."""
from __future__ import annotations

from .callback import Callback
from .history import History
from .progbar_logger import ProgbarLogger

_HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class CallbackList:
    def __init__(self, callbacks=None, model=None, add_history=False, add_progbar=False,
                 verbose=1, epochs=1, steps=None, mode="fit"):
        self.callbacks = list(callbacks or [])
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.insert(0, ProgbarLogger())
        if add_history:
            history = next((c for c in self.callbacks if isinstance(c, History)), None) or History()
            if history not in self.callbacks:
                self.callbacks.append(history)
            model.history = history
        params = {"verbose": verbose, "epochs": epochs, "steps": steps, "mode": mode}
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)

    def __getattr__(self, name):
        if name not in _HOOKS:
            raise AttributeError(name)

        def call_all(*args, **kwargs):
            for callback in self.callbacks:
                getattr(callback, name)(*args, **kwargs)
        return call_all
