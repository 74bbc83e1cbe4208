"""The CUDA CTC kernels compute what the CPU kernels compute. ctc_loss (one block per
sequence, threads over the label states), loss and logits gradient: on Hypothesis-drawn
batches with ragged label and step lengths, repeated labels, empty labels, a sequence no
alignment fits (inf, zero gradient), and labels longer than the block (the threads loop over
the states). ctc_beam_search (one thread per sequence), paths and scores: on drawn batches
with ragged lengths (0 included), narrow and wide beams, more paths than prefixes, tied
logits, and more sequences than threads of the launch."""
import inspect

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import ctc as cpu
from nbkeras.kernels.cpu.softmax import log_softmax_forward
from nbkeras.kernels.cuda import ctc as cuda
from nbkeras.kernels.cuda.runtime import THREADS, to_host

TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}


def _check(logits, labels, label_lengths, logit_lengths, blank):
    log_probs = log_softmax_forward(logits)
    want_loss, want_grad = cpu.ctc_loss(log_probs, labels, label_lengths, logit_lengths, blank)
    loss, grad = cuda.ctc_loss(log_probs, labels, label_lengths, logit_lengths, blank)
    tolerance = TOLERANCE[logits.dtype.type]
    for got, want, name in [(loss, want_loss, "loss"), (grad, want_grad, "grad")]:
        got = to_host(got)
        assert (got.shape, got.dtype) == (want.shape, want.dtype), name
        np.testing.assert_allclose(got, want, err_msg=name, **tolerance)


def test_exports_the_cpu_functions_with_their_signatures():
    assert cuda.__all__ == cpu.__all__ == ["ctc_beam_search", "ctc_loss"]
    for name in cpu.__all__:
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(getattr(cpu, name))


@settings(max_examples=6)
@given(seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 3), steps=st.integers(1, 6),
       classes=st.integers(2, 4), max_labels=st.integers(0, 3),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_matches_cpu(seed, batch, steps, classes, max_labels, dtype):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (batch, steps, classes)).astype(dtype)
    blank = int(rng.integers(0, classes))
    labels = rng.integers(0, classes, (batch, max_labels)).astype(np.int64)
    labels[labels == blank] = (blank + 1) % classes        # labels are never the blank
    label_lengths = rng.integers(0, max_labels + 1, batch).astype(np.int64)
    logit_lengths = rng.integers(0, steps + 1, batch).astype(np.int64)
    _check(logits, labels, label_lengths, logit_lengths, blank)


def test_long_labels_repeats_and_a_sequence_that_cannot_fit():
    rng = np.random.default_rng(0)
    n_labels = THREADS // 2 + 3                          # 2 L + 1 states > THREADS
    labels = rng.integers(1, 3, (3, n_labels)).astype(np.int64)
    logits = rng.normal(0, 1, (3, 2 * n_labels + 2, 3))
    lengths = np.array([n_labels, n_labels, 2])
    steps = np.array([2 * n_labels + 2, n_labels - 1, 5])   # the second one cannot fit
    _check(logits, labels, lengths, steps, 0)
    loss, grad = cpu.ctc_loss(log_softmax_forward(logits), labels, lengths, steps, 0)
    assert np.isinf(loss[1]) and not grad[1].any() and np.isfinite(loss[[0, 2]]).all()


def _check_beam_search(logits, lengths, beam_width, top_paths, blank):
    log_probs = log_softmax_forward(logits)
    want = cpu.ctc_beam_search(log_probs, lengths, beam_width, top_paths, blank)
    got = cuda.ctc_beam_search(log_probs, lengths, beam_width, top_paths, blank)
    tolerance = TOLERANCE[logits.dtype.type]
    for got_array, want_array, name in zip(got, want, ["paths", "scores"]):
        got_array = to_host(got_array)
        assert (got_array.shape, got_array.dtype) == (want_array.shape, want_array.dtype), name
        np.testing.assert_allclose(got_array, want_array, err_msg=name, **tolerance)


@settings(max_examples=6)
@given(seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 3), steps=st.integers(1, 5),
       classes=st.integers(2, 4), beam_width=st.integers(1, 6), top_paths=st.integers(1, 4),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_beam_search_matches_cpu(seed, batch, steps, classes, beam_width, top_paths, dtype):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (batch, steps, classes)).astype(dtype)
    lengths = rng.integers(0, steps + 1, batch).astype(np.int64)
    _check_beam_search(logits, lengths, beam_width, top_paths, int(rng.integers(0, classes)))


def test_beam_search_ties_and_more_sequences_than_threads():
    logits = np.zeros((THREADS + 3, 3, 3))                  # every class tied at every step
    logits[::2, 1, 2] = 1.0
    lengths = np.arange(THREADS + 3) % 4
    _check_beam_search(logits, lengths, 2, 3, 1)
    _check_beam_search(logits.astype(np.float32), lengths, 20, 5, 0)
