"""Rearranging tensors as keras.ops does: flips, rolls, tiles and repeats, stacking and
splitting, triangles, gathers (`take`, `take_along_axis`), slices and their updates, `select`,
`rearrange` (einops notation), `copy` and `view`.

Each is composed from the indexing, shape and selection ops (GetItem, Reshape, Transpose,
BroadcastTo, Concatenate, Pad, Where), so it runs on every device and differentiates through
their VJPs: a gather's cotangent scatter-adds back, a tile's sums over its copies.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..core.dtype import standardize_dtype
from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from ..core.tensor import Tensor
from .composite import composite
from .core import where
from .op import Op, convert_to_tensor
from .padding import pad
from .reduction import normalize_axes
from .shape import (GetItem, broadcast_to, concatenate, expand_dims, getitem, reshape, split,
                    transpose)

__all__ = ["flip", "fliplr", "flipud", "roll", "tile", "repeat", "ravel", "append", "hstack",
           "vstack", "dstack", "hsplit", "vsplit", "dsplit", "array_split", "rot90", "tril",
           "triu", "swapaxes", "unstack", "take", "take_along_axis", "select", "slice",
           "slice_update", "get_item", "copy", "view", "rearrange", "unravel_index"]


def _rank(x) -> int:
    return len(x.shape)


def _along(axis: int, index) -> tuple:
    """A key that applies `index` to axis `axis` (>= 0) and keeps the axes before it."""
    return (np.s_[:],) * axis + (index,)


def _axis(x, axis: int, who: str) -> int:
    return normalize_axes(axis, _rank(x), who)[0]


def _indices(indices, who: str) -> np.ndarray:
    """Integer indices as a host array (a gather's key is index arithmetic on the host)."""
    array = np.asarray(indices.numpy() if isinstance(indices, Tensor) else indices)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{who}: indices must be integers; received dtype {array.dtype}")
    return array.astype(np.int64)


# ---- flips, rolls, tiles, repeats ----------------------------------------------------------

@composite("axis")
def flip(x, axis=None):
    """x with the order of elements along `axis` (all axes if None) reversed."""
    x = convert_to_tensor(x) if not hasattr(x, "shape") else x
    axes = normalize_axes(axis, _rank(x), "flip")
    return GetItem(tuple(np.s_[::-1] if i in axes else np.s_[:] for i in range(_rank(x))))(x)


def fliplr(x):
    """x reversed along axis 1 (rank >= 2)."""
    if _rank(x) < 2:
        raise ValueError(f"fliplr: x must have rank >= 2; received shape {x.shape}")
    return flip(x, 1)


def flipud(x):
    """x reversed along axis 0 (rank >= 1)."""
    if _rank(x) < 1:
        raise ValueError(f"flipud: x must have rank >= 1; received shape {x.shape}")
    return flip(x, 0)


@composite("shift", "axis")
def roll(x, shift, axis=None):
    """x with elements shifted by `shift` along `axis` (cyclically); the flattened x when axis
    is None. `shift` and `axis` may be tuples of the same length."""
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), x.shape)
    shifts = np.broadcast_to(np.asarray(shift), np.shape(axis)).reshape(-1)
    axes = np.asarray(axis).reshape(-1)
    for s, a in zip(shifts, axes):
        a = _axis(x, int(a), "roll")
        n = x.shape[a]
        if n:
            x = GetItem(_along(a, (np.arange(n) - int(s)) % n))(x)
    return x


@composite("repeats")
def tile(x, repeats):
    """x repeated `repeats[i]` times along axis i (numpy's tile: a shorter x gets leading
    axes, shorter repeats leading ones)."""
    repeats = (int(repeats),) if np.ndim(repeats) == 0 else tuple(int(r) for r in repeats)
    if any(r < 0 for r in repeats):
        raise ValueError(f"tile: repeats must be non-negative; received {repeats}")
    rank = max(_rank(x), len(repeats))
    shape = (1,) * (rank - _rank(x)) + tuple(x.shape)
    repeats = (1,) * (rank - len(repeats)) + repeats
    known = [-1 if n is None else n for n in shape]        # one unknown size (the batch)
    interleaved = reshape(x, [m for n in known for m in (1, n)])
    copies = broadcast_to(interleaved, [m for r, n in zip(repeats, shape) for m in (r, n)])
    return reshape(copies, [-1 if n is None else r * n for r, n in zip(repeats, shape)])


