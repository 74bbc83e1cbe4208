"""The loss that fit and evaluate report is the loss over all the data: batches are weighted
by their size (the last one is smaller) and sample weights count as Keras counts them (the
loss: "sum_over_batch_size", the sum of w * loss over the samples divided by the sample count;
`weighted_metrics`: sum of w * value over the sum of w; `metrics`: unweighted). The figures
were checked against Keras 3.15 on JAX."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers


def _model_and_data(seed=0, n=103):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    y = rng.standard_normal((n, 2)).astype("float32")
    weights = rng.uniform(0.0, 3.0, n).astype("float32")
    model = nk.Sequential([nk.Input((4,)), layers.Dense(2)])
    model.compile(optimizer=nk.optimizers.SGD(learning_rate=0.0), loss="mse", metrics=["mae"],
                  weighted_metrics=["mae"])
    return model, x, y, weights


def _full_data(model, x, y, weights=None):
    """(loss, unweighted mae, weighted mae) over all of x, in float64."""
    error = model.predict(x, verbose=0).astype(np.float64) - y
    mse, mae = (error ** 2).mean(axis=1), np.abs(error).mean(axis=1)
    weights = np.ones(len(x)) if weights is None else weights
    return (weights * mse).sum() / len(x), mae.mean(), (weights * mae).sum() / weights.sum()


@pytest.mark.parametrize("batch_size", [10, 32, 103])
def test_evaluate_reports_the_full_data_loss_with_a_short_last_batch(batch_size):
    model, x, y, _ = _model_and_data()
    results = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    np.testing.assert_allclose(results, _full_data(model, x, y), rtol=1e-5)


def test_evaluate_with_sample_weights_matches_keras_weighting():
    model, x, y, weights = _model_and_data(1)
    results = model.evaluate(x, y, sample_weight=weights, batch_size=32, verbose=0)
    expected = _full_data(model, x, y, weights)
    np.testing.assert_allclose(results, expected, rtol=1e-5)
    batch_means = [_full_data(model, x[i:i + 32], y[i:i + 32], weights[i:i + 32])[0]
                   for i in range(0, len(x), 32)]
    assert abs(np.mean(batch_means) - expected[0]) > 1e-3 * expected[0]   # the test is sharp


def test_fit_reports_the_full_data_loss():
    """A learning rate of zero keeps the weights, so the epoch's loss is the data's loss."""
    model, x, y, weights = _model_and_data(2)
    history = model.fit(x, y, sample_weight=weights, batch_size=16, epochs=1, shuffle=False,
                        verbose=0)
    loss, mae, weighted_mae = _full_data(model, x, y, weights)
    np.testing.assert_allclose(history.history["loss"][0], loss, rtol=1e-5)
    np.testing.assert_allclose(history.history["mae"][0], mae, rtol=1e-5)
    np.testing.assert_allclose(history.history["weighted_mae"][0], weighted_mae, rtol=1e-5)


def test_validation_loss_is_the_full_validation_loss():
    model, x, y, _ = _model_and_data(3)
    history = model.fit(x[:60], y[:60], validation_data=(x[60:], y[60:]), batch_size=16,
                        epochs=1, verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0],
                               _full_data(model, x[60:], y[60:])[0], rtol=1e-5)
