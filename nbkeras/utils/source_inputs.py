"""`get_source_inputs`, as `keras.utils.get_source_inputs`."""
from __future__ import annotations

from ..core.keras_tensor import KerasTensor


def get_source_inputs(tensor) -> list:
    """The input tensors (made by `nk.Input`) that `tensor`'s graph starts from, each once,
    in the order the graph reaches them; a tensor outside a graph gives `[tensor]`."""
    if not isinstance(tensor, KerasTensor):
        return tensor
    if tensor.node is None:
        return [tensor]
    if not tensor.node.input_tensors:   # an input layer's node
        return list(tensor.node.outputs)
    sources = []
    for parent in tensor.node.input_tensors:
        for source in get_source_inputs(parent):
            if all(source is not seen for seen in sources):
                sources.append(source)
    return sources
