"""Inference fusions: rewrites of an executor plan (executor.py), made once when the plan is.

A block is a Conv1D/2D/3D or Dense step followed by steps that each alone read the previous
step's output (which is no model output), of these layers, in this order, each optional:

- BatchNormalization over the channel axis, after a linear head: folded into the head's
  kernel and bias, `kernel * s` and `(bias - mean) * s + beta` with `s = gamma / sqrt(variance
  + epsilon)`, from the current weights on every call (a float rounding apart from the layers);
- an activation layer (`Activation` of one of the conv op's fused activations, or a `ReLU`
  with its defaults) after a linear head: becomes the head's activation;
- after a convolution, MaxPooling of the same rank with "valid" padding: `ops.conv(...,
  max_pool=...)` never stores the unpooled output and skips the positions no window reads;
  max pooling commutes with the bias and the fused activations (all non-decreasing), so the
  numbers are the layers' numbers.

In inference the block is one call (`run_block`): one conv op with its bias, activation and
pooling, or one dense op and its activation. The rewritten step checks per call only what the
call decides: training, a recording tape, a symbolic or masked input, and (once per input
shape) that the pooling windows fit; otherwise it runs its original steps. As a layer's step
does (executor.py), it converts and checks the input only until a call on an input of the
same shape, dtype and device needed no conversion; a channels_last convolution block then
applies its Conv op to the arrays directly (`repeat_op`), skipping ops.conv's argument work.
Subclasses, layers with an activity regularizer, mixed dtypes and anything else are never
rewritten.

A repeated inference call of a Flatten (channels_last), Dropout or Dense layer (linear, relu
or softmax) computes its output straight from the arrays (`repeat_call`), with the kernels the
layer's call runs, in its order: the layer's and ops' per-call work is a few microseconds in
a microbenchmark but several times that right after a convolution, which evicts the
interpreter's data from the caches (the Simple MNIST convnet's Flatten step 26 us a batch in
predict against 6 us alone).

Outside inference (training, a tape) the block runs its original steps, but where its pooling
windows read only part of a "valid" convolution's output (an 11x11 output under 2x2 windows
of strides 2 reads 10x10), on the input cropped to the cells that part reads
(`FusedStep.read_crop`): the same pooled values, and the same gradients (the cropped-off
cells reach only outputs no window reads), for fewer output cells (the Simple MNIST
convnet's second convolution forward 3.31 -> 2.34 ms at batch 128; the crop and its
gradient cost 0.2 ms). Not with a BatchNormalization in the block, whose batch statistics
would then cover fewer cells.
"""
from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass

import numpy as np

from .. import activations, config, ops
from ..core.device import current_device, kernels_for
from ..core.keras_tensor import KerasTensor
from ..core.tape import active_tapes
from ..core.tensor import Tensor
from ..layers.activations.activation import Activation
from ..layers.activations.relu import ReLU
from ..layers.convolutional.conv import Conv1D, Conv2D, Conv3D
from ..layers.core.dense import Dense
from ..layers.regularization.dropout import Dropout
from ..layers.reshaping.flatten import Flatten
from ..layers.normalization.batch_normalization import BatchNormalization
from ..layers.pooling.max_pooling import MaxPooling1D, MaxPooling2D, MaxPooling3D
from ..ops.activation import KERNELS as ACTIVATION_KERNELS
from ..ops.conv import FUSED_ACTIVATIONS, conv_op
from ..ops.dense import dense_op

CONVOLUTIONS = (Conv1D, Conv2D, Conv3D)
MAX_POOLINGS = (MaxPooling1D, MaxPooling2D, MaxPooling3D)
_thread = threading.local()   # .holders: the FusedSteps keeping a buffer for this thread,
                              # inside reused_buffers(); None or absent outside


@contextlib.contextmanager
def reused_buffers():
    """While entered, on this thread, the convolution blocks of plans write their outputs
    into buffers kept from call to call (`FusedStep`; executor.py says where and why):
    `predict`'s batches. Leaving the outermost one drops the buffers: a model holds none
    after `predict`."""
    outermost = getattr(_thread, "holders", None) is None
    if outermost:
        _thread.holders = []
    try:
        yield
    finally:
        if outermost:
            for step in _thread.holders:
                step.release()
            _thread.holders = None


def reusing_buffers() -> bool:
    """Whether this thread is inside reused_buffers()."""
    return getattr(_thread, "holders", None) is not None


@dataclass(frozen=True)
class Block:
    """A fusable chain: `head` (a convolution or Dense), then the optional `norm`
    (BatchNormalization folded into it) and `pool` (max pooling), computing `activation`
    (a name in FUSED_ACTIVATIONS) where the head's own activation was; `layers` in order."""
    head: object
    norm: object
    activation: str
    pool: object
    layers: tuple


