"""The nn functions of keras.ops that are not kernels of their own: the extra activations
(celu, glu, hard_shrink, hard_silu, hard_tanh, log_sigmoid, soft_shrink, sparse_plus,
sparse_sigmoid, sparsemax, squareplus, tanh_shrink, threshold), normalize, rms_normalization,
psnr, depth_to_space / space_to_depth, multi_hot, adaptive average / max pooling, and unfold /
fold (im2col and col2im).

Each is composed from existing ops (elementwise, where, reductions, sort, shape and indexing
ops), so it runs on every device and differentiates through their VJPs, as Keras's JAX
backend differentiates the same formulas. Integer inputs become floatx where Keras returns
floats; `hard_tanh` and `threshold` keep integers as Keras does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import config
from ..core.dtype import is_float, standardize_dtype
from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from ..core.tensor import Tensor
from .activation import hard_sigmoid, sigmoid, softplus, tanh
from .composite import composite
from .core import cast, clip, one_hot, where
from .elementwise import (absolute, add, divide, exp, greater, less, less_equal, log, maximum,
                          minimum, multiply, negative, sqrt, square, subtract)
from .linalg import norm
from .matmul import matmul
from .op import Op, convert_to_tensor, float_dtype
from .padding import pad
from .manipulation import take
from .reduction import max as reduce_max, mean, normalize_axes, sum as reduce_sum
from .shape import getitem, moveaxis, reshape, split, transpose
from .sorting import cumsum, sort

__all__ = ["celu", "glu", "hard_shrink", "hard_silu", "hard_swish", "hard_tanh", "log_sigmoid",
           "soft_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus",
           "tanh_shrink", "threshold", "normalize", "rms_normalization", "psnr",
           "depth_to_space", "space_to_depth", "multi_hot", "adaptive_average_pool",
           "adaptive_max_pool", "unfold", "fold"]


def _tensor(x):
    return x if isinstance(x, (Tensor, KerasTensor)) else convert_to_tensor(x)


def _floating(x):
    """x as a tensor of a float dtype (integers and bools become floatx)."""
    x = _tensor(x)
    return x if is_float(x.dtype) else cast(x, config.floatx())


def _like(value, x) -> np.ndarray:
    """A scalar constant of x's dtype (a bare Python number would promote float32)."""
    return np.asarray(value, dtype=x.dtype)


# ---- activations -------------------------------------------------------------------------

@composite("alpha")
def celu(x, alpha=1.0):
    """x where x > 0, else alpha * (exp(x / alpha) - 1); same shape."""
    x = _floating(x)
    negative_part = minimum(x, 0)        # exp never sees large x, so no inf * 0 in the VJP
    return where(greater(x, 0), x,
                 multiply(subtract(exp(divide(negative_part, float(alpha))), 1), float(alpha)))


@composite("axis")
def glu(x, axis=-1):
    """a * sigmoid(b) for the two halves a, b of x along `axis` (its size must be even)."""
    x = _floating(x)
    size = x.shape[normalize_axes(axis, len(x.shape), "glu")[0]]
    if size is not None and size % 2:
        raise ValueError(f"glu: axis {axis} of x must have an even size; received x.shape="
                         f"{tuple(x.shape)}")
    a, b = split(x, 2, axis=axis)
    return multiply(a, sigmoid(b))


@composite("threshold")
def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    x = _floating(x)
    return where(greater(absolute(x), float(threshold)), x, _like(0, x))


@composite()
def hard_silu(x):
    """x * hard_sigmoid(x) = x * relu6(x + 3) / 6."""
    x = _floating(x)
    return multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


@composite()
def hard_tanh(x):
    """x limited to [-1, 1]; integer inputs stay integers (as Keras)."""
    x = _tensor(x)
    return maximum(minimum(x, 1), -1)


@composite()
def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    return negative(softplus(negative(_floating(x))))


@composite("threshold")
def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, else 0."""
    x = _floating(x)
    t = float(threshold)
    return where(greater(x, t), subtract(x, t), where(less(x, -t), add(x, t), _like(0, x)))


@composite()
def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 on (-1, 1), x for x >= 1."""
    x = _floating(x)
    middle = divide(square(add(x, 1)), 4)
    return where(less_equal(x, -1), _like(0, x), where(greater(x, 1), x, middle))


@composite()
def sparse_sigmoid(x):
    """(clip(x, -1, 1) + 1) / 2."""
    return multiply(add(clip(_floating(x), -1.0, 1.0), 1), 0.5)


