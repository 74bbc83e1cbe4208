"""Creating tensors, as keras.ops does: filled shapes, ranges, grids, identity and triangle
matrices, signal windows, and the tensor queries (shape, ndim, size, dtype, is_tensor).

New values are made on the host with numpy and placed on the current device (`nk.device`);
`*_like` follow their argument's device. Float results default to floatx and Python integers
to int32, as in Keras; none of these ops has a gradient (their values are constants).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import config
from ..core.dtype import standardize_dtype
from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from ..core.tensor import Tensor
from .composite import composite
from .op import Op, convert_to_tensor

__all__ = ["zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like",
           "empty_like", "arange", "linspace", "logspace", "geomspace", "eye", "identity", "tri",
           "meshgrid", "array", "bartlett", "blackman", "hamming", "hanning", "kaiser",
           "is_tensor", "convert_to_numpy", "shape", "ndim", "size", "dtype"]


def _new(values: np.ndarray, dtype) -> Tensor:
    """`values` as a Tensor of `dtype` on the current device."""
    return convert_to_tensor(np.asarray(values), standardize_dtype(dtype))


def _shape(shape, who: str) -> tuple:
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    if any(int(n) < 0 for n in shape):
        raise ValueError(f"{who}: shape must have no negative sizes; received shape={shape}")
    return tuple(int(n) for n in shape)


def _value_dtype(value) -> str:
    """Keras's dtype for a Python or numpy value: bool, int32 for Python ints, floatx for
    Python floats, numpy's own dtype otherwise."""
    if isinstance(value, (Tensor, KerasTensor)):
        return value.dtype
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int32"
    if isinstance(value, float):
        return config.floatx()
    array = np.asarray(value)
    if array.dtype == np.float64 and not isinstance(value, (np.ndarray, np.generic)):
        return config.floatx()
    if array.dtype == np.int64 and not isinstance(value, (np.ndarray, np.generic)):
        return "int32"
    return array.dtype.name


# ---- filled shapes -----------------------------------------------------------------------

def zeros(shape, dtype=None) -> Tensor:
    """A tensor of `shape` filled with 0 (floatx by default)."""
    return _new(np.zeros(_shape(shape, "zeros")), dtype or config.floatx())


def ones(shape, dtype=None) -> Tensor:
    """A tensor of `shape` filled with 1 (floatx by default)."""
    return _new(np.ones(_shape(shape, "ones")), dtype or config.floatx())


def empty(shape, dtype=None) -> Tensor:
    """A tensor of `shape` (zeros here: uninitialised memory is never handed out)."""
    return _new(np.zeros(_shape(shape, "empty")), dtype or config.floatx())


def full(shape, fill_value, dtype=None) -> Tensor:
    """A tensor of `shape` filled with `fill_value` (floatx unless `dtype`, as Keras); an
    array `fill_value` broadcasts to `shape`."""
    value = np.asarray(fill_value.numpy() if isinstance(fill_value, Tensor) else fill_value)
    shape = _shape(shape, "full")
    try:
        values = np.broadcast_to(value, shape)
    except ValueError:
        raise ValueError(f"full: fill_value of shape {value.shape} cannot be broadcast to "
                         f"shape {shape}") from None
    return _new(values, dtype or config.floatx())


@dataclass(frozen=True, eq=False)
class FullLike(Op):
    """x (shape S) -> `value` broadcast to S, of `dtype`; a constant: no gradient reaches x."""

    value: np.ndarray = field(repr=False)
    dtype: str | None        # None: x's dtype

    def output_spec(self, x: Spec) -> Spec:
        try:
            np.broadcast_shapes(self.value.shape, tuple(1 if n is None else n for n in x.shape))
        except ValueError:
            raise ValueError(f"full_like: fill_value of shape {self.value.shape} cannot be "
                             f"broadcast to x's shape {x.shape}") from None
        return Spec(x.shape, self.dtype or x.dtype)

    def forward(self, k, x):
        dtype = self.dtype or x.dtype
        self.output_spec(Spec(tuple(x.shape), dtype))
        filled = k.broadcast_to(k.asarray(self.value.astype(dtype)), tuple(x.shape))
        return k.cast(filled, dtype), ()

    def vjp(self, k, dy, residuals, needs):
        return (None,)


def _like(x, fill_value, dtype):
    value = np.asarray(fill_value.numpy() if isinstance(fill_value, Tensor) else fill_value)
    x = x if isinstance(x, (Tensor, KerasTensor)) else convert_to_tensor(x)
    return FullLike(value, None if dtype is None else standardize_dtype(dtype))(x)


@composite("dtype")
def zeros_like(x, dtype=None):
    """Zeros of x's shape (and dtype unless `dtype`), on x's device; symbolic for a
    KerasTensor."""
    return _like(x, 0, dtype)


@composite("dtype")
def ones_like(x, dtype=None):
    """Ones of x's shape (and dtype unless `dtype`), on x's device."""
    return _like(x, 1, dtype)


def empty_like(x, dtype=None):
    """A tensor of x's shape and dtype (zeros), on x's device."""
    return _like(x, 0, dtype)


@composite("dtype")
def full_like(x, fill_value, dtype=None):
    """`fill_value` (broadcast) in x's shape (and dtype unless `dtype`), on x's device."""
    return _like(x, fill_value, dtype)


# ---- ranges and grids --------------------------------------------------------------------

