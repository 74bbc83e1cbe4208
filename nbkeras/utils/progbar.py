"""Progbar: Keras's progress bar for custom loops, on the display ProgbarLogger uses (a tqdm
bar where stdout redraws, else one line when the target is reached)."""
from __future__ import annotations

import sys
import time

from ..callbacks.progbar_logger import format_logs, redraws
from .io_utils import print_msg


class Progbar:
    """`update(current, values)` moves the bar to step `current` of `target` (None:
    unknown); `values` are (name, value) pairs averaged over the steps seen, except names in
    `stateful_metrics`, shown as given (or, with `stateless_metrics`, only those names are
    averaged). verbose 0 shows nothing, 2 only the final line. Without interactive logging
    (`nk.utils.disable_interactive_logging()`) the final line goes to the "nbkeras" logger."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Only one of `stateful_metrics` or `stateless_metrics` can be "
                             "provided. `stateful_metrics` is used to make metrics stateless "
                             "by default (with an exclusion list), while `stateless_metrics` "
                             "is used to make metrics stateful by default (with an exclusion "
                             "list).")
        self.target = target
        self.width, self.verbose, self.interval = width, verbose, interval
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        self.stateful_metrics = (None if stateless_metrics is not None
                                 else set(stateful_metrics or ()))
        self.unit_name = unit_name
        self._seen = 0
        self._sums: dict[str, list] = {}
        self._start = time.perf_counter()
        self._bar = None
        self._done = False

    def _averaged(self, name: str) -> bool:
        if self.stateless_metrics is not None:
            return name in self.stateless_metrics
        return name not in self.stateful_metrics

    def _averages(self) -> dict:
        return {name: (total / max(count, 1) if self._averaged(name) else total)
                for name, (total, count) in self._sums.items()}

    def update(self, current, values=None, finalize=None) -> None:
        step = current - self._seen
        for name, value in values or ():
            value = float(value)
            if not self._averaged(name) or name not in self._sums:
                self._sums[name] = [value * (step if self._averaged(name) else 1), step]
            else:
                self._sums[name][0] += value * step
                self._sums[name][1] += step
        self._seen = current
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 1 and redraws():
            if self._bar is None:
                from tqdm.auto import tqdm
                self._bar = tqdm(total=self.target, unit=self.unit_name, file=sys.stdout,
                                 dynamic_ncols=True, mininterval=self.interval)
            self._bar.update(step)
            self._bar.set_postfix_str(format_logs(self._averages()), refresh=False)
            if finalize:
                self._bar.close()
        elif self.verbose in (1, 2) and finalize and not self._done:
            seconds = time.perf_counter() - self._start
            print_msg(f"{current}/{self.target} - {seconds:.1f}s - "
                      f"{format_logs(self._averages())}")
        self._done = self._done or finalize

    def add(self, n, values=None) -> None:
        self.update(self._seen + n, values)
