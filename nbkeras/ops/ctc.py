"""Connectionist temporal classification, as `keras.ops.ctc_loss`: the negative log
probability of each label sequence under the per-step softmax of the logits, summed over
every alignment (blanks and repeats), with its gradient from the same forward-backward pass
(the `ctc_loss` kernel)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from .core import cast
from .op import Op, convert_to_tensor, spec_of

__all__ = ["ctc_loss"]


@dataclass(frozen=True)
class CTCLoss(Op):
    """target (B, L) ints, output logits (B, T, C) float, target_length and output_length
    (B,) ints -> loss (B,) of output's dtype. Only `output` has a gradient."""

    mask_index: int

    def output_spec(self, target: Spec, output: Spec, target_length: Spec,
                    output_length: Spec) -> Spec:
        batch = {n for n in (target.shape[:1] + output.shape[:1] + target_length.shape[:1]
                             + output_length.shape[:1]) if n is not None}
        if (len(target.shape) != 2 or len(output.shape) != 3 or len(target_length.shape) != 1
                or len(output_length.shape) != 1 or len(batch) > 1):
            raise ValueError("ctc_loss: expected target (B, L), output (B, T, C), target_length "
                             f"(B,) and output_length (B,); received target {target.shape}, "
                             f"output {output.shape}, target_length {target_length.shape}, "
                             f"output_length {output_length.shape}")
        classes = output.shape[2]
        if classes is not None and not 0 <= self.mask_index < classes:
            raise ValueError(f"ctc_loss: mask_index={self.mask_index} is not a class of output "
                             f"{output.shape}")
        return Spec((output.shape[0],), output.dtype)

    def forward(self, k, target, output, target_length, output_length):
        log_probs = k.log_softmax_forward(output)
        loss, grad = k.ctc_loss(log_probs, k.cast(target, "int64"),
                                k.cast(target_length, "int64"), k.cast(output_length, "int64"),
                                self.mask_index)
        return loss, (grad,)

    def vjp(self, k, dy, residuals, needs):
        (grad,) = residuals
        d_output = k.multiply(grad, k.reshape(dy, (-1, 1, 1))) if needs[1] else None
        return None, d_output, None, None


def _tensor(x, dtype=None):
    if isinstance(x, KerasTensor):
        return x if dtype is None or x.dtype == dtype else cast(x, dtype)
    return convert_to_tensor(x, dtype)


def _check_labels(target, output, target_length) -> None:
    """Labels within their lengths must be classes of output (eager inputs only)."""
    if any(isinstance(t, KerasTensor) for t in (target, output, target_length)):
        return
    labels, lengths = np.asarray(target), np.asarray(target_length)
    used = np.arange(labels.shape[1])[None, :] < lengths[:, None]
    bad = used & ((labels < 0) | (labels >= output.shape[2]))
    if bad.any():
        raise ValueError(f"ctc_loss: target holds labels outside [0, {output.shape[2]}) "
                         f"within target_length (first at {tuple(np.argwhere(bad)[0])}); "
                         f"received target {labels.shape}, output {tuple(output.shape)}")


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC loss per sequence: target (B, L) integer labels, of which the first
    target_length[b] count; output (B, T, C) logits, of which the first output_length[b]
    steps count; class `mask_index` is the blank. -> (B,) in output's float dtype (at least
    float32). A sequence whose labels cannot fit in its steps gets an infinite loss and a
    zero gradient. Differentiable in `output` only."""
    output = _tensor(output)
    if output.dtype not in ("float32", "float64"):
        output = cast(output, "float32")
    target, target_length, output_length = (_tensor(t, "int32") for t in
                                            (target, target_length, output_length))
    inputs = (target, output, target_length, output_length)
    op = CTCLoss(int(mask_index))
    op.output_spec(*[spec_of(t) for t in inputs])     # shapes first: errors name them
    _check_labels(target, output, target_length)
    return op(*inputs)