@composite("repeats", "axis")
def repeat(x, repeats, axis=None):
    """Each element of x repeated `repeats` times (an int, or one count per element) along
    `axis`; over the flattened x when axis is None."""
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(x, axis, "repeat")
    counts = _indices(repeats, "repeat")
    if (counts < 0).any() or counts.size not in (1, x.shape[axis]):
        raise ValueError(f"repeat: repeats must be a non-negative int or one count per element "
                         f"of axis {axis} (size {x.shape[axis]}); received {repeats!r}")
    return GetItem(_along(axis, np.repeat(np.arange(x.shape[axis]), counts)))(x)


@composite()
def ravel(x):
    """x flattened to 1-D."""
    return reshape(x, (-1,))


# ---- joining and splitting -----------------------------------------------------------------

@composite("axis")
def append(x1, x2, axis=None):
    """x2 appended to x1 along `axis` (both flattened when axis is None)."""
    if axis is None:
        return concatenate([ravel(x1), ravel(x2)], 0)
    return concatenate([x1, x2], axis)


def _at_least(x, rank: int):
    """numpy's atleast_2d / atleast_3d layouts: (n,) -> (1, n) -> (1, n, 1)."""
    x = convert_to_tensor(x) if not hasattr(x, "shape") else x
    if _rank(x) == 0:
        x = reshape(x, (1,))
    if _rank(x) == 1 and rank >= 2:
        x = expand_dims(x, 0)
    if _rank(x) == 2 and rank == 3:
        x = expand_dims(x, 2)
    return x


@composite()
def hstack(xs):
    """Tensors joined column-wise (along axis 1; axis 0 for 1-D tensors)."""
    xs = [_at_least(x, 1) for x in xs]
    return concatenate(xs, 0 if _rank(xs[0]) == 1 else 1)


@composite()
def vstack(xs):
    """Tensors joined row-wise (1-D tensors become rows)."""
    return concatenate([_at_least(x, 2) for x in xs], 0)


def dstack(xs):
    """Tensors joined along axis 2 (depth), as numpy's dstack."""
    return concatenate([_at_least(x, 3) for x in xs], 2)


def array_split(x, indices_or_sections, axis=0) -> list:
    """x split along `axis` into n nearly equal pieces (the first ones one longer), or at the
    given cut points."""
    axis = _axis(x, axis, "array_split")
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"array_split: the number of sections must be positive; received "
                             f"{sections}")
        size, extra = divmod(x.shape[axis], sections)
        cuts = np.cumsum([size + 1] * extra + [size] * (sections - extra))[:-1]
        return split(x, [int(c) for c in cuts], axis)
    return split(x, list(indices_or_sections), axis)


def _split_along(x, indices_or_sections, axis: int, who: str, min_rank: int) -> list:
    if _rank(x) < min_rank:
        raise ValueError(f"{who}: x must have rank >= {min_rank}; received shape {x.shape}")
    return split(x, indices_or_sections, axis)


def hsplit(x, indices_or_sections) -> list:
    """x split column-wise (axis 1; axis 0 for 1-D x) into equal pieces or at cut points."""
    return _split_along(x, indices_or_sections, 0 if _rank(x) == 1 else 1, "hsplit", 1)


def vsplit(x, indices_or_sections) -> list:
    """x split row-wise (axis 0), rank >= 2."""
    return _split_along(x, indices_or_sections, 0, "vsplit", 2)


def dsplit(x, indices_or_sections) -> list:
    """x split along axis 2, rank >= 3."""
    return _split_along(x, indices_or_sections, 2, "dsplit", 3)


