"""`warmup`: compile the kernels a model needs before its first `fit` or `predict`.

Numba compiles each kernel on its first call and keeps the machine code in its disk cache, so
a later process only loads it (well under a second) while the first one pays the compile
(seconds for a small CNN). `warmup(model)` makes those first calls now, on a tiny batch, so the
cost is paid when the user chooses and shows in no epoch time. Either way the kernels are first
compiled concurrently, one worker process per core (kernels/cpu/concurrent_compile.py):
`warmup` does it, and `fit`, `evaluate` and `predict` do it before a model's first batch
(`compile_first_calls`). Both leave the model as they found it: weights and batch-norm
statistics, the optimizer and the random streams are untouched or restored.
"""
from __future__ import annotations

import contextlib
import time
import types

import numpy as np

from ..core.keras_tensor import KerasTensor
from ..tree import leaves as flatten, map_leaves as map_structure
from ..core.random import SeedGenerator, global_generator
from ..core.tape import GradientTape
from ..core.tensor import Tensor, Variable
from ..layers.core.lambda_layer import Lambda
from ..ops import convert_to_tensor


# the batches whose kernels the dry run finds, where host code picks a kernel by the size of
# its arrays (numpy below a size): those of batches up to this many samples, or of the real
# batch where it is larger (kernels/cpu/concurrent_compile.py)
LARGEST_BATCH = 1024


def warmup(model, x=None, y=None, batch_size: int = 2, training: bool = True) -> float:
    """Compile (or load from Numba's cache) every kernel of `model`'s inference and, with
    `training`, of its training step: the forward pass in training mode, the gradient with
    respect to the trainable weights and, once compiled, the optimizer's update (a copy of the
    optimizer on copies of the weights) and, given targets `y`, the loss; for batches of up
    to LARGEST_BATCH samples (a larger one may compile a kernel for large arrays at its first
    step). `x`: a sample batch (default: `batch_size` standard-normal samples shaped like the
    model's inputs). Returns the seconds it took."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"warmup: batch_size must be a positive integer; received "
                         f"{batch_size!r}")
    start = time.perf_counter()
    x = _sample_inputs(model, batch_size) if x is None else map_structure(convert_to_tensor, x)
    if not model.built:
        model(x)
    from ..kernels.cpu.concurrent_compile import compile_concurrently   # imports Numba
    with _model_unchanged(model):
        compile_concurrently(lambda: _first_calls(model, x, y, training),  # on every core
                             size_scale=_size_scale(x, LARGEST_BATCH))
        _first_calls(model, x, y, training)       # now loads them from Numba's disk cache
    return time.perf_counter() - start


def compile_first_calls(model, x, y=None, training: bool = True,
                        batch_size: int = LARGEST_BATCH) -> None:
    """Compile the CPU kernels of `model`'s first calls on the batch `x` (and `y`) on every
    core (a dry run: kernels/cpu/concurrent_compile.py), leaving the model, its optimizer,
    its random streams and the global one as they were; `fit`, `evaluate` and `predict` call
    it before a built model's first batch, with a sample of it (x) and its size
    (`batch_size`). Errors are left to the real calls. Does nothing when the dry run would
    run the user's own code (a custom layer, model, Lambda or loss): that code must never see
    an extra call."""
    if not _only_nbkeras_code(model):
        return
    from ..kernels.cpu.concurrent_compile import compile_concurrently   # imports Numba
    with _model_unchanged(model):
        compile_concurrently(lambda: _first_calls(model, map_structure(convert_to_tensor, x),
                                                  y, training),
                             size_scale=_size_scale(x, max(batch_size, LARGEST_BATCH)))


def _size_scale(x, batch_size: int) -> float:
    """How many times larger than the sample batch x's arrays a batch of `batch_size`
    samples makes them."""
    leaves = flatten(x)
    samples = leaves[0].shape[0] if leaves and getattr(leaves[0], "ndim", 0) else 1
    return batch_size / max(1, samples)


def _only_nbkeras_code(model) -> bool:
    """Whether the model, every layer in it and every loss it was compiled with are
    nbkeras's own classes and functions, with no Lambda among them."""
    def ours(obj) -> bool:
        kind = obj if isinstance(obj, types.FunctionType) else type(obj)
        return getattr(kind, "__module__", "").startswith("nbkeras.") and kind is not Lambda

    compile_loss = getattr(model, "_compile_loss", None)
    losses = [getattr(loss, "fn", loss) for loss in getattr(compile_loss, "losses", [])
              if loss is not None]
    pending, seen = [model], set()
    while pending:
        layer = pending.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if not ours(layer):
            return False
        pending.extend(getattr(layer, "_layers", []))
    return all(ours(loss) for loss in losses)


@contextlib.contextmanager
def _model_unchanged(model):
    """Restores, on exit, the model's weights (batch-norm statistics included), the counters
    of its layers' random streams and the global random generator."""
    saved_weights = model.get_weights()
    saved_streams = [(g, g.counter) for g in _seed_generators(model)]
    saved_global = global_generator().bit_generator.state
    try:
        yield
    finally:
        model.set_weights(saved_weights)
        for generator, counter in saved_streams:
            generator.counter = counter
        global_generator().bit_generator.state = saved_global


def _first_calls(model, x, y, training: bool) -> None:
    """The model's inference on `x` and, with `training`, a training step's kernels."""
    model(x, training=False)
    if training:
        _training_step(model, x, y)


def _sample_inputs(model, batch_size: int):
    """Standard-normal tensors in the structure, shapes and dtypes of the model's symbolic
    inputs, batch `batch_size`."""
    try:
        structure = model.input
    except (AttributeError, ValueError):
        structure = None
    tensors = flatten(structure)
    if not tensors or any(not isinstance(t, KerasTensor) or None in t.shape[1:]
                          for t in tensors):
        raise ValueError(f"warmup: model '{model.name}' has no inputs of known shape; pass a "
                         f"sample batch as `x`")
    rng = np.random.default_rng(0)
    return map_structure(lambda t: convert_to_tensor(
        rng.standard_normal((batch_size, *t.shape[1:])).astype(t.dtype)), structure)


def _seed_generators(layer, seen=None) -> list[SeedGenerator]:
    """The SeedGenerators held by `layer` and its sublayers (the noise layers' streams)."""
    seen = set() if seen is None else seen
    if id(layer) in seen:
        return []
    seen.add(id(layer))
    found = [v for v in vars(layer).values() if isinstance(v, SeedGenerator)]
    for sublayer in getattr(layer, "_layers", []):
        found += _seed_generators(sublayer, seen)
    return found


def _training_step(model, x, y) -> None:
    """A training step's kernels on `x` (and `y`), leaving weights and optimizer unchanged:
    the caller restores the weights; the update runs on a copy of the optimizer."""
    compiled = getattr(model, "compiled", False)
    weights = model.trainable_weights
    with GradientTape() as tape:
        y_pred = model(x, training=True)
        if compiled and y is not None:
            loss = model.compute_loss(x, map_structure(convert_to_tensor, y), y_pred)
        else:
            loss = sum(t.sum() for t in flatten(y_pred) if isinstance(t, Tensor)
                       and np.issubdtype(t.dtype, np.floating))
    grads = tape.gradient(loss, weights)
    if compiled and weights:
        optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
        copies = [Variable(w.numpy().copy(), name=w.name) for w in weights]
        optimizer.apply([np.zeros(w.shape, w.dtype) if g is None else g
                         for g, w in zip(grads, copies)], copies)
