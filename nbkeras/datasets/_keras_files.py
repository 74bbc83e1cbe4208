"""Shared by the loaders of Keras's downloadable data sets (mnist, fashion_mnist, cifar10,
cifar100): finding the file a user put in place (nbkeras never downloads), the error that
says what to fetch and where, and a pickle reader that can only rebuild plain data."""
from __future__ import annotations

import os
import pickle

import numpy as np

from ._common import cache_path

KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def locate(dataset: str, path, default: str, url: str) -> str:
    """`path` (default `default`) inside $NBKERAS_HOME/datasets, or as given if absolute; a
    FileNotFoundError naming the file, its URL and where to put it when it is not there."""
    where = cache_path(default if path is None else path)
    if not os.path.exists(where):
        raise FileNotFoundError(
            f"nbkeras.datasets.{dataset}: {where} does not exist, and nbkeras does not "
            f"download. Fetch {url} and put it at {where} (or pass its location as "
            f"load_data(path=...)).")
    return where


class RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds only numpy arrays, dtypes and Python's plain containers: a pickle naming any
    other global (a code-running gadget) is refused."""

    ALLOWED = frozenset({("numpy", "ndarray"), ("numpy", "dtype"),
                         ("numpy.core.multiarray", "_reconstruct"),
                         ("numpy._core.multiarray", "_reconstruct")})

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data set file; "
                                     "the file may be corrupted or malicious")


def load_pickled_batch(handle, label_key: str = "labels"):
    """(data uint8 (N, 3, 32, 32), labels list) of one CIFAR batch file (a Python 2 pickle of
    a dict with bytes keys)."""
    batch = {key.decode("utf8") if isinstance(key, bytes) else key: value
             for key, value in RestrictedUnpickler(handle, encoding="bytes").load().items()}
    data = np.asarray(batch["data"])
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def read_cifar(dataset: str, path, folder: str, archive: str, url: str, members, label_key):
    """{member: (data, labels)} of CIFAR batch files, read from `path`: the folder `folder`
    (cifar-10-batches-py, cifar-100-python), a folder holding it (Keras's extracted
    download), or the downloaded archive itself (members read from it, nothing extracted).
    Default: that folder, else that archive, in $NBKERAS_HOME/datasets."""
    import tarfile

    if path is None:
        path = folder if os.path.exists(cache_path(folder)) or \
            not os.path.exists(cache_path(archive)) else archive
    where = cache_path(path)
    if not os.path.exists(where):
        raise FileNotFoundError(
            f"nbkeras.datasets.{dataset}: {where} does not exist, and nbkeras does not "
            f"download. Fetch {url} and put it at {cache_path(archive)} (or unpack it there, "
            f"giving {cache_path(folder)}), or pass its location as load_data(path=...).")
    if os.path.isdir(where):
        inner = os.path.join(where, folder)
        where = inner if os.path.isdir(inner) else where
        batches = {}
        for name in members:
            member = os.path.join(where, name)
            if not os.path.isfile(member):
                raise FileNotFoundError(f"nbkeras.datasets.{dataset}: {member} is missing; "
                                        f"unpack all of {url} into {where}")
            with open(member, "rb") as handle:
                batches[name] = load_pickled_batch(handle, label_key)
        return batches
    with tarfile.open(where, "r:*") as tar:
        batches = {}
        for name in members:
            try:
                handle = tar.extractfile(f"{folder}/{name}")
            except KeyError:
                handle = None
            if handle is None:
                raise FileNotFoundError(f"nbkeras.datasets.{dataset}: {where} has no member "
                                        f"{folder}/{name}; is it {url}?")
            batches[name] = load_pickled_batch(handle, label_key)
        return batches
