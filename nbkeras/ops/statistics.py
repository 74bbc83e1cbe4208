"""Statistics over axes, named as in `keras.ops`: var, std, moments, all, any,
count_nonzero, ptp, average, logsumexp, trapezoid, median, quantile, percentile, and the
NaN-aware family nanmax, nanmin, nansum, nanprod, nanmean, nanvar, nanstd, nanargmax,
nanargmin, nanmedian, nanquantile, nanpercentile.

Most are compositions of differentiable ops, so their gradients are those of the
composition (JAX's): the NaN-aware ones replace NaN before reducing, so no gradient reaches
a NaN. Quantiles are one op: the rows are sorted and each quantile is a weighted sum of
the sorted values (the interpolation weights of `method`), so dy goes back through the sort
with those weights. Integer and boolean inputs give floatx where Keras gives floats; bool,
count and index outputs have no gradient."""
from __future__ import annotations

import builtins
import math
from dataclasses import dataclass

import numpy as np

from ..core.dtype import is_float
from ..core.spec import Spec
from . import elementwise as el
from . import reduction as red
from .composite import composite
from .core import argmax, argmin, cast, stop_gradient, where
from .op import Op, float_dtype
from .reduction import normalize_axes
from .shape import getitem, reshape, squeeze
from .sorting import as_tensor, check_axis, isnan

__all__ = ["var", "std", "moments", "all", "any", "count_nonzero", "ptp", "average",
           "logsumexp", "trapezoid", "median", "quantile", "percentile", "nanmax", "nanmin",
           "nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanargmax", "nanargmin",
           "nanmedian", "nanquantile", "nanpercentile"]

QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _float(x):
    """x as a tensor of a float dtype (integers and bools become floatx)."""
    x = as_tensor(x)
    return x if is_float(x.dtype) else cast(x, float_dtype(x.dtype))


def _scalar(value, like):
    """A 0-d numpy value of `like`'s dtype (Python numbers would promote int32 to int64)."""
    return np.asarray(value, like.dtype)


def _checked(x, axis, who: str):
    """x as a tensor, after checking `axis` against its rank (the error names `who`)."""
    x = as_tensor(x)
    normalize_axes(axis, len(x.shape), who)
    return x


def _count(mask, axis, keepdims):
    """How many elements of the bool `mask` are True over `axis` (int32)."""
    return cast(red.sum(cast(mask, "int32"), axis=axis, keepdims=keepdims), "int32")


# --------------------------------------------------------------------------- moments

@composite("axis", "keepdims")
def var(x, axis=None, keepdims=False):
    """Variance over `axis` (population: divides by the count). Float output."""
    x = _float(_checked(x, axis, "var"))
    deviation = el.subtract(x, red.mean(x, axis=axis, keepdims=True))
    return red.mean(el.square(deviation), axis=axis, keepdims=keepdims)


@composite("axis", "keepdims")
def std(x, axis=None, keepdims=False):
    """Standard deviation over `axis`: sqrt(var). Float output."""
    return el.sqrt(var(_checked(x, axis, "std"), axis=axis, keepdims=keepdims))


