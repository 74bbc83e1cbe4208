"""Numerical helpers named as in `keras.utils`: `to_categorical`, `normalize`."""
from __future__ import annotations

import numpy as np


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer class labels: shape `s` -> `s + (num_classes,)`, float32.

    As in Keras, a trailing axis of size 1 is dropped first (labels of shape (n, 1) give
    (n, num_classes), not (n, 1, num_classes)), and `num_classes` defaults to `max(x) + 1`.
    Unlike Keras, which wraps negative labels around and returns float64 for numpy input,
    labels outside `[0, num_classes)` or with a fractional part raise ValueError and the
    result is float32 (the framework's default float type).
    """
    values = np.asarray(x)
    if values.dtype.kind not in "biuf":
        raise ValueError(f"to_categorical expects integer class labels; received an array of "
                         f"dtype {values.dtype}")
    labels = values.astype(np.int64)
    if values.dtype.kind == "f" and not np.array_equal(labels, values):
        raise ValueError("to_categorical expects integer class labels; received values with a "
                         "fractional part (or NaN/inf)")
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:   # (n, 1) -> (n,), as Keras
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("to_categorical cannot infer num_classes from empty labels; pass "
                             "num_classes")
        num_classes = int(labels.max()) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"to_categorical: num_classes must be a positive integer; received "
                         f"num_classes={num_classes!r}")
    num_classes = int(num_classes)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must lie in [0, {num_classes}) for "
                         f"num_classes={num_classes}; received labels from {labels.min()} to "
                         f"{labels.max()}")
    categorical = np.zeros((labels.size, num_classes), dtype=np.float32)
    categorical[np.arange(labels.size), labels] = 1.0
    return categorical.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """x divided by its `order`-norm along `axis` (zero norms left as 1): numpy arrays give
    numpy arrays, tensors go through ops.normalize, as Keras."""
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1
        return x / np.expand_dims(norm, axis)
    from .. import ops
    return ops.normalize(x, axis=axis, order=order)
