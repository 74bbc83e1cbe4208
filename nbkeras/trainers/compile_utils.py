"""What `compile` sets up: one loss (and weight) per model output, and the metrics of each
output, matched to the outputs by position or by name as Keras does."""
from __future__ import annotations

import numpy as np

from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import ops
from ..core.device import current_device
from ..tree import leaves as flatten


def match_outputs(structure, names: list[str], what: str) -> list:
    """`structure` (one spec, a list, or a dict by output name) as one entry per output;
    a single spec applies to every output."""
    if isinstance(structure, dict):
        unknown = set(structure) - set(names)
        if unknown:
            raise ValueError(f"compile: {what} has keys {sorted(unknown)} that are not model "
                             f"outputs; the outputs are {names}")
        return [structure.get(name) for name in names]
    if isinstance(structure, (list, tuple)) and len(names) > 1:
        if len(structure) != len(names):
            raise ValueError(f"compile: {what} has {len(structure)} entries for "
                             f"{len(names)} model outputs {names}")
        return list(structure)
    return [structure] * len(names)


def flat_outputs(values, names: list[str], what: str) -> list:
    """Model outputs or targets as a list in output order (dicts are read by name)."""
    if isinstance(values, dict):
        missing = [name for name in names if name not in values]
        if missing:
            raise ValueError(f"{what} lacks entries for the outputs {missing}")
        return [values[name] for name in names]
    values = flatten(values) if isinstance(values, (list, tuple)) else [values]
    if len(values) != len(names):
        raise ValueError(f"{what} has {len(values)} entries for {len(names)} model outputs "
                         f"{names}")
    return values


class CompileLoss:
    """Sum of weight_i * loss_i(y_true_i, y_pred_i) over outputs with a loss."""

    def __init__(self, loss, loss_weights, output_names: list[str]):
        self.output_names = output_names
        specs = match_outputs(loss, output_names, "loss")
        self.losses = [None if spec is None else _as_loss(spec) for spec in specs]
        weights = match_outputs(1.0 if loss_weights is None else loss_weights, output_names,
                                "loss_weights")
        self.weights = [1.0 if w is None else float(w) for w in weights]
        if all(loss is None for loss in self.losses):
            raise ValueError("compile: `loss` is required to train a model")

    def __call__(self, y_true: list, y_pred: list, sample_weight=None):
        """(total loss Tensor, {output name: loss Tensor}) over the outputs with a loss."""
        total, parts = None, {}
        for name, loss, weight, yt, yp in zip(self.output_names, self.losses, self.weights,
                                              y_true, y_pred):
            if loss is None:
                continue
            if yt is None:
                raise ValueError(f"The output {name!r} has a loss but no target was given")
            value = loss(yt, yp, sample_weight=sample_weight)
            parts[name] = value
            term = value if weight == 1.0 else ops.multiply(value, weight)
            total = term if total is None else ops.add(total, term)
        return total, parts


def _as_loss(spec):
    loss = losses_module.get(spec)
    if isinstance(loss, losses_module.Loss):
        return loss
    return losses_module.LossFunctionWrapper(loss, name=getattr(loss, "__name__", None))


class CompileMetrics:
    """The metrics of each output, built at the first batch (so "accuracy" can be resolved
    from the target and prediction shapes and the loss, as Keras does)."""

    def __init__(self, metrics, weighted_metrics, output_names: list[str], compile_loss):
        self.output_names = output_names
        self.compile_loss = compile_loss
        self.specs = [self._per_output(metrics, "metrics"),
                      self._per_output(weighted_metrics, "weighted_metrics")]
        self.metrics: list[list] = []   # per output: [(metric, weighted)]
        self.built = False

    def _per_output(self, metrics, what):
        if metrics is None:
            return [[] for _ in self.output_names]
        if isinstance(metrics, dict) or (isinstance(metrics, (list, tuple)) and
                                         len(self.output_names) > 1 and
                                         all(isinstance(m, (list, tuple, type(None)))
                                             for m in metrics)):
            entries = match_outputs(metrics, self.output_names, what)
            return [[] if e is None else list(e) if isinstance(e, (list, tuple)) else [e]
                    for e in entries]
        flat = list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]
        return [list(flat) for _ in self.output_names]

    def build(self, y_true: list, y_pred: list) -> None:
        prefix = len(self.output_names) > 1
        taken: dict[str, int] = {}
        for i, name in enumerate(self.output_names):
            built = []
            for weighted, specs in enumerate(self.specs):
                for spec in specs[i]:
                    metric = self._resolve(spec, y_true[i], y_pred[i],
                                           self.compile_loss.losses[i])
                    metric.adopt_device(current_device())   # the model's: fit runs there
                    metric.name = _unique_metric_name(metric.name, name if prefix else None,
                                                      bool(weighted), taken)
                    built.append((metric, bool(weighted)))
            self.metrics.append(built)
        self.built = True

    @staticmethod
    def _resolve(spec, y_true, y_pred, loss):
        """A Metric for `spec`; a string names it (metrics=["mae"] logs "mae"), as Keras."""
        if spec in ("accuracy", "acc"):
            metric = metrics_module.resolve_accuracy(np.shape(y_true), tuple(y_pred.shape), loss)
        else:
            metric = metrics_module.get(spec)
        if not isinstance(metric, metrics_module.Metric):
            metric = metrics_module.MeanMetricWrapper(metric)
        if isinstance(spec, str):
            metric.name = spec
        return metric

    def update_state(self, y_true: list, y_pred: list, sample_weight=None) -> None:
        if not self.built:
            self.build(y_true, y_pred)
        for metrics, yt, yp in zip(self.metrics, y_true, y_pred):
            if yt is None:
                continue
            for metric, weighted in metrics:
                metric.update_state(yt, yp, sample_weight=sample_weight if weighted else None)

    @property
    def all(self) -> list:
        return [metric for metrics in self.metrics for metric, _ in metrics]


def _unique_metric_name(name: str, output: str | None, weighted: bool,
                        taken: dict[str, int]) -> str:
    """Keras's log names: "<output>_<name>"; a repeated name gets "_1", "_2", ...; a weighted
    metric whose name is taken is "<output>_weighted_<name>" first (metrics=["mae"] and
    weighted_metrics=["mae"] log "mae" and "weighted_mae")."""
    full = f"{output}_{name}" if output else name
    if full in taken and weighted:
        full = f"{output}_weighted_{name}" if output else f"weighted_{name}"
    if full in taken:
        taken[full] += 1
        return f"{full}_{taken[full] - 1}"
    taken[full] = 1
    return full
