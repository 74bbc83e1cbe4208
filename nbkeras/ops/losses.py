"""Cross-entropy ops. Fused and stable from logits: softmax cross-entropy with dense or integer
labels (one row kernel pass, VJP softmax * sum(labels) - labels) and sigmoid cross-entropy
(`max(x, 0) - x * z + log1p(exp(-|x|))`). From probabilities they clip with
`config.epsilon()` as Keras's backends do: the categorical ones as one fused op over the
class axis (ProbabilityCrossEntropy: the rows renormalized, clipped and logged in one kernel
pass), the binary one composed of differentiable ops.

`binary_crossentropy`, `categorical_crossentropy` and `sparse_categorical_crossentropy` are
the `keras.ops` functions of those names (elementwise / per-sample, no label smoothing).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import config
from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from ..core.tensor import Tensor
from .core import cast, clip, one_hot
from .elementwise import log, multiply, negative, subtract
from .op import Op, convert_to_tensor, float_dtype
from .shape import moveaxis


def _spec(a) -> Spec:
    return Spec(tuple(a.shape), a.dtype.name)


def _require(condition: bool, who: str, message: str) -> None:
    if not condition:
        raise ValueError(f"{who}: {message}")


def _same(a, b) -> bool:
    return len(a) == len(b) and all(i == j or None in (i, j) for i, j in zip(a, b))


def _per_row(who: str, labels_name: str, labels: Spec, values_name: str,
             values: Spec) -> Spec:
    """The spec of a cross-entropy over the values' last (class) axis, one loss per row;
    the labels must have the values' shape."""
    _require(values.ndim >= 1 and values.shape[-1] != 0, who,
             f"{values_name} need a non-empty class axis; received shape {values.shape}")
    _require(_same(labels.shape, values.shape), who, f"{labels_name} and {values_name} must "
             f"have the same shape; received {labels_name}.shape={labels.shape}, "
             f"{values_name}.shape={values.shape}")
    return Spec(values.shape[:-1], float_dtype(values.dtype))


@dataclass(frozen=True)
class SoftmaxCrossEntropy(Op):
    """labels (..., C), logits (..., C) -> (...,): -sum(labels * log_softmax(logits), -1)."""

    float_inputs = True

    def output_spec(self, labels: Spec, logits: Spec) -> Spec:
        return _per_row("softmax_cross_entropy_with_logits", "labels", labels, "logits",
                        logits)

    def forward(self, k, labels, logits):
        self.output_spec(_spec(labels), _spec(logits))    # the kernel trusts its shapes
        return k.softmax_cross_entropy_forward(labels, logits), (labels, logits)

    def vjp(self, k, dy, residuals, needs):
        return k.softmax_cross_entropy_backward(dy, *residuals)


@dataclass(frozen=True)
class SparseSoftmaxCrossEntropy(Op):
    """labels (...,) integers in [0, C), logits (..., C) -> (...,): lse(logits) - logits[label]."""

    def output_spec(self, labels: Spec, logits: Spec) -> Spec:
        who = "sparse_softmax_cross_entropy_with_logits"
        _require(logits.ndim >= 1 and logits.shape[-1] != 0, who,
                 f"logits need a non-empty class axis; received shape {logits.shape}")
        _require(_same(labels.shape, logits.shape[:-1]), who, f"labels of shape "
                 f"{labels.shape} must have the logits' shape without its class axis, "
                 f"{logits.shape[:-1]}")
        return Spec(logits.shape[:-1], float_dtype(logits.dtype))

    def forward(self, k, labels, logits):
        self.output_spec(_spec(labels), _spec(logits))
        n_classes = tuple(logits.shape)[-1]
        if labels.size:     # two scalars come to the host: a label out of range is an error
            low, high = (int(Tensor(k.reduce(name, labels, None, False)))
                         for name in ("min", "max"))
            if low < 0 or high >= n_classes:
                raise ValueError(f"sparse_softmax_cross_entropy_with_logits: labels must lie "
                                 f"in [0, {n_classes}); received label "
                                 f"{low if low < 0 else high}")
        return k.sparse_softmax_cross_entropy_forward(labels, logits), (labels, logits)

    def vjp(self, k, dy, residuals, needs):
        return None, k.sparse_softmax_cross_entropy_backward(dy, *residuals)


@dataclass(frozen=True)
class SigmoidCrossEntropy(Op):
    """labels z, logits x of one shape -> max(x, 0) - x * z + log1p(exp(-|x|)) elementwise."""

    float_inputs = True

    def output_spec(self, labels: Spec, logits: Spec) -> Spec:
        _require(_same(labels.shape, logits.shape), "sigmoid_cross_entropy_with_logits",
                 f"labels of shape {labels.shape} must have the logits' shape {logits.shape}")
        return Spec(logits.shape, float_dtype(logits.dtype))

    def forward(self, k, labels, logits):
        self.output_spec(_spec(labels), _spec(logits))
        return k.sigmoid_cross_entropy_forward(labels, logits), (labels, logits)

    def vjp(self, k, dy, residuals, needs):
        return k.sigmoid_cross_entropy_backward(dy, *residuals)


