"""Weights files in Keras 3's `.weights.h5` layout: `save_weights` and `load_weights`.

The file is what Keras 3.15's `save_weights` writes (checked against it): the walker
(walker.py) visits the model as Keras's saving_lib does and each saveable's state goes to
its `vars` group (h5_store.py):

    vars                               the model's own variables (usually none)
    layers/dense/vars/0, 1             Sequential and Functional: `model.layers`, groups
    layers/dense_1/vars/0, ...         named by class and numbered, a layer's own
    layers/flatten/vars                variables in its own order (empty groups too)
    layers/sequential/layers/...       a nested model, nested
    head/vars/0                        a public attribute holding a layer, a list/tuple/
    blocks/dense/vars/0                dict of layers (subclassed models and layers);
    blocks/container/dense/vars/0      a list in a list
    optimizer/vars/0, 1, 2, ...        optional: iterations, the learning rate (when it
                                       is a number), then the slot variables

Loading is all-or-nothing (walker.load_tree): every count, shape and dtype is checked
against the file's declared layout before any data is read, and nothing is assigned
unless all of it loads. Writing is atomic: the file is written beside the target under a
temporary name, flushed, and moved over it with `os.replace`, so a failure leaves the old
file (or none), never a half-written one.

h5py is optional: `pip install "nbkeras[h5]"`.
"""
from __future__ import annotations

import os

from ..utils.file_utils import atomic_write_path
from .h5_store import H5Reader, H5Writer
from .walker import is_saveable, load_tree, save_tree, walk

SUFFIX = ".weights.h5"
OPTIMIZER_PATH = "optimizer"


def save_weights(model, filepath, optimizer=None, *, overwrite: bool = True) -> None:
    """Write the weights of `model` (a model or any layer) to `filepath` (`*.weights.h5`).

    `optimizer`: None stores `model.optimizer`'s state when the model has one (after
    `compile`); an optimizer object stores that one's; False stores none.
    `overwrite=False` refuses to replace an existing file. An unbuilt model is a ValueError
    (as in Keras). The file appears complete or not at all.
    """
    path = _check_filepath(filepath)
    h5py = _import_h5py()
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"save_weights: {path!r} exists and overwrite=False")
    if not getattr(model, "built", True):
        raise ValueError(f"save_weights: {type(model).__name__} '{model.name}' has not been "
                         "built, so it has no weights yet; build it first (give it an Input, "
                         "call it on data, or call build(input_shape)), as Keras requires")
    opt = _resolve_optimizer(model, optimizer)
    entries = walk(model, [(OPTIMIZER_PATH, opt)] if opt is not None else [])
    with atomic_write_path(path) as temp:
        with h5py.File(temp, "w") as f:
            save_tree(entries, H5Writer(f))


def load_weights(model, filepath, optimizer=None, *, skip_mismatch: bool = False) -> None:
    """Read `filepath` (`*.weights.h5`) into the variables of `model` (built the same way).

    A missing file raises FileNotFoundError. A corrupt or truncated file, a missing group,
    weights for layers the model lacks, a wrong number of variables, or a wrong shape or
    dtype raises ValueError naming the file, the layer and the group, and nothing is
    assigned. With `skip_mismatch=True` a layer whose count or shapes differ is skipped with
    a warning instead (as Keras's `skip_mismatch`); unreadable files still raise.

    The optimizer state (`optimizer/vars`), when the file has it, goes to `optimizer`, or to
    `model.optimizer` when `optimizer` is None (False: ignored). An optimizer that has not
    built its slots yet is built on `model.trainable_variables` first, as Keras's
    `load_model` does (the slots start as its first step would make them). State that does
    not fit the optimizer (another kind, or an nbkeras file written before the learning rate
    was saved) is a ValueError for an optimizer passed in, and a warning, the optimizer
    keeping its state, for `model.optimizer`.
    """
    path = _check_filepath(filepath)
    h5py = _import_h5py()
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_weights: no such file {path!r}")
    explicit = optimizer is not None and optimizer is not False
    opt = _resolve_optimizer(model, optimizer)
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"load_weights: cannot open {path!r} as an HDF5 weights file (it is "
                         f"truncated, corrupt or not HDF5): {error}") from error
    with f:
        reader = H5Reader(f, path)
        has_state = reader.layout(OPTIMIZER_PATH) is not None
        if explicit and not has_state:
            raise ValueError(f"load_weights: {path!r} holds no optimizer state "
                             f"('{reader.location(OPTIMIZER_PATH)}'), but an optimizer was "
                             "passed")
        opt = opt if has_state else None
        if opt is not None and not getattr(opt, "built", True):
            opt.build(model.trainable_variables)
        load_tree(walk(model, [(OPTIMIZER_PATH, opt)] if opt is not None else []), reader,
                  skip_mismatch=skip_mismatch, optional=() if explicit else [OPTIMIZER_PATH],
                  ignore=[OPTIMIZER_PATH] if opt is None else [])


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
    """The optimizer whose state to save or load: `model.optimizer` for None, none for
    False."""
    if optimizer is False:
        return None
    if optimizer is None:
        optimizer = getattr(model, "optimizer", None)
        return optimizer if is_saveable(optimizer) else None
    if not is_saveable(optimizer):
        raise TypeError(f"optimizer must be an nbkeras optimizer (with save_own_variables and "
                        f"load_own_variables); received {type(optimizer).__name__}")
    return optimizer
