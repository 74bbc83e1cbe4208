"""Weights files in Keras 3's `.weights.h5` layout: `save_weights` and `load_weights`.

Layout (Keras 3 `saving_lib.save_weights_only` with its `H5IOStore`; h5py, no file attrs):

    vars/0, ...                        the model's own variables (usually none)
    layers/                            Sequential and Functional models: `model.layers`
        dense/vars/0, dense/vars/1     a layer's own variables, in its own order:
        dense_1/vars/0, ...            `_trainable_variables + _non_trainable_variables`
        sequential/layers/dense/vars/0 a nested model: its layers nested under its group
        (input_layer)                  Functional models list their input layers too; having
                                       no variables, they take a number but write nothing
    head/vars/0                        a public attribute holding a layer (subclassed
    blocks/dense/vars/0                models and layers); a list/tuple/dict of layers
    blocks/dense_1/vars/0              is a container group
    optimizer/vars/0, 1, ...           optional: the optimizer's `variables`, in order

- A layer with variables gets a group with a `vars` subgroup; each variable is a dataset
  named by its position ("0", "1", ...) with the variable's shape and dtype. A layer
  without variables (Flatten, an InputLayer, a model's own group) gets no group, as in
  current Keras 3 (checked against 3.15); older Keras 3 versions wrote empty `vars` groups,
  which read the same.
- Inside a container (a model's `layers`, or a list/tuple/dict attribute) a layer's group
  is NOT its name but the snake_case of its class, numbered in order of appearance
  (`dense`, `dense_1`, ...), as Keras does: names like `dense_7` depend on how many layers
  the process made before, so they would not match between two builds of one model.
- Children are visited as Keras visits them: first `layers` (Sequential and Functional
  only), then, sorted by name, the public attributes holding layers or containers of
  layers, with a Model's `layers` property among them. So in a subclassed model with
  attributes `blocks`, `hidden` and `out`, `out` sorts after `layers` and is stored as
  `layers/dense_3` (as Keras does), not as `out`. nbkeras tracks only public attributes, so
  private ones are not walked; a sublayer of a plain Layer reached no other way (appended
  to `_layers` by hand) goes under `_layers/<class>`. A layer reached twice (shared) is
  stored once, under the first path.

Reading is all-or-nothing: `load_weights` reads and checks every group and dataset it needs
(presence, count, shape, a readable file) before assigning anything, so on any error the
model's (and the optimizer's) variables are unchanged. Writing is atomic: the file is
written beside the target under a temporary name, flushed, and moved over it with
`os.replace`, so a crash leaves the old file (or none), never a half-written one.

h5py is optional: `pip install "nbkeras[h5]"`.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from ..layers.layer import Layer
from ..serialization import snake_case
from ..utils.file_utils import atomic_write_path

SUFFIX = ".weights.h5"
OPTIMIZER_PATH = "optimizer"


@dataclass
class _Entry:
    """One saveable object: its group in the file, who it is, its own variables."""

    path: str          # "" for the root model, "layers/dense_1", "optimizer"
    owner: str         # "Dense 'dense_7'", for messages
    variables: list
    built: bool = True

    @property
    def vars_path(self) -> str:
        return f"{self.path}/vars" if self.path else "vars"


# ---- public API ---------------------------------------------------------------------------
def save_weights(model: Layer, filepath, optimizer=None, *, overwrite: bool = True) -> None:
    """Write the weights of `model` (a model or any layer) to `filepath` (`*.weights.h5`).

    `optimizer`: None stores `model.optimizer`'s variables when the model has one (an object
    with a `variables` list, as after `compile`); an optimizer object stores that one's;
    False stores none. `overwrite=False` refuses to replace an existing file. An unbuilt
    model is a ValueError (as in Keras). The file appears complete or not at all.
    """
    path = _check_filepath(filepath)
    h5py = _import_h5py()
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_weights: {path!r} exists and overwrite=False")
    if not getattr(model, "built", True):
        raise ValueError(f"save_weights: {type(model).__name__} '{model.name}' has not been "
                         "built, so it has no weights yet; build it first (give it an Input, "
                         "call it on data, or call build(input_shape)), as Keras requires")
    entries = _entries(model)
    opt = _resolve_optimizer(model, optimizer)
    if opt is not None:
        entries.append(_Entry(OPTIMIZER_PATH, f"optimizer {type(opt).__name__}",
                              list(opt.variables)))
    snapshot = [(entry.vars_path, [_to_numpy(v) for v in entry.variables]) for entry in entries]
    with atomic_write_path(path) as temp:
        with h5py.File(temp, "w") as f:
            for vars_path, arrays in snapshot:
                if not arrays:   # as current Keras (3.15): no empty groups
                    continue
                group = f.create_group(vars_path)
                for i, array in enumerate(arrays):
                    group.create_dataset(str(i), data=array)


def load_weights(model: Layer, filepath, optimizer=None, *, skip_mismatch: bool = False):
    """Read `filepath` (`*.weights.h5`) into the variables of `model` (built the same way).

    Everything is read and checked first: a missing file raises FileNotFoundError; a
    corrupt or truncated file, a missing group, a wrong number of variables or a wrong
    shape raises ValueError naming the file and the layer (and variable), and nothing is
    assigned. With `skip_mismatch=True` a layer whose count or shapes differ is skipped
    with a warning instead (as Keras's `skip_mismatch`); unreadable files still raise.

    Optimizer state (`optimizer/vars`), when the file has it, goes to `optimizer`, or to
    `model.optimizer` when `optimizer` is None (False: ignored). It is assigned when the
    optimizer has exactly as many variables as the file, all shapes agreeing (a shape
    mismatch is a ValueError, before anything is assigned). Otherwise - typically an
    optimizer that has not yet built its slot variables, so it only holds `iterations` -
    nothing is assigned to it and the arrays are RETURNED: build the optimizer, then call
    `assign_optimizer_variables(optimizer, arrays)`.

    Returns None when the file had no optimizer state or it was assigned; else the list of
    saved optimizer arrays, in `optimizer.variables` order.
    """
    path = _check_filepath(filepath)
    h5py = _import_h5py()
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_weights: no such file {path!r}")
    entries = _entries(model)
    explicit = optimizer is not None and optimizer is not False
    opt = _resolve_optimizer(model, optimizer)

    plan: list[tuple] = []   # (variable, array) pairs, assigned only once all are read
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"load_weights: cannot open {path!r} as an HDF5 weights file (it is "
                         f"truncated, corrupt or not HDF5): {error}") from error
    with f:
        for entry in entries:
            arrays = _read_vars(f, entry.vars_path, entry.owner, path, h5py)
            problem = _mismatch(entry, arrays)
            if problem:
                if not skip_mismatch:
                    raise ValueError(f"load_weights: cannot load {path!r} into {entry.owner} "
                                     f"(group '{entry.vars_path}'): {problem}. The model's "
                                     "weights are unchanged.")
                warnings.warn(f"load_weights: skipping {entry.owner} (group "
                              f"'{entry.vars_path}' of {path!r}): {problem}", stacklevel=2)
                continue
            plan += zip(entry.variables, arrays or [])
        _check_no_extra_layers(f, model, path, skip_mismatch)
        saved_opt = _read_vars(f, f"{OPTIMIZER_PATH}/vars", "the optimizer state", path, h5py)
    result = None
    if saved_opt is None or optimizer is False:
        if explicit and saved_opt is None:
            raise ValueError(f"load_weights: {path!r} holds no optimizer state "
                             f"('{OPTIMIZER_PATH}/vars'), but an optimizer was passed")
    elif opt is not None and len(opt.variables) == len(saved_opt):
        plan += _optimizer_plan(opt, saved_opt, path)
    else:
        if opt is not None and getattr(opt, "built", False):
            warnings.warn(f"load_weights: the optimizer has {len(opt.variables)} variables "
                          f"but {path!r} holds {len(saved_opt)}; its state is not loaded "
                          "(returned instead)", stacklevel=2)
        result = saved_opt
    for variable, array in plan:
        variable.assign(array)
    return result


def assign_optimizer_variables(optimizer, arrays, filepath: str = "the saved state") -> None:
    """Assign `arrays` (as returned by `load_weights`) to `optimizer.variables`, once the
    optimizer has built its slots; checks the count and every shape before assigning."""
    for variable, array in _optimizer_plan(optimizer, list(arrays), filepath):
        variable.assign(array)


# ---- walking the model ----------------------------------------------------------------------
def _entries(model: Layer) -> list[_Entry]:
    """The saveable layers of `model` with their paths, in Keras's visiting order."""
    if not isinstance(model, Layer):
        raise TypeError(f"save_weights/load_weights expect an nbkeras Model or Layer; "
                        f"received {type(model).__name__}")
    entries: list[_Entry] = []
    visited: set[int] = set()

    def visit(layer: Layer, path: str) -> None:
        if id(layer) in visited:
            return
        visited.add(id(layer))
        own = list(layer._trainable_variables) + list(layer._non_trainable_variables)
        entries.append(_Entry(path, f"{type(layer).__name__} '{layer.name}'", own,
                              bool(layer.built)))
        for attr, child in _children(layer):
            child_path = f"{path}/{attr}" if path else attr
            if isinstance(child, Layer):
                visit(child, child_path)
            else:
                for name, item in _container_names(child):
                    visit(item, f"{child_path}/{name}")
        leftovers = [sub for sub in layer._layers if id(sub) not in visited]
        for name, item in _container_names(leftovers):
            visit(item, f"{path}/_layers/{name}" if path else f"_layers/{name}")

    visit(model, "")
    return entries


def _children(layer: Layer):
    """(attribute, value) pairs that may hold layers, in Keras's order: `layers` first for
    Sequential and Functional models; then, sorted by name, the public attributes and (for
    any Model, as Keras's `dir(model)` has it) the `layers` property."""
    from ..models.functional import Functional
    from ..models.model import Model
    from ..models.sequential import Sequential

    if isinstance(layer, (Sequential, Functional)):
        yield "layers", layer.layers
    attributes = {k: v for k, v in vars(layer).items() if not k.startswith("_")}
    if isinstance(layer, Model):
        attributes["layers"] = layer.layers
    for attr in sorted(attributes):
        value = attributes[attr]
        if isinstance(value, Layer) or _is_container(value):
            yield attr, value


def _is_container(value) -> bool:
    return isinstance(value, (list, tuple, dict, set))


def _container_names(container):
    """(group name, layer) for the layers in a container: snake_case class names numbered
    in order (`dense`, `dense_1`, ...); as Keras, a repeated layer still takes a number."""
    items = list(container.values()) if isinstance(container, dict) else list(container)
    used: dict[str, int] = {}
    for item in items:
        if not isinstance(item, Layer):
            continue
        name = snake_case(type(item).__name__)
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        yield name, item


# ---- reading and checking -------------------------------------------------------------------
def _read_vars(f, vars_path: str, owner: str, path: str, h5py) -> list[np.ndarray] | None:
    """The arrays of the `vars` group at `vars_path` (datasets "0", "1", ...), or None when
    the file has no such group. Turns h5py's errors on a damaged file into ValueError."""
    try:
        group = f.get(vars_path)
        if group is None:
            return None
        if not isinstance(group, h5py.Group):
            raise ValueError(f"load_weights: '{vars_path}' in {path!r} ({owner}) is not a group")
        keys = list(group.keys())
        expected = [str(i) for i in range(len(keys))]
        if sorted(keys, key=_int_or_inf) != expected:
            raise ValueError(f"load_weights: group '{vars_path}' of {path!r} ({owner}) should "
                             f"hold datasets named 0, 1, ...; it holds {sorted(keys)}")
        arrays = []
        for key in expected:
            dataset = group[key]
            if not isinstance(dataset, h5py.Dataset):
                raise ValueError(f"load_weights: '{vars_path}/{key}' in {path!r} ({owner}) is "
                                 "not a dataset")
            array = np.asarray(dataset[()])
            if array.dtype.kind not in "biuf":
                raise ValueError(f"load_weights: '{vars_path}/{key}' in {path!r} ({owner}) "
                                 f"holds {array.dtype} data, not numbers")
            arrays.append(array)
        return arrays
    except ValueError:
        raise
    except (OSError, RuntimeError, KeyError, TypeError) as error:
        raise ValueError(f"load_weights: cannot read {owner} (group '{vars_path}') from "
                         f"{path!r}: the file is truncated or corrupt ({error}). Nothing was "
                         "assigned.") from error


def _mismatch(entry: _Entry, arrays: list[np.ndarray]) -> str | None:
    """Why `arrays` cannot go into `entry`'s variables, or None."""
    if arrays is None:
        if not entry.variables:
            return None   # Keras writes an empty group; a file without it is fine too
        return (f"the file has no group '{entry.vars_path}' for its {len(entry.variables)} "
                f"variables ({_names(entry.variables)})")
    if len(arrays) != len(entry.variables):
        hint = (" (the layer was never built, so it has no variables yet: build the model "
                "the way it was built when saved, e.g. with an Input, before loading)"
                if not entry.variables and not entry.built else "")
        return (f"the layer has {len(entry.variables)} variables "
                f"({_names(entry.variables)}) but the file holds {len(arrays)}{hint}")
    for i, (variable, array) in enumerate(zip(entry.variables, arrays)):
        if tuple(variable.shape) != array.shape:
            return (f"variable {i} ('{_name(variable)}') has shape {tuple(variable.shape)} but "
                    f"the file holds shape {array.shape}")
    return None


def _check_no_extra_layers(f, model: Layer, path: str, skip_mismatch: bool) -> None:
    """A model's `layers` group must not hold weights for more layers than the model has:
    that is a different architecture, which loading would otherwise half-apply."""
    from ..models.model import Model

    def check(layer: Layer, group_path: str) -> None:
        if not isinstance(layer, Model):
            return
        layers_path = f"{group_path}/layers" if group_path else "layers"
        names = dict(_container_names(layer.layers))
        group = f.get(layers_path)
        if group is not None:
            extra = [k for k in group.keys() if k not in names and _holds_data(group[k])]
            if extra:
                message = (f"load_weights: {path!r} holds weights for layers "
                           f"{[f'{layers_path}/{k}' for k in extra]} that "
                           f"{type(layer).__name__} '{layer.name}' does not have (its layers "
                           f"are {sorted(names)})")
                if not skip_mismatch:
                    raise ValueError(f"{message}. The model's weights are unchanged.")
                warnings.warn(f"{message}; they are ignored", stacklevel=3)
        for name, sub in names.items():
            check(sub, f"{layers_path}/{name}")

    try:
        check(model, "")
    except (OSError, RuntimeError, KeyError) as error:
        raise ValueError(f"load_weights: cannot read {path!r} (the file is truncated or "
                         f"corrupt): {error}") from error


def _holds_data(node) -> bool:
    if not hasattr(node, "keys"):
        return True
    return any(_holds_data(node[k]) for k in node.keys())


def _optimizer_plan(optimizer, arrays: list, filepath: str) -> list[tuple]:
    """(variable, array) pairs for `optimizer.variables`, or ValueError on a count or shape
    mismatch (before anything is assigned)."""
    variables = list(optimizer.variables)
    if len(variables) != len(arrays):
        raise ValueError(f"Cannot load optimizer state from {filepath!r}: the optimizer "
                         f"{type(optimizer).__name__} has {len(variables)} variables "
                         f"({_names(variables)}) but {len(arrays)} arrays were saved; build "
                         "it (e.g. `optimizer.build(model.trainable_variables)`) first")
    for i, (variable, array) in enumerate(zip(variables, arrays)):
        if tuple(variable.shape) != np.shape(array):
            raise ValueError(f"Cannot load optimizer state from {filepath!r}: optimizer "
                             f"variable {i} ('{_name(variable)}') has shape "
                             f"{tuple(variable.shape)} but the saved array has shape "
                             f"{np.shape(array)}. Nothing was assigned.")
    return list(zip(variables, arrays))


# ---- small helpers ----------------------------------------------------------------------------
def _check_filepath(filepath) -> str:
    path = os.fspath(filepath) if isinstance(filepath, (str, os.PathLike)) else None
    if not isinstance(path, str) or not path.endswith(SUFFIX):
        raise ValueError(f"The filename must end in `{SUFFIX}` (as in Keras 3). Received: "
                         f"filepath={filepath!r}")
    return path


def _import_h5py():
    try:
        import h5py
    except ImportError as error:
        raise ImportError(f"Saving and loading `.weights.h5` files needs the optional package "
                          f"'h5py', which could not be imported ({error}). Install it with: "
                          'pip install "nbkeras[h5]"') from None
    return h5py


def _resolve_optimizer(model, optimizer):
    if optimizer is False:
        return None
    if optimizer is None:
        optimizer = getattr(model, "optimizer", None)
        return optimizer if isinstance(getattr(optimizer, "variables", None), list) else None
    if not hasattr(optimizer, "variables"):
        raise TypeError(f"optimizer must have a `variables` list; received "
                        f"{type(optimizer).__name__}")
    return optimizer


def _to_numpy(variable) -> np.ndarray:
    return np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)


def _name(variable) -> str:
    return getattr(variable, "path", None) or getattr(variable, "name", "?")


def _names(variables) -> list[str]:
    return [_name(v) for v in variables]


def _int_or_inf(key: str) -> float:
    return int(key) if key.isdigit() else float("inf")
