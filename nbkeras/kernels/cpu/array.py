"""Elementwise arithmetic, reductions, shape changes and indexing: numpy's own kernels
(ufuncs, BLAS matmul), plus the few backward helpers numpy lacks.

Large float arrays take Numba loops parallel over the cores for the four arithmetic
operators (same-shape operands, or one a single number), for exp of float32 and for sums
and means over trailing axes; numpy's ufuncs and reductions run on one core. Matrix
products run BLAS on one thread: big ones split by rows over the threads (gemm.py), stacks
of at least as many small matrices as threads one product per matrix in parallel over the
stack (numpy's matmul loops over it on one core)."""
import math

import numba
import numpy as np
from numba import njit, prange

from ..api import basic_index
from .gemm import THREADED_MIN_FLOPS, gemm
from .parallel import large, launch, single_threaded_blas
from .vector_math import exp as _vector_exp

PARALLEL_ARRAY_MIN_ELEMENTS = 1 << 17   # below this, numpy on one core is as fast
PARALLEL_STACK_MIN_FLOPS = 1 << 22

__all__ = ["asarray", "cast", "negative", "abs", "sign", "exp", "log", "sqrt", "square", "add",
           "subtract", "multiply", "divide", "power", "maximum", "minimum", "equal",
           "not_equal", "less", "less_equal", "greater", "greater_equal", "where", "clip",
           "one_hot", "reduce", "argmax", "sum_to_shape", "extreme_backward", "prod_backward",
           "matmul", "reshape", "transpose", "swapaxes", "expand_dims", "broadcast_to",
           "inverse_permutation", "concatenate", "split", "getitem", "getitem_backward", "pad",
           "crop"]


def asarray(x):
    return np.asarray(x)


def cast(x, dtype):
    return x.astype(dtype)


def negative(x):
    return np.negative(x)


def abs(x):  # noqa: A001 (the API's name)
    return np.abs(x)


def sign(x):
    return np.sign(x)


@njit(cache=True, parallel=True, fastmath={"contract"})
def _exp_float32(x, out):
    for i in prange(x.size):
        out[i] = _vector_exp(x[i])


def exp(x):
    if (x.dtype != np.float32 or not large(x.size, PARALLEL_ARRAY_MIN_ELEMENTS)
            or not x.flags.c_contiguous):
        return np.exp(x)
    out = np.empty_like(x)
    _exp_float32(x.reshape(-1), out.reshape(-1))
    return out


def log(x):
    return np.log(x)


def sqrt(x):
    return np.sqrt(x)


def square(x):
    return np.square(x)


@njit(cache=True, inline="always")
def _operate(code, x, y):
    """x + y, x - y, x * y or x / y by code 0..3."""
    if code == 0:
        return x + y
    if code == 1:
        return x - y
    if code == 2:
        return x * y
    return x / y


@njit(cache=True, parallel=True)
def _arithmetic(code, a, b, out):
    """out = a (op) b over flat arrays of one size."""
    for i in prange(out.size):
        out[i] = _operate(code, a[i], b[i])


@njit(cache=True, parallel=True)
def _arithmetic_with_number(code, a, b, out):
    """out = a (op) b over flat arrays where a or b holds a single number. Not a branch of
    _arithmetic: each prange compiles as a parfor of its own, and the elementwise kernel
    alone compiles in 0.4 s where the three loops took 1.0 s."""
    if b.size == 1:
        y = b[0]
        for i in prange(out.size):
            out[i] = _operate(code, a[i], y)
    else:
        x = a[0]
        for i in prange(out.size):
            out[i] = _operate(code, x, b[i])


