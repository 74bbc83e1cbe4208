"""Whole-model `.keras` files in Keras 3's zip layout: `save_model` and `load_model`.

Layout (Keras 3.15 `saving_lib`): a zip archive of stored (uncompressed) members

    metadata.json      {"keras_version": "3.15.1", "date_saved": "2026-01-31@12:00:00", ...}
    config.json        `serialize_keras_object(model)`: module, class_name, config,
                       registered_name, build_config, compile_config
    model.weights.h5   the weights, then the optimizer's variables (`.weights.h5` layout)

Keras adds an `assets/` folder only for layers that save assets; nbkeras's have none. A
directory holding the same three files (`zipped=False`) reads the same.

Writing is atomic: the archive is written beside the target under a temporary name and
moved over it, so a failed save (a `get_config` that raises, a full disk) leaves the
previous file as it was. Reading is defensive: the archive's member names are checked (no
`..`, no absolute paths), members are read within size bounds (a member that declares a huge
size, or far more than it stores, is refused), only `model.weights.h5` is copied out, under
a fixed name into a fresh temporary directory that is removed afterwards, and the weights
are checked against the rebuilt model before any is assigned. Every problem with a file's
contents raises `InvalidArchiveError` (a ValueError) naming the file and the entry.
"""
from __future__ import annotations

import collections
import contextlib
import datetime
import json
import os
import shutil
import tempfile
import time
import zipfile
import zlib

from .._version import __version__
from ..utils.file_utils import atomic_write_path

KERAS_VERSION = "3.15.1"     # the Keras release whose format these files follow
SUFFIX = ".keras"
METADATA = "metadata.json"
CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
MAX_JSON_BYTES = 256 << 20           # a config of millions of layers stays far below
MAX_EXPANSION = 100                  # Keras stores members; deflate cannot pass ~1032x
EXPANSION_FLOOR_BYTES = 1 << 20      # small members may compress well


class InvalidArchiveError(ValueError):
    """A `.keras` file (or model directory) that cannot be loaded: not a zip archive, a
    member missing, unsafe or too large, invalid JSON, a config nbkeras cannot rebuild, or
    weights that do not fit the model. The message names the file and the entry."""


class InvalidArchiveTypeError(InvalidArchiveError, TypeError):
    """An InvalidArchiveError caused by a TypeError (a class that cannot be rebuilt from its
    config, which Keras reports as a TypeError): `except TypeError` still catches it."""


# ---- saving ---------------------------------------------------------------------------------
def save_model(model, filepath, overwrite: bool = True, zipped: bool | None = None,
               **kwargs) -> None:
    """Write `model` (its config, weights and compiled state) to `filepath`, a `.keras`
    file, or with `zipped=False` a directory of the same members, as Keras 3 does.

    `include_optimizer` is accepted and ignored, as Keras does for `.keras` files (the
    optimizer's state is always saved). `overwrite=False` refuses an existing target.
    """
    kwargs.pop("include_optimizer", None)
    if kwargs:
        raise ValueError(f"The following argument(s) are not supported: {list(kwargs)}")
    path = os.fspath(filepath)
    zipped = True if zipped is None else zipped
    if path.endswith((".h5", ".hdf5")):
        raise ValueError(f"nbkeras does not write Keras 2's legacy HDF5 model files; save to a "
                         f"`.keras` file instead. Received: filepath={path}")
    if zipped and not path.endswith(SUFFIX):
        raise ValueError(f"Invalid `filepath` argument: expected a `.keras` extension. "
                         f"Received: filepath={path}")
    if not zipped and path.endswith(SUFFIX):
        raise ValueError("When using `zipped=False`, the `filepath` argument should not end in "
                         f"`.keras`. Received: filepath={path}")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_model: {path!r} exists and overwrite=False")
    config_json, metadata_json = _serialized(model)   # fails before anything is written
    with tempfile.TemporaryDirectory(prefix="nbkeras-save-") as scratch:
        weights = os.path.join(scratch, WEIGHTS)
        _weights_h5().save_weights(model, weights)
        if zipped:
            with atomic_write_path(path) as temporary:
                with zipfile.ZipFile(temporary, "w", zipfile.ZIP_STORED) as archive:
                    for name, text in ((METADATA, metadata_json), (CONFIG, config_json)):
                        with archive.open(name, "w") as target:   # dated 1980, as Keras's
                            target.write(text.encode())
                    member = zipfile.ZipInfo(WEIGHTS, date_time=time.localtime()[:6])
                    with open(weights, "rb") as source, archive.open(member, "w") as target:
                        shutil.copyfileobj(source, target, 1 << 20)
        else:
            os.makedirs(path, exist_ok=True)
            for name, text in ((METADATA, metadata_json), (CONFIG, config_json)):
                with atomic_write_path(os.path.join(path, name)) as temporary:
                    with open(temporary, "w") as f:
                        f.write(text)
            with atomic_write_path(os.path.join(path, WEIGHTS)) as temporary:
                shutil.copyfile(weights, temporary)


