"""Weights files in Keras 2's legacy HDF5 layout (`.h5`, `.hdf5`), which Keras 3 still
reads: the ImageNet files Keras publishes (`vgg16_weights_tf_dim_ordering_tf_kernels.h5`,
...) and what Keras's `legacy_h5_format.save_weights_to_hdf5_group` writes.

    attrs: layer_names = [b"conv2d", b"flatten", b"dense"]     (or layer_names0, 1, ...
           keras_version, backend                                 when chunked)
    conv2d/           attrs: weight_names = [b"conv2d/kernel:0", b"conv2d/bias:0"]
    conv2d/conv2d/kernel:0, conv2d/conv2d/bias:0               datasets, at those names
    flatten/          attrs: weight_names = []
    top_level_model_weights/                                   optional: the model's own

A whole model saved as `.h5` keeps this under `model_weights`. A layer's weights are in
the legacy order, trainable then non-trainable (`layer.trainable_weights +
layer.non_trainable_weights`).

Loading follows Keras 3.15's `load_weights_from_hdf5_group`: by topology (the model's
layers that have weights, in `model.layers` order, against the file's layers that list
weights, in `layer_names` order), or with `by_name=True` each file layer into the model's
layers of that name, the others skipped. It is all-or-nothing: every count, shape and dtype
is checked against the file's declared datasets (metadata only) before any data is read,
and nothing is assigned unless all of it loads. With `skip_mismatch=True` a weight whose
shape differs is skipped with a warning (and, by name, a layer whose count differs), as in
Keras.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass

import numpy as np

from .weights_h5 import SUFFIX as WEIGHTS_SUFFIX
from .weights_h5 import _import_h5py

TOP_LEVEL = "top_level_model_weights"


@dataclass(frozen=True)
class Assignment:
    """One variable of the model and the dataset of the file that goes into it."""

    variable: object
    location: str        # the dataset's path in the file, for messages


def is_legacy_path(filepath) -> bool:
    """Whether Keras reads `filepath` as a legacy file: `.h5` or `.hdf5`, but not
    `.weights.h5`."""
    path = str(filepath)
    return path.endswith((".h5", ".hdf5")) and not path.endswith(WEIGHTS_SUFFIX)


def load_legacy_weights(model, filepath, *, skip_mismatch: bool = False,
                        by_name: bool = False) -> None:
    """Read the legacy HDF5 weights file `filepath` into `model` (a built model with
    `layers`), by topology or, with `by_name`, by layer name; on any error raise ValueError
    naming the file, the layer and the shapes, and change nothing.

    A missing file is a FileNotFoundError; a file that is not HDF5 or has no `layer_names`
    (a Keras 3 `.weights.h5`, say) is a ValueError."""
    path = os.fspath(filepath)
    h5py = _import_h5py()
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_weights: no such file {path!r}")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"load_weights: cannot open {path!r} as an HDF5 weights file (it is "
                         f"truncated, corrupt or not HDF5): {error}") from error
    with f, _reading(path):
        root = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f \
            else f
        file = _LegacyFile(root, path, h5py)
        if file.layer_names is None:
            raise ValueError(f"load_weights: {path!r} is not in Keras's legacy HDF5 weights "
                             "layout (its root has no `layer_names` attribute); Keras 3 "
                             "weights files end in `.weights.h5`")
        plan = (_plan_by_name if by_name else _plan_by_topology)(model, file, skip_mismatch)
        plan += _plan_top_level(model, file, skip_mismatch, by_name)
        values = [np.asarray(root[item.location][()]) for item in plan]
    _assign_all(plan, values, path)


class _LegacyFile:
    """The layers of a legacy file: their names, in `layer_names` order, and for each the
    dataset paths its `weight_names` list."""

    def __init__(self, root, path: str, h5py):
        self.root, self.source, self._h5py = root, repr(path), h5py
        self.layer_names = _attribute_list(root, "layer_names")

    def weight_locations(self, name: str) -> list[str]:
        group = self.root.get(name)
        if not isinstance(group, self._h5py.Group):
            raise ValueError(f"load_weights: {self.source} lists layer '{name}' in "
                             f"`layer_names` but has no group '{name}'. Nothing was changed.")
        locations = [f"{name}/{weight}" for weight in _attribute_list(group, "weight_names")
                     or []]
        for location in locations:
            if not isinstance(self.root.get(location), self._h5py.Dataset):
                raise ValueError(f"load_weights: {self.source} lists weight '{location}' but "
                                 "has no dataset there. Nothing was changed.")
        return locations


def _attribute_list(group, name: str) -> list[str] | None:
    """The strings of attribute `name` (or of its chunks `name0`, `name1`, ...), None when
    the group has neither."""
    if name in group.attrs:
        chunks = [group.attrs[name]]
    else:
        chunks = []
        while f"{name}{len(chunks)}" in group.attrs:
            chunks.append(group.attrs[f"{name}{len(chunks)}"])
        if not chunks:
            return None
    return [item.decode("utf8") if hasattr(item, "decode") else str(item)
            for chunk in chunks for item in np.atleast_1d(chunk)]


def _legacy_weights(layer) -> list:
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _plan_by_topology(model, file: _LegacyFile, skip_mismatch: bool) -> list[Assignment]:
    """The model's layers with weights paired in order with the file's layers that list
    weights; a different number of them, or of weights in a pair, is a ValueError."""
    layers = [layer for layer in model.layers if _legacy_weights(layer)]
    stored = [(name, locations) for name in file.layer_names
              if (locations := file.weight_locations(name))]
    if len(stored) != len(layers):
        raise ValueError(f"Cannot load {file.source} into {_describe(model)}: layer count "
                         f"mismatch. The model has {len(layers)} layers with weights "
                         f"({[layer.name for layer in layers]}) but the file holds "
                         f"{len(stored)} ({[name for name, _ in stored]}). Nothing was "
                         "changed.")
    plan = []
    for k, (layer, (name, locations)) in enumerate(zip(layers, stored)):
        where = f"layer #{k} ({_describe(layer)}, '{name}' in the file)"
        plan += _plan_layer(_legacy_weights(layer), locations, file, where, skip_mismatch,
                            skip_count=False)
    return plan


def _plan_by_name(model, file: _LegacyFile, skip_mismatch: bool) -> list[Assignment]:
    """Each file layer into every model layer of that name; model layers the file does not
    name keep their weights."""
    plan = []
    for k, name in enumerate(file.layer_names):
        locations = file.weight_locations(name)
        for layer in (layer for layer in model.layers if layer.name == name):
            where = f"layer #{k} ({_describe(layer)})"
            plan += _plan_layer(_legacy_weights(layer), locations, file, where,
                                skip_mismatch, skip_count=skip_mismatch)
    return plan


def _plan_top_level(model, file: _LegacyFile, skip_mismatch: bool, by_name: bool
                    ) -> list[Assignment]:
    """The model's own weights (not its layers') from `top_level_model_weights`, when the
    file has that group."""
    if TOP_LEVEL not in file.root:
        return []
    in_layers = {id(w) for layer in model.layers for w in layer.weights}
    own = [w for w in model.weights if id(w) not in in_layers]
    return _plan_layer(own, file.weight_locations(TOP_LEVEL), file,
                       f"the top-level weights of {_describe(model)}", skip_mismatch,
                       skip_count=by_name and skip_mismatch)


def _plan_layer(variables: list, locations: list[str], file: _LegacyFile, where: str,
                skip_mismatch: bool, *, skip_count: bool) -> list[Assignment]:
    """Pair a layer's variables with its datasets, checking the count and each shape and
    dtype from the file's metadata."""
    if len(locations) != len(variables):
        message = (f"Cannot load {file.source} into {where}: weight count mismatch. It has "
                   f"{len(variables)} weights ({[_name(v) for v in variables]}) but the "
                   f"file holds {len(locations)} ({locations})")
        _skip_or_refuse(message, skip_count, "its weights")
        return []
    plan = []
    for variable, location in zip(variables, locations):
        dataset = file.root[location]
        if dataset.dtype.kind not in "biuf":
            raise ValueError(f"Cannot load {file.source} into {where}: '{location}' holds "
                             f"{dataset.dtype} data, not numbers. Nothing was changed.")
        if tuple(dataset.shape) != tuple(variable.shape):
            message = (f"Cannot load {file.source} into {where}: weight '{_name(variable)}' "
                       f"has shape {tuple(variable.shape)} but the file holds shape "
                       f"{tuple(dataset.shape)} at '{location}'")
            _skip_or_refuse(message, skip_mismatch, "its value")
            continue
        plan.append(Assignment(variable, location))
    return plan


