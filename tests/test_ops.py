"""nbkeras.ops: forwards against plain numpy (tests/reference.py), gradients against central
differences (check_grads), over Hypothesis-drawn shapes, broadcasting patterns, axes and
configs; plus dtypes, the tape, dropout, numerical stability and error messages."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import GradientCheckError, check_grads
from nbkeras.testing import strategies as nst

import reference  # tests/reference.py (pytest puts tests/ on sys.path)

RTOL, ATOL = 1e-10, 1e-12


def assert_matches(y, expected, rtol=RTOL, atol=ATOL, dtype="float64"):
    """y is a Tensor of `dtype` with the shape and values of `expected`."""
    assert isinstance(y, nk.Tensor), f"expected a Tensor, got {type(y).__name__}"
    assert y.dtype == dtype, f"dtype {y.dtype} != {dtype}"
    got = np.asarray(y)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def size_of(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


@st.composite
def tie_free_pair(draw, shapes_strategy):
    """Two float64 arrays of broadcastable shapes whose values are all pairwise distinct
    (gaps >= 1e-2), so maximum/minimum never tie."""
    shape_a, shape_b = draw(shapes_strategy)
    values = draw(nst.arrays((size_of(shape_a) + size_of(shape_b),), no_ties=True))
    return (values[:size_of(shape_a)].reshape(shape_a),
            values[size_of(shape_a):].reshape(shape_b))


@st.composite
def axis_and_keepdims(draw, ndim: int):
    """axis: None, one axis (maybe negative) or a tuple of distinct axes; keepdims."""
    kind = draw(st.sampled_from(["none", "int", "tuple"] if ndim else ["none"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                               unique=True))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in chosen)
    return axis, draw(st.booleans())


# --------------------------------------------------------------------- binary elementwise

BINARY = {
    "add": (ops.add, np.add),
    "subtract": (ops.subtract, np.subtract),
    "multiply": (ops.multiply, np.multiply),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), shapes=nst.broadcastable_shapes())
def test_add_subtract_multiply_broadcast(name, data, shapes):
    op, numpy_op = BINARY[name]
    a = data.draw(nst.arrays(shapes[0]))
    b = data.draw(nst.arrays(shapes[1]))
    assert_matches(op(a, b), numpy_op(a, b))
    check_grads(op, [a, b])


@given(data=st.data(), shapes=nst.broadcastable_shapes())
def test_divide_broadcast(data, shapes):
    a = data.draw(nst.arrays(shapes[0]))
    b = data.draw(nst.arrays(shapes[1], kinks=(0.0,), margin=0.3))   # |b| >= 0.3
    assert_matches(ops.divide(a, b), a / b)
    check_grads(ops.divide, [a, b])


@given(data=st.data(), shapes=nst.broadcastable_shapes(max_side=3))
def test_power_broadcast_positive_base(data, shapes):
    base = data.draw(nst.arrays(shapes[0], positive=True))
    exponent = data.draw(nst.arrays(shapes[1]))
    expected = np.vectorize(math.pow, otypes=[np.float64])(base, exponent)
    assert_matches(ops.power(base, exponent), expected)
    check_grads(ops.power, [base, exponent])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(pair=tie_free_pair(nst.broadcastable_shapes()))
def test_maximum_minimum_broadcast_without_ties(name, pair):
    a, b = pair
    op = getattr(ops, name)
    expected = np.where(a > b, a, b) if name == "maximum" else np.where(a < b, a, b)
    assert_matches(op(a, b), expected)
    check_grads(op, [a, b])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_with_python_scalar(name):
    x = np.array([-1.5, -0.25, 0.75, 2.0])
    op = getattr(ops, name)
    assert_matches(op(x, 0.5), np.maximum(x, 0.5) if name == "maximum" else np.minimum(x, 0.5))
    check_grads(lambda t: op(t, 0.5), [x])


def test_broadcast_cotangents_reduce_to_input_shapes():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 1, 4)), rng.standard_normal((5, 1))
    ta, tb = nk.Tensor(a), nk.Tensor(b)
    with nk.GradientTape(persistent=True) as tape:
        tape.watch([ta, tb])
        y = ops.multiply(ta, tb)
    assert y.shape == (3, 5, 4)
    da, db = tape.gradient(y, [ta, tb])
    assert da.shape == (3, 1, 4) and db.shape == (5, 1)
    # d sum(a * b) / da[i, 0, k] = sum_j b[j]; / db[j, 0] = sum_{i, k} a[i, 0, k]
    np.testing.assert_allclose(np.asarray(da), np.full((3, 1, 4), b.sum()), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(db), np.full((5, 1), a.sum()), rtol=1e-12)
    for op in (ops.add, ops.subtract, ops.multiply, ops.maximum):
        check_grads(op, [a, b + 10.0 * (op is ops.maximum)])   # no ties for maximum


def test_tensor_operators_route_through_ops():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3)), rng.uniform(0.5, 2.0, (3,))
    ta, tb = nk.Tensor(a), nk.Tensor(b)
    assert_matches(ta + tb, a + b)
    assert_matches(ta - tb, a - b)
    assert_matches(ta * tb, a * b)
    assert_matches(ta / tb, a / b)
    assert_matches(tb ** 2.0, b ** 2)
    assert_matches(2.0 - ta, 2.0 - a)
    assert_matches(1.0 / tb, 1.0 / b)
    assert_matches(-ta, -a)
    assert_matches(abs(ta), np.abs(a))
    assert_matches(ta @ a.T, a @ a.T)
    check_grads(lambda x, y: (x * y - y / 2.0) ** 2.0 + x @ np.ones((3, 3)), [a, b])


def test_zero_rank_results_are_arrays():
    x = np.array(0.7)
    for y in (ops.add(x, x), ops.exp(x), ops.sigmoid(x), ops.clip(x, 0.0, 0.5), ops.sum(x)):
        got = np.asarray(y)
        assert isinstance(got, np.ndarray) and got.shape == ()


# ---------------------------------------------------------------------- unary elementwise

UNARY = {
    # name: (reference of one float, draw positive inputs?, kinks)
    "negative": (lambda v: -v, False, ()),
    "exp": (math.exp, False, ()),
    "log": (math.log, True, ()),
    "sqrt": (math.sqrt, True, ()),
    "square": (lambda v: v * v, False, ()),
    "abs": (abs, False, (0.0,)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data(), shape=nst.shapes(0, 3))
def test_unary(name, data, shape):
    scalar_fn, positive, kinks = UNARY[name]
    x = data.draw(nst.arrays(shape, positive=positive, kinks=kinks))
    op = getattr(ops, name)
    assert_matches(op(x), reference._elementwise(scalar_fn, x))
    check_grads(op, [x])


# ------------------------------------------------------------------------- where and clip

@given(data=st.data(), shapes=nst.broadcastable_shapes(), cond_first=st.booleans())
def test_where_broadcasts_condition_and_branches(data, shapes, cond_first):
    a = data.draw(nst.arrays(shapes[0]))
    b = data.draw(nst.arrays(shapes[1]))
    cond_shape = shapes[0] if cond_first else shapes[1]
    seed = data.draw(st.integers(0, 2**32 - 1))
    cond = np.random.default_rng(seed).random(cond_shape) < 0.5
    out_shape = np.broadcast_shapes(cond.shape, a.shape, b.shape)
    ca, cb, cc = (np.broadcast_to(v, out_shape) for v in (a, b, cond))
    expected = np.empty(out_shape)
    for index in np.ndindex(out_shape):
        expected[index] = ca[index] if cc[index] else cb[index]
    assert_matches(ops.where(cond, a, b), expected)
    check_grads(lambda x1, x2: ops.where(cond, x1, x2), [a, b])


@given(data=st.data(), shape=nst.shapes(0, 3), low=st.floats(-1.5, 0.5),
       width=st.floats(0.1, 2.0))
def test_clip_between_bounds(data, shape, low, width):
    high = low + width
    x = data.draw(nst.arrays(shape, kinks=(low, high), margin=1e-2, scale=1.5))
    assert_matches(ops.clip(x, low, high), reference.clip(x, low, high))
    check_grads(lambda t: ops.clip(t, low, high), [x])


# -------------------------------------------------------------------------- matmul, dot

@given(data=st.data(), batch=nst.broadcastable_shapes(max_rank=2, max_side=3),
       sizes=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
       vectors=st.sampled_from(["none", "a", "b", "both"]))
def test_matmul_batch_broadcast_and_vectors(data, batch, sizes, vectors):
    m, k, n = sizes
    a_shape = (k,) if vectors in ("a", "both") else batch[0] + (m, k)
    b_shape = (k,) if vectors in ("b", "both") else batch[1] + (k, n)
    a, b = data.draw(nst.arrays(a_shape)), data.draw(nst.arrays(b_shape))
    assert_matches(ops.matmul(a, b), reference.matmul(a, b))
    check_grads(ops.matmul, [a, b])


@given(data=st.data(), a_rank=st.integers(1, 3), b_rank=st.integers(1, 3),
       k=st.integers(1, 3))
def test_dot_numpy_semantics(data, a_rank, b_rank, k):
    a_shape = data.draw(nst.shapes(a_rank - 1, a_rank - 1, 1, 3)) + (k,)
    if b_rank == 1:
        b_shape = (k,)
    else:
        b_shape = data.draw(nst.shapes(b_rank - 2, b_rank - 2, 1, 3)) + (k, data.draw(
            st.integers(1, 3)))
    a, b = data.draw(nst.arrays(a_shape)), data.draw(nst.arrays(b_shape))
    assert_matches(ops.dot(a, b), reference.dot(a, b))
    check_grads(ops.dot, [a, b])


@pytest.mark.parametrize("b_shape", [(), (3,), (2, 3), (2, 3, 4)])
def test_dot_with_a_scalar_operand(b_shape):
    rng = np.random.default_rng(12)
    a, b = np.array(1.5), rng.standard_normal(b_shape)
    assert_matches(ops.dot(a, b), reference.dot(a, b))
    assert_matches(ops.dot(b, a), reference.dot(b, a))
    check_grads(ops.dot, [a, b])


@given(data=st.data(), lead=nst.shapes(0, 2, 1, 3), n_in=st.integers(1, 4),
       n_out=st.integers(1, 4), use_bias=st.booleans())
def test_dense(data, lead, n_in, n_out, use_bias):
    x = data.draw(nst.arrays(lead + (n_in,)))
    kernel = data.draw(nst.arrays((n_in, n_out)))
    bias = data.draw(nst.arrays((n_out,))) if use_bias else None
    args = [x, kernel] + ([bias] if use_bias else [])
    assert_matches(ops.dense(*args), reference.dense(x, kernel, bias))
    check_grads(ops.dense, args)


# --------------------------------------------------------------------------- reductions

def tape_gradient(fn, x: np.ndarray) -> np.ndarray:
    """d sum(fn(x)) / dx from the tape."""
    t = nk.Tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(fn(t))
    return tape.gradient(y, t).numpy()


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min", "prod"])
@given(data=st.data(), shape=nst.shapes(0, 3, 1, 3))
def test_reductions(kind, data, shape):
    axis, keepdims = data.draw(axis_and_keepdims(len(shape)))
    x = data.draw(nst.arrays(shape, no_ties=kind in ("max", "min")))
    if kind == "prod" and x.size > 1 and data.draw(st.booleans()):
        x.flat[data.draw(st.integers(0, x.size - 1))] = 0.0     # an exact zero factor
    op = getattr(ops, kind)
    assert_matches(op(x, axis=axis, keepdims=keepdims),
                   reference.reduce(x, kind, axis=axis, keepdims=keepdims))
    check_grads(lambda t: op(t, axis=axis, keepdims=keepdims), [x])


def test_prod_gradient_with_zero_factors():
    """d prod / dx_i is the product of the other factors, also where x_i (or another) is 0."""
    np.testing.assert_allclose(tape_gradient(ops.prod, np.array([2.0, 0.0, 3.0, 4.0])),
                               [0.0, 24.0, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_allclose(tape_gradient(ops.prod, np.array([2.0, 0.0, 3.0, 0.0])),
                               [0.0, 0.0, 0.0, 0.0], atol=0)
    x = np.array([[1.5, 0.0, -2.0], [0.5, 4.0, 3.0]])
    np.testing.assert_allclose(tape_gradient(lambda t: ops.prod(t, axis=1), x),
                               [[0.0, -3.0, 0.0], [12.0, 1.5, 2.0]], rtol=1e-12)
    np.testing.assert_allclose(tape_gradient(lambda t: ops.prod(t, axis=0, keepdims=True), x),
                               [[0.5, 4.0, 3.0], [1.5, 0.0, -2.0]], rtol=1e-12)


def test_max_min_gradient_goes_to_the_extreme_element():
    x = np.array([[0.3, 2.5, -1.0], [4.0, -3.0, 1.0]])
    np.testing.assert_array_equal(tape_gradient(lambda t: ops.max(t, axis=1), x),
                                  [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(tape_gradient(ops.min, x), [[0, 0, 0], [0, 1, 0]])


def test_tensor_reduction_methods():
    x = np.random.default_rng(3).standard_normal((2, 3, 4))
    t = nk.Tensor(x)
    assert_matches(t.sum(axis=1), reference.reduce(x, "sum", axis=1))
    assert_matches(t.mean(axis=(0, 2), keepdims=True),
                   reference.reduce(x, "mean", axis=(0, 2), keepdims=True))
    assert_matches(t.max(), reference.reduce(x, "max"))
    assert_matches(t.min(axis=-1), reference.reduce(x, "min", axis=-1))


# ---------------------------------------------------------------------- shape operations

@st.composite
def reshape_cases(draw):
    shape = draw(nst.shapes(0, 4, 1, 4))
    size = size_of(shape)
    split = draw(st.integers(0, len(shape)))
    options = [(size,), tuple(reversed(shape)),
               (size_of(shape[:split]), size_of(shape[split:])), (1,) + shape + (1,)]
    target = list(draw(st.sampled_from(options)))
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return shape, tuple(target)


@given(data=st.data(), case=reshape_cases(), method=st.booleans())
def test_reshape(data, case, method):
    shape, target = case
    x = data.draw(nst.arrays(shape))
    fn = (lambda t: nk.Tensor.reshape(t, target)) if method else \
        (lambda t: ops.reshape(t, target))
    assert_matches(fn(nk.Tensor(x)), x.reshape(target))
    check_grads(fn, [x])


@given(data=st.data(), shape=nst.shapes(1, 4, 1, 4))
def test_transpose(data, shape):
    x = data.draw(nst.arrays(shape))
    perm = data.draw(st.none() | st.permutations(range(len(shape))).map(tuple))
    if perm is not None and data.draw(st.booleans()):
        perm = tuple(a - len(shape) for a in perm)        # negative axes
    assert_matches(ops.transpose(x, perm), np.transpose(x, perm))
    check_grads(lambda t: ops.transpose(t, perm), [x])


def test_transpose_T_property():
    x = np.random.default_rng(4).standard_normal((2, 3, 4))
    assert_matches(nk.Tensor(x).T, x.T)


@given(data=st.data(), shape=nst.shapes(0, 3, 1, 3))
def test_expand_dims(data, shape):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    x = data.draw(nst.arrays(shape))
    assert_matches(ops.expand_dims(x, axis), np.expand_dims(x, axis))
    check_grads(lambda t: ops.expand_dims(t, axis), [x])


@given(data=st.data(), shape=nst.shapes(1, 4, 1, 2))
def test_squeeze(data, shape):
    ones = [i for i, n in enumerate(shape) if n == 1]
    choices = [None] + ones + [i - len(shape) for i in ones]
    axis = data.draw(st.sampled_from(choices))
    x = data.draw(nst.arrays(shape))
    assert_matches(ops.squeeze(x, axis), np.squeeze(x, axis))
    check_grads(lambda t: ops.squeeze(t, axis), [x])


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 3), count=st.integers(1, 3))
def test_concatenate(data, shape, count):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    xs = []
    for _ in range(count):
        piece = list(shape)
        piece[axis] = data.draw(st.integers(1, 3))
        xs.append(data.draw(nst.arrays(tuple(piece))))
    assert_matches(ops.concatenate(xs, axis=axis), np.concatenate(xs, axis=axis))
    check_grads(lambda *ts: ops.concatenate(list(ts), axis=axis), xs)


@given(data=st.data(), shape=nst.shapes(0, 3, 1, 3), count=st.integers(1, 3))
def test_stack(data, shape, count):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    xs = [data.draw(nst.arrays(shape)) for _ in range(count)]
    assert_matches(ops.stack(xs, axis=axis), np.stack(xs, axis=axis))
    check_grads(lambda *ts: ops.stack(list(ts), axis=axis), xs)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 6))
def test_split(data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[axis]
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    if data.draw(st.booleans()):
        how = data.draw(st.sampled_from(divisors))
    else:
        how = sorted(data.draw(st.sets(st.integers(1, size - 1), max_size=3))) if size > 1 else []
    x = data.draw(nst.arrays(shape))
    pieces = ops.split(x, how, axis=axis)
    expected = np.split(x, how, axis=axis)
    assert len(pieces) == len(expected)
    for piece, want in zip(pieces, expected):
        assert_matches(piece, want)
    check_grads(lambda t: ops.split(t, how, axis=axis), [x])


@st.composite
def index_keys(draw, shape):
    """Keys numpy accepts for `shape`: ints (maybe negative), slices with steps, None,
    Ellipsis, an integer array with repeats, or a boolean mask."""
    kind = draw(st.sampled_from(["basic", "basic", "int_array", "bool_mask"]))
    if kind == "int_array":           # along the first axis, repeats allowed
        index = np.array(draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1,
                                       max_size=5)))
        return (index,) if draw(st.booleans()) else (index, Ellipsis)
    if kind == "bool_mask":
        seed = draw(st.integers(0, 2**32 - 1))
        return (np.random.default_rng(seed).random(shape) < 0.5,)
    key = []
    for n in shape:
        choice = draw(st.sampled_from(["int", "slice", "all"]))
        if choice == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif choice == "slice":
            step = draw(st.sampled_from([1, 2, -1, -2]))
            start = draw(st.none() | st.integers(-n, n - 1))
            stop = draw(st.none() | st.integers(-n, n))
            key.append(slice(start, stop, step))
        else:
            key.append(slice(None))
    if key and draw(st.booleans()):
        key = key[:draw(st.integers(0, len(key) - 1))] + [Ellipsis]
    if draw(st.booleans()):
        key.insert(draw(st.integers(0, len(key))), None)
    return tuple(key)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), use_operator=st.booleans())
def test_getitem(data, shape, use_operator):
    key = data.draw(index_keys(shape))
    x = data.draw(nst.arrays(shape))
    fn = (lambda t: t[key]) if use_operator else (lambda t: ops.getitem(t, key))
    assert_matches(fn(nk.Tensor(x)), x[key])
    check_grads(fn, [x])


def test_getitem_repeated_indices_accumulate_gradient():
    x = nk.Tensor(np.array([1.0, 2.0, 3.0]))
    with nk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(x[np.array([0, 2, 0, 0])])
    np.testing.assert_array_equal(np.asarray(tape.gradient(y, x)), [3.0, 0.0, 1.0])


@given(data=st.data(), shapes=nst.broadcastable_shapes())
def test_broadcast_to(data, shapes):
    target = np.broadcast_shapes(*shapes)
    source = shapes[0] if shapes[0] != target else shapes[1]
    x = data.draw(nst.arrays(source))
    assert_matches(ops.broadcast_to(x, target), np.broadcast_to(x, target))
    check_grads(lambda t: ops.broadcast_to(t, target), [x])


# ------------------------------------------------------------------ cast, one_hot, argmax

@given(data=st.data(), shape=nst.shapes(0, 3))
def test_cast_float64_to_float32_and_back(data, shape):
    x = data.draw(nst.arrays(shape))
    assert_matches(ops.cast(x, "float32"), x.astype(np.float32), rtol=0, atol=0,
                   dtype="float32")
    assert_matches(ops.cast(ops.cast(x, "float32"), np.float64),
                   x.astype(np.float32).astype(np.float64), rtol=0, atol=0)
    t = nk.Tensor(x)
    v = np.random.default_rng(0).standard_normal(shape)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(ops.multiply(ops.cast(t, "float32"), v.astype(np.float32)))
    grad = tape.gradient(y, t)
    assert grad.dtype == "float64"
    np.testing.assert_allclose(np.asarray(grad), v, rtol=1e-6)
    check_grads(lambda a: ops.cast(a * 3.0, "float64"), [x])


def test_cast_to_int_values_and_no_gradient():
    x = np.array([-1.7, -0.2, 0.6, 2.9])
    assert_matches(ops.cast(x, "int32"), np.array([-1, 0, 0, 2]), dtype="int32")
    t = nk.Tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(ops.cast(t, "int32"))
    assert tape.gradient(y, t) is None


@given(data=st.data(), shape=nst.shapes(0, 3, 1, 4), num_classes=st.integers(1, 5),
       int_dtype=st.sampled_from(["int32", "int64", "uint8"]),
       out_dtype=st.sampled_from([None, "float64", "int32"]))
def test_one_hot_integer_indices(data, shape, num_classes, int_dtype, out_dtype):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    seed = data.draw(st.integers(0, 2**32 - 1))
    indices = np.random.default_rng(seed).integers(0, num_classes, shape).astype(int_dtype)
    y = ops.one_hot(indices, num_classes, axis=axis, dtype=out_dtype)
    assert_matches(y, reference.one_hot(indices, num_classes, axis), rtol=0, atol=0,
                   dtype=out_dtype or "float32")


def test_one_hot_negative_index_gives_zero_row():
    y = np.asarray(ops.one_hot(np.array([0, -1, 2]), 3))
    np.testing.assert_array_equal(y, [[1, 0, 0], [0, 0, 0], [0, 0, 1]])


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), integer=st.booleans(),
       keepdims=st.booleans())
def test_argmax(data, shape, integer, keepdims):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    if integer:
        seed = data.draw(st.integers(0, 2**32 - 1))
        x = np.random.default_rng(seed).integers(-3, 4, shape).astype(np.int32)  # with ties
    else:
        x = data.draw(nst.arrays(shape, no_ties=True))
    y = ops.argmax(x, axis=axis, keepdims=keepdims)
    expected = reference.argmax(x, axis)
    if keepdims:
        expected = (expected.reshape((1,) * len(shape)) if axis is None
                    else np.expand_dims(expected, axis))
    assert_matches(y, expected, rtol=0, atol=0, dtype="int64")


# --------------------------------------------------------------------------- tape basics

def test_stop_gradient_blocks_gradient():
    x = np.array([[0.5, -1.25], [2.0, 3.5]])
    t = nk.Tensor(x)
    assert_matches(ops.stop_gradient(t), x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(ops.multiply(ops.stop_gradient(t), 3.0))
    assert tape.gradient(y, t) is None
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(ops.multiply(t, ops.stop_gradient(t)))   # d/dx x * sg(x) = sg(x) = x
    np.testing.assert_allclose(np.asarray(tape.gradient(y, t)), x, rtol=1e-12)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_check_grads_rejects_non_finite_gradients(bad):
    @dataclass(frozen=True)
    class BadGradient(nk.ops.Op):
        def output_spec(self, x): return x
        def forward(self, k, x): return x * 2.0, ()
        def vjp(self, k, dy, residuals, needs): return (dy * bad,)

    with pytest.raises(GradientCheckError):
        check_grads(BadGradient(), [np.array([0.1, -0.4, 1.2])])


def test_stop_gradient_makes_check_grads_fail():
    """check_grads must notice that a stop_gradient'ed function has a zero analytic gradient."""
    x = np.array([0.3, -1.1, 2.0])
    with pytest.raises(GradientCheckError):
        check_grads(lambda t: ops.stop_gradient(t) * 2.0, [x])


