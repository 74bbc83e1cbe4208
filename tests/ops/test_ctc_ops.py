"""nbkeras/ops/ctc.py: ctc_loss and ctc_decode.

ctc_loss: forwards against a brute-force float64 sum over every alignment (all class paths of
the sequence's steps, collapsed by merging repeats and dropping blanks) for tiny sizes,
against Keras 3.15's value in one fixed case, KerasTensor calls against the eager shape and
dtype, gradients in the logits against central differences (check_grads), on every device.

ctc_decode (no gradient: integer paths and decoding scores): greedy and beam search against
the values Keras 3.15 (JAX) gives in fixed cases, recorded once; greedy against a plain numpy
decoding, and beam search with a beam wide enough to keep every prefix against the same
brute force (every label sequence's probability summed over its alignments), on every
device."""
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


def _case_a():
    return (np.sin(np.arange(2 * 6 * 4) * 1.3) * 2).reshape(2, 6, 4).astype("float32")


def _case_b():
    """Logits whose largest class per step is [1, 1, 0, 1, 2, 2] and [3, 0, 3, 3, 1, 1]."""
    steps = np.array([[1, 1, 0, 1, 2, 2], [3, 0, 3, 3, 1, 1]])
    noise = np.sin(np.arange(48) * 0.7).reshape(2, 6, 4) * 0.1
    return (np.eye(4)[steps] * 2 + noise).astype("float32")


# keras.ops.ctc_decode 3.15 (JAX), recorded once: (inputs, lengths, keyword arguments, paths,
# scores)
KERAS_DECODE = [
    (_case_a, [6, 4], dict(strategy="beam_search", top_paths=3),
     [[[1, 2, 3, 1, -1, -1], [2, 3, -1, -1, -1, -1]], [[1, 2, 3, -1, -1, -1],
      [1, 2, 3, -1, -1, -1]], [[2, 3, 1, -1, -1, -1], [1, 3, -1, -1, -1, -1]]],
     [[-1.6111604, -1.9586072, -2.0954669], [-1.2262321, -1.2518620, -1.9031074]]),
    (_case_a, [6, 4], dict(strategy="beam_search", beam_width=2, top_paths=2, mask_index=2),
     [[[1, 3, 0, 1, -1, -1], [1, 3, -1, -1, -1, -1]], [[1, 3, 0, -1, -1, -1],
      [1, 3, 0, -1, -1, -1]]],
     [[-1.6341159, -1.6590139], [-1.6836097, -1.9788573]]),
    (_case_a, [6, 4], dict(), [[[1, 2, 3, 1, -1, -1], [1, 2, 3, -1, -1, -1]]],
     [[-10.621073], [-6.5344591]]),
    (_case_a, [6, 4], dict(mask_index=3), [[[1, 2, 0, 1, -1, -1], [1, 2, -1, -1, -1, -1]]],
     [[-10.621073], [-6.5344591]]),
    (_case_a, [0, 2], dict(), [[[-1, -1, -1, -1, -1, -1], [1, 2, -1, -1, -1, -1]]],
     [[0.0], [-3.6953316]]),
    (_case_a, [0, 2], dict(strategy="beam_search", top_paths=2),     # reads step 0 at least
     [[[1, -1, -1, -1, -1, -1], [1, 2, -1, -1, -1, -1]], [[2, -1, -1, -1, -1, -1],
      [2, -1, -1, -1, -1, -1]]],
     [[-0.46405208, -1.3601657], [-1.0672051, -1.2900877]]),
    (_case_b, [6, 5], dict(), [[[1, 1, 2, -1, -1, -1], [3, 3, 1, -1, -1, -1]]],
     [[-12.031801], [-10.055542]]),
    (_case_b, [6, 5], dict(merge_repeated=False),
     [[[1, 1, 1, 2, 2, -1], [3, 3, 3, 1, -1, -1]]], [[-12.031801], [-10.055542]]),
    (_case_b, [6, 5], dict(mask_index=1), [[[0, 2, -1, -1, -1, -1], [3, 0, 3, -1, -1, -1]]],
     [[-12.031801], [-10.055542]]),
    (_case_b, [6, 5], dict(strategy="beam_search", top_paths=2),
     [[[1, 1, 2, -1, -1, -1], [3, 3, 1, -1, -1, -1]], [[1, 2, -1, -1, -1, -1],
      [3, 1, -1, -1, -1, -1]]],
     [[-1.4536260, -2.3347871], [-1.3036768, -2.4993026]]),
    (lambda: np.zeros((1, 2, 2), "float32"), [2], dict(strategy="beam_search", top_paths=4),
     [[[1, -1]], [[-1, -1]], [[-1, -1]], [[-1, -1]]],      # fewer prefixes than top_paths
     [[-0.28768207, -1.3862944, -np.inf, -np.inf]]),
]


