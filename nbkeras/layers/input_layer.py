"""InputLayer and `Input`: where a functional graph starts."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.keras_tensor import KerasTensor
from ..core.node import Node
from ..core.spec import Spec
from .layer import Layer, require


@dataclass(eq=False)
class InputLayer(Layer):
    """Holds the symbolic input of shape (batch_size, *shape)."""

    shape: tuple | None = None
    batch_size: int | None = None
    batch_shape: tuple | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.batch_shape is None:
            require(self, "shape", self.shape is not None, "a tuple (or give batch_shape)")
            shape = (self.shape,) if isinstance(self.shape, int) else tuple(self.shape)
            self.batch_shape = (self.batch_size, *shape)
        self.batch_shape = tuple(None if n is None else int(n) for n in self.batch_shape)
        self.shape = self.batch_shape[1:]
        self.batch_size = self.batch_shape[0]
        require(self, "shape", all(n is None or n > 0 for n in self.shape),
                "a tuple of positive sizes (or None)")
        node = Node(self, (), {}, [Spec(self.batch_shape, self.dtype)], [self.name])
        self._inbound_nodes.append(node)
        self.built = True

    def __call__(self, *args, **kwargs):
        raise TypeError(f"InputLayer '{self.name}' is not callable; use its `output` "
                        "(or nk.Input(...)) as the input of other layers")


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None) -> KerasTensor:
    """A symbolic input of shape (batch_size, *shape) to start a functional model."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape).output