@dataclass(frozen=True)
class ProbabilityCrossEntropy(Op):
    """labels (..., C), probabilities (..., C) -> (...,): -sum(labels * log(clip(p / sum(p,
    -1), epsilon, 1 - epsilon)), -1), Keras's categorical cross-entropy from probabilities.
    The clip passes the gradient where it leaves p / sum(p) as it is, bounds included (as
    the clip op)."""

    epsilon: float

    float_inputs = True

    def output_spec(self, labels: Spec, probs: Spec) -> Spec:
        return _per_row("categorical_crossentropy", "target", labels, "output", probs)

    def forward(self, k, labels, probs):
        self.output_spec(_spec(labels), _spec(probs))
        return (k.probability_cross_entropy_forward(labels, probs, self.epsilon),
                (labels, probs))

    def vjp(self, k, dy, residuals, needs):
        return k.probability_cross_entropy_backward(dy, *residuals, self.epsilon)


def _class_axis_last(x, axis: int):
    ndim = len(x.shape)
    return x if axis % ndim == ndim - 1 else moveaxis(x, axis, -1)


def _as_float(x):
    """x as a float Tensor (integers become floatx); KerasTensors pass through symbolically."""
    if not isinstance(x, KerasTensor):
        x = convert_to_tensor(x)
    return x if np.dtype(x.dtype).kind == "f" else cast(x, config.floatx())


def softmax_cross_entropy_with_logits(labels, logits, axis: int = -1):
    """-sum(labels * log_softmax(logits), axis), fused and stable; labels are dense
    (one-hot or probabilities) with the logits' shape."""
    logits = _as_float(logits)
    labels = cast(labels, logits.dtype)
    if not len(logits.shape):
        raise ValueError("softmax_cross_entropy_with_logits: logits must have a class axis; "
                         "received a scalar")
    return SoftmaxCrossEntropy()(_class_axis_last(labels, axis), _class_axis_last(logits, axis))


def sparse_softmax_cross_entropy_with_logits(labels, logits, axis: int = -1):
    """lse(logits) - logits[labels] along the class `axis`, fused and stable; labels are
    integers (floats are truncated) with the logits' shape minus that axis."""
    logits = _as_float(logits)
    labels = convert_to_tensor(labels, device=getattr(logits, "device", None))
    if np.dtype(labels.dtype).kind != "i":
        labels = cast(labels, "int64")
    if not len(logits.shape):
        raise ValueError("sparse_softmax_cross_entropy_with_logits: logits must have a class "
                         "axis; received a scalar")
    return SparseSoftmaxCrossEntropy()(labels, _class_axis_last(logits, axis))


def sigmoid_cross_entropy_with_logits(labels, logits):
    """Elementwise -(z log sigmoid(x) + (1 - z) log(1 - sigmoid(x))), fused and stable."""
    logits = _as_float(logits)
    return SigmoidCrossEntropy()(cast(labels, logits.dtype), logits)


def _clipped(output):
    eps = config.epsilon()
    return clip(output, eps, 1.0 - eps)


def binary_crossentropy(target, output, from_logits: bool = False):
    """Elementwise binary cross-entropy (keras.ops). From probabilities, `output` is
    clipped to [eps, 1 - eps] first."""
    output = _as_float(output)
    target = cast(target, output.dtype)
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(f"binary_crossentropy: target and output must have the same shape; "
                         f"received target.shape={target.shape}, output.shape={output.shape}")
    if from_logits:
        return sigmoid_cross_entropy_with_logits(target, output)
    p = _clipped(output)
    return negative(multiply(target, log(p)) + multiply(subtract(1.0, target),
                                                        log(subtract(1.0, p))))


def categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1):
    """Per-sample categorical cross-entropy along `axis` (keras.ops). From probabilities,
    `output` is renormalized to sum to 1 and clipped to [eps, 1 - eps]."""
    output = _as_float(output)
    target = cast(target, output.dtype)
    if tuple(target.shape) != tuple(output.shape):
        raise ValueError(f"categorical_crossentropy: target and output must have the same "
                         f"shape; received target.shape={target.shape}, "
                         f"output.shape={output.shape}")
    if from_logits:
        return softmax_cross_entropy_with_logits(target, output, axis)
    return _probability_cross_entropy(target, output, axis)


def _probability_cross_entropy(target, output, axis: int):
    """categorical_crossentropy of probabilities `output` (fused along the class axis)."""
    if not len(output.shape):
        raise ValueError("categorical_crossentropy: the output must have a class axis; "
                         "received a scalar")
    return ProbabilityCrossEntropy(config.epsilon())(_class_axis_last(target, axis),
                                                     _class_axis_last(output, axis))


def sparse_categorical_crossentropy(target, output, from_logits: bool = False,
                                    axis: int = -1):
    """Per-sample cross-entropy for integer `target` along the class `axis` (keras.ops);
    a trailing size-1 axis of `target` is squeezed. Labels outside [0, C) raise."""
    output = _as_float(output)
    labels = np.asarray(target.numpy() if hasattr(target, "numpy") else target)
    if labels.ndim == len(output.shape) and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    labels = labels.astype(np.int64)
    if from_logits:
        return sparse_softmax_cross_entropy_with_logits(labels, output, axis)
    n_classes = output.shape[axis]
    expected = tuple(n for i, n in enumerate(output.shape) if i != axis % len(output.shape))
    if labels.shape != expected:
        raise ValueError(f"sparse_categorical_crossentropy: target of shape {labels.shape} "
                         f"must have the output's shape without its class axis, {expected}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"sparse_categorical_crossentropy: labels must lie in "
                         f"[0, {n_classes}); received {labels.min()}..{labels.max()}")
    picked = one_hot(convert_to_tensor(labels, device=output.device), n_classes, axis=axis,
                     dtype=output.dtype)
    return _probability_cross_entropy(picked, output, axis)
