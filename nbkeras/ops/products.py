"""Tensor products and diagonals, as keras.ops: einsum, tensordot, outer, inner, vdot, kron,
cross, trace, diagonal, diag, diagflat, vander; and logdet, slogdet.

All are compositions of differentiable ops (transpose, reshape, matmul, multiply, sums,
indexing), so they run on every device and their gradients come from those ops. einsum
reduces to one batched matmul per pair of operands, contracting left to right.
"""
from __future__ import annotations

import math
import string

import numpy as np

from ..core.dtype import standardize_dtype
from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from ..core.tensor import Tensor
from .composite import composite
from .core import cast
from .elementwise import add, multiply, subtract
from .linalg import SlogDet
from .matmul import matmul
from .op import convert_to_tensor, result_type
from .reduction import normalize_axes, sum
from .shape import broadcast_to, concatenate, expand_dims, getitem, reshape, transpose

__all__ = ["einsum", "tensordot", "outer", "inner", "vdot", "kron", "cross", "trace",
           "diagonal", "diag", "diagflat", "vander", "logdet", "slogdet"]


def _tensor(x):
    return x if isinstance(x, (Tensor, KerasTensor)) else convert_to_tensor(x)


def _reshape(x, sizes, who: str):
    """reshape to `sizes`, in which one None (an unknown symbolic size) becomes -1."""
    if list(sizes).count(None) > 1:
        raise ValueError(f"{who}: cannot reshape symbolic shape {tuple(x.shape)} with more "
                         f"than one unknown size to {tuple(sizes)}")
    target = tuple(-1 if n is None else n for n in sizes)
    return x if tuple(x.shape) == target else reshape(x, target)


def _permute(x, axes: list):
    """transpose by `axes`, skipped when they are already in order."""
    return x if axes == sorted(axes) else transpose(x, axes)


def _product(sizes):
    return None if None in sizes else math.prod(sizes)


# ------------------------------------------------------------------------- einsum

_ELLIPSIS_LABELS = [chr(0x391 + i) for i in range(24)]   # Greek capitals: no clash


def _parse(subscripts: str, shapes: list) -> tuple[list, list]:
    """Each operand's labels (ellipsis expanded, right-aligned) and the output's labels."""
    text = subscripts.replace(" ", "")
    inputs, arrow, output = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operands; "
                         f"received {len(shapes)}")
    for term in terms + ([output] if arrow else []):
        rest = term.replace("...", "")
        if any(c not in string.ascii_letters for c in rest) or term.count("...") > 1:
            raise ValueError(f"einsum: invalid subscripts {subscripts!r}: use letters and at "
                             "most one '...' per operand")
    labels, widest = [], 0
    for term, shape in zip(terms, shapes):
        explicit = len(term.replace("...", ""))
        if "..." in term:
            width = len(shape) - explicit
            if width < 0:
                raise ValueError(f"einsum: operand {term!r} of {subscripts!r} has more labels "
                                 f"than its shape {tuple(shape)} has axes")
            head, tail = term.split("...")
            labels.append((list(head), width, list(tail)))
            widest = max(widest, width)
        else:
            if explicit != len(shape):
                raise ValueError(f"einsum: operand {term!r} of {subscripts!r} names "
                                 f"{explicit} axes, but its shape is {tuple(shape)}")
            labels.append((list(term), 0, []))
    shared = _ELLIPSIS_LABELS[:widest]
    expanded = [head + shared[widest - width:] + tail if width or tail else head
                for head, width, tail in labels]
    if arrow:
        if "..." in output:
            head, tail = output.split("...")
            out = list(head) + shared + list(tail)
        else:
            out = list(output)
        for label in out:
            if not any(label in term for term in expanded):
                raise ValueError(f"einsum: output label {label!r} of {subscripts!r} is in no "
                                 "operand")
        if len(set(out)) != len(out):
            raise ValueError(f"einsum: output subscripts of {subscripts!r} repeat a label")
    else:
        counts = {}
        for term in expanded:
            for label in term:
                counts[label] = counts.get(label, 0) + 1
        out = shared + sorted(label for label, n in counts.items()
                              if n == 1 and label not in shared)
    return expanded, out


def _take_diagonals(x, labels: list):
    """x with each label repeated within it reduced to its diagonal (moved last)."""
    labels = list(labels)
    for label in list(dict.fromkeys(labels)):
        while labels.count(label) > 1:
            first = labels.index(label)
            second = labels.index(label, first + 1)
            x = diagonal(x, 0, first, second)
            labels = [c for i, c in enumerate(labels) if i not in (first, second)] + [label]
    return x, labels


def _sum_out(x, labels: list, keep: set):
    axes = tuple(i for i, c in enumerate(labels) if c not in keep)
    if axes:
        x = sum(x, axes)
        labels = [c for c in labels if c in keep]
    return x, labels


