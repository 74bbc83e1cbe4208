"""CTC loss and its logits gradient, and CTC beam search decoding: the CUDA twin of
`kernels.cpu.ctc`.

One block per sequence (blocks stride over the batch): its threads stride over the 2 L + 1
states of the blank-extended label sequence, one time step at a time with a barrier between
steps, first forward (alpha) then backward (beta), in log space, into per-sequence scratch;
then they stride over the (step, class) cells to write the gradient. `neg_inf` enters as an
argument of the arrays' type, so float32 kernels compute in float32.

Beam search: one thread per sequence (threads stride over the batch) runs
`kernels.cpu.ctc.beam_search_program` compiled as device functions, the same search as the
CPU's, sequentially over the steps, in per-sequence scratch the host allocates.
"""
import math

import numpy as np
from numba import types

from ..cpu import ctc as host
from .runtime import (FLOATS, THREADS, block_index, blocks, device, empty, grid, grid_size,
                      gridsize, kernel, syncthreads, thread_index, to_device, to_host)

__all__ = ["ctc_beam_search", "ctc_loss"]

_INDEX = types.int64[::1]
_SIGNATURES = [(f[:, :, ::1], types.int64[:, ::1], _INDEX, _INDEX, types.int64, f, f,
                f[:, :, ::1], f[:, :, ::1], f[::1], f[:, :, ::1]) for f in FLOATS]


_log_add = device(host.log_add)


@device
def _state(labels, b, s, blank):
    """The class of state s: blank at even s, label (s - 1) / 2 at odd s."""
    return blank if s % 2 == 0 else labels[b, (s - 1) // 2]


@device
def _skips(labels, b, s, other, blank):
    """Whether the path may jump between states s and other = s -/+ 2 (not over a blank,
    not between equal labels)."""
    c = _state(labels, b, s, blank)
    return c != blank and c != _state(labels, b, other, blank)


@kernel(*_SIGNATURES)
def _ctc(lp, labels, label_lengths, logit_lengths, blank, zero, neg_inf, alpha, beta, loss,
         grad):
    n_batch, n_time, n_classes = lp.shape
    for b in range(block_index.x, n_batch, grid_size.x):
        n_labels = min(max(label_lengths[b], 0), labels.shape[1])
        n_steps = min(max(logit_lengths[b], 0), n_time)
        n_states = 2 * n_labels + 1
        last = n_steps - 1
        for s in range(thread_index.x, n_states, THREADS):       # step 0 and the last step
            if n_steps > 0:
                c = _state(labels, b, s, blank)
                alpha[b, 0, s] = lp[b, 0, c] if s < 2 else neg_inf
                beta[b, last, s] = lp[b, last, c] if s >= n_states - 2 else neg_inf
        syncthreads()
        for t in range(1, n_steps):
            for s in range(thread_index.x, n_states, THREADS):
                a = alpha[b, t - 1, s]
                if s >= 1:
                    a = _log_add(a, alpha[b, t - 1, s - 1], neg_inf)
                if s >= 2 and _skips(labels, b, s, s - 2, blank):
                    a = _log_add(a, alpha[b, t - 1, s - 2], neg_inf)
                alpha[b, t, s] = a + lp[b, t, _state(labels, b, s, blank)]
            syncthreads()
        for t in range(last - 1, -1, -1):
            for s in range(thread_index.x, n_states, THREADS):
                v = beta[b, t + 1, s]
                if s + 1 < n_states:
                    v = _log_add(v, beta[b, t + 1, s + 1], neg_inf)
                if s + 2 < n_states and _skips(labels, b, s, s + 2, blank):
                    v = _log_add(v, beta[b, t + 1, s + 2], neg_inf)
                beta[b, t, s] = v + lp[b, t, _state(labels, b, s, blank)]
            syncthreads()
        log_p = zero if n_labels == 0 else neg_inf      # no steps: p = 1 for no labels
        if n_steps > 0:
            log_p = _log_add(alpha[b, last, n_states - 1],
                             alpha[b, last, n_states - 2] if n_states > 1 else neg_inf, neg_inf)
        if thread_index.x == 0:
            loss[b] = -log_p
        for i in range(thread_index.x, n_time * n_classes, THREADS):
            t = i // n_classes
            c = i - t * n_classes
            g = zero
            if t < n_steps and log_p != neg_inf:
                occupancy = neg_inf   # alpha and beta both hold the emission at t: count it once
                for s in range(n_states):
                    if _state(labels, b, s, blank) == c:
                        occupancy = _log_add(occupancy, alpha[b, t, s] + beta[b, t, s]
                                             - lp[b, t, c], neg_inf)
                g = math.exp(lp[b, t, c]) - math.exp(occupancy - log_p)
            grad[b, t, c] = g


def ctc_loss(log_probs, labels, label_lengths, logit_lengths, blank):
    """As kernels.cpu.ctc.ctc_loss; labels and lengths are int64."""
    lp = to_device(log_probs)
    n_batch, n_time, _ = lp.shape
    n_states = 2 * labels.shape[1] + 1
    alpha = empty((n_batch, max(n_time, 1), n_states), lp.dtype)
    beta = empty((n_batch, max(n_time, 1), n_states), lp.dtype)
    loss = empty((n_batch,), lp.dtype)
    grad = empty(lp.shape, lp.dtype)
    if n_batch:
        _ctc[blocks(n_batch, 1), THREADS](
            lp, to_device(labels), to_device(label_lengths), to_device(logit_lengths),
            int(blank), lp.dtype.type(0), lp.dtype.type(-np.inf), alpha, beta, loss, grad)
    return loss, grad


_search = host.beam_search_program(device)
_BEAM_SIGNATURES = [(f[:, :, ::1], _INDEX, types.int64, types.int64, f, types.int64[:, :, :, ::1],
                     types.int64[:, :, ::1], f[:, :, :, ::1], f[:, :, ::1], types.int64[:, :, ::1],
                     types.int32[:, :, ::1], f[:, ::1]) for f in FLOATS]


@kernel(*_BEAM_SIGNATURES)
def _beam(lp, steps, beam_width, blank, neg_inf, prefix, length, score, cand, child, paths,
          scores):
    for b in range(grid(1), lp.shape[0], gridsize(1)):
        _search(lp, b, steps[b], beam_width, blank, neg_inf, b, prefix, length, score, cand,
                child, paths, scores)


def ctc_beam_search(log_probs, lengths, beam_width, top_paths, blank):
    """As kernels.cpu.ctc.ctc_beam_search."""
    lp = to_device(log_probs)
    n_batch, n_steps, n_classes = lp.shape
    paths = empty((top_paths, n_batch, n_steps), np.int32)
    scores = empty((n_batch, top_paths), lp.dtype)
    if n_batch and top_paths:
        scratch = host.beam_search_scratch(n_batch, n_steps, n_classes, beam_width, lp.dtype,
                                           empty)
        _beam[blocks(n_batch), THREADS](
            lp, to_device(host.beam_search_steps(to_host(lengths), n_steps)), int(beam_width),
            int(blank), lp.dtype.type(-np.inf), *scratch, paths, scores)
    return paths, scores
