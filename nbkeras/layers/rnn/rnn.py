"""RNN: runs a recurrent cell over the time axis of (batch, timesteps, features) sequences.

The generic path composes nbkeras ops in a Python loop over time, so any cell (a layer with
`state_size` and `call(inputs, states)` returning `(output, new_states)`) differentiates
through the tape on every device. SimpleRNN, LSTM and GRU take a fused path instead where
their cells allow it (`_fused_loop`).
"""
from __future__ import annotations

import dataclasses
import inspect

import numpy as np

from ... import ops
from ...core.device import current_device, device
from ...tree import leaves as flatten
from ...core.tensor import Tensor, Variable
from ..layer import Layer
from .stacked_rnn_cells import StackedRNNCells, initial_state_of, is_nested


class RNN(Layer):
    """Base class for recurrent layers (Keras's `keras.layers.RNN`).

    cell: an RNN cell, or a list of cells (stacked with StackedRNNCells).
    return_sequences: the output at every step (batch, timesteps, output_size), else the
        last one (batch, output_size).
    return_state: also return the final states, after the output.
    go_backwards: process the sequence in reverse and return the reversed sequence.
    stateful: the final states of a batch are the initial states of the next (fixed batch
        size); `reset_state()` zeroes them.
    unroll: accepted for Keras compatibility; the loop is a Python loop either way.
    zero_output_for_mask: masked steps output zeros (else the previous output).

    Call: `layer(sequences, initial_state=None, mask=None, training=False)`. A masked step
    (mask False) keeps the states unchanged and outputs the previous output.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False,
                 activity_regularizer=None, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell), dtype=kwargs.get("dtype"))
        kwargs.pop("implementation", None)   # Keras 2's choice of kernels; one path here
        super().__init__(**kwargs)
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"{type(self).__name__} '{self.name}': cell must have a `call` "
                             f"method; received cell={cell!r}")
        state_size = getattr(cell, "state_size", None)
        if not _is_state_size(state_size):
            raise ValueError(f"{type(self).__name__} '{self.name}': cell.state_size must be an "
                             f"integer or a list of integers (one per state); received "
                             f"state_size={state_size!r}")
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.activity_regularizer = activity_regularizer
        self.supports_masking = True
        object.__setattr__(self, "states", None)   # stateful: not weights (as Keras)
        self._expected_batch_size = None

    # ---- sizes and shapes ----------------------------------------------------------------
    @property
    def state_size(self) -> list:
        size = self.cell.state_size
        return [size] if isinstance(size, (int, np.integer)) else list(size)

    def _output_size(self) -> int:
        size = getattr(self.cell, "output_size", None)
        if size is None:
            size = self.state_size[0]
        if not isinstance(size, (int, np.integer)):
            raise ValueError(f"{type(self).__name__} '{self.name}': the cell's output_size must "
                             f"be an integer; received {size!r}")
        return int(size)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        self._check_rank(sequences_shape)
        batch, length = sequences_shape[0], sequences_shape[1]
        states = [(batch, s) if isinstance(s, (int, np.integer)) else [(batch, d) for d in s]
                  for s in self.state_size]
        size = self._output_size()
        output = (batch, length, size) if self.return_sequences else (batch, size)
        return (output, *states) if self.return_state else output

    def compute_mask(self, inputs, previous_mask):
        mask = flatten(previous_mask)[0] if previous_mask is not None else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None for _ in self.state_size]
        return output_mask

    def _check_rank(self, shape) -> None:
        if len(shape) != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': sequences must be 3-D "
                             f"(batch, timesteps, features); received shape {tuple(shape)}")

    # ---- building and states ---------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None) -> None:
        self._check_rank(sequences_shape)
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0], *sequences_shape[2:]))
        if self.stateful:
            if self.states is not None:
                self.reset_state()
            else:
                if sequences_shape[0] is None:
                    raise ValueError(f"{type(self).__name__} '{self.name}': a stateful RNN "
                                     "needs a static batch size; received sequences of shape "
                                     f"{tuple(sequences_shape)}")
                self._create_state_variables(int(sequences_shape[0]))

    def _create_state_variables(self, batch_size: int) -> None:
        where = self._home_device() or current_device()
        with device(where):
            initial = flatten(self.get_initial_state(batch_size))
            states = [Variable(np.asarray(s), trainable=False, dtype=self.dtype,
                               name="rnn_state") for s in initial]
        object.__setattr__(self, "states", states)
        self._expected_batch_size = batch_size

    def get_initial_state(self, batch_size):
        """The cell's initial states (zeros by default), a list shaped like state_size."""
        return initial_state_of(self.cell, batch_size, self.dtype)

    def reset_states(self, states=None) -> None:
        self.reset_state(states)

    def reset_state(self, states=None) -> None:
        """Zero the states of a stateful layer, or set them to `states` (arrays)."""
        if self.states is None:
            return
        values = [None] * len(self.states) if states is None else flatten(states)
        if len(values) != len(self.states):
            raise ValueError(f"{type(self).__name__} '{self.name}': reset_state expects "
                             f"{len(self.states)} states; received {len(values)}")
        for variable, value in zip(self.states, values):
            variable.assign(np.zeros(variable.shape, variable.dtype) if value is None
                            else np.asarray(value, variable.dtype))

    # ---- the call ----------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=False):
        self._check_rank(sequences.shape)
        batch = sequences.shape[0]
        if initial_state is None:
            initial_state = (self._pack(list(self.states)) if self.stateful
                             else self.get_initial_state(batch))
        else:
            initial_state = self._standardize_initial_state(initial_state, batch)
        if self.stateful and self._expected_batch_size not in (None, batch):
            raise ValueError(f"{type(self).__name__} '{self.name}': a stateful RNN keeps "
                             f"states for batch size {self._expected_batch_size}; received "
                             f"sequences of shape {tuple(sequences.shape)}")
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            mask = ops.cast(mask, "bool")
        try:
            result = self._fused_loop(sequences, initial_state, mask, training)
            if result is None:
                result = self._generic_loop(sequences, initial_state, mask, training)
        finally:
            _reset_dropout_masks(self.cell)
        last_output, outputs, states = result
        if self.stateful:
            for variable, state in zip(self.states, flatten(states)):
                variable.assign(state)
        output = outputs if self.return_sequences else last_output
        return (output, *states) if self.return_state else output

    def _fused_loop(self, sequences, initial_state, mask, training):
        """(last_output, outputs, states) from a fused op, or None to take the generic loop.
        Subclasses with fused kernels override it."""
        return None

    def _generic_loop(self, sequences, initial_state, mask, training):
        """The cell called once per step; masked steps keep the states and output the previous
        output (zeros with zero_output_for_mask)."""
        steps = ops.unstack(sequences, axis=1)
        step_masks = ops.unstack(ops.expand_dims(mask, -1), axis=1) if mask is not None else None
        order = range(len(steps) - 1, -1, -1) if self.go_backwards else range(len(steps))
        states = initial_state
        previous_output = _output_like_state(self.cell, states)
        outputs = []
        call = _cell_caller(self.cell)
        for t in order:
            output, new_states = call(steps[t], states, training)
            new_states = _like(states, new_states)
            if step_masks is not None:
                keep = step_masks[t]
                if self.zero_output_for_mask or previous_output is None \
                        or tuple(previous_output.shape) != tuple(output.shape):
                    previous_output = ops.zeros_like(output)
                output = ops.where(keep, output, previous_output)
                new_states = _map2(lambda new, old: ops.where(keep, new, old), new_states, states)
                previous_output = output
            states = new_states
            outputs.append(output)
        sequence = ops.stack(outputs, axis=1) if self.return_sequences else None
        return outputs[-1], sequence, states

    # ---- initial states ------------------------------------------------------------------------
    def _pack(self, flat: list):
        """A flat list of states in the nesting of state_size."""
        flat, packed = list(flat), []
        for size in self.state_size:
            if isinstance(size, (int, np.integer)):
                packed.append(flat.pop(0))
            else:
                packed.append([flat.pop(0) for _ in size])
        return packed

    def _standardize_initial_state(self, initial_state, batch):
        """The given states as Tensors in the nesting of state_size, each checked to be
        (batch, size)."""
        flat = flatten(initial_state if isinstance(initial_state, (list, tuple))
                       else [initial_state])
        sizes = flatten(self.state_size)
        who = f"{type(self).__name__} '{self.name}'"
        if len(flat) != len(sizes):
            raise ValueError(f"{who}: initial_state must be {len(sizes)} tensors of shapes "
                             f"{[(batch, s) for s in sizes]}; received {len(flat)}")
        tensors = []
        for state, size in zip(flat, sizes):
            tensor = ops.cast(ops.convert_to_tensor(state), self.dtype)
            if tuple(tensor.shape) != (batch, size):
                raise ValueError(f"{who}: initial_state must be tensors of shapes "
                                 f"{[(batch, s) for s in sizes]}; received shapes "
                                 f"{[tuple(np.shape(s)) for s in flat]}")
            tensors.append(tensor)
        return self._pack(tensors)

    # ---- config ------------------------------------------------------------------------------
    def _base_config(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(Layer)
                if f.init and not f.name.startswith("_")}

    def get_config(self) -> dict:
        from ...models.functional import _serialize_layer   # models import the layers

        config = {**self._base_config(),
                  "return_sequences": self.return_sequences, "return_state": self.return_state,
                  "go_backwards": self.go_backwards, "stateful": self.stateful,
                  "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = _serialize(self.activity_regularizer)
        config["cell"] = _serialize_layer(self.cell)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        from ...models.functional import deserialize_layer

        config = dict(config)
        cell = config.pop("cell")
        if isinstance(cell, dict):
            cell = deserialize_layer(cell, custom_objects)
        return cls(cell, **config)


def _serialize(value):
    return ({"class_name": type(value).__name__, "config": value.get_config()}
            if hasattr(value, "get_config") and not isinstance(value, type) else value)


def _is_state_size(size) -> bool:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        return size > 0
    return isinstance(size, (list, tuple)) and len(size) > 0 and all(_is_state_size(s)
                                                                     for s in size)


def _cell_caller(cell):
    """cell(inputs, states, training) by the name the cell's `call` gives its second
    parameter (Layer.__call__ takes extra arguments by keyword only)."""
    parameters = list(inspect.signature(cell.call).parameters.values())
    name = parameters[1].name if len(parameters) > 1 else "states"
    takes_training = any(p.name == "training" or p.kind is p.VAR_KEYWORD for p in parameters)

    def call(inputs, states, training):
        kwargs = {name: states}
        if takes_training:
            kwargs["training"] = training
        return cell(inputs, **kwargs) if isinstance(cell, Layer) else cell.call(inputs, **kwargs)
    return call


def _like(states, new_states):
    """A cell's new states in the nesting of the states it was given (a cell may return a
    bare tensor for a one-state list, as Keras's cells do)."""
    if isinstance(new_states, Tensor) and isinstance(states, list):
        return [new_states]
    return list(new_states) if isinstance(new_states, tuple) else new_states


def _map2(fn, a, b):
    if isinstance(a, (list, tuple)):
        return [_map2(fn, x, y) for x, y in zip(a, b)]
    return fn(a, b)


def _output_like_state(cell, states):
    """The state a masked step's output repeats: the first state (the last cell's, for
    stacked cells), as Keras's loop does for its cells (their output is that state)."""
    state = states[-1] if isinstance(cell, StackedRNNCells) else states
    while is_nested(state):
        state = state[0]
    return state


def _reset_dropout_masks(cell) -> None:
    for c in getattr(cell, "cells", [cell]):
        if hasattr(c, "reset_dropout_mask"):
            c.reset_dropout_mask()
            c.reset_recurrent_dropout_mask()
        if c is not cell:
            _reset_dropout_masks(c)


__all__ = ["RNN"]
