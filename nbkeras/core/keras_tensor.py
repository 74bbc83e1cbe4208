"""KerasTensor: a symbolic tensor (shape with None for unknown dims, dtype) in a layer graph.

It remembers the node that produced it, so a Model can walk from its outputs back to its
inputs. Ops applied to KerasTensors infer shapes and record nodes; they compute nothing.
"""
from __future__ import annotations

from .dtype import standardize_dtype
from .operators import TensorOperators
from .spec import Spec


class KerasTensor(TensorOperators):
    def __init__(self, shape, dtype: str = "float32", name: str | None = None, node=None,
                 index: int = 0):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = standardize_dtype(dtype)
        self.name = name
        self.node = node      # the Node whose call made this tensor (None: not in a graph)
        self.index = index    # which of that node's outputs this is
        self._keras_mask = None   # a symbolic mask, as Keras's (Layer._symbolic_masks)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def spec(self) -> Spec:
        return Spec(self.shape, self.dtype)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"KerasTensor {self.name!r} is symbolic: it has a shape {self.shape} but no "
                        "value. Call the Model on arrays to compute values.")

    def numpy(self):
        return self.__array__()
