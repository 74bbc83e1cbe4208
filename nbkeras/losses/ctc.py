"""Connectionist temporal classification loss, as `keras.losses.ctc` / `CTC`: the ctc_loss op
(`nbkeras.ops.ctc_loss`, its forward-backward kernel on either device) with class 0 as the
blank, every output step counted, and each label row's length the count of its nonzero
labels (zeros pad the rows)."""
from __future__ import annotations

import numpy as np

from .. import ops
from .loss import LossFunctionWrapper, as_float_tensor


def ctc(y_true, y_pred):
    """y_true (batch, max_length) integer labels, 0 the blank and padding; y_pred (batch,
    steps, num_classes) logits (not softmaxed) -> (batch,) negative log-likelihoods."""
    y_pred = as_float_tensor(y_pred)
    labels = np.asarray(y_true)
    if labels.ndim != 2:
        raise ValueError(f"ctc: y_true must be a (batch_size, max_length) tensor of integer "
                         f"labels; received y_true.shape={labels.shape}")
    if len(y_pred.shape) != 3:
        raise ValueError(f"ctc: y_pred must be (batch_size, max_length, num_classes) logits; "
                         f"received y_pred.shape={tuple(y_pred.shape)}")
    if labels.shape[0] != y_pred.shape[0]:
        raise ValueError(f"ctc: y_true and y_pred must have the same batch size; received "
                         f"y_true.shape={labels.shape}, y_pred.shape={tuple(y_pred.shape)}")
    if labels.size and np.any(labels != np.round(labels)):
        raise ValueError("ctc: y_true must hold integer labels; received non-integer values")
    labels = labels.astype(np.int32)
    batch, steps, _ = y_pred.shape
    device = y_pred.device
    label_length = (labels != 0).sum(axis=-1).astype(np.int32)
    return ops.ctc_loss(ops.convert_to_tensor(labels, "int32", device=device), y_pred,
                        ops.convert_to_tensor(label_length, "int32", device=device),
                        ops.convert_to_tensor(np.full(batch, steps, np.int32), "int32",
                                              device=device),
                        mask_index=0)


class CTC(LossFunctionWrapper):
    """CTC loss of logits y_pred (batch, steps, classes) for padded labels y_true."""

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)