def inference(x, training) -> bool:
    """Whether a call on `x` may fuse: eager (a Tensor or an array) without a mask, not
    training, no tape recording."""
    return hasattr(x, "shape") and not isinstance(x, KerasTensor) and not training \
        and getattr(x, "_keras_mask", None) is None and not active_tapes()


def repeat_key(x) -> tuple | None:
    """(shape, dtype, device, current device, kind) of an eager Tensor without a mask, or of
    a numpy array (as a model passes its caller's input on to its first layer); None for
    anything else. A step may repeat a call it made on an input of the same key without the
    call's first-call work (executor.py, `FusedStep`)."""
    if type(x) is np.ndarray:
        return x.shape, x.dtype, "cpu", current_device(), np.ndarray
    if type(x) is not Tensor or x._keras_mask is not None:
        return None
    return x.shape, x.dtype, x.device, current_device(), Tensor


def converts_to_itself(layer, x) -> bool:
    """Whether the layer's input conversion leaves x (a Tensor or numpy array) as it is: the
    same Tensor, or a Tensor of the same array (no cast, no copy to a device)."""
    converted = layer._convert_input(x)
    return converted is x or type(x) is np.ndarray and converted.data is x


def as_tensor(x):
    """x as a Tensor: a numpy array that converts to itself (converts_to_itself) wrapped."""
    return Tensor(x) if type(x) is np.ndarray else x


def rewrite(steps: list, outputs: tuple[int, ...]) -> list:
    """`steps` (executor Steps in run order) with every fusable chain (see the module) made
    one `FusedStep` at its last step's place; `outputs` are the plan's output slots."""
    reads = {}
    for step in steps:
        for slot in step.inputs:
            reads[slot] = reads.get(slot, 0) + 1
    reader = {step.single: step for step in steps if step.single is not None
              and reads[step.single] == 1}
    replaced, rewritten = {}, []
    for step in steps:
        chain, block = [step], None
        while step.single is not None and len(chain[-1].outputs) == 1:
            tail = chain[-1].outputs[0]
            follower = reader.get(tail) if tail not in outputs else None
            longer = None if follower is None else fused_block(
                [s.operation for s in chain] + [follower.operation])
            if longer is None:
                break
            chain, block = chain + [follower], longer
        if block is not None:
            replaced.update({id(s): None for s in chain[:-1]})
            replaced[id(chain[-1])] = FusedStep(chain, block)
    for step in steps:
        if id(step) not in replaced:
            rewritten.append(step)
        elif replaced[id(step)] is not None:
            rewritten.append(replaced[id(step)])
    return rewritten


def fused_block(layers: list) -> Block | None:
    """The Block of `layers` (a head and its followers, in order), None when they do not
    make one (see the module)."""
    head, *rest = layers
    if type(head) not in CONVOLUTIONS + (Dense,) or not rest:
        return None
    convolution = type(head) in CONVOLUTIONS
    data_format = (head.data_format or config.image_data_format()) if convolution else None
    activation = activations.serialize(activations.get(head.activation))
    norm = pool = None
    for layer in rest:
        if (type(layer) is BatchNormalization and activation == "linear" and norm is None
                and pool is None and layer.axis in _channel_axes(head, data_format)):
            norm = layer
        elif _activation_of(layer) is not None and activation == "linear" and pool is None:
            activation = _activation_of(layer)
        elif (convolution and type(layer) in MAX_POOLINGS and pool is None
              and len(layer.pool_size) == head.rank and layer.padding == "valid"
              and layer.data_format == data_format):
            pool = layer
        else:
            return None
    if activation not in FUSED_ACTIVATIONS or any(
            getattr(layer, "activity_regularizer", None) is not None
            or layer.dtype != head.dtype for layer in layers):
        return None
    return Block(head, norm, activation, pool, tuple(layers))


def _channel_axes(head, data_format: str | None) -> tuple[int, ...]:
    """The `axis` values of a BatchNormalization over the head's output channels."""
    if data_format is None:                     # Dense: the last axis
        return (-1,)
    return (1,) if data_format == "channels_first" else (-1, head.rank + 1)


def _activation_of(layer) -> str | None:
    """The fused activation an activation layer computes; None for any other layer."""
    if type(layer) is Activation and layer.activation in FUSED_ACTIVATIONS:
        return layer.activation
    if (type(layer) is ReLU and layer.max_value is None and layer.negative_slope == 0
            and layer.threshold == 0):
        return "relu"
    return None


