"""nbkeras.metrics: every metric against plain numpy (tests/reference_losses.py) over several
update_state calls with sample weights, reset_state, AUC against a direct computation with
Keras's thresholds, lookup by Keras names, config round trips and the "accuracy" rule."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import losses, metrics
from nbkeras.testing import strategies as nst

import reference_losses as ref  # tests/reference_losses.py (pytest puts tests/ on sys.path)

seeds = st.integers(0, 2**32 - 1)
batches = st.lists(st.integers(1, 6), min_size=1, max_size=3)     # batch sizes of the updates
weightings = st.sampled_from(["none", "vector", "column"])


def sample_weight(rng, kind, n):
    """None, (n,) or (n, 1) weights, some of them zero."""
    if kind == "none":
        return None
    w = rng.uniform(0.0, 2.0, n) * (rng.random(n) > 0.2)
    return w if kind == "vector" else w[:, None]


def assert_result(metric, expected, rtol=1e-6, atol=1e-7):
    """metric.result() is a 0-d Tensor of the metric's dtype equal to `expected`."""
    result = metric.result()
    assert isinstance(result, nk.Tensor)
    assert result.shape == () and result.dtype == metric.dtype
    np.testing.assert_allclose(float(result), expected, rtol=rtol, atol=atol)


def assert_state_variables(metric):
    assert metric.variables, "a metric keeps its state in Variables"
    for v in metric.variables:
        assert isinstance(v, nk.Variable) and not v.trainable


# --------------------------------------------------------------------- Mean, Sum, wrapper

@given(sizes=batches, kind=weightings, width=st.sampled_from([None, 3]), seed=seeds)
def test_mean_and_sum_accumulate_weighted_values(sizes, kind, width, seed):
    rng = np.random.default_rng(seed)
    mean, total = metrics.Mean(), metrics.Sum(dtype="float64")
    per_sample, weights = [], []
    for n in sizes:
        values = rng.normal(0, 1, (n,) if width is None else (n, width))
        w = sample_weight(rng, kind, n)
        mean.update_state(values, sample_weight=w)
        total.update_state(values, sample_weight=w)
        # Keras: values of higher rank than the weights are averaged (Sum: summed) per sample
        per_sample.append(values if width is None else values.mean(axis=1))
        weights.append(w)
    assert_result(mean, ref.weighted_mean(per_sample, weights), rtol=1e-5)
    sums = [v if width is None else v * width for v in per_sample]
    expected_sum = sum(float(np.sum(np.ravel(v) * (1.0 if w is None else np.ravel(w))))
                       for v, w in zip(sums, weights))
    assert_result(total, expected_sum, rtol=1e-10)
    for metric in (mean, total):
        assert_state_variables(metric)
        metric.reset_state()
        assert_result(metric, 0.0)


def test_mean_keras_examples_and_scalar_weight():
    m = metrics.Mean()
    m.update_state([1, 3, 5, 7])
    assert_result(m, 4.0)
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert_result(m, 2.0)
    m.reset_state()
    m.update_state(np.float64(3.0), sample_weight=2)     # one value counted with weight 2
    m.update_state(np.float64(6.0))
    assert_result(m, 4.0)
    s = metrics.Sum()
    s.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert_result(s, 4.0)


@given(sizes=batches, kind=weightings, seed=seeds)
def test_mean_metric_wrapper_averages_any_function(sizes, kind, seed):
    rng = np.random.default_rng(seed)

    def worst_error(y_true, y_pred, power=1):
        return np.max(np.abs(np.asarray(y_true) - np.asarray(y_pred)) ** power, axis=-1)

    metric = metrics.MeanMetricWrapper(worst_error, name="worst", power=2)
    assert metric.name == "worst"
    values, weights = [], []
    for n in sizes:
        y_true, y_pred = rng.normal(0, 1, (n, 4)), rng.normal(0, 1, (n, 4))
        w = sample_weight(rng, kind, n)
        metric.update_state(y_true, y_pred, sample_weight=w)
        values.append([max((a - b) ** 2 for a, b in zip(r, s)) for r, s in zip(y_true, y_pred)])
        weights.append(w)
    assert_result(metric, ref.weighted_mean(values, weights), rtol=1e-5)
    metric.reset_state()
    assert_result(metric, 0.0)


