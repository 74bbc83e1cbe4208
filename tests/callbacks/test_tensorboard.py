"""TensorBoard: real fits write event files, read back record by record with tensorboardX's
protobuf classes (and, when installed, with TensorBoard's own EventAccumulator)."""
import glob
import json
import os
import struct
import sys

import numpy as np
import pytest

tensorboardX = pytest.importorskip("tensorboardX")

import nbkeras as nk  # noqa: E402
from nbkeras import callbacks, layers, optimizers  # noqa: E402

rng = np.random.default_rng(5)
X = rng.normal(size=(32, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]])).astype(np.float32)
XV, YV = X[:8] + 0.25, Y[:8]


def read_events(run_dir):
    """Every Event of a run's event files: TFRecords of (length u64, crc u32, data, crc u32)."""
    from tensorboardX.proto.event_pb2 import Event

    events = []
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        with open(path, "rb") as f:
            data = f.read()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            events.append(Event.FromString(data[pos + 12:pos + 12 + length]))
            pos += 12 + length + 4
    return events


def summaries(run_dir, kind):
    """{tag: {step: value}} for values of `kind` ("simple_value", "histo", "image",
    "tensor")."""
    out = {}
    for event in read_events(run_dir):
        for value in event.summary.value:
            if value.HasField(kind):
                out.setdefault(value.tag, {})[event.step] = getattr(value, kind)
    return out


def model_and_recorder(optimizer):
    model = nk.Sequential([layers.Input((3,)), layers.Dense(4, activation="tanh"),
                           layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    seen = {"epochs": [], "batches": []}
    recorder = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen["epochs"].append(
            (dict(logs), {w.path: w.numpy() for w in model.weights},
             int(model.optimizer.iterations.numpy()), model.optimizer.learning_rate)),
        on_train_batch_end=lambda batch, logs: seen["batches"].append(dict(logs)))
    return model, recorder, seen


def test_fit_writes_keras_layout_scalars_histograms_and_model_summary(tmp_path):
    schedule = optimizers.schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)
    model, recorder, seen = model_and_recorder(optimizers.SGD(schedule))
    board = callbacks.TensorBoard(log_dir=tmp_path / "logs", histogram_freq=2)
    history = model.fit(X, Y, batch_size=8, epochs=3, verbose=0, validation_data=(XV, YV),
                        callbacks=[board, recorder])
    train, validation = tmp_path / "logs" / "train", tmp_path / "logs" / "validation"
    assert train.is_dir() and validation.is_dir()

    scalars = summaries(train, "simple_value")
    assert set(scalars) == {"epoch_loss", "epoch_mae", "epoch_learning_rate"}
    for name in ("loss", "mae"):
        assert sorted(scalars[f"epoch_{name}"]) == [0, 1, 2]
        np.testing.assert_allclose([scalars[f"epoch_{name}"][e] for e in range(3)],
                                   history.history[name], rtol=1e-6)
    np.testing.assert_allclose([scalars["epoch_learning_rate"][e] for e in range(3)],
                               [lr for *_, lr in seen["epochs"]], rtol=1e-6)
    assert scalars["epoch_learning_rate"][2] < scalars["epoch_learning_rate"][0]

    val = summaries(validation, "simple_value")
    for name in ("loss", "mae"):
        np.testing.assert_allclose([val[f"epoch_{name}"][e] for e in range(3)],
                                   history.history[f"val_{name}"], rtol=1e-6)
        # after each validation, at the optimizer's step count
        iterations = [it for _, _, it, _ in seen["epochs"]]
        assert sorted(val[f"evaluation_{name}_vs_iterations"]) == iterations == [4, 8, 12]
        np.testing.assert_allclose(
            [val[f"evaluation_{name}_vs_iterations"][it] for it in iterations],
            history.history[f"val_{name}"], rtol=1e-6)

    histograms = summaries(train, "histo")
    assert set(histograms) == {f"{w.path}/histogram" for w in model.weights}
    for epoch in (0, 2):
        weights = seen["epochs"][epoch][1]
        for path, value in weights.items():
            histo = histograms[f"{path}/histogram"][epoch]
            assert histo.num == value.size
            np.testing.assert_allclose([histo.min, histo.max, histo.sum],
                                       [value.min(), value.max(), value.sum()],
                                       rtol=1e-6, atol=1e-7)
    assert all(sorted(steps) == [0, 2] for steps in histograms.values())

    (keras_summary,) = [v for e in read_events(train) for v in e.summary.value
                        if v.tag == "keras"]
    assert keras_summary.metadata.plugin_data.plugin_name == "graph_keras_model"
    config = json.loads(keras_summary.tensor.string_val[0])
    assert config["class_name"] == "Sequential"