class FusedStep:
    """The plan step of a fusable chain of steps (see the module): one fused call in
    inference, else the original steps."""

    def __init__(self, steps: list, block: Block):
        self.steps, self.block = steps, block
        self.inputs, self.outputs, self.single = steps[0].inputs, steps[-1].outputs, steps[0].single
        self._fits: dict[tuple, bool] = {}      # input shape -> whether the windows fit
        self._crops: dict[tuple, tuple | None] = {}   # input shape -> read_crop's key
        self.repeats = None     # the repeat_key of inputs the head needs not convert or check
        self.repeat_op = None   # the block's Conv op for those inputs (repeat_op), or None
        self.reusable = False   # its plan lets it keep its output buffer (executor.py)
        self._held = None       # (thread id, repeat key, the output array kept), or None

    @property
    def operations(self) -> tuple:
        return self.block.layers

    def run(self, slots: list, training, call) -> None:
        x = slots[self.single]
        if (call is None and all(layer.built for layer in self.block.layers)
                and inference(x, training)):
            key = repeat_key(x)
            if key is not None and key == self.repeats:
                reuse = (self.reusable and self.repeat_op is not None
                         and self.repeat_op.writes_out and reusing_buffers())
                out = self._held_buffer(key) if reuse else None
                y = run_block(self.block, as_tensor(x), checked=True, op=self.repeat_op,
                              out=out)
                if reuse and out is None:
                    self._hold(key, y.data)
                slots[self.outputs[0]] = y
                return
            if self.fits(tuple(x.shape)):
                slots[self.outputs[0]] = run_block(self.block, x)
                if key is not None and converts_to_itself(self.block.head, x):
                    self.repeats, self.repeat_op = key, repeat_op(self.block)
                return
        crop = self.read_crop(x) if call is None else None
        if crop is not None:                    # the steps on the part the windows read
            slots[self.single] = ops.copy(ops.getitem(x, crop))   # contiguous: copied once,
                                                    # not by the convolution's two passes
            try:
                for step in self.steps:
                    step.run(slots, training, call)
            finally:
                slots[self.single] = x          # other steps may read the whole input
            return
        for step in self.steps:
            step.run(slots, training, call)

    def buffer(self):
        """The output buffer this thread's calls write into, or None."""
        held = self._held
        return held[2] if held is not None and held[0] == threading.get_ident() else None

    def _held_buffer(self, key: tuple):
        """The output buffer kept for this thread and inputs of `key`, or None."""
        held = self._held
        return held[2] if held is not None and held[:2] == (threading.get_ident(), key) \
            else None

    def _hold(self, key: tuple, output) -> None:
        """Keep `output` (a numpy array just made for inputs of `key`) as the buffer of this
        thread's next calls on such inputs, unless another thread keeps one (buffers are
        never shared between threads)."""
        held, me = self._held, threading.get_ident()
        if type(output) is np.ndarray and (held is None or held[0] == me):
            if held is None:
                _thread.holders.append(self)
            self._held = (me, key, output)

    def release(self) -> None:
        """Drop this thread's buffer (reused_buffers, on leaving)."""
        held = self._held
        if held is not None and held[0] == threading.get_ident():
            self._held = None

    def read_crop(self, x):
        """The key cropping x to the input cells the pooling windows' part of the head's
        output reads (see the module), or None: not a pooled block of a "valid" convolution
        without a norm, not an eager input of known shape without a mask (the layers' calls
        resolve it), or the part is over READ_FRACTION_TO_CROP of the output."""
        block = self.block
        if (block.pool is None or block.norm is not None or not hasattr(x, "shape")
                or isinstance(x, KerasTensor) or getattr(x, "_keras_mask", None) is not None
                or not all(layer.built for layer in block.layers)):
            return None
        shape = tuple(x.shape)
        if shape not in self._crops:
            self._crops[shape] = _read_crop(block, shape)
        return self._crops[shape]

    def fits(self, input_shape: tuple) -> bool:
        """Whether, on inputs of `input_shape`, the head's output holds a pooling window."""
        fits = self._fits.get(input_shape)
        if fits is None:
            fits = self._fits[input_shape] = _windows_fit(self.block, input_shape)
        return fits


def _windows_fit(block: Block, input_shape: tuple) -> bool:
    if block.pool is None:
        return True
    try:
        shape = block.head.compute_output_shape(input_shape)
    except ValueError:                  # the layers, called one by one, raise their own error
        return False
    spatial = shape[1:-1] if block.pool.data_format == "channels_last" else shape[2:]
    return all(n is not None and n >= k for n, k in zip(spatial, block.pool.pool_size))


# a Dense layer's activations that repeat_call applies: name -> the kernel's arguments, as
# `activations.get(name)` passes them (None: no kernel, the output as it is)
REPEATED_ACTIVATIONS = {"linear": None, "relu": (0.0, None, 0.0), "softmax": ()}