def _contract(a, la, b, lb, keep: set):
    """a (labels la) and b (labels lb) multiplied and summed over their shared labels not in
    `keep`, by one batched matmul: (batch, a's own, contracted) @ (batch, contracted, b's)."""
    a, la = _sum_out(a, la, keep | set(lb))
    b, lb = _sum_out(b, lb, keep | set(la))
    sizes = dict(zip(la, a.shape))
    for label, n in zip(lb, b.shape):
        sizes[label] = n if sizes.get(label) in (None, 1) else sizes[label]
    a = _broadcast(a, la, sizes)
    b = _broadcast(b, lb, sizes)
    batch = [c for c in la if c in lb and c in keep]
    summed = [c for c in la if c in lb and c not in keep]
    own_a = [c for c in la if c not in lb]
    own_b = [c for c in lb if c not in la]
    a = _permute(a, [la.index(c) for c in batch + own_a + summed])
    b = _permute(b, [lb.index(c) for c in batch + summed + own_b])
    group = [_product([sizes[c] for c in part]) for part in (batch, own_a, summed, own_b)]
    a = _reshape(a, group[:3], "einsum")
    b = _reshape(b, (group[0], group[2], group[3]), "einsum")
    y = _reshape(matmul(a, b), [sizes[c] for c in batch + own_a + own_b], "einsum")
    return y, batch + own_a + own_b


def _broadcast(x, labels: list, sizes: dict):
    target = tuple(sizes[c] for c in labels)
    return x if tuple(x.shape) == target else broadcast_to(x, target)


def _labelled(subscripts: str, operands: tuple) -> tuple[list, str, list, list, dict]:
    """(operands as tensors, int8 ones as int32; the result dtype; each operand's labels; the
    output's labels; each label's size, None where unknown), checked."""
    if not operands:
        raise ValueError("einsum: expected at least one operand")
    operands = [_tensor(x) for x in operands]
    if all(standardize_dtype(str(x.dtype)) == "int8" for x in operands):
        operands = [cast(x, "int32") for x in operands]
    dtype = result_type(*[str(x.dtype) for x in operands])
    terms, out = _parse(subscripts, [tuple(x.shape) for x in operands])
    sizes = {}
    for term, x in zip(terms, operands):
        for label, n in zip(term, x.shape):
            known = sizes.get(label)
            broadcast = label in _ELLIPSIS_LABELS and 1 in (n, known)
            if None not in (n, known) and n != known and not broadcast:
                raise ValueError(f"einsum: label {label!r} of {subscripts!r} has sizes {known} "
                                 f"and {n}; received shapes "
                                 f"{[tuple(o.shape) for o in operands]}")
            sizes[label] = n if known in (None, 1) else known
    return operands, dtype, terms, out, sizes


def _einsum_spec(subscripts, *operands, **kwargs) -> Spec:
    """einsum's output from the labels alone (its pieces cannot reshape symbolic shapes
    with several unknown sizes, as in an outer product of two batches)."""
    _, dtype, _, out, sizes = _labelled(subscripts, operands)
    return Spec(tuple(sizes[c] for c in out), dtype)


@composite("subscripts", output_spec=_einsum_spec)
def einsum(subscripts, *operands, **kwargs):
    """Einstein summation as numpy.einsum (explicit '->' or implicit output, '...', repeated
    labels for diagonals), by pairwise batched matmuls, left to right. int8 operands give
    int32, as in Keras."""
    operands, dtype, terms, out, sizes = _labelled(subscripts, operands)
    pieces = [_take_diagonals(x, term) for x, term in zip(operands, terms)]
    y, labels = pieces[0]
    later = [set(term) for _, term in pieces[1:]]
    y, labels = _sum_out(y, labels, set(out).union(*later))
    for i, (x, term) in enumerate(pieces[1:]):
        keep = set(out).union(*later[i + 1:])
        y, labels = _contract(y, labels, x, term, keep)
    y, labels = _sum_out(y, labels, set(out))
    y = _broadcast(y, labels, {c: (sizes[c] if c in out else 1) for c in labels})
    if labels != out:
        y = _permute(y, [labels.index(c) for c in out])
    return y if str(y.dtype) == dtype else cast(y, dtype)


# ------------------------------------------------------------ products built on einsum

def _letters(n: int, start: int = 0) -> str:
    return string.ascii_letters[start:start + n]


