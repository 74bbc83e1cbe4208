"""check_grads: the tape's gradients against central finite differences, in float64.

The scalar checked is L = <v, f(inputs)> for a fixed random cotangent v, so one backward
pass gives dL/d(every input and weight). In "full" mode every element is perturbed; in
"projection" mode a random direction u per argument is, comparing <u, dL/dx> with
(L(x + eps u) - L(x - eps u)) / 2 eps.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..core.tape import GradientTape
from ..core.tensor import Tensor, Variable
from ..ops import convert_to_tensor


class GradientCheckError(AssertionError):
    """Raised when an analytic gradient disagrees with finite differences."""


@dataclass
class _Argument:
    label: str            # "input 0" or "weight 'dense/kernel'"
    array: np.ndarray     # perturbed in place: the tensor's own array on the CPU, else a copy
    tensor: Tensor

    def upload(self) -> None:
        """Copy the (perturbed) host array to a tensor that lives on a device."""
        if isinstance(self.tensor, Variable):
            self.tensor.assign(self.array)
        else:
            self.tensor.data = convert_to_tensor(self.array, device=self.tensor.device).data


_ROUND_OFF = 2 * np.finfo(np.float64).eps   # per unit of sum|v * f|, in L(x + h) - L(x - h)


def _on_current_device(array: np.ndarray) -> Tensor:
    tensor = convert_to_tensor(array, array.dtype)
    return tensor if tensor.device != "cpu" else Tensor(array)   # the CPU shares the array


def _host_array(tensor: Tensor) -> np.ndarray:
    return tensor.data if tensor.device == "cpu" else tensor.numpy()


def check_grads(fn, inputs, *, wrt_inputs=None, mode: str = "auto", eps: float = 1e-6,
                rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0, max_full_size: int = 256,
                call_kwargs: dict | None = None) -> None:
    """Check d<v, fn(*inputs)>/d(inputs and fn's trainable weights) by central differences.

    fn: a Layer or Model (its trainable weights are checked: freeze a weight with
    `variable.trainable = False` or the layer with `trainable = False` to leave it out) or
    any function of Tensors.
    inputs: arrays (float inputs are checked; integer ones are held fixed).
    wrt_inputs: indices of the inputs to check (default: every float input). The others are
    not watched, so the tape asks the ops for their cotangents exactly as `fit` does for the
    data, and the branches that skip unneeded cotangents are the ones checked.
    mode: "full" perturbs every element, "projection" one random direction per argument,
    "auto" is full for arguments of at most `max_full_size` elements.
    An element passes when |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|)
    + the difference's own round-off, 2 * float64 epsilon * sum|v * fn(inputs)| / eps, so a
    large output (an exponential, a long sum) does not fail a correct gradient.
    Raises GradientCheckError naming the argument, the index, both values and the error.
    """
    if mode not in ("auto", "full", "projection"):
        raise ValueError(f"check_grads: mode must be 'auto', 'full' or 'projection'; "
                         f"received {mode!r}")
    call_kwargs = call_kwargs or {}
    arrays = [np.array(x.numpy() if isinstance(x, Tensor) else x) for x in inputs]
    tensors = [_on_current_device(a) for a in arrays]  # on "cuda" under nk.device("cuda")
    fn(*tensors, **call_kwargs)                      # builds a layer's weights
    weights = list(getattr(fn, "trainable_weights", []))
    checked = range(len(arrays)) if wrt_inputs is None else _indices(wrt_inputs, len(arrays))
    arguments = [_Argument(f"input {i}", _host_array(tensors[i]), tensors[i]) for i in checked
                 if arrays[i].dtype.kind == "f"]
    arguments += [_Argument(f"weight '{w.path}'", _host_array(w), w) for w in weights]
    on_device = [a for a in arguments if a.tensor.device != "cpu"]
    low_precision = [a.label for a in arguments if a.array.dtype != np.float64]
    if low_precision:
        warnings.warn(f"check_grads: {low_precision} are not float64; finite differences in "
                      "lower precision are unreliable (build the layer with dtype='float64')",
                      stacklevel=2)
    rng = np.random.default_rng(seed)
    output = _as_array(fn(*tensors, **call_kwargs))
    cotangent = rng.standard_normal(output.shape)
    atol += _ROUND_OFF * float(np.sum(np.abs(cotangent * output))) / eps

    def objective() -> float:
        for argument in on_device:
            argument.upload()
        return float(np.sum(_as_array(fn(*tensors, **call_kwargs)) * cotangent))

    with GradientTape(persistent=True) as tape:
        tape.watch([a.tensor for a in arguments if not isinstance(a.tensor, Variable)])
        y = fn(*tensors, **call_kwargs)
        loss = _sum_product(y, cotangent)
    grads = tape.gradient(loss, [a.tensor for a in arguments])
    name = getattr(fn, "name", getattr(fn, "__name__", type(fn).__name__))
    for argument, grad in zip(arguments, grads):
        analytic = np.zeros(argument.array.shape) if grad is None else np.asarray(grad, np.float64)
        full = mode == "full" or (mode == "auto" and argument.array.size <= max_full_size)
        try:
            if full:
                _check_elements(name, argument, analytic, objective, eps, rtol, atol)
            else:
                _check_projection(name, argument, analytic, objective, eps, rtol, atol, rng)
        finally:
            for restored in on_device:     # the device copies back to the unperturbed values
                restored.upload()


def _indices(wrt_inputs, n_inputs: int) -> list[int]:
    indices = sorted({int(i) for i in wrt_inputs})
    if any(not 0 <= i < n_inputs for i in indices):
        raise ValueError(f"check_grads: wrt_inputs must be indices of the {n_inputs} inputs; "
                         f"received wrt_inputs={list(wrt_inputs)!r}")
    return indices


def _as_array(y) -> np.ndarray:
    if isinstance(y, (list, tuple)):
        return np.concatenate([np.ravel(_as_array(t)) for t in y])
    return np.asarray(y.numpy() if isinstance(y, Tensor) else y, dtype=np.float64)


def _sum_product(y, cotangent):
    """<v, y> as a differentiable scalar (y may be a list of outputs)."""
    from .. import ops

    if isinstance(y, (list, tuple)):
        parts, start = [], 0
        for t in y:
            size = int(np.prod(t.shape))
            v = cotangent[start:start + size].reshape(t.shape).astype(t.dtype)
            parts.append(ops.sum(ops.multiply(t, v)))
            start += size
        total = parts[0]
        for part in parts[1:]:
            total = ops.add(total, part)
        return total
    return ops.sum(ops.multiply(y, cotangent.astype(y.dtype)))


def _central_difference(array, index, step, objective) -> float:
    original = array[index].copy()
    try:
        array[index] = original + step
        plus = objective()
        array[index] = original - step
        minus = objective()
    finally:
        array[index] = original
    return (plus - minus) / 2


def _check_elements(name, argument, analytic, objective, eps, rtol, atol) -> None:
    for index in np.ndindex(argument.array.shape):
        numeric = _central_difference(argument.array, index, eps, objective) / eps
        _compare(name, argument.label, f"index {index}", analytic[index], numeric, rtol, atol)


def _check_projection(name, argument, analytic, objective, eps, rtol, atol, rng) -> None:
    direction = rng.standard_normal(argument.array.shape)
    direction /= np.linalg.norm(direction)
    numeric = _central_difference(argument.array, ..., eps * direction, objective) / eps
    _compare(name, argument.label, "a random direction", float(np.sum(analytic * direction)),
             numeric, rtol, atol)


def _compare(name, label, where, analytic, numeric, rtol, atol) -> None:
    error = abs(analytic - numeric)
    scale = max(abs(analytic), abs(numeric))
    if np.isfinite(analytic) and np.isfinite(numeric) and error <= atol + rtol * scale:
        return
    relative = error / max(scale, 1e-300) if np.isfinite(scale) else float("nan")
    raise GradientCheckError(
        f"{name}: gradient of {label} at {where} is wrong: analytic {analytic:.10g}, "
        f"numeric {numeric:.10g}, relative error {relative:.3g}")
