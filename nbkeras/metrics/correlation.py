"""Correlation metrics, as in Keras 3: Pearson's and Lin's concordance correlation of y_true
and y_pred along `axis` (the features of each sample), averaged like any MeanMetricWrapper.

These are per-sample values, not a correlation over every sample seen: for 1-D inputs the
`axis` is the batch itself, so each update adds one value (that batch's correlation) and the
result is the mean over the batches, as in Keras 3.15 (it then depends on how the data is
batched).
"""
from __future__ import annotations

import numpy as np

from .. import config, ops
from ..losses.loss import prepare, squeeze_or_expand_to_same_rank
from .reduction import SameShapeWrapper


def pearson_correlation(y_true, y_pred, axis=-1):
    """mean(z(y_true) * z(y_pred), axis) with z the standardized values along `axis`
    (population standard deviation; NaN where one of them is constant, as Keras)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*prepare(y_true, y_pred))
    true_centered = ops.subtract(y_true, ops.mean(y_true, axis=axis, keepdims=True))
    pred_centered = ops.subtract(y_pred, ops.mean(y_pred, axis=axis, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):     # a constant row gives NaN
        true_z = ops.divide(true_centered, ops.std(true_centered, axis=axis, keepdims=True))
        pred_z = ops.divide(pred_centered, ops.std(pred_centered, axis=axis, keepdims=True))
    return ops.mean(ops.multiply(true_z, pred_z), axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance 2 cov / (var_true + var_pred + (mean_true - mean_pred)^2 + epsilon)
    along `axis` (population moments)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(*prepare(y_true, y_pred))
    true_mean = ops.mean(y_true, axis=axis, keepdims=True)
    pred_mean = ops.mean(y_pred, axis=axis, keepdims=True)
    true_var = ops.var(ops.subtract(y_true, true_mean), axis=axis, keepdims=True)
    pred_var = ops.var(ops.subtract(y_pred, pred_mean), axis=axis, keepdims=True)
    # Keras's form: centring y_true on pred_mean leaves the mean product (the covariance) as is
    covariance = ops.multiply(ops.subtract(y_true, pred_mean), ops.subtract(y_pred, pred_mean))
    norm = ops.add(ops.add(true_var, pred_var), ops.square(ops.subtract(true_mean, pred_mean)))
    return ops.mean(ops.divide(ops.multiply(covariance, 2.0), ops.add(norm, config.epsilon())),
                    axis=axis)


class PearsonCorrelation(SameShapeWrapper):
    """The mean of pearson_correlation along `axis` over the samples seen (batch-averaged for
    1-D inputs, as Keras)."""

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)


class ConcordanceCorrelation(SameShapeWrapper):
    """The mean of concordance_correlation along `axis` over the samples seen (batch-averaged
    for 1-D inputs, as Keras)."""

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
