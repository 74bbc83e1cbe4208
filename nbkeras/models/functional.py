"""Functional: a model defined by a graph of layer calls from its inputs to its outputs."""
from __future__ import annotations

from ..core.keras_tensor import KerasTensor
from ..core.node import Node, flatten, pack_like
from ..core.tensor import Tensor
from ..layers.input_layer import InputLayer
from ..layers.layer import Layer
from ..ops import convert_to_tensor, expand_dims, squeeze
from .fusion import conv_max_pool, fusable_node_pairs, fuses_with_max_pool, inference
from .model import Model


class Functional(Model):
    """`Model(inputs, outputs)`: inputs and outputs are KerasTensors, or lists or dicts of
    them. Calling the model replays the recorded layer calls on values."""

    def __init__(self, inputs, outputs, name: str | None = None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._input_structure = inputs
        self._output_structure = outputs
        self._model_inputs = _keras_tensors(inputs, "inputs")
        self._model_outputs = _keras_tensors(outputs, "outputs")
        self._nodes = _nodes_between(self._model_inputs, self._model_outputs)
        for layer in [t.node.operation for t in self._model_inputs] + \
                [node.operation for node in self._nodes]:
            if isinstance(layer, Layer) and layer not in self._layers:
                self._layers.append(layer)
        self.built = True

    @property
    def inputs(self) -> list[KerasTensor]:
        return list(self._model_inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        return list(self._model_outputs)

    @property
    def input(self):
        return self._input_structure

    @property
    def output(self):
        return self._output_structure

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.__dict__.get("_model_inputs", [])]  # [] in __init__
        return shapes[0] if len(shapes) == 1 else shapes or None

    @input_shape.setter
    def input_shape(self, value) -> None:   # the base dataclass field; a graph knows its own
        pass

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._model_outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def call(self, inputs, training=False):
        values = {}
        for tensor, value in zip(self._model_inputs, _match_inputs(self, inputs)):
            values[id(tensor)] = value
        pairs, fused = self._fusable_pairs(), set()
        for i, node in enumerate(self._nodes):
            if i in fused:
                continue
            pool_node = pairs.get(i)
            x = None if pool_node is None else values[id(node.args[0])]
            if pool_node is not None and inference(x, training) and fuses_with_max_pool(
                    node.operation, pool_node.operation, tuple(x.shape)):      # see fusion.py
                values[id(pool_node.outputs[0])] = conv_max_pool(node.operation,
                                                                 pool_node.operation, x)
                fused.add(i + 1)
                continue
            results = node.replay(values)
            for tensor, value in zip(node.outputs, flatten(results)):
                values[id(tensor)] = value
        return pack_like(self._output_structure, [values[id(t)] for t in self._model_outputs])

    def _convert_input(self, x):
        return x   # each layer converts and casts its own inputs

    def _fusable_pairs(self) -> dict:
        """Conv nodes that the next node max-pools (fusion.py), found once per graph."""
        if "_pairs" not in self.__dict__:
            self._pairs = fusable_node_pairs(self._nodes, self._model_outputs)
        return self._pairs

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}


def _keras_tensors(structure, what: str) -> list[KerasTensor]:
    tensors = flatten(structure)
    for t in tensors:
        if not isinstance(t, KerasTensor):
            raise ValueError(f"Model {what} must be KerasTensors (from nk.Input and layer calls); "
                             f"received {type(t).__name__}")
    return tensors


def _nodes_between(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> list[Node]:
    """The nodes leading from `inputs` to `outputs`, each after the nodes it reads from."""
    input_ids = {id(t) for t in inputs}
    ordered, done, active = [], set(), set()

    def visit(tensor: KerasTensor) -> None:
        if id(tensor) in input_ids:
            return
        node = tensor.node
        if node is None or isinstance(node.operation, InputLayer):
            raise ValueError(f"Graph disconnected: the output needs the tensor {tensor!r}, which "
                             "is not computed from the model's inputs "
                             f"{[t.name for t in inputs]}")
        if id(node) in done:
            return
        if id(node) in active:
            raise ValueError("The layer graph has a cycle")
        active.add(id(node))
        for parent in node.input_tensors:
            visit(parent)
        active.discard(id(node))
        done.add(id(node))
        ordered.append(node)

    for t in outputs:
        visit(t)
    return ordered


def _match_inputs(model: Functional, inputs) -> list:
    """The values for the model's inputs, in order: from a dict by input name, else by
    position. Checks ranks and known sizes."""
    if isinstance(inputs, dict):
        missing = [t.name for t in model._model_inputs if t.name not in inputs]
        if missing:
            raise ValueError(f"Model '{model.name}': missing inputs {missing}; received keys "
                             f"{sorted(inputs)}")
        values = [inputs[t.name] for t in model._model_inputs]
    else:
        values = flatten(inputs)
    if len(values) != len(model._model_inputs):
        raise ValueError(f"Model '{model.name}' expects {len(model._model_inputs)} inputs; "
                         f"received {len(values)}")
    values = [adjust_input_rank(model, tensor, value)
              for tensor, value in zip(model._model_inputs, values)]
    for tensor, value in zip(model._model_inputs, values):
        shape = tuple(value.shape) if hasattr(value, "shape") else None
        if shape is not None and (len(shape) != len(tensor.shape) or any(
                a is not None and a != b for a, b in zip(tensor.shape, shape))):
            raise ValueError(f"Model '{model.name}': input '{tensor.name}' expects shape "
                             f"{tensor.shape}; received an array of shape {shape}")
    return [v if isinstance(v, (Tensor, KerasTensor)) else convert_to_tensor(v) for v in values]


def adjust_input_rank(model: Model, expected: KerasTensor, value):
    """`value` with a missing trailing axis of size 1 added, or an extra one removed, when
    its rank is one off the model input's (as Keras 3: `fit(x)` with x (N,) for an input
    (None, 1)); otherwise unchanged (the shape check that follows names any mismatch)."""
    if not hasattr(value, "shape") or isinstance(value, KerasTensor):
        return value
    rank, expected_rank = len(value.shape), len(expected.shape)
    if rank == expected_rank - 1 and expected.shape[-1] == 1:
        return expand_dims(value, -1)
    if rank == expected_rank + 1 and value.shape[-1] == 1:
        return squeeze(value, -1)
    return value
