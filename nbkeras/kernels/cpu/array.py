"""Elementwise arithmetic, reductions, shape changes and indexing: numpy's own kernels
(ufuncs, BLAS matmul), plus the few backward helpers numpy lacks."""
import numpy as np
from numpy import (abs, add, argmax, asarray, broadcast_to, clip, concatenate, divide, equal,  # noqa: F401
                   exp, expand_dims, greater, greater_equal, less, less_equal, log, matmul,
                   maximum, minimum, multiply, negative, not_equal, ones_like, power, reshape,
                   sign, split, sqrt, square, squeeze, stack, subtract, swapaxes, transpose,
                   where, zeros, zeros_like)

__all__ = ["abs", "add", "argmax", "asarray", "broadcast_to", "clip", "concatenate", "divide", "equal",
           "exp", "expand_dims", "greater", "greater_equal", "less", "less_equal", "log",
           "matmul", "maximum", "minimum", "multiply", "negative", "not_equal", "ones_like",
           "power", "reshape", "sign", "split", "sqrt", "square", "squeeze", "stack", "subtract",
           "swapaxes", "transpose", "where", "zeros", "zeros_like", "reduce", "cast",
           "sum_to_shape", "extreme_backward", "prod_backward", "getitem", "getitem_backward",
           "one_hot", "inverse_permutation", "pad", "crop"]


def reduce(name, x, axis, keepdims):
    """np.sum / mean / max / min / prod of x over `axis` (None, int or tuple)."""
    return np.asarray(getattr(np, name)(x, axis=axis, keepdims=keepdims))


def cast(x, dtype):
    return x.astype(dtype)


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
    return hit * (dy_kept / hit.sum(axis=axes, keepdims=True))


def prod_backward(dy_kept, x, axis):
    """d prod / dx_i = product of the other elements: exclusive cumulative products from both
    sides, exact even where x has zeros."""
    axes = tuple(range(x.ndim)) if axis is None else tuple(a % x.ndim for a in np.atleast_1d(axis))
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
    """Scatter-add dy into zeros of `shape` at `key` (repeated fancy indices accumulate)."""
    g = np.zeros(shape, dy.dtype)
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
