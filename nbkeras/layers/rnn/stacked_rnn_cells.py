"""StackedRNNCells: a list of recurrent cells run as one cell, each feeding the next."""
from __future__ import annotations

import numpy as np

from ... import ops
from ...core.tensor import Tensor
from ..layer import Layer


def is_nested(value) -> bool:
    return isinstance(value, (list, tuple))


def initial_state_of(cell, batch_size, dtype):
    """cell.get_initial_state(batch_size) as a list, else zeros of (batch, size) per state."""
    get = getattr(cell, "get_initial_state", None)
    if get is not None:
        state = get(batch_size=batch_size)
        return list(state) if is_nested(state) else [state]
    size = cell.state_size
    sizes = [size] if isinstance(size, (int, np.integer)) else list(size)
    return [ops.zeros((batch_size, int(d)), dtype=dtype) for d in sizes]


def _output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    return cell.state_size[0] if is_nested(cell.state_size) else cell.state_size


class StackedRNNCells(Layer):
    """Cells stacked into one: the output of cell i is the input of cell i + 1; the states
    are one entry per cell (a tensor, or a list for a cell with several states)."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if not callable(getattr(cell, "call", None)) or getattr(cell, "state_size",
                                                                     None) is None:
                raise ValueError(f"StackedRNNCells '{self.name}': every cell needs a `call` "
                                 f"method and a `state_size`; received {cell!r}")
        self.cells = list(cells)

    @property
    def state_size(self) -> list:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None) -> list:
        states = []
        for cell in self.cells:
            state = initial_state_of(cell, batch_size, self.dtype)
            states.append(state if is_nested(cell.state_size) else state[0])
        return states

    def build(self, input_shape) -> None:
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
            input_shape = (input_shape[0], _output_size(cell))

    def call(self, inputs, states, training=False):
        from .rnn import _cell_caller   # rnn.py imports this module

        new_states = []
        for cell, state in zip(self.cells, states):
            was_list = is_nested(state)
            state = list(state) if was_list else [state]
            inputs, state = _cell_caller(cell)(inputs, state, training)
            if isinstance(state, Tensor):
                state = [state]
            state = list(state)
            new_states.append(state if was_list or len(state) != 1 else state[0])
        return inputs, new_states

    def get_config(self) -> dict:
        from ...models.functional import _serialize_layer   # models import the layers

        config = super().get_config()
        config["cells"] = [_serialize_layer(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from ...models.functional import deserialize_layer

        config = dict(config)
        cells = [deserialize_layer(c, custom_objects) if isinstance(c, dict) else c
                 for c in config.pop("cells")]
        return cls(cells, **config)