# ------------------------------------------------------------------------------- dropout

def test_dropout_seeded_masks_repeat_and_scale_kept_values():
    x = np.random.default_rng(5).uniform(0.5, 1.5, (40, 30))
    rate = 0.3
    first = np.asarray(ops.dropout(x, rate, seed=123))
    second = np.asarray(ops.dropout(x, rate, seed=123))
    other = np.asarray(ops.dropout(x, rate, seed=124))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first != 0, other != 0)
    kept = first != 0
    assert 0 < kept.sum() < x.size
    np.testing.assert_allclose(first[kept], x[kept] / (1 - rate), rtol=1e-12)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_drops_fraction_rate(rate):
    x = np.ones((200, 500))
    y = np.asarray(ops.dropout(x, rate, seed=7))
    dropped = np.mean(y == 0)
    assert abs(dropped - rate) < 0.01, dropped       # ~5 standard deviations at 1e5 draws
    np.testing.assert_allclose(np.unique(y[y != 0]), [1 / (1 - rate)], rtol=1e-12)
    assert abs(y.mean() - 1.0) < 0.03                 # expectation preserved


def test_dropout_noise_shape_shares_mask_across_broadcast_axes():
    x = np.random.default_rng(6).uniform(0.5, 1.5, (8, 5, 6))
    y = np.asarray(ops.dropout(x, 0.5, noise_shape=(8, 1, 6), seed=3))
    mask = y != 0
    assert np.all(mask == mask[:, :1, :]), "the mask varies along a noise_shape-1 axis"
    assert 0 < mask.sum() < mask.size
    np.testing.assert_allclose(y[mask], 2.0 * x[mask], rtol=1e-12)
    y = np.asarray(ops.dropout(x, 0.5, noise_shape=(None, 1, None), seed=3))
    assert np.all((y != 0) == (y != 0)[:, :1, :])
    y = np.asarray(ops.dropout(x, 0.5, noise_shape=(1, 1, 6), seed=4))
    assert np.all((y != 0) == (y != 0)[:1, :1, :]) and 0 < np.sum(y[0, 0] != 0) < 6


