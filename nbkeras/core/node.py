"""Node: one call of an operation (a Layer or an Op) on symbolic inputs, in a layer graph."""
from __future__ import annotations

from .keras_tensor import KerasTensor
from .spec import Spec


class Node:
    """`operation(*args, **kwargs)` was called with KerasTensors somewhere in `args`/`kwargs`
    and produced `outputs`. Replaying the node on values computes the same call eagerly."""

    def __init__(self, operation, args: tuple, kwargs: dict, output_specs: list[Spec],
                 output_names: list[str | None] | None = None):
        self.operation = operation
        self.args = args
        self.kwargs = kwargs
        names = output_names or [None] * len(output_specs)
        self.outputs = [KerasTensor(s.shape, s.dtype, name=n, node=self, index=i)
                        for i, (s, n) in enumerate(zip(output_specs, names))]

    @property
    def input_tensors(self) -> list[KerasTensor]:
        return [x for x in flatten((self.args, self.kwargs)) if isinstance(x, KerasTensor)]

    @property
    def parent_nodes(self) -> list["Node"]:
        return [t.node for t in self.input_tensors if t.node is not None]

    def replay(self, values: dict[int, object]):
        """Call the operation with each KerasTensor replaced by `values[id(tensor)]`."""
        args = map_structure(lambda x: values[id(x)] if isinstance(x, KerasTensor) else x,
                             self.args)
        kwargs = map_structure(lambda x: values[id(x)] if isinstance(x, KerasTensor) else x,
                               self.kwargs)
        return self.operation(*args, **kwargs)


def flatten(structure) -> list:
    """Leaves of nested lists, tuples and dicts, in order (dicts by insertion order)."""
    if isinstance(structure, dict):
        return [x for v in structure.values() for x in flatten(v)]
    if isinstance(structure, (list, tuple)):
        return [x for v in structure for x in flatten(v)]
    return [structure]


def map_structure(fn, structure):
    """The same nesting of lists, tuples and dicts, with `fn` applied to every leaf."""
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, v) for v in structure)
    return fn(structure)


def pack_like(structure, flat: list):
    """Inverse of `flatten`: put `flat` back into the nesting of `structure`."""
    leaves = iter(flat)
    return map_structure(lambda _: next(leaves), structure)
