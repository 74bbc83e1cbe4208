"""The graph executor: a model's layer graph, walked once into a plan that runs it.

A plan is an ordered list of steps over numbered slots: slots 0..n-1 hold the model's inputs,
each step calls one operation (a layer, or an op called on symbolic tensors) on the values of
the slots it reads and writes its outputs to its own slots, and the plan returns the values of
its output slots. Functional and Sequential `call`, `nk.Function` and the profiler run plans;
`fusion.py` rewrites a plan's steps when the plan is made (inference fusions), so no call
inspects the graph again.

A step that calls one of nbkeras's own layers on one tensor repeats, in inference, a call it
has made before without its first-call work (converting and casting the input, checking it
against the layer's input spec, building, resolving masks): once a call on an input of one
shape, dtype and device, without a mask, needed none of it and gave an output without a mask,
the next calls on such inputs go straight to the layer's `call` (`Step.run`), or, for a few
layers, to the kernels it runs (fusion.repeat_call). The input may
be a Tensor or the numpy array a model passes on to its first layer (then wrapped, not
converted, as the conversion left it as it was).

`predict` runs its batches inside `fusion.reused_buffers()`: there the convolution blocks of a plan
(fusion.py) write their outputs into one buffer each, kept from batch to batch and dropped
when predict returns, where only nbkeras's own operations read the block's output and it is
no output of the plan; a plan output that shares memory with such a buffer (a Flatten's view
of it) is returned copied. Measured with benchmarks/predict_buffers.py (2 cores, a VM), it
saves little here: glibc hands a freed block back below its largest mmap threshold (32 MB),
and numpy backs larger arrays with huge pages (the Simple MNIST convnet 2.61 -> 2.58 ms a
batch of 128, a CNN with a 36 MB block 57-60 -> 56-59 ms).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..core.keras_tensor import KerasTensor
from ..core.tape import active_tapes
from ..core.tensor import Tensor
from ..layers.core.lambda_layer import Lambda
from ..layers.layer import Layer
from ..tree import leaves, map_leaves
from .fusion import (FusedStep, as_tensor, converts_to_itself, repeat_call, repeat_key,
                     reusing_buffers, rewrite)

# call(operation, args, kwargs) -> the operation's result; None calls the operation directly
Call = Callable[[object, tuple, dict], object] | None


@dataclass(frozen=True)
class Slot:
    """Where a step reads one value: the plan's slot `index`."""
    index: int


@dataclass(eq=False)
class Step:
    """`operation(*args, **kwargs)` with each `Slot` leaf of `args`/`kwargs` replaced by that
    slot's value. Its result goes to the slots `outputs`: flattened, one value per slot, or
    whole into the one slot when `whole` (a chain of layers passes structures on)."""
    operation: object
    args: tuple
    kwargs: dict
    outputs: tuple[int, ...]
    whole: bool = False

    def __post_init__(self) -> None:
        self.inputs = tuple(a.index for a in leaves((self.args, self.kwargs))
                            if isinstance(a, Slot))
        # the common step, one tensor in: read without walking the arguments
        self.single = (self.args[0].index if len(self.args) == 1 and not self.kwargs
                       and isinstance(self.args[0], Slot) else None)
        # a layer is told the model's `training` (not None), over its recorded one, as Keras
        self.takes_training = isinstance(self.operation, Layer)
        # one of our layers on one tensor may repeat a call (see the module); `repeats` is
        # the (shape, dtype, device, current device) of the inputs it repeats calls on
        self.repeatable = (self.single is not None and len(self.outputs) == 1
                           and self.takes_training
                           and type(self.operation).__module__.startswith("nbkeras.layers.")
                           and getattr(self.operation, "activity_regularizer", None) is None)
        self.repeats = None
        self.repeat_call = None     # fusion.repeat_call of the operation, once it repeats

    @property
    def operations(self) -> tuple:
        return (self.operation,)

    def run(self, slots: list, training, call: Call) -> None:
        if self.repeatable and call is None and not training and not active_tapes():
            x = slots[self.single]
            key = repeat_key(x)
            if key is not None and key == self.repeats:
                slots[self.outputs[0]] = self.operation._call_with_context(
                    as_tensor(x), {} if training is None else {"training": training}) \
                    if self.repeat_call is None else self.repeat_call(as_tensor(x))
                return
            self._call(slots, training, call)
            if key is not None and self._repeatable_on(x, key, slots[self.outputs[0]]):
                self.repeats, self.repeat_call = key, repeat_call(self.operation)
            return
        self._call(slots, training, call)

    def _call(self, slots: list, training, call: Call) -> None:
        if self.single is not None:
            args, kwargs = (slots[self.single],), {}
        else:
            args = map_leaves(lambda a: slots[a.index] if isinstance(a, Slot) else a, self.args)
            kwargs = map_leaves(lambda a: slots[a.index] if isinstance(a, Slot) else a,
                                self.kwargs)
        if training is not None and self.takes_training:
            kwargs["training"] = training
        result = self.operation(*args, **kwargs) if call is None else call(
            self.operation, args, kwargs)
        if self.whole or len(self.outputs) == 1 and not isinstance(result, (list, tuple, dict)):
            slots[self.outputs[0]] = result
        else:
            for slot, value in zip(self.outputs, leaves(result)):
                slots[slot] = value

    def _repeatable_on(self, x, key: tuple, output) -> bool:
        """Whether the layer's call on `x` just now (inference, no tape; `key` its
        repeat_key) needed no first-call work and made no mask or loss, so a call on an input
        with the same key may go straight to `call`."""
        layer = self.operation
        return (layer.built and converts_to_itself(layer, x) and key[2] == key[3]
                and layer._home_device() in (None, key[3]) and type(output) is Tensor
                and output._keras_mask is None and not layer._activity_losses)


