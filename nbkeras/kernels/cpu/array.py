"""Elementwise arithmetic, reductions, shape changes and indexing: numpy's own kernels
(ufuncs, BLAS matmul), plus the few backward helpers numpy lacks."""
import numpy as np

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


def exp(x):
    return np.exp(x)


def log(x):
    return np.log(x)


def sqrt(x):
    return np.sqrt(x)


def square(x):
    return np.square(x)


def add(a, b):
    return np.add(a, b)


def subtract(a, b):
    return np.subtract(a, b)


def multiply(a, b):
    return np.multiply(a, b)


def divide(a, b):
    return np.divide(a, b)


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


def matmul(a, b):
    return np.matmul(a, b)


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


def reduce(name, x, axis, keepdims):
    """np.sum / mean / max / min / prod of x over `axis` (None, int or tuple)."""
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