@dataclass(frozen=True)
class Unstack(Op):
    """x (..., n at `axis`, ...) -> the n slices along axis, as n outputs; the VJP stacks the
    cotangents once (zeros for slices no gradient reached) instead of n scatters."""

    axis: int
    count: int

    @property
    def n_outputs(self) -> int:
        return self.count

    def output_spec(self, x: Spec):
        spec = Spec(x.shape[:self.axis] + x.shape[self.axis + 1:], x.dtype)
        return tuple(spec for _ in range(self.count)) if self.count > 1 else spec

    def forward(self, k, x):
        slices = tuple(k.getitem(x, _along(self.axis, i)) for i in range(self.count))
        return (slices if self.count > 1 else slices[0]), ()

    def vjp(self, k, dys, residuals, needs):
        dys = dys if self.count > 1 else (dys,)
        reference = next(dy for dy in dys if dy is not None)
        zeros = k.cast(k.broadcast_to(k.asarray(np.zeros((), reference.dtype)),
                                      tuple(reference.shape)), reference.dtype)
        return (k.concatenate([k.expand_dims(zeros if dy is None else dy, self.axis)
                               for dy in dys], self.axis),)


@composite("num", "axis")
def unstack(x, num=None, axis=0) -> list:
    """The slices of x along `axis`, as a list."""
    axis = _axis(x, axis, "unstack")
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"unstack: num={num} does not match axis {axis} of shape {x.shape}")
    if x.shape[axis] is None:
        raise ValueError(f"unstack: axis {axis} of shape {x.shape} has an unknown size")
    if x.shape[axis] == 0:
        return []
    outputs = Unstack(axis, x.shape[axis])(x)
    return list(outputs) if x.shape[axis] > 1 else [outputs]


@composite("axis1", "axis2")
def swapaxes(x, axis1, axis2):
    """x with axes axis1 and axis2 exchanged."""
    order = list(range(_rank(x)))
    a, b = _axis(x, axis1, "swapaxes"), _axis(x, axis2, "swapaxes")
    order[a], order[b] = order[b], order[a]
    return transpose(x, order)


def rot90(array, k=1, axes=(0, 1)):
    """`array` rotated by 90 degrees k times in the plane of `axes` (from the first axis
    towards the second), as numpy's rot90."""
    if len(axes) != 2 or _rank(array) < 2:
        raise ValueError(f"rot90: axes must be two axes of a tensor of rank >= 2; received "
                         f"axes={axes} for shape {array.shape}")
    a, b = (_axis(array, axis, "rot90") for axis in axes)
    if a == b:
        raise ValueError(f"rot90: the two axes must differ; received axes={axes}")
    k %= 4
    if k == 0:
        return array if hasattr(array, "shape") and not isinstance(array, np.ndarray) \
            else convert_to_tensor(array)
    if k == 2:
        return flip(array, (a, b))
    if k == 1:
        return swapaxes(flip(array, b), a, b)
    return flip(swapaxes(array, a, b), b)


# ---- triangles -----------------------------------------------------------------------------

def _triangle(x, k: int, lower: bool, who: str):
    if _rank(x) < 2:
        raise ValueError(f"{who}: x must have rank >= 2; received shape {x.shape}")
    rows, cols = x.shape[-2:]
    mask = np.tri(rows, cols, k, dtype=bool)
    zero = np.zeros((), str(x.dtype))   # keeps x's dtype (where promotes a Python 0 to int64)
    return where(mask if lower else ~np.tri(rows, cols, k - 1, dtype=bool), x, zero)


@composite("k")
def tril(x, k=0):
    """x with the elements above diagonal k zeroed (over the last two axes)."""
    return _triangle(x, int(k), True, "tril")


@composite("k")
def triu(x, k=0):
    """x with the elements below diagonal k zeroed (over the last two axes)."""
    return _triangle(x, int(k), False, "triu")


