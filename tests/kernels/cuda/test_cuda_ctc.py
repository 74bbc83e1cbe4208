"""The CUDA CTC kernel (one block per sequence, threads over the label states) computes what
the CPU kernel computes, loss and logits gradient: on Hypothesis-drawn batches with ragged
label and step lengths, repeated labels, empty labels, a sequence no alignment fits (inf, zero
gradient), and labels longer than the block (the threads loop over the states)."""
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
    assert cuda.__all__ == cpu.__all__ == ["ctc_loss"]
    assert inspect.signature(cuda.ctc_loss) == inspect.signature(cpu.ctc_loss)


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
