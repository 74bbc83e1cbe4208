"""Metrics, as in `keras.metrics`: stateful Metric classes (state in non-trainable Variables,
updated by ops on the predictions' device), the metric functions Keras exports (accuracy,
correlation and loss functions), `get` / `serialize` / `deserialize` by Keras names, and
`resolve_accuracy`, the choice `compile` makes for metrics=["accuracy"]."""
from __future__ import annotations

import inspect

from .. import losses as _losses
from ..losses import (binary_crossentropy, binary_focal_crossentropy,  # noqa: F401
                      categorical_crossentropy, categorical_focal_crossentropy,
                      categorical_hinge, hinge, huber, kl_divergence,
                      log_cosh, mean_absolute_error, mean_absolute_percentage_error,
                      mean_squared_error, mean_squared_logarithmic_error, poisson,
                      sparse_categorical_crossentropy, squared_hinge)
from ..serialization import snake_case
from ..saving.object_registration import get_registered_object
from ..serialization import lookup, serialize_object_or_function
from .accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy,  # noqa: F401
                       SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
                       TopKCategoricalAccuracy, accuracy, binary_accuracy, categorical_accuracy,
                       sparse_categorical_accuracy, sparse_top_k_categorical_accuracy,
                       top_k_categorical_accuracy)
from .confusion import (AUC, FalseNegatives, FalsePositives, Precision,  # noqa: F401
                        PrecisionAtRecall, Recall, RecallAtPrecision, SensitivityAtSpecificity,
                        SpecificityAtSensitivity, TrueNegatives, TruePositives)
from .correlation import (ConcordanceCorrelation, PearsonCorrelation,  # noqa: F401
                          concordance_correlation, pearson_correlation)
from .fscore import F1Score, FBetaScore  # noqa: F401
from .hinge_metrics import CategoricalHinge, Hinge, SquaredHinge  # noqa: F401
from .iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU  # noqa: F401
from .metric import Metric  # noqa: F401
from .probabilistic import (BinaryCrossentropy, CategoricalCrossentropy,  # noqa: F401
                            KLDivergence, Poisson, SparseCategoricalCrossentropy)
from .reduction import Mean, MeanMetricWrapper, Sum  # noqa: F401
from .regression import (CosineSimilarity, LogCoshError, MeanAbsoluteError,  # noqa: F401
                         MeanAbsolutePercentageError, MeanSquaredError,
                         MeanSquaredLogarithmicError, R2Score, RootMeanSquaredError)

ALL_OBJECTS = [
    Metric, Mean, Sum, MeanMetricWrapper,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, R2Score,
    AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall,
    RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives,
    TruePositives,
    ConcordanceCorrelation, PearsonCorrelation,
    Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    F1Score, FBetaScore,
    IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU,
]
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update({
    "acc": Accuracy,
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
})

_FUNCTIONS = {f.__name__: f for f in (accuracy, binary_accuracy, categorical_accuracy,
                                      sparse_categorical_accuracy, top_k_categorical_accuracy,
                                      sparse_top_k_categorical_accuracy, pearson_correlation,
                                      concordance_correlation)}
# Metric functions by name: the accuracy and correlation functions, then the loss functions.
_ALL_FUNCTIONS = {**{name: f for name, f in _losses.ALL_OBJECTS_DICT.items()
                     if not inspect.isclass(f)}, **_FUNCTIONS}


def function_by_name(name: str):
    """A metric function (accuracy and correlation functions, then loss functions) by its
    name."""
    if name not in _ALL_FUNCTIONS:
        raise ValueError(f"Unknown metric function: {name!r}")
    return _ALL_FUNCTIONS[name]


def serialize(metric):
    """`{"class_name": ..., "config": {...}}` for a Metric; `{"class_name": "function",
    "config": name}` for a function (None for None)."""
    return serialize_object_or_function(metric, Metric, "Metric")


def deserialize(config, custom_objects=None):
    """The Metric instance or function that `serialize` (or Keras) described; objects
    registered, in a custom_object_scope or in `custom_objects` first."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret metric config {config!r}: a dict with a "
                         f"'class_name' key (and optionally 'config') is expected")
    names = _ALL_FUNCTIONS if config["class_name"] == "function" else ALL_OBJECTS_DICT
    return lookup(config, "metric", names, custom_objects)


def get(identifier):
    """A Metric for `identifier`: None; a Keras name ("accuracy", "acc", "mse", "auc",
    "precision", "binary_accuracy", "SparseCategoricalAccuracy", ...; loss-function names
    such as "hinge" are wrapped); a class (instantiated); a dict (deserialized); a Metric
    (returned as is); a function (wrapped in MeanMetricWrapper under its name)."""
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
        return obj if isinstance(obj, Metric) else MeanMetricWrapper(obj, name=obj.__name__)
    if isinstance(identifier, str):
        custom = get_registered_object(identifier)
        if custom is not None:
            return get(custom)
        if identifier in ALL_OBJECTS_DICT:
            return ALL_OBJECTS_DICT[identifier]()
        try:
            return MeanMetricWrapper(function_by_name(identifier), name=identifier)
        except ValueError:
            raise ValueError(f"Unknown metric: {identifier!r}. Valid names are: "
                             f"{', '.join(sorted(ALL_OBJECTS_DICT))}") from None
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        name = getattr(identifier, "name", None) or getattr(identifier, "__name__", None)
        return MeanMetricWrapper(identifier, name=name)
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}")


_BINARY_LOSSES = {"binary_crossentropy", "bce", "BCE", "BinaryCrossentropy",
                  "binary_focal_crossentropy", "BinaryFocalCrossentropy"}
_SPARSE_LOSSES = {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"}


def _loss_kind(loss) -> str | None:
    """'binary', 'sparse' or None for a loss given as a name, function or Loss."""
    names = set()
    for obj in (loss, getattr(loss, "fn", None)):
        if isinstance(obj, str):
            names.add(obj)
        elif obj is not None:
            names.update({type(obj).__name__, getattr(obj, "__name__", "")})
    if names & _BINARY_LOSSES:
        return "binary"
    if names & _SPARSE_LOSSES:
        return "sparse"
    return None


def resolve_accuracy(y_true_shape, y_pred_shape, loss=None, name: str = "accuracy") -> Metric:
    """The metric `compile` uses for "accuracy", by Keras 3's `compile_utils` rule on the
    shapes: binary when y_pred's last axis is 1; else sparse categorical when y_true has
    lower rank than y_pred, or y_true's last axis is 1 while y_pred's is larger; else
    categorical. `loss` decides only where a size needed by the rule is unknown (None)."""
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    kind = _loss_kind(loss)
    true_last = y_true_shape[-1] if y_true_shape else None
    pred_last = y_pred_shape[-1] if y_pred_shape else None
    is_binary = pred_last == 1 if pred_last is not None else kind == "binary"
    if len(y_true_shape) < len(y_pred_shape):
        is_sparse = True
    elif true_last is None or pred_last is None:
        is_sparse = kind == "sparse"
    else:
        is_sparse = true_last == 1 and pred_last > 1
    if is_binary:
        return BinaryAccuracy(name=name)
    if is_sparse:
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)