def test_dropout_rate_zero_is_identity_and_bad_rate_raises():
    x = np.random.default_rng(8).standard_normal((3, 4))
    assert_matches(ops.convert_to_tensor(ops.dropout(x, 0.0)), x)
    with pytest.raises(ValueError, match="rate"):
        ops.dropout(x, 1.0)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), rate=st.floats(0.1, 0.7),
       seed=st.integers(0, 1000))
def test_dropout_gradient_is_the_mask(data, shape, rate, seed):
    x = data.draw(nst.arrays(shape, kinks=(0.0,)))
    fn = lambda t: ops.dropout(t, rate, seed=seed)                         # noqa: E731
    mask = np.asarray(fn(x)) / x                   # 0 or 1 / (1 - rate)
    assert np.all(np.isclose(mask, 0.0, atol=0) | np.isclose(mask, 1 / (1 - rate), rtol=1e-12))
    np.testing.assert_allclose(tape_gradient(fn, x), mask, rtol=1e-12)
    check_grads(fn, [x])


# --------------------------------------------------------------------------- activations

SIMPLE_ACTIVATIONS = {
    # name: (reference, kinks, scale)
    "relu6": (reference.relu6, (0.0, 6.0), 4.0),
    "selu": (reference.selu, (0.0,), 1.5),
    "silu": (reference.silu, (), 2.0),
    "swish": (reference.silu, (), 2.0),
    "mish": (reference.mish, (), 2.0),
    "sigmoid": (reference.sigmoid, (), 3.0),
    "hard_sigmoid": (reference.hard_sigmoid, (-3.0, 3.0), 3.0),
    "tanh": (reference.tanh, (), 2.0),
    "softplus": (reference.softplus, (), 3.0),
    "softsign": (reference.softsign, (0.0,), 2.0),
    "exponential": (reference.exponential, (), 1.0),
    "linear": (reference.linear, (), 1.0),
}