REGRESSION = {
    "MeanSquaredError": (metrics.MeanSquaredError, ref.mean_squared_error),
    "MeanAbsoluteError": (metrics.MeanAbsoluteError, ref.mean_absolute_error),
    "MeanAbsolutePercentageError": (metrics.MeanAbsolutePercentageError,
                                    ref.mean_absolute_percentage_error),
    "MeanSquaredLogarithmicError": (metrics.MeanSquaredLogarithmicError,
                                    ref.mean_squared_logarithmic_error),
    "BinaryCrossentropy": (metrics.BinaryCrossentropy, ref.binary_crossentropy),
    "CategoricalCrossentropy": (metrics.CategoricalCrossentropy,
                                ref.categorical_crossentropy),
}


@pytest.mark.parametrize("name", sorted(REGRESSION))
@given(sizes=batches, kind=weightings, seed=seeds)
def test_loss_based_metrics(name, sizes, kind, seed):
    rng = np.random.default_rng(seed)
    cls, reference = REGRESSION[name]
    metric = cls(dtype="float64")
    values, weights = [], []
    for n in sizes:
        y_true = rng.uniform(0.05, 1.0, (n, 3))
        y_true /= y_true.sum(-1, keepdims=True)
        y_pred = rng.uniform(0.05, 0.95, (n, 3))
        w = sample_weight(rng, kind, n)
        metric.update_state(y_true, y_pred, sample_weight=w)
        values.append(reference(y_true, y_pred))
        weights.append(w)
    assert_result(metric, ref.weighted_mean(values, weights), rtol=1e-10)
    metric.reset_state()
    assert_result(metric, 0.0)


@given(sizes=batches, kind=weightings, seed=seeds)
def test_root_mean_squared_error(sizes, kind, seed):
    rng = np.random.default_rng(seed)
    metric = metrics.RootMeanSquaredError(dtype="float64")
    values, weights = [], []
    for n in sizes:
        y_true, y_pred = rng.normal(0, 1, (n, 2)), rng.normal(0, 1, (n, 2))
        w = sample_weight(rng, kind, n)
        metric.update_state(y_true, y_pred, sample_weight=w)
        values.append(ref.mean_squared_error(y_true, y_pred))
        weights.append(w)
    assert_result(metric, np.sqrt(ref.weighted_mean(values, weights)), rtol=1e-10)


def test_metric_updates_inside_a_tape_leave_its_gradients_alone():
    y_pred = nk.Tensor(np.array([[0.2, 0.8], [0.6, 0.4]]))
    metric = metrics.MeanSquaredError()
    with nk.GradientTape() as tape:
        tape.watch(y_pred)
        metric.update_state(np.array([[0.0, 1.0], [1.0, 0.0]]), y_pred)
        loss = losses.mean_squared_error(np.zeros((2, 2)), y_pred).sum()
    grad = tape.gradient(loss, y_pred).numpy()
    np.testing.assert_allclose(grad, y_pred.numpy(), rtol=1e-12)     # d/dp sum(mean(p^2)) = p
    assert_result(metric, 0.1, rtol=1e-6)


# ------------------------------------------------------------------------------ accuracy

@given(sizes=batches, kind=weightings, threshold=st.sampled_from([0.5, 0.3, 0.8]), seed=seeds)
def test_binary_accuracy(sizes, kind, threshold, seed):
    rng = np.random.default_rng(seed)
    metric = metrics.BinaryAccuracy(threshold=threshold)
    values, weights = [], []
    for n in sizes:
        y_true = rng.integers(0, 2, (n, 1))
        y_pred = nst.away_from(rng.uniform(0, 1, (n, 1)), (threshold,), 1e-3)
        w = sample_weight(rng, kind, n)
        metric.update_state(y_true, y_pred, sample_weight=w)
        values.append([float(t == (p > threshold)) for t, p in zip(y_true[:, 0], y_pred[:, 0])])
        weights.append(w)
    assert_result(metric, ref.weighted_mean(values, weights), rtol=1e-5)
    metric.reset_state()
    assert_result(metric, 0.0)


