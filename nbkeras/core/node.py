"""Node: one call of an operation (a Layer or an Op) on symbolic inputs, in a layer graph."""
from __future__ import annotations

from ..tree import leaves
from .keras_tensor import KerasTensor
from .spec import Spec


class Node:
    """`operation(*args, **kwargs)` was called with KerasTensors somewhere in `args`/`kwargs`
    and produced `outputs` (models/executor.py turns nodes into the steps that run them)."""

    def __init__(self, operation, args: tuple, kwargs: dict, output_specs: list[Spec],
                 output_names: list[str | None] | None = None):
        self.operation = operation
        self.args = args
        self.kwargs = kwargs
        self.by_position = None   # a layer call's count of arguments given by position
        self.filled = frozenset()   # keyword arguments the layer filled in (a symbolic mask)
        names = output_names or [None] * len(output_specs)
        self.outputs = [KerasTensor(s.shape, s.dtype, name=n, node=self, index=i)
                        for i, (s, n) in enumerate(zip(output_specs, names))]

    @property
    def input_tensors(self) -> list[KerasTensor]:
        return [x for x in leaves((self.args, self.kwargs)) if isinstance(x, KerasTensor)]

    @property
    def parent_nodes(self) -> list["Node"]:
        return [t.node for t in self.input_tensors if t.node is not None]
