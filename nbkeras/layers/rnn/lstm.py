"""LSTMCell and LSTM: Keras's long short-term memory, gates in the order i, f, c, o."""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field

from ... import ops
from ..layer import Layer
from .cell_weights import (activation_fn, add_cell_weights, check_cell_config,
                           unit_forget_bias_initializer)
from .dropout_rnn_cell import DropoutRNNCell
from .recurrent_layer import FusedRNN


@dataclass(eq=False)
class LSTMCell(Layer, DropoutRNNCell):
    """One LSTM step: (batch, features), [h, c] (batch, units) -> (h', [h', c']) with
    z = x @ kernel + h @ recurrent_kernel + bias split into i, f, c, o;
    c' = sigma(f) * c + sigma(i) * act(c~), h' = sigma(o) * act(c'). kernel (features,
    4 units), recurrent_kernel (units, 4 units), bias (4 units,); unit_forget_bias starts the
    forget gate's bias at one. Without recurrent_dropout, `dropout` is one mask on the inputs;
    with it, one mask per gate for the inputs and for h (Keras's two implementations)."""

    units: int
    activation: object = "tanh"
    recurrent_activation: object = "sigmoid"
    use_bias: bool = True
    kernel_initializer: object = "glorot_uniform"
    recurrent_initializer: object = "orthogonal"
    bias_initializer: object = "zeros"
    unit_forget_bias: bool = True
    kernel_regularizer: object = None
    recurrent_regularizer: object = None
    bias_regularizer: object = None
    kernel_constraint: object = None
    recurrent_constraint: object = None
    bias_constraint: object = None
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    seed: int | None = None
    implementation: InitVar[int] = field(default=2, kw_only=True)

    def __post_init__(self, implementation) -> None:
        super().__post_init__()
        check_cell_config(self)
        if self.recurrent_dropout:
            self.dropout_mask_count = 4

    @property
    def state_size(self) -> list:
        return [self.units, self.units]

    @property
    def output_size(self) -> int:
        return self.units

    def build(self, input_shape) -> None:
        initializer = (unit_forget_bias_initializer(self) if self.unit_forget_bias
                       else self.bias_initializer)
        add_cell_weights(self, input_shape[-1], 4, (4 * self.units,), initializer)

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        if self.recurrent_dropout:   # Keras's implementation 1: a mask per gate
            dp = self.get_dropout_mask(inputs) if training and 0 < self.dropout < 1 else None
            rdp = (self.get_recurrent_dropout_mask(h_tm1)
                   if training and 0 < self.recurrent_dropout < 1 else None)
            kernels = ops.split(self.kernel, 4, axis=1)
            recurrent = ops.split(self.recurrent_kernel, 4, axis=1)
            biases = ops.split(self.bias, 4, axis=0) if self.use_bias else [None] * 4
            z = []
            for g in range(4):
                x = inputs * dp[g] if dp is not None else inputs
                h = h_tm1 * rdp[g] if rdp is not None else h_tm1
                zg = ops.matmul(x, kernels[g])
                if biases[g] is not None:
                    zg = zg + biases[g]
                z.append(zg + ops.matmul(h, recurrent[g]))
        else:
            if training and 0 < self.dropout < 1:
                inputs = inputs * self.get_dropout_mask(inputs)
            zs = ops.add(ops.matmul(inputs, self.kernel), ops.matmul(h_tm1, self.recurrent_kernel))
            if self.use_bias:
                zs = ops.add(zs, self.bias)
            z = ops.split(zs, 4, axis=1)
        act, rec = activation_fn(self.activation), activation_fn(self.recurrent_activation)
        i, f, o = rec(z[0]), rec(z[1]), rec(z[3])
        c = f * c_tm1 + i * act(z[2])
        h = o * act(c)
        return h, [h, c]

    def get_initial_state(self, batch_size=None) -> list:
        return [ops.zeros((batch_size, self.units), dtype=self.dtype) for _ in range(2)]


class LSTM(FusedRNN):
    """Long Short-Term Memory layer (Hochreiter 1997): (batch, timesteps, features) ->
    (batch, units), or (batch, timesteps, units) with return_sequences; states [h, c].
    Keras's arguments; `use_cudnn` is accepted and checked ('auto', True or False)."""

    cell_class = LSTMCell
    cell_name = "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        cell = LSTMCell(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            unit_forget_bias=unit_forget_bias, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True), name=self.cell_name)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, use_cudnn=use_cudnn,
                         **kwargs)

    def _fused_name(self) -> str:
        return "lstm"
