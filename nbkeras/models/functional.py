"""Functional: a model defined by a graph of layer calls from its inputs to its outputs."""
from __future__ import annotations

import numpy as np

from ..core.keras_tensor import KerasTensor
from ..core.node import Node
from ..core.symbolic_scope import SymbolicScope
from ..tree import flatten as keras_flatten
from ..tree import leaves as flatten, map_leaves as map_structure, pack_like
from ..core.tensor import Tensor
from ..layers.input_layer import InputLayer
from ..layers.layer import Layer
from ..ops import convert_to_tensor
from ..saving.call_records import keras_call_arguments, nbkeras_call_kwargs
from ..saving.keras_ops import call_keras_op, is_op_entry, keras_op_entry
from ..serialization import snake_case
from ..saving.serialization_lib import (UnknownObjectError, deserialize_keras_object,
                                       keras_name, serialize_keras_object)
from .executor import Plan
from .input_rank import adjust_input_rank
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
        self._nodes, self._operations = _graph_map(   # walked in Keras's order: dict keys sorted
            keras_flatten(inputs), keras_flatten(outputs))
        self._plan = Plan.of_graph(self._model_inputs, self._nodes, self._model_outputs)
        for layer in self._operations:
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

    def call(self, inputs, training=None):
        return self._execute(inputs, training)

    def _execute(self, inputs, training=None, call=None):
        """The outputs for `inputs`, computed by the model's plan (executor.py: `training`
        and `call` as `Plan.run` takes them)."""
        values = self._plan.run(_match_inputs(self, inputs), training, call)
        return pack_like(self._output_structure, values)

    def _convert_input(self, x):
        return x   # each layer converts and casts its own inputs

    def get_config(self) -> dict:
        """Keras 3's functional config: every layer's entry with the calls it makes in this
        graph ("inbound_nodes"), and the [layer name, node index, tensor index] of each
        input and output, in the structure the model was given. An op called directly on
        symbolic tensors is an entry of Keras's op class (saving/keras_ops.py), one per call,
        named as Keras names ops (`add`, `add_1`, ...)."""
        for t in self._model_inputs:
            if not isinstance(t.node.operation, InputLayer):
                raise ValueError(f"Model '{self.name}': get_config needs inputs made by nk.Input; "
                                 f"input {t.name!r} comes from {t.node.operation!r}")
        nodes = [t.node for t in self._model_inputs] + self._nodes
        layers = [op for op in self._operations if isinstance(op, Layer)]
        names = [layer.name for layer in layers]
        if len(set(names)) < len(names):
            raise ValueError(f"Model '{self.name}': get_config needs unique layer names; received "
                             f"{sorted({n for n in names if names.count(n) > 1})} more than once")
        own = {id(node) for node in nodes}
        index = {id(node): i for layer in layers
                 for i, node in enumerate(n for n in layer._inbound_nodes if id(n) in own)}

        calls = {id(call): call for call in self._operations if isinstance(call, Node)}
        op_calls = {key: keras_op_entry(call.operation, call.args, self.name)
                    for key, call in calls.items()}
        def naming_order(item) -> tuple:   # names the calls got first, then as made
            key, (module, class_name, config, args, kwargs) = item
            return (not _kept_name(calls[key], class_name), getattr(calls[key], "call_number", 0))

        used = set(names)
        for key, (module, class_name, config, args, kwargs) in sorted(op_calls.items(),
                                                                      key=naming_order):
            name = _kept_name(calls[key], class_name) or snake_case(class_name)
            op_calls[key] = (_unique_name(name, used), module, class_name, config, args, kwargs)

        def history(t: KerasTensor) -> list:
            if id(t.node) in op_calls:
                return [op_calls[id(t.node)][0], 0, t.index]
            return [t.node.operation.name, index[id(t.node)], t.index]

        def endpoint(t: KerasTensor) -> list:   # Keras counts a Functional's own node first
            name, node_index, tensor_index = history(t)
            return [name, node_index + isinstance(t.node.operation, Functional), tensor_index]

        def entry(operation) -> dict:
            if isinstance(operation, Node):
                name, module, class_name, config, args, kwargs = op_calls[id(operation)]
                return {"module": module, "class_name": class_name,
                        "config": {"name": name, **config}, "registered_name": class_name,
                        "name": name, "inbound_nodes": [
                            {"args": _serialize_argument(args, history),
                             "kwargs": _serialize_argument(kwargs, history)}]}
            return {**serialize_keras_object(operation), "name": operation.name,
                    "inbound_nodes": [call_record(operation, node)
                                      for node in operation._inbound_nodes
                                      if id(node) in own and node.input_tensors]}

        def call_record(layer: Layer, node: Node) -> dict:
            args, kwargs = keras_call_arguments(layer, node.args, node.kwargs,
                                                node.by_position, node.filled)
            return {"args": _serialize_argument(args, history),
                    "kwargs": _serialize_argument(kwargs, history)}

        entries = [entry(operation) for operation in self._operations]
        return {"name": self.name, "trainable": self.trainable, "layers": entries,
                "input_layers": map_structure(endpoint, self._input_structure),
                "output_layers": map_structure(endpoint, self._output_structure)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"   # the graph is in get_config()


def _keras_tensors(structure, what: str) -> list[KerasTensor]:
    tensors = flatten(structure)
    for t in tensors:
        if not isinstance(t, KerasTensor):
            raise ValueError(f"Model {what} must be KerasTensors (from nk.Input and layer calls); "
                             f"received {type(t).__name__}")
    return tensors


def _nodes_between(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> list[Node]:
    """The nodes leading from `inputs` to `outputs` in the order they run (each after the
    nodes it reads from), without the nodes that made the inputs."""
    return _graph_map(inputs, outputs)[0]


def _graph_map(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> tuple[list[Node], list]:
    """(nodes to run, operations) of the graph from `inputs` to `outputs`. An operation is a
    layer, or the node of an op called on symbolic tensors (Keras makes an op object per
    call; nbkeras reuses equal ops). The nodes run in
    depth-first order from the outputs; the operations are ordered as Keras 3's `map_graph`
    orders them, since `model.layers`, layer names in configs and the weight
    paths of `.weights.h5` files follow it: an operation's depth is its largest distance to
    an output (a shared layer lifts the nodes that feed its later calls), operations go by
    decreasing depth, then by when a depth-first walk from the outputs first met them; input
    layers of inputs that reach no output come last."""
    input_ids = {id(t) for t in inputs}
    post_order, finished, visiting, first_seen = [], set(), set(), {}

    def visit(tensor: KerasTensor) -> None:
        node = tensor.node
        if id(tensor) in input_ids and (node is None or not isinstance(node.operation,
                                                                       InputLayer)):
            return   # an intermediate tensor given as an input: its maker is outside
        if node is None or isinstance(node.operation, InputLayer) and id(tensor) not in input_ids:
            raise ValueError(f"Graph disconnected: the output needs the tensor {tensor!r}, which "
                             "is not computed from the model's inputs "
                             f"{[t.name for t in inputs]}")
        if id(node) in finished:
            return
        if id(node) in visiting:
            raise ValueError("The layer graph has a cycle")
        first_seen.setdefault(_operation_key(node), (len(first_seen), _operation(node)))
        visiting.add(id(node))
        for parent in node.input_tensors:
            visit(parent)
        visiting.discard(id(node))
        finished.add(id(node))
        post_order.append(node)

    for t in outputs:
        visit(t)
    in_graph = {id(node) for node in post_order}
    node_depth: dict[int, int] = {}
    depth_of: dict[int, int] = {}   # by id(operation): ops with equal fields are distinct
    for node in reversed(post_order):
        key = _operation_key(node)
        depth = max(node_depth.setdefault(id(node), 0), depth_of.get(key, 0))
        depth_of[key] = node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:   # unused inputs, as Keras: at depth 0, before the others there
        layer = t.node.operation if t.node is not None else None
        if isinstance(layer, InputLayer) and id(layer) not in depth_of:
            depth_of[id(layer)], first_seen[id(layer)] = 0, (-1, layer)
    order = sorted(depth_of, key=lambda key: (-depth_of[key], first_seen[key][0]))
    operations = [first_seen[key][1] for key in order]
    nodes = [node for node in post_order if not isinstance(node.operation, InputLayer)]
    return nodes, operations


def _operation(node: Node):
    """What Keras lists for a node: its layer, or the node itself for an op call."""
    return node.operation if isinstance(node.operation, Layer) else node


def _operation_key(node: Node) -> int:
    return id(_operation(node))


def _kept_name(call: Node, class_name: str) -> str | None:
    """The name an op call of Keras's class `class_name` got when it was made (as Keras names
    the op: ops/op.py `symbolic_node`) or from the config it was read from (see _OpCalls)."""
    kept = getattr(call, "op_name", None)
    return kept[1] if kept is not None and kept[0] == class_name else None


def _unique_name(name: str, used: set) -> str:
    """`name`, or `name_1`, `name_2`, ... if taken (Keras's auto-naming); marks it used."""
    unique, number = name, 0
    while unique in used:
        number += 1
        unique = f"{name}_{number}"
    used.add(unique)
    return unique


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
    values = [adjust_input_rank(tensor, value)
              for tensor, value in zip(model._model_inputs, values)]
    for tensor, value in zip(model._model_inputs, values):
        shape = tuple(value.shape) if hasattr(value, "shape") else None
        if shape is not None and (len(shape) != len(tensor.shape) or any(
                a is not None and a != b for a, b in zip(tensor.shape, shape))):
            raise ValueError(f"Model '{model.name}': input '{tensor.name}' expects shape "
                             f"{tensor.shape}; received an array of shape {shape}")
    return [v if isinstance(v, (Tensor, KerasTensor)) else convert_to_tensor(v) for v in values]


# ---- config: Keras 3's functional format ---------------------------------------------------
class _NodeNotYetMade(ValueError):
    """A config names a call of a layer that has not been replayed (yet)."""


def functional_from_config(cls: type, config: dict, custom_objects: dict | None = None):
    """The model `get_config()` (ours or Keras 3's) describes: every layer made from its
    entry, then the recorded calls replayed in order, each once the tensors it reads exist
    (so a layer shared at different depths works); fresh weights."""
    created, pending = {}, {}
    for entry in config["layers"]:
        created[entry["name"]] = (_OpCalls(entry) if is_op_entry(entry)
                                  else deserialize_layer(entry, custom_objects))
        pending[entry["name"]] = list(entry.get("inbound_nodes") or [])
    while any(pending.values()):
        progressed = False
        for name, calls in pending.items():
            while calls:
                try:
                    args, kwargs = _revive_call(calls[0], created)
                except _NodeNotYetMade:
                    break
                layer = created[name]
                kwargs, filled = nbkeras_call_kwargs(layer, kwargs)
                layer(*args, **kwargs)
                layer._inbound_nodes[-1].filled = filled
                calls.pop(0)
                progressed = True
        if not progressed:
            raise ValueError("Invalid functional model config: the calls of layers "
                             f"{[name for name, calls in pending.items() if calls]} read tensors "
                             "that no call makes (the graph has a cycle or is disconnected)")

    def endpoint(name: str, node_index: int, tensor_index: int) -> KerasTensor:
        offset = isinstance(created.get(name), Functional)   # Keras counts its own node first
        return _node(created, name, node_index - offset).outputs[tensor_index]

    others = {key: value for key, value in config.items()
              if key not in ("layers", "input_layers", "output_layers")}   # name, trainable
    return cls(inputs=_map_endpoints(config["input_layers"], endpoint),
               outputs=_map_endpoints(config["output_layers"], endpoint), **others)


class _OpCalls:
    """An op entry of a config (Keras's op class and config), replayed with nk.ops; each
    call's outputs are kept as a node of it, for the tensors that refer to them."""

    def __init__(self, entry: dict):
        self.class_name, self.config = entry["class_name"], dict(entry.get("config") or {})
        self._inbound_nodes = []

    def __call__(self, *args, **kwargs):
        with SymbolicScope():   # named by the config: the call draws no name (as in Keras)
            outputs = call_keras_op(self.class_name, self.config, list(args), kwargs)
        for tensor in flatten(outputs):   # the call keeps its name when written again
            tensor.node.op_name = (self.class_name, self.config.get("name"))
        node = Node(self, args, kwargs, [])
        node.outputs = flatten(outputs)
        self._inbound_nodes.append(node)


def deserialize_layer(entry: dict, custom_objects: dict | None = None) -> Layer:
    """The layer a config entry `{"module", "class_name", "config", ...}` describes, written
    by nbkeras or by Keras 3 (saving/serialization_lib.py reads both); an entry without
    "module" names nbkeras's class or a custom object."""
    try:
        layer = deserialize_keras_object(entry, custom_objects)
    except UnknownObjectError as e:
        raise UnknownObjectError(f"Unknown layer class {entry.get('class_name')!r} (layer "
                                 f"{entry.get('name')!r}) in the model config: {e}") from None
    if not isinstance(layer, Layer):
        raise ValueError(f"{entry['class_name']}.from_config returned {type(layer).__name__}, "
                         "not a layer")
    return layer


def _serialize_layer(layer: Layer) -> dict:
    """A layer's entry in a config: where Keras keeps its class, its name there, and its
    config (`serialize_keras_object` writes it as Keras writes it)."""
    module, class_name, registered_name = keras_name(type(layer))
    return {"module": module, "class_name": class_name, "config": layer.get_config(),
            "registered_name": registered_name}


def _serialize_argument(value, history):
    """A call argument as JSON: KerasTensors as Keras's "__keras_tensor__" entries."""
    if isinstance(value, KerasTensor):
        return {"class_name": "__keras_tensor__", "config": {
            "shape": list(value.shape), "dtype": value.dtype, "keras_history": history(value)}}
    if isinstance(value, (list, tuple)):
        return [_serialize_argument(v, history) for v in value]
    if isinstance(value, dict):
        return {key: _serialize_argument(v, history) for key, v in value.items()}
    if isinstance(value, (slice, np.ndarray, np.generic, Tensor)) or value is Ellipsis:
        return serialize_keras_object(value)   # Keras's __slice__, __numpy__, __tensor__...
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"get_config: cannot write the call argument {value!r} "
                     f"({type(value).__name__}) into a config")


def _revive_call(data: dict, created: dict[str, Layer]) -> tuple[list, dict]:
    """The args and kwargs of a recorded call, with the tensors it reads; raises
    `_NodeNotYetMade` while one of them has not been made."""
    if not isinstance(data, dict) or "args" not in data:
        raise ValueError(f"Invalid functional model config: a call must be a dict with 'args' and "
                         f"'kwargs' (Keras 3's format); received {data!r}")
    return _revive(data["args"], created), _revive(data.get("kwargs") or {}, created)


def _revive(value, created: dict[str, Layer]):
    if isinstance(value, list):
        return [_revive(v, created) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("class_name") == "__keras_tensor__":
        name, node_index, tensor_index = value["config"]["keras_history"]
        return _node(created, name, node_index).outputs[tensor_index]
    if value.get("class_name") == "__tuple__":
        return tuple(_revive(v, created) for v in value["config"]["value"])
    if value.get("class_name") in _CONSTANTS:
        return deserialize_keras_object(value)
    return {key: _revive(v, created) for key, v in value.items()}


_CONSTANTS = ("__numpy__", "__tensor__", "__slice__", "__ellipsis__")


def _node(created: dict[str, Layer], name: str, node_index: int) -> Node:
    """Call number `node_index` of the layer called `name`."""
    if name not in created:
        raise ValueError(f"Invalid functional model config: it refers to the layer {name!r}, "
                         f"which is not among its layers {list(created)}")
    nodes = created[name]._inbound_nodes
    if not 0 <= node_index < len(nodes):
        raise _NodeNotYetMade(f"Invalid functional model config: layer {name!r} has no call "
                              f"number {node_index}")
    return nodes[node_index]


def _map_endpoints(structure, endpoint):
    """`input_layers`/`output_layers`: [name, node index, tensor index] leaves in lists,
    tuples or dicts, each replaced by `endpoint(*leaf)`."""
    if isinstance(structure, (list, tuple)) and len(structure) == 3 \
            and isinstance(structure[0], str):
        return endpoint(*structure)
    if isinstance(structure, dict):
        return {key: _map_endpoints(v, endpoint) for key, v in structure.items()}
    return type(structure)(_map_endpoints(v, endpoint) for v in structure)