def repeat_call(layer):
    """A function of an eager Tensor x giving what `layer`'s inference call gives for it,
    straight from the arrays (see the module), for the executor to repeat a call that
    needed no first-call work (executor.py): a Dropout (x itself), a channels_last Flatten
    and a Dense layer whose activation is in REPEATED_ACTIVATIONS. None for other layers."""
    kind = type(layer)
    if kind is Dropout:
        return _itself
    if kind is Flatten and layer.data_format == "channels_last":
        return _flattened
    if kind is Dense:
        name = activations.serialize(activations.get(layer.activation))
        if isinstance(name, str) and name in REPEATED_ACTIVATIONS:
            return lambda x: _dense_output(layer, name, x)
    return None


def _itself(x):
    return x


def _flattened(x):
    k = kernels_for(x.device)
    return Tensor(k.asarray(k.reshape(x.data, (-1, math.prod(x.shape[1:])))))


def _dense_output(layer, activation: str, x):
    """A Dense layer's output for x: its op's forward on the current weights, then the
    activation's kernel."""
    k, bias = kernels_for(x.device), layer.bias
    y = dense_op().forward(k, x.data, layer.kernel.data, None if bias is None else bias.data)[0]
    arguments = REPEATED_ACTIVATIONS[activation]
    if arguments is not None:
        y = ACTIVATION_KERNELS[activation](k)[0](k.asarray(y), *arguments)
    return Tensor(k.asarray(y))


READ_FRACTION_TO_CROP = 0.9   # the crop and its gradient cost more than a smaller saving


def _read_crop(block: Block, input_shape: tuple) -> tuple | None:
    """FusedStep.read_crop's key for inputs of `input_shape` (None: no crop)."""
    head, pool = block.head, block.pool
    if not isinstance(head.padding, str) or head.padding.lower() != "valid" \
            or None in input_shape or not _windows_fit(block, input_shape):
        return None
    channels_first = (head.data_format or config.image_data_format()) == "channels_first"
    first = 2 if channels_first else 1
    spatial = input_shape[first:first + head.rank]
    out = head.compute_output_shape(input_shape)[first:first + head.rank]
    read = [(o - k) // s * s + k for o, k, s in zip(out, pool.pool_size, pool.strides)]
    if np.prod(read) > READ_FRACTION_TO_CROP * np.prod(out):
        return None
    needed = [(r - 1) * s + (k - 1) * d + 1 for r, s, k, d in
              zip(read, head.strides, head.kernel_size, head.dilation_rate)]
    if needed == list(spatial):
        return None
    return (slice(None),) * first + tuple(slice(0, n) for n in needed)


def repeat_op(block: Block):
    """The Conv op of a convolution block without a folded norm on channels_last inputs
    (ops.conv.conv_op), for `run_block` to repeat a checked call with; None for others."""
    head, pool = block.head, block.pool
    if type(head) not in CONVOLUTIONS or block.norm is not None or (
            head.data_format or config.image_data_format()) != "channels_last":
        return None
    return conv_op(head.rank, head.strides, head.padding, head.dilation_rate, head.groups,
                   block.activation, None if pool is None else (pool.pool_size, pool.strides))


def run_block(block: Block, x, checked: bool = False, op=None, out=None):
    """What the block's layers compute on `x` in inference, in one call (see the module);
    `checked`: x needs no conversion and passed the head's input spec before; `op`: the
    block's repeat_op, then applied to the arrays directly (an eager Tensor x): the numbers
    of the op's call without its argument handling (50 us a convolution), written into `out`
    when given (Conv.apply)."""
    head = block.head
    if op is not None:
        k, bias = kernels_for(x.device), head.bias
        return Tensor(k.asarray(op.apply(k, x.data, head.kernel.data,
                                         None if bias is None else bias.data, out)))
    if not checked:
        x = head._convert_input(x)
        head._maybe_build(x)            # checks x against the layer's input spec, as a call does
    kernel, bias = head.kernel, head.bias
    if block.norm is not None:
        kernel, bias = _folded(block.norm, kernel, bias)
    if type(head) is Dense:
        return activations.get(block.activation)(ops.dense(x, kernel, bias))
    pool = block.pool
    return ops.conv(x, kernel, head.strides, head.padding, head.data_format, head.dilation_rate,
                    bias=bias, groups=head.groups, activation=block.activation,
                    max_pool=None if pool is None else (pool.pool_size, pool.strides))


def _folded(norm, kernel, bias) -> tuple:
    """(kernel, bias) of a head whose outputs `norm` then normalizes with its moving
    statistics: kernel (..., channels) * s and (bias - mean) * s + beta."""
    scale = ops.rsqrt(ops.add(norm.moving_variance, norm.epsilon))
    if norm.gamma is not None:
        scale = ops.multiply(scale, norm.gamma)
    centered = (ops.negative(norm.moving_mean) if bias is None
                else ops.subtract(bias, norm.moving_mean))
    bias = ops.multiply(centered, scale)
    if norm.beta is not None:
        bias = ops.add(bias, norm.beta)
    return ops.multiply(kernel, scale), bias
