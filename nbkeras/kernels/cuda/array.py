"""Elementwise arithmetic, reductions, shape changes and indexing over Numba device arrays:
the CUDA twin of kernels/cpu/array.py, with its names, signatures and numpy semantics
(broadcasting, numpy's dtype promotion, axis None/int/tuple, keepdims, Python numbers as
operands).

Host functions take C-contiguous device arrays (numpy arrays are moved to the device, and
Python numbers as 0-d arrays of the dtype numpy's promotion gives them), allocate their
outputs and return C-contiguous device arrays: views where the layout allows (reshape,
expand_dims, and a transpose, broadcast or index that leaves x as it is). Nothing copies data
to the host: the host does only index arithmetic that depends on shapes and keys. Kernels
read flat views: the host passes the output shape and each operand's element strides (0 on
broadcast axes; size-1 axes dropped and adjacent axes merged, so a same-shape elementwise op
walks one flat axis) as one small int64 device array, kept for reuse, and one kernel serves
every rank. Launch shapes come from runtime (grid-stride loops; one block per row for the
row reductions; TILE x TILE blocks for the tiled transpose).
"""
from __future__ import annotations

import functools
import math

import numpy as np
from numba import types
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..api import basic_index
from . import gemm
from .runtime import (FLOATS, THREADS, TILE, atomic_add, block_index, block_size, blocks,
                      device, empty, grid, grid_size, gridsize, is_device_array, kernel,
                      shared_array, syncthreads, thread_index, to_device, to_host)

__all__ = ["asarray", "cast", "negative", "abs", "sign", "exp", "log", "sqrt", "square", "add",
           "subtract", "multiply", "divide", "power", "maximum", "minimum", "equal",
           "not_equal", "less", "less_equal", "greater", "greater_equal", "where", "clip",
           "one_hot", "reduce", "argmax", "sum_to_shape", "extreme_backward", "prod_backward",
           "matmul", "reshape", "transpose", "swapaxes", "expand_dims", "broadcast_to",
           "inverse_permutation", "concatenate", "split", "getitem", "getitem_backward", "pad",
           "crop"]

INTS = (types.int32, types.int64)
DTYPES = FLOATS + INTS + (types.boolean,)
GEOMETRY = types.int64[:, ::1]      # row 0: a shape; each next row: one operand's strides
UNARY = ("abs", "exp", "log", "negative", "sign", "sqrt", "square")
ARITHMETIC = ("add", "subtract", "multiply", "divide", "power", "maximum", "minimum")
COMPARISONS = ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal")
REDUCTIONS = ("sum", "mean", "prod", "max", "min")
PADDED = TILE + 1                   # a tile's row length in shared memory: no bank conflicts


# ---------------------------------------------------------------------------- kernels

@device
def _offset(geometry, row, i):
    """The element offset, in the operand whose strides are geometry[row], of flat index i
    of the C-contiguous shape geometry[0]."""
    offset = 0
    for d in range(geometry.shape[1] - 1, -1, -1):
        n = geometry[0, d]
        offset += (i % n) * geometry[row, d]
        i //= n
    return offset


@kernel(*[(t[::1], t) for t in DTYPES])
def _fill(out, value):
    """out[i] = value."""
    for i in range(grid(1), out.size, gridsize(1)):
        out[i] = value


@kernel(*[(s[::1], t[::1]) for s in DTYPES for t in DTYPES if s != t])
def _cast(x, out):
    """out[i] = x[i] converted to out's dtype (as numpy's astype)."""
    for i in range(grid(1), x.size, gridsize(1)):
        out[i] = x[i]


@kernel(*[(types.int64, t[::1], t[::1]) for t in FLOATS + INTS])
def _unary_map(op, x, out):
    """out[i] = UNARY[op](x[i])."""
    for i in range(grid(1), x.size, gridsize(1)):
        v = x[i]
        if op == 0:
            out[i] = -v if v < 0 else v
        elif op == 1:
            out[i] = math.exp(v)
        elif op == 2:
            out[i] = math.log(v)
        elif op == 3:
            out[i] = -v
        elif op == 4:
            if v > 0:
                out[i] = 1
            elif v < 0:
                out[i] = -1
            else:
                out[i] = v                      # 0 and NaN are their own signs
        elif op == 5:
            out[i] = math.sqrt(v)
        else:
            out[i] = v * v