def arange(start, stop=None, step=None, dtype=None) -> Tensor:
    """Evenly spaced values in [start, stop) by `step` (numpy's arange); int32 for integer
    arguments, floatx if any is a float, as Keras."""
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if step == 0:
        raise ValueError("arange: step must not be 0")
    if dtype is None:
        kinds = [_value_dtype(v) for v in (start, stop, step)]
        dtype = (config.floatx() if any("float" in k for k in kinds) else
                 "int32" if all(k in ("int32", "bool") for k in kinds) else
                 np.result_type(*kinds).name)
    return _new(np.arange(start, stop, step), dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from start to stop (included if `endpoint`); with `retstep`,
    (values, step). Array start/stop give one sequence per element along `axis`."""
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative; received num={num}")
    values, step = np.linspace(np.asarray(start, np.float64), np.asarray(stop, np.float64),
                               int(num), endpoint=endpoint, retstep=True, axis=axis)
    result = _new(values, dtype or config.floatx())
    return (result, convert_to_tensor(np.asarray(step), result.dtype)) if retstep else result


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0) -> Tensor:
    """base ** linspace(start, stop, num)."""
    values = np.logspace(np.asarray(start, np.float64), np.asarray(stop, np.float64), int(num),
                         endpoint=endpoint, base=base, axis=axis)
    return _new(values, dtype or config.floatx())


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0) -> Tensor:
    """`num` values from start to stop evenly spaced on a log scale."""
    if np.any(np.asarray(start) == 0) or np.any(np.asarray(stop) == 0):
        raise ValueError(f"geomspace: start and stop must be non-zero; received start={start}, "
                         f"stop={stop}")
    values = np.geomspace(np.asarray(start, np.float64), np.asarray(stop, np.float64),
                          int(num), endpoint=endpoint, axis=axis)
    return _new(values, dtype or config.floatx())


def _on_device_of(x: Tensor, values: np.ndarray, dtype: str) -> Tensor:
    return convert_to_tensor(values.astype(dtype), device=x.device)


def meshgrid(*x, indexing="xy") -> list[Tensor]:
    """Coordinate grids from 1-D tensors: "xy" (Cartesian, the first two axes swapped) or
    "ij" (matrix) indexing, as numpy's meshgrid."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij'; received {indexing!r}")
    tensors = [convert_to_tensor(v) for v in x]
    grids = np.meshgrid(*[t.numpy() for t in tensors], indexing=indexing)
    return [_on_device_of(t, np.array(g), t.dtype) for t, g in zip(tensors, grids)]


# ---- matrices ----------------------------------------------------------------------------

def eye(N, M=None, k=0, dtype=None) -> Tensor:
    """An N x M matrix with ones on diagonal k."""
    return _new(np.eye(int(N), None if M is None else int(M), int(k)), dtype or config.floatx())


def identity(n, dtype=None) -> Tensor:
    """The n x n identity matrix."""
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None) -> Tensor:
    """An N x M matrix with ones on and below diagonal k."""
    return _new(np.tri(int(N), None if M is None else int(M), int(k)), dtype or config.floatx())


# ---- arrays and queries ------------------------------------------------------------------

def array(x, dtype=None) -> Tensor:
    """x as a tensor (Keras's `ops.array`): Python ints give int32, floats floatx."""
    if isinstance(x, Tensor):
        return convert_to_tensor(x, dtype)
    return convert_to_tensor(x, dtype if dtype is not None else _value_dtype(x))


def _window(who: str, length, values) -> Tensor:
    if int(length) != length:
        raise ValueError(f"{who}: the window length must be an integer; received {length!r}")
    return _new(values, config.floatx())


def bartlett(x) -> Tensor:
    """The Bartlett (triangular) window of x points."""
    return _window("bartlett", x, np.bartlett(int(x)))


def blackman(x) -> Tensor:
    """The Blackman window of x points."""
    return _window("blackman", x, np.blackman(int(x)))


def hamming(x) -> Tensor:
    """The Hamming window of x points."""
    return _window("hamming", x, np.hamming(int(x)))


def hanning(x) -> Tensor:
    """The Hann window of x points."""
    return _window("hanning", x, np.hanning(int(x)))


def kaiser(x, beta) -> Tensor:
    """The Kaiser window of x points with shape parameter beta."""
    return _window("kaiser", x, np.kaiser(int(x), float(beta)))


def is_tensor(x) -> bool:
    """Whether x is an nbkeras tensor (a Tensor, Variable or KerasTensor)."""
    return isinstance(x, (Tensor, KerasTensor))


def convert_to_numpy(x) -> np.ndarray:
    """x as a numpy array (a copy to the host for a tensor on "cuda")."""
    return np.asarray(x.numpy() if isinstance(x, Tensor) else x)


def shape(x) -> tuple:
    """x's shape as a tuple (None for unknown sizes of a KerasTensor)."""
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def ndim(x) -> int:
    """x's rank."""
    return len(shape(x))


def size(x) -> int:
    """The number of elements of x."""
    dims = shape(x)
    if None in dims:
        raise ValueError(f"size: the shape {dims} has unknown sizes")
    return int(np.prod(dims, dtype=np.int64))


def dtype(x) -> str:
    """x's dtype name ("float32", "int32", ...) as Keras's standardized name."""
    return x.dtype if is_tensor(x) else _value_dtype(x)