@given(sizes=batches, kind=weightings, classes=st.integers(2, 5), seed=seeds)
def test_accuracy_and_categorical_accuracy(sizes, kind, classes, seed):
    rng = np.random.default_rng(seed)
    exact, categorical = metrics.Accuracy(), metrics.CategoricalAccuracy()
    exact_values, categorical_values, weights = [], [], []
    for n in sizes:
        labels = rng.integers(0, classes, n)
        y_true = np.eye(classes)[labels]
        y_pred = rng.random((n, classes))
        guesses = np.where(rng.random(n) < 0.5, labels, rng.integers(0, classes, n))
        w = sample_weight(rng, kind, n)
        exact.update_state(labels[:, None], guesses[:, None], sample_weight=w)
        categorical.update_state(y_true, y_pred, sample_weight=w)
        exact_values.append([float(a == b) for a, b in zip(labels, guesses)])
        categorical_values.append(ref.categorical_matches(y_true, y_pred))
        weights.append(w)
    assert_result(exact, ref.weighted_mean(exact_values, weights), rtol=1e-5)
    assert_result(categorical, ref.weighted_mean(categorical_values, weights), rtol=1e-5)


@given(sizes=batches, kind=weightings, classes=st.integers(2, 6), k=st.integers(1, 4),
       column=st.booleans(), seed=seeds)
def test_sparse_and_top_k_accuracies(sizes, kind, classes, k, column, seed):
    rng = np.random.default_rng(seed)
    sparse = metrics.SparseCategoricalAccuracy()
    top_k = metrics.TopKCategoricalAccuracy(k=k)
    sparse_top_k = metrics.SparseTopKCategoricalAccuracy(k=k)
    sparse_values, top_values, weights = [], [], []
    for n in sizes:
        labels = rng.integers(0, classes, n)
        y_pred = np.round(rng.random((n, classes)), 1)       # ties happen: they count as in
        w = sample_weight(rng, kind, n)
        y_true = labels[:, None] if column else labels
        sparse.update_state(y_true, y_pred, sample_weight=w)
        top_k.update_state(np.eye(classes)[labels], y_pred, sample_weight=w)
        sparse_top_k.update_state(labels, y_pred, sample_weight=w)
        one_hot = np.eye(classes)[labels]
        sparse_values.append(ref.categorical_matches(one_hot, y_pred))
        top_values.append(ref.sparse_top_k_matches(labels, y_pred, k))
        weights.append(w)
    assert_result(sparse, ref.weighted_mean(sparse_values, weights), rtol=1e-5)
    assert_result(top_k, ref.weighted_mean(top_values, weights), rtol=1e-5)
    assert_result(sparse_top_k, ref.weighted_mean(top_values, weights), rtol=1e-5)
    for metric in (sparse, top_k, sparse_top_k):
        metric.reset_state()
        assert_result(metric, 0.0)


def test_accuracy_functions_and_keras_examples():
    assert np.asarray(metrics.binary_accuracy([[1], [1], [0], [0]],
                                              [[0.98], [1], [0], [0.6]])).tolist() == [1, 1, 1, 0]
    assert np.asarray(metrics.sparse_categorical_accuracy(
        [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])).tolist() == [0, 1]
    assert np.asarray(metrics.top_k_categorical_accuracy(
        [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=2)).tolist() == [1, 1]
    examples = [
        (metrics.BinaryAccuracy(), [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]],
         [1, 0, 0, 1], 0.75, 0.5),
        (metrics.CategoricalAccuracy(), [[0, 0, 1], [0, 1, 0]],
         [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3], 0.5, 0.3),
        (metrics.SparseCategoricalAccuracy(), [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]],
         [0.7, 0.3], 0.5, 0.3),
        (metrics.TopKCategoricalAccuracy(k=1), [[0, 0, 1], [0, 1, 0]],
         [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3], 0.5, 0.3),
        (metrics.SparseTopKCategoricalAccuracy(k=1), [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
         [0.7, 0.3], 0.5, 0.3),
        (metrics.Accuracy(), [[1], [2], [3], [4]], [[0], [2], [3], [4]], [1, 1, 0, 0], 0.75, 0.5),
        (metrics.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0], 2 / 3, 1.0),
        (metrics.Recall(), [0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0], 2 / 3, 1.0),
        (metrics.AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [1, 0, 0, 1], 0.75, 1.0),
    ]
    for metric, y_true, y_pred, weights, plain, weighted in examples:
        metric.update_state(y_true, y_pred)
        assert_result(metric, plain)
        metric.reset_state()
        metric.update_state(y_true, y_pred, sample_weight=weights)
        assert_result(metric, weighted)
    for k, expected in ((2, 0.0), (4, 0.5)):
        precision = metrics.Precision(top_k=k)
        precision.update_state([0, 0, 1, 1], [1, 1, 1, 1])
        assert_result(precision, expected)