@kernel(*[(types.int64, t[::1], t[::1], t[::1], GEOMETRY) for t in DTYPES])
def _arithmetic(op, a, b, out, geometry):
    """out[i] = ARITHMETIC[op](a, b) at index i of the broadcast shape geometry[0]; a's and
    b's strides are geometry[1] and geometry[2]. maximum and minimum propagate NaN."""
    for i in range(grid(1), out.size, gridsize(1)):
        x = a[_offset(geometry, 1, i)]
        y = b[_offset(geometry, 2, i)]
        if op == 0:
            out[i] = x + y
        elif op == 1:
            out[i] = x - y
        elif op == 2:
            out[i] = x * y
        elif op == 3:
            out[i] = x / y
        elif op == 4:
            out[i] = x ** y
        elif op == 5:
            out[i] = x if x >= y or x != x else y
        else:
            out[i] = x if x <= y or x != x else y


@kernel(*[(types.int64, t[::1], t[::1], types.boolean[::1], GEOMETRY) for t in DTYPES])
def _compare(op, a, b, out, geometry):
    """out[i] = COMPARISONS[op](a, b) at index i of the broadcast shape geometry[0]."""
    for i in range(grid(1), out.size, gridsize(1)):
        x = a[_offset(geometry, 1, i)]
        y = b[_offset(geometry, 2, i)]
        if op == 0:
            out[i] = x == y
        elif op == 1:
            out[i] = x != y
        elif op == 2:
            out[i] = x < y
        elif op == 3:
            out[i] = x <= y
        elif op == 4:
            out[i] = x > y
        else:
            out[i] = x >= y


@kernel(*[(types.boolean[::1], t[::1], t[::1], t[::1], GEOMETRY) for t in DTYPES])
def _where(condition, a, b, out, geometry):
    """out[i] = a if condition else b at index i of the broadcast shape geometry[0]."""
    for i in range(grid(1), out.size, gridsize(1)):
        if condition[_offset(geometry, 1, i)]:
            out[i] = a[_offset(geometry, 2, i)]
        else:
            out[i] = b[_offset(geometry, 3, i)]


@kernel(*[(t[::1], t[::1], GEOMETRY, types.int64, types.int64) for t in DTYPES])
def _copy(x, out, geometry, x_start, out_start):
    """Each index of the shape geometry[0], in C order: out[out_start + offset by
    geometry[2]] = x[x_start + offset by geometry[1]]. Writes into a C-contiguous out are
    coalesced; reads are too when x's last axis is its contiguous one."""
    n = 1
    for d in range(geometry.shape[1]):
        n *= geometry[0, d]
    for i in range(grid(1), n, gridsize(1)):
        out[out_start + _offset(geometry, 2, i)] = x[x_start + _offset(geometry, 1, i)]


@kernel(*[(t[::1], t[::1], GEOMETRY, types.int64, types.int64, types.int64, types.int64,
           types.int64) for t in DTYPES])
