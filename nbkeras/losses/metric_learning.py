"""Metric-learning losses, as in Keras 3: Circle loss (Sun et al., 2020) over the pairwise
cosine distances of L2-normalized embeddings, with its `Loss` class."""
from __future__ import annotations

import numpy as np

from .. import ops
from .loss import LossFunctionWrapper, as_float_tensor


def _labels(name: str, labels, rows: int) -> np.ndarray:
    labels = np.asarray(labels)
    flat = labels.reshape(-1)
    if labels.ndim > 2 or flat.size != rows or (labels.ndim == 2 and labels.shape[1] != 1):
        raise ValueError(f"circle: {name} must hold one integer label per embedding, of shape "
                         f"({rows},) or ({rows}, 1); received {name}.shape={labels.shape}")
    return flat.astype(np.int64)


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Circle loss per embedding: softplus(logsumexp_p(-gamma w_p (margin - d_p)) +
    logsumexp_n(gamma w_n (1 - margin - d_n))) over the positive pairs p (same label) and
    negative pairs n of each row of y_pred (N, D) with the reference embeddings (M, D;
    default y_pred), d = max(1 - cosine similarity, 0), w_p = max(margin + d_p, 0), w_n =
    max(1 + margin - d_n, 0). `remove_diagonal` leaves out each embedding's pair with
    itself. -> (N,); a row without positive or without negative pairs gives 0.

    Pairs outside a row's positives (negatives) are filled with a large finite negative
    number rather than Keras's -inf: the same values, and no NaN in the gradient of a row
    that has no pairs of one kind."""
    y_pred = as_float_tensor(y_pred)
    if len(y_pred.shape) != 2:
        raise ValueError(f"circle: y_pred must be (batch_size, embedding_dim) embeddings; "
                         f"received y_pred.shape={tuple(y_pred.shape)}")
    reference = y_pred if ref_embeddings is None else as_float_tensor(
        ref_embeddings, y_pred.dtype, y_pred.device)
    if len(reference.shape) != 2 or reference.shape[1] != y_pred.shape[1]:
        raise ValueError(f"circle: ref_embeddings must be (num_references, "
                         f"{y_pred.shape[1]}); received ref_embeddings.shape="
                         f"{tuple(reference.shape)}")
    labels = _labels("y_true", y_true, y_pred.shape[0])
    ref = labels if ref_labels is None else _labels("ref_labels", ref_labels, reference.shape[0])
    positive = labels[:, None] == ref[None, :]
    negative = ~positive
    if remove_diagonal:
        positive &= ~np.eye(len(labels), len(ref), dtype=bool)

    distances = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(reference)), 0.0)
    dtype, device = y_pred.dtype, y_pred.device

    def mask(m):
        return ops.convert_to_tensor(m.astype(dtype), dtype, device=device)

    pos_weights = ops.maximum((margin + distances) * mask(positive), 0.0)
    neg_weights = ops.maximum((1.0 + margin - distances) * mask(negative), 0.0)
    pos_logits = -float(gamma) * pos_weights * (margin - distances)
    neg_logits = float(gamma) * neg_weights * (1.0 - margin - distances)
    # exp(fill - max) underflows to 0 beside any real entry; fill + fill stays finite
    fill = np.array(np.finfo(dtype).min / 4, dtype)
    p_loss = ops.logsumexp(ops.where(positive, pos_logits, fill), axis=1)
    n_loss = ops.logsumexp(ops.where(negative, neg_logits, fill), axis=1)
    return ops.softplus(p_loss + n_loss)


class Circle(LossFunctionWrapper):
    """Circle loss between integer labels y_true (N,) and L2-normalized embeddings y_pred
    (N, D). As in Keras, the reduction counts only the embeddings whose loss is above 0."""

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma,
                         margin=margin, remove_diagonal=remove_diagonal)

    def call_with_mask(self, y_true, y_pred):
        values = self.call(y_true, y_pred)
        return values, np.asarray(values) > 0