# --------------------------------------------------------------- precision and recall

@given(sizes=batches, kind=weightings, seed=seeds, classes=st.integers(1, 4),
       thresholds=st.sampled_from([None, 0.3, [0.2, 0.5, 0.9]]),
       top_k=st.sampled_from([None, 1, 2]), class_id=st.sampled_from([None, 0]))
def test_precision_and_recall(sizes, kind, seed, classes, thresholds, top_k, class_id):
    rng = np.random.default_rng(seed)
    precision = metrics.Precision(thresholds=thresholds, top_k=top_k, class_id=class_id,
                                  dtype="float64")
    recall = metrics.Recall(thresholds=thresholds, top_k=top_k, class_id=class_id,
                            dtype="float64")
    levels = [0.5] if thresholds is None else np.atleast_1d(thresholds).tolist()
    if top_k is not None and thresholds is None:
        levels = [-1e10]
    counts = np.zeros((len(levels), 4))
    for n in sizes:
        y_true = rng.integers(0, 2, (n, classes))
        y_pred = nst.distinct((n, classes), rng, min_gap=1e-3, scale=0.05) + 0.5
        w = sample_weight(rng, kind, n)
        precision.update_state(y_true, y_pred, sample_weight=w)
        recall.update_state(y_true, y_pred, sample_weight=w)
        kept = y_pred.copy()
        if top_k is not None:                         # all but the k largest per row drop out
            order = np.argsort(-kept, axis=1)
            for row, ranks in zip(kept, order):
                row[ranks[top_k:]] = -1e10
        weights = np.ones((n, classes)) if w is None else np.broadcast_to(
            np.reshape(w, (n, 1)), (n, classes))
        columns = slice(None) if class_id is None else slice(class_id, class_id + 1)
        for i, t in enumerate(levels):
            counts[i] += ref.confusion_counts(y_true[:, columns], kept[:, columns],
                                              weights[:, columns], t)
    tp, fp, _, fn = counts.T
    expect_p = np.where(tp + fp > 0, tp / np.where(tp + fp > 0, tp + fp, 1), 0)
    expect_r = np.where(tp + fn > 0, tp / np.where(tp + fn > 0, tp + fn, 1), 0)
    for metric, expected in ((precision, expect_p), (recall, expect_r)):
        result = metric.result()
        assert result.dtype == "float64"
        np.testing.assert_allclose(np.asarray(result), expected if len(levels) > 1
                                   else expected[0], rtol=1e-10, atol=1e-12)
        metric.reset_state()
        assert not np.any(np.asarray(metric.result()))


# --------------------------------------------------------------------------------- AUC

@given(sizes=batches, kind=weightings, seed=seeds,
       num_thresholds=st.sampled_from([3, 11, 50, 200]), curve=st.sampled_from(["ROC", "PR"]),
       summation=st.sampled_from(["interpolation", "minoring", "majoring"]),
       from_logits=st.booleans())