def test_update_freq_batches_and_steps_per_second(tmp_path):
    model, recorder, seen = model_and_recorder(optimizers.Adam(0.01))
    board = callbacks.TensorBoard(log_dir=str(tmp_path), update_freq=3,
                                  write_steps_per_second=True, write_graph=False)
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[board, recorder])
    scalars = summaries(tmp_path / "train", "simple_value")
    assert not os.path.exists(tmp_path / "validation")
    assert sorted(scalars["batch_loss"]) == sorted(scalars["batch_mae"]) == [3, 6]
    for step in (3, 6):                       # the global batch count, from 1
        np.testing.assert_allclose(scalars["batch_loss"][step],
                                   seen["batches"][step - 1]["loss"], rtol=1e-6)
    assert sorted(scalars["batch_steps_per_second"]) == [3, 6]
    assert sorted(scalars["epoch_steps_per_second"]) == [0, 1]
    assert all(v > 0 for tag in ("batch_steps_per_second", "epoch_steps_per_second")
               for v in scalars[tag].values())
    assert "keras" not in summaries(tmp_path / "train", "tensor")

    every = tmp_path / "every"
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0,
              callbacks=[callbacks.TensorBoard(every, update_freq="batch")])
    assert sorted(summaries(every / "train", "simple_value")["batch_loss"]) == [1, 2, 3, 4]


def test_write_images_and_evaluate(tmp_path):
    model, _, _ = model_and_recorder(optimizers.SGD(0.01))
    board = callbacks.TensorBoard(tmp_path, histogram_freq=1, write_images=True)
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0, callbacks=[board])
    images = summaries(tmp_path / "train", "image")
    # Keras's reshaping after a squeeze: kernel (3, 4) -> one 3x4 image; kernel (4, 1) and
    # bias (4,) -> 4x1; bias (1,) -> a scalar, no image
    shapes = {tag: (image.height, image.width) for tag, steps in images.items()
              for image in steps.values()}
    kernel, bias, kernel_1, _ = (w.path for w in model.weights)
    assert shapes == {f"{kernel}/image": (3, 4), f"{bias}/image": (4, 1),
                      f"{kernel_1}/image": (4, 1)}
    loss, mae = model.evaluate(XV, YV, verbose=0,
                               callbacks=[callbacks.TensorBoard(tmp_path / "eval")])
    val = summaries(tmp_path / "eval" / "validation", "simple_value")
    np.testing.assert_allclose(val["evaluation_loss_vs_iterations"][2], loss, rtol=1e-6)
    np.testing.assert_allclose(val["evaluation_mae_vs_iterations"][2], mae, rtol=1e-6)


def test_tensorboard_reads_the_files(tmp_path):
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator")
    model, _, _ = model_and_recorder(optimizers.SGD(0.01))
    history = model.fit(X, Y, batch_size=8, epochs=2, verbose=0, validation_data=(XV, YV),
                        callbacks=[callbacks.TensorBoard(tmp_path, histogram_freq=1)])
    runs = {}
    for run in ("train", "validation"):
        runs[run] = accumulator.EventAccumulator(str(tmp_path / run),
                                                 size_guidance={"histograms": 0, "scalars": 0})
        runs[run].Reload()
    loss = [event.value for event in runs["train"].Scalars("epoch_loss")]
    np.testing.assert_allclose(loss, history.history["loss"], rtol=1e-6)
    val_loss = [event.value for event in runs["validation"].Scalars("epoch_loss")]
    np.testing.assert_allclose(val_loss, history.history["val_loss"], rtol=1e-6)
    assert len(runs["train"].Tags()["histograms"]) == len(model.weights)


def test_options_nbkeras_cannot_honour_and_a_missing_writer(monkeypatch):
    with pytest.raises(ValueError, match="profile_batch"):
        callbacks.TensorBoard(profile_batch=2)
    with pytest.raises(ValueError, match="profile_batch"):
        callbacks.TensorBoard(profile_batch=(2, 4))
    with pytest.raises(ValueError, match="embeddings_freq"):
        callbacks.TensorBoard(embeddings_freq=1)
    with pytest.raises(ValueError, match="update_freq"):
        callbacks.TensorBoard(update_freq="step")
    with pytest.raises(ValueError, match="histogram_freq"):
        callbacks.TensorBoard(histogram_freq=-1)
    board = callbacks.TensorBoard(profile_batch=0, embeddings_metadata={"embedding": "m.tsv"})
    assert board.update_freq == "epoch" and board.log_dir == "logs"
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"nbkeras\[tensorboard\]"):
        callbacks.TensorBoard()