def _parallel_operands(a, b):
    """a and b as flat arrays for `_arithmetic` (or `_arithmetic_with_number`), or None where
    numpy should run: both one float dtype and C-contiguous, the same shape or one a single
    number, and large."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.dtype != b.dtype:
        return None
    if (a.dtype not in (np.float32, np.float64)
            or not large(max(a.size, b.size), PARALLEL_ARRAY_MIN_ELEMENTS)):
        return None
    if a.shape != b.shape and not (a.ndim == 0 or b.ndim == 0):
        return None
    if not (a.flags.c_contiguous and b.flags.c_contiguous):
        return None
    return a.reshape(-1), b.reshape(-1)


def _arithmetic_or(ufunc, code):
    def kernel(a, b):
        operands = _parallel_operands(a, b)
        if operands is None:
            return ufunc(a, b)
        out = np.empty(a.shape if a.ndim >= b.ndim else b.shape, a.dtype)
        elementwise = _arithmetic if a.size == b.size else _arithmetic_with_number
        elementwise(code, *operands, out.reshape(-1))
        return out
    kernel.__name__ = ufunc.__name__
    kernel.__doc__ = f"numpy's {ufunc.__name__} of a and b (broadcast)."
    return kernel


add = _arithmetic_or(np.add, 0)
subtract = _arithmetic_or(np.subtract, 1)
multiply = _arithmetic_or(np.multiply, 2)
divide = _arithmetic_or(np.divide, 3)


def power(a, b):
    return np.power(a, b)


def maximum(a, b):
    return np.maximum(a, b)


def minimum(a, b):
    return np.minimum(a, b)


def equal(a, b):
    return np.equal(a, b)


def not_equal(a, b):
    return np.not_equal(a, b)


def less(a, b):
    return np.less(a, b)


def less_equal(a, b):
    return np.less_equal(a, b)


def greater(a, b):
    return np.greater(a, b)


def greater_equal(a, b):
    return np.greater_equal(a, b)


def where(condition, a, b):
    return np.where(condition, a, b)


def clip(x, low, high):
    return np.clip(x, low, high)


def argmax(x, axis, keepdims):
    return np.argmax(x, axis=axis, keepdims=keepdims)


@njit(cache=True, parallel=True)
def _stacked_matmul(a, b, out):
    """out[p, q] = a[p, q] @ b[p, q] for stacks (P, Q, M, K), (P, Q, K, N) of any strides, in
    parallel over the P * Q products; strided matrices are copied inside the loop."""
    stack = a.shape[1]
    for i in prange(a.shape[0] * stack):
        p = i // stack
        q = i - p * stack
        np.dot(np.ascontiguousarray(a[p, q]), np.ascontiguousarray(b[p, q]), out[p, q])


def _as_4d(x):
    """x (..., R, C) as (P, Q, R, C): a view for 3 and 4 axes (so the transposed views of
    attention's heads are not copied here), a reshape beyond."""
    return x[None] if x.ndim == 3 else x if x.ndim == 4 else x.reshape((-1,) + x.shape[-3:])


def matmul(a, b):
    """numpy's matmul: a (..., M, K) @ b (..., K, N) -> (..., M, N), batch axes broadcast.
    Float products of one dtype: a matrix by a matrix, or a stack by one matrix, is one
    `gemm`; a stack of big matrices one `gemm` each; a stack of at least as many small
    matrices as threads runs in parallel over the stack."""
    if (a.dtype != b.dtype or a.dtype not in (np.float32, np.float64) or a.ndim < 2
            or b.ndim < 2 or a.shape[-1] == 0):
        with single_threaded_blas():
            return np.matmul(a, b)
    if b.ndim == 2:
        return gemm(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + b.shape[-1:])
    stack = math.prod(a.shape[:-2])
    flops = 2 * a.size * b.shape[-1]
    if a.shape[:-2] != b.shape[:-2] or not large(flops, PARALLEL_STACK_MIN_FLOPS):
        with single_threaded_blas():
            return np.matmul(a, b)
    out = np.empty(a.shape[:-1] + b.shape[-1:], a.dtype)
    a, b, stacked = _as_4d(a), _as_4d(b), _as_4d(out)
    if stack < numba.get_num_threads() or flops // stack >= THREADED_MIN_FLOPS:
        for p, q in np.ndindex(stacked.shape[:2]):
            stacked[p, q] = gemm(a[p, q], b[p, q])
    else:
        with single_threaded_blas():
            launch(_stacked_matmul, PARALLEL_STACK_MIN_FLOPS, a, b, stacked)
    return out


def reshape(x, shape):
    return np.reshape(x, shape)


def transpose(x, axes):
    return np.transpose(x, axes)


def swapaxes(x, axis1, axis2):
    return np.swapaxes(x, axis1, axis2)


def expand_dims(x, axis):
    return np.expand_dims(x, axis)


def broadcast_to(x, shape):
    return np.broadcast_to(x, shape)


def concatenate(arrays, axis):
    return np.concatenate(arrays, axis=axis)


def split(x, indices, axis):
    return np.split(x, indices, axis=axis)


_REDUCTIONS = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod}


SUM_BLOCK = 1024


@njit(cache=True, fastmath={"reassoc"})
def _lane_sum(values):
    """Sum of a 1-D array in its dtype, in vector lanes."""
    total = values[0] - values[0]
    for j in range(values.size):
        total += values[j]
    return total