def _serialized(model) -> tuple[str, str]:
    """(config.json, metadata.json) texts, as Keras writes them (`json.dumps` defaults)."""
    from .serialization_lib import serialize_keras_object

    config = json.dumps(serialize_keras_object(model))
    metadata = json.dumps({"keras_version": KERAS_VERSION,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                           "nbkeras_version": __version__})
    return config, metadata


# ---- loading --------------------------------------------------------------------------------
def load_model(filepath, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True):
    """The model saved in `filepath` (a `.keras` file written by nbkeras or Keras 3, or a
    directory written with `zipped=False`), with its weights, and compiled with its
    optimizer state restored when `compile` (and the file was saved compiled).

    `custom_objects` maps class names to your classes (registered classes are found
    without it); `safe_mode=True` refuses Lambda bytecode and classes from outside nbkeras.
    Raises FileNotFoundError for a missing file, InvalidArchiveError (a ValueError) naming
    the file and the entry for anything wrong inside it.
    """
    path = os.fspath(filepath)
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, CONFIG)):
        source = _Directory(path)
    elif path.endswith(SUFFIX):
        source = _Archive(path)
    else:
        raise ValueError(f"File format not supported: filepath={path}. nbkeras loads Keras 3 "
                         "`.keras` files (and directories saved with `zipped=False`); for "
                         "`.weights.h5` files build the model and call `model.load_weights`.")
    with source:
        model = _model_from_config(source, custom_objects, compile, safe_mode)
        _load_weights(model, source)
    return model


def load_archive_weights(model, filepath, skip_mismatch: bool = False) -> None:
    """Read the weights (and optimizer state) of a `.keras` file into `model`, built as the
    saved one, all or nothing (as `load_weights` does for `.weights.h5` files)."""
    with _Archive(os.fspath(filepath)) as archive:
        _load_weights(model, archive, skip_mismatch)


def _load_weights(model, source: "_Source", skip_mismatch: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="nbkeras-load-") as scratch:
        weights = source.copy_member(WEIGHTS, os.path.join(scratch, WEIGHTS))
        with source.reading(WEIGHTS, copy=weights):
            _weights_h5().load_weights(model, weights, skip_mismatch=skip_mismatch)


def _model_from_config(source, custom_objects, compile: bool, safe_mode: bool):
    from .serialization_lib import deserialize_keras_object

    if source.has(METADATA):
        _json_object(source, METADATA)   # only checked: Keras does not read it either
    config = _json_object(source, CONFIG)
    if not compile:
        config["compile_config"] = None
    with source.reading(CONFIG):
        return deserialize_keras_object(config, custom_objects, safe_mode=safe_mode)


def _json_object(source, name: str) -> dict:
    with source.reading(name):
        value = json.loads(source.read_member(name, MAX_JSON_BYTES).decode("utf-8"))
        if not isinstance(value, dict):
            raise ValueError(f"expected a JSON object; received {type(value).__name__}")
    return value


def _weights_h5():
    from . import weights_h5

    return weights_h5


# ---- the two sources: a zip archive, a directory --------------------------------------------
# What reading a damaged member can raise (zipfile, json, h5py, a config's constructors).
_READ_ERRORS = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError, OSError,
                RuntimeError, EOFError, zipfile.BadZipFile, zlib.error)


