"""GradientTape: records the ops run inside it and differentiates them in reverse.

Only ops with at least one tracked input are recorded (a watched Tensor, a trainable
Variable, or an earlier recorded output); without an active tape nothing is saved.

A VJP may hand on a cotangent unmade, as a DeferredGradient: the op that produced the tensor
may make it inside its own VJP (an op whose `takes_deferred_gradients` is True, as the
convolution takes max pooling's, making the unpooled gradient a block of images at a time);
for every other use (another op's VJP, a sum with a second cotangent, a source's gradient)
the tape makes it first.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from .device import kernels_for
from .dtype import is_float
from ..tree import leaves as flatten, pack_like
from .tensor import Tensor, Variable

_active_tapes: list["GradientTape"] = []
_paused = [0]


class DeferredGradient(ABC):
    """A cotangent not made yet (see the module docstring)."""

    @abstractmethod
    def materialize(self):
        """The cotangent as an array of the device."""


def materialized(g):
    """g as an array: a DeferredGradient made, anything else as it is."""
    return g.materialize() if isinstance(g, DeferredGradient) else g


class GradientTape:
    """`with GradientTape() as tape: ...; tape.gradient(target, sources)` as in TensorFlow."""

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._records: list[tuple] = []    # (op, kernel module, inputs, outputs, residuals)
        self._tracked: dict[int, Tensor] = {}
        self._used = False

    def __enter__(self) -> "GradientTape":
        _active_tapes.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _active_tapes.remove(self)

    def watch(self, tensor) -> None:
        """Track a Tensor or Variable (or a list of them) so gradients can flow to it."""
        for t in tensor if isinstance(tensor, (list, tuple)) else [tensor]:
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch expects Tensors or Variables; "
                                f"received {type(t).__name__}")
            self._tracked[id(t)] = t

    def _is_tracked(self, t) -> bool:
        if id(t) in self._tracked:
            return True
        if (self.watch_accessed_variables and isinstance(t, Variable) and t.trainable
                and is_float(t.data.dtype)):
            self._tracked[id(t)] = t
            return True
        return False

    def record(self, op, kernels, inputs: tuple, outputs: list, tracked: list,
               residuals: tuple) -> None:
        """Keep an op call whose inputs include a tracked one; `tracked` are the outputs
        gradients flow back from (an op's statistics outputs, say, are constants)."""
        if any([self._is_tracked(t) for t in inputs]):  # list: visit every input for auto-watch
            self._records.append((op, kernels, inputs, outputs, residuals))
            for output in tracked:
                self._tracked[id(output)] = output

    def stop_recording(self):
        return _StopRecording()

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """d(sum of target)/d(source) for each source, in the structure of `sources`.

        A source the target does not depend on gets None (or zeros when
        `unconnected_gradients="zero"`)."""
        if self._used and not self.persistent:
            raise RuntimeError("GradientTape.gradient can only be called once on a non-persistent "
                               "tape; create it with GradientTape(persistent=True) to call it again")
        self._used = True
        targets = target if isinstance(target, (list, tuple)) else [target]
        seeds = (output_gradients if isinstance(output_gradients, (list, tuple))
                 else [output_gradients] * len(targets))
        cotangents: dict[int, object] = {}
        for t, seed in zip(targets, seeds):
            k = kernels_for(t.device)
            seed = np.ones(t.shape, t.dtype) if seed is None else _host(seed, t.dtype)
            _accumulate(k, cotangents, t, k.asarray(seed))
        for op, kernels, inputs, outputs, residuals in reversed(self._records):
            dys = [cotangents.get(id(output)) for output in outputs]
            if not op.takes_deferred_gradients:
                dys = [materialized(dy) for dy in dys]
            if all(dy is None for dy in dys):
                continue
            needs = tuple(self._is_tracked(t) and is_float(t.data.dtype) for t in inputs)
            grads = op.vjp(kernels, tuple(dys) if op.n_outputs > 1 else dys[0], residuals,
                           needs)
            for t, g in zip(inputs, grads):
                if g is not None and is_float(t.data.dtype):
                    _accumulate(kernels, cotangents, t, g)
        flat = [_source_gradient(cotangents if self._is_tracked(s) else {}, s,
                                 unconnected_gradients) for s in flatten(sources)]
        if not self.persistent:
            self._records, self._tracked = [], {}
        return pack_like(sources, flat)


def _host(seed, dtype) -> np.ndarray:
    """An output gradient given by the user, as numpy of the target's dtype."""
    return np.asarray(seed.numpy() if isinstance(seed, Tensor) else seed, dtype)


def _accumulate(k, cotangents: dict, t: Tensor, g) -> None:
    previous = cotangents.get(id(t))
    cotangents[id(t)] = g if previous is None else k.add(materialized(previous),
                                                         materialized(g))


def _source_gradient(cotangents, source, unconnected):
    k = kernels_for(source.device)
    g = materialized(cotangents.get(id(source)))
    if g is None:
        if unconnected != "zero":
            return None
        return Tensor(k.asarray(np.zeros(source.shape, source.dtype)))
    if g.dtype != source.data.dtype:
        g = k.cast(g, source.data.dtype)
    return Tensor(k.reshape(k.asarray(g), source.shape))


class _StopRecording:
    def __enter__(self):
        _paused[0] += 1

    def __exit__(self, *exc):
        _paused[0] -= 1


def active_tapes() -> list[GradientTape]:
    return [] if _paused[0] else _active_tapes