@pytest.mark.parametrize("name", sorted(SIMPLE_ACTIVATIONS))
@given(data=st.data(), shape=nst.shapes(0, 3))
def test_simple_activations(name, data, shape):
    ref, kinks, scale = SIMPLE_ACTIVATIONS[name]
    x = data.draw(nst.arrays(shape, kinks=kinks, scale=scale))
    op = getattr(ops, name)
    assert_matches(op(x), ref(x))
    check_grads(op, [x])


@st.composite
def relu_configs(draw):
    threshold = draw(st.just(0.0) | st.floats(-1.0, 1.0))
    negative_slope = draw(st.just(0.0) | st.floats(0.05, 0.5))
    max_value = draw(st.none() | st.floats(max(threshold, 0.0) + 0.5, max(threshold, 0.0) + 3.0))
    return dict(negative_slope=negative_slope, max_value=max_value, threshold=threshold)


@given(data=st.data(), shape=nst.shapes(0, 3), config=relu_configs())
def test_relu_configs(data, shape, config):
    kinks = (config["threshold"],) + (() if config["max_value"] is None
                                      else (config["max_value"],))
    x = data.draw(nst.arrays(shape, kinks=kinks, scale=2.0))
    assert_matches(ops.relu(x, **config), reference.relu(x, **config))
    check_grads(lambda t: ops.relu(t, **config), [x])