@composite("b")
def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2."""
    x = _floating(x)
    return multiply(add(x, sqrt(add(square(x), float(b)))), 0.5)


@composite()
def tanh_shrink(x):
    """x - tanh(x)."""
    x = _floating(x)
    return subtract(x, tanh(x))


@composite("threshold", "default_value")
def threshold(x, threshold, default_value):
    """x where x > threshold, else default_value. Integer x stays integer unless
    default_value is a float (then floatx)."""
    x = _tensor(x)
    if not is_float(x.dtype) and isinstance(default_value, float):
        x = cast(x, config.floatx())
    return where(greater(x, threshold), x, _like(default_value, x))


@composite("axis")
def sparsemax(x, axis=-1):
    """The Euclidean projection of x onto the probability simplex along `axis` (Martins &
    Astudillo, 2016): max(x - tau, 0), tau = (sum of the k largest - 1) / k for the largest k
    with z_(k) > (sum of the k largest - 1) / k. Same shape; each slice sums to 1. (Keras
    3.15's formula sums the running sums instead, which agrees only when one entry is
    nonzero; this is the projection its docstring defines.)"""
    x = _floating(x)
    axis = normalize_axes(axis, len(x.shape), "sparsemax")[0]
    n = x.shape[axis]
    if n is None:
        raise ValueError(f"sparsemax: the size of axis {axis} must be known; received "
                         f"x.shape={tuple(x.shape)}")
    descending = negative(sort(negative(x), axis=axis))
    ranks = np.arange(1, n + 1, dtype=x.dtype).reshape([-1 if i == axis else 1
                                                        for i in range(len(x.shape))])
    support = greater(multiply(descending, ranks),          # z_(k) k > sum of the k largest - 1
                      subtract(cumsum(descending, axis=axis), 1))
    count = reduce_sum(cast(support, x.dtype), axis=axis, keepdims=True)
    top = reduce_sum(where(support, descending, _like(0, x)), axis=axis, keepdims=True)
    return maximum(subtract(x, divide(subtract(top, 1), count)), 0)


# ---- normalization, psnr -------------------------------------------------------------------

@composite("axis", "order", "epsilon")
def normalize(x, axis=-1, order=2, epsilon=None):
    """x divided by its `order`-norm along `axis` (kept >= epsilon, default
    `nk.config.epsilon()`); a scalar x becomes shape (1,). Integer x becomes floatx."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1; received order={order!r}")
    x = _floating(x)
    if not len(x.shape):
        x = reshape(x, (1,))
    epsilon = config.epsilon() if epsilon is None else float(epsilon)
    if order == 2:   # as Keras: x * min(1 / sqrt(sum x^2), 1 / epsilon)
        inverse = divide(1, sqrt(reduce_sum(square(x), axis=axis, keepdims=True)))
        return multiply(x, minimum(inverse, 1.0 / epsilon))
    return divide(x, maximum(norm(x, ord=order, axis=axis, keepdims=True), epsilon))


