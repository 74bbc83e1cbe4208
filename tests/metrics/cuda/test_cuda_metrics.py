"""Metric state on "cuda" (a GPU, or Numba's simulator): accumulators live on the device, the
updates run there and give the CPU's results; a model compiled on the device keeps its loss
trackers and compiled metrics there; losses take host labels beside device predictions."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers, losses, metrics

METRICS = {
    "auc": lambda: metrics.AUC(num_thresholds=7),
    "auc_pr_multi_label": lambda: metrics.AUC(curve="PR", multi_label=True, num_thresholds=5),
    "auc_logits_minoring": lambda: metrics.AUC(num_thresholds=6, from_logits=True,
                                               summation_method="minoring"),
    "precision_thresholds": lambda: metrics.Precision(thresholds=[0.3, 0.6]),
    "recall_top_k": lambda: metrics.Recall(top_k=2),
    "precision_class_id": lambda: metrics.Precision(class_id=1),
    "binary_accuracy": metrics.BinaryAccuracy,
    "categorical_accuracy": metrics.CategoricalAccuracy,
    "top_k_categorical_accuracy": lambda: metrics.TopKCategoricalAccuracy(k=2),
    "root_mean_squared_error": metrics.RootMeanSquaredError,
    "mean_squared_error": metrics.MeanSquaredError,
    "categorical_crossentropy": metrics.CategoricalCrossentropy,
    "true_positives": metrics.TruePositives,
    "false_positives_thresholds": lambda: metrics.FalsePositives(thresholds=[0.0, 0.5, 1.0]),
    "true_negatives": lambda: metrics.TrueNegatives(thresholds=[0.2, 0.7]),
    "false_negatives": metrics.FalseNegatives,
    "precision_at_recall": lambda: metrics.PrecisionAtRecall(0.5, num_thresholds=9),
    "recall_at_precision_class_id": lambda: metrics.RecallAtPrecision(0.4, class_id=2),
    "sensitivity_at_specificity": lambda: metrics.SensitivityAtSpecificity(0.5),
    "specificity_at_sensitivity": lambda: metrics.SpecificityAtSensitivity(0.5,
                                                                           num_thresholds=1),
    "f1_score": metrics.F1Score,
    "fbeta_score_weighted": lambda: metrics.FBetaScore(average="weighted", beta=2.0,
                                                       threshold=0.5),
    "one_hot_mean_io_u": lambda: metrics.OneHotMeanIoU(3, dtype="float32"),
    "one_hot_io_u": lambda: metrics.OneHotIoU(3, [0, 2], dtype="float32"),
    "r2_score": metrics.R2Score,
    "pearson_correlation": metrics.PearsonCorrelation,
    "concordance_correlation": metrics.ConcordanceCorrelation,
    "cosine_similarity": metrics.CosineSimilarity,
    "kl_divergence": metrics.KLDivergence,
    "poisson": metrics.Poisson,
    "logcosh": metrics.LogCoshError,
    "hinge": metrics.Hinge,
    "squared_hinge": metrics.SquaredHinge,
    "categorical_hinge": metrics.CategoricalHinge,
}


def _update_twice(metric, y_true, y_pred, weight):
    metric.update_state(y_true, y_pred, sample_weight=weight)
    metric.update_state(y_true[:2], y_pred[:2])


@pytest.mark.parametrize("name", METRICS)
def test_metric_state_and_updates_stay_on_cuda(name):
    rng = np.random.default_rng(len(name))
    y_true = rng.integers(0, 2, (6, 3)).astype("float32")
    y_pred = rng.uniform(0.01, 0.99, (6, 3)).astype("float32")
    weight = rng.uniform(0.0, 2.0, 6).astype("float32")
    expected = METRICS[name]()
    _update_twice(expected, y_true, y_pred, weight)
    with nk.device("cuda"):
        metric = METRICS[name]()
        on_device = nk.ops.convert_to_tensor(y_pred)
    _update_twice(metric, y_true, on_device, weight)      # host labels and weights follow
    assert {v.device for v in metric.variables} == {"cuda:0"}
    result = metric.result()
    assert result.device == "cuda:0"
    np.testing.assert_allclose(np.asarray(result), np.asarray(expected.result()), rtol=1e-5,
                               atol=1e-6)
    metric.reset_state()
    assert not any(np.asarray(v).any() for v in metric.variables)


def test_iou_with_integer_state_on_cuda():
    rng = np.random.default_rng(3)
    labels, predicted = rng.integers(0, 3, 10), rng.integers(0, 3, 10)
    scores, weight = rng.uniform(0, 1, 10).astype("float32"), rng.integers(0, 3, 10)
    for make, y_true, y_pred in ((lambda: metrics.MeanIoU(3, ignore_class=1), labels, predicted),
                                 (lambda: metrics.BinaryIoU(threshold=0.4), labels % 2, scores)):
        expected = make()
        expected.update_state(y_true, y_pred, sample_weight=weight)
        with nk.device("cuda"):
            metric = make()
            on_device = nk.ops.convert_to_tensor(y_pred)
        metric.update_state(y_true, on_device, sample_weight=weight)
        assert metric.total_cm.device == "cuda:0" and metric.total_cm.dtype == "int32"
        np.testing.assert_array_equal(np.asarray(metric.total_cm), np.asarray(expected.total_cm))
        assert float(metric.result()) == float(expected.result())


def test_a_model_compiled_on_cuda_keeps_its_metrics_there():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 4)).astype("float32")
    y = rng.integers(0, 2, (8, 1)).astype("float32")
    histories, models = [], []
    for device_name in ("cpu", "cuda"):
        nk.config.set_random_seed(2)
        with nk.device(device_name):
            model = nk.Sequential([nk.Input((4,)), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="sgd", loss="binary_crossentropy",      # outside the block
                      metrics=["accuracy", metrics.AUC(num_thresholds=9)])
        histories.append(model.fit(x, y, batch_size=4, epochs=2, verbose=0).history)
        models.append(model)
    cuda_model = models[1]
    state = [v for m in cuda_model.metrics for v in m.variables]
    assert len(cuda_model.metrics) == 3 and {v.device for v in state} == {"cuda:0"}
    for key, values in histories[0].items():
        np.testing.assert_allclose(histories[1][key], values, rtol=1e-5, err_msg=key)
    logs = cuda_model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "auc"}


def test_losses_take_host_labels_beside_device_predictions():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 5)
    probabilities = rng.dirichlet(np.ones(3), 5).astype("float32")
    with nk.device("cuda"):
        on_device = nk.ops.convert_to_tensor(probabilities)
    for loss in (losses.SparseCategoricalCrossentropy(), losses.MeanSquaredError()):
        target = labels if isinstance(loss, losses.SparseCategoricalCrossentropy) else \
            np.eye(3, dtype="float32")[labels]
        value = loss(target, on_device, sample_weight=np.linspace(0.5, 1.5, 5))
        assert value.device == "cuda:0"
        np.testing.assert_allclose(float(value), float(loss(target, probabilities,
                                   sample_weight=np.linspace(0.5, 1.5, 5))), rtol=1e-6)