class _Source:
    """Named members of a saved model; errors name the file and the entry."""

    path: str

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release by default (a directory)."""

    @contextlib.contextmanager
    def reading(self, name: str, copy: str | None = None):
        """Errors raised inside become InvalidArchiveError naming the file and `name` (the
        member's temporary `copy`, if any, is named as the member)."""
        try:
            yield
        except InvalidArchiveError:
            raise
        except _READ_ERRORS as error:
            kind = InvalidArchiveTypeError if isinstance(error, TypeError) else InvalidArchiveError
            message = str(error) if copy is None else str(error).replace(copy, name)
            raise kind(f"Cannot load {self.path!r}: entry {name!r}: {type(error).__name__}: "
                       f"{message}") from error

    def error(self, name: str, problem: str) -> InvalidArchiveError:
        return InvalidArchiveError(f"Cannot load {self.path!r}: entry {name!r}: {problem}")


class _Archive(_Source):
    """A `.keras` zip file, opened and checked: a zip, with safe member names."""

    def __init__(self, path: str):
        self.path = path
        if not os.path.isfile(path):
            raise FileNotFoundError(f"load_model: no such file {path!r}")
        try:
            self.zip = zipfile.ZipFile(path, "r")
        except _READ_ERRORS as error:
            raise InvalidArchiveError(f"Cannot load {path!r}: it is not a valid `.keras` zip "
                                      f"archive (truncated or corrupt): {error}") from error
        names = self.zip.namelist()
        repeated = {name for name, count in collections.Counter(names).items() if count > 1}
        for name in names:
            parts = name.replace("\\", "/").split("/")
            problem = ("unsafe member name (absolute, or with '..')"
                       if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]
                       else "the archive holds this member twice" if name in repeated
                       else None)
            if problem:
                self.zip.close()
                raise self.error(name, f"{problem}; a `.keras` file holds metadata.json, "
                                 "config.json and model.weights.h5")

    def close(self) -> None:
        self.zip.close()

    def has(self, name: str) -> bool:
        return name in self.zip.NameToInfo

    def _info(self, name: str, limit: int | None) -> zipfile.ZipInfo:
        """The member's entry, after the size checks: present, within `limit`, and not
        declaring far more than it stores (a decompression bomb)."""
        info = self.zip.NameToInfo.get(name)
        if info is None:
            names = self.zip.namelist()
            raise self.error(name, f"missing from the archive (it holds {names[:10]}"
                             f"{f' and {len(names) - 10} more' if len(names) > 10 else ''})")
        if limit is not None and info.file_size > limit:
            raise self.error(name, f"declares {info.file_size} bytes, more than the {limit} "
                             "allowed for it")
        if info.file_size > max(EXPANSION_FLOOR_BYTES, MAX_EXPANSION * info.compress_size):
            raise self.error(name, f"declares {info.file_size} bytes but stores only "
                             f"{info.compress_size}: refused as a potential decompression bomb")
        return info

    def read_member(self, name: str, limit: int) -> bytes:
        info = self._info(name, limit)
        with self.reading(name), self.zip.open(info) as f:
            return f.read()   # zipfile stops at the declared size and checks the CRC

    def copy_member(self, name: str, target: str) -> str:
        """Copy the member to `target` (a path we chose, never the member's name)."""
        info = self._info(name, None)
        free = shutil.disk_usage(os.path.dirname(target)).free
        if info.file_size > free:
            raise self.error(name, f"declares {info.file_size} bytes; the temporary directory "
                             f"has {free} free")
        with self.reading(name), self.zip.open(info) as source, open(target, "wb") as f:
            shutil.copyfileobj(source, f, 1 << 20)   # stops at the declared size; CRC checked
        return target


class _Directory(_Source):
    """A model saved with `zipped=False`: the same members as files."""

    def __init__(self, path: str):
        self.path = path

    def has(self, name: str) -> bool:
        return os.path.isfile(os.path.join(self.path, name))

    def _file(self, name: str) -> str:
        member = os.path.join(self.path, name)
        if not os.path.isfile(member):
            raise self.error(name, "missing from the directory")
        return member

    def read_member(self, name: str, limit: int) -> bytes:
        member = self._file(name)
        if os.path.getsize(member) > limit:
            raise self.error(name, f"holds {os.path.getsize(member)} bytes, more than the "
                             f"{limit} allowed for it")
        with open(member, "rb") as f:
            return f.read()

    def copy_member(self, name: str, target: str) -> str:
        return self._file(name)   # read in place: nothing to copy
