"""Fused recurrent sequences: SimpleRNN, LSTM and GRU over all steps in one op, with a
backward-through-time VJP (kernels/<device>/recurrent.py)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.spec import Spec
from .op import Op, convert_to_tensor

CELLS = ("simple", "lstm", "gru", "gru_reset_before")


@dataclass(frozen=True)
class RecurrentSequence(Op):
    """x (B, T, F), kernel, recurrent_kernel, bias, h0 (B, U), c0 (B, U), mask (B, T) ->
    hs (B, T, U), the h of every step in processing order (a masked step carries h), and for
    "lstm" also c after the last step. Absent bias, c0 and mask travel as placeholders."""

    cell: str
    use_bias: bool
    masked: bool

    @property
    def n_outputs(self) -> int:
        return 2 if self.cell == "lstm" else 1

    def output_spec(self, x, kernel, recurrent_kernel, bias, h0, c0, mask):
        units = recurrent_kernel.shape[0]
        hs = Spec((x.shape[0], x.shape[1], units), x.dtype)
        return (hs, Spec((x.shape[0], units), x.dtype)) if self.cell == "lstm" else hs

    def forward(self, k, x, kernel, recurrent_kernel, bias, h0, c0, mask):
        bias = bias if self.use_bias else None
        c0 = c0 if self.cell == "lstm" else None
        mask = mask if self.masked else None
        hs, c_last, saved = k.recurrent_forward(self.cell, x, kernel, recurrent_kernel, bias, h0,
                                                c0, mask)
        y = (hs, c_last) if self.cell == "lstm" else hs
        return y, (kernel, recurrent_kernel, bias, h0, c0, saved)

    def vjp(self, k, dy, residuals, needs):
        kernel, recurrent_kernel, bias, h0, c0, saved = residuals
        d_hs, d_c = dy if self.cell == "lstm" else (dy, None)
        dx, dk, drk, db, dh0, dc0 = k.recurrent_backward(self.cell, d_hs, d_c, kernel,
                                                         recurrent_kernel, bias, h0, c0, saved)
        grads = (dx, dk, drk, db, dh0, dc0, None)
        return tuple(g if need and g is not None else None for g, need in zip(grads, needs))


def recurrent_sequence(cell: str, x, kernel, recurrent_kernel, bias, h0, c0=None, mask=None):
    """The fused sequence op (see RecurrentSequence): hs, or (hs, c_last) for "lstm"."""
    if cell not in CELLS:
        raise ValueError(f"recurrent_sequence: cell must be one of {CELLS}; received {cell!r}")
    dtype = x.dtype
    placeholder = np.zeros((1,), dtype)
    op = RecurrentSequence(cell, bias is not None, mask is not None)
    return op(x, kernel, recurrent_kernel, placeholder if bias is None else bias, h0,
              placeholder if c0 is None else c0,
              np.ones((1, 1), bool) if mask is None else convert_to_tensor(mask, "bool"))
