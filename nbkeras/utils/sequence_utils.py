"""pad_sequences: lists of sequences of different lengths -> one padded array, as Keras."""
from __future__ import annotations

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0) -> np.ndarray:
    """(num_samples, maxlen, *sample_shape): each sequence cut to its last (truncating
    "pre") or first ("post") `maxlen` steps and filled with `value` before ("pre") or after
    ("post") it. maxlen defaults to the longest sequence; the steps' own shape is kept."""
    for name, given in (("padding", padding), ("truncating", truncating)):
        if given not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {name} must be 'pre' or 'post'; received "
                             f"{name}={given!r}")
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: sequences must be a list of iterables")
    arrays = [np.asarray(s) for s in sequences]
    lengths = [len(a) for a in arrays]
    sample_shape = next((a.shape[1:] for a in arrays if len(a)), ())
    if maxlen is None:
        maxlen = max(lengths, default=0)
    if isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be a non-negative integer or None; "
                         f"received maxlen={maxlen!r}")
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and isinstance(value, str):
        raise ValueError(f"pad_sequences: value {value!r} does not fit dtype {dtype}")
    out = np.full((len(arrays), int(maxlen)) + sample_shape, value, dtype)
    for i, array in enumerate(arrays):
        if not len(array) or not maxlen:
            continue
        kept = array[-maxlen:] if truncating == "pre" else array[:maxlen]
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"pad_sequences: sequence {i} has steps of shape "
                             f"{kept.shape[1:]}, others {sample_shape}")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out
