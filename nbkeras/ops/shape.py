"""Ops that move elements without arithmetic: reshape, transpose, expand_dims, squeeze,
concatenate, stack, split, indexing, broadcast_to."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.spec import Spec
from .composite import composite
from .op import Op, broadcast_shapes, convert_to_tensor, promoted, result_type
from .reduction import normalize_axes


def reshape_target(source: tuple, target: tuple, who: str = "reshape") -> tuple:
    """`target` with its one -1 inferred from `source`; None where the size is unknown."""
    target = tuple(int(n) if n is not None else -1 for n in target)
    if target.count(-1) > 1:
        raise ValueError(f"{who}: at most one -1 is allowed in the new shape; received {target}")
    known = math.prod(n for n in target if n != -1)
    if None in source:
        return tuple(None if n == -1 else n for n in target)
    total = math.prod(source)
    if -1 in target:
        if known == 0 or total % known:
            raise ValueError(f"{who}: cannot reshape a tensor of shape {source} "
                             f"({total} elements) to {target}")
        return tuple(total // known if n == -1 else n for n in target)
    if known != total:
        raise ValueError(f"{who}: cannot reshape a tensor of shape {source} ({total} elements) "
                         f"to {target} ({known} elements)")
    return target


@dataclass(frozen=True)
class Reshape(Op):
    shape: tuple

    def output_spec(self, x: Spec) -> Spec:
        return Spec(reshape_target(x.shape, self.shape), x.dtype)

    def forward(self, k, x): return k.reshape(x, self.shape), (x.shape,)
    def vjp(self, k, dy, residuals, needs): return (k.reshape(dy, residuals[0]),)


@dataclass(frozen=True)
class Transpose(Op):
    axes: tuple[int, ...]

    def output_spec(self, x: Spec) -> Spec:
        return Spec(tuple(x.shape[a] for a in self.axes), x.dtype)

    def forward(self, k, x): return k.transpose(x, self.axes), ()
    def vjp(self, k, dy, residuals, needs):
        return (k.transpose(dy, k.inverse_permutation(self.axes)),)


@dataclass(frozen=True)
class BroadcastTo(Op):
    shape: tuple

    def output_spec(self, x: Spec) -> Spec:
        broadcast_shapes(x.shape, self.shape, "broadcast_to")
        return Spec(self.shape, x.dtype)

    def forward(self, k, x): return k.broadcast_to(x, self.shape), (x.shape,)
    def vjp(self, k, dy, residuals, needs): return (k.sum_to_shape(dy, residuals[0]),)


@dataclass(frozen=True)
class Concatenate(Op):
    """x_i (..., n_i, ...) -> (..., sum n_i, ...) along `axis`."""

    axis: int

    def output_spec(self, *xs: Spec) -> Spec:
        axis = self.axis % xs[0].ndim
        for x in xs[1:]:
            if x.ndim != xs[0].ndim or any(a != b and None not in (a, b) for i, (a, b) in
                                           enumerate(zip(x.shape, xs[0].shape)) if i != axis):
                raise ValueError(f"concatenate: shapes {[s.shape for s in xs]} must agree except "
                                 f"on axis {self.axis}")
        sizes = [x.shape[axis] for x in xs]
        shape = list(xs[0].shape)
        shape[axis] = None if None in sizes else sum(sizes)
        return Spec(tuple(shape), result_type(*[x.dtype for x in xs]))

    def forward(self, k, *xs):
        return (k.concatenate(promoted(k, *xs), axis=self.axis),
                tuple(x.shape[self.axis] for x in xs))

    def vjp(self, k, dy, residuals, needs):
        ends = np.cumsum(residuals)
        cuts = [int(end) for end in ends[:-1]]
        return tuple(k.split(dy, cuts, axis=self.axis))


@dataclass(frozen=True)
class GetItem(Op):
    """x[key] for ints, slices, None, Ellipsis and integer or boolean index arrays."""

    key: object

    def output_spec(self, x: Spec) -> Spec:
        # index probes in which unknown sizes are 2, then 3: the sizes that differ are unknown
        a, b = ([n if n is not None else fill for n in x.shape] for fill in (2, 3))
        shape_a, shape_b = np.empty(a, np.bool_)[self.key].shape, np.empty(b, np.bool_)[self.key].shape
        return Spec(tuple(n if n == m else None for n, m in zip(shape_a, shape_b)), x.dtype)

    def forward(self, k, x): return k.getitem(x, self.key), (x.shape,)
    def vjp(self, k, dy, residuals, needs):
        return (k.getitem_backward(dy, residuals[0], self.key),)


def reshape(x, newshape):
    """x with shape `newshape` (one entry may be -1)."""
    newshape = (newshape,) if isinstance(newshape, int) else tuple(newshape)
    return Reshape(newshape)(x)


def transpose(x, axes=None):
    """x with axes permuted (reversed when None)."""
    ndim = len(x.shape)
    axes = tuple(reversed(range(ndim))) if axes is None else tuple(a % ndim for a in axes)
    if sorted(axes) != list(range(ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of 0..{ndim - 1}")
    return Transpose(axes)(x)


@composite("source", "destination")
def moveaxis(x, source: int, destination: int):
    order = [i for i in range(len(x.shape)) if i != source % len(x.shape)]
    order.insert(destination % len(x.shape), source % len(x.shape))
    return transpose(x, order)


@composite("axis")
def expand_dims(x, axis):
    """x with new axes of size 1 at `axis`: an int or a tuple of positions in the result."""
    count = len(axis) if isinstance(axis, (tuple, list)) else 1
    rank = len(x.shape) + count
    positions = normalize_axes(axis, rank, "expand_dims")
    if len(set(positions)) < count:
        raise ValueError(f"expand_dims: axis {axis} repeats a position of the result (rank "
                         f"{rank}) for x of shape {tuple(x.shape)}")
    return GetItem(tuple(None if i in positions else slice(None) for i in range(rank)))(x)


@composite("axis")
def squeeze(x, axis=None):
    """x without the size-1 axes (or only `axis`)."""
    axes = (tuple(i for i, n in enumerate(x.shape) if n == 1) if axis is None
            else normalize_axes(axis, len(x.shape), "squeeze"))
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} of shape {x.shape} does not have size 1")
    key = tuple(0 if i in axes else slice(None) for i in range(len(x.shape)))
    return GetItem(key)(x)


def concatenate(xs, axis: int = 0):
    return Concatenate(axis)(*xs)


@composite("axis")
def stack(x, axis: int = 0):
    """Join tensors of equal shape (the list x) along a new axis."""
    return concatenate([expand_dims(t, axis) for t in x], axis)


@composite("indices_or_sections", "axis")
def split(x, indices_or_sections, axis: int = 0) -> list:
    """numpy.split: `n` equal sections or the cut points; the pieces are differentiable."""
    size = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if size % indices_or_sections:
            raise ValueError(f"split: axis {axis} of size {size} does not divide into "
                             f"{indices_or_sections} equal sections")
        step = size // indices_or_sections
        cuts = list(range(step, size, step))
    else:
        cuts = list(indices_or_sections)
    lead = (slice(None),) * (axis % len(x.shape))
    bounds = zip([0] + cuts, cuts + [size])
    return [GetItem(lead + (slice(a, b),))(x) for a, b in bounds]


def getitem(x, key):
    if hasattr(key, "data") and not isinstance(key, np.ndarray):
        key = convert_to_tensor(key).data
    return GetItem(key)(x)


def broadcast_to(x, shape):
    return BroadcastTo(tuple(shape))(x)