def test_auc_matches_direct_computation(sizes, kind, seed, num_thresholds, curve, summation,
                                        from_logits):
    rng = np.random.default_rng(seed)
    metric = metrics.AUC(num_thresholds=num_thresholds, curve=curve, summation_method=summation,
                         from_logits=from_logits, dtype="float64")
    labels, predictions, weights = [], [], []
    for n in sizes:
        y_true = rng.integers(0, 2, (n, 1))
        scores = rng.uniform(0, 1, (n, 1))
        # logits whose sigmoid is `scores`; probabilities may overshoot [0, 1] (Keras clips)
        y_pred = np.log(scores / (1 - scores)) if from_logits else scores * 1.1 - 0.05
        w = sample_weight(rng, kind, n)
        metric.update_state(y_true, y_pred, sample_weight=w)
        labels.append(y_true.ravel())
        predictions.append(scores.ravel() if from_logits else y_pred.ravel())
        weights.append(np.ones(n) if w is None else np.ravel(w))
    expected = ref.auc(np.concatenate(labels), np.concatenate(predictions),
                       np.concatenate(weights), num_thresholds, curve, summation)
    assert_result(metric, expected, rtol=1e-9, atol=1e-12)
    metric.reset_state()
    assert_result(metric, 0.0)


@given(seed=seeds, n=st.integers(2, 12))
def test_auc_float32_state_and_perfect_ranking(seed, n):
    rng = np.random.default_rng(seed)
    y_true = np.arange(n) % 2
    y_pred = (y_true + rng.uniform(0.01, 0.99, n)) / 2      # every positive above every negative
    metric = metrics.AUC()
    metric.update_state(y_true, y_pred)
    assert metric.dtype == "float32"
    assert_result(metric, ref.auc(y_true, y_pred, np.ones(n)), rtol=1e-6)


@given(seed=seeds, labels=st.integers(1, 3), n=st.integers(2, 10),
       weighted=st.booleans())
def test_auc_multi_label_averages_label_aucs(seed, labels, n, weighted):
    rng = np.random.default_rng(seed)
    label_weights = rng.uniform(0.5, 2.0, labels) if weighted else None
    metric = metrics.AUC(num_thresholds=20, multi_label=True, label_weights=label_weights,
                         dtype="float64")
    y_true, y_pred = rng.integers(0, 2, (n, labels)), rng.uniform(0, 1, (n, labels))
    metric.update_state(y_true, y_pred)
    per_label = [ref.auc(y_true[:, j], y_pred[:, j], np.ones(n), 20) for j in range(labels)]
    expected = np.average(per_label, weights=label_weights)
    assert_result(metric, expected, rtol=1e-9, atol=1e-12)
    assert metric.true_positives.shape == (20, labels)


def test_auc_thresholds_and_validation():
    metric = metrics.AUC(num_thresholds=5)
    np.testing.assert_allclose(metric.thresholds, [-1e-7, 0.25, 0.5, 0.75, 1 + 1e-7])
    custom = metrics.AUC(thresholds=[0.7, 0.2])
    assert custom.num_thresholds == 4
    np.testing.assert_allclose(custom.thresholds, [-1e-7, 0.2, 0.7, 1 + 1e-7])
    assert metrics.AUC.from_config(custom.get_config()).thresholds == custom.thresholds
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="ROCK")
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])


# ---------------------------------------------------------------- lookup, config, rules

def test_get_by_keras_names():
    expected = {
        "accuracy": metrics.Accuracy, "acc": metrics.Accuracy,
        "binary_accuracy": metrics.BinaryAccuracy,
        "categorical_accuracy": metrics.CategoricalAccuracy,
        "sparse_categorical_accuracy": metrics.SparseCategoricalAccuracy,
        "top_k_categorical_accuracy": metrics.TopKCategoricalAccuracy,
        "sparse_top_k_categorical_accuracy": metrics.SparseTopKCategoricalAccuracy,
        "mse": metrics.MeanSquaredError, "mae": metrics.MeanAbsoluteError,
        "auc": metrics.AUC, "precision": metrics.Precision, "recall": metrics.Recall,
        "MeanSquaredError": metrics.MeanSquaredError, "AUC": metrics.AUC,
    }
    for name, cls in expected.items():
        assert type(metrics.get(name)) is cls, name
    metric = metrics.Recall()
    assert metrics.get(metric) is metric
    assert type(metrics.get(metrics.Precision)) is metrics.Precision
    wrapped = metrics.get(losses.hinge)
    assert type(wrapped) is metrics.MeanMetricWrapper and wrapped.name == "hinge"
    by_name = metrics.get("log_cosh")
    by_name.update_state(np.zeros((2, 2)), np.ones((2, 2)))
    assert_result(by_name, np.log(np.cosh(1.0)))
    assert metrics.get(None) is None
    with pytest.raises(ValueError, match="Unknown metric: 'acuracy'"):
        metrics.get("acuracy")


