"""F1Score / FBetaScore, the IoU family, R2Score, the correlation and cosine metrics and the
loss-based metrics of issue 12 (Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
LogCoshError): against plain numpy over all the data at once (tests/reference_metrics.py,
tests/reference_losses.py) after several weighted batches (the merge property), reset_state,
edge cases, Keras's numbers and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbkeras import metrics

import reference_losses as loss_ref  # tests/reference_losses.py
import reference_metrics as ref  # tests/reference_metrics.py

seeds = st.integers(0, 2**32 - 1)
batches = st.lists(st.integers(1, 6), min_size=1, max_size=4)


def weights_or_none(rng, weighted, n):
    return rng.uniform(0.0, 2.0, n) * (rng.random(n) > 0.2) if weighted else None


def update_in_batches(metric, sizes, draw, rng, weighted):
    """Feed batches of the given sizes; return the concatenated (y_true, y_pred, weights)."""
    parts = []
    for n in sizes:
        y_true, y_pred = draw(n)
        w = weights_or_none(rng, weighted, n)
        metric.update_state(y_true, y_pred, sample_weight=w)
        parts.append((y_true, y_pred, np.ones(n) if w is None else w))
    return tuple(np.concatenate(p) for p in zip(*parts))


# -------------------------------------------------------------------------------- F-scores

@given(sizes=batches, weighted=st.booleans(), seed=seeds, classes=st.integers(1, 4),
       average=st.sampled_from([None, "micro", "macro", "weighted"]),
       beta=st.sampled_from([0.5, 1.0, 2.0]), threshold=st.sampled_from([None, 0.3, 0.5, 1.0]))
def test_fbeta_score_over_batches(sizes, weighted, seed, classes, average, beta, threshold):
    rng = np.random.default_rng(seed)
    metric = metrics.FBetaScore(average=average, beta=beta, threshold=threshold,
                                dtype="float64")

    def draw(n):
        scores = rng.uniform(0, 1, (n, classes))
        if threshold is not None:     # away from the threshold
            scores = np.where(np.abs(scores - threshold) < 1e-3, scores + 3e-3, scores)
        return rng.integers(0, 2, (n, classes)), scores
    y_true, y_pred, w = update_in_batches(metric, sizes, draw, rng, weighted)
    expected = ref.fbeta(y_true, y_pred, w, beta, threshold, average)
    result = np.asarray(metric.result())
    assert metric.result().dtype == "float64"
    np.testing.assert_allclose(result, expected, rtol=1e-9, atol=1e-12)
    assert [v.name for v in metric.variables] == ["true_positives", "false_positives",
                                                  "false_negatives", "intermediate_weights"]
    metric.reset_state()
    assert not np.any(np.asarray(metric.result()))


def test_f1_score_edge_cases():
    # an empty class (never true, never predicted) scores 0; all-equal scores with
    # threshold=None predict every class of the row
    f1 = metrics.F1Score()
    f1.update_state([[1, 0, 0], [1, 0, 0]], [[0.9, 0.1, 0.0], [0.6, 0.2, 0.1]])
    np.testing.assert_allclose(np.asarray(f1.result()), [1.0, 0.0, 0.0], atol=1e-6)
    tied = metrics.F1Score(average="micro")
    tied.update_state([[1, 0], [0, 1]], [[0.5, 0.5], [0.5, 0.5]])
    assert float(tied.result()) == pytest.approx(2 * 0.5 * 1 / 1.5, abs=1e-6)
    zeros = metrics.F1Score(average="macro")      # predictions ~0 are never positive
    zeros.update_state([[1, 0], [0, 1]], [[0.0, 0.0], [0.0, 0.0]])
    assert float(zeros.result()) == 0.0
    assert metrics.F1Score().get_config() == {"name": "f1_score", "dtype": "float32",
                                              "average": None, "threshold": None}


@given(seed=seeds)
def test_fscores_match_keras(keras, seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, (12, 3)).astype("float32")
    y_pred = rng.uniform(0, 1, (12, 3)).astype("float32")
    w = rng.uniform(0, 2, 12).astype("float32")
    for name, kwargs in [("F1Score", {}), ("F1Score", {"average": "macro", "threshold": 0.4}),
                         ("FBetaScore", {"beta": 2.0, "average": "weighted"}),
                         ("FBetaScore", {"beta": 0.5, "average": "micro", "threshold": 0.5})]:
        ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        for m in (ours, theirs):
            m.update_state(y_true, y_pred, sample_weight=w)
            m.update_state(y_true[:3], y_pred[:3])
        np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
        assert ours.get_config() == theirs.get_config()


def test_fscore_bad_input():
    with pytest.raises(ValueError, match="FBetaScore: invalid `average`"):
        metrics.FBetaScore(average="samples")
    with pytest.raises(ValueError, match="FBetaScore: invalid `beta`"):
        metrics.FBetaScore(beta=0.0)
    with pytest.raises(ValueError, match="FBetaScore: invalid `beta`"):
        metrics.FBetaScore(beta=2)                    # a Python float, as Keras demands
    with pytest.raises(ValueError, match="F1Score: invalid `threshold`"):
        metrics.F1Score(threshold=1.5)
    with pytest.raises(ValueError, match="F1Score 'f1_score': expects 2D inputs"):
        metrics.F1Score().update_state(np.zeros(4), np.zeros(4))
    f1 = metrics.F1Score()
    f1.update_state(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="F1Score 'f1_score': y_true and y_pred"):
        f1.update_state(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="F1Score 'f1_score': sample_weight"):
        f1.update_state(np.zeros((2, 3)), np.zeros((2, 3)), sample_weight=np.ones(3))


# ------------------------------------------------------------------------------------- IoU

@given(sizes=batches, weighted=st.booleans(), seed=seeds, classes=st.integers(1, 4),
       ignore=st.booleans(), sparse=st.booleans(), float_state=st.booleans())
def test_iou_family_over_batches(sizes, weighted, seed, classes, ignore, sparse, float_state):
    rng = np.random.default_rng(seed)
    dtype = "float64" if float_state else None      # Keras's default state is int32
    ignore_class = 0 if ignore else None
    targets = sorted(set(rng.integers(0, classes, 2).tolist()))
    if sparse:
        iou = metrics.IoU(classes, targets, ignore_class=ignore_class, dtype=dtype)
        mean = metrics.MeanIoU(classes, ignore_class=ignore_class, dtype=dtype)
    else:
        iou = metrics.OneHotIoU(classes, targets, ignore_class=ignore_class, dtype=dtype)
        mean = metrics.OneHotMeanIoU(classes, ignore_class=ignore_class, dtype=dtype)
    labels, predictions, weights = [], [], []
    for n in sizes:
        y_true = rng.integers(-1, classes + 1, n)       # some out of range: left out
        y_pred = rng.integers(0, classes, n)
        w = (rng.integers(0, 3, n) if not float_state else rng.uniform(0, 2, n)) \
            if weighted else None
        if sparse:
            args = (y_true[:, None], y_pred)
        else:
            y_true = rng.integers(0, classes, n)        # one-hot labels are in range
            scores = rng.random((n, classes)) + np.eye(classes)[y_pred]
            args = (np.eye(classes)[y_true], scores)
        for metric in (iou, mean):
            metric.update_state(*args, sample_weight=w)
        labels.append(y_true)
        predictions.append(y_pred)
        weights.append(np.ones(n) if w is None else w)
    cm = ref.confusion_matrix(np.concatenate(labels), np.concatenate(predictions), classes,
                              np.concatenate(weights), ignore_class)
    for metric, ids in ((iou, targets), (mean, range(classes))):
        result = metric.result()
        assert result.dtype == "float32" and result.shape == ()
        np.testing.assert_allclose(float(result), ref.mean_iou(cm, ids), rtol=1e-6, atol=1e-7)
        assert metric.total_cm.dtype == (dtype or "int32")
        metric.reset_state()
        assert float(metric.result()) == 0.0


@given(sizes=batches, weighted=st.booleans(), seed=seeds,
       threshold=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
       targets=st.sampled_from([(0, 1), (0,), (1,)]))
def test_binary_iou_over_batches(sizes, weighted, seed, threshold, targets):
    rng = np.random.default_rng(seed)
    metric = metrics.BinaryIoU(target_class_ids=targets, threshold=threshold)
    labels, predictions, weights = [], [], []
    for n in sizes:
        y_true = rng.integers(0, 2, n)
        y_pred = rng.choice([0.0, 0.3, 0.5, 1.0, 0.2, 0.7], n)   # ties with the threshold too
        w = rng.integers(0, 3, n) if weighted else None
        metric.update_state(y_true, y_pred, sample_weight=w)
        labels.append(y_true)
        predictions.append((y_pred >= threshold).astype(int))   # positive at >= threshold
        weights.append(np.ones(n) if w is None else w)
    cm = ref.confusion_matrix(np.concatenate(labels), np.concatenate(predictions), 2,
                              np.concatenate(weights))
    np.testing.assert_allclose(float(metric.result()), ref.mean_iou(cm, targets), rtol=1e-6)


def test_iou_keras_examples_and_float_weights_truncated():
    m = metrics.IoU(num_classes=2, target_class_ids=[0])
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    assert float(m.result()) == pytest.approx(1 / 3)
    m = metrics.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=np.array([3, 2, 1, 4]))
    assert float(m.result()) == pytest.approx((3 / 6 + 4 / 7) / 2, rel=1e-6)
    m = metrics.MeanIoU(num_classes=3)       # int32 state: 0.5 -> 0, 1.5 -> 1, as Keras
    with pytest.warns(UserWarning, match="MeanIoU 'mean_io_u'.*weight as `float`"):
        m.update_state([0, 1, 2, 1], [0, 1, 1, 2], sample_weight=np.array([0.5, 1.5, 1, 1]))
    np.testing.assert_array_equal(np.asarray(m.total_cm), [[0, 0, 0], [0, 1, 1], [0, 1, 0]])
    assert float(m.result()) == pytest.approx(1 / 6, rel=1e-6)
    b = metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    b.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    assert float(b.result()) == pytest.approx(1 / 3, rel=1e-6)


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype int64")   # JAX without x64
@given(seed=seeds)
def test_iou_family_matches_keras(keras, seed):
    rng = np.random.default_rng(seed)
    labels, predicted = (rng.integers(0, 4, 30).astype("int32") for _ in range(2))
    scores, w = rng.random((30, 4)), rng.integers(0, 3, 30).astype("int32")
    cases = [("IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, labels, predicted),
             ("MeanIoU", {"num_classes": 4, "ignore_class": 1}, labels, predicted),
             ("MeanIoU", {"num_classes": 4, "dtype": "float32"}, labels, predicted),
             ("BinaryIoU", {"threshold": 0.3}, labels % 2, scores[:, 0]),
             ("OneHotIoU", {"num_classes": 4, "target_class_ids": [1, 3]}, np.eye(4)[labels],
              scores),
             ("OneHotMeanIoU", {"num_classes": 4}, np.eye(4)[labels], scores)]
    for name, kwargs, y_true, y_pred in cases:
        ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        for m in (ours, theirs):
            m.update_state(y_true, y_pred, sample_weight=w)
            m.update_state(y_true[:5], y_pred[:5])
        np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6,
                                   err_msg=name)
        assert ours.get_config() == {**theirs.get_config(), "name": ours.name}, name


def test_iou_bad_input():
    with pytest.raises(ValueError, match="IoU: target class id 3 in argument "
                                         "`target_class_ids` is out of range"):
        metrics.IoU(num_classes=3, target_class_ids=[0, 3])
    with pytest.raises(ValueError, match="MeanIoU: argument `num_classes`"):
        metrics.MeanIoU(num_classes=0)
    with pytest.raises(ValueError, match="OneHotIoU: argument `target_class_ids`"):
        metrics.OneHotIoU(num_classes=3, target_class_ids=[])
    with pytest.raises(ValueError, match="MeanIoU 'm': y_true and y_pred"):
        metrics.MeanIoU(3, name="m").update_state([0, 1, 2], [0, 1])


# -------------------------------------------------------------------------------- R2Score

@given(sizes=batches, weighted=st.booleans(), seed=seeds, columns=st.integers(1, 3),
       aggregation=st.sampled_from([None, "uniform_average", "variance_weighted_average"]),
       num_regressors=st.sampled_from([0, 2]))
def test_r2_score_over_batches(sizes, weighted, seed, columns, aggregation, num_regressors):
    rng = np.random.default_rng(seed)
    metric = metrics.R2Score(class_aggregation=aggregation, num_regressors=num_regressors,
                             dtype="float64")
    sizes = [n + 1 for n in sizes] + [3]       # enough distinct values for a variance

    def draw(n):
        y_true = rng.normal(0, 1, (n, columns))
        return y_true, y_true + rng.normal(0, 0.7, (n, columns))
    y_true, y_pred, w = update_in_batches(metric, sizes, draw, rng, weighted)
    if weighted and np.count_nonzero(w) < 2:
        return
    expected = ref.r2(y_true, y_pred, w, aggregation, num_regressors)
    with pytest.warns(UserWarning) if num_regressors and y_true.size - 1 <= num_regressors \
            else _no_warning():
        result = np.asarray(metric.result())
    np.testing.assert_allclose(result, expected, rtol=1e-9, atol=1e-12)
    metric.reset_state()       # the result of no data is 0/0 (NaN), as in Keras: check state
    assert not any(np.any(np.asarray(v)) for v in metric.variables)
    assert len(metric.variables) == 5


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_r2_score_edge_cases(keras):
    # constant labels: SS_tot = 0, so the score is 0 (Keras maps the infinity to 0)
    for ours, theirs in ((metrics.R2Score(), keras.metrics.R2Score()),):
        for m in (ours, theirs):
            m.update_state(np.ones((4, 2)), np.zeros((4, 2)))
        assert float(ours.result()) == float(theirs.result()) == 0.0
    perfect = metrics.R2Score()
    perfect.update_state([[1.0], [2.0], [4.0]], [[1.0], [2.0], [4.0]])
    assert float(perfect.result()) == 1.0
    with pytest.warns(UserWarning, match="More independent predictors"):
        adjusted = metrics.R2Score(num_regressors=5)
        adjusted.update_state([[1.0], [2.0], [4.0]], [[1.0], [2.5], [4.0]])
        adjusted.result()


def test_r2_score_bad_input():
    with pytest.raises(ValueError, match="R2Score: invalid value for argument "
                                         "`class_aggregation`"):
        metrics.R2Score(class_aggregation="mean")
    with pytest.raises(ValueError, match="R2Score: invalid value for argument `num_regressors`"):
        metrics.R2Score(num_regressors=-1)
    with pytest.raises(ValueError, match="R2Score 'r2_score': expects 2D inputs"):
        metrics.R2Score().update_state(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    r2 = metrics.R2Score()
    with pytest.raises(ValueError, match="R2Score 'r2_score': y_true and y_pred"):
        r2.update_state(np.zeros((3, 2)), np.zeros((3, 3)))


# ----------------------------------------------- correlations, cosine, loss-based metrics

PER_SAMPLE = {   # class: (reference per sample, how to draw (y_true, y_pred) of shape)
    "PearsonCorrelation": (ref.pearson_rows, "normal"),
    "ConcordanceCorrelation": (ref.concordance_rows, "normal"),
    "CosineSimilarity": (ref.cosine_rows, "normal"),
    "LogCoshError": (loss_ref.log_cosh, "normal"),
    "Hinge": (loss_ref.hinge, "labels"),
    "SquaredHinge": (loss_ref.squared_hinge, "labels"),
    "CategoricalHinge": (loss_ref.categorical_hinge, "one_hot"),
    "KLDivergence": (loss_ref.kl_divergence, "distributions"),
    "Poisson": (loss_ref.poisson, "positive"),
}


def draw_pair(rng, kind, n, width=4):
    if kind == "normal":
        y_true = rng.normal(0, 1, (n, width))
        return y_true, 0.6 * y_true + rng.normal(0, 1, (n, width))
    if kind == "labels":
        return rng.integers(0, 2, (n, width)), rng.normal(0, 1, (n, width))
    if kind == "one_hot":
        return np.eye(width)[rng.integers(0, width, n)], rng.normal(0, 1, (n, width))
    if kind == "distributions":
        return rng.dirichlet(np.ones(width), n), rng.dirichlet(np.ones(width), n)
    return rng.poisson(2.0, (n, width)).astype(float), rng.uniform(0.2, 4.0, (n, width))


@pytest.mark.parametrize("name", sorted(PER_SAMPLE))
@given(sizes=batches, weighted=st.booleans(), seed=seeds)
def test_per_sample_metrics_over_batches(name, sizes, weighted, seed):
    rng = np.random.default_rng(seed)
    reference, kind = PER_SAMPLE[name]
    metric = getattr(metrics, name)(dtype="float64")
    y_true, y_pred, w = update_in_batches(metric, sizes, lambda n: draw_pair(rng, kind, n),
                                          rng, weighted)
    values = reference(y_true, y_pred)
    expected = np.sum(values * w) / np.sum(w) if np.sum(w) > 0 else 0.0
    result = metric.result()
    assert result.shape == () and result.dtype == "float64"
    np.testing.assert_allclose(float(result), expected, rtol=1e-9, atol=1e-12)
    metric.reset_state()
    assert float(metric.result()) == 0.0


@pytest.mark.parametrize("name", ["PearsonCorrelation", "ConcordanceCorrelation"])
def test_correlations_of_1d_inputs_are_batch_averaged(name):
    """Keras 3.15 correlates along axis -1: for 1-D inputs that is the batch, so the result
    is the mean of the batches' correlations, not the correlation of all the data."""
    rng = np.random.default_rng(0)
    reference = PER_SAMPLE[name][0]
    metric = getattr(metrics, name)(dtype="float64")
    parts = [(rng.normal(0, 1, n), rng.normal(0, 1, n)) for n in (5, 9, 4)]
    for y_true, y_pred in parts:
        metric.update_state(y_true, y_pred)
    per_batch = [reference(t[None], p[None])[0] for t, p in parts]
    np.testing.assert_allclose(float(metric.result()), np.mean(per_batch), rtol=1e-10)
    whole = reference(np.concatenate([t for t, _ in parts])[None],
                      np.concatenate([p for _, p in parts])[None])[0]
    assert abs(float(metric.result()) - whole) > 1e-6