# ---- gathers, slices, selection ------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class TakeRows(Op):
    """x (V, *inner) -> (*rows.shape, *inner): the rows `rows` (host int64 in [0, V)) of x.
    The VJP adds each row's cotangent into its row with scatter_reduce, in order: no one-hot,
    no atomics (deterministic on every device). Embedding lookups run on it."""

    rows: np.ndarray = field(repr=False)

    def output_spec(self, x: Spec) -> Spec:
        return Spec(self.rows.shape + tuple(x.shape[1:]), x.dtype)

    def forward(self, k, x):
        return k.getitem(x, (self.rows,)), (tuple(x.shape),)

    def vjp(self, k, dy, residuals, needs):
        shape, = residuals
        values = k.reshape(dy, (self.rows.size, -1)) if self.rows.size else dy
        return (k.scatter_reduce("add", k.asarray(np.zeros(shape, dy.dtype)),
                                 self.rows.reshape(-1), values),)


def _take_spec(x, indices, axis=None) -> Spec:
    """take's output: with KerasTensor indices, x's shape with the indices' in place of the
    axis (their values are unknown until the graph runs); else that of the ops take runs."""
    if not isinstance(indices, KerasTensor):
        return take.__wrapped__(x, indices, axis).spec
    if np.dtype(indices.dtype).kind not in "iu":
        raise TypeError(f"take: indices must be integers; received dtype {indices.dtype}")
    if axis is None:
        return Spec(indices.shape, x.dtype)
    axis = _axis(x, axis, "take")
    return Spec(tuple(x.shape[:axis]) + indices.shape + tuple(x.shape[axis + 1:]), x.dtype)


@composite("axis", output_spec=_take_spec)
def take(x, indices, axis=None):
    """Elements of x at integer `indices` along `axis` (of the flattened x if None); negative
    indices count from the end. The result's shape puts indices' shape in place of the axis."""
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(x, axis, "take")
    index = _indices(indices, "take")
    size = x.shape[axis]
    if size is None:   # a symbolic batch axis: the call only infers the output's shape
        return TakeRows(index)(x) if axis == 0 else GetItem(_along(axis, index))(x)
    if index.size and (index.max() >= size or index.min() < -size):
        raise IndexError(f"take: indices must be in [-{size}, {size}) for axis {axis} of shape "
                         f"{x.shape}; received values in [{index.min()}, {index.max()}]")
    if axis == 0:
        return TakeRows(np.where(index < 0, index + size, index))(x)
    return GetItem(_along(axis, index))(x)


def _along_shape(shape: tuple, index_shape: tuple, axis: int) -> tuple:
    """take_along_axis's result shape: the indices' size on `axis`, x's and the indices'
    sizes broadcast on the other axes (None: unknown)."""
    if len(index_shape) != len(shape):
        raise ValueError(f"take_along_axis: indices must have x's rank {len(shape)}; received "
                         f"indices of shape {index_shape} for x of shape {shape}")
    out = []
    for i, (n, m) in enumerate(zip(shape, index_shape)):
        if i != axis and n not in (1, m, None) and m != 1:
            raise ValueError(f"take_along_axis: indices of shape {index_shape} do not "
                             f"broadcast against x of shape {shape} off axis {axis}")
        out.append(m if i == axis or n == 1 or n is None and m != 1 else n)
    return tuple(out)


def _take_along_axis_spec(x, indices, axis=None) -> Spec:
    """take_along_axis on symbolic x, whose unknown sizes no gather key can hold."""
    index = _indices(indices, "take_along_axis")
    if axis is None:
        return Spec(_along_shape((None,), index.shape, 0), x.dtype)
    return Spec(_along_shape(x.shape, index.shape, _axis(x, axis, "take_along_axis")), x.dtype)