@pytest.mark.parametrize("inputs, lengths, kwargs, paths, scores", KERAS_DECODE)
def test_ctc_decode_matches_keras(device, inputs, lengths, kwargs, paths, scores):
    got_paths, got_scores = ops.ctc_decode(inputs(), np.array(lengths), **kwargs)
    assert_matches(got_paths, paths, dtype="int32")
    assert_matches(got_scores, scores, rtol=2e-6, dtype="float32")
    symbolic = ops.ctc_decode(nk.KerasTensor((None,) + inputs().shape[1:], "float32"),
                              nk.KerasTensor((None,), "int32"), **kwargs)
    assert [(t.shape, t.dtype) for t in symbolic] == [
        ((len(paths), None, inputs().shape[1]), "int32"), ((None, len(paths)), "float32")]


def _collapse(path, blank, merge_repeated=True):
    merged = [c for i, c in enumerate(path) if not merge_repeated or i == 0 or c != path[i - 1]]
    return tuple(c for c in merged if c != blank)


def _label_probabilities(logits, blank):
    """{label sequence: probability} of logits (T, C) under the per-step softmax, summed over
    every alignment that collapses to it."""
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    totals = {}
    for path in itertools.product(range(logits.shape[1]), repeat=logits.shape[0]):
        labels = _collapse(path, blank)
        weight = np.prod([probs[t, c] for t, c in enumerate(path)])
        totals[labels] = totals.get(labels, 0.0) + weight
    return totals


@given(data=st.data())
def test_ctc_decode_against_brute_force(device, data):
    batch, steps, classes = (data.draw(st.integers(low, high)) for low, high in ((1, 2), (1, 4),
                                                                                  (2, 3)))
    blank = data.draw(st.integers(0, classes - 1))
    top_paths = data.draw(st.integers(1, 3))
    merge_repeated = data.draw(st.booleans())
    logits = data.draw(nst.arrays((batch, steps, classes)))
    lengths = np.array([data.draw(st.integers(1, steps)) for _ in range(batch)])
    paths, scores = ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=64,
                                   top_paths=top_paths, mask_index=blank)   # keeps every prefix
    greedy, greedy_scores = ops.ctc_decode(logits, lengths, merge_repeated=merge_repeated,
                                           mask_index=blank)
    paths, scores, greedy = np.asarray(paths), np.asarray(scores), np.asarray(greedy)
    assert_matches(greedy_scores, [[-logits[b, :lengths[b]].max(axis=1).sum()]
                                   for b in range(batch)])
    for b in range(batch):
        best = logits[b, :lengths[b]].argmax(axis=1)
        labels = _collapse(best, blank, merge_repeated)
        assert tuple(greedy[0, b]) == labels + (-1,) * (steps - len(labels))
        totals = sorted(_label_probabilities(logits[b, :lengths[b]], blank).items(),
                        key=lambda item: -item[1])
        totals += [((), 0.0)] * top_paths               # -1 rows and -inf past the sequences
        np.testing.assert_allclose(np.exp(scores[b]), [p for _, p in totals[:top_paths]],
                                   rtol=1e-9, atol=1e-300)
        for k in range(top_paths):
            labels, p = totals[k]
            if any(abs(q - p) < 1e-9 * p for _, q in totals[:k] + totals[k + 1:]):
                continue                                # tied: either order
            assert tuple(paths[k, b]) == labels + (-1,) * (steps - len(labels))


def test_ctc_decode_mask_index_none_is_the_last_class_and_errors(device):
    inputs = _case_b()
    for strategy in ("greedy", "beam_search"):
        last = ops.ctc_decode(inputs, [6, 5], strategy=strategy, mask_index=3)
        none = ops.ctc_decode(inputs, [6, 5], strategy=strategy, mask_index=None)
        for a, b in zip(last, none):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert [t.dtype for t in ops.ctc_decode(inputs.astype("float64"), [6, 5])] == ["int32",
                                                                                    "float64"]
    with pytest.raises(ValueError, match="ctc_decode: invalid strategy 'best'"):
        ops.ctc_decode(inputs, [6, 5], strategy="best")
    with pytest.raises(ValueError, match=r"ctc_decode: mask_index=4 is not a class"):
        ops.ctc_decode(inputs, [6, 5], mask_index=4)
    with pytest.raises(ValueError, match=r"ctc_decode: expected inputs \(B, T, C\)"):
        ops.ctc_decode(inputs[0], [6])
    with pytest.raises(ValueError, match="ctc_decode: beam_width and top_paths"):
        ops.ctc_decode(inputs, [6, 5], strategy="beam_search", top_paths=0)