def test_relu_keras_formula_on_fixed_points():
    x = np.array([-2.0, 0.5, 1.0, 1.5, 5.0, 6.0, 7.0])
    got = np.asarray(ops.relu(x, negative_slope=0.1, max_value=6.0, threshold=1.0))
    np.testing.assert_allclose(got, [-0.3, -0.05, 1.0, 1.5, 5.0, 6.0, 6.0], rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ops.relu(x)), np.maximum(x, 0), rtol=0)


@given(data=st.data(), shape=nst.shapes(0, 3),
       slope=st.none() | st.floats(0.01, 0.9))
def test_leaky_relu(data, shape, slope):
    x = data.draw(nst.arrays(shape, kinks=(0.0,)))
    kwargs = {} if slope is None else {"negative_slope": slope}
    assert_matches(ops.leaky_relu(x, **kwargs), reference.leaky_relu(x, slope or 0.2))
    check_grads(lambda t: ops.leaky_relu(t, **kwargs), [x])


@given(data=st.data(), shape=nst.shapes(0, 3), alpha=st.none() | st.floats(0.1, 2.0))
def test_elu(data, shape, alpha):
    x = data.draw(nst.arrays(shape, kinks=(0.0,), scale=1.5))
    kwargs = {} if alpha is None else {"alpha": alpha}
    assert_matches(ops.elu(x, **kwargs), reference.elu(x, alpha or 1.0))
    check_grads(lambda t: ops.elu(t, **kwargs), [x])


