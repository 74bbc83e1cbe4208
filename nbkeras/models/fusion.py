"""Inference-time fusion of a convolution with the max pooling that follows it.

In inference (not training, no gradient tape recording), a model runs a Conv1D/2D/3D layer
followed directly by a MaxPooling layer of the same rank with "valid" padding as one
`ops.conv(..., max_pool=...)` call: the convolution's unpooled output is never stored, and the
positions no pooling window reads are not computed. The result is the two layers' result:
max pooling commutes with the bias and with the non-decreasing activations the conv op fuses.
Anything else (a subclass with its own `call`, an activity regularizer, "same" pooling, other
dtypes or layouts) runs layer by layer as usual.
"""
from __future__ import annotations

from .. import activations, config, ops
from ..core.keras_tensor import KerasTensor
from ..core.tape import active_tapes
from ..layers.convolutional.conv import BaseConv
from ..layers.layer import Layer
from ..layers.pooling.base_pooling import BasePooling
from ..ops.conv import FUSED_ACTIVATIONS
from ..ops.pooling import max_pool


def inference(x, training) -> bool:
    """Whether a call on `x` may fuse: eager (a Tensor or an array), not training, no tape
    recording."""
    return hasattr(x, "shape") and not isinstance(x, KerasTensor) and not training \
        and not active_tapes()


def fuses_with_max_pool(conv, pool, input_shape: tuple) -> bool:
    """Whether `conv` then `pool` on inputs of `input_shape` can run as one fused call."""
    if not (isinstance(conv, BaseConv) and isinstance(pool, BasePooling) and conv.built
            and type(conv).call is BaseConv.call and type(pool).call is BasePooling.call
            and type(conv).__call__ is Layer.__call__ and type(pool).__call__ is Layer.__call__
            and type(pool)._pool is max_pool and pool.padding == "valid"
            and pool._rank == conv.rank and conv.activity_regularizer is None
            and conv.dtype == pool.dtype
            and (conv.data_format or config.image_data_format()) == pool.data_format
            and activations.serialize(activations.get(conv.activation)) in FUSED_ACTIVATIONS):
        return False
    try:
        shape = conv.compute_output_shape(input_shape)
    except ValueError:                  # the layers, called one by one, raise their own error
        return False
    spatial = shape[1:-1] if pool.data_format == "channels_last" else shape[2:]
    return all(n is not None and n >= k for n, k in zip(spatial, pool.pool_size))


def fusable_node_pairs(nodes: list, outputs: list) -> dict:
    """{index of a node: the next node} over a graph's `nodes` (in run order) where the
    next node takes the first node's only output, which nothing else reads and which is
    not one of the graph's `outputs`; whether the layers fuse is decided per call."""
    readers: dict[int, int] = {}
    for node in nodes:
        for tensor in node.input_tensors:
            readers[id(tensor)] = readers.get(id(tensor), 0) + 1
    output_ids = {id(t) for t in outputs}
    pairs = {}
    for i, (node, following) in enumerate(zip(nodes, nodes[1:])):
        if (len(node.outputs) == 1 and not node.kwargs and not following.kwargs
                and len(node.args) == 1 and isinstance(node.args[0], KerasTensor)
                and len(following.args) == 1 and following.args[0] is node.outputs[0]
                and readers.get(id(node.outputs[0])) == 1
                and id(node.outputs[0]) not in output_ids):
            pairs[i] = following
    return pairs


def conv_max_pool(conv, pool, x):
    """`pool(conv(x))` in one pass (see `fuses_with_max_pool`)."""
    x = conv._convert_input(x)
    conv._maybe_build(x)                # checks x against the layer's input spec, as a call does
    return ops.conv(x, conv.kernel, conv.strides, conv.padding, conv.data_format,
                    conv.dilation_rate, bias=conv.bias, groups=conv.groups,
                    activation=conv.activation, max_pool=(pool.pool_size, pool.strides))
