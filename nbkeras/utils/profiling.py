"""`profile`: where a training step spends its time, layer by layer.

Each layer's call is timed on its real input (the model's plan, models/executor.py, runs in
training mode with each call made here: the layer chain of a Sequential, the recorded calls
of a Functional); its backward is the time of `tape.gradient` of the call's output, seeded
with a random cotangent, with respect to the call's float inputs and the layer's trainable
weights, as in a training step: never with respect to the model's own inputs (the data), so a
first convolution skips its input gradient here as it does in `fit`. A compiled model adds a
loss row (`compute_loss` and its gradient) and an optimizer row (one step of a fresh copy of
the optimizer on copies of the weights). The model's weights are restored afterwards.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np

from ..core.dtype import is_float
from ..tree import leaves as flatten, map_leaves as map_structure
from ..core.tape import GradientTape
from ..core.tensor import Tensor, Variable
from ..layers.convolutional.conv import BaseConv
from ..layers.convolutional.conv_transpose import BaseConvTranspose
from ..layers.convolutional.depthwise_conv import BaseDepthwiseConv
from ..layers.convolutional.separable_conv import BaseSeparableConv
from ..layers.core.dense import Dense
from ..layers.layer import Layer
from ..layers.normalization.batch_normalization import BatchNormalization
from ..layers.normalization.group_normalization import GroupNormalization
from ..layers.normalization.layer_normalization import LayerNormalization
from ..layers.pooling.base_global_pooling import BaseGlobalPooling
from ..layers.pooling.base_pooling import BasePooling
from ..ops import convert_to_tensor

NORMALIZATION_FLOPS_PER_ELEMENT = 8   # mean 1, variance 3, normalize 2, scale and shift 2


def layer_flops(layer, inputs: list, outputs: list) -> int | None:
    """Forward FLOPs of one call of `layer` on arrays shaped like `inputs` giving `outputs`
    (a multiply-add counts 2; bias and activation are not counted); None when unknown."""
    x_size = sum(int(np.prod(t.shape)) for t in inputs)
    y_size = sum(int(np.prod(t.shape)) for t in outputs)
    if isinstance(layer, Dense):                  # kernel (in, units)
        return 2 * y_size * layer.kernel.shape[0]
    if isinstance(layer, BaseConv):               # kernel (*k, in / groups, filters)
        return 2 * y_size * int(np.prod(layer.kernel.shape[:-1]))
    if isinstance(layer, BaseConvTranspose):      # kernel (*k, filters, in): scatter per input
        return 2 * x_size * int(np.prod(layer.kernel.shape[:-1]))
    if isinstance(layer, BaseDepthwiseConv):      # kernel (*k, in, multiplier)
        return 2 * y_size * int(np.prod(layer.kernel.shape[:-2]))
    if isinstance(layer, BaseSeparableConv):      # depthwise (*k, in, m), pointwise (.., in*m, f)
        *window, channels, multiplier = layer.depthwise_kernel.shape
        depthwise_size = y_size // layer.pointwise_kernel.shape[-1] * channels * multiplier
        return 2 * depthwise_size * (int(np.prod(window)) + layer.pointwise_kernel.shape[-1])
    if isinstance(layer, BasePooling):
        return y_size * int(np.prod(layer.pool_size))
    if isinstance(layer, BaseGlobalPooling):
        return x_size
    if isinstance(layer, (BatchNormalization, LayerNormalization, GroupNormalization)):
        return NORMALIZATION_FLOPS_PER_ELEMENT * x_size
    return None


def profile(model, x, y=None, batch_size: int | None = None, repeats: int = 5,
            print_fn: Callable[[str], None] | None = print) -> list[dict]:
    """Time one training step of `model` on the first `batch_size` samples of `x`, `y` (None:
    all of them), layer by layer: the median of `repeats` timed runs after a warm-up run.
    Prints a table (unless `print_fn` is None) and returns one dict per layer call (then the
    loss and optimizer rows when compiled and `y` is given) with keys `layer`, `type`,
    `forward_s`, `backward_s` (None without a gradient), `share` (of the step's total time),
    `flops` (forward, whole batch; None when unknown) and `gflops_per_s` (forward plus backward,
    taking a backward as 2x the forward FLOPs for a layer with weights, else 1x)."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"profile: repeats must be a positive integer; received {repeats!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"profile: batch_size must be a positive integer or None; received "
                         f"{batch_size!r}")
    x = map_structure(lambda a: convert_to_tensor(a[:batch_size]), x)
    data = {id(t) for t in flatten(x)}      # the model's inputs: no gradient, as in fit
    y = None if y is None else map_structure(lambda a: a[:batch_size], y)
    if not model.built:
        model(x)
    saved = model.get_weights()             # training calls move BatchNormalization statistics
    rng = np.random.default_rng(0)
    rows: list[dict] = []

    def run(layer, args: tuple, kwargs: dict):
        row, output = _profile_call(layer, args, kwargs, repeats, rng, data)
        rows.append(row)
        return output

    try:
        y_pred = _replay(model, x, run)
        if getattr(model, "compiled", False) and y is not None:
            rows.append(_profile_loss(model, x, y, y_pred, repeats))
            rows.append(_profile_optimizer(model, repeats, rng))
    finally:
        model.set_weights(saved)
    total = sum(_seconds(row) for row in rows)
    for row in rows:
        row["share"] = _seconds(row) / total if total > 0 else 0.0
    if print_fn is not None:
        _print_table(model, rows, print_fn)
    return rows


def _replay(model, x, run):
    """Run `model` on `x` in training mode one layer (or op) call at a time, each made by
    `run(layer, args, kwargs)`: a Sequential or Functional model runs its plan (the models'
    executor) step by step, unfused; a subclassed model is one call."""
    if hasattr(model, "_execute"):
        return model._execute(x, training=True, call=run)
    return run(model, (x,), {"training": True})


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()                                       # warm-up: builds, compiles the kernels
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _float_tensors(structure) -> list[Tensor]:
    return [t for t in flatten(structure) if isinstance(t, Tensor) and is_float(t.data.dtype)]


def _gradient_time(forward: Callable[[], object], watched: list, sources: list, repeats: int,
                   rng: np.random.Generator) -> float | None:
    """Median time of `tape.gradient` of `forward()`'s float outputs (seeded with random
    cotangents) with respect to `sources`, `watched` tensors watched; None if no gradient."""
    times, cotangents = [], None
    for _ in range(repeats + 1):               # the first run is a warm-up
        with GradientTape() as tape:
            tape.watch(watched)
            outputs = _float_tensors(forward())
        if not outputs or not sources:
            return None
        if cotangents is None:
            cotangents = [rng.standard_normal(t.shape).astype(t.data.dtype) for t in outputs]
        start = time.perf_counter()
        tape.gradient(outputs, sources, output_gradients=cotangents)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def _profile_call(layer, args: tuple, kwargs: dict, repeats: int, rng,
                  data: set) -> tuple[dict, object]:
    """The row of one layer (or op) call, and the call's output; no gradient flows to the
    tensors whose ids are in `data`."""
    def call():
        return layer(*args, **kwargs)

    output = call()
    forward = _median_time(call, repeats)
    inputs = [t for t in _float_tensors((args, kwargs)) if id(t) not in data]
    weights = list(layer.trainable_weights) if isinstance(layer, Layer) else []
    backward = _gradient_time(call, inputs, inputs + weights, repeats, rng)
    flops = layer_flops(layer, [t for t in flatten((args, kwargs)) if hasattr(t, "shape")],
                        flatten(output))
    seconds = forward + (backward or 0.0)
    backward_factor = 0 if backward is None else 2 if weights else 1
    step_flops = None if flops is None else flops * (1 + backward_factor)
    row = {"layer": getattr(layer, "name", None) or type(layer).__name__.lower(),
           "type": type(layer).__name__, "forward_s": forward, "backward_s": backward,
           "flops": flops,
           "gflops_per_s": None if step_flops is None or seconds <= 0 else
           step_flops / seconds / 1e9}
    return row, output


def _profile_loss(model, x, y, y_pred, repeats: int) -> dict:
    """The row of the compiled loss: `compute_loss` and its gradient w.r.t. the predictions."""
    predictions = _float_tensors(y_pred)

    def loss():
        return model.compute_loss(x, y, y_pred)

    backward = _gradient_time(loss, predictions, predictions, repeats, np.random.default_rng(0))
    return {"layer": "loss", "type": "compute_loss", "forward_s": _median_time(loss, repeats),
            "backward_s": backward, "flops": None, "gflops_per_s": None}


def _profile_optimizer(model, repeats: int, rng) -> dict:
    """The row of one optimizer step, timed on a fresh copy of the optimizer updating copies
    of the trainable weights (so neither the model nor its optimizer change)."""
    optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
    weights = [Variable(w.numpy().copy(), name=w.name) for w in model.trainable_weights]
    grads = [1e-3 * rng.standard_normal(w.shape).astype(w.dtype) for w in weights]
    seconds = _median_time(lambda: optimizer.apply(grads, weights), repeats) if weights else 0.0
    return {"layer": "optimizer", "type": type(optimizer).__name__, "forward_s": seconds,
            "backward_s": None, "flops": None, "gflops_per_s": None}


def _seconds(row: dict) -> float:
    return row["forward_s"] + (row["backward_s"] or 0.0)


def _print_table(model, rows: list[dict], print_fn) -> None:
    widths = (36, 12, 12, 8, 10, 10)
    header = ("Layer (type)", "Forward ms", "Backward ms", "Share", "MFLOP", "GFLOP/s")

    def line(cells) -> str:
        return cells[0][:widths[0]].ljust(widths[0]) + "".join(
            str(c).rjust(w) for c, w in zip(cells[1:], widths[1:]))

    def number(value, scale: float, digits: int) -> str:
        return "-" if value is None else f"{value * scale:.{digits}f}"

    print_fn(f'Profile of "{model.name}" (one training step, median times)')
    print_fn(line(header))
    print_fn("-" * sum(widths))
    for row in rows:
        print_fn(line((f"{row['layer']} ({row['type']})", number(row["forward_s"], 1e3, 3),
                       number(row["backward_s"], 1e3, 3), f"{row['share']:.1%}",
                       number(row["flops"], 1e-6, 2), number(row["gflops_per_s"], 1, 2))))
    print_fn("-" * sum(widths))
    forward = sum(row["forward_s"] for row in rows)
    backward = sum(row["backward_s"] or 0.0 for row in rows)
    known = [row["flops"] for row in rows if row["flops"] is not None]
    print_fn(line(("Total", number(forward, 1e3, 3), number(backward, 1e3, 3),
                   "100.0%" if rows else "-", number(sum(known) if known else None, 1e-6, 2),
                   "")))
