"""Connectionist temporal classification, as `keras.ops.ctc_loss`: the negative log
probability of each label sequence under the per-step softmax of the logits, summed over
every alignment (blanks and repeats), with its gradient from the same forward-backward pass
(the `ctc_loss` kernel); and `keras.ops.ctc_decode`: greedy decoding composed from existing
kernels, beam search on the `ctc_beam_search` kernel."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from .core import cast
from .op import Op, convert_to_tensor, spec_of

__all__ = ["ctc_decode", "ctc_loss"]


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


@dataclass(frozen=True)
class CTCDecode(Op):
    """inputs logits (B, T, C) float, sequence_lengths (B,) ints -> (paths int32 (P, B, T),
    scores (B, P) of the inputs' dtype), P = 1 for greedy decoding, top_paths for beam
    search. Integer paths and decoding scores: no gradient."""

    strategy: str
    beam_width: int
    top_paths: int
    merge_repeated: bool
    mask_index: int | None

    n_outputs = 2
    differentiable_outputs = ()

    def output_spec(self, inputs: Spec, sequence_lengths: Spec) -> tuple:
        batch = {n for n in inputs.shape[:1] + sequence_lengths.shape[:1] if n is not None}
        if len(inputs.shape) != 3 or len(sequence_lengths.shape) != 1 or len(batch) > 1:
            raise ValueError("ctc_decode: expected inputs (B, T, C) and sequence_lengths (B,); "
                             f"received inputs {inputs.shape}, sequence_lengths "
                             f"{sequence_lengths.shape}")
        classes = inputs.shape[2]
        if (self.mask_index is not None and classes is not None
                and not 0 <= self.mask_index < classes):
            raise ValueError(f"ctc_decode: mask_index={self.mask_index} is not a class of "
                             f"inputs {inputs.shape}")
        n_paths = 1 if self.strategy == "greedy" else self.top_paths
        return (Spec((n_paths,) + inputs.shape[:2], "int32"),
                Spec((inputs.shape[0], n_paths), inputs.dtype))

    def forward(self, k, inputs, sequence_lengths):
        blank = inputs.shape[2] - 1 if self.mask_index is None else self.mask_index
        lengths = k.cast(sequence_lengths, "int64")
        if self.strategy == "greedy":
            return self._greedy(k, inputs, lengths, blank), ()
        return k.ctc_beam_search(k.log_softmax_forward(inputs), lengths, self.beam_width,
                                 self.top_paths, blank), ()

    def _greedy(self, k, inputs, lengths, blank):
        """The most probable class at each step within the length (repeats merged if
        merge_repeated), blanks dropped and the labels moved to the front, -1 after them;
        the score is minus the sum of those steps' largest logits, as Keras's."""
        n_batch, n_steps, _ = inputs.shape
        steps = k.asarray(np.arange(n_steps, dtype=np.int64).reshape(1, n_steps))
        past = k.greater_equal(steps, k.reshape(lengths, (n_batch, 1)))
        labels = k.where(past, blank, k.argmax(inputs, -1, False))
        best = k.where(past, 0, k.reduce("max", inputs, -1, False))
        if self.merge_repeated and n_steps > 1:
            repeat = k.equal(k.getitem(labels, (slice(None), slice(1, None))),
                             k.getitem(labels, (slice(None), slice(None, -1))))
            labels = k.where(k.pad(repeat, ((0, 0), (1, 0)), False), blank, labels)
        dropped = k.equal(labels, blank)
        _, order = k.sort(k.where(dropped, n_steps, steps))   # stable: labels keep their order
        rows = np.arange(n_batch).reshape(n_batch, 1)
        labels = k.getitem(k.where(dropped, -1, labels), (rows, order))
        paths = k.reshape(k.cast(labels, "int32"), (1, n_batch, n_steps))
        return paths, k.negative(k.reduce("sum", best, -1, True))

    def vjp(self, k, dy, residuals, needs):
        return None, None


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decodes CTC logits inputs (B, T, C), of which the first sequence_lengths[b] steps
    count (beam search reads at least the first), with class `mask_index` as the blank
    (None: the last class). -> (paths int32 (P, B, T): the decoded labels of each sequence,
    -1 after them; scores (B, P)) in inputs' float dtype (at least float32).

    strategy="greedy" (P = 1): the largest logit per step, repeats merged if merge_repeated,
    blanks dropped; the score is minus the sum of those largest logits. strategy=
    "beam_search" (P = top_paths): the CTC prefix beam search over log_softmax(inputs) with
    beam_width beams, the top_paths most probable label sequences best first, and their log
    probabilities (-1 paths and -inf past the sequences found); repeats are always merged
    (merge_repeated applies to greedy decoding only, as in Keras on JAX). No gradient."""
    if strategy not in ("greedy", "beam_search"):
        raise ValueError(f"ctc_decode: invalid strategy {strategy!r}; supported values are "
                         "'greedy' and 'beam_search'")
    if strategy == "beam_search" and (int(beam_width) < 1 or int(top_paths) < 1):
        raise ValueError(f"ctc_decode: beam_width and top_paths must be at least 1; received "
                         f"beam_width={beam_width}, top_paths={top_paths}")
    inputs = _tensor(inputs)
    if inputs.dtype not in ("float32", "float64"):
        inputs = cast(inputs, "float32")
    sequence_lengths = _tensor(sequence_lengths, "int32")
    op = CTCDecode(strategy, int(beam_width), int(top_paths), bool(merge_repeated),
                   None if mask_index is None else int(mask_index))
    op.output_spec(spec_of(inputs), spec_of(sequence_lengths))   # errors name the shapes
    return op(inputs, sequence_lengths)
