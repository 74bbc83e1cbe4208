"""nbkeras/ops/ctc.py: ctc_loss.

Forwards against a brute-force float64 sum over every alignment (all class paths of the
sequence's steps, collapsed by merging repeats and dropping blanks) for tiny sizes, against
Keras 3.15's value in one fixed case, KerasTensor calls against the eager shape and dtype,
gradients in the logits against central differences (check_grads), on every device."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

from op_checks import assert_matches


def _brute_force(target, logits, target_length, logit_length, blank):
    """-log of the summed probability of every path that collapses to the labels."""
    losses = []
    for b in range(logits.shape[0]):
        steps, labels = int(logit_length[b]), tuple(target[b, :target_length[b]])
        z = logits[b, :steps]
        probs = np.exp(z - z.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        total = 0.0
        for path in itertools.product(range(logits.shape[2]), repeat=steps):
            merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
            if tuple(c for c in merged if c != blank) == labels:
                total += np.prod([probs[t, c] for t, c in enumerate(path)])
        losses.append(-np.log(total) if total > 0 else np.inf)
    return np.array(losses)


@st.composite
def _cases(draw):
    batch, steps, classes = (draw(st.integers(low, high)) for low, high in ((1, 3), (1, 4), (2, 3)))
    blank = draw(st.integers(0, classes - 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    max_labels = draw(st.integers(1, 3))
    target = rng.integers(0, classes - 1, (batch, max_labels))
    target = np.where(target >= blank, target + 1, target).astype("int32")   # never the blank
    logit_length = rng.integers(1, steps + 1, batch).astype("int32")
    target_length = np.minimum(rng.integers(0, max_labels + 1, batch),
                               (logit_length + 1) // 2).astype("int32")     # always fits
    logits = draw(nst.arrays((batch, steps, classes)))
    return target, logits, target_length, logit_length, blank


@given(case=_cases())
def test_ctc_loss(device, case):
    target, logits, target_length, logit_length, blank = case

    def fn(z):
        return ops.ctc_loss(target, z, target_length, logit_length, mask_index=blank)
    eager = fn(logits)
    assert_matches(eager, _brute_force(target, logits, target_length, logit_length, blank))
    symbolic = ops.ctc_loss(nk.KerasTensor(target.shape, "int32"),
                            nk.KerasTensor(logits.shape, "float64"),
                            nk.KerasTensor(target_length.shape, "int32"),
                            nk.KerasTensor(logit_length.shape, "int32"), mask_index=blank)
    assert (symbolic.shape, symbolic.dtype) == (eager.shape, eager.dtype)
    check_grads(fn, [logits])


KERAS_LOSS = np.array([6.122709, 2.912047])   # keras.ops.ctc_loss 3.15 (JAX; float32 inside)


def test_matches_keras_and_its_dtypes(device):
    """The value Keras 3.15 (JAX, float64) gives for this case, recorded once."""
    logits = np.linspace(-2, 2, 2 * 5 * 4).reshape(2, 5, 4) ** 2 % 1.7
    target = np.array([[1, 2, 2], [3, 1, 0]])
    loss = ops.ctc_loss(target, logits, np.array([3, 2]), np.array([5, 4]))
    assert_matches(loss, KERAS_LOSS, rtol=2e-6)
    assert ops.ctc_loss(target, logits.astype("float32"), [3, 2], [5, 4]).dtype == "float32"


def test_impossible_alignment_and_errors(device):
    logits = np.zeros((1, 2, 3))
    loss = ops.ctc_loss(np.array([[1, 1, 2]]), logits, [3], [2])
    assert np.isinf(np.asarray(loss)).all()
    with pytest.raises(ValueError, match="ctc_loss: target holds labels outside"):
        ops.ctc_loss(np.array([[1, 5]]), logits, [2], [2])
    with pytest.raises(ValueError, match="ctc_loss: expected target"):
        ops.ctc_loss(np.array([1, 2]), logits, [2], [2])
