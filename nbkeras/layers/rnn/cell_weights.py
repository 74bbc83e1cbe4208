"""What the SimpleRNN, LSTM and GRU cells share: config checks and their three weights."""
from __future__ import annotations

import numpy as np

from ... import activations, initializers
from ...core.random import SeedGenerator
from ..layer import require
from .dropout_rnn_cell import clamp_rate


def check_cell_config(cell) -> None:
    """Keras's checks and normalizations: positive units, activations by name, rates clamped
    to [0, 1]; then the cell's seed generator."""
    require(cell, "units", isinstance(cell.units, int) and not isinstance(cell.units, bool)
            and cell.units > 0, "a positive integer")
    cell.activation = activations.serialize(activations.get(cell.activation))
    if hasattr(cell, "recurrent_activation"):
        cell.recurrent_activation = activations.serialize(
            activations.get(cell.recurrent_activation))
    for rate in ("dropout", "recurrent_dropout"):
        require(cell, rate, isinstance(getattr(cell, rate), (int, float)), "a number")
        setattr(cell, rate, clamp_rate(getattr(cell, rate)))
    cell.seed_generator = SeedGenerator(cell.seed)


def add_cell_weights(cell, input_dim: int, gates: int, bias_shape, bias_initializer) -> None:
    """kernel (input_dim, gates * units), recurrent_kernel (units, gates * units) and, with
    use_bias, bias of bias_shape: Keras's names, shapes and gate order."""
    if input_dim is None:
        raise ValueError(f"{type(cell).__name__} '{cell.name}': the last axis of the input "
                         "must be known")
    cell.kernel = cell.add_weight((input_dim, gates * cell.units), cell.kernel_initializer,
                                  regularizer=cell.kernel_regularizer,
                                  constraint=cell.kernel_constraint, name="kernel")
    cell.recurrent_kernel = cell.add_weight((cell.units, gates * cell.units),
                                            cell.recurrent_initializer,
                                            regularizer=cell.recurrent_regularizer,
                                            constraint=cell.recurrent_constraint,
                                            name="recurrent_kernel")
    cell.bias = (cell.add_weight(bias_shape, bias_initializer, regularizer=cell.bias_regularizer,
                                 constraint=cell.bias_constraint, name="bias")
                 if cell.use_bias else None)


def unit_forget_bias_initializer(cell):
    """Keras's LSTM bias: the bias initializer's values with the forget gate's set to one."""
    base = initializers.get(cell.bias_initializer)
    ones = initializers.get("ones")

    def initializer(shape, dtype=None):
        units = cell.units
        return np.concatenate([np.asarray(base((units,), dtype=dtype)),
                               np.asarray(ones((units,), dtype=dtype)),
                               np.asarray(base((2 * units,), dtype=dtype))])
    return initializer


def activation_fn(name):
    return activations.get(name)
