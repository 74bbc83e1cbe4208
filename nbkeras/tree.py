"""Nested structures, as `keras.tree`, and the one home of nbkeras's own structure helpers.

A structure is a leaf or a node: list, tuple, namedtuple, dict, OrderedDict, defaultdict
or deque (exactly these types, as Keras's optree registry; a subclass of list or dict is a
leaf). None is a leaf. The Keras functions visit a dict's values in sorted key order (an
OrderedDict's in insertion order) and rebuild dicts with their original key order.

nbkeras's graph, fit loop and data adapter use `leaves`, `map_leaves` and `pack_like`,
which keep every dict in insertion order (the order the user wrote), so a model's inputs
keep the order they were given in.
"""
from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any, Callable

__all__ = ["MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
           "flatten_with_path", "is_nested", "lists_to_tuples", "map_shape_structure",
           "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse"]


class MAP_TO_NONE:
    """Return it from `traverse`'s function to replace a sub-structure by None."""


# ---- nbkeras's own helpers: lists, tuples and dicts, dicts in insertion order ------------
def leaves(structure) -> list:
    """Leaves of nested lists, tuples and dicts, in order (dicts by insertion order)."""
    if isinstance(structure, dict):
        return [x for v in structure.values() for x in leaves(v)]
    if isinstance(structure, (list, tuple)):
        return [x for v in structure for x in leaves(v)]
    return [structure]


