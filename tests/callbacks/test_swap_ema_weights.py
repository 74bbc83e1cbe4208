"""SwapEMAWeights driven by real fit / evaluate / predict calls, checked against the
optimizer's averages and a float64 numpy evaluation of a linear model."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import callbacks, layers, optimizers

rng = np.random.default_rng(3)
X = rng.normal(size=(48, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)
XV, YV = X[:16] + 0.5, Y[:16]


def linear_model(use_ema=True):
    model = nk.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.05, use_ema=use_ema, ema_momentum=0.7),
                  loss="mse")
    return model


def mse(weights, x, y):
    kernel, bias = (np.asarray(w, np.float64) for w in weights)
    return float(np.mean((x.astype(np.float64) @ kernel + bias - y) ** 2))


def snapshot(model):
    return ([w.numpy() for w in model.trainable_weights],
            [a.numpy() for a in model.optimizer._model_variables_moving_average])


def test_validation_in_fit_uses_the_ema_weights_and_training_resumes_from_its_own():
    model = linear_model()
    seen = []
    before = {}

    def record_batch(batch, logs):
        before["weights"] = [w.numpy() for w in model.trainable_weights]

    def record_epoch(epoch, logs):
        weights, averages = snapshot(model)
        seen.append((logs["val_loss"], weights, averages, before["weights"]))

    recorder = callbacks.LambdaCallback(on_train_batch_end=record_batch,
                                        on_epoch_end=record_epoch)
    model.fit(X, Y, batch_size=8, epochs=3, verbose=0, validation_data=(XV, YV),
              callbacks=[callbacks.SwapEMAWeights(), recorder])
    for val_loss, weights, averages, last_batch_weights in seen:
        np.testing.assert_allclose(val_loss, mse(averages, XV, YV), rtol=1e-5)
        assert abs(val_loss - mse(weights, XV, YV)) > 1e-4      # not the raw weights' loss
        for w, w_before in zip(weights, last_batch_weights):   # swapped back after validation
            np.testing.assert_array_equal(w, w_before)
    # fit ends with the averages in the model (finalize_variable_values), as Keras
    for weight, average in zip(model.trainable_weights, seen[-1][2]):
        np.testing.assert_array_equal(weight.numpy(), average)


def test_swap_on_epoch_shows_later_callbacks_the_ema_weights():
    model = linear_model()
    seen = []
    before = {}

    def record_batch(batch, logs):
        before["snapshot"] = snapshot(model)

    def record_epoch(epoch, logs):
        seen.append((snapshot(model), before["snapshot"]))

    recorder = callbacks.LambdaCallback(on_train_batch_end=record_batch,
                                        on_epoch_end=record_epoch)
    model.fit(X, Y, batch_size=8, epochs=3, verbose=0,
              callbacks=[callbacks.SwapEMAWeights(swap_on_epoch=True), recorder])
    for epoch, ((weights, averages), (raw, ema)) in enumerate(seen):
        for w, e in zip(weights, ema):          # the model holds the EMA weights
            np.testing.assert_array_equal(w, e)
        if epoch < 2:                            # the optimizer holds the training weights
            for a, r in zip(averages, raw):
                np.testing.assert_array_equal(a, r)
        else:                                    # last epoch: averages restored for finalize
            for a, e in zip(averages, ema):
                np.testing.assert_array_equal(a, e)
    # the second epoch trained from the raw weights of the first (swapped back at its start)
    final_weights = [w.numpy() for w in model.trainable_weights]
    for w, e in zip(final_weights, seen[-1][1][1]):
        np.testing.assert_array_equal(w, e)


def test_evaluate_and_predict_use_the_ema_weights_and_restore_the_model():
    model = linear_model()
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0)     # ends with weights == averages
    model.optimizer.apply([np.ones((3, 1), np.float32), np.ones(1, np.float32)])
    weights, averages = snapshot(model)
    assert not np.allclose(weights[0], averages[0])
    loss = model.evaluate(XV, YV, verbose=0, callbacks=[callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(loss, mse(averages, XV, YV), rtol=1e-5)
    prediction = model.predict(XV, verbose=0, callbacks=[callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(prediction, XV @ averages[0] + averages[1], rtol=1e-5,
                               atol=1e-6)
    after_weights, after_averages = snapshot(model)
    for a, b in zip(weights + averages, after_weights + after_averages):
        np.testing.assert_array_equal(a, b)


def test_without_use_ema_it_raises():
    model = linear_model(use_ema=False)
    with pytest.raises(ValueError, match="use_ema=True"):
        model.fit(X, Y, batch_size=8, epochs=1, verbose=0, validation_data=(XV, YV),
                  callbacks=[callbacks.SwapEMAWeights()])
