"""The saveable protocol, and the one walker that writes and reads any tree of saveables.

A saveable is any object (not a class) with Keras 3's two methods

    save_own_variables(store)   write its own state: store["0"] = a Variable or an array, ...
    load_own_variables(store)   assign that state back from a store with the same entries

where `store` is dict-like (`store[key] = value`, `store[key]`, `keys()`, `len`), and, when
it has children, `_saveable_children()`: (name, child) pairs in visiting order, a child
being a saveable or a list/tuple/dict of them, nested or not. Layer, Model, Optimizer and
Metric implement it; a user's layer may override the two methods, as in Keras.

`walk(root)` lists a tree as Keras's saving_lib visits it: a saveable, then its children,
each at `<path>/<name>`. Inside a container, a saveable sits at the snake_case of its class,
numbered in order (`dense`, `dense_1`, ...; a name like `dense_7` depends on how many layers
the process made, so it would not match between two builds of one model) and a nested
container at `container`, `container_1`, ... . An object reached twice is saved once, at its
first path, but takes its number each time.

`save_tree` gives each saveable the store `writer.make(path, name)` of a format. `load_tree`
is all-or-nothing: it asks every saveable what it would save now (a snapshot, kept in
memory), compares that with the entries the file declares (names, shapes, dtypes: metadata
only, so a crafted shape never allocates), checks that the file holds no state the tree
lacks, then reads the data, then calls `load_own_variables`; if one raises, the saveables
already loaded are given their snapshots back.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterable, Protocol

import numpy as np

from ..serialization import snake_case

Layout = dict[str, tuple]   # entry key -> (declared shape or None, numpy dtype)


@dataclass(frozen=True)
class Entry:
    """One saveable of a tree and where it sits: "" for the root, "layers/dense_1"."""

    path: str
    saveable: object


class Reader(Protocol):
    """What `load_tree` needs from a file format (see h5_store.H5Reader)."""

    source: str                                              # the file, for messages

    def location(self, path: str, key: str | None = None) -> str: ...
    def layout(self, path: str) -> Layout | None: ...       # None: no state at `path`
    def read(self, path: str) -> dict[str, np.ndarray]: ...   # {} when no state
    def stored_locations(self) -> set[str]: ...             # locations holding entries


def is_saveable(value) -> bool:
    return not isinstance(value, type) and all(
        callable(getattr(value, method, None))
        for method in ("save_own_variables", "load_own_variables"))


def describe(saveable) -> str:
    """`Dense 'dense_7'`, for messages."""
    name = getattr(saveable, "name", None)
    return f"{type(saveable).__name__} '{name}'" if isinstance(name, str) \
        else type(saveable).__name__


def walk(root, extra: Iterable[tuple[str, object]] = ()) -> list[Entry]:
    """The saveables under `root` (and under `extra`, more (name, child) pairs of the root
    visited after its own children, e.g. the optimizer), parents before children."""
    if not is_saveable(root):
        raise TypeError(f"Saving and loading need a saveable object (an nbkeras Model, Layer, "
                        "Optimizer or Metric: one with save_own_variables and "
                        f"load_own_variables); received {type(root).__name__}")
    entries: list[Entry] = []
    seen: set[int] = set()

    def visit(saveable, path: str, children=()) -> None:
        if id(saveable) in seen:
            return
        seen.add(id(saveable))
        entries.append(Entry(path, saveable))
        own = getattr(saveable, "_saveable_children", None)
        for name, child in [*(own() if callable(own) else ()), *children]:
            visit_child(child, f"{path}/{name}" if path else name)

    def visit_child(child, path: str) -> None:
        if is_saveable(child):
            visit(child, path)
        elif isinstance(child, (list, tuple, dict)) and id(child) not in seen:
            seen.add(id(child))
            used: dict[str, int] = {}
            for item in child.values() if isinstance(child, dict) else child:
                if is_saveable(item):
                    visit_child(item, f"{path}/{_numbered(snake_case(type(item).__name__), used)}")
                elif isinstance(item, (list, tuple, dict)):
                    visit_child(item, f"{path}/{_numbered('container', used)}")

    visit(root, "", extra)
    return entries


def _numbered(name: str, used: dict[str, int]) -> str:
    """`name`, then `name_1`, `name_2`, ... as it recurs within one container."""
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


class ArrayStore(dict):
    """A saveable's state in memory ("0" -> array): the store `load_own_variables` reads, and
    the snapshot `load_tree` takes of it. Setting a Variable stores a copy of its value and
    remembers its path, for messages."""

    def __init__(self, arrays=()):
        super().__init__(arrays)
        self.paths: dict[str, str] = {}

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, np.array(value.numpy() if hasattr(value, "numpy") else value))
        self.paths[key] = getattr(value, "path", None) or getattr(value, "name", None) \
            or f"entry {key}"


def save_tree(entries: list[Entry], writer) -> None:
    """Each saveable writes its state into `writer.make(path, name)`."""
    for entry in entries:
        name = getattr(entry.saveable, "name", None)
        entry.saveable.save_own_variables(
            writer.make(entry.path, name if isinstance(name, str) else None))


def load_tree(entries: list[Entry], reader: Reader, *, skip_mismatch: bool = False,
              optional: Iterable[str] = (), ignore: Iterable[str] = ()) -> None:
    """Load every entry's state from `reader`, or change nothing and raise ValueError.

    A mismatch between what a saveable saves and what the file declares for it is a
    ValueError naming the file, the saveable and the entry, or, with `skip_mismatch` or for
    a path in `optional`, a warning, and the saveable keeps its state. State in the file at
    a location no entry has is a ValueError too (a warning with `skip_mismatch`), except
    under the paths in `ignore` (e.g. "optimizer": the state of an optimizer not loaded).
    """
    optional, ignore = set(optional), list(ignore)
    checked: list[tuple[Entry, ArrayStore]] = []
    for entry in entries:
        snapshot = ArrayStore()
        entry.saveable.save_own_variables(snapshot)
        problem = _mismatch(entry, snapshot, reader)
        if problem is None:
            checked.append((entry, snapshot))
            continue
        message = (f"Cannot load {reader.source} into {describe(entry.saveable)} (group "
                   f"'{reader.location(entry.path)}'): {problem}")
        if not (skip_mismatch or entry.path in optional):
            raise ValueError(f"{message}. Nothing was changed.")
        warnings.warn(f"{message}; skipping it, it keeps its state", stacklevel=3)
    _check_no_extra_state(entries, reader, skip_mismatch, ignore)
    plan = [(entry, ArrayStore(reader.read(entry.path)), snapshot) for entry, snapshot in checked]
    _assign_all(plan, reader.source)


def _mismatch(entry: Entry, snapshot: ArrayStore, reader: Reader) -> str | None:
    """Why the file's declared state for `entry` cannot go where `snapshot` came from."""
    found = reader.layout(entry.path)
    names = [snapshot.paths[key] for key in snapshot]
    if found is None:
        return None if not snapshot else (f"the file has no group "
                                          f"'{reader.location(entry.path)}' for its "
                                          f"{len(snapshot)} variables ({names})")
    if set(found) != set(snapshot):
        never_built = getattr(entry.saveable, "built", True) is False and not snapshot
        hint = (" (it was never built, so it has no variables yet: build the model the way it "
                "was built when saved, e.g. with an Input, before loading)" if never_built else "")
        if len(found) != len(snapshot):
            return (f"it has {len(snapshot)} variables ({names}) but the file holds "
                    f"{len(found)}{hint}")
        return f"it saves entries {sorted(snapshot)} but the file holds {sorted(found)}"
    for key, expected in snapshot.items():
        shape, dtype = found[key]
        where = f"'{reader.location(entry.path, key)}'"
        if dtype.kind not in "biuf":
            return f"{where} holds {dtype} data, not numbers"
        if shape != expected.shape:
            return (f"variable {key} ('{snapshot.paths[key]}') has shape {expected.shape} but "
                    f"the file holds shape {shape} at {where}")
        if expected.dtype.kind in "biu" and dtype.kind == "f":
            return (f"variable {key} ('{snapshot.paths[key]}') is {expected.dtype} but the file "
                    f"holds {dtype} at {where}")
    return None


