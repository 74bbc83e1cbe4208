"""Probabilistic metrics, as in Keras 3: means of the per-sample cross-entropy, KL-divergence
and Poisson losses."""
from __future__ import annotations

from .. import losses
from .reduction import MeanMetricWrapper, SameShapeWrapper


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean of binary_crossentropy over the samples seen."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean of categorical_crossentropy over the samples seen."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean of sparse_categorical_crossentropy over the samples seen."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, axis=axis)


class KLDivergence(SameShapeWrapper):
    """The mean of kl_divergence over the samples seen."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)


class Poisson(SameShapeWrapper):
    """The mean of poisson (y_pred - y_true log y_pred) over the samples seen."""

    def __init__(self, name="poisson", dtype=None):
        super().__init__(losses.poisson, name=name, dtype=dtype)