def test_per_sample_metric_edge_cases():
    pearson = metrics.PearsonCorrelation()
    pearson.update_state(np.ones((2, 3)), np.arange(6.0).reshape(2, 3))
    assert np.isnan(float(pearson.result()))          # a constant row: NaN, as Keras
    cosine = metrics.CosineSimilarity()
    cosine.update_state(np.zeros((1, 3)), np.ones((1, 3)))
    assert float(cosine.result()) == 0.0              # a zero vector: similarity 0
    concordance = metrics.ConcordanceCorrelation(dtype="float64")
    concordance.update_state([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]])
    assert float(concordance.result()) == pytest.approx(1.0, abs=1e-6)


@given(seed=seeds)
def test_per_sample_metrics_match_keras(keras, seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 2, 8).astype("float32")
    for name in sorted(PER_SAMPLE):
        y_true, y_pred = (a.astype("float32") for a in draw_pair(rng, PER_SAMPLE[name][1], 8))
        ours, theirs = getattr(metrics, name)(), getattr(keras.metrics, name)()
        for m in (ours, theirs):
            m.update_state(y_true, y_pred, sample_weight=w)
            m.update_state(y_true[:3], y_pred[:3])
        np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=2e-6,
                                   atol=1e-6, err_msg=name)
        # Keras's CosineSimilarity config drops `axis`; ours keeps it (so it round-trips)
        expected = {**theirs.get_config(), **({"axis": -1} if name == "CosineSimilarity"
                                              else {})}
        assert ours.get_config() == expected, name


@pytest.mark.parametrize("name", sorted(PER_SAMPLE))
def test_per_sample_metrics_reject_mismatched_shapes(name):
    metric = getattr(metrics, name)()
    with pytest.raises(ValueError, match=f"{name} '{metric.name}': y_true and y_pred must "
                                         f"have the same shape"):
        metric.update_state(np.zeros((3, 4)), np.zeros((3, 5)))