@given(data=st.data(), shape=nst.shapes(0, 3), approximate=st.none() | st.booleans())
def test_gelu(data, shape, approximate):
    x = data.draw(nst.arrays(shape, scale=2.0))
    kwargs = {} if approximate is None else {"approximate": approximate}
    expected = reference.gelu(x, approximate=True if approximate is None else approximate)
    assert_matches(ops.gelu(x, **kwargs), expected)
    check_grads(lambda t: ops.gelu(t, **kwargs), [x])


def test_gelu_exact_and_approximate_differ():
    x = np.array([-2.0, -0.7, 0.4, 1.3, 3.0])
    exact, approx = np.asarray(ops.gelu(x, approximate=False)), np.asarray(ops.gelu(x))
    assert np.max(np.abs(exact - approx)) > 1e-5
    np.testing.assert_allclose(exact, reference.gelu(x, approximate=False), rtol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), default_axis=st.booleans())
def test_softmax_and_log_softmax_over_axis(name, data, shape, default_axis):
    axis = -1 if default_axis else data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(nst.arrays(shape, scale=3.0))
    op = getattr(ops, name)
    call = (lambda t: op(t)) if default_axis else (lambda t: op(t, axis=axis))
    expected = getattr(reference, name)(x, axis)
    assert_matches(call(x), expected)
    if name == "softmax":
        np.testing.assert_allclose(np.asarray(call(x)).sum(axis=axis), 1.0, rtol=1e-12)
    check_grads(call, [x])


