"""Sorting, selection, searching, counting and running (cumulative) ops, named as in
`keras.ops`: sort, argsort, top_k, in_top_k, argpartition, searchsorted, digitize, isin,
unique, nonzero, bincount, histogram, cumsum, cumprod, nancumsum, nancumprod, diff.

Differentiable: sort and top_k's values (dy goes back to the position each value came from),
cumsum, cumprod, nancumsum, nancumprod, diff and bincount's weights. Index, boolean and count
outputs have no gradient. Ops whose output size depends on the values (unique, nonzero) read
that size from the device; on KerasTensors their sizes are unknown (None)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import config
from ..core.dtype import is_float, standardize_dtype
from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from ..core.tensor import Tensor
from . import elementwise as el
from .composite import composite
from .core import cast, one_hot, where
from .op import Op, convert_to_tensor
from .reduction import sum as reduce_sum
from .shape import getitem, reshape

__all__ = ["sort", "argsort", "top_k", "in_top_k", "argpartition", "searchsorted", "digitize",
           "isin", "unique", "nonzero", "bincount", "histogram", "cumsum", "cumprod",
           "nancumsum", "nancumprod", "diff"]


def as_tensor(x):
    """x itself if a Tensor or KerasTensor, else x converted (arrays, numbers, lists)."""
    return x if isinstance(x, (KerasTensor, Tensor)) else convert_to_tensor(x)


def check_axis(axis: int, ndim: int, who: str, shape) -> int:
    """`axis` as a non-negative axis of a tensor of `shape`; a clear error if out of range."""
    if not -ndim <= axis < ndim:
        raise ValueError(f"{who}: axis {axis} is out of range for x of shape {tuple(shape)}")
    return axis % ndim


def isnan(x):
    """Whether each element is NaN (always False for integers and bools), bool."""
    return el.not_equal(x, x)


# --------------------------------------------------------------------------- sort, top_k

@dataclass(frozen=True)
class Sort(Op):
    """x -> (values sorted along `axis`, int32 indices they came from): ascending, stable,
    NaN last. Gradients flow from the values only: dy goes back to where each came from."""

    axis: int
    n_outputs = 2
    differentiable_outputs = (0,)

    def output_spec(self, x: Spec):
        return Spec(x.shape, x.dtype), Spec(x.shape, "int32")

    def forward(self, k, x):
        values, indices = k.sort(k.swapaxes(x, self.axis, -1))
        return ((k.swapaxes(values, self.axis, -1),
                 k.cast(k.swapaxes(indices, self.axis, -1), "int32")), (indices,))

    def vjp(self, k, dy, residuals, needs):
        (indices,) = residuals
        if dy[0] is None:
            return (None,)
        moved = k.swapaxes(dy[0], self.axis, -1)
        dx = k.scatter_columns(moved, indices, indices.shape[-1])
        return (k.swapaxes(dx, self.axis, -1),)


@dataclass(frozen=True)
class TopK(Op):
    """x (..., n) -> (the k largest along the last axis (..., k), largest first, their int32
    indices); equal values in index order, NaN largest. dy goes back to those positions."""

    k: int
    n_outputs = 2
    differentiable_outputs = (0,)

    def output_spec(self, x: Spec):
        shape = x.shape[:-1] + (self.k,)
        return Spec(shape, x.dtype), Spec(shape, "int32")

    def forward(self, k, x):
        values, indices = k.top_k(x, self.k)
        return (values, k.cast(indices, "int32")), (indices, x.shape[-1])

    def vjp(self, k, dy, residuals, needs):
        indices, n = residuals
        return (None if dy[0] is None else k.scatter_columns(dy[0], indices, n),)


def _sort_axis(x, axis: int, who: str) -> int:
    if len(x.shape) == 0:
        raise ValueError(f"{who}: x must have at least one axis; received a scalar")
    return check_axis(axis, len(x.shape), who, x.shape)


@composite("axis")
def sort(x, axis=-1):
    """x sorted along `axis` (ascending, NaN last). The gradient goes back through the
    permutation."""
    x = as_tensor(x)
    return Sort(_sort_axis(x, axis, "sort"))(x)[0]


@composite("axis")
def argsort(x, axis=-1):
    """int32 indices that sort x along `axis` (stable: equal values keep their order). No
    gradient."""
    x = as_tensor(x)
    return Sort(_sort_axis(x, axis, "argsort"))(x)[1]


def argpartition(x, kth, axis=-1):
    """int32 indices that put the kth smallest element of each slice along `axis` in place,
    smaller ones before it and larger ones after: here the indices of a full stable sort, a
    valid partition for every kth. No gradient."""
    x = as_tensor(x)
    axis = _sort_axis(x, axis, "argpartition")
    n = x.shape[axis]
    if n is not None and not -n <= int(kth) < n:
        raise ValueError(f"argpartition: kth={kth} is out of range for axis {axis} of x "
                         f"(shape {x.shape})")
    return Sort(axis)(x)[1]


@composite("k", "sorted")
def top_k(x, k, sorted=True):  # noqa: A002 (Keras's name)
    """(values, int32 indices) of the k largest entries along the last axis, largest first
    (also when sorted=False). The gradient of the values goes back to their positions."""
    x = as_tensor(x)
    n = x.shape[-1] if x.shape else 0
    if not 0 <= int(k) <= (int(k) if n is None else n):
        raise ValueError(f"top_k: k={k} must be in [0, the last axis of x]; received x of "
                         f"shape {x.shape}")
    return TopK(int(k))(x)


def in_top_k(targets, predictions, k):
    """targets (B,) int, predictions (B, C) -> bool (B,): whether predictions[i, targets[i]]
    is at least the k-th largest of row i (ties count as in). No gradient."""
    targets, predictions = as_tensor(targets), as_tensor(predictions)
    if len(predictions.shape) != 2 or len(targets.shape) != 1:
        raise ValueError(f"in_top_k: expected targets (batch,) and predictions (batch, "
                         f"classes); received shapes {targets.shape} and {predictions.shape}")
    hit = cast(one_hot(targets, predictions.shape[-1], dtype="int32"), "bool")
    target = reduce_sum(where(hit, predictions, np.zeros((), predictions.dtype)), axis=-1)
    kth = getitem(top_k(predictions, k)[0], (Ellipsis, int(k) - 1))
    return el.greater_equal(target, kth)


# --------------------------------------------------------------------------- searching

@dataclass(frozen=True)
class SearchSorted(Op):
    """sorted_sequence (n,), values (any shape) -> int32 insertion points, values' shape."""

    right: bool

    def output_spec(self, sequence: Spec, values: Spec) -> Spec:
        if len(sequence.shape) != 1:
            raise ValueError(f"searchsorted: sorted_sequence must be 1-D; received shape "
                             f"{sequence.shape}")
        return Spec(values.shape, "int32")

    def forward(self, k, sequence, values):
        return k.cast(k.searchsorted(sequence, values, self.right), "int32"), ()

    def vjp(self, k, dy, residuals, needs): return (None, None)


