"""Inference fusions: rewrites of an executor plan (executor.py), made once when the plan is.

Conv + max pooling: a Conv1D/2D/3D step whose only reader is a MaxPooling step of the same
rank with "valid" padding (and whose output is not a model output) becomes one step that, in
inference, runs `ops.conv(..., max_pool=...)`: the convolution's unpooled output is never
stored, and the positions no pooling window reads are not computed. The result is the two
layers' result: max pooling commutes with the bias and with the non-decreasing activations
the conv op fuses. The rewritten step checks per call only what the call decides: training,
a recording tape, a symbolic input, and (once per input shape) that the pooling windows fit;
otherwise it runs the two original steps. Subclasses, activity regularizers, "same" pooling
and other activations, dtypes or layouts are never rewritten.
"""
from __future__ import annotations

from .. import activations, config, ops
from ..core.keras_tensor import KerasTensor
from ..core.tape import active_tapes
from ..layers.convolutional.conv import Conv1D, Conv2D, Conv3D
from ..layers.pooling.max_pooling import MaxPooling1D, MaxPooling2D, MaxPooling3D
from ..ops.conv import FUSED_ACTIVATIONS

CONVOLUTIONS = (Conv1D, Conv2D, Conv3D)
MAX_POOLINGS = (MaxPooling1D, MaxPooling2D, MaxPooling3D)


def inference(x, training) -> bool:
    """Whether a call on `x` may fuse: eager (a Tensor or an array), not training, no tape
    recording."""
    return hasattr(x, "shape") and not isinstance(x, KerasTensor) and not training \
        and not active_tapes()


def rewrite(steps: list, outputs: tuple[int, ...]) -> list:
    """`steps` (executor Steps in run order) with every fusable conv + max-pool pair made one
    `ConvMaxPool` step at the pooling's place; `outputs` are the plan's output slots."""
    reads = {}
    for step in steps:
        for slot in step.inputs:
            reads[slot] = reads.get(slot, 0) + 1
    maker = {step.outputs[0]: step for step in steps if len(step.outputs) == 1}
    fused, rewritten = set(), []
    for step in steps:
        conv = maker.get(step.single) if step.single is not None else None
        if (conv is not None and conv.single is not None and reads[step.single] == 1
                and step.single not in outputs and fuses_with_max_pool(conv.operation,
                                                                       step.operation)):
            fused.add(id(conv))
            step = ConvMaxPool(conv, step)
        rewritten.append(step)
    return [step for step in rewritten if id(step) not in fused]


def fuses_with_max_pool(conv, pool) -> bool:
    """Whether the layers `conv` then `pool` compute what one fused conv op computes."""
    return (type(conv) in CONVOLUTIONS and type(pool) in MAX_POOLINGS
            and len(pool.pool_size) == conv.rank and pool.padding == "valid"
            and conv.activity_regularizer is None and conv.dtype == pool.dtype
            and (conv.data_format or config.image_data_format()) == pool.data_format
            and activations.serialize(activations.get(conv.activation)) in FUSED_ACTIVATIONS)


class ConvMaxPool:
    """The plan step of a conv step and the max-pool step that alone reads it (see the
    module): one fused call in inference, else the two steps."""

    def __init__(self, conv_step, pool_step):
        self.conv_step, self.pool_step = conv_step, pool_step
        self.inputs, self.outputs = conv_step.inputs, pool_step.outputs
        self.single = conv_step.single
        self._fits: dict[tuple, bool] = {}      # input shape -> whether the windows fit

    @property
    def operations(self) -> tuple:
        return self.conv_step.operation, self.pool_step.operation

    def run(self, slots: list, training, call) -> None:
        conv, pool = self.operations
        x = slots[self.single]
        if call is None and conv.built and inference(x, training) and self.fits(tuple(x.shape)):
            slots[self.outputs[0]] = conv_max_pool(conv, pool, x)
        else:
            self.conv_step.run(slots, training, call)
            self.pool_step.run(slots, training, call)

    def fits(self, input_shape: tuple) -> bool:
        """Whether, on inputs of `input_shape`, the conv's output holds a pooling window."""
        fits = self._fits.get(input_shape)
        if fits is None:
            fits = self._fits[input_shape] = _windows_fit(*self.operations, input_shape)
        return fits


def _windows_fit(conv, pool, input_shape: tuple) -> bool:
    try:
        shape = conv.compute_output_shape(input_shape)
    except ValueError:                  # the layers, called one by one, raise their own error
        return False
    spatial = shape[1:-1] if pool.data_format == "channels_last" else shape[2:]
    return all(n is not None and n >= k for n, k in zip(spatial, pool.pool_size))


def conv_max_pool(conv, pool, x):
    """`pool(conv(x))` in one pass (see `fuses_with_max_pool`)."""
    x = conv._convert_input(x)
    conv._maybe_build(x)                # checks x against the layer's input spec, as a call does
    return ops.conv(x, conv.kernel, conv.strides, conv.padding, conv.data_format,
                    conv.dilation_rate, bias=conv.bias, groups=conv.groups,
                    activation=conv.activation, max_pool=(pool.pool_size, pool.strides))
