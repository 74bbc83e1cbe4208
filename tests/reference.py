"""Plain float64 numpy references for the ops tests, written from textbook definitions.

Independent of nbkeras on purpose: elementwise formulas go through Python's `math` one
element at a time, rows and reductions are explicit loops, and nothing here imports
nbkeras. Slow is fine; the tests use small arrays.
"""
from __future__ import annotations

import math

import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _elementwise(f, x) -> np.ndarray:
    """f applied to every element of x as a Python float; float64 result of x's shape."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        out[index] = f(float(x[index]))
    return out


# ----------------------------------------------------------------------------- activations

def relu(x, negative_slope=0.0, max_value=None, threshold=0.0) -> np.ndarray:
    """Keras 3: max_value for x >= max_value; x for threshold <= x < max_value;
    negative_slope * (x - threshold) otherwise."""
    def f(v):
        if max_value is not None and v >= max_value:
            return float(max_value)
        if v >= threshold:
            return v
        return negative_slope * (v - threshold)
    return _elementwise(f, x)


def relu6(x) -> np.ndarray:
    return relu(x, max_value=6.0)


def leaky_relu(x, negative_slope=0.2) -> np.ndarray:
    return _elementwise(lambda v: v if v >= 0 else negative_slope * v, x)


def elu(x, alpha=1.0) -> np.ndarray:
    return _elementwise(lambda v: v if v > 0 else alpha * (math.exp(v) - 1.0), x)


def selu(x) -> np.ndarray:
    return _elementwise(lambda v: SELU_SCALE * (v if v > 0 else SELU_ALPHA * (math.exp(v) - 1.0)),
                        x)


def gelu(x, approximate=True) -> np.ndarray:
    """x * Phi(x); the tanh approximation when `approximate`."""
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        return _elementwise(lambda v: 0.5 * v * (1.0 + math.tanh(c * (v + 0.044715 * v ** 3))), x)
    return _elementwise(lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))), x)


def _sigmoid(v: float) -> float:
    """1 / (1 + e^-v), evaluated on the side that cannot overflow."""
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def _softplus(v: float) -> float:
    """log(1 + e^v) = max(v, 0) + log1p(e^-|v|)."""
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


def sigmoid(x) -> np.ndarray:
    return _elementwise(_sigmoid, x)


def silu(x) -> np.ndarray:
    return _elementwise(lambda v: v * _sigmoid(v), x)


def mish(x) -> np.ndarray:
    return _elementwise(lambda v: v * math.tanh(_softplus(v)), x)


def hard_sigmoid(x) -> np.ndarray:
    """relu6(x + 3) / 6 = clip((x + 3) / 6, 0, 1)."""
    return _elementwise(lambda v: min(max((v + 3.0) / 6.0, 0.0), 1.0), x)


def tanh(x) -> np.ndarray:
    return _elementwise(math.tanh, x)


def softplus(x) -> np.ndarray:
    return _elementwise(_softplus, x)


def softsign(x) -> np.ndarray:
    return _elementwise(lambda v: v / (1.0 + abs(v)), x)


def exponential(x) -> np.ndarray:
    return _elementwise(math.exp, x)


def linear(x) -> np.ndarray:
    return np.array(x, dtype=np.float64)


def _rows_along(x, axis: int, row_fn) -> np.ndarray:
    """row_fn (list of floats -> list of floats) applied along `axis` of x, one row at a time."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        return np.asarray(row_fn([float(x)])[0])
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape, dtype=np.float64)
    for index in np.ndindex(moved.shape[:-1]):
        out[index] = row_fn([float(v) for v in moved[index]])
    return np.moveaxis(out, -1, axis)


def _softmax_row(row):
    top = max(row)
    exps = [math.exp(v - top) for v in row]
    total = math.fsum(exps)
    return [e / total for e in exps]


def _log_softmax_row(row):
    top = max(row)
    log_total = top + math.log(math.fsum(math.exp(v - top) for v in row))
    return [v - log_total for v in row]


def softmax(x, axis: int = -1) -> np.ndarray:
    return _rows_along(x, axis, _softmax_row)


def log_softmax(x, axis: int = -1) -> np.ndarray:
    return _rows_along(x, axis, _log_softmax_row)


# ------------------------------------------------------------------------------ reductions

def _reduced_axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


