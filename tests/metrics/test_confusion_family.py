"""TruePositives / FalsePositives / TrueNegatives / FalseNegatives and the rates at a constraint
(PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity):
against plain-numpy counts over all the data at once (tests/reference_metrics.py) after several
weighted batches, reset_state, edge cases, Keras's numbers and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbkeras import metrics

import reference_metrics as ref  # tests/reference_metrics.py

seeds = st.integers(0, 2**32 - 1)
batches = st.lists(st.integers(1, 6), min_size=1, max_size=4)
weightings = st.sampled_from(["none", "vector", "column"])

COUNTS = {"tp": metrics.TruePositives, "fp": metrics.FalsePositives,
          "tn": metrics.TrueNegatives, "fn": metrics.FalseNegatives}
RATES = {   # class: (its constrained rate, the rate it maximizes)
    metrics.PrecisionAtRecall: ("recall", "precision"),
    metrics.RecallAtPrecision: ("precision", "recall"),
    metrics.SensitivityAtSpecificity: ("specificity", "sensitivity"),
    metrics.SpecificityAtSensitivity: ("sensitivity", "specificity"),
}


def sample_weight(rng, kind, n):
    if kind == "none":
        return None
    w = rng.uniform(0.0, 2.0, n) * (rng.random(n) > 0.2)
    return w if kind == "vector" else w[:, None]


def scores(rng, shape, levels):
    """Predictions in [-0.1, 1.1], kept 1e-3 away from every threshold in `levels` (ties with
    a threshold are decided by float rounding, differently by Keras's buckets)."""
    values = rng.uniform(-0.1, 1.1, shape)
    for t in levels:
        near = np.abs(values - t) < 1e-3
        values[near] = t + np.where(values[near] >= t, 2e-3, -2e-3)
    return values


def broadcast_weights(w, shape):
    return np.ones(shape) if w is None else np.broadcast_to(
        np.reshape(w, (shape[0],) + (1,) * (len(shape) - 1)), shape)


@pytest.mark.parametrize("condition", list(COUNTS))
@given(sizes=batches, kind=weightings, seed=seeds, classes=st.integers(1, 3),
       thresholds=st.sampled_from([None, 0.0, 1.0, 0.3, [0.0, 0.5, 1.0], [0.2, 0.9, 0.4],
                                   [0.0, 0.25, 0.5, 0.75, 1.0]]))
def test_condition_counts_over_batches(condition, sizes, kind, seed, classes, thresholds):
    rng = np.random.default_rng(seed)
    metric = COUNTS[condition](thresholds=thresholds, dtype="float64")
    levels = [0.5] if thresholds is None else np.atleast_1d(thresholds).tolist()
    evenly = len(levels) >= 3 and np.allclose(levels, np.linspace(0, 1, len(levels)))
    labels, predictions, weights = [], [], []
    for n in sizes:
        y_true = rng.integers(0, 2, (n, classes))
        y_pred = scores(rng, (n, classes), levels)
        w = sample_weight(rng, kind, n)
        metric.update_state(y_true, y_pred, sample_weight=w)
        labels.append(y_true)
        predictions.append(y_pred)
        weights.append(broadcast_weights(w, (n, classes)))
    expected = ref.threshold_counts(np.concatenate(labels), np.concatenate(predictions),
                                    np.concatenate(weights), levels, clip=evenly)
    column = list(COUNTS).index(condition)
    result = metric.result()
    assert result.dtype == "float64" and result.shape == (() if len(levels) == 1
                                                          else (len(levels),))
    np.testing.assert_allclose(np.asarray(result), expected[:, column].reshape(result.shape),
                               rtol=1e-10, atol=1e-12)
    assert [v.name for v in metric.variables] == ["accumulator"]
    metric.reset_state()
    assert not np.any(np.asarray(metric.result()))


def test_condition_counts_keras_docstring_examples():
    examples = [
        (metrics.TruePositives(), [0, 1, 1, 1], [1, 0, 1, 1], 2.0),
        (metrics.FalsePositives(), [0, 1, 0, 0], [0, 0, 1, 1], 2.0),
        (metrics.TrueNegatives(), [0, 1, 0, 0], [1, 1, 0, 0], 2.0),
        (metrics.FalseNegatives(), [0, 1, 1, 1], [0, 1, 0, 0], 2.0),
    ]
    for metric, y_true, y_pred, plain in examples:
        metric.update_state(y_true, y_pred)
        assert float(metric.result()) == plain
        metric.reset_state()
        metric.update_state(y_true, y_pred, sample_weight=[0, 0, 1, 0])
        assert float(metric.result()) == 1.0


def test_counts_at_thresholds_zero_and_one_and_all_equal_scores():
    y_true = np.array([0, 1, 1, 0, 1])
    # threshold 0: everything above 0 is positive; threshold 1: nothing is (1.0 > 1 is false)
    tp = metrics.TruePositives(thresholds=[0.0, 1.0])
    fn = metrics.FalseNegatives(thresholds=[0.0, 1.0])
    y_pred = np.array([0.0, 1.0, 0.5, 1.0, 0.0])
    for m in (tp, fn):
        m.update_state(y_true, y_pred)
    np.testing.assert_array_equal(np.asarray(tp.result()), [2.0, 0.0])
    np.testing.assert_array_equal(np.asarray(fn.result()), [1.0, 3.0])
    # evenly spaced thresholds clip predictions to [0, 1] first (Keras's buckets): 1.5 is not
    # above the threshold 1, -1 not above 0
    fp = metrics.FalsePositives(thresholds=[0.0, 0.5, 1.0])
    fp.update_state([0, 0, 0], [1.5, -1.0, 0.7])
    np.testing.assert_array_equal(np.asarray(fp.result()), [2.0, 2.0, 0.0])
    # all-equal scores: one threshold splits nothing
    tn = metrics.TrueNegatives(thresholds=[0.2, 0.6])
    tn.update_state(y_true, np.full(5, 0.4))
    np.testing.assert_array_equal(np.asarray(tn.result()), [0.0, 2.0])


@pytest.mark.parametrize("cls", list(RATES), ids=lambda c: c.__name__)
@given(sizes=batches, kind=weightings, seed=seeds, value=st.sampled_from([0.0, 0.3, 0.8, 1.0]),
       num_thresholds=st.sampled_from([1, 2, 3, 11, 200]), class_id=st.sampled_from([None, 1]))
def test_rates_at_a_constraint_over_batches(cls, sizes, kind, seed, value, num_thresholds,
                                            class_id):
    rng = np.random.default_rng(seed)
    metric = cls(value, num_thresholds=num_thresholds, class_id=class_id, dtype="float64")
    levels = [0.5] if num_thresholds == 1 else list(np.linspace(0, 1, num_thresholds))
    labels, predictions, weights = [], [], []
    for n in sizes:
        y_true = rng.integers(0, 2, (n, 2))
        y_pred = scores(rng, (n, 2), levels)
        w = sample_weight(rng, kind, n)
        metric.update_state(y_true, y_pred, sample_weight=w)
        columns = slice(None) if class_id is None else slice(class_id, class_id + 1)
        labels.append(y_true[:, columns])
        predictions.append(y_pred[:, columns])
        weights.append(broadcast_weights(w, (n, 2))[:, columns])
    constrained, dependent = RATES[cls]
    expected = ref.rate_at(np.concatenate(labels), np.concatenate(predictions),
                           np.concatenate(weights), num_thresholds, constrained, dependent,
                           value)
    result = metric.result()
    assert result.shape == () and result.dtype == "float64"
    np.testing.assert_allclose(float(result), expected, rtol=1e-10, atol=1e-12)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_rates_edge_cases():
    # an empty class: no positives at all, so recall is 0 everywhere and only value 0 is met
    m = metrics.PrecisionAtRecall(0.0, num_thresholds=5)
    m.update_state([0, 0, 0], [0.1, 0.6, 0.9])
    assert float(m.result()) == 0.0
    s = metrics.SpecificityAtSensitivity(0.5, num_thresholds=5)
    s.update_state([0, 0, 0], [0.1, 0.6, 0.9])
    assert float(s.result()) == 0.0          # sensitivity 0 < 0.5 at every threshold
    # all-equal scores: the thresholds below the score predict all positive, those above none
    r = metrics.RecallAtPrecision(0.5, num_thresholds=3)
    r.update_state([1, 0, 1, 1], [0.7, 0.7, 0.7, 0.7])
    assert float(r.result()) == 1.0          # threshold 0 and 0.5: precision 3/4, recall 1
    t = metrics.SensitivityAtSpecificity(1.0, num_thresholds=3)
    t.update_state([1, 0, 1, 1], [0.7, 0.7, 0.7, 0.7])
    assert float(t.result()) == 0.0          # specificity 1 only at threshold 1: recall 0


def test_rates_match_keras_numbers_on_a_small_example():
    y_true, y_pred = [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]
    weights = [1, 1, 2, 2, 1]
    for metric, plain, weighted in [
            (metrics.SensitivityAtSpecificity(0.5), 0.5, 1 / 3),
            (metrics.SpecificityAtSensitivity(0.5), 2 / 3, 0.25),
            (metrics.PrecisionAtRecall(0.5), 0.5, 0.5),
            (metrics.RecallAtPrecision(0.8), 0.0, 0.0)]:       # Keras 3.15's numbers
        metric.update_state(y_true, y_pred)
        assert float(metric.result()) == pytest.approx(plain, abs=1e-6)
        metric.reset_state()
        metric.update_state(y_true, y_pred, sample_weight=weights)
        assert float(metric.result()) == pytest.approx(weighted, abs=1e-6), type(metric)


@given(seed=seeds)
def test_counts_and_rates_match_keras(keras, seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, (20, 3)).astype("float32")
    y_pred = rng.uniform(-0.1, 1.1, (20, 3)).astype("float32")
    weight = rng.uniform(0, 2, 20).astype("float32")
    for name, kwargs in [("TruePositives", {}), ("FalsePositives", {"thresholds": [0.0, 1.0]}),
                         ("TrueNegatives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}),
                         ("FalseNegatives", {"thresholds": 0.3}),
                         ("PrecisionAtRecall", {"recall": 0.6}),
                         ("RecallAtPrecision", {"precision": 0.6, "num_thresholds": 7}),
                         ("SensitivityAtSpecificity", {"specificity": 0.4, "class_id": 1}),
                         ("SpecificityAtSensitivity", {"sensitivity": 0.7,
                                                       "num_thresholds": 1})]:
        ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        for m in (ours, theirs):
            m.update_state(y_true, y_pred, sample_weight=weight)
            m.update_state(y_true[:4], y_pred[:4])
        np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()),
                                   rtol=1e-5, atol=1e-5, err_msg=name)
        assert ours.get_config() == {**theirs.get_config(), "name": ours.name}, name