def searchsorted(sorted_sequence, values, side="left"):
    """int32 positions at which `values` would be inserted into the ascending 1-D
    `sorted_sequence` to keep it sorted: before equal elements ("left") or after them
    ("right"). No gradient."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right'; received {side!r}")
    return SearchSorted(side == "right")(as_tensor(sorted_sequence), as_tensor(values))


@dataclass(frozen=True)
class Digitize(Op):
    """x (any shape), bins (n,) monotonic -> int32 bin index of each x: i with
    bins[i-1] <= x < bins[i] for increasing bins, bins[i-1] > x >= bins[i] for decreasing."""

    def output_spec(self, x: Spec, bins: Spec) -> Spec:
        if len(bins.shape) != 1:
            raise ValueError(f"digitize: bins must be 1-D; received shape {bins.shape}")
        return Spec(x.shape, "int32")

    def forward(self, k, x, bins):
        n = bins.shape[0]
        increasing = k.searchsorted(bins, x, True)
        if n == 0:
            return k.cast(increasing, "int32"), ()
        decreasing = k.subtract(n, k.searchsorted(k.getitem(bins, slice(None, None, -1)), x, True))
        rising = k.greater_equal(k.getitem(bins, -1), k.getitem(bins, 0))
        return k.cast(k.where(rising, increasing, decreasing), "int32"), ()

    def vjp(self, k, dy, residuals, needs): return (None, None)


def digitize(x, bins):
    """int32 index of the bin of each element of x (numpy's digitize, right=False). No
    gradient."""
    return Digitize()(as_tensor(x), as_tensor(bins))


@dataclass(frozen=True)
class IsIn(Op):
    """x1 (any shape), x2 (any shape) -> bool, x1's shape: whether each x1 is in x2 (not in
    it, when invert): a binary search of x1 in sorted x2 finds an equal element."""

    invert: bool

    def output_spec(self, x1: Spec, x2: Spec) -> Spec: return Spec(x1.shape, "bool")

    def forward(self, k, x1, x2):
        table, _ = k.sort(k.reshape(x2, (-1,)))
        found = k.greater(k.searchsorted(table, x1, True), k.searchsorted(table, x1, False))
        return (k.equal(found, False) if self.invert else found), ()

    def vjp(self, k, dy, residuals, needs): return (None, None)


def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each element of x1 occurs in x2 (bool, x1's shape; negated when `invert`).
    No gradient."""
    return IsIn(bool(invert))(as_tensor(x1), as_tensor(x2))


