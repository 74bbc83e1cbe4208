"""Keras 3's HDF5 store (`H5IOStore`) over an open h5py file: the two ends the walker uses.

A saveable at path `layers/dense` keeps its state in the group `layers/dense/vars` (the
root's in `vars`), one dataset per entry ("0", "1", ...) with the value's shape and dtype.
As Keras 3.15, the writer creates the `vars` group of every named saveable, with the
saveable's name in its `name` attribute, even when it saves nothing (Flatten, Dropout, an
InputLayer); unnamed saveables get a group only once they write. The reader treats a
missing group as an empty one, as Keras does (older files have no empty groups).
"""
from __future__ import annotations

import contextlib

import numpy as np

from .walker import Layout


def vars_location(path: str, key: str | None = None) -> str:
    """The HDF5 path of a saveable's `vars` group (or of one entry in it)."""
    group = f"{path}/vars" if path else "vars"
    return group if key is None else f"{group}/{key}"


class H5Writer:
    """`make(path, name)` gives the store of one saveable: `store[key] = value` writes the
    dataset `<path>/vars/<key>`."""

    def __init__(self, file):
        self.file = file

    def make(self, path: str, name: str | None = None) -> "_VarsWriter":
        return _VarsWriter(self.file, vars_location(path), name)


class _VarsWriter:
    def __init__(self, file, location: str, name: str | None):
        self._file, self._location, self._group = file, location, None
        if name is not None:
            self._group = file.create_group(location)
            self._group.attrs["name"] = name

    def __setitem__(self, key: str, value) -> None:
        if self._group is None:
            self._group = self._file.create_group(self._location)
        self._group.create_dataset(key, data=np.asarray(
            value.numpy() if hasattr(value, "numpy") else value))

    def keys(self):
        return list(self._group.keys()) if self._group is not None else []

    def __len__(self) -> int:
        return len(self.keys())


class H5Reader:
    """Reads the declared layout (metadata only) and the data of `vars` groups; h5py's
    errors on a damaged file become ValueErrors naming the file and the group."""

    def __init__(self, file, filepath: str):
        import h5py

        self.file, self.source, self._h5py = file, repr(filepath), h5py

    def location(self, path: str, key: str | None = None) -> str:
        return vars_location(path, key)

    def layout(self, path: str) -> Layout | None:
        """{key: (declared shape, dtype)} of the group at `path`, None when it is absent.
        Reads no data."""
        location = vars_location(path)
        with self._reading(location):
            group = self.file.get(location)
            if group is None:
                return None
            if not isinstance(group, self._h5py.Group):
                raise _NotWeights(f"'{location}' in {self.source} is not a group")
            layout = {}
            for key in group.keys():
                dataset = group.get(key)
                if not isinstance(dataset, self._h5py.Dataset):
                    raise _NotWeights(f"'{location}/{key}' in {self.source} is not a "
                                      "dataset")
                layout[key] = (dataset.shape, dataset.dtype)
            return layout

    def read(self, path: str) -> dict[str, np.ndarray]:
        location = vars_location(path)
        with self._reading(location):
            group = self.file.get(location)
            return {} if group is None else {key: np.asarray(group[key][()]) for key in group}

    def stored_locations(self) -> set[str]:
        """The groups that directly hold a dataset."""
        found: set[str] = set()

        def record(name, node):   # returns None: a non-None return would stop the visit
            if isinstance(node, self._h5py.Dataset):
                found.add(name.rpartition("/")[0])

        with self._reading("the file's groups"):
            self.file.visititems(record)
        return found

    @contextlib.contextmanager
    def _reading(self, what: str):
        try:
            yield
        except _NotWeights:
            raise
        except (OSError, RuntimeError, KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"Cannot read {what} from {self.source}: the file is truncated or "
                             f"corrupt ({error}). Nothing was changed.") from error


class _NotWeights(ValueError):
    """A readable file whose groups are not laid out as weights."""