def test_bad_input_names_the_metric_and_argument():
    with pytest.raises(ValueError, match=r"TruePositives: argument `thresholds`.*\[0, 1\]"):
        metrics.TruePositives(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="FalseNegatives: argument `thresholds`"):
        metrics.FalseNegatives(thresholds=-0.1)
    with pytest.raises(ValueError, match="FalsePositives: argument `thresholds`"):
        metrics.FalsePositives(thresholds=[])
    with pytest.raises(ValueError, match="PrecisionAtRecall: argument `recall`"):
        metrics.PrecisionAtRecall(1.5)
    with pytest.raises(ValueError, match="RecallAtPrecision: argument `precision`"):
        metrics.RecallAtPrecision(-0.5)
    with pytest.raises(ValueError, match="SensitivityAtSpecificity: argument `num_thresholds`"):
        metrics.SensitivityAtSpecificity(0.5, num_thresholds=0)
    with pytest.raises(ValueError, match="SpecificityAtSensitivity: argument `sensitivity`"):
        metrics.SpecificityAtSensitivity("high")
    with pytest.raises(ValueError, match=r"TruePositives 'true_positives': y_true and y_pred"):
        metrics.TruePositives().update_state(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"PrecisionAtRecall 'p': class_id"):
        metrics.PrecisionAtRecall(0.5, class_id=3, name="p").update_state(
            np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"TrueNegatives 'true_negatives': sample_weight"):
        metrics.TrueNegatives().update_state(np.zeros(4), np.zeros(4), sample_weight=np.ones(3))