# --------------------------------------------------------------------------- counting

@dataclass(frozen=True)
class Unique(Op):
    """x -> the sorted distinct values (slices along `axis`, if given), then as asked: the
    int32 index of each one's first occurrence, the int32 inverse (x's shape, or (n,) along
    axis) and the int32 counts. `size` pads (with `fill_value`, default the smallest value)
    or truncates; otherwise the count is the data's (None when symbolic)."""

    axis: int | None
    return_index: bool
    return_inverse: bool
    return_counts: bool
    size: int | None
    fill_value: object

    @property
    def n_outputs(self) -> int:
        return 1 + self.return_index + self.return_inverse + self.return_counts

    def output_spec(self, x: Spec):
        if self.axis is None:
            values = Spec((self.size,), x.dtype)
            inverse = Spec(x.shape, "int32")
        else:
            shape = list(x.shape)
            shape[self.axis] = self.size
            values = Spec(tuple(shape), x.dtype)
            inverse = Spec((x.shape[self.axis],), "int32")
        specs = [values]
        specs += [Spec((self.size,), "int32")] * self.return_index
        specs += [inverse] * self.return_inverse
        specs += [Spec((self.size,), "int32")] * self.return_counts
        return tuple(specs) if self.n_outputs > 1 else values

    def _rows_order(self, k, rows):
        """The stable lexicographic order of the rows of (m, c) `rows`: stable sorts by the
        last column first, then by each column before it."""
        order = k.asarray(np.arange(rows.shape[0], dtype=np.int64))
        for c in range(rows.shape[1] - 1, -1, -1):
            _, by_column = k.sort(k.getitem(rows, (order, c)))
            order = k.getitem(order, by_column)
        return order

    def forward(self, k, x):
        # the unique axis first, the others after it in order (numpy's lexicographic order)
        axes = (() if self.axis is None else
                (self.axis,) + tuple(a for a in range(len(x.shape)) if a != self.axis))
        moved = k.reshape(x, (-1,)) if self.axis is None else k.transpose(x, axes)
        n = moved.shape[0]
        rows = k.reshape(moved, (n, -1))        # one row per candidate: an element or a slice
        order = (k.sort(moved)[1] if self.axis is None else self._rows_order(k, rows))
        ranked = k.getitem(rows, order)
        changed = k.not_equal(k.getitem(ranked, slice(1, None)),
                              k.getitem(ranked, slice(None, -1)))
        starts = k.concatenate([k.asarray(np.ones(min(n, 1), bool)),
                                k.greater(k.reduce("sum", changed, 1, False), 0)], 0)
        picked = k.reshape(k.getitem(ranked, starts), (-1,) + tuple(moved.shape[1:]))
        values = (picked if self.axis is None
                  else k.transpose(picked, k.inverse_permutation(axes)))
        first = k.getitem(k.asarray(np.arange(n, dtype=np.int64)), starts)
        outputs = [values]
        if self.return_index:
            outputs.append(k.getitem(order, first))
        if self.return_inverse:
            group = k.subtract(k.cumsum(k.cast(starts, "int64"), 0), 1)
            inverse = k.scatter_columns(group, order, n)
            outputs.append(k.reshape(inverse, x.shape) if self.axis is None else inverse)
        if self.return_counts:
            ends = k.concatenate([k.getitem(first, slice(1, None)),
                                  k.asarray(np.full(min(n, 1), n, np.int64))], 0)
            outputs.append(k.subtract(ends, first))
        outputs = [outputs[0]] + [k.cast(o, "int32") for o in outputs[1:]]
        if self.size is not None:
            outputs = self._sized(k, outputs)
        return (tuple(outputs) if self.n_outputs > 1 else outputs[0]), ()

    def _sized(self, k, outputs):
        """Each output but the inverse cut or padded to `size` along its unique axis: the
        values with fill_value (default: the smallest), indices with the first's, counts
        with 0."""
        axis = 0 if self.axis is None else self.axis
        count = outputs[0].shape[axis]
        pad = max(self.size - count, 0)
        sized = []
        for i, out in enumerate(outputs):
            inverse = self.return_inverse and i == 1 + self.return_index
            if inverse:
                sized.append(out)
                continue
            along = axis if i == 0 else 0
            cut = k.getitem(out, (slice(None),) * along + (slice(0, self.size),))
            if pad:
                counts = self.return_counts and i == len(outputs) - 1
                if i == 0 and self.fill_value is not None:
                    shape = tuple(pad if d == along else m for d, m in enumerate(out.shape))
                    filler = k.asarray(np.full(shape, self.fill_value, out.dtype))
                elif counts:
                    filler = k.asarray(np.zeros(pad, out.dtype))
                else:
                    first = k.getitem(out, (slice(None),) * along + (slice(0, 1),))
                    filler = k.concatenate([first] * pad, along)
                cut = k.concatenate([cut, filler], along)
            sized.append(cut)
        return sized

    def vjp(self, k, dy, residuals, needs): return (None,)


