"""clone_model, as `keras.models.clone_model`: the same architecture with new layers (and so
fresh weights), for Sequential and functional models."""
from __future__ import annotations

from ..core.keras_tensor import KerasTensor
from ..tree import leaves, map_leaves, pack_like
from ..layers.input_layer import Input, InputLayer
from ..layers.layer import Layer
from .functional import Functional
from .sequential import Sequential


def _default_clone(layer: Layer) -> Layer:
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive: bool = False, **kwargs):
    """A new model of the same class, config and structure whose layers are
    `clone_function(layer)` (default: `type(layer).from_config(layer.get_config())`, so new
    weights from the initializers). A layer shared by several calls is cloned once.

    `input_tensors`: KerasTensors (from `nk.Input`) to build the clone on instead of new
    Inputs like the model's. `call_function(layer, *args, **kwargs)` (functional models)
    replaces each call of a cloned layer. `recursive=True` clones nested Sequential and
    functional models with the same functions instead of passing them to `clone_function`.
    A subclassed model is rebuilt from its config (without clone_function or input_tensors).
    """
    if kwargs:
        raise ValueError(f"clone_model: unexpected keyword arguments {sorted(kwargs)}")
    if clone_function is not None and not callable(clone_function):
        raise ValueError(f"clone_model: clone_function must be callable; received "
                         f"{clone_function!r}")
    if call_function is not None and not callable(call_function):
        raise ValueError(f"clone_model: call_function must be callable; received "
                         f"{call_function!r}")
    clone_function = clone_function or _default_clone
    cache: dict[int, Layer] = {}

    def clone_layer(layer: Layer) -> Layer:
        if id(layer) not in cache:
            if recursive and isinstance(layer, (Sequential, Functional)):
                new = clone_model(layer, clone_function=clone_function,
                                  call_function=call_function, recursive=True)
            else:
                new = clone_function(layer)
            if not isinstance(new, Layer):
                raise ValueError(f"clone_model: clone_function must return a Layer; for "
                                 f"{layer.name!r} it returned {type(new).__name__} {new!r}")
            cache[id(layer)] = new
        return cache[id(layer)]

    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone_layer)
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, clone_layer, call_function)
    if not isinstance(model, Layer) or not hasattr(model, "get_config"):
        raise ValueError(f"clone_model: expected a Model; received {type(model).__name__}")
    if input_tensors is not None or clone_function is not _default_clone:
        raise ValueError("clone_model: arguments clone_function and input_tensors are only "
                         "supported for Sequential and functional models; received the "
                         f"subclassed model {type(model).__name__} '{model.name}'")
    return type(model).from_config(model.get_config())


def _input_like(tensor: KerasTensor) -> KerasTensor:
    layer = tensor.node.operation if tensor.node is not None else None
    name = layer.name if isinstance(layer, InputLayer) else tensor.name
    return Input(batch_shape=tensor.shape, dtype=tensor.dtype, name=name)


def _clone_sequential(model: Sequential, input_tensors, clone_layer) -> Sequential:
    layers = [clone_layer(layer) for layer in model._layers]
    if input_tensors is not None:
        tensors = leaves(input_tensors)
        if len(tensors) != 1 or not isinstance(tensors[0], KerasTensor) or not isinstance(
                getattr(tensors[0].node, "operation", None), InputLayer):
            raise ValueError(f"clone_model: a Sequential model takes one input tensor from "
                             f"nk.Input; received input_tensors={input_tensors!r}")
        first = [tensors[0]]
    elif model._input_layer is not None:
        first = [_input_like(model._input_layer.output)]
    else:
        first = []
    return Sequential(first + layers, name=model.name, trainable=model.trainable)


def _clone_functional(model: Functional, input_tensors, clone_layer,
                      call_function) -> Functional:
    if input_tensors is None:
        new_inputs = map_leaves(_input_like, model._input_structure)
    else:
        given = leaves(input_tensors)
        if len(given) != len(model._model_inputs) or not all(
                isinstance(t, KerasTensor) for t in given):
            raise ValueError(f"clone_model: model '{model.name}' has "
                             f"{len(model._model_inputs)} inputs; input_tensors must be as "
                             f"many KerasTensors; received {input_tensors!r}")
        new_inputs = pack_like(model._input_structure, given)
    known = {id(old): new for old, new in zip(model._model_inputs, leaves(new_inputs))}

    def swap(x):
        return known[id(x)] if isinstance(x, KerasTensor) else x

    for node in model._nodes:
        operation = node.operation
        args, kwargs = map_leaves(swap, node.args), map_leaves(swap, node.kwargs)
        if isinstance(operation, Layer):
            layer = clone_layer(operation)
            outputs = (call_function(layer, *args, **kwargs) if call_function is not None
                       else layer(*args, **kwargs))
        else:   # an Op (x + y, ops.concatenate, ...): stateless, called again as it is
            outputs = operation(*args, **kwargs)
        for old, new in zip(node.outputs, leaves(outputs)):
            known[id(old)] = new
    outputs = pack_like(model._output_structure, [known[id(t)] for t in model._model_outputs])
    return Functional(new_inputs, outputs, name=model.name, trainable=model.trainable)
