"""FusedRNN: what SimpleRNN, LSTM and GRU share over the generic RNN: their cell's config as
theirs (Keras's properties and get_config), `use_cudnn`, and the fused path."""
from __future__ import annotations

import dataclasses

from ... import ops
from ...core.dtype import is_float
from ...ops.recurrent import recurrent_sequence
from .rnn import RNN

_LAYER_KEYS = ("name", "trainable", "dtype", "input_shape", "input_dim")


class FusedRNN(RNN):
    """An RNN over its own cell class (`cell_class`), built from the cell's arguments."""

    cell_class: type = None
    cell_name: str = ""

    def __init__(self, cell, use_cudnn="auto", **kwargs):
        super().__init__(cell, **kwargs)
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{type(self).__name__} '{self.name}': use_cudnn must be 'auto', "
                             f"True or False; received use_cudnn={use_cudnn!r}")
        self.use_cudnn = use_cudnn

    def __getattr__(self, name: str):
        """The cell's config as the layer's (`lstm.units`, `gru.reset_after`), as Keras's
        properties."""
        cell = self.__dict__.get("cell")
        if cell is not None and name in _cell_fields(type(cell)):
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=mask,
                            training=training)

    def _fused_cell(self, training) -> str | None:
        """The fused kernels' name for this cell, or None where only the generic loop
        computes what Keras does (other activations, active recurrent dropout, zeros for
        masked outputs)."""
        cell = self.cell
        if not isinstance(cell, self.cell_class) or self.zero_output_for_mask \
                or not is_float(self.dtype) or cell.activation != "tanh" \
                or getattr(cell, "recurrent_activation", "sigmoid") != "sigmoid" \
                or (training and 0 < cell.recurrent_dropout < 1):
            return None
        return self._fused_name()

    def _fused_loop(self, sequences, initial_state, mask, training):
        """One RecurrentSequence op: input dropout (one mask for every step, as Keras), the
        sequence reversed for go_backwards, then h of every step and the final states."""
        name = self._fused_cell(training)
        if name is None:
            return None
        cell = self.cell
        if training and 0 < cell.dropout < 1:
            dp_mask = cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * ops.expand_dims(dp_mask, 1)
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
            mask = ops.flip(mask, axis=1) if mask is not None else None
        h0 = initial_state[0]
        c0 = initial_state[1] if name == "lstm" else None
        result = recurrent_sequence(name, sequences, cell.kernel, cell.recurrent_kernel,
                                    cell.bias, h0, c0, mask)
        hs, c_last = result if name == "lstm" else (result, None)
        last = hs[:, -1]
        return last, hs, ([last, c_last] if name == "lstm" else [last])

    def get_config(self) -> dict:
        config = super().get_config()
        del config["cell"]
        cell_config = {key: value for key, value in self.cell.get_config().items()
                       if key not in _LAYER_KEYS}
        activity = config.pop("activity_regularizer", None)
        return {**config, **cell_config, "activity_regularizer": activity}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None):
        return cls(**config)


def _cell_fields(cell_class: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cell_class)
            if f.init and not f.name.startswith("_") and f.name not in _LAYER_KEYS}
