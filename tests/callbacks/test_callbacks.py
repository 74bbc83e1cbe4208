"""Callbacks: their Keras semantics, in isolation and through fit."""
import math

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import callbacks, layers


class WeightsStub:
    """Just enough of a model for a callback: weights that remember the epoch."""

    def __init__(self):
        self.weights = [np.zeros(1)]
        self.stop_training = False

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def drive(callback, values, monitor="val_loss"):
    """Run epochs whose monitored value follows `values`; returns the stopping epoch."""
    model = WeightsStub()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        model.weights = [np.array([float(epoch)])]
        callback.on_epoch_end(epoch, {monitor: value})
        if model.stop_training:
            break
    callback.on_train_end()
    return epoch, model


def test_early_stopping_patience_and_restore_best_weights():
    stop_epoch, model = drive(callbacks.EarlyStopping(patience=2, restore_best_weights=True),
                              [3.0, 2.0, 1.0, 1.5, 1.2, 0.5])
    assert stop_epoch == 4                       # two epochs without improvement after epoch 2
    assert model.weights[0][0] == 2.0            # the best epoch's weights are back


def test_early_stopping_mode_min_delta_baseline_and_start_from_epoch():
    stop, _ = drive(callbacks.EarlyStopping(monitor="val_accuracy", patience=1),
                    [0.5, 0.6, 0.7, 0.65, 0.8], monitor="val_accuracy")   # auto -> max
    assert stop == 3
    stop, _ = drive(callbacks.EarlyStopping(patience=1, min_delta=0.5), [3.0, 2.8, 2.6, 1.0])
    assert stop == 1                             # improvements under min_delta do not count
    values = [3.0, 2.0, 2.5, 2.6, 2.7]
    assert drive(callbacks.EarlyStopping(patience=2), values)[0] == 3
    assert drive(callbacks.EarlyStopping(patience=2, baseline=1.0), values)[0] == 2
    stop, _ = drive(callbacks.EarlyStopping(patience=0, start_from_epoch=3), [1.0, 2.0, 3.0, 4.0, 5.0])
    assert stop == 4


def test_early_stopping_in_fit_restores_best_epoch():
    x = np.random.default_rng(0).standard_normal((64, 2)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = nk.Sequential([nk.Input((2,)), layers.Dense(1)])
    model.compile(optimizer=nk.optimizers.SGD(0.05), loss="mse")
    saved = {}

    def remember(epoch, logs):
        saved[epoch] = (logs["loss"], model.get_weights())

    stopper = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    divergent = callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs=None: epoch == 3 and
        model.optimizer.__setattr__("learning_rate", 5.0))
    model.fit(x, y, epochs=8, verbose=0, callbacks=[divergent, callbacks.LambdaCallback(
        on_epoch_end=remember), stopper])
    best = min(saved, key=lambda e: saved[e][0])
    for restored, expected in zip(model.get_weights(), saved[best][1]):
        np.testing.assert_array_equal(restored, expected)
    assert stopper.stopped_epoch > 0


def small_model():
    model = nk.Sequential([nk.Input((2,)), layers.Dense(1)])
    model.compile(optimizer=nk.optimizers.SGD(0.01), loss="mse")
    x = np.random.default_rng(1).standard_normal((32, 2)).astype("float32")
    return model, x, x[:, :1] - x[:, 1:]


def test_model_checkpoint_formats_paths_and_saves_best_only(tmp_path):
    model, x, y = small_model()
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{loss:.3f}.weights.h5")
    model.fit(x, y, epochs=3, verbose=0, callbacks=[callbacks.ModelCheckpoint(pattern,
                                                                              monitor="loss")])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3 and names[0].startswith("ckpt-01-")
    best = tmp_path / "best.weights.h5"
    checkpoint = callbacks.ModelCheckpoint(str(best), monitor="loss", save_best_only=True)
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"loss": 1.0})
    first = best.stat().st_mtime_ns
    weights = model.get_weights()
    model.set_weights([w + 1 for w in weights])
    checkpoint.on_epoch_end(1, {"loss": 2.0})         # worse: the file keeps epoch 0
    assert best.stat().st_mtime_ns == first
    model.load_weights(str(best))
    for loaded, original in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(loaded, original)
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        callbacks.ModelCheckpoint(str(tmp_path / "model.keras"), save_weights_only=True)
    with pytest.raises(ValueError, match=r"must end in `\.keras`"):
        callbacks.ModelCheckpoint(str(tmp_path / "model.ckpt"))