def _check_no_extra_state(entries, reader: Reader, skip_mismatch: bool, ignore) -> None:
    """State at locations no entry has means another architecture, which loading would
    otherwise half-apply."""
    known = {reader.location(entry.path) for entry in entries}
    extra = sorted(location for location in reader.stored_locations() - known
                   if not any(location.startswith(f"{path}/") for path in ignore))
    if not extra:
        return
    message = (f"{reader.source} holds weights at {extra} that {describe(entries[0].saveable)} "
               "does not have")
    if not skip_mismatch:
        raise ValueError(f"{message}. Nothing was changed.")
    warnings.warn(f"{message}; they are ignored", stacklevel=4)


def _assign_all(plan, source: str) -> None:
    """Call each `load_own_variables`; if one raises, give the ones called so far (that one
    included) their snapshots back, then raise ValueError."""
    done = []
    for entry, store, snapshot in plan:
        done.append((entry, snapshot))
        try:
            entry.saveable.load_own_variables(store)
        except Exception as error:
            stuck = []
            for loaded, state in reversed(done):
                try:
                    loaded.saveable.load_own_variables(state)
                except Exception:   # restore the others, then say which could not be
                    stuck.append(describe(loaded.saveable))
            outcome = ("Nothing was changed." if not stuck else
                       f"The others were restored, but {stuck} could not be.")
            raise ValueError(f"Cannot load {source} into {describe(entry.saveable)} (at "
                             f"'{entry.path}'): {error}. {outcome}") from error