@njit(cache=True, parallel=True)
def _row_sums(rows, scale, out):
    """out[r] = scale * sum of rows[r], in parallel over rows: blocks of SUM_BLOCK summed
    in lanes, the block sums in float64 (as accurate as numpy's pairwise sum)."""
    for r in prange(rows.shape[0]):
        total = 0.0
        for start in range(0, rows.shape[1], SUM_BLOCK):
            total += _lane_sum(rows[r, start:start + SUM_BLOCK])
        out[r] = total * scale


def _trailing_axes(axis, ndim):
    """How many trailing axes `axis` names (all of them), or 0 if it names others too."""
    if axis is None:
        return ndim
    axes = sorted({int(a) % ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,))})
    return len(axes) if axes == list(range(ndim - len(axes), ndim)) else 0


def reduce(name, x, axis, keepdims):
    """np.sum / mean / max / min / prod of x over `axis` (None, int or tuple)."""
    if (name in ("sum", "mean") and large(x.size, PARALLEL_ARRAY_MIN_ELEMENTS)
            and x.dtype in (np.float32, np.float64) and x.flags.c_contiguous):
        tail = _trailing_axes(axis, x.ndim)
        if tail:
            kept = x.shape[:x.ndim - tail]
            rows = x.reshape(math.prod(kept), -1)
            out = np.empty(rows.shape[0], x.dtype)
            launch(_row_sums, x.size, rows, 1.0 if name == "sum" else 1.0 / rows.shape[1], out)
            return out.reshape(kept + (1,) * tail if keepdims else kept)
    return np.asarray(_REDUCTIONS[name](x, axis=axis, keepdims=keepdims))


def sum_to_shape(g, shape):
    """Sum a broadcast cotangent g back down to `shape` (numpy broadcasting in reverse)."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def extreme_backward(dy_kept, x, y_kept, axes):
    """Gradient of max/min over `axes`: dy shared equally among the positions attaining the
    extreme. dy_kept and y_kept have the reduced axes kept (size 1)."""
    hit = (x == y_kept)
    counts = hit.sum(axis=axes, keepdims=True).astype(dy_kept.dtype)   # not int64: keep dtype
    return hit * (dy_kept / counts)


def prod_backward(dy_kept, x, axes):
    """d prod / dx_i = product of the other elements: exclusive cumulative products from both
    sides, exact even where x has zeros."""
    axes = tuple(range(x.ndim)) if axes is None else tuple(a % x.ndim for a in np.atleast_1d(axes))
    rest = tuple(a for a in range(x.ndim) if a not in axes)
    moved = np.transpose(x, rest + axes)
    flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    return np.transpose(others, inverse_permutation(rest + axes)) * dy_kept


def inverse_permutation(perm):
    return tuple(int(i) for i in np.argsort(perm))


def getitem(x, key):
    """x[key] (numpy indexing: ints, slices, None, Ellipsis, index arrays)."""
    return x[key]


def getitem_backward(dy, shape, key):
    """dy into zeros of `shape` at `key`: written where the key is basic (each element once:
    np.add.at took 6.1 ms for a (128, 12, 12, 32) slice of a (128, 13, 13, 32) array, the
    write 0.13 ms), else scatter-added (repeated fancy indices accumulate)."""
    g = np.zeros(shape, dy.dtype)
    if basic_index(key):
        g[key] = dy
    else:
        np.add.at(g, key, dy)
    return g


def one_hot(indices, num_classes, axis, dtype):
    """Rows of the identity; indices outside [0, num_classes) give all-zero rows (as Keras)."""
    indices = np.asarray(indices, dtype=np.int64)
    valid = (indices >= 0) & (indices < num_classes)
    out = np.eye(num_classes, dtype=dtype)[np.where(valid, indices, 0)] * valid[..., None]
    return np.moveaxis(out, -1, axis) if axis != -1 else out


def _interior(pairs, shape) -> tuple:
    """The slices that select the original cells of a padded array of `shape`."""
    return tuple(slice(before, n - after) for (before, after), n in zip(pairs, shape))


def pad(x, pairs, value):
    """x with pairs[i] = (before, after) cells of `value` added along axis i."""
    y = np.full(tuple(n + a + b for n, (a, b) in zip(x.shape, pairs)), value, x.dtype)
    y[_interior(pairs, y.shape)] = x
    return y


def crop(x, pairs):
    """x without pairs[i] = (before, after) cells at the ends of axis i (a view)."""
    return x[_interior(pairs, x.shape)]
