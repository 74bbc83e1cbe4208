"""Losses, as in `keras.losses`: per-sample loss functions, `Loss` classes with Keras's
reductions and sample weighting, and `get` / `serialize` / `deserialize` by Keras names."""
from __future__ import annotations

import inspect

from ..serialization import lookup, serialize_object_or_function
from .ctc import CTC, ctc
from .hinge import CategoricalHinge, Hinge, SquaredHinge, categorical_hinge, hinge, squared_hinge
from .loss import (Loss, LossFunctionWrapper, reduce_weighted_values,  # noqa: F401
                   squeeze_or_expand_to_same_rank)
from .metric_learning import Circle, circle
from .overlap import Dice, Tversky, dice, tversky
from .probabilistic import (BinaryCrossentropy, BinaryFocalCrossentropy,  # noqa: F401
                            CategoricalCrossentropy, CategoricalFocalCrossentropy,
                            CategoricalGeneralizedCrossEntropy, KLDivergence, Poisson,
                            SparseCategoricalCrossentropy, binary_crossentropy,
                            binary_focal_crossentropy, categorical_crossentropy,
                            categorical_focal_crossentropy,
                            categorical_generalized_cross_entropy, kl_divergence, poisson,
                            sparse_categorical_crossentropy)
from .regression import (CosineSimilarity, Huber, LogCosh, MeanAbsoluteError,  # noqa: F401
                         MeanAbsolutePercentageError, MeanSquaredError,
                         MeanSquaredLogarithmicError, cosine_similarity, huber, log_cosh,
                         mean_absolute_error, mean_absolute_percentage_error,
                         mean_squared_error, mean_squared_logarithmic_error)

# Keras's short names
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy

ALL_OBJECTS = [
    Loss, LossFunctionWrapper,
    KLDivergence, Poisson, BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, LogCosh, Huber,
    Hinge, SquaredHinge, CategoricalHinge, CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy, CTC, Dice, Tversky, Circle,
    kl_divergence, poisson, binary_crossentropy, binary_focal_crossentropy,
    categorical_crossentropy, sparse_categorical_crossentropy, mean_squared_error,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    cosine_similarity, log_cosh, huber, hinge, squared_hinge, categorical_hinge,
    categorical_focal_crossentropy, categorical_generalized_cross_entropy, ctc, dice, tversky,
    circle,
]
ALL_OBJECTS_DICT = {obj.__name__: obj for obj in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "kld": kl_divergence, "KLD": kl_divergence,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
})


def serialize(loss):
    """`{"class_name": ..., "config": {...}}` for a Loss; `{"class_name": "function",
    "config": name}` for a function (None for None)."""
    return serialize_object_or_function(loss, Loss, "Loss")


def deserialize(config, custom_objects=None):
    """The Loss instance or loss function that `serialize` (or Keras) described; objects
    registered, in a custom_object_scope or in `custom_objects` first."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret loss config {config!r}: a dict with a "
                         f"'class_name' key (and optionally 'config') is expected")
    obj = lookup(config, "loss", ALL_OBJECTS_DICT, custom_objects)
    if not (isinstance(obj, Loss) or inspect.isfunction(obj)):
        raise ValueError(f"Could not interpret loss config {config!r}: "
                         f"{config['class_name']!r} is not a Loss class")
    return obj


def get(identifier):
    """As `keras.losses.get`: None; a function name ("mse", "categorical_crossentropy") gives
    the function, a class name ("MeanSquaredError") or a class gives an instance, a dict is
    deserialized, a Loss instance or any callable is returned as is."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = lookup(identifier, "loss", ALL_OBJECTS_DICT)
    else:
        obj = identifier
    if inspect.isclass(obj):
        return obj()
    if callable(obj):
        return obj
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