STABILITY_CASES = {
    "softmax": (ops.softmax, lambda x: reference.softmax(x)),
    "log_softmax": (ops.log_softmax, lambda x: reference.log_softmax(x)),
    "sigmoid": (ops.sigmoid, reference.sigmoid),
    "softplus": (ops.softplus, reference.softplus),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(STABILITY_CASES))
def test_large_inputs_stay_finite(name, dtype):
    op, ref = STABILITY_CASES[name]
    x = np.array([[1e4, -1e4, 0.0, 3.0], [-1e4, -1e4 + 1.0, -1e4, -1e4 - 5.0]], dtype=dtype)
    t = nk.Tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = op(t)
        loss = ops.sum(ops.multiply(y, np.array([1.0, -2.0, 0.5, 3.0], dtype=dtype)))
    got = np.asarray(y)
    assert got.dtype == dtype
    assert np.all(np.isfinite(got)), got
    np.testing.assert_allclose(got, ref(x.astype(np.float64)),
                               rtol=1e-12 if dtype == "float64" else 1e-5, atol=1e-30)
    grad = np.asarray(tape.gradient(loss, t))
    assert np.all(np.isfinite(grad)), grad


# ---------------------------------------------------------------------------- dtypes

FLOAT32_CASES = {
    "multiply_scalar": lambda x: ops.multiply(x, 2.0),
    "scalar_multiply": lambda x: ops.multiply(2.0, x),
    "add_int": lambda x: ops.add(x, 1),
    "subtract_scalar": lambda x: ops.subtract(x, 0.5),
    "divide_scalar": lambda x: ops.divide(x, 3.0),
    "rtruediv": lambda x: 1.0 / (nk.Tensor(x) * x + 1.0),
    "power_scalar": lambda x: ops.power(ops.abs(x), 1.5),
    "maximum_scalar": lambda x: ops.maximum(x, 0.1),
    "minimum_array": lambda x: ops.minimum(x, x[::-1]),
    "operators": lambda x: (nk.Tensor(x) * 2.0 - 1.0) / 4.0,
    "negative": ops.negative, "exp": ops.exp, "square": ops.square, "abs": ops.abs,
    "log": lambda x: ops.log(ops.abs(x) + 0.5),
    "sqrt": lambda x: ops.sqrt(ops.abs(x)),
    "where": lambda x: ops.where(x > 0, x, 0.0),
    "clip": lambda x: ops.clip(x, -0.5, 0.5),
    "relu": ops.relu, "relu_config": lambda x: ops.relu(x, 0.1, 1.0, 0.2),
    "relu6": ops.relu6, "leaky_relu": ops.leaky_relu, "elu": ops.elu, "selu": ops.selu,
    "gelu": ops.gelu, "gelu_exact": lambda x: ops.gelu(x, approximate=False),
    "silu": ops.silu, "mish": ops.mish, "sigmoid": ops.sigmoid,
    "hard_sigmoid": ops.hard_sigmoid, "tanh": ops.tanh, "softplus": ops.softplus,
    "softsign": ops.softsign, "exponential": ops.exponential, "linear": ops.linear,
    "softmax": ops.softmax, "softmax_axis0": lambda x: ops.softmax(x, axis=0),
    "log_softmax": ops.log_softmax,
    "sum": ops.sum, "mean": lambda x: ops.mean(x, axis=0), "max": lambda x: ops.max(x, 1),
    "min": ops.min, "prod": lambda x: ops.prod(x, axis=-1),
    "matmul": lambda x: ops.matmul(x, x.T), "dot": lambda x: ops.dot(x, x.T),
    "dense": lambda x: ops.dense(x, np.ones((4, 2), np.float32), np.ones(2, np.float32)),
    "reshape": lambda x: ops.reshape(x, (-1,)), "transpose": ops.transpose,
    "getitem": lambda x: nk.Tensor(x)[1:, ::2], "expand_dims": lambda x: ops.expand_dims(x, 1),
    "concatenate": lambda x: ops.concatenate([x, x], axis=1),
    "stack": lambda x: ops.stack([x, x]),
    "broadcast_to": lambda x: ops.broadcast_to(x, (2, 3, 4)),
    "stop_gradient": ops.stop_gradient, "dropout": lambda x: ops.dropout(x, 0.5, seed=1),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_CASES))
def test_float32_inputs_give_float32_outputs(name):
    fn = FLOAT32_CASES[name]
    x64 = np.random.default_rng(9).standard_normal((3, 4))
    x32 = x64.astype(np.float32)
    y32, y64 = fn(x32), fn(x32.astype(np.float64))
    assert y32.dtype == "float32", f"{name}: float32 input gave {y32.dtype}"
    assert y64.dtype == "float64", f"{name}: float64 input gave {y64.dtype}"
    np.testing.assert_allclose(np.asarray(y32), np.asarray(y64), rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["divide", "exp", "log", "mean", "sigmoid", "softmax", "sqrt",
                                  "tanh"])