@composite("axis", "epsilon", keywords=("scale",))
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x / sqrt(mean(x^2 over axis) + epsilon) * scale, computed in at least float32 and
    returned in x's dtype (integers truncate, as Keras's cast back does)."""
    x = _tensor(x)
    original = x.dtype
    if not (is_float(x.dtype) and np.dtype(x.dtype).itemsize >= 4):
        x = cast(x, "float32")
    if not len(x.shape):
        x = reshape(x, (1,))
    epsilon = config.epsilon() if epsilon is None else float(epsilon)
    axis = tuple(sorted(axis)) if isinstance(axis, (tuple, list)) else axis
    y = divide(x, sqrt(add(mean(square(x), axis=axis, keepdims=True), epsilon)))
    if scale is not None:
        y = multiply(y, cast(_tensor(scale), y.dtype))
    return y if y.dtype == original else cast(y, original)


def psnr(x1, x2, max_val):
    """20 log10(max_val) - 10 log10(mean((x1 - x2)^2)): a scalar of the inputs' float dtype.
    x1 and x2 must have the same shape."""
    x1, x2 = _tensor(x1), _tensor(x2)
    if tuple(x1.shape) != tuple(x2.shape):
        raise ValueError(f"psnr: x1 and x2 must have the same shape; received x1.shape="
                         f"{tuple(x1.shape)} and x2.shape={tuple(x2.shape)}")
    dtype = float_dtype(np.result_type(np.dtype(x1.dtype), np.dtype(x2.dtype)).name)
    mse = mean(square(subtract(cast(x1, dtype), cast(x2, dtype))))
    return subtract(_like(20 * math.log10(float(max_val)), mse),
                    multiply(log(mse), _like(10 / math.log(10), mse)))


# ---- depth_to_space, space_to_depth ---------------------------------------------------------

def _image_4d(x, block_size: int, data_format: str, who: str):
    x = _tensor(x)
    if len(x.shape) != 4:
        raise ValueError(f"{who}: x must be 4-D (batch, height, width, channels); received "
                         f"x.shape={tuple(x.shape)}")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: data_format must be 'channels_last' or 'channels_first'; "
                         f"received data_format={data_format!r}")
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"{who}: block_size must be a positive int; received "
                         f"block_size={block_size!r}")
    return x


@composite("block_size", "data_format")
def depth_to_space(x, block_size, data_format="channels_last"):
    """(N, H, W, C) -> (N, H b, W b, C / b^2) (channels_first: (N, C, H, W) -> (N, C / b^2,
    H b, W b)); channels_last reads the channels as (b, b, C'), channels_first as (C', b, b),
    as Keras does."""
    x = _image_4d(x, block_size, data_format, "depth_to_space")
    b = block_size
    _, h, w, c = _nhwc(x.shape, data_format)
    if c is not None and c % (b * b):
        raise ValueError(f"depth_to_space: the channels ({c}) must be divisible by "
                         f"block_size ** 2 = {b * b}; received x.shape={tuple(x.shape)}")
    c2 = None if c is None else c // (b * b)
    dims = lambda n: -1 if n is None else n   # noqa: E731
    if data_format == "channels_last":
        y = transpose(reshape(x, (-1, dims(h), dims(w), b, b, dims(c2))), (0, 1, 3, 2, 4, 5))
        return reshape(y, (-1, _times(h, b), _times(w, b), dims(c2)))
    y = transpose(reshape(x, (-1, dims(c2), b, b, dims(h), dims(w))), (0, 1, 4, 2, 5, 3))
    return reshape(y, (-1, dims(c2), _times(h, b), _times(w, b)))


@composite("block_size", "data_format")
def space_to_depth(x, block_size, data_format="channels_last"):
    """The inverse of depth_to_space: (N, H, W, C) -> (N, H / b, W / b, C b^2)
    (channels_first: (N, C, H, W) -> (N, C b^2, H / b, W / b))."""
    x = _image_4d(x, block_size, data_format, "space_to_depth")
    b = block_size
    _, h, w, c = _nhwc(x.shape, data_format)
    if any(n is not None and n % b for n in (h, w)):
        raise ValueError(f"space_to_depth: height and width must be divisible by block_size "
                         f"= {b}; received x.shape={tuple(x.shape)}")
    h2, w2 = (None if n is None else n // b for n in (h, w))
    dims = lambda n: -1 if n is None else n   # noqa: E731
    if data_format == "channels_last":
        y = transpose(reshape(x, (-1, dims(h2), b, dims(w2), b, dims(c))), (0, 1, 3, 2, 4, 5))
        return reshape(y, (-1, dims(h2), dims(w2), _times(c, b * b)))
    y = transpose(reshape(x, (-1, dims(c), dims(h2), b, dims(w2), b)), (0, 1, 3, 5, 2, 4))
    return reshape(y, (-1, _times(c, b * b), dims(h2), dims(w2)))


def _times(n, factor: int) -> int:
    return -1 if n is None else n * factor


def _nhwc(shape, data_format: str) -> tuple:
    return tuple(shape) if data_format == "channels_last" else (shape[0], *shape[2:], shape[1])


# ---- multi_hot ----------------------------------------------------------------------------

def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Integer labels -> multi-hot vectors, as Keras: one_hot(inputs, num_classes, axis)
    reduced by max over axis 1 (axis 0 for 1-D inputs), so (B, L) -> (B, num_classes).
    `num_tokens` is accepted for num_classes. dtype defaults to floatx; no gradient.
    nbkeras has no sparse tensors: sparse=True raises."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"multi_hot: unexpected arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("multi_hot: num_classes must be specified")
    return _multi_hot(inputs, num_classes, axis, dtype, sparse)


@composite("num_classes", "axis", "dtype", "sparse", resolve={"dtype": standardize_dtype})
def _multi_hot(inputs, num_classes, axis, dtype, sparse):
    """multi_hot with its arguments checked; one node in a graph (Keras's MultiHot op)."""
    if sparse:
        raise ValueError("multi_hot: sparse=True needs sparse tensors, which nbkeras does not "
                         "have; use sparse=False")
    inputs = _tensor(inputs)
    rank = len(inputs.shape)
    if not (axis == -1 or 0 <= axis < max(rank, 1)):
        raise ValueError(f"multi_hot: axis must be -1 or in [0, {rank}); received axis={axis}")
    dtype = standardize_dtype(dtype)
    encoded = one_hot(cast(inputs, "int32"), num_classes, axis=axis, dtype=dtype)
    return reduce_max(encoded, axis=1 if rank > 1 else 0)


# ---- adaptive pooling -----------------------------------------------------------------------

def _bins(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin j covers [floor(j n_in / n_out), ceil((j + 1) n_in / n_out)), as PyTorch and Keras."""
    j = np.arange(n_out)
    return (j * n_in) // n_out, -((-(j + 1) * n_in) // n_out)


def _image_data_format(data_format) -> str:
    """`data_format`, or the configured one for None."""
    return config.image_data_format() if data_format is None else data_format


def _adaptive_pool(x, output_size, data_format, who: str, pool_axis):
    """x (N, *spatial, C) or (N, C, *spatial) with 1 to 3 spatial axes -> the same layout
    with spatial sizes `output_size`; `pool_axis(x, axis, n_out)` pools one spatial axis."""
    x = _floating(x)
    data_format = _image_data_format(data_format)
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: data_format must be 'channels_last' or 'channels_first'; "
                         f"received data_format={data_format!r}")
    dims = len(x.shape) - 2
    if dims not in (1, 2, 3):
        raise ValueError(f"{who}: inputs must have 1 to 3 spatial axes (rank 3 to 5); "
                         f"received shape {tuple(x.shape)}")
    sizes = (output_size,) * dims if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != dims or any(not isinstance(n, int) or n < 1 for n in sizes):
        raise ValueError(f"{who}: output_size must be a positive int or {dims} of them; "
                         f"received output_size={output_size!r}")
    first = 1 if data_format == "channels_last" else 2
    for i, n_out in enumerate(sizes):
        if x.shape[first + i] is None:
            raise ValueError(f"{who}: spatial sizes must be known; received shape "
                             f"{tuple(x.shape)}")
        x = pool_axis(x, first + i, n_out)
    return x


def _average_axis(x, axis: int, n_out: int):
    """The mean of each bin along `axis`: a matmul by the (n_in, n_out) averaging matrix."""
    n_in = x.shape[axis]
    starts, ends = _bins(n_in, n_out)
    cells = np.arange(n_in)[:, None]
    weights = ((cells >= starts) & (cells < ends)) / (ends - starts)
    return moveaxis(matmul(moveaxis(x, axis, -1), weights.astype(x.dtype)), -1, axis)


def _max_axis(x, axis: int, n_out: int):
    """The max of each bin along `axis`: gather each bin's cells (short bins repeat their
    first cell, which leaves the max alone) and reduce them."""
    starts, ends = _bins(x.shape[axis], n_out)
    width = int((ends - starts).max())
    offsets = np.arange(width)
    cells = np.where(offsets < (ends - starts)[:, None], starts[:, None] + offsets,
                     starts[:, None])
    return reduce_max(take(x, cells, axis=axis), axis=axis + 1)


@composite("output_size", "data_format", resolve={"data_format": _image_data_format})
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Mean over adaptive bins: (N, *spatial, C) -> (N, *output_size, C) (channels_first:
    (N, C, *spatial) -> (N, C, *output_size)); 1-3 spatial axes; bin j of an axis of n cells
    is [floor(j n / out), ceil((j + 1) n / out))."""
    return _adaptive_pool(inputs, output_size, data_format, "adaptive_average_pool",
                          _average_axis)


@composite("output_size", "data_format", resolve={"data_format": _image_data_format})
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max over the bins of adaptive_average_pool; the gradient goes to each bin's maxima."""
    return _adaptive_pool(inputs, output_size, data_format, "adaptive_max_pool", _max_axis)


# ---- unfold / fold (im2col / col2im) ----------------------------------------------------------

def _pairs(who: str, **values) -> list[tuple[int, int]]:
    out = []
    for name, v in values.items():
        pair = (v, v) if isinstance(v, int) else tuple(v)
        if len(pair) != 2 or any(not isinstance(n, int) for n in pair):
            raise ValueError(f"{who}: {name} must be an int or a pair of ints; received "
                             f"{name}={v!r}")
        out.append(pair)
    return out


def _patch_index(size, kernel, dilation, padding, stride, who: str):
    """(padded (Hp, Wp), flat cell index (kh kw, oh ow) into the padded image) of im2col."""
    padded = [n + 2 * p for n, p in zip(size, padding)]
    out = [(n - d * (k - 1) - 1) // s + 1 for n, k, d, s in zip(padded, kernel, dilation, stride)]
    if min(out) < 1 or min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 \
            or min(padding) < 0:
        raise ValueError(f"{who}: kernel_size={kernel}, dilation={dilation}, padding={padding}, "
                         f"stride={stride} give no patch of an image of size {tuple(size)}")
    rows = (np.arange(kernel[0])[:, None, None, None] * dilation[0]
            + np.arange(out[0])[None, None, :, None] * stride[0])
    cols = (np.arange(kernel[1])[None, :, None, None] * dilation[1]
            + np.arange(out[1])[None, None, None, :] * stride[1])
    index = rows * padded[1] + cols
    return padded, index.reshape(kernel[0] * kernel[1], out[0] * out[1])


@composite("kernel_size", "dilation", "padding", "stride")
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding patches (im2col): x (N, C, H, W) -> (N, C kh kw, L), L patches in row-major
    order; feature c kh kw + i kw + j is channel c at kernel cell (i, j), as Keras."""
    x = _tensor(x)
    if len(x.shape) != 4:
        raise ValueError(f"unfold: x must be 4-D (N, C, H, W); received x.shape="
                         f"{tuple(x.shape)}")
    kernel, dilation, padding, stride = _pairs("unfold", kernel_size=kernel_size,
                                               dilation=dilation, padding=padding,
                                               stride=stride)
    _, c, h, w = x.shape
    padded, index = _patch_index((h, w), kernel, dilation, padding, stride, "unfold")
    if any(padding):
        x = pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    patches = take(reshape(x, (-1, c, padded[0] * padded[1])), index, axis=2)
    return reshape(patches, (-1, c * index.shape[0], index.shape[1]))


@dataclass(frozen=True)
class AddAt(Op):
    """x (N, C, *index.shape) -> zeros (N, C, size) with x added at the flat cells `index`
    (repeated cells sum): the adjoint of y[:, :, index]. Its VJP is that gather."""

    index: np.ndarray
    size: int

    def output_spec(self, x: Spec) -> Spec:
        return Spec((x.shape[0], x.shape[1], self.size), x.dtype)

    def forward(self, k, x):
        key = (slice(None), slice(None), self.index)
        return k.getitem_backward(x, (x.shape[0], x.shape[1], self.size), key), ()

    def vjp(self, k, dy, residuals, needs):
        return (k.getitem(dy, (slice(None), slice(None), self.index)),)


@composite("output_size", "kernel_size", "dilation", "padding", "stride")
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Patches back to an image (col2im), the adjoint of unfold: x (N, C kh kw, L) -> (N, C,
    *output_size), overlapping cells summed."""
    x = _floating(x)
    if len(x.shape) != 3:
        raise ValueError(f"fold: x must be 3-D (N, C*kh*kw, L); received x.shape="
                         f"{tuple(x.shape)}")
    size, kernel, dilation, padding, stride = _pairs(
        "fold", output_size=output_size, kernel_size=kernel_size, dilation=dilation,
        padding=padding, stride=stride)
    padded, index = _patch_index(size, kernel, dilation, padding, stride, "fold")
    _, features, length = x.shape
    if features % index.shape[0] or length != index.shape[1]:
        raise ValueError(f"fold: x.shape={tuple(x.shape)} does not hold C*{index.shape[0]} "
                         f"features of {index.shape[1]} patches (output_size={size}, "
                         f"kernel_size={kernel})")
    c = features // index.shape[0]
    image = AddAt(index, padded[0] * padded[1])(reshape(x, (-1, c, *index.shape)))
    image = reshape(image, (-1, c, *padded))
    return getitem(image, (slice(None), slice(None), slice(padding[0], padding[0] + size[0]),
                           slice(padding[1], padding[1] + size[1])))
