"""The metrics namespace of issue 12: every name Keras 3.15 exports from keras.metrics exists;
`get` / `serialize` / `deserialize` by Keras's names; get_config/from_config round trips of
every new metric (with Keras's keys); the exported metric functions; and the new metrics
inside `model.compile(metrics=[...])` + `fit` and `evaluate`, against the metrics run by hand."""
from __future__ import annotations

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers, losses, metrics

NEW_CONFIGS = {   # class: constructor arguments (besides name and dtype)
    metrics.TruePositives: {"thresholds": [0.3, 0.6]},
    metrics.FalsePositives: {"thresholds": 0.2},
    metrics.TrueNegatives: {},
    metrics.FalseNegatives: {"thresholds": [0.0, 1.0]},
    metrics.PrecisionAtRecall: {"recall": 0.7, "num_thresholds": 11, "class_id": 1},
    metrics.RecallAtPrecision: {"precision": 0.2, "num_thresholds": 3},
    metrics.SensitivityAtSpecificity: {"specificity": 0.5, "num_thresholds": 1},
    metrics.SpecificityAtSensitivity: {"sensitivity": 0.9, "class_id": 0},
    metrics.F1Score: {"average": "macro", "threshold": 0.4},
    metrics.FBetaScore: {"average": "weighted", "beta": 2.0},
    metrics.IoU: {"num_classes": 4, "target_class_ids": [1, 3], "ignore_class": 0,
                  "sparse_y_pred": False},
    metrics.BinaryIoU: {"target_class_ids": [1], "threshold": 0.3},
    metrics.MeanIoU: {"num_classes": 3, "sparse_y_true": False, "axis": -1},
    metrics.OneHotIoU: {"num_classes": 3, "target_class_ids": [2], "sparse_y_pred": True},
    metrics.OneHotMeanIoU: {"num_classes": 5, "ignore_class": 4},
    metrics.R2Score: {"class_aggregation": "variance_weighted_average", "num_regressors": 2},
    metrics.PearsonCorrelation: {"axis": 0},
    metrics.ConcordanceCorrelation: {"axis": -1},
    metrics.CosineSimilarity: {"axis": 0},
    metrics.KLDivergence: {}, metrics.Poisson: {}, metrics.LogCoshError: {},
    metrics.Hinge: {}, metrics.SquaredHinge: {}, metrics.CategoricalHinge: {},
}


def test_every_keras_metric_name_exists(keras):
    public = {name for name in dir(keras.metrics) if not name.startswith("_")}
    missing = sorted(public - set(dir(metrics)))
    assert missing == []


@pytest.mark.parametrize("cls", list(NEW_CONFIGS), ids=lambda c: c.__name__)
def test_new_metric_config_round_trip(cls):
    dtype = "float64"
    metric = cls(name="custom", dtype=dtype, **NEW_CONFIGS[cls])
    config = metric.get_config()
    assert config["name"] == "custom" and config["dtype"] == dtype
    for key, value in NEW_CONFIGS[cls].items():
        assert config[key] == value, key
    again = metrics.deserialize(metrics.serialize(metric))
    assert type(again) is cls and again.get_config() == config
    assert cls.from_config(config).get_config() == config
    for v in again.variables:
        assert isinstance(v, nk.Variable) and not v.trainable


@pytest.mark.parametrize("cls", list(NEW_CONFIGS), ids=lambda c: c.__name__)
def test_new_metric_config_keys_and_defaults_match_keras(keras, cls):
    ours = cls(**NEW_CONFIGS[cls])
    theirs = getattr(keras.metrics, cls.__name__)(**NEW_CONFIGS[cls])
    expected = {**theirs.get_config(), "name": ours.name}      # Keras numbers repeated names
    if cls is metrics.CosineSimilarity:
        expected["axis"] = 0          # Keras drops `axis` from the config; we keep it
    assert ours.get_config() == expected
    assert [v.name for v in ours.variables] == [v.name for v in theirs.variables]


