"""compile / fit / evaluate / predict: the Keras training API end to end."""
import subprocess
import sys

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers


def digits():
    return nk.datasets.digits.load_data()


def test_mlp_trains_on_digits_to_95_percent_with_progress_bar(capsys):
    (x_train, y_train), (x_test, y_test) = digits()
    nk.config.set_random_seed(0)
    model = nk.Sequential([
        nk.Input((8, 8)),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=40, validation_split=0.1,
                        verbose=1)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    printed = capsys.readouterr()
    assert "Epoch 40/40" in printed.out + printed.err
    assert accuracy >= 0.95, f"digits MLP test accuracy {accuracy:.3f}"
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 40
    assert history.history["loss"][-1] < history.history["loss"][0]
    probabilities = model.predict(x_test[:7], verbose=0)
    assert isinstance(probabilities, np.ndarray) and probabilities.shape == (7, 10)


def test_one_weight_keras_guide_example():
    nk.config.set_random_seed(1)
    model = nk.Sequential([layers.Dense(1, use_bias=False, input_shape=(1,))])
    model.compile(loss="mse", optimizer="adam")
    x = np.random.default_rng(0).uniform(-1, 1, (100_000, 1)).astype("float32")
    model.fit(x, -x, verbose=0)
    assert model.predict(np.array([[2.5]]), verbose=0)[0, 0] == pytest.approx(-2.5, abs=0.05)
    assert model.get_weights()[0][0, 0] == pytest.approx(-1.0, abs=0.02)


class FlowSequence:
    """A `datagen.flow(x, y, batch_size)`-like endless sequence of batches."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, i):
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[part], self.y[part]


def regression_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3


def test_fit_on_generators_and_sequences():
    x, y = regression_data()
    model = nk.Sequential([nk.Input((3,)), layers.Dense(1)])
    model.compile(optimizer=nk.optimizers.SGD(0.1), loss="mse")
    history = model.fit(FlowSequence(x, y, 32), steps_per_epoch=len(x) // 32, epochs=5,
                        verbose=0)
    assert len(history.history["loss"]) == 5
    assert history.history["loss"][-1] < 0.05

    def endless():
        while True:
            for i in range(0, len(x), 64):
                yield x[i:i + 64], y[i:i + 64], np.ones(len(x[i:i + 64]))

    history = model.fit(endless(), steps_per_epoch=4, epochs=2, verbose=0,
                        validation_data=(x, y))
    assert "val_loss" in history.history
    assert model.evaluate(FlowSequence(x, y, 50), verbose=0) < 0.05


@pytest.mark.parametrize("steps, expected", [(2.5, 3), (np.float32(1.01), 2), (np.int64(2), 2)])
def test_a_real_number_of_steps_rounds_up(steps, expected):
    x, y = regression_data()
    model = nk.Sequential([nk.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen = {"train": 0, "test": 0, "predict": 0}
    counter = nk.callbacks.LambdaCallback(
        on_train_batch_end=lambda *_: seen.__setitem__("train", seen["train"] + 1),
        on_test_batch_end=lambda *_: seen.__setitem__("test", seen["test"] + 1),
        on_predict_batch_end=lambda *_: seen.__setitem__("predict", seen["predict"] + 1))
    model.fit(FlowSequence(x, y, 32), steps_per_epoch=steps, validation_steps=steps,
              validation_data=FlowSequence(x, y, 32), verbose=0, callbacks=[counter])
    model.predict(FlowSequence(x, y, 32), steps=steps, verbose=0, callbacks=[counter])
    assert seen == {"train": expected, "test": expected, "predict": expected}


@pytest.mark.parametrize("bad", [0, -1, 0.0, float("nan"), float("inf"), "4", True])
def test_bad_step_counts_name_the_method_and_argument(bad):
    x, y = regression_data()
    model = nk.Sequential([nk.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="fit: steps_per_epoch must be a positive number"):
        model.fit(x, y, steps_per_epoch=bad, verbose=0)
    with pytest.raises(ValueError, match="evaluate: steps must be a positive number"):
        model.evaluate(x, y, steps=bad, verbose=0)


def test_evaluate_forms_and_single_batch_methods():
    x, y = regression_data()
    model = nk.Sequential([nk.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    assert set(logs) == {"loss", "mae"}
    as_list = model.evaluate(x, y, verbose=0)
    assert as_list == pytest.approx([logs["loss"], logs["mae"]])
    prediction = np.asarray(model(x))
    np.testing.assert_allclose(logs["loss"], np.mean((prediction - y) ** 2), rtol=1e-5)
    before = model.train_on_batch(x[:32], y[:32])
    assert before[0] == pytest.approx(np.mean((prediction[:32] - y[:32]) ** 2), rel=1e-5)
    assert model.test_on_batch(x[:32], y[:32], return_dict=True)["loss"] < before[0]
    np.testing.assert_allclose(model.predict_on_batch(x[:4]), np.asarray(model(x[:4])))


def test_multi_output_losses_weights_and_metrics_by_name():
    inputs = nk.Input((4,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    model = nk.Model(inputs, {"value": layers.Dense(1, name="value")(hidden),
                              "label": layers.Dense(3, activation="softmax", name="label")(hidden)})
    model.compile(optimizer="adam",
                  loss={"value": "mse", "label": "sparse_categorical_crossentropy"},
                  loss_weights={"value": 0.5, "label": 2.0},
                  metrics={"label": ["accuracy"], "value": ["mae"]})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    targets = {"value": x[:, :1] * 2, "label": (x[:, 0] > 0).astype("int64")}
    logs = model.evaluate(x, targets, return_dict=True, verbose=0)
    assert {"loss", "value_loss", "label_loss", "label_accuracy", "value_mae"} <= set(logs)
    assert logs["loss"] == pytest.approx(0.5 * logs["value_loss"] + 2.0 * logs["label_loss"],
                                         rel=1e-5)
    history = model.fit(x, targets, epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_regularization_losses_join_the_training_loss():
    x, y = regression_data()
    model = nk.Sequential([nk.Input((3,)), layers.Dense(1, kernel_regularizer=nk.regularizers.L2(0.5))])
    model.compile(optimizer="sgd", loss="mse")
    prediction = np.asarray(model(x))
    penalty = 0.5 * np.sum(model.layers[0].kernel.numpy() ** 2)
    loss = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(np.mean((prediction - y) ** 2) + penalty, rel=1e-5)


def test_sample_and_class_weights_change_the_loss():
    x, y = regression_data(64)
    model = nk.Sequential([nk.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    weights = np.linspace(0, 2, 64)
    errors = (np.asarray(model(x)) - y)[:, 0] ** 2
    assert model.evaluate(x, y, sample_weight=weights, verbose=0) == pytest.approx(
        np.mean(errors * weights), rel=1e-5)
    labels = (x[:, 0] > 0).astype("int64")
    classifier = nk.Sequential([nk.Input((3,)), layers.Dense(2, activation="softmax")])
    classifier.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    classifier.fit(x, labels, class_weight={0: 1.0, 1: 3.0}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"class_weight has no entry for classes \[1\]"):
        classifier.fit(x, labels, class_weight={0: 1.0}, epochs=1, verbose=0)


def test_training_flag_only_inside_training_steps():
    seen = []

    class Probe(layers.Layer):
        def call(self, x, training=False):
            seen.append(training)
            return x

    x, y = regression_data(32)
    model = nk.Sequential([nk.Input((3,)), Probe(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen.clear()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, validation_data=(x, y))
    assert seen == [True, False]
    seen.clear()
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert seen == [False, False]


def test_verbose_two_prints_one_line_per_epoch(capsys):
    x, y = regression_data(64)
    model = nk.Sequential([nk.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=3, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch")]
    assert len(lines) == 3 and "loss:" in lines[0]


def test_fit_errors_are_clear():
    model = nk.Sequential([nk.Input((3,)), layers.Dense(1)])
    with pytest.raises(RuntimeError, match="call compile"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"same number of samples; received sizes \[4, 5\]"):
        model.fit(np.ones((4, 3)), np.ones((5, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"expects axis -1 .* size 3.*\(4, 2\)"):
        model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0)


def test_progress_in_a_log_file_is_one_line_per_epoch(tmp_path):
    """stdout to a file (CI, `> log`): no carriage returns, one line per epoch and per
    evaluation, as verbose=2."""
    script = tmp_path / "fit.py"
    script.write_text(
        "import numpy as np, nbkeras as nk\n"
        "m = nk.Sequential([nk.Input((3,)), nk.layers.Dense(1)])\n"
        "m.compile(optimizer='sgd', loss='mse')\n"
        "x = np.ones((64, 3), 'float32'); y = np.ones((64, 1), 'float32')\n"
        "m.fit(x, y, epochs=3, batch_size=8, verbose=1)\n"
        "m.evaluate(x, y, verbose=1)\n")
    log = tmp_path / "log.txt"
    with open(log, "w") as out:
        subprocess.run([sys.executable, str(script)], stdout=out, stderr=subprocess.STDOUT,
                       check=True)
    text = log.read_text()
    assert "\r" not in text
    epochs = [line for line in text.splitlines() if line.startswith("Epoch")]
    assert [line.split(" - ")[0] for line in epochs] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert sum(line.startswith("Evaluate - ") for line in text.splitlines()) == 1


def test_vector_metric_results_stay_arrays_in_the_logs():
    """F1Score(average=None) gives one value per class: fit and evaluate log the array (as
    Keras), not a float."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    model = nk.Sequential([nk.Input((4,)), nk.layers.Dense(3, activation="softmax")])
    metric = nk.metrics.F1Score(average=None)
    model.compile("sgd", "categorical_crossentropy", metrics=[metric, "accuracy"])
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert history.history["f1_score"][0].shape == (3,)
    np.testing.assert_allclose(logs["f1_score"], np.asarray(metric.result()))
    assert isinstance(logs["accuracy"], float)
