"""`plot_history`: the training curves of `model.fit`, one subplot per metric (matplotlib)."""
from __future__ import annotations


def plot_history(history, metrics: list[str] | str | None = None, to_file: str | None = None):
    """Plot each metric of a `History` (or its `.history` dict, epoch lists keyed by name)
    against the epoch: the training curve and, when logged, its `val_` curve. `metrics`:
    names without the `val_` prefix (default: every training metric logged). Saves the
    figure to `to_file` when given; returns the matplotlib `Figure` (shown inline in Jupyter)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("You must install matplotlib (`pip install matplotlib`) for "
                          "`plot_history` to work.") from error
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError("plot_history: history must be a History or its non-empty `.history` "
                         f"dict; received {type(history).__name__} {history!r}")
    available = [name for name in logs if not name.startswith("val_")]
    names = available if metrics is None else [metrics] if isinstance(metrics, str) \
        else list(metrics)
    unknown = [name for name in names if name not in logs]
    if unknown or not names:
        raise ValueError(f"plot_history: unknown metrics {unknown or names}; the history logs "
                         f"{available} (each with its 'val_' curve when validated)")
    figure = Figure(figsize=(4.5 * len(names), 3.5), layout="constrained")
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    epochs = getattr(history, "epoch", None)
    for ax, name in zip(axes, names):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            if key in logs:
                values = list(logs[key])
                x = epochs if epochs and len(epochs) == len(values) else range(len(values))
                ax.plot([e + 1 for e in x], values, marker="o", label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if to_file is not None:
        figure.savefig(to_file)
    return figure