def unique(x, sorted=True, return_index=False, return_inverse=False,  # noqa: A002
           return_counts=False, axis=None, size=None, fill_value=None):
    """The sorted distinct elements of x (flattened), or distinct slices along `axis`,
    with the requested int32 extras in the order index, inverse, counts. NaNs are not
    merged. `size` gives a fixed-length result. No gradient."""
    x = as_tensor(x)
    if axis is not None:
        axis = check_axis(axis, len(x.shape), "unique", x.shape)
    if size is not None and int(size) < 0:
        raise ValueError(f"unique: size must be non-negative; received {size}")
    op = Unique(axis, bool(return_index), bool(return_inverse), bool(return_counts),
                None if size is None else int(size), fill_value)
    return op(x)


@dataclass(frozen=True)
class NonZero(Op):
    """x (rank r >= 1) -> r int32 arrays (count,): the coordinates of x's nonzero elements
    in C order (count None when symbolic)."""

    ndim: int

    @property
    def n_outputs(self) -> int:
        return self.ndim

    def output_spec(self, x: Spec):
        specs = tuple(Spec((None,), "int32") for _ in range(self.ndim))
        return specs if self.ndim > 1 else specs[0]

    def forward(self, k, x):
        mask = k.not_equal(x, 0)
        coordinates = []
        for d, n in enumerate(x.shape):
            along = np.arange(n, dtype=np.int32).reshape((n,) + (1,) * (x.ndim - d - 1))
            coordinates.append(k.getitem(k.broadcast_to(k.asarray(along), x.shape), mask))
        return (tuple(coordinates) if self.ndim > 1 else coordinates[0]), ()

    def vjp(self, k, dy, residuals, needs): return (None,)


def nonzero(x):
    """A tuple of int32 coordinate arrays, one per axis of x, of its nonzero elements. No
    gradient."""
    x = as_tensor(x)
    if len(x.shape) == 0:
        raise ValueError("nonzero: x must have at least one axis; received a scalar")
    y = NonZero(len(x.shape))(x)
    return y if len(x.shape) > 1 else (y,)


