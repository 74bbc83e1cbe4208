"""Monitor: which log value to watch and what counts as an improvement (shared by
EarlyStopping, ModelCheckpoint and ReduceLROnPlateau)."""
from __future__ import annotations

import math
import warnings


class Monitor:
    """mode "min" or "max" ("auto": max for accuracy/AUC-like names, as in Keras)."""

    def __init__(self, who: str, monitor: str, mode: str = "auto", min_delta: float = 0.0):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max'; received {mode!r}")
        if mode == "auto":
            name = monitor.removeprefix("val_")
            mode = "max" if name.startswith(("acc", "auc", "precision", "recall")) or \
                name.endswith(("accuracy", "acc", "auc")) else "min"
        self.who, self.monitor, self.mode, self.min_delta = who, monitor, mode, abs(min_delta)

    @property
    def worst(self) -> float:
        return math.inf if self.mode == "min" else -math.inf

    def value(self, logs) -> float | None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{self.who}: the monitored value {self.monitor!r} is not in the logs "
                          f"(available: {sorted(logs or {})})", stacklevel=3)
        return value

    def improved(self, current: float, best: float) -> bool:
        if self.mode == "min":
            return current < best - self.min_delta
        return current > best + self.min_delta