def test_model_checkpoint_writes_whole_models_to_keras_paths(tmp_path):
    model, x, y = small_model()
    pattern = str(tmp_path / "model-{epoch}.keras")
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.ModelCheckpoint(pattern)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-1.keras", "model-2.keras"]
    restored = nk.models.load_model(tmp_path / "model-2.keras")
    assert int(np.asarray(restored.optimizer.iterations)) == 2
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_reduce_lr_on_plateau_and_learning_rate_scheduler():
    model, x, y = small_model()
    reducer = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[reducer])
    assert model.optimizer.learning_rate == pytest.approx(0.01 * 0.5 ** 3)
    scheduler = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_learning_rate_callbacks_set_each_optimizer_of_a_multi_optimizer():
    inputs = nk.Input((2,))
    model = nk.Model(inputs, layers.Dense(1, name="b")(layers.Dense(3, name="a")(inputs)))
    first, second = nk.optimizers.Adam(0.02, name="first"), nk.optimizers.SGD(0.01, name="second")
    model.compile(optimizer=nk.optimizers.MultiOptimizer(
        nk.optimizers.OptimizerMap(second, {"a/.*": first})), loss="mse")
    x = np.random.default_rng(2).standard_normal((16, 2)).astype("float32")
    y = x[:, :1] - x[:, 1:]
    scheduler = callbacks.LearningRateScheduler(lambda epoch, lr: lr / 2)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate_first"] == pytest.approx([0.01, 0.005])
    assert history.history["learning_rate_second"] == pytest.approx([0.005, 0.0025])
    reducer = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[reducer])   # the second epoch reduces
    assert (first.learning_rate, second.learning_rate) == pytest.approx((0.0025, 0.00125))


def test_terminate_on_nan_stops_training():
    model, x, y = small_model()
    y = y.copy()
    y[0] = np.nan
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0,
                        callbacks=[callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and math.isnan(history.history["loss"][0])


def test_csv_logger_appends(tmp_path):
    model, x, y = small_model()
    path = tmp_path / "log.csv"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(str(path))])
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(str(path), append=True)])
    rows = path.read_text().strip().splitlines()
    assert rows[0] == "epoch,loss" and len(rows) == 5
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "0", "1"]


def test_lambda_callback_and_stop_training_from_a_callback():
    model, x, y = small_model()
    calls = []
    stopper = callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: calls.append(batch),
        on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch == 1))
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) == 2 and calls == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="unknown hook"):
        callbacks.LambdaCallback(on_everything=print)


class Interrupt(Exception):
    pass


def resumable_fit(backup_dir, epochs, interrupt_at=None):
    nk.config.set_random_seed(3)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((96, 4)).astype("float32")
    y = (x @ rng.standard_normal((4, 1))).astype("float32")
    model = nk.Sequential([nk.Input((4,)), layers.Dense(8, activation="tanh"), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")

    def maybe_interrupt(epoch, logs):
        if epoch == interrupt_at:
            raise Interrupt(f"killed after epoch {epoch}")

    hooks = [callbacks.BackupAndRestore(backup_dir),
             callbacks.LambdaCallback(on_epoch_end=maybe_interrupt)]
    history = model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=hooks)
    return model, history


def test_backup_and_restore_resumes_to_the_same_weights(tmp_path):
    reference, _ = resumable_fit(tmp_path / "uninterrupted", epochs=6)
    backup = tmp_path / "backup"
    with pytest.raises(Interrupt):
        resumable_fit(backup, epochs=6, interrupt_at=2)
    assert (backup / "training_state.json").exists()
    resumed, history = resumable_fit(backup, epochs=6)
    assert history.epoch == [3, 4, 5]
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert int(resumed.optimizer.iterations.numpy()) == int(reference.optimizer.iterations.numpy())
    assert not backup.exists()                      # removed once fit completed
