"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D: LSTMs whose input and recurrent transformations
are convolutions (Shi et al., 2015), on the generic RNN loop and the convolution ops."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ... import activations, config, initializers, ops
from ...core.random import SeedGenerator
from ..layer import Layer, as_tuple, require
from .dropout_rnn_cell import DropoutRNNCell, clamp_rate
from .rnn import RNN

_LAYER_KEYS = ("name", "trainable", "dtype", "input_shape", "input_dim")


@dataclass(eq=False)
class ConvLSTMCell(Layer, DropoutRNNCell):
    """One ConvLSTM step over `rank`-D feature maps: x (batch, *spatial, C) and [h, c]
    (batch, *spatial', filters) (channels_first: channels after batch) -> (h', [h', c']) with
    z = conv(x, kernel, strides, padding, dilation) + bias + conv(h, recurrent_kernel,
    "same") split into i, f, c, o along the channels; c' = sigma(f) c + sigma(i) act(c~),
    h' = sigma(o) act(c'). kernel (*k, C, 4 filters), recurrent_kernel (*k, filters,
    4 filters), bias (4 filters,) (Keras's layout; unit_forget_bias starts the forget gate's
    bias at one). Dropout draws one mask per gate for x and for h, as Keras."""

    rank: int
    filters: int
    kernel_size: int | tuple
    strides: int | tuple = 1
    padding: str = "valid"
    data_format: str | None = None
    dilation_rate: int | tuple = 1
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

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self, "rank", self.rank in (1, 2, 3), "1, 2 or 3")
        require(self, "filters", isinstance(self.filters, (int, np.integer))
                and not isinstance(self.filters, bool) and self.filters > 0, "a positive integer")
        self.filters = int(self.filters)
        self.kernel_size = as_tuple(self, "kernel_size", self.rank)
        self.strides = as_tuple(self, "strides", self.rank)
        self.dilation_rate = as_tuple(self, "dilation_rate", self.rank)
        for name in ("kernel_size", "strides", "dilation_rate"):
            require(self, name, min(getattr(self, name)) > 0, "positive")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{type(self).__name__} '{self.name}': strides > 1 is not "
                             f"compatible with dilation_rate > 1; received strides="
                             f"{self.strides} and dilation_rate={self.dilation_rate}")
        require(self, "padding", isinstance(self.padding, str)
                and self.padding.lower() in ("valid", "same"), "'valid' or 'same'")
        self.padding = self.padding.lower()
        self.data_format = self.data_format or config.image_data_format()
        require(self, "data_format", self.data_format in ("channels_last", "channels_first"),
                "'channels_last' or 'channels_first'")
        self.activation = activations.serialize(activations.get(self.activation))
        self.recurrent_activation = activations.serialize(
            activations.get(self.recurrent_activation))
        for rate in ("dropout", "recurrent_dropout"):
            require(self, rate, isinstance(getattr(self, rate), (int, float)), "a number")
            setattr(self, rate, clamp_rate(getattr(self, rate)))
        self.seed_generator = SeedGenerator(self.seed)
        self.dropout_mask_count = 4

    @property
    def state_size(self) -> list:
        return [self.filters, self.filters]

    @property
    def output_size(self) -> int:
        return self.filters

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def state_shape(self, input_shape) -> tuple:
        """(batch, *spatial', filters) (channels_first: (batch, filters, *spatial')) for a
        step's input shape."""
        last = tuple(input_shape) if self.data_format == "channels_last" else (
            input_shape[0], *input_shape[2:], input_shape[1])
        kernel = (*self.kernel_size, last[-1], self.filters)
        shape = ops.conv_output_shape(last, kernel, self.strides, self.padding,
                                      self.dilation_rate)
        return shape if self.data_format == "channels_last" else (
            shape[0], shape[-1], *shape[1:-1])

    def build(self, input_shape) -> None:
        input_shape = tuple(input_shape)
        who = f"{type(self).__name__} '{self.name}'"
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{who}: a step's input must be {self.rank + 2}-D (batch, "
                             f"*spatial, channels); received shape {input_shape}")
        spatial = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
        channels = input_shape[self._channel_axis]
        if None in spatial:
            raise ValueError(f"{who}: ConvLSTM layers need static spatial dimensions; received "
                             f"input shape {input_shape}")
        if channels is None:
            raise ValueError(f"{who}: the channel axis of the input must be known; received "
                             f"input shape {input_shape}")
        self.spatial_dims, self.channels = tuple(spatial), int(channels)
        self.state_shape(input_shape)          # a kernel larger than the input fails here
        f = self.filters
        self.kernel = self.add_weight((*self.kernel_size, self.channels, 4 * f),
                                      self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight((*self.kernel_size, f, 4 * f),
                                                self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint,
                                                name="recurrent_kernel")
        bias_initializer = (_unit_forget_bias(self.bias_initializer, f) if self.unit_forget_bias
                            else self.bias_initializer)
        self.bias = (self.add_weight((4 * f,), bias_initializer,
                                     regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint, name="bias")
                     if self.use_bias else None)

    def _input_conv(self, x, kernel, bias):
        return ops.conv(x, kernel, self.strides, self.padding, self.data_format,
                        self.dilation_rate, bias=bias)

    def _recurrent_conv(self, h, kernel):
        return ops.conv(h, kernel, 1, "same", self.data_format)

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        dp = (self.get_dropout_mask(inputs) if training and 0 < self.dropout < 1 else None)
        rdp = (self.get_recurrent_dropout_mask(h_tm1)
               if training and 0 < self.recurrent_dropout < 1 else None)
        axis = self._channel_axis
        if dp is None and rdp is None:      # all four gates in one convolution each
            z = ops.split(self._input_conv(inputs, self.kernel, self.bias)
                          + self._recurrent_conv(h_tm1, self.recurrent_kernel), 4, axis=axis)
        else:                               # a mask per gate: a convolution per gate
            kernels = ops.split(self.kernel, 4, axis=-1)
            recurrent = ops.split(self.recurrent_kernel, 4, axis=-1)
            biases = ops.split(self.bias, 4, axis=0) if self.use_bias else [None] * 4
            z = []
            for g in range(4):
                x = inputs * dp[g] if dp is not None else inputs
                h = h_tm1 * rdp[g] if rdp is not None else h_tm1
                z.append(self._input_conv(x, kernels[g], biases[g])
                         + self._recurrent_conv(h, recurrent[g]))
        act, rec = activations.get(self.activation), activations.get(self.recurrent_activation)
        i, f, o = rec(z[0]), rec(z[1]), rec(z[3])
        c = f * c_tm1 + i * act(z[2])
        h = o * act(c)
        return h, [h, c]

    def compute_output_shape(self, input_shape, states_shape=None):
        shape = self.state_shape(input_shape)
        return shape, [shape, shape]

    def get_initial_state(self, batch_size=None) -> list:
        step = ((batch_size, *self.spatial_dims, self.channels)
                if self.data_format == "channels_last"
                else (batch_size, self.channels, *self.spatial_dims))
        return [ops.zeros(self.state_shape(step), dtype=self.dtype) for _ in range(2)]


def _unit_forget_bias(bias_initializer, filters: int):
    """Keras's ConvLSTM bias: the bias initializer's values with the forget gate's at one."""
    base, ones = initializers.get(bias_initializer), initializers.get("ones")

    def initializer(shape, dtype=None):
        return np.concatenate([np.asarray(base((filters,), dtype=dtype)),
                               np.asarray(ones((filters,), dtype=dtype)),
                               np.asarray(base((2 * filters,), dtype=dtype))])
    return initializer


class ConvLSTM(RNN):
    """The ConvLSTM layers' base (Keras's `ConvLSTM`): an RNN over a ConvLSTMCell of
    `rank`. Sequences (batch, timesteps, *spatial, channels) (channels_first: (batch,
    timesteps, channels, *spatial)) -> the last h (batch, *spatial', filters), or every step's
    with return_sequences; return_state adds [h, c]. A masked step (mask (batch, timesteps)
    False) keeps h and c and repeats the previous output, as RNN does."""

    rank: int = 0

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        cell = ConvLSTMCell(
            self.rank, filters, kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate, activation=activation,
            recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
            dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name="conv_lstm_cell")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful,
                         activity_regularizer=activity_regularizer, **kwargs)

    def __getattr__(self, name: str):
        """The cell's config as the layer's (`layer.filters`, `layer.padding`), as Keras's
        properties."""
        cell = self.__dict__.get("cell")
        if cell is not None and name in _cell_fields():
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ---- shapes ------------------------------------------------------------------------------
    def _check_rank(self, shape) -> None:
        if len(shape) != self.rank + 3:
            raise ValueError(f"{type(self).__name__} '{self.name}': sequences must be "
                             f"{self.rank + 3}-D (batch, timesteps, {self.rank} spatial axes "
                             f"and channels); received shape {tuple(shape)}")

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        self._check_rank(sequences_shape)
        batch, steps = sequences_shape[0], sequences_shape[1]
        state = self.cell.state_shape((batch, *sequences_shape[2:]))
        output = (batch, steps, *state[1:]) if self.return_sequences else state
        return (output, state, state) if self.return_state else output

    # ---- the call ------------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:    # (batch, timesteps, 1, ...): each step's mask broadcasts on h
            mask = ops.cast(mask, "bool")
            mask = ops.reshape(mask, (*mask.shape, *(1,) * self.rank))
        return super().call(sequences, initial_state=initial_state, mask=mask,
                            training=training)

    def _standardize_initial_state(self, initial_state, batch):
        """[h, c], each checked to be the cell's state shape."""
        flat = list(initial_state) if isinstance(initial_state, (list, tuple)) else [
            initial_state]
        expected = tuple(self.get_initial_state(batch)[0].shape)
        tensors = [ops.cast(ops.convert_to_tensor(s), self.dtype) for s in flat]
        if len(tensors) != 2 or any(tuple(t.shape) != expected for t in tensors):
            raise ValueError(f"{type(self).__name__} '{self.name}': initial_state must be 2 "
                             f"tensors [h, c] of shape {expected}; received shapes "
                             f"{[tuple(t.shape) for t in tensors]}")
        return tensors

    # ---- config ------------------------------------------------------------------------------
    def get_config(self) -> dict:
        config = super().get_config()
        del config["cell"]
        cell_config = {key: value for key, value in self.cell.get_config().items()
                       if key not in _LAYER_KEYS and key != "rank"}
        activity = config.pop("activity_regularizer", None)
        return {**config, **cell_config, "activity_regularizer": activity}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        return cls(**config)


def _cell_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(ConvLSTMCell)
            if f.init and not f.name.startswith("_") and f.name not in _LAYER_KEYS}


class ConvLSTM1D(ConvLSTM):
    """1-D convolutional LSTM: (batch, timesteps, steps, channels) -> (batch, steps',
    filters); kernel (k, channels, 4 filters)."""

    rank = 1


class ConvLSTM2D(ConvLSTM):
    """2-D convolutional LSTM: (batch, timesteps, rows, cols, channels) -> (batch, rows',
    cols', filters); kernel (kh, kw, channels, 4 filters)."""

    rank = 2


class ConvLSTM3D(ConvLSTM):
    """3-D convolutional LSTM: (batch, timesteps, d1, d2, d3, channels) -> (batch, d1', d2',
    d3', filters); kernel (k1, k2, k3, channels, 4 filters)."""

    rank = 3


__all__ = ["ConvLSTMCell", "ConvLSTM", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
