"""TensorBoard: event files for TensorBoard, as `keras.callbacks.TensorBoard`, written with
tensorboardX (the optional extra `nbkeras[tensorboard]`).

Keras's layout: two runs, `log_dir/train` and `log_dir/validation`. Per epoch (step = the
epoch, from 0) the train run gets `epoch_<name>` for the training logs plus
`epoch_learning_rate` (and `epoch_steps_per_second` when asked), the validation run gets
`epoch_<name>` for the `val_*` logs without their prefix. After each evaluation (fit's
validation or `evaluate`) the validation run gets `evaluation_<name>_vs_iterations` at step
`optimizer.iterations`. With an integer `update_freq`, every `update_freq`-th training batch
writes `batch_<name>` (and `batch_steps_per_second`) at the global batch count, from 1.
Every `histogram_freq` epochs each layer's weights go to `<weight path>/histogram` (and
`<weight path>/image` with `write_images`). tensorboardX writes in a background thread; the
files are complete when fit, evaluate or predict returns (the callback closes its writers).
"""
from __future__ import annotations

import json
import os
import time
import warnings

import numpy as np

from .. import config as nk_config
from .callback import Callback
from .learning_rates import log_learning_rates


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as error:
        raise ImportError("The TensorBoard callback writes its event files with tensorboardX, "
                          "which is not installed. Install the extra: "
                          "`pip install nbkeras[tensorboard]` (or `pip install tensorboardX`)."
                          ) from error
    return SummaryWriter


