"""Trainer: compile / fit / evaluate / predict and the single-batch methods, mixed into Model.

A training step runs the model under a GradientTape, adds the regularization losses
(`model.losses`), applies the optimizer and updates the metrics; `train_step(data)` and
`test_step(data)` may be overridden as in Keras.
"""
from __future__ import annotations

import functools
import itertools
import warnings

import numpy as np

from .. import ops
from .. import optimizers as optimizers_module
from ..core.device import current_device, device
from ..tree import leaves as flatten, map_leaves as map_structure, pack_like
from ..core.random import global_generator
from ..core.tape import GradientTape
from ..core.tensor import Tensor
from .compile_utils import CompileLoss, CompileMetrics, flat_outputs
from .data_adapter import ArrayData, make_data, step_count, unpack


def _on_model_device(method):
    """Run a Trainer method on the model's device (that of its weights, else the `nk.device`
    block it was made in), so that batches, losses and metrics meet the weights there (a
    batch moves to the device once, in the first op that reads it; metrics made in compile or
    at the first batch keep their state there)."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        placement = self._home_device()
        if placement is None or placement == current_device():
            return method(self, *args, **kwargs)
        with device(placement):
            return method(self, *args, **kwargs)
    return run


def _keras_jit_compile(model, jit_compile, run_eagerly) -> bool:
    """`compile`'s `jit_compile` as Keras 3 on JAX resolves it (and writes it in the compile
    config): False when run eagerly; "auto" is True unless the model holds a layer Keras's
    XLA cannot run (its random crop, zoom, translation, rotation and shear layers)."""
    from ..layers import RandomCrop, RandomRotation, RandomShear, RandomTranslation, RandomZoom

    if run_eagerly or jit_compile != "auto":
        return bool(jit_compile) and not run_eagerly
    layers, eager_only = [model], (RandomCrop, RandomRotation, RandomShear, RandomTranslation,
                                   RandomZoom)
    while layers:
        layer = layers.pop()
        if isinstance(layer, eager_only):
            return False
        layers.extend(layer._layers)
    return True


class Trainer:
    compiled = False
    stop_training = False

    # ---- compile ------------------------------------------------------------------------------
    @_on_model_device
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True) -> None:
        """Choose the optimizer, the loss of each output (and their weights) and metrics.
        nbkeras always runs eagerly; `run_eagerly`, `steps_per_execution` and `jit_compile` are
        kept for the saved compile config, and `auto_scale_loss` has nothing to scale (no
        float16 policies)."""
        from ..metrics import Mean

        self.optimizer = optimizers_module.get(optimizer)
        names = self._output_names()
        self._compile_loss = CompileLoss(loss, loss_weights, names) if loss is not None else None
        self._compile_metrics = CompileMetrics(metrics, weighted_metrics, names,
                                               self._compile_loss)
        self._loss_tracker = Mean(name="loss")
        self._output_loss_trackers = ({name: Mean(name=f"{name}_loss") for name in names}
                                      if len(names) > 1 else {})
        self._compile_config = dict(optimizer=self.optimizer, loss=loss,
                                    loss_weights=loss_weights, metrics=metrics,
                                    weighted_metrics=weighted_metrics, run_eagerly=run_eagerly,
                                    steps_per_execution=steps_per_execution,
                                    jit_compile=jit_compile)
        self.compiled = True

    def get_compile_config(self) -> dict:
        """The arguments of `compile` (the optimizer with its config), serialized as Keras
        writes them into a `.keras` file's `compile_config`; {} before `compile`."""
        from ..saving.serialization_lib import serialize_keras_object

        if not self.compiled:
            return {}
        config = {**self._compile_config, "jit_compile": _keras_jit_compile(
            self, self._compile_config["jit_compile"], self._compile_config["run_eagerly"])}
        return {key: serialize_keras_object(value) for key, value in config.items()}

    def compile_from_config(self, config: dict) -> None:
        """`compile` with the arguments `get_compile_config()` wrote, then build the
        optimizer's slots for the trainable weights (so saved slots can be loaded), as
        Keras. A model that overrides `compile` is left uncompiled, with Keras's warning."""
        from ..saving.serialization_lib import deserialize_keras_object

        if type(self).compile is not Trainer.compile:
            warnings.warn("`compile()` was not called as part of model loading because the "
                          "model's `compile()` method is custom. All subclassed Models that "
                          "have `compile()` overridden should also override "
                          "`get_compile_config()` and `compile_from_config(config)`. "
                          "Alternatively, you can call `compile()` manually after loading.",
                          stacklevel=2)
            return
        self.compile(**{key: deserialize_keras_object(value) for key, value in config.items()})
        if self.built:
            self.optimizer.build(self.trainable_weights)

    def _output_names(self) -> list[str]:
        structure = getattr(self, "_output_structure", None)
        if isinstance(structure, dict):
            return list(structure)
        outputs = getattr(self, "_model_outputs", None)
        if outputs and len(outputs) > 1:
            return [t.name or f"output_{i}" for i, t in enumerate(outputs)]
        return ["output"]

    def _require_compiled(self, who: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"{type(self).__name__} '{self.name}': call compile() before "
                               f"{who}()")

    @property
    def metrics(self) -> list:
        """The loss tracker(s) and the compiled metrics."""
        if not self.compiled:
            return []
        return ([self._loss_tracker] + list(self._output_loss_trackers.values())
                + self._compile_metrics.all)

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    # ---- steps ------------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus the model's regularization losses (a scalar Tensor)."""
        names = self._output_names()
        total = None
        if self._compile_loss is not None:
            total, parts = self._compile_loss(flat_outputs(y, names, "y"),
                                              flat_outputs(y_pred, names, "The model output"),
                                              sample_weight)
            self._last_output_losses = parts
        for extra in self.losses:
            total = extra if total is None else ops.add(total, extra)
        if total is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': no loss to minimize: "
                             "compile with a loss or add losses in call()")
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None) -> dict:
        names = self._output_names()
        predictions = flat_outputs(y_pred, names, "The model output")
        targets = flat_outputs(y, names, "y") if y is not None else [None] * len(names)
        self._compile_metrics.update_state(targets, predictions, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict:
        """Each metric's result by name: a float, or an array for a vector result (F1Score
        with average=None, several thresholds); a dict result adds its entries (as Keras)."""
        results = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                results.update({k: _log_value(v) for k, v in result.items()})
            else:
                results[metric.name] = _log_value(result)
        return results

    def _track_loss(self, loss, x) -> None:
        batch = len(flatten(x)[0])
        self._loss_tracker.update_state(loss, sample_weight=batch)
        for name, value in getattr(self, "_last_output_losses", {}).items():
            if name in self._output_loss_trackers:
                self._output_loss_trackers[name].update_state(value, sample_weight=batch)

    def train_step(self, data) -> dict:
        x, y, sample_weight = unpack(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
            scaled_loss = self.optimizer.scale_loss(loss)    # as Keras: loss scaling
        weights = self.trainable_weights
        self.optimizer.apply(tape.gradient(scaled_loss, weights), weights)
        self._track_loss(loss, x)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data) -> dict:
        x, y, sample_weight = unpack(data)
        y_pred = self(x, training=False)
        if self._compile_loss is not None or self.losses:
            self._track_loss(self.compute_loss(x, y, y_pred, sample_weight, training=False), x)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = unpack(data)
        return self(x, training=False)

    # ---- loops ------------------------------------------------------------------------------
    @_on_model_device
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs; returns the History (per-epoch loss, metrics, val_*)."""
        from ..callbacks import CallbackList

        self._require_compiled("fit")
        steps_per_epoch = step_count(steps_per_epoch, "fit", "steps_per_epoch")
        validation_steps = step_count(validation_steps, "fit", "validation_steps")
        if class_weight is not None:
            sample_weight = _class_sample_weights(y, class_weight, sample_weight)
        data = make_data(x, y, sample_weight, batch_size, shuffle, steps_per_epoch)
        validation = None
        if validation_data is not None:
            validation = make_data(*unpack(validation_data) if isinstance(validation_data, tuple)
                                   else (validation_data,),
                                   batch_size=validation_batch_size or batch_size,
                                   steps=validation_steps, who="fit (validation_data)")
        elif validation_split:
            if not isinstance(data, ArrayData):
                raise ValueError("fit: validation_split needs array inputs; pass "
                                 "validation_data for generators")
            data, validation = data.split(validation_split)
        steps = steps_per_epoch or data.steps
        callbacks = CallbackList(callbacks, model=self, add_history=True,
                                 add_progbar=_verbosity(verbose) != 0,
                                 verbose=_verbosity(verbose), epochs=epochs, steps=steps)
        shuffle_seed = int(global_generator().integers(2**63))
        self.stop_training = False
        callbacks.on_train_begin()
        epoch_logs: dict = {}
        for epoch in range(self._resume_epoch(initial_epoch), epochs):
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            logs = {}
            for step, batch in enumerate(itertools.islice(data.batches([shuffle_seed, epoch]),
                                                          steps_per_epoch)):
                callbacks.on_train_batch_begin(step)
                if step == 0:
                    self._compile_first_calls(batch, training=True)
                logs = self.train_step(batch)
                callbacks.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            if not logs:
                warnings.warn("fit: the input ran out of data; give steps_per_epoch or a "
                              "repeating generator", stacklevel=2)
                break
            epoch_logs = dict(logs)
            if validation is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_data(validation, validation_steps, callbacks)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        if epochs > 0:      # with use_ema, the weights become their moving averages (as Keras)
            self.optimizer.finalize_variable_values(self.trainable_weights)
        callbacks.on_train_end(epoch_logs)
        return self.history

    def _compile_first_calls(self, batch, training: bool) -> None:
        """Before a built CPU model's first batch in training (or in inference), compile the
        kernels of a step on the batch's first two samples on every core, so a fresh
        process's first step is not one compile after another (utils/warmup.py); once per
        model and mode."""
        done = self.__dict__.setdefault("_first_calls_compiled", set())
        mode = "training" if training else "inference"
        if mode in done:
            return
        done.update(("training", "inference") if training else ("inference",))
        if self.built and current_device().startswith("cpu"):
            from ..utils.warmup import compile_first_calls

            x, y, _ = unpack(batch)
            compile_first_calls(self, *(map_structure(_first_two, t) for t in (x, y)),
                                training=training, batch_size=_batch_of(x))

    def _resume_epoch(self, initial_epoch: int) -> int:
        """BackupAndRestore may have restored a later epoch."""
        resumed = getattr(self, "_initial_epoch_from_backup", None)
        self._initial_epoch_from_backup = None
        return initial_epoch if resumed is None else resumed

    @_on_model_device
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss and metrics over the data: a scalar, a list, or a dict."""
        from ..callbacks import CallbackList

        self._require_compiled("evaluate")
        steps = step_count(steps, "evaluate", "steps")
        data = make_data(x, y, sample_weight, batch_size, steps=steps, who="evaluate")
        callback_list = CallbackList(callbacks, model=self, add_progbar=_verbosity(verbose) == 1,
                                     verbose=_verbosity(verbose), epochs=1,
                                     steps=steps or data.steps, mode="evaluate")
        logs = self._evaluate_data(data, steps, callback_list)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_data(self, data, steps, callbacks) -> dict:
        self.reset_metrics()
        if callbacks is not None:
            callbacks.on_test_begin()
        logs = {}
        for step, batch in enumerate(itertools.islice(data.batches(), steps)):
            if callbacks is not None:
                callbacks.on_test_batch_begin(step)
            if step == 0:
                self._compile_first_calls(batch, training=False)
            logs = self.test_step(batch)
            if callbacks is not None:
                callbacks.on_test_batch_end(step, logs)
        if callbacks is not None:
            callbacks.on_test_end(logs)
        return logs

    @_on_model_device
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs over x, concatenated across batches, as numpy arrays."""
        from ..callbacks import CallbackList
        from ..models.fusion import reused_buffers

        steps = step_count(steps, "predict", "steps")
        data = make_data(x, batch_size=batch_size, steps=steps, who="predict")
        callback_list = CallbackList(callbacks, model=self, add_progbar=_verbosity(verbose) == 1,
                                     verbose=_verbosity(verbose), epochs=1,
                                     steps=steps or data.steps, mode="predict")
        callback_list.on_predict_begin()
        outputs = []
        with reused_buffers():              # the plan's activation buffers, batch to batch
            for step, batch in enumerate(itertools.islice(data.batches(), steps)):
                callback_list.on_predict_batch_begin(step)
                if step == 0:
                    self._compile_first_calls(batch, training=False)
                y = self.predict_step(batch)
                outputs.append([np.asarray(t) for t in flatten(y)])
                callback_list.on_predict_batch_end(step, {"outputs": y})
                structure = y
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("predict: the input yielded no batches")
        merged = [np.concatenate(parts, axis=0) for parts in zip(*outputs)]
        return pack_like(structure, merged) if isinstance(structure, (list, tuple, dict)) \
            else merged[0]

    # ---- single batches ------------------------------------------------------------------------
    @_on_model_device
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        self._require_compiled("train_on_batch")
        if class_weight is not None:
            sample_weight = _class_sample_weights(y, class_weight, sample_weight)
        self.reset_metrics()
        batch = next(make_data(x, y, sample_weight, _batch_of(x)).batches())
        self._compile_first_calls(batch, training=True)
        return _as_result(self.train_step(batch), return_dict)

    @_on_model_device
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        self.reset_metrics()
        batch = next(make_data(x, y, sample_weight, _batch_of(x)).batches())
        self._compile_first_calls(batch, training=False)
        return _as_result(self.test_step(batch), return_dict)

    @_on_model_device
    def predict_on_batch(self, x):
        self._compile_first_calls((x,), training=False)
        y = self(x, training=False)
        return pack_like(y, [np.asarray(t) for t in flatten(y)]) \
            if isinstance(y, (list, tuple, dict)) else np.asarray(y)


def _first_two(a):
    """The first two samples of a batch leaf (a scalar or None stays)."""
    return a[:2] if getattr(a, "ndim", 0) else a


def _verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto'; received {verbose!r}")
    return verbose


def _batch_of(x) -> int:
    return len(flatten(x)[0])


def _as_result(logs: dict, return_dict: bool):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _class_sample_weights(y, class_weight: dict, sample_weight):
    """Per-sample weights class_weight[label] (labels from ints or from one-hot rows),
    multiplied into any given sample weights."""
    if isinstance(y, (list, tuple, dict)):
        raise ValueError("fit: class_weight is only supported for models with one output")
    labels = np.asarray(y.numpy() if isinstance(y, Tensor) else y)
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64)
    missing = {int(c) for c in np.unique(labels)} - set(class_weight)
    if missing:
        raise ValueError(f"fit: class_weight has no entry for classes {sorted(missing)}")
    weights = np.array([class_weight[c] for c in labels], dtype=np.float64)
    return weights if sample_weight is None else weights * np.asarray(sample_weight)


def _log_value(value):
    array = np.asarray(value)
    return float(array) if array.ndim == 0 else array
