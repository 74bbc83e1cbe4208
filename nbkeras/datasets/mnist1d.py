"""MNIST-1D (Greydanus, 2020): 10 classes of 1-D signals of length 40, 4000 train and 1000
test, regenerated offline by the `mnist1d` package and cached on disk.

    (x_train, y_train), (x_test, y_test) = nk.datasets.mnist1d.load_data()
    x_train.shape, x_train.dtype, y_train.dtype   # (4000, 40) float32 int64

The data are made with `mnist1d.data.make_dataset(get_dataset_args())` (the package's
default arguments, seed 42), never with `get_dataset`, which downloads a pickle from the
internet by default. The regenerated set is the package's own recipe; it is not promised to
be bit-identical to the pickle published with the paper. Generating takes a couple of
seconds, so the arrays are cached as `mnist1d.npz` (keys `x_train`, `y_train`, `x_test`,
`y_test`, as Keras's `mnist.npz`) in `~/.nbkeras/datasets/` (`$NBKERAS_HOME/datasets/` when
that variable is set), and every later call reads the cache.

`mnist1d` is optional (`pip install "nbkeras[datasets]"`). It pulls in matplotlib and
requests (it imports both, and matplotlib.pyplot, when imported) but not torch; nbkeras
imports it only when the cache has to be made.
"""
from __future__ import annotations

import os
import random
import warnings

import numpy as np

from ..utils.file_utils import atomic_write_path
from ._common import cache_path, missing_dependency

KEYS = ("x_train", "y_train", "x_test", "y_test")
LENGTH = 40
NUM_CLASSES = 10


def load_data(path: str | os.PathLike | None = None):
    """`((x_train, y_train), (x_test, y_test))`: x float32 (n, 40), y int64 in 0..9.

    `path` is the cache file: by default `mnist1d.npz` in the cache folder; a relative path
    is taken inside that folder (as Keras's `load_data(path=...)`), an absolute one as it
    is. A missing or unreadable cache is (re)generated and written atomically (a temporary
    file beside it, then `os.replace`), so an interrupted run never leaves a broken cache.
    """
    file = cache_path("mnist1d.npz" if path is None else path)
    if os.path.exists(file):
        try:
            return _unpack(_read(file))
        except (OSError, ValueError, KeyError) as error:
            warnings.warn(f"The MNIST-1D cache {file!r} is unreadable ({error}); "
                          "regenerating it", stacklevel=2)
    arrays = _generate()
    os.makedirs(os.path.dirname(file), exist_ok=True)
    with atomic_write_path(file) as temp:
        with open(temp, "wb") as handle:
            np.savez(handle, **arrays)
    return _unpack(arrays)


def _generate() -> dict[str, np.ndarray]:
    """Run the package's generator. It reseeds numpy's and Python's global random state
    (`set_seed`), so both are saved and restored around it."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as error:
        raise missing_dependency("mnist1d", "mnist1d", error) from None
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    arrays = {"x_train": data["x"], "y_train": data["y"],
              "x_test": data["x_test"], "y_test": data["y_test"]}
    return _checked({k: np.asarray(v) for k, v in arrays.items()}, "the mnist1d package")


def _read(file: str) -> dict[str, np.ndarray]:
    with np.load(file, allow_pickle=False) as npz:
        missing = [k for k in KEYS if k not in npz.files]
        if missing:
            raise KeyError(f"missing arrays {missing}")
        return _checked({k: npz[k] for k in KEYS}, repr(file))


def _checked(arrays: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """float32 signals (n, 40) and int64 labels (n,) in 0..9, or ValueError naming `source`."""
    out = {}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 2 or x.shape[1] != LENGTH or y.shape != (x.shape[0],) \
                or x.dtype.kind != "f" or y.dtype.kind not in "iu" \
                or (y.size and (y.min() < 0 or y.max() >= NUM_CLASSES)):
            raise ValueError(f"MNIST-1D arrays from {source} are not (n, {LENGTH}) float "
                             f"signals with labels in 0..9: x_{split} {x.dtype} {x.shape}, "
                             f"y_{split} {y.dtype} {y.shape}")
        out[f"x_{split}"] = x.astype(np.float32)
        out[f"y_{split}"] = y.astype(np.int64)
    return out


def _unpack(arrays: dict[str, np.ndarray]):
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