@composite("axes")
def tensordot(x1, x2, axes=2):
    """Sum of x1's `axes` against x2's: an int N pairs x1's last N with x2's first N; a
    pair of sequences names them."""
    x1, x2 = _tensor(x1), _tensor(x2)
    r1, r2 = len(x1.shape), len(x2.shape)
    if isinstance(axes, int):
        if not 0 <= axes <= min(r1, r2):
            raise ValueError(f"tensordot: axes={axes} exceeds the ranks of shapes "
                             f"{tuple(x1.shape)} and {tuple(x2.shape)}")
        first, second = list(range(r1 - axes, r1)), list(range(axes))
    else:
        first, second = ([a] if isinstance(a, int) else list(a) for a in axes)
        if len(first) != len(second):
            raise ValueError(f"tensordot: axes {axes} pair {len(first)} axes of x1 with "
                             f"{len(second)} of x2")
        first = [normalize_axes(a, r1, "tensordot (x1)")[0] for a in first]
        second = [normalize_axes(a, r2, "tensordot (x2)")[0] for a in second]
    for a, b in zip(first, second):
        if None not in (x1.shape[a], x2.shape[b]) and x1.shape[a] != x2.shape[b]:
            raise ValueError(f"tensordot: axis {a} of x1 {tuple(x1.shape)} and axis {b} of "
                             f"x2 {tuple(x2.shape)} differ in size")
    l1 = list(_letters(r1))
    l2 = list(_letters(r2, r1))
    for a, b in zip(first, second):
        l2[b] = l1[a]
    out = [c for i, c in enumerate(l1) if i not in first] + \
          [c for i, c in enumerate(l2) if i not in second]
    return einsum(f"{''.join(l1)},{''.join(l2)}->{''.join(out)}", x1, x2)


@composite()
def outer(x1, x2):
    """(M,), (N,) -> (M, N) x1[i] x2[j]; inputs are flattened first."""
    x1, x2 = _tensor(x1), _tensor(x2)
    return einsum("i,j->ij", reshape(x1, (-1,)), reshape(x2, (-1,)))


@composite()
def inner(x1, x2):
    """Sum over the last axes: (..., N), (..., N) -> x1.shape[:-1] + x2.shape[:-1]; a scalar
    operand multiplies."""
    x1, x2 = _tensor(x1), _tensor(x2)
    r1, r2 = len(x1.shape), len(x2.shape)
    if not r1 or not r2:
        return multiply(x1, x2)
    if None not in (x1.shape[-1], x2.shape[-1]) and x1.shape[-1] != x2.shape[-1]:
        raise ValueError(f"inner: the last axes of shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)} differ")
    l1, l2 = _letters(r1 - 1), _letters(r2 - 1, r1)
    return einsum(f"{l1}z,{l2}z->{l1}{l2}", x1, x2)


@composite()
def vdot(x1, x2):
    """The dot product of the flattened x1 and x2 (real: no conjugation needed)."""
    x1, x2 = _tensor(x1), _tensor(x2)
    return einsum("i,i->", reshape(x1, (-1,)), reshape(x2, (-1,)))


@composite()
def kron(x1, x2):
    """Kronecker product: ranks padded with leading 1s; out[i * n2 + j] = x1[i] x2[j] per
    axis."""
    x1, x2 = _tensor(x1), _tensor(x2)
    rank = max(len(x1.shape), len(x2.shape))
    s1 = (1,) * (rank - len(x1.shape)) + tuple(x1.shape)
    s2 = (1,) * (rank - len(x2.shape)) + tuple(x2.shape)
    a = _reshape(x1, [n for size in s1 for n in (size, 1)], "kron")
    b = _reshape(x2, [n for size in s2 for n in (1, size)], "kron")
    return _reshape(multiply(a, b), [_product([m, n]) for m, n in zip(s1, s2)], "kron")