METRIC_CONFIGS = {
    metrics.Mean: {}, metrics.Sum: {}, metrics.Accuracy: {},
    metrics.BinaryAccuracy: {"threshold": 0.7}, metrics.CategoricalAccuracy: {},
    metrics.SparseCategoricalAccuracy: {}, metrics.TopKCategoricalAccuracy: {"k": 3},
    metrics.SparseTopKCategoricalAccuracy: {"k": 2}, metrics.MeanSquaredError: {},
    metrics.MeanAbsoluteError: {}, metrics.RootMeanSquaredError: {},
    metrics.AUC: {"num_thresholds": 17, "curve": "PR", "summation_method": "minoring",
                  "from_logits": True},
    metrics.Precision: {"thresholds": [0.3, 0.6], "class_id": 1},
    metrics.Recall: {"top_k": 2},
}


@pytest.mark.parametrize("cls", list(METRIC_CONFIGS), ids=lambda c: c.__name__)
def test_metric_config_round_trip(cls):
    metric = cls(name="custom", dtype="float64", **METRIC_CONFIGS[cls])
    config = metric.get_config()
    assert config["name"] == "custom" and config["dtype"] == "float64"
    for key, value in METRIC_CONFIGS[cls].items():
        assert config[key] == value
    again = metrics.deserialize(metrics.serialize(metric))
    assert type(again) is cls and again.get_config() == config
    assert_state_variables(again)


def test_mean_metric_wrapper_config_names_its_function():
    metric = metrics.MeanMetricWrapper(losses.huber, name="h", delta=0.5)
    config = metric.get_config()
    assert config == {"name": "h", "dtype": nk.config.floatx(), "fn": "huber", "delta": 0.5}
    again = metrics.MeanMetricWrapper.from_config(config)
    for m in (metric, again):
        m.update_state(np.zeros((1, 2)), np.full((1, 2), 2.0))
    assert float(again.result()) == float(metric.result()) == pytest.approx(0.875)


@pytest.mark.parametrize("y_true, y_pred, loss, expected", [
    ((8, 1), (8, 1), "binary_crossentropy", metrics.BinaryAccuracy),
    ((8,), (8, 1), "mse", metrics.BinaryAccuracy),
    ((8, 1), (8, 1), "categorical_crossentropy", metrics.BinaryAccuracy),
    ((8,), (8, 5), "sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    ((8, 1), (8, 5), None, metrics.SparseCategoricalAccuracy),
    ((8, 7), (8, 7, 5), None, metrics.SparseCategoricalAccuracy),
    ((8, 5), (8, 5), "categorical_crossentropy", metrics.CategoricalAccuracy),
    # Keras 3 decides by shapes only: multi-label sigmoid outputs get categorical accuracy
    ((8, 5), (8, 5), "binary_crossentropy", metrics.CategoricalAccuracy),
    # the loss decides only where the shapes cannot
    ((None, None), (None, None), "binary_crossentropy", metrics.BinaryAccuracy),
    ((None, None), (None, None), losses.SparseCategoricalCrossentropy(),
     metrics.SparseCategoricalAccuracy),
    ((None, None), (None, None), losses.LossFunctionWrapper(losses.categorical_crossentropy),
     metrics.CategoricalAccuracy),
])
def test_resolve_accuracy_follows_keras_compile(y_true, y_pred, loss, expected):
    metric = metrics.resolve_accuracy(y_true, y_pred, loss)
    assert type(metric) is expected and metric.name == "accuracy"
