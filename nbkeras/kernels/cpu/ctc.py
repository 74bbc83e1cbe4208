"""Connectionist temporal classification: the loss of each sequence and its gradient with
respect to the logits, from one forward-backward (alpha/beta) pass in log space over the
label sequence with blanks between and around the labels (2 L + 1 states).
kernels/cuda/ctc.py exports the same name and signature."""
import math

import numpy as np
from numba import njit

__all__ = ["ctc_loss"]


@njit(cache=True)
def _log_add(a, b):
    """log(exp(a) + exp(b)), exact when either is -inf."""
    hi, lo = (a, b) if a >= b else (b, a)
    if lo == -np.inf:
        return hi
    return hi + math.log1p(math.exp(lo - hi))


@njit(cache=True)
def _state(labels, s, blank):
    """The class of state s: blank at even s, label (s - 1) / 2 at odd s."""
    return blank if s % 2 == 0 else labels[(s - 1) // 2]


@njit(cache=True)
def _sequence(lp, labels, n_labels, n_steps, blank, grad):
    """-log p(labels[:n_labels] | lp[:n_steps]) of one sequence (lp: (T, C) log-softmax);
    writes d loss / d logits into grad[:n_steps] (grad arrives zeroed)."""
    n_states = 2 * n_labels + 1
    if n_steps == 0:
        return 0.0 if n_labels == 0 else np.inf
    alpha = np.full((n_steps, n_states), -np.inf, lp.dtype)
    beta = np.full((n_steps, n_states), -np.inf, lp.dtype)
    alpha[0, 0] = lp[0, blank]
    if n_states > 1:
        alpha[0, 1] = lp[0, labels[0]]
    for t in range(1, n_steps):
        for s in range(n_states):
            c = _state(labels, s, blank)
            a = alpha[t - 1, s]
            if s >= 1:
                a = _log_add(a, alpha[t - 1, s - 1])
            if s >= 2 and c != blank and c != _state(labels, s - 2, blank):
                a = _log_add(a, alpha[t - 1, s - 2])
            alpha[t, s] = a + lp[t, c]
    last = n_steps - 1
    beta[last, n_states - 1] = lp[last, _state(labels, n_states - 1, blank)]
    if n_states > 1:
        beta[last, n_states - 2] = lp[last, _state(labels, n_states - 2, blank)]
    for t in range(last - 1, -1, -1):
        for s in range(n_states):
            c = _state(labels, s, blank)
            b = beta[t + 1, s]
            if s + 1 < n_states:
                b = _log_add(b, beta[t + 1, s + 1])
            if s + 2 < n_states and c != blank and c != _state(labels, s + 2, blank):
                b = _log_add(b, beta[t + 1, s + 2])
            beta[t, s] = b + lp[t, c]
    log_p = alpha[last, n_states - 1]
    if n_states > 1:
        log_p = _log_add(log_p, alpha[last, n_states - 2])
    if log_p == -np.inf:        # no alignment fits: infinite loss, no gradient
        return np.inf
    n_classes = lp.shape[1]
    occupancy = np.empty(n_classes, lp.dtype)
    for t in range(n_steps):
        for c in range(n_classes):
            occupancy[c] = -np.inf
        for s in range(n_states):   # alpha and beta both hold the emission at t: count it once
            c = _state(labels, s, blank)
            occupancy[c] = _log_add(occupancy[c], alpha[t, s] + beta[t, s] - lp[t, c])
        for c in range(n_classes):
            grad[t, c] = math.exp(lp[t, c]) - math.exp(occupancy[c] - log_p)
    return -log_p


@njit(cache=True)
def _batch(log_probs, labels, label_lengths, logit_lengths, blank, loss, grad):
    n_batch, n_steps, _ = log_probs.shape
    for b in range(n_batch):
        n_labels = min(max(label_lengths[b], 0), labels.shape[1])
        steps = min(max(logit_lengths[b], 0), n_steps)
        loss[b] = _sequence(log_probs[b], labels[b], n_labels, steps, blank, grad[b])


def ctc_loss(log_probs, labels, label_lengths, logit_lengths, blank):
    """(loss (B,), d loss / d logits (B, T, C)) of log_probs = log_softmax(logits) (B, T, C),
    int labels (B, L) of which the first label_lengths[b] count, logit_lengths[b] steps and
    the blank class `blank`. Lengths are clipped to the arrays; a sequence no alignment fits
    gets loss inf and a zero gradient, as do steps past its length."""
    log_probs = np.ascontiguousarray(log_probs)
    loss = np.empty(log_probs.shape[0], log_probs.dtype)
    grad = np.zeros_like(log_probs)
    _batch(log_probs, np.ascontiguousarray(labels, np.int64),
           np.ascontiguousarray(label_lengths, np.int64),
           np.ascontiguousarray(logit_lengths, np.int64), int(blank), loss, grad)
    return loss, grad