def test_integer_inputs_to_float_ops_give_floatx_like_their_spec(name):
    """Keras: integer inputs to exp/log/mean/divide/... give floatx. The symbolic spec says
    so too; the eager result must agree with it."""
    fn = {"mean": ops.mean, "divide": lambda x: ops.divide(x, 2)}.get(name, getattr(ops, name))
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32)
    symbolic = fn(nk.KerasTensor(x.shape, "int32"))
    assert symbolic.dtype == "float32"
    eager = fn(x)
    assert (eager.shape, eager.dtype) == (symbolic.shape, symbolic.dtype)
    expected = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh,
                "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "mean": np.mean,
                "divide": lambda v: v / 2, "softmax": lambda v: reference.softmax(v)}[name]
    np.testing.assert_allclose(np.asarray(eager), expected(x.astype(np.float64)), rtol=1e-6)


def _last_two_swapped(t):
    return ops.moveaxis(t, -1, -2) if len(t.shape) > 1 else t


SPEC_CASES = {
    "add": lambda t: ops.add(t, t), "multiply_scalar": lambda t: ops.multiply(t, 2.0),
    "subtract_from_int": lambda t: ops.subtract(1, t), "minimum_int": lambda t: ops.minimum(t, 1),
    "divide": lambda t: ops.divide(t, t + 3.0), "power": lambda t: ops.power(t, 2.0),
    "exp": ops.exp, "relu": ops.relu, "relu_config": lambda t: ops.relu(t, 0.1, 2.0, 0.5),
    "gelu": ops.gelu, "hard_sigmoid": ops.hard_sigmoid, "sigmoid": ops.sigmoid,
    "softmax": ops.softmax, "log_softmax_axis0": lambda t: ops.log_softmax(t, axis=0),
    "sum": lambda t: ops.sum(t, axis=0), "sum_keepdims": lambda t: ops.sum(t, -1, True),
    "mean": lambda t: ops.mean(t, keepdims=True), "mean_all": ops.mean,
    "max": lambda t: ops.max(t, axis=-1), "prod": lambda t: ops.prod(t, (0,), True),
    "reshape": lambda t: ops.reshape(t, (-1, 1)), "transpose": ops.transpose,
    "expand_dims": lambda t: ops.expand_dims(t, -1), "squeeze": ops.squeeze,
    "getitem": lambda t: t[..., :1], "getitem_int": lambda t: t[0],
    "getitem_fancy": lambda t: t[np.array([0, 0])],
    "concatenate": lambda t: ops.concatenate([t, t], axis=-1),
    "stack": lambda t: ops.stack([t, t], axis=1), "split": lambda t: ops.split(t, [1], -1)[1],
    "broadcast_to": lambda t: ops.broadcast_to(t, (2,) + tuple(t.shape)),
    "argmax": lambda t: ops.argmax(t, axis=-1), "argmax_all": lambda t: ops.argmax(t, None, True),
    "one_hot": lambda t: ops.one_hot(ops.argmax(t, axis=-1), 4, axis=0),
    "matmul": lambda t: ops.matmul(t, _last_two_swapped(t)),
    "dot": lambda t: ops.dot(t, _last_two_swapped(t)),
    "dense": lambda t: ops.dense(t, np.ones((t.shape[-1], 2), t.dtype), np.ones(2, t.dtype)),
    "clip": lambda t: ops.clip(t, -0.5, 0.5), "cast": lambda t: ops.cast(t, "float16"),
    "where": lambda t: ops.where(t > 0, t, t * 2.0),
    "where_python_scalar": lambda t: ops.where(t > 0, t, 0.0),
    "stop_gradient": ops.stop_gradient, "dropout": lambda t: ops.dropout(t, 0.5, seed=1),
}

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(SPEC_CASES))
def test_eager_shapes_and_dtypes_match_symbolic_specs(name, dtype):
    fn = SPEC_CASES[name]
    rng = np.random.default_rng(10)
    for shape in [(2, 3), (4,), (2, 1, 3), (3, 1)]:
        x = rng.standard_normal(shape).astype(dtype)
        eager, symbolic = fn(nk.Tensor(x)), fn(nk.KerasTensor(shape, dtype))
        assert isinstance(symbolic, nk.KerasTensor)
        assert (tuple(eager.shape), eager.dtype) == (tuple(symbolic.shape), symbolic.dtype), shape


# ------------------------------------------------------------------------ error messages

ERROR_CASES = {
    # name: (call on (a, b) tensors-or-KerasTensors, shapes, message pattern)
    "reshape": (lambda a: ops.reshape(a, (4,)), [(2, 3)], r"\(2, ?3\).*\(4,?\)"),
    "broadcast": (lambda a, b: ops.add(a, b), [(2, 3), (4,)], r"\(2, ?3\).*\(4,\)"),
    "broadcast_to": (lambda a: ops.broadcast_to(a, (4,)), [(3,)], r"\(3,\).*\(4,\)"),
    "matmul": (lambda a, b: ops.matmul(a, b), [(2, 3), (4, 5)], r"\(2, ?3\).*\(4, ?5\)"),
    "dense": (lambda a, b: ops.dense(a, b), [(2, 3), (4, 5)], r"\(2, ?3\).*\(4, ?5\)"),
}

@pytest.mark.parametrize("mode", ["eager", "symbolic"])
@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_shape_errors_name_the_shapes(name, mode):
    fn, shapes, pattern = ERROR_CASES[name]
    rng = np.random.default_rng(11)
    args = ([rng.standard_normal(s) for s in shapes] if mode == "eager"
            else [nk.KerasTensor(s, "float64") for s in shapes])
    with pytest.raises(ValueError, match=pattern):
        fn(*args)
