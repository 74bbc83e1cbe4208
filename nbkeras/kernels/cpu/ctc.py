"""Connectionist temporal classification: the loss of each sequence and its gradient with
respect to the logits, from one forward-backward (alpha/beta) pass in log space over the
label sequence with blanks between and around the labels (2 L + 1 states); and the prefix
beam search that decodes a sequence (`beam_search_program`, plain Python that this module
compiles with njit and kernels/cuda/ctc.py as CUDA device functions, so both devices run
the same search). kernels/cuda/ctc.py exports the same names and signatures."""
import math

import numpy as np
from numba import njit

__all__ = ["ctc_beam_search", "ctc_loss"]


def log_add(a, b, neg_inf):
    """log(exp(a) + exp(b)), exact when either is -inf (neg_inf: -inf of the scores' type).
    Plain Python, compiled by both devices' CTC kernels."""
    hi = a if a >= b else b
    lo = b if a >= b else a
    if lo == neg_inf:
        return hi
    return hi + math.log1p(math.exp(lo - hi))


_log_add = njit(cache=True)(log_add)


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
                a = _log_add(a, alpha[t - 1, s - 1], -np.inf)
            if s >= 2 and c != blank and c != _state(labels, s - 2, blank):
                a = _log_add(a, alpha[t - 1, s - 2], -np.inf)
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
                b = _log_add(b, beta[t + 1, s + 1], -np.inf)
            if s + 2 < n_states and c != blank and c != _state(labels, s + 2, blank):
                b = _log_add(b, beta[t + 1, s + 2], -np.inf)
            beta[t, s] = b + lp[t, c]
    log_p = alpha[last, n_states - 1]
    if n_states > 1:
        log_p = _log_add(log_p, alpha[last, n_states - 2], -np.inf)
    if log_p == -np.inf:        # no alignment fits: infinite loss, no gradient
        return np.inf
    n_classes = lp.shape[1]
    occupancy = np.empty(n_classes, lp.dtype)
    for t in range(n_steps):
        for c in range(n_classes):
            occupancy[c] = -np.inf
        for s in range(n_states):   # alpha and beta both hold the emission at t: count it once
            c = _state(labels, s, blank)
            occupancy[c] = _log_add(occupancy[c], alpha[t, s] + beta[t, s] - lp[t, c], -np.inf)
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


