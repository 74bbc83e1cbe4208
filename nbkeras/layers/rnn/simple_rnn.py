"""SimpleRNNCell and SimpleRNN: h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ops
from ..layer import Layer
from .cell_weights import activation_fn, add_cell_weights, check_cell_config
from .dropout_rnn_cell import DropoutRNNCell
from .recurrent_layer import FusedRNN


@dataclass(eq=False)
class SimpleRNNCell(Layer, DropoutRNNCell):
    """One step of the fully connected RNN: (batch, features), [h (batch, units)] ->
    (h', [h']); kernel (features, units), recurrent_kernel (units, units), bias (units,).
    `dropout` masks the inputs and `recurrent_dropout` the state, one mask per layer call."""

    units: int
    activation: object = "tanh"
    use_bias: bool = True
    kernel_initializer: object = "glorot_uniform"
    recurrent_initializer: object = "orthogonal"
    bias_initializer: object = "zeros"
    kernel_regularizer: object = None
    recurrent_regularizer: object = None
    bias_regularizer: object = None
    kernel_constraint: object = None
    recurrent_constraint: object = None
    bias_constraint: object = None
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_cell_config(self)

    @property
    def state_size(self) -> int:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def build(self, input_shape) -> None:
        add_cell_weights(self, input_shape[-1], 1, (self.units,), self.bias_initializer)

    def call(self, sequence, states, training=False):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        dp_mask = self.get_dropout_mask(sequence)
        rec_dp_mask = self.get_recurrent_dropout_mask(previous)
        if training and dp_mask is not None:
            sequence = sequence * dp_mask
        h = ops.matmul(sequence, self.kernel)
        if self.bias is not None:
            h = ops.add(h, self.bias)
        if training and rec_dp_mask is not None:
            previous = previous * rec_dp_mask
        output = activation_fn(self.activation)(h + ops.matmul(previous, self.recurrent_kernel))
        return output, ([output] if isinstance(states, (list, tuple)) else output)

    def get_initial_state(self, batch_size=None) -> list:
        return [ops.zeros((batch_size, self.units), dtype=self.dtype)]


class SimpleRNN(FusedRNN):
    """Fully connected RNN whose output is fed back: (batch, timesteps, features) ->
    (batch, units), or (batch, timesteps, units) with return_sequences. Keras's arguments."""

    cell_class = SimpleRNNCell
    cell_name = "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        cell = SimpleRNNCell(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True), name=self.cell_name)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)

    def _fused_name(self) -> str:
        return "simple"