class Plan:
    """Steps over `n_slots` slots: the first `n_inputs` hold the input values, and the slots
    `outputs` the results (see the module)."""

    def __init__(self, n_inputs: int, steps: list, outputs: tuple[int, ...], n_slots: int):
        self.n_inputs = n_inputs
        self.outputs = outputs
        self.n_slots = n_slots
        self.steps = rewrite(steps, outputs)
        readers = {}
        for step in self.steps:
            for slot in step.inputs:
                readers.setdefault(slot, []).append(step)
        self._reusing_steps = []        # the FusedSteps that may keep an output buffer
        for step in self.steps:
            if isinstance(step, FusedStep) and step.outputs[0] not in outputs and all(
                    _ours(reader) for reader in readers.get(step.outputs[0], [])):
                step.reusable = True
                self._reusing_steps.append(step)

    @classmethod
    def of_graph(cls, inputs: list[KerasTensor], nodes: list, outputs: list[KerasTensor]):
        """The plan of a graph: `nodes` (each after the nodes it reads from) lead from the
        KerasTensors `inputs` to `outputs`."""
        slot_of = {id(t): i for i, t in enumerate(inputs)}

        def slot(value):
            return Slot(slot_of[id(value)]) if isinstance(value, KerasTensor) else value

        steps = []
        for node in nodes:
            args, kwargs = map_leaves(slot, node.args), map_leaves(slot, node.kwargs)
            first = len(slot_of)
            slot_of.update({id(t): first + i for i, t in enumerate(node.outputs)})
            steps.append(Step(node.operation, tuple(args), kwargs,
                              tuple(range(first, len(slot_of)))))
        return cls(len(inputs), steps, tuple(slot_of[id(t)] for t in outputs), len(slot_of))

    @classmethod
    def of_chain(cls, layers: list[Layer]):
        """The plan of a chain: each layer called on the previous one's result."""
        steps = [Step(layer, (Slot(i),), {}, (i + 1,), whole=True)
                 for i, layer in enumerate(layers)]
        return cls(1, steps, (len(layers),), len(layers) + 1)

    def run(self, inputs: list, training=None, call: Call = None) -> list:
        """The output values for the input values `inputs`. Layers get `training` when it is
        not None, in place of a `training` their recorded call gave (Keras 3's call-context
        argument); `call(operation, args, kwargs)` makes every call when given (the profiler
        times them; rewritten steps then run their original steps)."""
        slots = [None] * self.n_slots
        slots[:self.n_inputs] = inputs
        for step in self.steps:
            step.run(slots, training, call)
        outputs = [slots[i] for i in self.outputs]
        if self._reusing_steps and reusing_buffers():
            buffers = [b for b in (s.buffer() for s in self._reusing_steps) if b is not None]
            if buffers:
                outputs = map_leaves(lambda v: _unshared(v, buffers), outputs)
        return outputs

    def __repr__(self) -> str:
        names = [" + ".join(getattr(op, "name", None) or type(op).__name__
                            for op in step.operations) for step in self.steps]
        return f"Plan({names})"


def _ours(step) -> bool:
    """Whether every operation of `step` is nbkeras's own and runs no user code: no subclass,
    no Lambda, no layer holding other layers (a wrapper or a nested model may hold the
    user's); none of them keeps a reference to what it reads."""
    return all(type(op).__module__.startswith("nbkeras.") and not isinstance(op, Lambda)
               and not getattr(op, "_layers", None) for op in step.operations)


def _unshared(value, buffers: list):
    """value, or a copy of it (its mask kept) when it is a Tensor sharing memory with one of
    `buffers`."""
    if isinstance(value, Tensor) and any(np.may_share_memory(value.data, b) for b in buffers):
        copy = Tensor(value.data.copy())
        copy._keras_mask = value._keras_mask
        return copy
    return value