def reduce(x, kind: str, axis=None, keepdims: bool = False) -> np.ndarray:
    """sum / mean / max / min / prod of x over `axis`, one output element at a time."""
    x = np.asarray(x, dtype=np.float64)
    axes = _reduced_axes(axis, x.ndim)
    kept = tuple(i for i in range(x.ndim) if i not in axes)
    out_shape = tuple(x.shape[i] for i in kept)
    combine = {"sum": math.fsum, "mean": lambda vs: math.fsum(vs) / len(vs), "max": max,
               "min": min, "prod": math.prod}[kind]
    out = np.empty(out_shape, dtype=np.float64)
    for out_index in np.ndindex(out_shape):
        values = []
        for reduced_index in np.ndindex(tuple(x.shape[a] for a in axes)):
            full = [0] * x.ndim
            for position, i in zip(kept, out_index):
                full[position] = i
            for position, i in zip(axes, reduced_index):
                full[position] = i
            values.append(float(x[tuple(full)]))
        out[out_index] = combine(values)
    if keepdims:
        out = out.reshape(tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return out


def argmax(x, axis=None) -> np.ndarray:
    """Index of the first largest value along `axis` (of the flattened array when None)."""
    x = np.asarray(x)
    if axis is None:
        flat = [x[index] for index in np.ndindex(x.shape)]
        return np.asarray(max(range(len(flat)), key=lambda i: (flat[i], -i)))
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape[:-1], dtype=np.int64)
    for index in np.ndindex(moved.shape[:-1]):
        row = list(moved[index])
        out[index] = max(range(len(row)), key=lambda i: (row[i], -i))
    return out


# ---------------------------------------------------------------------------- products etc.

def _matmul_2d(a, b) -> np.ndarray:
    m, k = a.shape
    k2, n = b.shape
    if k != k2:
        raise ValueError(f"inner dimensions differ: {a.shape} @ {b.shape}")
    out = np.empty((m, n), dtype=np.float64)
    for i in range(m):
        for j in range(n):
            out[i, j] = math.fsum(float(a[i, p]) * float(b[p, j]) for p in range(k))
    return out


def matmul(a, b) -> np.ndarray:
    """numpy.matmul semantics: batch axes broadcast; a 1-D operand gains then loses an axis."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a3 = np.broadcast_to(a2, batch + a2.shape[-2:])
    b3 = np.broadcast_to(b2, batch + b2.shape[-2:])
    out = np.empty(batch + (a2.shape[-2], b2.shape[-1]), dtype=np.float64)
    for index in np.ndindex(batch):
        out[index] = _matmul_2d(a3[index], b3[index])
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


def dot(a, b) -> np.ndarray:
    """numpy.dot: dot(a, b)[i..., j..., n] = sum_k a[i..., k] * b[j..., k, n]."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim == 1:
        out = np.empty(a.shape[:-1], dtype=np.float64)
        for i in np.ndindex(a.shape[:-1]):
            out[i] = math.fsum(float(a[i + (p,)]) * float(b[p]) for p in range(a.shape[-1]))
        return out
    k = a.shape[-1]
    out = np.empty(a.shape[:-1] + b.shape[:-2] + b.shape[-1:], dtype=np.float64)
    for i in np.ndindex(a.shape[:-1]):
        for j in np.ndindex(b.shape[:-2]):
            for n in range(b.shape[-1]):
                out[i + j + (n,)] = math.fsum(float(a[i + (p,)]) * float(b[j + (p, n)])
                                              for p in range(k))
    return out


def dense(x, kernel, bias=None) -> np.ndarray:
    """y[..., j] = sum_i x[..., i] kernel[i, j] (+ bias[j])."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape[:-1] + (kernel.shape[1],), dtype=np.float64)
    for index in np.ndindex(x.shape[:-1]):
        for j in range(kernel.shape[1]):
            total = math.fsum(float(x[index + (i,)]) * float(kernel[i, j])
                              for i in range(kernel.shape[0]))
            out[index + (j,)] = total + (0.0 if bias is None else float(bias[j]))
    return out


def one_hot(indices, num_classes: int, axis: int = -1) -> np.ndarray:
    """out[..., c, ...] = 1.0 where indices[...] == c (the class axis at `axis`)."""
    indices = np.asarray(indices)
    out = np.zeros(indices.shape + (num_classes,), dtype=np.float64)
    for index in np.ndindex(indices.shape):
        out[index + (int(indices[index]),)] = 1.0
    return np.moveaxis(out, -1, axis)


def clip(x, low: float, high: float) -> np.ndarray:
    return _elementwise(lambda v: low if v < low else high if v > high else v, x)