@composite("axes", "keepdims", "synchronized")
def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) of x over `axes`. `synchronized` (replicas' statistics, TensorFlow
    only in Keras) changes nothing on one device."""
    x = _float(_checked(x, axes, "moments"))
    mean = red.mean(x, axis=axes, keepdims=True)
    variance = red.mean(el.square(el.subtract(x, mean)), axis=axes, keepdims=keepdims)
    if not keepdims:
        mean = squeeze(mean, normalize_axes(axes, len(x.shape), "moments"))
    return mean, variance


# --------------------------------------------------------------------------- logic, counts

@composite("axis", "keepdims")
def any(x, axis=None, keepdims=False):  # noqa: A001 (Keras's name)
    """Whether some element over `axis` is nonzero (bool; False for none). No gradient."""
    x = _checked(x, axis, "any")
    return el.greater(_count(el.not_equal(x, _scalar(0, x)), axis, keepdims), 0)


@composite("axis", "keepdims")
def all(x, axis=None, keepdims=False):  # noqa: A001 (Keras's name)
    """Whether every element over `axis` is nonzero (bool; True for none). No gradient."""
    x = _checked(x, axis, "all")
    return el.equal(_count(el.equal(x, _scalar(0, x)), axis, keepdims), 0)


@composite("axis")
def count_nonzero(x, axis=None):
    """The number of nonzero elements over `axis` (int32). No gradient."""
    x = _checked(x, axis, "count_nonzero")
    return _count(el.not_equal(x, _scalar(0, x)), axis, False)


def ptp(x, axis=None, keepdims=False):
    """max - min over `axis` (x's dtype); the gradient goes to the two extremes."""
    x = _checked(x, axis, "ptp")
    return el.subtract(red.max(x, axis=axis, keepdims=keepdims),
                       red.min(x, axis=axis, keepdims=keepdims))


# --------------------------------------------------------------------------- weighted sums

@composite("axis", keywords=("weights",))
def average(x, axis=None, weights=None):
    """sum(x * weights) / sum(weights) over `axis` (the mean without weights). `weights`
    has x's shape, or is 1-D along the int `axis`. Differentiable in x and weights."""
    x = _float(x)
    if weights is None:
        return red.mean(x, axis=axis)
    weights = _float(weights)
    if tuple(weights.shape) != tuple(x.shape):
        if not isinstance(axis, int) or len(weights.shape) != 1:
            raise ValueError(f"average: weights of shape {weights.shape} differ from x's "
                             f"{x.shape}; then they must be 1-D along an int axis (axis="
                             f"{axis!r})")
        axis = check_axis(axis, len(x.shape), "average", x.shape)
        if weights.shape[0] != x.shape[axis]:
            raise ValueError(f"average: weights of shape {weights.shape} do not match axis "
                             f"{axis} of x (shape {x.shape})")
        weights = reshape(weights, tuple(-1 if i == axis else 1 for i in range(len(x.shape))))
    return el.divide(red.sum(el.multiply(x, weights), axis=axis),
                     red.sum(weights, axis=axis))


@composite("axis", "keepdims")
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed stably (the max is subtracted first; it
    carries no gradient, so the gradient is softmax(x))."""
    x = _float(_checked(x, axis, "logsumexp"))

    def finite_max(keep):
        peak = stop_gradient(red.max(x, axis=axis, keepdims=keep))
        finite = el.less(el.abs(peak), _scalar(np.inf, x))
        return where(finite, peak, _scalar(0, x))

    total = red.sum(el.exp(el.subtract(x, finite_max(True))), axis=axis, keepdims=keepdims)
    return el.add(el.log(total), finite_max(keepdims))


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The trapezoidal-rule integral of y along `axis`, at sample points x (1-D along the
    axis, or y's shape) or spacing dx. Differentiable in y and x."""
    y = _float(y)
    if len(y.shape) == 0:
        raise ValueError("trapezoid: y must have at least one axis; received a scalar")
    axis = check_axis(axis, len(y.shape), "trapezoid", y.shape)
    lead = (slice(None),) * axis
    if x is None:
        spacing = _scalar(dx, y)
    else:
        x = _float(x)
        if len(x.shape) == 1:
            x = reshape(x, tuple(-1 if i == axis else 1 for i in range(len(y.shape))))
        elif tuple(x.shape) != tuple(y.shape):
            raise ValueError(f"trapezoid: x must be 1-D or of y's shape; received shapes "
                             f"{x.shape} and {y.shape}")
        spacing = el.subtract(getitem(x, lead + (slice(1, None),)),
                              getitem(x, lead + (slice(None, -1),)))
    heights = el.add(getitem(y, lead + (slice(1, None),)), getitem(y, lead + (slice(None, -1),)))
    return red.sum(el.divide(el.multiply(spacing, heights), _scalar(2, y)), axis=axis)


# --------------------------------------------------------------------------- quantiles

@dataclass(frozen=True)
class Quantile(Op):
    """x -> the quantiles q (host values in [0, 1]) over `axes`: x's other axes, prefixed
    by (len(q),) for a 1-D q. Each row of x over `axes` is sorted (NaN last); quantile = sum
    of sorted * w, w the interpolation weights of `method` at the position q * (count - 1),
    count the row's length or, with ignore_nan, its non-NaN count (an all-NaN row gives NaN).
    The VJP sends dy * w back through the sort."""

    q: tuple
    vector: bool
    axes: tuple[int, ...]
    method: str
    keepdims: bool
    ignore_nan: bool

    def output_spec(self, x: Spec) -> Spec:
        shape = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape)
                      if self.keepdims or i not in self.axes)
        return Spec(((len(self.q),) if self.vector else ()) + shape, float_dtype(x.dtype))

    def _weights(self, k, position, n, dtype):
        """(Q, R, n) interpolation weights at `position` (Q, R, 1) for the columns 0..n-1."""
        j = k.asarray(np.arange(n, dtype=dtype))
        if self.method == "linear":              # the hat function: 1 - t and t either side
            return k.maximum(k.subtract(1, k.abs(k.subtract(j, position))), 0)
        lower = k.multiply(k.less_equal(j, position), k.less(position, k.add(j, 1)))
        higher = k.multiply(k.less(k.subtract(j, 1), position), k.less_equal(position, j))
        if self.method == "lower":
            return k.cast(lower, dtype)
        if self.method == "higher":
            return k.cast(higher, dtype)
        if self.method == "midpoint":
            return k.divide(k.add(k.cast(lower, dtype), k.cast(higher, dtype)), 2)
        distance = k.abs(k.subtract(j, position))     # nearest: halves go to the even side
        even = k.asarray(np.arange(n) % 2 == 0)
        return k.cast(k.add(k.less(distance, 0.5),
                            k.multiply(k.equal(distance, 0.5), even)), dtype)

    def forward(self, k, x):
        shape = x.shape
        rest = tuple(a for a in range(len(shape)) if a not in self.axes)
        n = math.prod(shape[a] for a in self.axes)
        rows = k.reshape(k.transpose(x, rest + self.axes), (-1, n))
        ordered, order = k.sort(rows)
        dtype = x.dtype
        q = k.asarray(np.asarray(self.q, dtype).reshape(-1, 1, 1))
        if self.ignore_nan:
            valid = k.equal(ordered, ordered)
            count = k.cast(k.reduce("sum", valid, 1, True), dtype)
            ordered = k.where(valid, ordered, np.zeros((), dtype))
        else:
            count = k.asarray(np.full((1, 1), n, dtype))
        weights = self._weights(k, k.multiply(q, k.subtract(count, 1)), n, dtype)
        if self.ignore_nan:             # an all-NaN row: NaN, and no gradient
            weights = k.multiply(weights, k.greater(count, 0))
        y = k.reduce("sum", k.multiply(ordered, weights), 2, False)
        if self.ignore_nan:
            y = k.where(k.equal(k.reshape(count, (-1,)), 0), np.asarray(np.nan, dtype), y)
        kept = tuple(1 if i in self.axes else m for i, m in enumerate(shape)
                     if self.keepdims or i not in self.axes)
        y = k.reshape(y, ((len(self.q),) if self.vector else ()) + kept)
        return y, (weights, order, shape, rest)

    def vjp(self, k, dy, residuals, needs):
        weights, order, shape, rest = residuals
        dy_rows = k.reshape(dy, (weights.shape[0], -1, 1))
        d_ordered = k.reduce("sum", k.multiply(dy_rows, weights), 0, False)
        d_rows = k.scatter_columns(d_ordered, order, order.shape[-1])
        moved = tuple(shape[a] for a in rest + self.axes)
        return (k.transpose(k.reshape(d_rows, moved),
                            k.inverse_permutation(rest + self.axes)),)


