"""GRUCell and GRU: Keras's gated recurrent unit, gates in the order z, r, h."""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field

from ... import ops
from ..layer import Layer
from .cell_weights import activation_fn, add_cell_weights, check_cell_config
from .dropout_rnn_cell import DropoutRNNCell
from .recurrent_layer import FusedRNN


@dataclass(eq=False)
class GRUCell(Layer, DropoutRNNCell):
    """One GRU step: (batch, features), h (batch, units) -> (h', h') with
    z = sigma(x W_z + h U_z + b), r = sigma(x W_r + h U_r + b),
    h~ = act(x W_h + r * (h U_h + b_h)) (reset_after) or act(x W_h + (r * h) U_h + b),
    h' = z * h + (1 - z) * h~. kernel (features, 3 units), recurrent_kernel (units, 3 units),
    bias (2, 3 units) with reset_after (input and recurrent biases) else (3 units,)."""

    units: int
    activation: object = "tanh"
    recurrent_activation: object = "sigmoid"
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
    reset_after: bool = True
    seed: int | None = None
    implementation: InitVar[int] = field(default=2, kw_only=True)

    def __post_init__(self, implementation) -> None:
        super().__post_init__()
        check_cell_config(self)
        self.reset_after = bool(self.reset_after)
        if self.recurrent_dropout:
            self.dropout_mask_count = 3

    @property
    def state_size(self) -> int:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def build(self, input_shape) -> None:
        bias_shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        add_cell_weights(self, input_shape[-1], 3, bias_shape, self.bias_initializer)

    def call(self, inputs, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        input_bias = recurrent_bias = None
        if self.use_bias:
            if self.reset_after:
                input_bias, recurrent_bias = self.bias[0], self.bias[1]
            else:
                input_bias = self.bias
        dp = self.get_dropout_mask(inputs) if training and 0 < self.dropout < 1 else None
        rdp = (self.get_recurrent_dropout_mask(h_tm1)
               if training and 0 < self.recurrent_dropout < 1 else None)
        if self.recurrent_dropout:   # Keras's implementation 1: a mask per gate
            xs = [inputs * m for m in dp] if dp is not None else [inputs] * 3
            hs = [h_tm1 * m for m in rdp] if rdp is not None else [h_tm1] * 3
        else:
            xs = [inputs * dp] * 3 if dp is not None else [inputs] * 3
            hs = [h_tm1] * 3
        kernels = ops.split(self.kernel, 3, axis=1)
        recurrent = ops.split(self.recurrent_kernel, 3, axis=1)
        in_b = ops.split(input_bias, 3, axis=0) if input_bias is not None else [None] * 3
        rec_b = ops.split(recurrent_bias, 3, axis=0) if recurrent_bias is not None else [None] * 3
        x = []
        for g in range(3):
            xg = ops.matmul(xs[g], kernels[g])
            x.append(xg + in_b[g] if in_b[g] is not None else xg)
        rz = [ops.matmul(hs[g], recurrent[g]) for g in range(2)]
        if rec_b[0] is not None:
            rz = [rz[0] + rec_b[0], rz[1] + rec_b[1]]
        rec = activation_fn(self.recurrent_activation)
        z, r = rec(x[0] + rz[0]), rec(x[1] + rz[1])
        if self.reset_after:
            rh = ops.matmul(hs[2], recurrent[2])
            if rec_b[2] is not None:
                rh = rh + rec_b[2]
            rh = r * rh
        else:
            rh = ops.matmul(r * hs[2], recurrent[2])
        hh = activation_fn(self.activation)(x[2] + rh)
        h = z * h_tm1 + (1 - z) * hh
        return h, ([h] if isinstance(states, (list, tuple)) else h)

    def get_initial_state(self, batch_size=None) -> list:
        return [ops.zeros((batch_size, self.units), dtype=self.dtype)]


class GRU(FusedRNN):
    """Gated Recurrent Unit layer (Cho et al. 2014): (batch, timesteps, features) ->
    (batch, units), or (batch, timesteps, units) with return_sequences. Keras's arguments;
    `use_cudnn` is accepted and checked ('auto', True or False)."""

    cell_class = GRUCell
    cell_name = "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        cell = GRUCell(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
            seed=seed, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name=self.cell_name)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, use_cudnn=use_cudnn,
                         **kwargs)

    def _fused_name(self) -> str:
        return "gru" if self.cell.reset_after else "gru_reset_before"