@composite("axis", output_spec=_take_along_axis_spec)
def take_along_axis(x, indices, axis=None):
    """x[..., indices, ...] matched element by element along `axis` (numpy's
    take_along_axis: indices have x's rank and broadcast against x's other axes)."""
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(x, axis, "take_along_axis")
    index = _indices(indices, "take_along_axis")
    size = x.shape[axis]
    shape = _along_shape(x.shape, index.shape, axis)
    if index.size and (index.max() >= size or index.min() < -size):
        raise IndexError(f"take_along_axis: indices must be in [-{size}, {size}) for axis "
                         f"{axis} of shape {x.shape}")
    grids = np.indices(shape, sparse=True)
    key = tuple(np.broadcast_to(index, shape) % max(size, 1) if i == axis
                else grids[i] if x.shape[i] != 1 else np.zeros_like(grids[i])
                for i in range(len(shape)))
    return GetItem(key)(x)


get_item = getitem


@composite("shape")
def slice(inputs, start_indices, shape):  # noqa: A001 (Keras's name)
    """The block of `inputs` of size `shape` starting at `start_indices` (one per axis)."""
    starts, sizes = _block(inputs, start_indices, shape, "slice")
    return GetItem(tuple(np.s_[s:s + n] for s, n in zip(starts, sizes)))(inputs)


def slice_update(inputs, start_indices, updates):
    """`inputs` with the block at `start_indices` replaced by `updates` (of inputs' rank)."""
    starts, sizes = _block(inputs, start_indices, updates.shape, "slice_update")
    pairs = [(s, n - s - m) for s, m, n in zip(starts, sizes, inputs.shape)]
    inside = np.zeros(inputs.shape, bool)
    inside[tuple(np.s_[s:s + m] for s, m in zip(starts, sizes))] = True
    updates = convert_to_tensor(updates, inputs.dtype) if isinstance(inputs, Tensor) else updates
    return where(inside, pad(updates, pairs), inputs)


def _block(inputs, start_indices, shape, who: str) -> tuple[list[int], list[int]]:
    starts = [int(s) for s in np.asarray(start_indices.numpy() if isinstance(start_indices, Tensor)
                                         else start_indices).reshape(-1)]
    sizes = [int(n) for n in shape]
    if len(starts) != _rank(inputs) or len(sizes) != _rank(inputs) or any(
            s < 0 or n is not None and s + m > n for s, m, n in zip(starts, sizes, inputs.shape)):
        raise ValueError(f"{who}: a block of shape {tuple(sizes)} at start_indices {starts} "
                         f"does not fit inputs of shape {inputs.shape}")
    return starts, sizes


