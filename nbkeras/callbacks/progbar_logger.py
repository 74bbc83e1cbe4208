"""ProgbarLogger: the progress display of fit/evaluate/predict.

verbose=1: a tqdm bar per epoch (tqdm.auto: a widget in Jupyter, text in a terminal) with
the running loss and metrics, ETA and steps/s; verbose=2, or verbose=1 when stdout is neither
a terminal nor a notebook (a log file, a pipe): one line per epoch, and one per evaluation,
with no carriage returns. With interactive logging off (`nk.utils.disable_interactive_logging`)
those lines go to the "nbkeras" logger instead of stdout.
"""
from __future__ import annotations

import sys
import time

from ..utils.io_utils import is_interactive_logging_enabled, print_msg
from .callback import Callback


def format_logs(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}"
                      for k, v in logs.items())


class ProgbarLogger(Callback):
    def __init__(self):
        super().__init__()
        self._bar = None
        self._start = 0.0

    def _lines(self) -> bool:
        """One line per epoch: verbose=2, or stdout that cannot redraw a bar."""
        return self.params.get("verbose") == 2 or not redraws()

    def _open(self, description: str | None) -> None:
        if self.params.get("verbose") != 1 or not redraws():
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(total=self.params.get("steps"), desc=description, unit="step",
                         leave=True, dynamic_ncols=True, file=sys.stdout)

    def _advance(self, logs) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if logs:
                self._bar.set_postfix_str(format_logs(logs), refresh=False)

    def _close(self, logs=None) -> None:
        if self._bar is not None:
            if logs:
                self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.close()
            self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._open(f"Epoch {epoch + 1}/{self.params['epochs']}")

    def on_train_batch_end(self, batch, logs=None):
        self._advance(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._close(logs)
        if self.params.get("verbose") in (1, 2) and self._lines():
            seconds = time.perf_counter() - self._start
            print_msg(f"Epoch {epoch + 1}/{self.params['epochs']} - {seconds:.1f}s - "
                      f"{format_logs(logs or {})}")

    def on_test_begin(self, logs=None):
        if self.params.get("mode") == "evaluate":     # fit's validation keeps the epoch's bar
            self._start = time.perf_counter()
            self._open("Evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if self.params.get("mode") == "evaluate":
            self._advance(logs)

    def on_test_end(self, logs=None):
        self._close(logs)
        if (self.params.get("mode") == "evaluate" and self.params.get("verbose") == 1
                and not redraws()):
            seconds = time.perf_counter() - self._start
            print_msg(f"Evaluate - {seconds:.1f}s - {format_logs(logs or {})}")

    def on_predict_begin(self, logs=None):
        self._open("Predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(None)

    def on_predict_end(self, logs=None):
        self._close()


def redraws() -> bool:
    """Whether to redraw a bar in place: interactive logging is on and stdout is a terminal or
    a Jupyter/IPython kernel."""
    return is_interactive_logging_enabled() and (
        _in_a_kernel() or bool(getattr(sys.stdout, "isatty", lambda: False)()))


def _in_a_kernel() -> bool:
    """Whether this code runs in a Jupyter/IPython kernel (not merely in a process that
    imported ipykernel, as a notebook runner or a test suite does)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None