def _transpose_tiles(x, out, batch, x_start, n_u, n_v, u_stride, v_stride):
    """out[ob + u * u_stride + v] = x[x_start + xb + v * v_stride + u], u < n_u, v < n_v, for
    each index of the batch shape batch[0] (offsets xb by batch[1], ob by batch[2]): a
    transpose that moves x's contiguous axis u. A block of (TILE, TILE) threads moves one
    TILE x TILE tile per task through shared memory, reading along u and writing along v,
    so both are coalesced; blocks stride over batch x tiles."""
    tile = shared_array((TILE, PADDED), x.dtype)
    tx, ty = thread_index.x, thread_index.y
    tiles_u = (n_u + TILE - 1) // TILE
    tiles_v = (n_v + TILE - 1) // TILE
    n_batch = 1
    for d in range(batch.shape[1]):
        n_batch *= batch[0, d]
    for task in range(block_index.x, n_batch * tiles_u * tiles_v, grid_size.x):
        p = task // (tiles_u * tiles_v)
        u0 = (task // tiles_v) % tiles_u * TILE
        v0 = task % tiles_v * TILE
        u, v = u0 + tx, v0 + ty
        if u < n_u and v < n_v:
            tile[ty, tx] = x[x_start + _offset(batch, 1, p) + v * v_stride + u]
        syncthreads()
        u, v = u0 + ty, v0 + tx
        if u < n_u and v < n_v:
            out[_offset(batch, 2, p) + u * u_stride + v] = tile[tx, ty]
        syncthreads()


@device
def _combine(op, acc, v):
    """acc and v combined by REDUCTIONS[op] (max and min propagate NaN, as numpy's)."""
    if op <= 1:
        return acc + v
    if op == 2:
        return acc * v
    if op == 3:
        return v if v > acc or v != v else acc
    return v if v < acc or v != v else acc


@kernel(*[(types.int64, t[:, ::1], t[::1], t, t) for t in DTYPES])
def _reduce_rows(op, x, out, start, count):
    """out[r] = REDUCTIONS[op] over x[r, :] from `start` (0 for sums, 1 for products; max and
    min start from x[r, 0], whose repeats do no harm), divided by `count` for mean. One block
    per row (blocks stride over the rows): the threads sweep the row in steps of the block
    (coalesced), then halve their partial results through shared memory."""
    partial = shared_array(THREADS, x.dtype)
    t = thread_index.x
    for r in range(block_index.x, x.shape[0], grid_size.x):
        acc = x[r, 0] if op >= 3 else start
        for j in range(t, x.shape[1], block_size.x):
            acc = _combine(op, acc, x[r, j])
        partial[t] = acc
        syncthreads()
        step = block_size.x // 2
        while step > 0:
            if t < step:
                partial[t] = _combine(op, partial[t], partial[t + step])
            syncthreads()
            step //= 2
        if t == 0:
            if op == 1:
                out[r] = partial[0] / count
            else:
                out[r] = partial[0]
        syncthreads()                       # partial[0] is read before the next row


@device
def _first(v, i, w, j):
    """Whether (v, i) comes before (w, j) in argmax's order: NaN first (numpy returns the
    first NaN), then larger values, then smaller indices."""
    if v != v:
        return w == w or i < j
    if w != w:
        return False
    return v > w or (v == w and i < j)


@kernel(*[(t[:, ::1], types.int64[::1]) for t in DTYPES])
def _argmax_rows(x, out):
    """out[r] = the first index of the largest x[r, :]. One block per row: each thread keeps
    its best (value, index) over a strided sweep, starting from the stand-in (x[r, 0],
    n_columns) that every real element ties or beats, then the block halves the pairs
    through shared memory."""
    values = shared_array(THREADS, x.dtype)
    indices = shared_array(THREADS, types.int64)
    t = thread_index.x
    for r in range(block_index.x, x.shape[0], grid_size.x):
        best, at = x[r, 0], x.shape[1]
        for j in range(t, x.shape[1], block_size.x):
            if _first(x[r, j], j, best, at):
                best, at = x[r, j], j
        values[t], indices[t] = best, at
        syncthreads()
        step = block_size.x // 2
        while step > 0:
            if t < step and _first(values[t + step], indices[t + step], values[t], indices[t]):
                values[t], indices[t] = values[t + step], indices[t + step]
            syncthreads()
            step //= 2
        if t == 0:
            out[r] = indices[0]
        syncthreads()


@kernel(*[(t[:, ::1], t[::1], t[:, ::1], t) for t in FLOATS + INTS])
def _prod_others(x, dy, out, one):
    """out[j, c] = dy[c] * the product of x[:, c] but x[j, c]: exclusive running products
    from both ends, exact where x has zeros. One thread per column c: the threads of a
    warp read adjacent columns (coalesced)."""
    n = x.shape[0]
    for c in range(grid(1), x.shape[1], gridsize(1)):
        left = one
        for j in range(n):
            out[j, c] = left
            left *= x[j, c]
        right = one
        for j in range(n - 1, -1, -1):
            out[j, c] = out[j, c] * right * dy[c]
            right *= x[j, c]


@kernel(*[(t[::1], types.int64[::1], t[::1]) for t in FLOATS + INTS])
def _scatter_add(values, target, out):
    """out[target[i]] += values[i]; atomic, so repeated targets accumulate (each address
    sees only the threads whose values go there)."""
    for i in range(grid(1), values.size, gridsize(1)):
        atomic_add(out, target[i], values[i])


@kernel(*[(t[::1], types.int64[::1], t[::1]) for t in DTYPES])
def _gather(x, source, out):
    """out[i] = x[source[i]]."""
    for i in range(grid(1), out.size, gridsize(1)):
        out[i] = x[source[i]]


@kernel(*[(t[::1], t[::1], GEOMETRY, t) for t in DTYPES])
def _pad(x, out, geometry, value):
    """out (shape geometry[0]) = x (shape geometry[2]) placed after geometry[1] leading cells
    on each axis, `value` elsewhere."""
    for i in range(grid(1), out.size, gridsize(1)):
        source, step, inside, rest = 0, 1, True, i
        for d in range(geometry.shape[1] - 1, -1, -1):
            k = rest % geometry[0, d] - geometry[1, d]
            rest //= geometry[0, d]
            inside = inside and 0 <= k < geometry[2, d]
            source += k * step
            step *= geometry[2, d]
        out[i] = x[source] if inside else value


@kernel(*[(types.int64[::1], t[::1], types.int64, types.int64, t) for t in DTYPES])
def _one_hot(indices, out, classes, inner, one):
    """out[(o, c, j)] = one where indices[(o, j)] == c, else zero: o runs over the axes
    before the class axis, j over the `inner` elements after it."""
    for i in range(grid(1), out.size, gridsize(1)):
        j = i % inner
        c = i // inner % classes
        o = i // (inner * classes)
        out[i] = one if indices[o * inner + j] == c else one - one


# ---------------------------------------------------------------------------- host helpers

def _device(x):
    """x as a device array (numpy arrays and numbers are moved)."""
    return x if is_device_array(x) else to_device(np.asarray(x))


def _dtype(x):
    """x's dtype; int or float for a Python number (numpy's weak scalars, which take the
    dtype of the array they meet)."""
    if type(x) in (int, float):
        return type(x)
    return x.dtype if is_device_array(x) else np.asarray(x).dtype


def _result_type(*xs) -> np.dtype:
    """numpy's promotion of arrays and Python numbers."""
    return np.result_type(*[x if type(x) in (int, float) else _dtype(x) for x in xs])


def _operand(x, dtype):
    """x as a device array of `dtype`: cast on the device, or moved there (a number as a
    0-d array)."""
    if is_device_array(x):
        return x if x.dtype == dtype else cast(x, dtype)
    return to_device(np.asarray(x, dtype))


def _flat(a):
    """A 1-D view of a C-contiguous device array."""
    return a.reshape(a.size)


def _strides(shape) -> list[int]:
    """Element strides of a C-contiguous array of `shape`."""
    strides, step = [], 1
    for n in reversed(tuple(shape)):
        strides.insert(0, step)
        step *= n
    return strides


def _broadcast_strides(shape, target) -> list[int]:
    """Element strides that read a C-contiguous array of `shape` broadcast to `target`."""
    lead = len(target) - len(shape)
    return [0] * lead + [s if n != 1 else 0 for s, n in zip(_strides(shape), shape)]


def _merged(shape, *strides) -> tuple:
    """(size, *strides) per axis, size-1 axes dropped and adjacent axes merged where every
    operand steps through them as through one axis (at least one axis is left)."""
    axes = []
    for n, *steps in zip(shape, *strides):
        if n == 1:
            continue
        if axes and all(outer == inner * n for outer, inner in zip(axes[-1][1:], steps)):
            axes[-1] = (axes[-1][0] * n, *steps)
        else:
            axes.append((n, *steps))
    return tuple(axes) or ((1,) + (0,) * len(strides),)


@functools.lru_cache(maxsize=1024)
def _geometry(axes: tuple) -> object:
    """The (1 + operands, rank) int64 device array of per-axis rows (size, *strides), kept
    for reuse: a training step launches the same shapes again and again, so this saves a
    host-to-device copy per launch."""
    return to_device(np.array(axes, np.int64).T)


def _probe(shape) -> np.ndarray:
    """A numpy array of `shape` over one byte (strides in elements): numpy's own shape and
    basic-index arithmetic, without the data."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), tuple(shape), _strides(shape))


def _materialize(x, shape, strides, start=0):
    """A C-contiguous copy of the strided view (shape, element strides from `start`) of x's
    elements: the tiled transpose when the view's last axis is not x's contiguous one but
    another axis is, else one strided gather in output order."""
    out = empty(shape, x.dtype)
    if out.size == 0:
        return out
    axes = _merged(shape, strides, _strides(shape))
    contiguous = [i for i, (_, step, _) in enumerate(axes) if step == 1]
    if contiguous and contiguous[0] != len(axes) - 1 and axes[-1][1] != 0:
        c = contiguous[0]
        (n_u, _, u_stride), (n_v, v_stride, _) = axes[c], axes[-1]
        batch = tuple(axis for i, axis in enumerate(axes[:-1]) if i != c) or ((1, 0, 0),)
        tiles = -(-n_u // TILE) * -(-n_v // TILE) * math.prod(n for n, _, _ in batch)
        _transpose_tiles[blocks(tiles, 1), (TILE, TILE)](
            _flat(x), _flat(out), _geometry(batch), start, n_u, n_v, u_stride, v_stride)
    else:
        _copy[blocks(out.size), THREADS](_flat(x), _flat(out), _geometry(axes), start, 0)
    return out


def _filled(shape, dtype, value):
    """A new device array of `shape` and `dtype`, every element `value`."""
    out = empty(shape, dtype)
    if out.size:
        _fill[blocks(out.size), THREADS](_flat(out), out.dtype.type(value))
    return out


def _broadcast(kernel_, shape, out, *operands, leading=()):
    """kernel_(*leading, *flat operands, flat out, geometry) over the broadcast `shape`."""
    if out.size:
        axes = _merged(shape, *[_broadcast_strides(tuple(a.shape), shape) for a in operands])
        kernel_[blocks(out.size), THREADS](*leading, *[_flat(a) for a in operands],
                                            _flat(out), _geometry(axes))
    return out


# ---------------------------------------------------------------------------- elementwise

def _unary(name: str, x):
    """np.<name>(x), elementwise, with numpy's dtype rules (ints give floats for exp, ...)."""
    loop, result = getattr(np, name).resolve_dtypes((_dtype(x), None))
    x = _operand(x, loop)
    out = empty(tuple(x.shape), result)
    if out.size:
        _unary_map[blocks(out.size), THREADS](UNARY.index(name), _flat(x), _flat(out))
    return out


def _binary(name: str, a, b):
    """np.<name>(a, b): shapes broadcast, numpy's dtype promotion (a Python number takes the
    array's dtype); one kernel."""
    loop, _, result = getattr(np, name).resolve_dtypes((_dtype(a), _dtype(b), None))
    a, b = _operand(a, loop), _operand(b, loop)
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    if name in ARITHMETIC:
        return _broadcast(_arithmetic, shape, empty(shape, result), a, b,
                          leading=(ARITHMETIC.index(name),))
    return _broadcast(_compare, shape, empty(shape, result), a, b,
                      leading=(COMPARISONS.index(name),))


def negative(x):
    return _unary("negative", x)


def abs(x):  # noqa: A001 (the API's name)
    return _unary("abs", x)


def sign(x):
    return _unary("sign", x)


def exp(x):
    return _unary("exp", x)


def log(x):
    return _unary("log", x)


def sqrt(x):
    return _unary("sqrt", x)


def square(x):
    return _unary("square", x)


def add(a, b):
    return _binary("add", a, b)


def subtract(a, b):
    return _binary("subtract", a, b)


def multiply(a, b):
    return _binary("multiply", a, b)


def divide(a, b):
    return _binary("divide", a, b)


def power(a, b):
    return _binary("power", a, b)


def maximum(a, b):
    return _binary("maximum", a, b)


def minimum(a, b):
    return _binary("minimum", a, b)


def equal(a, b):
    return _binary("equal", a, b)


def not_equal(a, b):
    return _binary("not_equal", a, b)


def less(a, b):
    return _binary("less", a, b)


def less_equal(a, b):
    return _binary("less_equal", a, b)


def greater(a, b):
    return _binary("greater", a, b)


def greater_equal(a, b):
    return _binary("greater_equal", a, b)


def where(condition, a, b):
    """a where condition else b, the three broadcast together: one kernel."""
    dtype = _result_type(a, b)
    c, a, b = _operand(condition, np.bool_), _operand(a, dtype), _operand(b, dtype)
    shape = np.broadcast_shapes(tuple(c.shape), tuple(a.shape), tuple(b.shape))
    return _broadcast(_where, shape, empty(shape, dtype), c, a, b)


def clip(x, low, high):
    """x limited to [low, high] (either may be None), NaN kept: maximum, then minimum."""
    if low is None and high is None:
        raise ValueError("One of max or min must be given")
    bounded = x if low is None else maximum(x, low)
    return bounded if high is None else minimum(bounded, high)


def asarray(x):
    """x as a device array: itself when it is one, else moved (a number as a 0-d array)."""
    return _device(x)


def cast(x, dtype):
    """x converted to `dtype`: a new array (as numpy's astype)."""
    x = _device(x)
    out = empty(tuple(x.shape), dtype)
    if out.size == 0:
        return out
    if out.dtype == x.dtype:
        out.copy_to_device(x)
    else:
        _cast[blocks(out.size), THREADS](_flat(x), _flat(out))
    return out


# ---------------------------------------------------------------------------- shapes

def _arranged(x, arrange):
    """x's elements arranged as `arrange` arranges a numpy array of x's shape (a reshape, a
    transpose, a broadcast, a basic index; numpy does the index arithmetic on _probe): a view
    when that is x's own C-contiguous layout, else a copy by one kernel."""
    x = _device(x)
    probe = _probe(x.shape)
    view = arrange(probe)
    start = view.ctypes.data - probe.ctypes.data
    if view.size == x.size and view.flags.c_contiguous and start == 0:
        return x.reshape(view.shape)
    return _materialize(x, view.shape, view.strides, start)


def reshape(x, shape):
    """A view of x (C-contiguous) with `shape`; one entry may be -1."""
    return _arranged(x, lambda probe: probe.reshape(shape))


def expand_dims(x, axis):
    """A view of x with new size-1 axes at `axis` (an int or a tuple)."""
    return _arranged(x, lambda probe: np.expand_dims(probe, axis))


def transpose(x, axes):
    """x with its axes permuted (reversed when None), in a new array (a view when no axis of
    size > 1 moves): a tiled transpose through shared memory when the contiguous axis moves,
    else one strided copy."""
    return _arranged(x, lambda probe: np.transpose(probe, axes))


def swapaxes(x, axis1, axis2):
    """x with axes axis1 and axis2 exchanged, in a new array (see transpose)."""
    return _arranged(x, lambda probe: np.swapaxes(probe, axis1, axis2))


def broadcast_to(x, shape):
    """x broadcast to `shape` (numpy's rules), in a new array by one kernel (a view when the
    shape is its own)."""
    return _arranged(x, lambda probe: np.broadcast_to(probe, shape))


def concatenate(arrays, axis):
    """arrays (flattened first when axis is None) joined along `axis`, numpy's dtype
    promotion: one copy kernel per input, into its window of the output."""
    arrays = [_device(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays, axis = [_flat(a) for a in arrays], 0
    shapes = [tuple(a.shape) for a in arrays]
    if not shapes[0]:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = normalize_axis_index(axis, len(shapes[0]))
    for i, s in enumerate(shapes):
        if len(s) != len(shapes[0]) or any(m != n for d, (m, n) in enumerate(zip(s, shapes[0]))
                                           if d != axis):
            raise ValueError(f"all the input array dimensions except for the concatenation "
                             f"axis must match exactly, but the array at index 0 has shape "
                             f"{shapes[0]} and the array at index {i} has shape {s}")
    shape = shapes[0][:axis] + (sum(s[axis] for s in shapes),) + shapes[0][axis + 1:]
    out = empty(shape, np.result_type(*[a.dtype for a in arrays]))
    steps, start = _strides(shape), 0
    for a, s in zip(arrays, shapes):
        if a.size:
            _copy[blocks(a.size), THREADS](_flat(_operand(a, out.dtype)), _flat(out),
                                           _geometry(_merged(s, _strides(s), steps)), 0,
                                           start * steps[axis])
        start += s[axis]
    return out


def split(x, indices, axis):
    """numpy's split: the pieces of x along `axis`, in `indices` equal sections (an int) or
    cut before each of `indices`, each a new array (see getitem)."""
    x = _device(x)
    axis = normalize_axis_index(axis, x.ndim)
    n = x.shape[axis]
    if np.ndim(indices) == 0:
        if n % int(indices):
            raise ValueError("array split does not result in an equal division")
        cuts = [i * (n // int(indices)) for i in range(1, int(indices))]
    else:
        cuts = [int(i) for i in indices]
    lead = (slice(None),) * axis
    return [getitem(x, lead + (slice(a, b),)) for a, b in zip([0] + cuts, cuts + [n])]


def inverse_permutation(perm):
    return tuple(int(i) for i in np.argsort(perm))


def _interior(pairs, shape) -> tuple:
    """The slices that select the original cells of a padded array of `shape`."""
    return tuple(slice(before, n - after) for (before, after), n in zip(pairs, shape))


def pad(x, pairs, value):
    """x with pairs[i] = (before, after) cells of `value` added along axis i: one kernel
    writes each output cell, from x or `value`."""
    x = _device(x)
    shape = tuple(n + a + b for n, (a, b) in zip(x.shape, pairs))
    out = empty(shape, x.dtype)
    if out.size:
        axes = tuple(zip(shape, [before for before, _ in pairs], tuple(x.shape))) or ((1, 0, 1),)
        _pad[blocks(out.size), THREADS](_flat(x), _flat(out), _geometry(axes),
                                        x.dtype.type(value))
    return out


def crop(x, pairs):
    """x without pairs[i] = (before, after) cells at the ends of axis i, in a new array (the
    CPU twin returns a view)."""
    return getitem(x, _interior(pairs, tuple(_device(x).shape)))


# ---------------------------------------------------------------------------- indexing

def _host_key(key):
    """The key with its device index arrays as numpy arrays: index arithmetic, on the host."""
    if isinstance(key, tuple):
        return tuple(to_host(k) if is_device_array(k) else k for k in key)
    return to_host(key) if is_device_array(key) else key


def _index_map(shape, key) -> np.ndarray:
    """The flat index in an array of `shape` of each element of array[key] (host side)."""
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)[key]


def getitem(x, key):
    """x[key] (numpy indexing: ints, slices, None, Ellipsis, index arrays), a new array (a
    view when it is all of x). A basic key copies the strided view with one kernel; index
    arrays gather through the flat source index of each output element, which the host
    computes from the shape and the key and moves to the device."""
    x, key = _device(x), _host_key(key)
    if basic_index(key):
        parts = key if isinstance(key, tuple) else (key,)
        view_key = parts if any(k is Ellipsis for k in parts) else parts + (Ellipsis,)
        return _arranged(x, lambda probe: probe[view_key])     # 0-d results stay views
    source = _index_map(tuple(x.shape), key)
    out = empty(source.shape, x.dtype)
    if out.size:
        _gather[blocks(out.size), THREADS](_flat(x), to_device(source.ravel()), _flat(out))
    return out


def getitem_backward(dy, shape, key):
    """Scatter-add dy into zeros of `shape` at `key`: the host computes the flat target
    index of each element of x[key] from the shape and the key and moves it to the device;
    the kernel adds with atomics, so repeated fancy indices accumulate."""
    target = _index_map(tuple(shape), _host_key(key))
    dy = _device(dy)
    g = _filled(shape, dy.dtype, 0)
    if target.size:
        values = broadcast_to(dy, target.shape)      # np.add.at broadcasts dy to x[key]
        _scatter_add[blocks(target.size), THREADS](_flat(values), to_device(target.ravel()),
                                                   _flat(g))
    return g


def one_hot(indices, num_classes, axis, dtype):
    """Rows of the identity along a new axis of `num_classes` at `axis`; indices outside
    [0, num_classes) give all-zero rows (as Keras). One kernel writes the final layout."""
    indices = _operand(indices, np.int64)
    shape = tuple(indices.shape)
    axis = normalize_axis_index(axis, len(shape) + 1)
    out = empty(shape[:axis] + (num_classes,) + shape[axis:], dtype)
    if out.size:
        _one_hot[blocks(out.size), THREADS](_flat(indices), _flat(out), num_classes,
                                            math.prod(shape[axis:]), out.dtype.type(1))
    return out


# ---------------------------------------------------------------------------- reductions

def _rows(x, axes):
    """x as (rows, columns): `axes` moved last (one transpose kernel, unless they are last
    already) and flattened into the columns."""
    shape = tuple(x.shape)
    rest = [a for a in range(len(shape)) if a not in axes]
    moved = transpose(x, rest + list(axes))
    return moved.reshape(math.prod(shape[a] for a in rest), math.prod(shape[a] for a in axes))


def _reduced_shape(shape, axes, keepdims) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape) if keepdims or i not in axes)


def reduce(name, x, axis, keepdims):
    """np.sum / mean / max / min / prod of x over `axis` (None, an int or a tuple), with
    numpy's result dtype (sums of small ints are int64, means of ints float64). The reduced
    axes are moved last, then one block per output row reduces its row."""
    x = _device(x)
    dtype = getattr(np, name)(np.ones(1, x.dtype)).dtype
    x = _operand(x, dtype)
    axes = tuple(sorted(normalize_axis_tuple(range(x.ndim) if axis is None else axis, x.ndim)))
    rows = _rows(x, axes)
    n_rows, n_columns = rows.shape
    if n_columns == 0 and name in ("max", "min"):
        raise ValueError(f"zero-size array to reduction operation {name}imum which has no "
                         f"identity")
    out = empty((n_rows,), dtype)
    if n_rows:
        _reduce_rows[blocks(n_rows, 1), THREADS](REDUCTIONS.index(name), rows, out,
                                                 dtype.type(1 if name == "prod" else 0),
                                                 dtype.type(n_columns))
    return out.reshape(_reduced_shape(tuple(x.shape), axes, keepdims))


def argmax(x, axis, keepdims):
    """The index (int64) of the first largest element over `axis`, of the flattened x when
    None (NaN counts as largest): the axis is moved last, then one block per row."""
    x = _device(x)
    axes = tuple(range(x.ndim)) if axis is None else (normalize_axis_index(axis, x.ndim),)
    rows = _rows(x, axes)
    n_rows, n_columns = rows.shape
    if n_columns == 0:
        raise ValueError("attempt to get argmax of an empty sequence")
    out = empty((n_rows,), np.int64)
    if n_rows:
        _argmax_rows[blocks(n_rows, 1), THREADS](rows, out)
    return out.reshape(_reduced_shape(tuple(x.shape), axes, keepdims))


def sum_to_shape(g, shape):
    """Sum a broadcast cotangent g back down to `shape` (numpy broadcasting in reverse)."""
    g_shape = tuple(g.shape)
    if g_shape == tuple(shape):
        return g
    lead = len(g_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and g_shape[lead + i] != 1)
    return reshape(reduce("sum", g, axes, True), shape)


def extreme_backward(dy_kept, x, y_kept, axes):
    """Gradient of max/min over `axes`: dy shared equally among the positions attaining the
    extreme. dy_kept and y_kept have the reduced axes kept (size 1)."""
    hit = equal(x, y_kept)
    counts = cast(reduce("sum", hit, axes, True), dy_kept.dtype)   # not int64: keep dtype
    return multiply(hit, divide(dy_kept, counts))


def prod_backward(dy_kept, x, axes):
    """d prod / dx_i = the product of the other elements, times dy: exclusive running
    products from both ends, exact even where x has zeros. The reduced axes are moved first
    (one transpose kernel), so one thread per kept position runs down its column while its
    warp reads adjacent columns."""
    x = _device(x)
    shape = tuple(x.shape)
    axes = tuple(range(len(shape))) if axes is None else normalize_axis_tuple(axes, len(shape))
    rest = tuple(a for a in range(len(shape)) if a not in axes)
    dtype = _result_type(dy_kept, x)
    moved = transpose(_operand(x, dtype), axes + rest)
    n, columns = math.prod(shape[a] for a in axes), math.prod(shape[a] for a in rest)
    kept = tuple(1 if i in axes else s for i, s in enumerate(shape))
    dy = reshape(broadcast_to(_operand(dy_kept, dtype), kept), columns)
    others = empty((n, columns), dtype)
    if others.size:
        _prod_others[blocks(columns), THREADS](moved.reshape(n, columns), dy, others,
                                               dtype.type(1))
    return transpose(others.reshape(moved.shape), inverse_permutation(axes + rest))


def matmul(a, b):
    """numpy's matmul: (..., M, K) @ (..., K, N) -> (..., M, N), batch axes broadcast (the
    tiled kernel of gemm.py)."""
    return gemm.matmul(a, b)