def map_leaves(fn, structure):
    """The same nesting of lists, tuples and dicts, with `fn` applied to every leaf."""
    if isinstance(structure, dict):
        return {k: map_leaves(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_leaves(fn, v) for v in structure)
    return fn(structure)


def pack_like(structure, flat: list):
    """Inverse of `leaves`: put `flat` back into the nesting of `structure`."""
    items = iter(flat)
    return map_leaves(lambda _: next(items), structure)


# ---- Keras's node types -------------------------------------------------------------------
_SEQUENCES = (list, tuple, collections.deque)
_MAPPINGS = (dict, collections.OrderedDict, collections.defaultdict)


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _node_kind(x, none_is_leaf: bool = True):
    """'seq', 'map' or 'none' (None as an empty node), or None for a leaf."""
    if x is None:
        return None if none_is_leaf else "none"
    if type(x) in _SEQUENCES or _is_namedtuple(x):
        return "seq"
    if type(x) in _MAPPINGS:
        return "map"
    return None


def _sorted_keys(mapping) -> list:
    if type(mapping) is collections.OrderedDict:
        return list(mapping)
    try:
        return sorted(mapping)
    except TypeError:   # keys of several types: by type name, then value, as optree
        try:
            return sorted(mapping, key=lambda k: (type(k).__qualname__, k))
        except TypeError:
            return list(mapping)


def _children(x, kind: str) -> tuple[list, list]:
    """(keys, values): indices for sequences, sorted keys for dicts, nothing for None."""
    if kind == "seq":
        return list(range(len(x))), list(x)
    if kind == "map":
        keys = _sorted_keys(x)
        return keys, [x[k] for k in keys]
    return [], []


def _rebuild(x, kind: str, values: list):
    """A node like `x` holding `values` (in `_children`'s order)."""
    if kind == "none":
        return None
    if kind == "map":
        by_key = dict(zip(_sorted_keys(x), values))
        items = [(k, by_key[k]) for k in x]
        if type(x) is collections.defaultdict:
            return collections.defaultdict(x.default_factory, items)
        return type(x)(items)
    if _is_namedtuple(x):
        return type(x)(*values)
    if type(x) is collections.deque:
        return collections.deque(values, maxlen=x.maxlen)
    return type(x)(values)


def _mismatch(detail: str) -> ValueError:
    return ValueError(f"Structures don't have the same nested structure: {detail}")


def _check_same_node(first, other, kind: str, none_is_leaf: bool) -> None:
    """`other` is a node of the same type as `first` (dict kinds match one another) with
    the same keys or length."""
    other_kind = _node_kind(other, none_is_leaf)
    if kind == "none":
        if other is not None:
            raise _mismatch(f"expected None, got {other!r}")
        return
    if kind == "map":
        if other_kind != "map":
            raise _mismatch(f"expected an instance of {type(first).__name__}, got {other!r}")
        if set(first) != set(other):
            raise _mismatch(f"dictionary keys {sorted(map(repr, first))} and "
                            f"{sorted(map(repr, other))} differ")
        return
    if _is_namedtuple(first) or _is_namedtuple(other):
        if type(first) is not type(other):
            raise _mismatch(f"namedtuple type mismatch; expected {type(first)}, got "
                            f"{type(other)}: {other!r}")
    elif type(other) is not type(first):
        raise _mismatch(f"expected an instance of {type(first).__name__}, got {other!r}")
    if len(other) != len(first):
        raise _mismatch(f"{type(first).__name__} arity mismatch; expected {len(first)}, got "
                        f"{len(other)}: {other!r}")


def _values_of(first, other, kind: str) -> list:
    """`other`'s children in the order of `first`'s (dicts by `first`'s key order)."""
    if kind == "map":
        return [other[k] for k in _sorted_keys(first)]
    return _children(other, kind)[1]


# ---- keras.tree ---------------------------------------------------------------------------
def is_nested(structure) -> bool:
    """Whether `structure` is a node (list, tuple, namedtuple, dict, deque, ...), not a leaf."""
    return _node_kind(structure) is not None


def flatten(structure) -> list:
    """The leaves, depth first; dicts in sorted key order, OrderedDicts in theirs."""
    return [leaf for _, leaf in _with_paths(structure, ())]


def _with_paths(structure, path: tuple):
    kind = _node_kind(structure)
    if kind is None:
        yield path, structure
        return
    for key, value in zip(*_children(structure, kind)):
        yield from _with_paths(value, path + (key,))


def flatten_with_path(structure) -> list[tuple[tuple, Any]]:
    """(path, leaf) pairs in `flatten`'s order; a path is the tuple of keys and indices
    (namedtuples by index) from the root."""
    return list(_with_paths(structure, ()))


def map_structure(func: Callable, *structures, none_is_leaf: bool = True):
    """`func(*leaves)` at every leaf of `structures`, which must be nested alike (else a
    ValueError); the result has the first structure's layout. With `none_is_leaf=False`
    None is kept as is instead of being passed to `func`."""
    if not structures:
        raise ValueError("map_structure: must provide at least one structure")
    if not callable(func):
        raise TypeError(f"map_structure: func must be callable; received {func!r}")

    def walk(items: list):
        first = items[0]
        kind = _node_kind(first, none_is_leaf)
        if kind is None:
            if any(_node_kind(x, none_is_leaf) is not None for x in items[1:]):
                raise _mismatch(f"a leaf {first!r} faces the sub-structure "
                                f"{next(x for x in items[1:] if _node_kind(x, none_is_leaf))!r}")
            return func(*items)
        for other in items[1:]:
            _check_same_node(first, other, kind, none_is_leaf)
        columns = [_children(first, kind)[1]] + [_values_of(first, o, kind) for o in items[1:]]
        return _rebuild(first, kind, [walk(list(column)) for column in zip(*columns)])

    return walk(list(structures))


def map_structure_up_to(shallow_structure, func: Callable, *structures):
    """`func(*sub_structures)` at every leaf of `shallow_structure`: the structures must
    be nested like it down to its leaves and may be nested deeper below them. The result has
    the layout of `shallow_structure` (Keras's documented behaviour, None leaves included)."""
    if not structures:
        raise ValueError("map_structure_up_to: must provide at least one structure")
    if not callable(func):
        raise TypeError(f"map_structure_up_to: func must be callable; received {func!r}")

    def walk(shallow, items: list):
        kind = _node_kind(shallow)
        if kind is None:
            return func(*items)
        for other in items:
            _check_same_node(shallow, other, kind, True)
        columns = [_values_of(shallow, o, kind) for o in items]
        return _rebuild(shallow, kind, [walk(s, list(column)) for s, column in
                                        zip(_children(shallow, kind)[1], zip(*columns))])

    return walk(shallow_structure, list(structures))


def assert_same_structure(a, b, check_types=None) -> None:
    """Raise a ValueError unless `a` and `b` are nested alike: the same node types (dict,
    OrderedDict and defaultdict alike when their keys are) and lengths at every level.
    `check_types` is accepted and ignored, as in Keras 3.15."""
    map_structure(lambda x, y: None, a, b)


def assert_same_paths(a, b) -> None:
    """Raise a ValueError unless `a` and `b` have the same leaf paths (list, tuple,
    namedtuple and deque alike)."""
    a_paths = {p for p, _ in _with_paths(a, ())}
    b_paths = {p for p, _ in _with_paths(b, ())}
    if a_paths != b_paths:
        message = "`a` and `b` don't have the same paths."
        if a_paths - b_paths:
            message += f"\nPaths in `a` missing in `b`:\n{a_paths - b_paths}"
        if b_paths - a_paths:
            message += f"\nPaths in `b` missing in `a`:\n{b_paths - a_paths}"
        raise ValueError(message)


def pack_sequence_as(structure, flat_sequence):
    """`flat_sequence` in the layout of `structure`, leaves taken in `flatten`'s order."""
    if not isinstance(flat_sequence, Iterable) or isinstance(flat_sequence, (str, bytes)):
        raise TypeError(f"pack_sequence_as: flat_sequence must be a sequence; received "
                        f"{flat_sequence!r}")
    flat = list(flat_sequence)
    expected = len(flatten(structure))
    if len(flat) != expected:
        raise ValueError(f"pack_sequence_as: the structure has {expected} leaves; received "
                         f"a flat_sequence of {len(flat)} items")
    items = iter(flat)
    return map_structure(lambda _: next(items), structure)


def traverse(func: Callable, structure, top_down: bool = True):
    """Visit every sub-structure depth first. Top down: where `func(sub)` is not None it
    replaces `sub` (not entered); bottom up: `func` sees the already traversed `sub` and a
    non-None result replaces it. Return `MAP_TO_NONE` to put None in its place."""
    if not callable(func):
        raise TypeError(f"traverse: func must be callable; received {func!r}")

    def children_traversed(x):
        kind = _node_kind(x)
        if kind is None:
            return x
        return _rebuild(x, kind, [visit(v) for v in _children(x, kind)[1]])

    def visit(x):
        if top_down:
            result = func(x)
            if result is None:
                return children_traversed(x)
        else:
            x = children_traversed(x)
            result = func(x)
            if result is None:
                return x
        return None if result is MAP_TO_NONE else result

    return visit(structure)


def lists_to_tuples(structure):
    """The structure with every list made a tuple."""
    return traverse(lambda x: tuple(x) if isinstance(x, list) else None, structure,
                    top_down=False)


def _is_shape(x) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)


def map_shape_structure(func: Callable, structure):
    """`map_structure` that treats lists and tuples of ints and Nones as leaves (shapes)."""
    if _is_shape(structure):
        return func(structure)
    kind = _node_kind(structure)
    if kind is None:
        return func(structure)
    return _rebuild(structure, kind, [map_shape_structure(func, v)
                                      for v in _children(structure, kind)[1]])