def _quantile(x, q, axis, method, keepdims, who, ignore_nan, scale=1.0):
    x = _float(x)
    if method not in QUANTILE_METHODS:
        raise ValueError(f"{who}: method must be one of {QUANTILE_METHODS}; received "
                         f"{method!r}")
    levels = np.asarray(q, np.float64) / scale
    if levels.ndim > 1 or not np.all((levels >= 0) & (levels <= 1)):
        raise ValueError(f"{who}: q must be a scalar or 1-D, with values in [0, "
                         f"{100 if scale != 1 else 1}]; received {np.asarray(q).tolist()}")
    axes = normalize_axes(axis, len(x.shape), who)
    if builtins.any(x.shape[a] is None for a in axes):
        raise ValueError(f"{who}: the reduced axes {axes} of x (shape {x.shape}) must have "
                         "known sizes")
    if builtins.any(x.shape[a] == 0 for a in axes):
        raise ValueError(f"{who}: cannot take quantiles over the empty axes {axes} of x "
                         f"(shape {x.shape})")
    op = Quantile(tuple(float(v) for v in levels.ravel()), levels.ndim == 1, axes, method,
                  bool(keepdims), ignore_nan)
    return op(x)


@composite("axis", "method", "keepdims")
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The q-th quantiles (q in [0, 1], a scalar or 1-D) of x over `axis` (all axes if
    None); a 1-D q adds a leading axis. `method`: linear, lower, higher, midpoint or nearest
    (numpy's). Any NaN in a slice gives NaN. Float output."""
    return _quantile(x, q, axis, method, keepdims, "quantile", False)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """quantile with q in percent ([0, 100])."""
    return _quantile(x, q, axis, method, keepdims, "percentile", False, scale=100.0)


@composite("axis", "keepdims")
def median(x, axis=None, keepdims=False):
    """The median of x over `axis` (the mean of the two middle values for even counts)."""
    return _quantile(x, 0.5, axis, "linear", keepdims, "median", False)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """quantile ignoring NaNs (an all-NaN slice gives NaN)."""
    return _quantile(x, q, axis, method, keepdims, "nanquantile", True)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """percentile ignoring NaNs (an all-NaN slice gives NaN)."""
    return _quantile(x, q, axis, method, keepdims, "nanpercentile", True, scale=100.0)


def nanmedian(x, axis=None, keepdims=False):
    """median ignoring NaNs (an all-NaN slice gives NaN)."""
    return _quantile(x, 0.5, axis, "linear", keepdims, "nanmedian", True)


# --------------------------------------------------------------------------- NaN-aware

def _without_nan(x, fill):
    """x with NaN replaced by `fill` (no gradient reaches those places); ints unchanged."""
    x = as_tensor(x)
    return where(isnan(x), _scalar(fill, x), x) if is_float(x.dtype) else x


def _all_nan(x, axis, keepdims):
    """Whether every element over `axis` is NaN."""
    return el.equal(_count(el.equal(x, x), axis, keepdims), 0)


def _integer_result(y, x):
    """Keras's integer result dtype of nansum/nanprod: small ints and bool sum as int32."""
    dtype = str(x.dtype)
    if is_float(dtype):
        return y
    return cast(y, "int32" if dtype in ("bool", "int8", "int16", "uint8", "uint16", "int32")
                else dtype)


def _nan_extreme(reduce, fill, who):
    def extreme(x, axis=None, keepdims=False):
        x = _checked(x, axis, who)
        y = reduce(_without_nan(x, fill), axis=axis, keepdims=keepdims)
        if not is_float(x.dtype):
            return y
        return where(_all_nan(x, axis, keepdims), _scalar(np.nan, x), y)
    return extreme


nanmax = _nan_extreme(red.max, -np.inf, "nanmax")
nanmax.__name__ = "nanmax"
nanmax.__doc__ = "max over `axis` ignoring NaNs (an all-NaN slice gives NaN)."
nanmin = _nan_extreme(red.min, np.inf, "nanmin")
nanmin.__name__ = "nanmin"
nanmin.__doc__ = "min over `axis` ignoring NaNs (an all-NaN slice gives NaN)."


def nansum(x, axis=None, keepdims=False):
    """sum over `axis` with NaNs counted as 0."""
    x = _checked(x, axis, "nansum")
    return _integer_result(red.sum(_without_nan(x, 0), axis=axis, keepdims=keepdims), x)


def nanprod(x, axis=None, keepdims=False):
    """prod over `axis` with NaNs counted as 1."""
    x = _checked(x, axis, "nanprod")
    return _integer_result(red.prod(_without_nan(x, 1), axis=axis, keepdims=keepdims), x)


def nanmean(x, axis=None, keepdims=False):
    """mean over `axis` of the non-NaN elements (NaN for none). Float output."""
    x = _float(_checked(x, axis, "nanmean"))
    count = cast(_count(el.equal(x, x), axis, keepdims), x.dtype)
    return el.divide(red.sum(_without_nan(x, 0), axis=axis, keepdims=keepdims), count)


def nanvar(x, axis=None, keepdims=False):
    """var over `axis` of the non-NaN elements (NaN for none). Float output."""
    x = _float(_checked(x, axis, "nanvar"))
    deviation = _without_nan(el.subtract(x, nanmean(x, axis=axis, keepdims=True)), 0)
    count = cast(_count(el.equal(x, x), axis, keepdims), x.dtype)
    return el.divide(red.sum(el.square(deviation), axis=axis, keepdims=keepdims), count)


def nanstd(x, axis=None, keepdims=False):
    """std over `axis` of the non-NaN elements: sqrt(nanvar). Float output."""
    return el.sqrt(nanvar(_checked(x, axis, "nanstd"), axis=axis, keepdims=keepdims))


def _nan_arg(find, fill, who):
    def arg(x, axis=None, keepdims=False):
        x = _checked(x, axis, who)
        index = find(_without_nan(x, fill), axis=axis, keepdims=keepdims)
        if not is_float(x.dtype):
            return index
        return where(_all_nan(x, axis, keepdims), np.asarray(-1, np.int32), index)
    return arg


nanargmax = _nan_arg(argmax, -np.inf, "nanargmax")
nanargmax.__name__ = "nanargmax"
nanargmax.__doc__ = ("int32 index of the largest non-NaN element over `axis` (-1 for an "
                     "all-NaN slice). No gradient.")
nanargmin = _nan_arg(argmin, np.inf, "nanargmin")
nanargmin.__name__ = "nanargmin"
nanargmin.__doc__ = ("int32 index of the smallest non-NaN element over `axis` (-1 for an "
                     "all-NaN slice). No gradient.")