@composite("axisa", "axisb", "axisc", "axis")
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3- (or 2-) component vectors along axisa of x1 and axisb of x2,
    broadcast, written along axisc (`axis` sets all three); two 2-vectors give the z
    component alone."""
    x1, x2 = _tensor(x1), _tensor(x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _last(x1, axisa, "axisa"), _last(x2, axisb, "axisb")
    na, nb = a.shape[-1], b.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: vectors must have 2 or 3 components; received shapes "
                         f"{tuple(x1.shape)} (axisa={axisa}) and {tuple(x2.shape)} "
                         f"(axisb={axisb})")
    a0, a1, a2 = (getitem(a, (Ellipsis, i)) if i < na else None for i in range(3))
    b0, b1, b2 = (getitem(b, (Ellipsis, i)) if i < nb else None for i in range(3))
    z = subtract(multiply(a0, b1), multiply(a1, b0))
    if na == nb == 2:
        return z

    def term(p, q, r, s):       # p q - r s, where a missing component is 0
        first = None if p is None or q is None else multiply(p, q)
        second = None if r is None or s is None else multiply(r, s)
        if second is None:
            return first
        return subtract(first, second) if first is not None else multiply(second, -1)

    parts = [term(a1, b2, a2, b1), term(a2, b0, a0, b2), z]
    y = concatenate([expand_dims(p, -1) for p in parts], -1)
    rank = len(y.shape)
    axisc = normalize_axes(axisc, rank, "cross")[0]
    order = list(range(rank - 1))
    order.insert(axisc, rank - 1)
    return transpose(y, order) if axisc != rank - 1 else y


def _last(x, axis, name):
    rank = len(x.shape)
    if not rank:
        raise ValueError(f"cross: {name}={axis} needs a vector; received a scalar")
    axis = normalize_axes(axis, rank, f"cross ({name})")[0]
    return x if axis == rank - 1 else transpose(x, [i for i in range(rank) if i != axis]
                                                + [axis])


@composite("offset", "axis1", "axis2")
def diagonal(x, offset=0, axis1=0, axis2=1):
    """x's diagonal `offset` over axis1 and axis2, removed and appended as the last axis
    (numpy.diagonal)."""
    x = _tensor(x)
    rank = len(x.shape)
    if rank < 2:
        raise ValueError(f"diagonal: x must have rank >= 2; received shape {tuple(x.shape)}")
    axis1, axis2 = (normalize_axes(a, rank, "diagonal")[0] for a in (axis1, axis2))
    if axis1 == axis2:
        raise ValueError(f"diagonal: axis1 and axis2 must differ; both are {axis1}")
    rest = [i for i in range(rank) if i not in (axis1, axis2)]
    moved = transpose(x, rest + [axis1, axis2])
    m, n = x.shape[axis1], x.shape[axis2]
    start_row, start_col = max(-offset, 0), max(offset, 0)
    length = max(0, min(m - start_row, n - start_col))
    steps = np.arange(length)
    return getitem(moved, (Ellipsis, steps + start_row, steps + start_col))


@composite("offset", "axis1", "axis2")
def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of diagonal(x, offset, axis1, axis2); bool, int8 and int16 give int32, uint8 and
    uint16 uint32 (Keras's rule)."""
    x = _tensor(x)
    dtype = str(x.dtype)
    wider = {"bool": "int32", "int8": "int32", "int16": "int32", "uint8": "uint32",
             "uint16": "uint32"}.get(dtype)
    y = sum(diagonal(x, offset, axis1, axis2), -1)
    return y if str(y.dtype) == (wider or dtype) else cast(y, wider or dtype)  # numpy's int sum


@composite("k")
def diag(x, k=0):
    """1-D x -> the square matrix with x on diagonal k; 2-D x -> its diagonal k."""
    x = _tensor(x)
    if len(x.shape) == 2:
        return diagonal(x, k)
    if len(x.shape) != 1:
        raise ValueError(f"diag: x must have rank 1 or 2; received shape {tuple(x.shape)}")
    n = x.shape[0]
    size = n + abs(k)
    dtype = str(x.dtype)
    rows = np.zeros((size, n), dtype)                 # places x[i] in row i + max(-k, 0)
    rows[np.arange(n) + max(-k, 0), np.arange(n)] = 1
    columns = np.zeros((n, size), dtype)              # and in column i + max(k, 0)
    columns[np.arange(n), np.arange(n) + max(k, 0)] = 1
    device = x.device if isinstance(x, Tensor) else None
    rows, columns = (convert_to_tensor(c, device=device) for c in (rows, columns))
    return matmul(rows, multiply(expand_dims(x, -1), columns))


@composite("k")
def diagflat(x, k=0):
    """The flattened x on diagonal k of a square matrix."""
    return diag(reshape(_tensor(x), (-1,)), k)


def vander(x, N=None, increasing=False):
    """1-D x (M,) -> (M, N) powers x^(N-1) ... x^0 (x^0 ... x^(N-1) if `increasing`), by
    repeated products (exact gradients at x = 0)."""
    x = _tensor(x)
    if len(x.shape) != 1:
        raise ValueError(f"vander: x must be 1-D; received shape {tuple(x.shape)}")
    n = x.shape[0] if N is None else int(N)
    if n is None or n < 0:
        raise ValueError(f"vander: N must be a non-negative int; received N={N!r} for x of "
                         f"shape {tuple(x.shape)}")
    columns = []
    power = add(multiply(x, 0), 1)
    for _ in range(n):
        columns.append(expand_dims(power, -1))
        power = multiply(power, x)
    if not increasing:
        columns.reverse()
    if not columns:
        return _reshape(getitem(expand_dims(x, -1), (slice(None), slice(0, 0))),
                        [x.shape[0], 0], "vander")
    return concatenate(columns, -1) if len(columns) > 1 else columns[0]


# ------------------------------------------------------------------- determinants

def slogdet(x):
    """(sign, log |det x|) of x (..., M, M); log |det| is differentiable (x^{-T})."""
    return SlogDet()(x)


def logdet(x):
    """log |det x| of x (..., M, M) (Keras's logdet: the second output of slogdet)."""
    return SlogDet()(x)[1]

