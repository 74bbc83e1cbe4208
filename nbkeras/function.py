"""Function, as `keras.Function`: a graph of operation calls (layers or ops) between
KerasTensors, callable on values (run by the models' executor, models/executor.py). A Model
is a Function with weights, training and saving; a Function is only the graph."""
from __future__ import annotations

from .core.keras_tensor import KerasTensor
from .tree import leaves, pack_like
from .core.tensor import Tensor
from .ops import convert_to_tensor


class Function:
    """`Function(inputs, outputs, name=None)`: `inputs` and `outputs` are KerasTensors, or
    lists, tuples or dicts of them. `fn(values)` replays the recorded calls on values given
    in the structure of `inputs`, and returns the structure of `outputs`."""

    def __init__(self, inputs, outputs, name: str | None = None):
        from .models.executor import Plan
        from .models.functional import _keras_tensors, _nodes_between

        self.name = name or "function"
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._inputs = _keras_tensors(inputs, "inputs")
        self._outputs = _keras_tensors(outputs, "outputs")
        self._nodes = _nodes_between(self._inputs, self._outputs)
        self._plan = Plan.of_graph(self._inputs, self._nodes, self._outputs)

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._outputs)

    @property
    def operations(self) -> list:
        """The operations called between the inputs and the outputs, in call order."""
        seen, ops = set(), []
        for node in self._nodes:
            if id(node.operation) not in seen:
                seen.add(id(node.operation))
                ops.append(node.operation)
        return ops

    def __call__(self, inputs):
        return self.call(inputs)

    def call(self, inputs):
        if isinstance(self._inputs_struct, dict) and isinstance(inputs, dict):
            missing = sorted(set(self._inputs_struct) - set(inputs))
            if missing:
                raise ValueError(f"Function '{self.name}': missing inputs {missing}; received "
                                 f"keys {sorted(inputs)}")
            inputs = {key: inputs[key] for key in self._inputs_struct}
        values = leaves(inputs)
        if len(values) != len(self._inputs):
            raise ValueError(f"Function '{self.name}' expects {len(self._inputs)} inputs; "
                             f"received {len(values)}")
        values = [v if isinstance(v, (Tensor, KerasTensor)) else convert_to_tensor(v)
                  for v in values]
        return pack_like(self._outputs_struct, self._plan.run(values))

    def __repr__(self) -> str:
        return (f"<Function name={self.name!r} inputs={[t.shape for t in self._inputs]} "
                f"outputs={[t.shape for t in self._outputs]}>")