def test_get_by_keras_names():
    required_arguments = {metrics.PrecisionAtRecall, metrics.RecallAtPrecision,
                          metrics.SensitivityAtSpecificity, metrics.SpecificityAtSensitivity,
                          metrics.IoU, metrics.MeanIoU, metrics.OneHotIoU, metrics.OneHotMeanIoU}
    for cls in NEW_CONFIGS:
        snake = nk.serialization.snake_case(cls.__name__)      # "mean_io_u", as Keras
        assert metrics.ALL_OBJECTS_DICT[cls.__name__] is cls
        assert metrics.ALL_OBJECTS_DICT[snake] is cls
        if cls not in required_arguments:
            assert type(metrics.get(cls.__name__)) is cls
            assert type(metrics.get(snake)) is cls, snake
    assert metrics.ALL_OBJECTS_DICT["mean_io_u"] is metrics.MeanIoU
    assert type(metrics.get("f_beta_score")) is metrics.FBetaScore
    assert type(metrics.get({"class_name": "R2Score", "config": {"num_regressors": 1}})) \
        is metrics.R2Score
    # a class's snake-case name is the class, as in Keras ("hinge" is Hinge, not the function)
    for name, cls in (("pearson_correlation", metrics.PearsonCorrelation),
                      ("concordance_correlation", metrics.ConcordanceCorrelation),
                      ("hinge", metrics.Hinge), ("squared_hinge", metrics.SquaredHinge),
                      ("categorical_hinge", metrics.CategoricalHinge),
                      ("poisson", metrics.Poisson), ("kl_divergence", metrics.KLDivergence),
                      ("huber", metrics.MeanMetricWrapper),      # functions only: wrapped
                      ("log_cosh", metrics.MeanMetricWrapper)):
        metric = metrics.get(name)
        assert type(metric) is cls and metric.name == name
        assert metrics.deserialize(metrics.serialize(getattr(metrics, name))) \
            is getattr(metrics, name)
    with pytest.raises(ValueError, match="Unknown metric: 'f2_score'"):
        metrics.get("f2_score")
    with pytest.raises(ValueError, match="Unknown metric: 'MeanIOU'"):
        metrics.deserialize({"class_name": "MeanIOU", "config": {}})


def test_metric_functions_are_keras_functions():
    for name in ("hinge", "squared_hinge", "categorical_hinge", "huber", "log_cosh", "poisson",
                 "kl_divergence", "binary_focal_crossentropy", "categorical_focal_crossentropy"):
        assert getattr(metrics, name) is getattr(losses, name)
    y_true = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0]])
    y_pred = np.array([[0.5, 1.5, 1.0], [0.0, 2.0, 1.0]])
    np.testing.assert_allclose(np.asarray(metrics.pearson_correlation(y_true, y_pred)),
                               [np.corrcoef(t, p)[0, 1] for t, p in zip(y_true, y_pred)],
                               rtol=1e-6)
    concordance = np.asarray(metrics.concordance_correlation(y_true, y_pred))
    assert concordance.shape == (2,) and np.all(np.abs(concordance) <= 1)


def test_new_metrics_in_compile_and_fit():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = (x[:, :1] + 0.3 * rng.standard_normal((32, 1)) > 0).astype("float32")
    nk.config.set_random_seed(3)
    model = nk.Sequential([nk.Input((4,)), layers.Dense(1, activation="sigmoid")])
    # vector-valued results (F1Score(average=None), several thresholds) do not fit the fit
    # loop's logs yet: the trainer makes every result a float. PearsonCorrelation(axis=0)
    # correlates each batch (along axis -1 a (N, 1) output has one value per row: NaN)
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=["hinge", metrics.TruePositives(),
                           metrics.F1Score(average="micro", threshold=0.5),
                           metrics.PrecisionAtRecall(0.5), metrics.BinaryIoU(),
                           metrics.R2Score(), metrics.PearsonCorrelation(axis=0)])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0).history
    for key in ("loss", "hinge", "true_positives", "f1_score", "precision_at_recall",
                "binary_io_u", "r2_score", "pearson_correlation"):
        assert len(history[key]) == 2 and np.all(np.isfinite(history[key])), key
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    y_pred = model.predict(x, verbose=0)
    by_hand = {"true_positives": metrics.TruePositives(), "f1_score": metrics.F1Score(
        average="micro", threshold=0.5), "precision_at_recall": metrics.PrecisionAtRecall(0.5),
        "binary_io_u": metrics.BinaryIoU(), "r2_score": metrics.R2Score()}
    for key, metric in by_hand.items():
        for start in range(0, 32, 8):      # evaluate's batches; these metrics merge exactly
            metric.update_state(y[start:start + 8], y_pred[start:start + 8])
        np.testing.assert_allclose(logs[key], float(np.asarray(metric.result())), rtol=1e-5,
                                   atol=1e-6, err_msg=key)
