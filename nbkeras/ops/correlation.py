"""Pairwise distances and correlations, as keras.ops: cdist, corrcoef, correlate. Composed
from differentiable ops (broadcast differences, matmul, reductions, framing), so they run on
every device and differentiate through those ops' VJPs."""
from __future__ import annotations

import numpy as np

from .. import config
from ..core.dtype import is_float
from .core import clip
from .elementwise import divide, sqrt, square, subtract
from .manipulation import swapaxes
from .matmul import matmul
from .op import convert_to_tensor
from .padding import pad
from .reduction import mean, sum
from .shape import GetItem, expand_dims, reshape
from .signal import extract_sequences

__all__ = ["cdist", "corrcoef", "correlate"]


def _floats(x, who: str, min_rank: int):
    x = x if hasattr(x, "shape") and not isinstance(x, np.ndarray) else convert_to_tensor(x)
    if not is_float(x.dtype):
        x = convert_to_tensor(x, config.floatx())
    if len(x.shape) < min_rank:
        raise ValueError(f"{who}: expected rank >= {min_rank}; received shape {x.shape}")
    return x


def cdist(x, y):
    """Euclidean distances between the rows of x (..., m, d) and y (..., n, d): (..., m, n)."""
    x, y = _floats(x, "cdist", 2), _floats(y, "cdist", 2)
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"cdist: x and y must have the same last axis; received shapes "
                         f"{x.shape} and {y.shape}")
    differences = subtract(expand_dims(x, -2), expand_dims(y, -3))      # (..., m, n, d)
    return sqrt(sum(square(differences), axis=-1))


def corrcoef(x):
    """Pearson correlation coefficients between the rows of x (variables x observations):
    (rows, rows), clipped to [-1, 1] as numpy does; a 1-D x is one variable."""
    x = _floats(x, "corrcoef", 1)
    if len(x.shape) > 2:
        raise ValueError(f"corrcoef: x must have rank 1 or 2; received shape {x.shape}")
    rows = x if len(x.shape) == 2 else reshape(x, (1, -1))
    centred = subtract(rows, mean(rows, axis=-1, keepdims=True))
    products = matmul(centred, swapaxes(centred, 0, 1))
    scale = sqrt(sum(square(centred), axis=-1, keepdims=True))
    coefficients = clip(divide(products, matmul(scale, swapaxes(scale, 0, 1))), -1.0, 1.0)
    return coefficients if len(x.shape) == 2 else reshape(coefficients, ())


def correlate(x1, x2, mode="valid"):
    """numpy's 1-D cross-correlation c[k] = sum_n x1[n + k] x2[n], for k where the sequences
    overlap fully ("valid"), the middle max(M, N) ("same") or all ("full")."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full'; received {mode!r}")
    a, v = _floats(x1, "correlate", 1), _floats(x2, "correlate", 1)
    if len(a.shape) != 1 or len(v.shape) != 1 or not a.shape[0] or not v.shape[0]:
        raise ValueError(f"correlate: x1 and x2 must be non-empty 1-D tensors; received shapes "
                         f"{a.shape} and {v.shape}")
    m, n = a.shape[0], v.shape[0]
    frames = extract_sequences(pad(a, [(n - 1, n - 1)]), n, 1)        # (m + n - 1, n)
    full = reshape(matmul(frames, reshape(v, (n, 1))), (-1,))
    if mode == "full":
        return full
    shortest = min(m, n)
    if mode == "valid":
        start, length = shortest - 1, abs(m - n) + 1
    else:
        start, length = (shortest - 1) // 2 if m >= n else shortest // 2, max(m, n)
    return GetItem(np.s_[start:start + length])(full)