def beam_search_program(compile):
    """`search(lp, b, n_steps, beam_width, blank, neg_inf, s, prefix, length, score, cand,
    child, paths, scores)`, built by `compile`: the CTC prefix beam search of sequence b of
    lp (B, T, C) log-probabilities over its first n_steps steps, as Keras's JAX backend runs it.

    A beam is a label prefix (repeats merged, no blanks) with two log-probabilities: of the
    paths so far that collapse to it ending in a label (emit) and ending in the blank. Each
    step, every beam i yields candidates: itself (the blank, or its last label repeated) and
    itself extended by each label c (from its blank-ending paths only when c is its last
    label); an extension equal to another beam adds into that beam. The `beam_width` best
    candidates by total probability become the beams, best first; ties go to the prefix that
    is later in the lexicographic order of (C - 1 - class) with the shorter first, as Keras's
    (it sorts the flipped classes). The first step starts from the empty prefix with
    probability 1. paths[k, b] (top_paths, B, T) gets the labels of the k-th best beam and
    -1 after them, scores[b, k] its log probability; -1 and -inf past the beams there are.

    Scratch of sequence slot s (B or 1 of them), W = beam_width, buffers 0/1 alternate:
    prefix (S, 2, W, T) and length (S, 2, W) ints, score (S, 2, 2, W) [buffer, emit/blank,
    beam], cand (S, 3, W * (C + 1)) [emit/blank/total, i * (C + 1) + c] with c = C for the
    beam itself, child (S, W, C) ints."""
    add_logs = compile(log_add)

    def flipped_class(prefix, length, s, buf, i, c, p, n_classes):
        """C - 1 - the class at position p of beam i extended by c (c = C: not extended), -1
        past its end."""
        n = length[s, buf, i]
        if p < n:
            return n_classes - 1 - prefix[s, buf, i, p]
        if p == n and c < n_classes:
            return n_classes - 1 - c
        return -1

    flipped_class = compile(flipped_class)

    def above(cand, prefix, length, s, buf, j, k, n_classes):
        """Whether candidate j ranks above candidate k."""
        if cand[s, 2, j] != cand[s, 2, k]:
            return cand[s, 2, j] > cand[s, 2, k]
        width = n_classes + 1
        for p in range(prefix.shape[3] + 1):
            a = flipped_class(prefix, length, s, buf, j // width, j % width, p, n_classes)
            b = flipped_class(prefix, length, s, buf, k // width, k % width, p, n_classes)
            if a != b:
                return a > b
        return False

    above = compile(above)

    def link_children(prefix, length, s, buf, n_beams, child):
        """child[s, i, c]: the beam that is beam i extended by class c, else -1."""
        for i in range(n_beams):
            for c in range(child.shape[2]):
                child[s, i, c] = -1
        for q in range(n_beams):
            n = length[s, buf, q]
            for i in range(n_beams):
                if n == 0 or length[s, buf, i] != n - 1:
                    continue
                p = 0
                while p < n - 1 and prefix[s, buf, i, p] == prefix[s, buf, q, p]:
                    p += 1
                if p == n - 1:
                    child[s, i, prefix[s, buf, q, n - 1]] = q

    link_children = compile(link_children)

    def expand(lp, b, t, blank, neg_inf, s, buf, n_beams, prefix, length, score, cand, child):
        """The candidates of step t from the beams of buffer buf, with their totals."""
        n_classes = lp.shape[2]
        width = n_classes + 1
        for j in range(n_beams * width):
            cand[s, 0, j] = neg_inf
            cand[s, 1, j] = neg_inf
        for i in range(n_beams):
            emit, ends_blank = score[s, buf, 0, i], score[s, buf, 1, i]
            total = add_logs(emit, ends_blank, neg_inf)
            n = length[s, buf, i]
            last = prefix[s, buf, i, n - 1] if n > 0 else -1
            itself = i * width + n_classes
            cand[s, 1, itself] = total + lp[b, t, blank]
            if last >= 0:
                cand[s, 0, itself] = add_logs(cand[s, 0, itself], emit + lp[b, t, last], neg_inf)
            for c in range(n_classes):
                if c == blank:
                    continue
                q = child[s, i, c]
                j = i * width + c if q < 0 else q * width + n_classes
                source = ends_blank if c == last else total
                cand[s, 0, j] = add_logs(cand[s, 0, j], source + lp[b, t, c], neg_inf)
        for j in range(n_beams * width):
            cand[s, 2, j] = add_logs(cand[s, 0, j], cand[s, 1, j], neg_inf)

    expand = compile(expand)

    def select(beam_width, n_classes, neg_inf, s, buf, n_beams, prefix, length, score, cand):
        """Moves the best beam_width candidates of probability > 0, best first, into the
        beams of buffer 1 - buf; returns their number."""
        width = n_classes + 1
        nxt = 1 - buf
        count = 0
        while count < beam_width:
            best = -1
            for j in range(n_beams * width):
                if cand[s, 2, j] > neg_inf and (
                        best < 0 or above(cand, prefix, length, s, buf, j, best, n_classes)):
                    best = j
            if best < 0:
                break
            i, c = best // width, best % width
            n = length[s, buf, i]
            for p in range(n):
                prefix[s, nxt, count, p] = prefix[s, buf, i, p]
            if c < n_classes:
                prefix[s, nxt, count, n] = c
                n += 1
            length[s, nxt, count] = n
            score[s, nxt, 0, count] = cand[s, 0, best]
            score[s, nxt, 1, count] = cand[s, 1, best]
            cand[s, 2, best] = neg_inf          # taken
            count += 1
        return count

    select = compile(select)

    def search(lp, b, n_steps, beam_width, blank, neg_inf, s, prefix, length, score, cand,
               child, paths, scores):
        n_classes = lp.shape[2]
        length[s, 0, 0] = 0
        score[s, 0, 0, 0] = neg_inf
        score[s, 0, 1, 0] = 0.0
        n_beams, buf = 1, 0
        for t in range(n_steps):
            link_children(prefix, length, s, buf, n_beams, child)
            expand(lp, b, t, blank, neg_inf, s, buf, n_beams, prefix, length, score, cand, child)
            n_beams = select(beam_width, n_classes, neg_inf, s, buf, n_beams, prefix, length,
                             score, cand)
            buf = 1 - buf
        for k in range(paths.shape[0]):
            for p in range(paths.shape[2]):
                paths[k, b, p] = -1
            scores[b, k] = neg_inf
            if k < n_beams:
                for p in range(length[s, buf, k]):
                    paths[k, b, p] = prefix[s, buf, k, p]
                scores[b, k] = add_logs(score[s, buf, 0, k], score[s, buf, 1, k], neg_inf)

    return compile(search)


def beam_search_scratch(n_slots, n_steps, n_classes, beam_width, float_dtype, allocate):
    """(prefix, length, score, cand, child) for `beam_search_program`'s search, of n_slots
    slots, by `allocate(shape, dtype)`."""
    return (allocate((n_slots, 2, beam_width, max(n_steps, 1)), np.int64),
            allocate((n_slots, 2, beam_width), np.int64),
            allocate((n_slots, 2, 2, beam_width), float_dtype),
            allocate((n_slots, 3, beam_width * (n_classes + 1)), float_dtype),
            allocate((n_slots, beam_width, n_classes), np.int64))


def beam_search_steps(lengths, n_steps):
    """The steps each sequence decodes: its length within [1, T] (Keras always reads the
    first step), none when T = 0."""
    return np.clip(np.asarray(lengths, np.int64), min(1, n_steps), n_steps)


_search = beam_search_program(njit(cache=True))


@njit(cache=True)
def _beam_batch(lp, steps, beam_width, blank, neg_inf, prefix, length, score, cand, child,
                paths, scores):
    for b in range(lp.shape[0]):
        _search(lp, b, steps[b], beam_width, blank, neg_inf, 0, prefix, length, score, cand,
                child, paths, scores)


def ctc_beam_search(log_probs, lengths, beam_width, top_paths, blank):
    """(paths int32 (top_paths, B, T), scores (B, top_paths)) of the CTC prefix beam search
    over log_probs = log_softmax(logits) (B, T, C), the first lengths[b] steps of sequence b
    (clipped to [1, T]), with blank class `blank`: the labels of the top_paths most probable
    prefixes, best first, -1 after them, and their log probabilities (-1 rows and -inf past
    the prefixes found). Not differentiable."""
    lp = np.ascontiguousarray(log_probs)
    n_batch, n_steps, n_classes = lp.shape
    paths = np.empty((top_paths, n_batch, n_steps), np.int32)
    scores = np.empty((n_batch, top_paths), lp.dtype)
    scratch = beam_search_scratch(1, n_steps, n_classes, beam_width, lp.dtype, np.empty)
    _beam_batch(lp, beam_search_steps(lengths, n_steps), int(beam_width), int(blank),
                lp.dtype.type(-np.inf), *scratch, paths, scores)
    return paths, scores
