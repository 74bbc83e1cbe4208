"""DropoutRNNCell: the dropout masks a recurrent cell draws once per layer call (Keras's mask
reuse: every step of one call shares them) and drops when the call ends."""
from __future__ import annotations

from ... import ops


class DropoutRNNCell:
    """Mixed into a cell with `dropout`, `recurrent_dropout` and `seed_generator`. A cell that
    sets `dropout_mask_count` draws that many masks per kind (one per gate)."""

    def _create_dropout_mask(self, step_input, rate: float):
        ones = ops.ones_like(step_input)
        count = getattr(self, "dropout_mask_count", None)
        if count is None:
            return ops.dropout(ones, rate, seed=self.seed_generator)
        return [ops.dropout(ones, rate, seed=self.seed_generator) for _ in range(count)]

    def get_dropout_mask(self, step_input):
        """The inputs' mask(s) of this call, drawn on first use; None without dropout."""
        if self.__dict__.get("_dropout_mask") is None and 0 < self.dropout < 1:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return self.__dict__.get("_dropout_mask")

    def get_recurrent_dropout_mask(self, step_input):
        """The recurrent state's mask(s) of this call, drawn on first use; None without."""
        if self.__dict__.get("_recurrent_dropout_mask") is None and 0 < self.recurrent_dropout < 1:
            self._recurrent_dropout_mask = self._create_dropout_mask(step_input,
                                                                     self.recurrent_dropout)
        return self.__dict__.get("_recurrent_dropout_mask")

    def reset_dropout_mask(self) -> None:
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._recurrent_dropout_mask = None


def clamp_rate(value) -> float:
    """Keras's `min(1, max(0, rate))`."""
    return min(1.0, max(0.0, float(value)))