def _assign_all(plan: list[Assignment], values: list[np.ndarray], path: str) -> None:
    """Assign every value; if one fails, give the variables assigned so far their old
    values back, then raise ValueError."""
    before = [item.variable.numpy() for item in plan]
    for done, (item, value) in enumerate(zip(plan, values)):
        try:
            item.variable.assign(value)
        except Exception as error:
            for restored, old in zip(plan[:done], before):
                restored.variable.assign(old)
            raise ValueError(f"Cannot load {path!r} into weight '{_name(item.variable)}' (from "
                             f"'{item.location}'): {error}. Nothing was changed.") from error


@contextlib.contextmanager
def _reading(path: str):
    """h5py's errors on a damaged file become ValueErrors naming the file."""
    try:
        yield
    except ValueError:
        raise
    except (OSError, RuntimeError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"Cannot read {path!r}: the file is truncated or corrupt "
                         f"({error}). Nothing was changed.") from error


def _describe(layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _name(variable) -> str:
    return getattr(variable, "path", None) or getattr(variable, "name", "?")


def _skip_or_refuse(message: str, skip: bool, kept: str) -> None:
    """Raise `message` (nothing changed) unless `skip`; then warn that the layer or weight is
    skipped and keeps `kept`."""
    if not skip:
        raise ValueError(f"{message}. Nothing was changed.")
    warnings.warn(f"{message}; skipping it, it keeps {kept}", stacklevel=5)