def select(condlist, choicelist, default=0):
    """choicelist[i] where condlist[i] is the first true condition, else `default` (numpy's
    select; all broadcast together)."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError(f"select: condlist and choicelist must be lists; received "
                         f"{type(condlist).__name__} and {type(choicelist).__name__}")
    if len(condlist) != len(choicelist) or not condlist:
        raise ValueError(f"select: condlist and choicelist must have the same non-zero length; "
                         f"received {len(condlist)} and {len(choicelist)}")
    result = default
    for condition, choice in reversed(list(zip(condlist, choicelist))):
        result = where(condition, choice, result)
    return result


def unravel_index(indices, shape) -> tuple:
    """The coordinates in an array of `shape` of flat `indices`: one int32 tensor per axis
    (Keras's dtype), on the current device. Index arithmetic: no gradient."""
    flat = _indices(indices, "unravel_index")
    shape = tuple(int(n) for n in shape)
    size = int(np.prod(shape, dtype=np.int64))
    if flat.size and (flat.min() < 0 or flat.max() >= size):
        raise IndexError(f"unravel_index: indices must be in [0, {size}) for shape {shape}; "
                         f"received values in [{flat.min()}, {flat.max()}]")
    return tuple(convert_to_tensor(axis.astype(np.int32)) for axis in
                 np.unravel_index(flat, shape))


# ---- copies, views, rearrange ----------------------------------------------------------------

@dataclass(frozen=True)
class Copy(Op):
    """A new tensor with x's values; the gradient passes unchanged."""

    def output_spec(self, x: Spec) -> Spec: return x
    def forward(self, k, x): return k.cast(x, x.dtype), ()
    def vjp(self, k, dy, residuals, needs): return (dy,)


def copy(x):
    """A copy of x (on x's device)."""
    return Copy()(x)


def view(x, dtype=None):
    """x's bytes reinterpreted as `dtype` (the last axis scales by the itemsize ratio); no
    gradient. Without dtype, x itself."""
    x = convert_to_tensor(x)
    if dtype is None:
        return x
    dtype = standardize_dtype(dtype)
    old, new = x.data.dtype.itemsize, np.dtype(dtype).itemsize
    if _rank(x) == 0 and old != new or _rank(x) and (x.shape[-1] * old) % new:
        raise ValueError(f"view: x of shape {x.shape} and dtype {x.dtype} cannot be viewed as "
                         f"{dtype}: the last axis's bytes do not divide by {new}")
    return Tensor(x.data.view(np.dtype(dtype)))


_TOKEN = re.compile(r"\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+|\S")


def _groups(side: str, who: str) -> list[list[str]]:
    """`b (h w) c` -> [["b"], ["h", "w"], ["c"]]; `1` names a new size-1 axis ("1" group)."""
    groups, inside = [], None
    for token in _TOKEN.findall(side):
        if token == "(":
            if inside is not None:
                raise ValueError(f"{who}: nested parentheses in {side!r}")
            inside = []
        elif token == ")":
            if inside is None:
                raise ValueError(f"{who}: unbalanced parentheses in {side!r}")
            groups.append(inside)
            inside = None
        elif not (token.isidentifier() or token == "1"):
            raise ValueError(f"{who}: unexpected {token!r} in pattern side {side!r}")
        elif inside is not None:
            inside.append(token)
        else:
            groups.append([token])
    if inside is not None:
        raise ValueError(f"{who}: unbalanced parentheses in {side!r}")
    return groups


def rearrange(tensor, pattern, **axes_lengths):
    """Axes reordered, merged and split by an einops pattern ("b h w c -> b (h w) c"): split
    the input's groups (lengths from the shape and `axes_lengths`), transpose, merge."""
    who = "rearrange"
    if pattern.count("->") != 1:
        raise ValueError(f"{who}: the pattern must have one '->'; received {pattern!r}")
    left, right = (_groups(side, who) for side in pattern.split("->"))
    if len(left) != _rank(tensor):
        raise ValueError(f"{who}: the pattern's input {pattern.split('->')[0].strip()!r} has "
                         f"{len(left)} axes; the tensor has shape {tensor.shape}")
    names_in = [n for g in left for n in g if n != "1"]
    names_out = [n for g in right for n in g if n != "1"]
    if sorted(names_in) != sorted(names_out) or len(set(names_in)) != len(names_in):
        raise ValueError(f"{who}: both sides must name the same axes once each; received "
                         f"{pattern!r}")
    lengths = {name: int(n) for name, n in axes_lengths.items()}
    for group, size in zip(left, tensor.shape):
        named = [n for n in group if n != "1"]
        unknown = [n for n in named if n not in lengths]
        known = int(np.prod([lengths[n] for n in named if n in lengths]))
        if len(unknown) > 1:
            raise ValueError(f"{who}: give the lengths of all but one of {group} in "
                             f"axes_lengths")
        if size is None:                     # a symbolic batch: its one name stays unknown
            if len(named) != 1 or unknown != named:
                raise ValueError(f"{who}: the unknown size of axis {group} cannot be split")
            lengths[named[0]] = None
        elif unknown:
            if known == 0 or size % known:
                raise ValueError(f"{who}: axis of size {size} cannot split as {group}")
            lengths[unknown[0]] = size // known
        elif known != size:
            raise ValueError(f"{who}: axis of size {size} does not match {group} = {known}")
    def size_of(names):                      # -1 stands for the one unknown size
        sizes = [lengths[n] for n in names if n != "1"]
        return -1 if None in sizes else int(np.prod(sizes))

    split_ = reshape(tensor, [size_of([n]) for n in names_in]) if names_in else tensor
    moved = transpose(split_, [names_in.index(n) for n in names_out]) if names_in else split_
    return reshape(moved, [size_of(group) for group in right])