@dataclass(frozen=True)
class BinCount(Op):
    """x int (n,) or (B, n) >= 0 [, weights of x's shape] -> (length,) or (B, length): how
    often (or with what total weight) each value occurs. Differentiable in the weights."""

    length: int | None
    dtype: str

    def output_spec(self, x: Spec, *weights: Spec) -> Spec:
        if weights and weights[0].shape != x.shape:
            raise ValueError(f"bincount: weights must have the shape of x; received shapes "
                             f"{weights[0].shape} and {x.shape}")
        return Spec(x.shape[:-1] + (self.length,), self.dtype)

    def _key(self, k, x):
        if len(x.shape) == 1:
            return (x,)
        rows = np.arange(x.shape[0], dtype=np.int64).reshape(-1, 1)
        return (k.broadcast_to(k.asarray(rows), x.shape), x)

    def forward(self, k, x, *weights):
        key = self._key(k, k.cast(x, "int64"))
        values = (k.cast(weights[0], self.dtype) if weights
                  else k.broadcast_to(k.asarray(np.ones((), self.dtype)), x.shape))
        return k.getitem_backward(values, x.shape[:-1] + (self.length,), key), (key,)

    def vjp(self, k, dy, residuals, needs):
        (key,) = residuals
        if len(needs) == 1:
            return (None,)
        return None, k.getitem(dy, key) if needs[1] else None


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each non-negative int in x (n,) — per row for x (B, n) — into bins
    0..max(max(x), minlength - 1); with `weights`, their sums. The length depends on the
    values (read from the device; None when symbolic). int32 counts; the weights' dtype
    when weighted. Differentiable in `weights`."""
    if sparse:
        raise ValueError("bincount: sparse=True is not supported (nbkeras has no sparse "
                         "tensors)")
    x = as_tensor(x)
    if len(x.shape) not in (1, 2) or is_float(x.dtype):
        raise ValueError(f"bincount: x must be a 1-D or 2-D integer tensor; received shape "
                         f"{x.shape} and dtype {x.dtype}")
    inputs = (x,) if weights is None else (x, as_tensor(weights))
    dtype = "int32" if weights is None else standardize_dtype(inputs[1].dtype)
    if dtype in ("bool", "int8", "int16", "uint8", "uint16"):
        dtype = "int32"
    if isinstance(x, KerasTensor) or any(isinstance(t, KerasTensor) for t in inputs):
        return BinCount(None, dtype)(*inputs)
    host = np.asarray(x)
    if host.size and host.min() < 0:
        raise ValueError(f"bincount: x must be non-negative; its smallest value is "
                         f"{host.min()}")
    length = max(int(minlength), int(host.max()) + 1 if host.size else 0)
    return BinCount(length, dtype)(*inputs)


@dataclass(frozen=True)
class Histogram(Op):
    """x (n,) -> (counts (bins,), edges (bins + 1,)) in x's float dtype: equal-width bins
    over `range` (x's min and max if None), the last bin closed, values outside ignored."""

    bins: int
    range: tuple | None
    n_outputs = 2

    def output_spec(self, x: Spec):
        if len(x.shape) != 1:
            raise ValueError(f"histogram: x must be 1-D; received shape {x.shape}")
        dtype = x.dtype if is_float(x.dtype) else config.floatx()
        return Spec((self.bins,), dtype), Spec((self.bins + 1,), dtype)

    def forward(self, k, x):
        dtype = x.dtype if is_float(x.dtype) else np.dtype(config.floatx())
        x = k.cast(x, dtype)
        if self.range is not None:
            low, high = (k.asarray(np.asarray(v, dtype)) for v in self.range)
        elif x.shape[0]:
            low, high = k.reduce("min", x, None, False), k.reduce("max", x, None, False)
        else:
            low, high = k.asarray(np.zeros((), dtype)), k.asarray(np.ones((), dtype))
        same = k.equal(low, high)      # as numpy: a zero-width range widens by 1/2 each way
        low = k.where(same, k.subtract(low, 0.5), low)
        high = k.where(same, k.add(high, 0.5), high)
        step = k.divide(k.subtract(high, low), self.bins)
        grid = k.asarray(np.arange(self.bins, dtype=dtype))
        edges = k.concatenate([k.add(k.multiply(grid, step), low), k.reshape(high, (1,))], 0)
        bin_of = k.subtract(k.searchsorted(edges, x, True), 1)
        bin_of = k.where(k.equal(x, high), self.bins - 1, bin_of)    # the last edge is in
        counts = k.reduce("sum", k.one_hot(bin_of, self.bins, -1, dtype), 0, False)
        return (counts, edges), ()

    def vjp(self, k, dy, residuals, needs): return (None,)


def histogram(x, bins=10, range=None):  # noqa: A002 (Keras's name)
    """(counts, edges) of x (1-D) over `bins` equal bins of `range` (x's min and max when
    None). Float counts, as Keras's. No gradient."""
    if int(bins) < 1:
        raise ValueError(f"histogram: bins must be a positive integer; received {bins}")
    if range is not None:
        low, high = (float(v) for v in range)
        if not low <= high:
            raise ValueError(f"histogram: range must be (low, high) with low <= high; "
                             f"received {range}")
        range = (low, high)
    return Histogram(int(bins), range)(as_tensor(x))


# --------------------------------------------------------------------------- running ops

@dataclass(frozen=True)
class Cumulative(Op):
    """Running sums or products of x along `axis`, in `dtype`. The product's gradient is
    L_i s_i, L_i the product of the x before i and s_i = dy_i + x_(i+1) s_(i+1) (kernel
    cumprod_backward): no division, so exact at zeros of x, as JAX's."""

    product: bool
    axis: int
    dtype: str

    def output_spec(self, x: Spec) -> Spec: return Spec(x.shape, self.dtype)

    def forward(self, k, x):
        source = k.cast(x, self.dtype) if x.dtype != self.dtype else x
        if self.product:
            return k.cumprod(source, self.axis), (x.dtype, source)
        return k.cumsum(source, self.axis), (x.dtype,)

    def _reversed_cumsum(self, k, g):
        flip = (slice(None),) * self.axis + (slice(None, None, -1),)
        return k.getitem(k.cumsum(k.getitem(g, flip), self.axis), flip)

    def vjp(self, k, dy, residuals, needs):
        x_dtype, *saved = residuals
        if not is_float(x_dtype) or not is_float(self.dtype):
            return (None,)
        if self.product:
            dx = k.cumprod_backward(dy, saved[0], self.axis)
        else:
            dx = self._reversed_cumsum(k, dy)
        return (k.cast(dx, x_dtype) if x_dtype != self.dtype else dx,)


def _cumulative(x, axis, dtype, product: bool, who: str):
    x = as_tensor(x)
    if axis is None or len(x.shape) == 0:
        x, axis = reshape(x, (-1,)), 0
    axis = check_axis(axis, len(x.shape), who, x.shape)
    dtype = standardize_dtype(dtype) if dtype is not None else x.dtype
    return Cumulative(product, axis, "int32" if dtype == "bool" else dtype)(x)


@composite("axis", "dtype")
def cumsum(x, axis=None, dtype=None):
    """Running sums along `axis` (of the flattened x when None), in `dtype` (x's; int32 for
    bool)."""
    return _cumulative(x, axis, dtype, False, "cumsum")


@composite("axis", "dtype")
def cumprod(x, axis=None, dtype=None):
    """Running products along `axis` (of the flattened x when None), in `dtype` (x's; int32
    for bool). The gradient is exact at zeros of x too."""
    return _cumulative(x, axis, dtype, True, "cumprod")


def nancumsum(x, axis=None, dtype=None):
    """cumsum with NaNs counted as 0 (no gradient reaches them)."""
    x = as_tensor(x)
    if is_float(x.dtype):
        x = where(isnan(x), np.zeros((), x.dtype), x)
    return _cumulative(x, axis, dtype, False, "nancumsum")


def nancumprod(x, axis=None, dtype=None):
    """cumprod with NaNs counted as 1 (no gradient reaches them)."""
    x = as_tensor(x)
    if is_float(x.dtype):
        x = where(isnan(x), np.ones((), x.dtype), x)
    return _cumulative(x, axis, dtype, True, "nancumprod")


def diff(a, n=1, axis=-1):
    """The n-th differences along `axis`: a[1:] - a[:-1], n times (x's dtype)."""
    a = as_tensor(a)
    if int(n) < 0:
        raise ValueError(f"diff: n must be non-negative; received n={n}")
    axis = _sort_axis(a, axis, "diff")
    lead = (slice(None),) * axis
    for _ in range(int(n)):
        a = el.subtract(getitem(a, lead + (slice(1, None),)), getitem(a, lead + (slice(None, -1),)))
    return a