class TensorBoard(Callback):
    """Write losses, metrics, the learning rate and (optionally) weight histograms and images
    as TensorBoard event files; view them with `tensorboard --logdir=<log_dir>`.

    Args:
        log_dir: the folder of the runs `train` and `validation`.
        histogram_freq: every how many epochs to write weight histograms (0: never).
        write_graph: write the model's config as the "keras" summary of the train run at
            step 0 (what Keras 3 writes; TensorBoard's graph plugin draws the conceptual
            graph from it) when the model is a Sequential or Functional model. nbkeras has
            no op graph to write.
        write_images: with histograms, also write each weight as an image (Keras's
            reshaping; images of one weight are tiled into one picture by tensorboardX).
        write_steps_per_second: also write the training steps per second.
        update_freq: "epoch", "batch" (= 1), or an integer n: also write the training logs
            every n batches.
        profile_batch: must be 0; nbkeras has no profiler to trace batches with
            (a ValueError otherwise).
        embeddings_freq: must be 0; nbkeras does not write TensorBoard projector
            checkpoints (a ValueError otherwise).
        embeddings_metadata: accepted for Keras's signature and ignored (it only serves
            `embeddings_freq`).

    Raises:
        ImportError: tensorboardX is missing (install `nbkeras[tensorboard]`).
    """

    def __init__(self, log_dir="logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False,
                 update_freq="epoch", profile_batch=0, embeddings_freq: int = 0,
                 embeddings_metadata=None):
        super().__init__()
        self._writer_class = _summary_writer_class()
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int)
                                           and not isinstance(update_freq, bool)
                                           and update_freq > 0):
            raise ValueError("TensorBoard: `update_freq` must be 'epoch', 'batch' or a positive "
                             f"integer; received update_freq={update_freq!r}")
        if not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError("TensorBoard: `histogram_freq` must be a non-negative integer; "
                             f"received histogram_freq={histogram_freq!r}")
        if profile_batch not in (0, None, "0", (0, 0), [0, 0]):
            raise ValueError("TensorBoard: `profile_batch` is not supported by nbkeras (there "
                             "is no profiler to trace batches with); it must be 0. Received: "
                             f"profile_batch={profile_batch!r}")
        if embeddings_freq:
            raise ValueError("TensorBoard: `embeddings_freq` is not supported by nbkeras (no "
                             "projector checkpoints); it must be 0. Received: "
                             f"embeddings_freq={embeddings_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self.profile_batch = 0
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers: dict = {}
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0
        self._epoch_start_time = 0.0
        self._batch_start_time = 0.0

    # ---- writers ---------------------------------------------------------------------------

    def _writer(self, run: str):
        if run not in self._writers:
            self._writers[run] = self._writer_class(
                logdir=self._train_dir if run == "train" else self._val_dir)
        return self._writers[run]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def set_model(self, model) -> None:
        """Set the model; with `write_graph`, write its config to the train run."""
        self._close_writers()
        super().set_model(model)
        if self.write_graph:
            self._write_keras_model_summary()

    def _write_keras_model_summary(self) -> None:
        """Keras's `keras_model_summary("keras", model, step=0)`: the model's JSON as a string
        tensor for the "graph_keras_model" plugin."""
        from ..models.functional import Functional
        from ..models.sequential import Sequential

        if not isinstance(self.model, (Functional, Sequential)):
            return
        try:
            json_string = json.dumps({"class_name": type(self.model).__name__,
                                      "config": self.model.get_config()}, default=str)
        except Exception as exc:  # noqa: BLE001 - Keras ignores a model that cannot serialize
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {exc}")
            return
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto
        from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(
            plugin_name="graph_keras_model", content=b"1"))
        tensor = TensorProto(dtype=7, tensor_shape=TensorShapeProto(),   # 7: DT_STRING
                             string_val=[json_string.encode()])
        summary = Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
        writer = self._writer("train")
        writer._get_file_writer().add_summary(summary, 0)

    def _scalars(self, run: str, prefix: str, logs: dict, step: int) -> None:
        writer = self._writer(run)
        for name, value in logs.items():
            value = np.asarray(value)
            if value.size == 1:              # vector results (F1Score(average=None)) are no scalars
                writer.add_scalar(f"{prefix}{name}", float(value.reshape(())), global_step=step)

    # ---- hooks -----------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq != 0:
            return
        step = self._global_train_batch
        if self.write_steps_per_second:
            seconds = max(time.time() - self._batch_start_time, 1e-12)
            self._writer("train").add_scalar("batch_steps_per_second", 1.0 / seconds,
                                             global_step=step)
        if isinstance(logs, dict):
            self._scalars("train", "batch_", logs, step)

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "iterations") and logs:
            self._scalars("validation", "evaluation_",
                          {f"{name}_vs_iterations": value for name, value in logs.items()},
                          int(np.asarray(optimizer.iterations)))
        if self.params.get("mode") == "evaluate":    # no on_train_end follows to close them
            self._close_writers()

    def on_predict_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._previous_epoch_iterations = int(np.asarray(self.model.optimizer.iterations))
            self._epoch_start_time = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)

    # ---- epoch summaries -------------------------------------------------------------------

    def _collect_learning_rate(self, logs: dict) -> dict:
        optimizer = getattr(self.model, "optimizer", None)
        return logs if optimizer is None else log_learning_rates(optimizer, logs)

    def _compute_steps_per_second(self) -> float:
        iterations = int(np.asarray(self.model.optimizer.iterations))
        seconds = max(time.time() - self._epoch_start_time, 1e-12)
        return (iterations - self._previous_epoch_iterations) / seconds

    def _log_epoch_metrics(self, epoch: int, logs) -> None:
        if not logs:
            return
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        train_logs = self._collect_learning_rate(train_logs)
        if self.write_steps_per_second:
            train_logs["steps_per_second"] = self._compute_steps_per_second()
        if train_logs:
            self._scalars("train", "epoch_", train_logs, epoch)
        if val_logs:
            self._scalars("validation", "epoch_", val_logs, epoch)

    def _log_weights(self, epoch: int) -> None:
        """A histogram (and with `write_images` an image) of each layer's weights."""
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.path.replace(":", "_")
                values = np.asarray(weight.numpy(), dtype=np.float64)
                writer.add_histogram(f"{name}/histogram", values, global_step=epoch,
                                     bins="tensorflow")
                if self.write_images:
                    self._log_weight_as_image(values, f"{name}/image", epoch)

    def _log_weight_as_image(self, weight: np.ndarray, tag: str, epoch: int) -> None:
        """Keras's reshaping of a weight into NHWC images: a bias (1, n, 1, 1), a Dense kernel
        (1, short, long, 1), a 3-D kernel one image per channel; others only when their last
        axis can be 1, 3 or 4 colour channels."""
        image = np.squeeze(weight)
        if image.ndim == 1:
            image = image.reshape(1, image.shape[0], 1, 1)
        elif image.ndim == 2:
            if image.shape[0] > image.shape[1]:
                image = image.T
            image = image.reshape(1, image.shape[0], image.shape[1], 1)
        elif image.ndim == 3:
            if nk_config.image_data_format() == "channels_last":
                image = np.transpose(image, (2, 0, 1))
            image = image.reshape(*image.shape, 1)
        if image.ndim == 4 and image.shape[-1] in (1, 3, 4):
            self._writer("train").add_images(tag, image.astype(np.float32), global_step=epoch,
                                             dataformats="NHWC")
