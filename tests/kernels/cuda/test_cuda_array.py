"""The CUDA array kernels compute what the CPU ones compute (numpy's semantics: shapes, dtypes
and values), on Hypothesis-drawn small arrays (ranks 0-4, sizes 1-5, broadcasting, axes,
keepdims, float/int/bool dtypes, Python numbers as operands) and on fixed edge cases: one
element, sizes that are no multiple of the block or the tile (the grid loops and the tails),
the first and last rows."""
import importlib
import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbkeras.kernels.cuda.runtime import MAX_BLOCKS, THREADS, TILE, to_device, to_host

cpu = importlib.import_module("nbkeras.kernels.cpu.array")
cuda = importlib.import_module("nbkeras.kernels.cuda.array")

TOLERANCE = {np.dtype(np.float32): dict(rtol=1e-5, atol=1e-5),
             np.dtype(np.float64): dict(rtol=1e-12, atol=1e-12)}
FLOATS = [np.float32, np.float64]
NUMBERS = FLOATS + [np.int32, np.int64]
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=5)
seeds = st.integers(0, 2**32 - 1)
few = settings(max_examples=8)


def _data(seed, shape, dtype, low=-2.0, high=2.0) -> np.ndarray:
    """Random values of `dtype` in [low, high] (ints: the integers there; bools: coin flips)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.kind == "i":
        return np.asarray(rng.integers(math.ceil(low), math.floor(high) + 1, shape), dtype)
    return np.asarray(rng.uniform(low, high, shape), dtype)


def _nonzero(seed, shape, dtype) -> np.ndarray:
    """Values of magnitude in [0.5, 2] (ints: 1 or 2) and either sign: divisors."""
    low = 1.0 if np.dtype(dtype).kind == "i" else 0.5
    sign = np.where(_data(seed + 1, shape, np.bool_), 1, -1)
    return np.asarray(_data(seed, shape, dtype, low, 2.0) * sign, dtype)


def _same(got, want) -> None:
    """A device result equals the CPU's: shape, dtype and values (floats to the dtype's
    tolerance, others exactly)."""
    got, want = to_host(got), np.asarray(want)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, **TOLERANCE[want.dtype])
    else:
        np.testing.assert_array_equal(got, want)


def _both(name, *args):
    """cuda.<name>(*args) (numpy arrays moved to the device) against cpu.<name>(*args)."""
    device_args = [to_device(a) if isinstance(a, np.ndarray) else a for a in args]
    _same(getattr(cuda, name)(*device_args), getattr(cpu, name)(*args))


def test_exports_the_cpu_functions_with_their_signatures():
    assert cuda.__all__ == cpu.__all__
    for name in cpu.__all__:
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(getattr(cpu, name))


# ---------------------------------------------------------------------------- elementwise

# The simulator runs Python's math, which raises where a GPU returns NaN or inf.
UNARY_DOMAIN = {"exp": (-2.0, 2.0), "log": (0.5, 3.0), "sqrt": (0.0, 3.0)}


@pytest.mark.parametrize("name", ["negative", "abs", "sign", "exp", "log", "sqrt", "square"])
@few
@given(shape=shapes, dtype=st.sampled_from(NUMBERS), seed=seeds)
def test_unary(name, shape, dtype, seed):
    x = _data(seed, shape, dtype, *UNARY_DOMAIN.get(name, (-3.0, 3.0)))
    _both(name, x)


def test_sign_of_zero_and_nan():
    _both("sign", np.array([-2.0, -0.0, 0.0, np.nan, 3.0, np.inf]))


def _binary_operands(name, shapes_, dtypes, seed):
    a = _data(seed, shapes_[0], dtypes[0])
    if name == "power":
        a = _data(seed, shapes_[0], dtypes[0], 0.5, 2.0)
        if np.dtype(dtypes[0]).kind == "i":
            a = _data(seed, shapes_[0], dtypes[0], 1, 3)
    if name == "divide":
        return a, _nonzero(seed + 7, shapes_[1], dtypes[1])
    if name == "power" and np.dtype(dtypes[1]).kind == "i":
        return a, _data(seed + 7, shapes_[1], dtypes[1], 0, 3)    # no negative int powers
    return a, _data(seed + 7, shapes_[1], dtypes[1])


BINARY = ["add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "equal",
          "not_equal", "less", "less_equal", "greater", "greater_equal"]
DTYPE_PAIRS = [(np.float32, np.float32), (np.float64, np.float64), (np.float32, np.float64),
               (np.int64, np.int64), (np.int32, np.float32), (np.int32, np.int64)]


@pytest.mark.parametrize("name", BINARY)
@few
@given(case=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                              min_side=1, max_side=5),
       dtypes=st.sampled_from(DTYPE_PAIRS), seed=seeds)
def test_binary_broadcasts(name, case, dtypes, seed):
    _both(name, *_binary_operands(name, case.input_shapes, dtypes, seed))


@pytest.mark.parametrize("name", BINARY)
@few
@given(shape=shapes, dtype=st.sampled_from(NUMBERS), number=st.sampled_from([2, 3, 0.5, 1.5]),
       first=st.booleans(), seed=seeds)
def test_binary_with_a_python_number(name, shape, dtype, number, first, seed):
    """multiply(x, 2), power(a, b - 1), where-style: the number takes the array's dtype
    (numpy's weak scalars), a float number makes int arrays float64."""
    x = _data(seed, shape, dtype, 0.5, 2.0) if name == "power" else _nonzero(seed, shape, dtype)
    if np.dtype(dtype).kind == "i":
        x = _data(seed, shape, dtype, 1, 3)
    _both(name, *((number, x) if first else (x, number)))


@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "minimum", "equal", "less"])
def test_binary_on_bools(name):
    a, b = np.array([[True], [False]]), np.array([True, False, True])
    _both(name, a, b)


def test_maximum_and_minimum_propagate_nan():
    a, b = np.array([1.0, np.nan, 2.0, np.nan]), np.array([np.nan, 1.0, 0.0, np.nan])
    _both("maximum", a, b)
    _both("minimum", a, b)


@few
@given(case=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4,
                                              min_side=1, max_side=5),
       dtype=st.sampled_from(NUMBERS + [np.bool_]), condition=st.sampled_from([np.bool_, np.float32]),
       seed=seeds)
def test_where(case, dtype, condition, seed):
    c_shape, a_shape, b_shape = case.input_shapes
    c = np.asarray(_data(seed, c_shape, np.bool_), condition)
    _both("where", c, _data(seed + 1, a_shape, dtype), _data(seed + 2, b_shape, dtype))


@pytest.mark.parametrize("number", [0, 0.0, 1])
def test_where_with_a_python_number(number):
    """where(c, dy, 0) keeps dy's dtype."""
    c, dy = np.array([True, False, True]), np.array([1.5, 2.5, 3.5], np.float32)
    _both("where", c, dy, number)
    _both("where", c, number, dy)


@few
@given(shape=shapes, dtype=st.sampled_from(NUMBERS), seed=seeds,
       bounds=st.sampled_from([(-1.0, 1.0), (0, 1), (None, 0.5), (-0.5, None)]))
def test_clip(shape, dtype, seed, bounds):
    _both("clip", _data(seed, shape, dtype), *bounds)


@pytest.mark.parametrize("source", NUMBERS + [np.bool_])
@pytest.mark.parametrize("target", NUMBERS + [np.bool_])
def test_cast(source, target):
    x = _data(0, (3, 5), source, 0.0, 4.0)
    _same(cuda.cast(to_device(x), target), cpu.cast(x, target))


def test_asarray_moves_numbers_and_arrays_and_keeps_device_arrays():
    d = to_device(np.ones(3, np.float32))
    assert cuda.asarray(d) is d
    _same(cuda.asarray(2.5), cpu.asarray(2.5))
    _same(cuda.asarray(np.arange(4)), cpu.asarray(np.arange(4)))


# ---------------------------------------------------------------------------- reductions

@st.composite
def reduction_cases(draw):
    shape = draw(shapes)
    axis = draw(st.none() | (st.integers(-len(shape), len(shape) - 1) if shape else st.none())
                | hnp.valid_tuple_axes(len(shape)))
    return shape, axis, draw(st.booleans())


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod"])
@few
@given(case=reduction_cases(), dtype=st.sampled_from(NUMBERS + [np.bool_]), seed=seeds)
def test_reduce(name, case, dtype, seed):
    shape, axis, keepdims = case
    low, high = (0.8, 1.25) if name == "prod" else (-2.0, 2.0)   # products stay in range
    x = _data(seed, shape, dtype, low, high)
    _both("reduce", name, x, axis, keepdims)


def test_reduce_rows_longer_than_the_block_and_more_rows_than_blocks():
    """Rows of more columns than the block has threads (each thread sums several), more rows
    than the grid has blocks (blocks loop), the reduced axis first (a transpose first)."""
    x = _data(1, (THREADS + 3, MAX_BLOCKS * 3 + 1), np.float64)
    for name in ["sum", "mean", "max", "min"]:
        for axis in [0, 1, None, (0, 1)]:
            got = to_host(cuda.reduce(name, to_device(x), axis, False))
            want = cpu.reduce(name, x, axis, False)
            np.testing.assert_allclose(got, want, rtol=1e-12)
            if got.ndim:
                assert got[0] == pytest.approx(want[0]) and got[-1] == pytest.approx(want[-1])


def test_reduce_propagates_nan_and_refuses_empty_max():
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]])
    _both("reduce", "max", x, 1, False)
    _both("reduce", "min", x, None, True)
    with pytest.raises(ValueError, match="zero-size"):
        cuda.reduce("max", to_device(np.ones((2, 0))), 1, False)
    _both("reduce", "sum", np.ones((2, 0)), 1, False)


@few
@given(shape=shapes, dtype=st.sampled_from(NUMBERS + [np.bool_]), seed=seeds, data=st.data())
def test_argmax(shape, dtype, seed, data):
    axis = data.draw(st.none() | (st.integers(-len(shape), len(shape) - 1) if shape else st.none()))
    x = _data(seed, shape, dtype, -2.0, 2.0)
    if x.dtype.kind == "f":
        x = np.round(x)                       # ties: the first index wins
    _both("argmax", x, axis, data.draw(st.booleans()))


def test_argmax_first_nan_and_long_rows():
    _both("argmax", np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 7.0, 7.0, 1.0]]), 1, False)
    x = np.zeros((3, 2 * THREADS + 5), np.float32)
    x[0, -1], x[1, 0], x[2, THREADS] = 1, 1, 1       # the last column, the first, a middle one
    _both("argmax", x, 1, True)
    _both("argmax", x, None, False)


@few
@given(case=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                              min_side=1, max_side=5),
       dtype=st.sampled_from(FLOATS), seed=seeds)
def test_sum_to_shape(case, dtype, seed):
    shape, target = case.input_shapes[0], case.result_shape
    _both("sum_to_shape", _data(seed, target, dtype), shape)


@few
@given(case=reduction_cases(), dtype=st.sampled_from(FLOATS), seed=seeds,
       name=st.sampled_from(["max", "min"]))
def test_extreme_backward(case, dtype, seed, name):
    shape, axis, _ = case
    axes = tuple(range(len(shape))) if axis is None else axis
    x = np.round(_data(seed, shape, dtype))                 # ties share the gradient
    y_kept = cpu.reduce(name, x, axes, True)
    dy_kept = _data(seed + 1, y_kept.shape, dtype)
    _both("extreme_backward", dy_kept, x, y_kept, axes)


@few
@given(case=reduction_cases(), dtype=st.sampled_from(FLOATS), seed=seeds)
def test_prod_backward(case, dtype, seed):
    shape, axis, _ = case
    x = _data(seed, shape, dtype, 0.8, 1.25)
    x[_data(seed + 2, shape, np.float64, 0.0, 1.0) < 0.2] = 0     # zeros: exact, no division
    kept = cpu.reduce("prod", x, axis, True).shape
    _both("prod_backward", _data(seed + 1, kept, dtype), x, axis)


# ---------------------------------------------------------------------------- shapes

@few
@given(shape=shapes, dtype=st.sampled_from(NUMBERS + [np.bool_]), seed=seeds, data=st.data())
def test_transpose_and_swapaxes(shape, dtype, seed, data):
    x = _data(seed, shape, dtype)
    _both("transpose", x, data.draw(st.none() | st.permutations(range(len(shape))).map(tuple)))
    if shape:
        axis = st.integers(-len(shape), len(shape) - 1)
        _both("swapaxes", x, data.draw(axis), data.draw(axis))


@pytest.mark.parametrize("shape, axes", [((TILE * 2 + 1, TILE + 3), (1, 0)),
                                         ((3, TILE + 1, 2, TILE * 2 + 3), (3, 1, 0, 2)),
                                         ((2, 5, 7), (0, 2, 1)), ((5, 1, 7), (2, 1, 0))])
def test_transpose_tails_of_the_tiles(shape, axes):
    """Sizes that are no multiple of the tile, batches around the tiled plane."""
    _both("transpose", np.arange(np.prod(shape), dtype=np.float32).reshape(shape), axes)


@few
@given(case=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                              min_side=1, max_side=5),
       dtype=st.sampled_from(NUMBERS), seed=seeds)
def test_broadcast_to(case, dtype, seed):
    shape, target = case.input_shapes[0], case.result_shape
    _both("broadcast_to", _data(seed, shape, dtype), target)


def test_reshape_and_expand_dims_are_views():
    d = to_device(np.arange(12.0))
    for view in [cuda.reshape(d, (3, -1)), cuda.expand_dims(d, 0), cuda.expand_dims(d, (0, 2))]:
        view.reshape(view.size)[0] = 7.0
        assert to_host(d)[0] == 7.0
    _same(cuda.reshape(d, (2, 2, 3)), cpu.reshape(to_host(d), (2, 2, 3)))
    _same(cuda.expand_dims(d, -1), cpu.expand_dims(to_host(d), -1))
    _same(cuda.reshape(to_device(np.ones(1)), ()), np.ones(()))


@few
@given(shape=shapes.filter(bool), dtypes=st.sampled_from(DTYPE_PAIRS), seed=seeds, data=st.data())
def test_concatenate(shape, dtypes, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    arrays = []
    for i, n in enumerate(sizes):
        s = list(shape)
        s[axis] = n
        arrays.append(_data(seed + i, tuple(s), dtypes[i % 2]))
    _both("concatenate", arrays, axis)
    _both("concatenate", arrays, None)


def test_concatenate_device_arrays():
    a, b = np.ones((2, 3), np.float32), np.zeros((2, 1), np.float32)
    _same(cuda.concatenate([to_device(a), to_device(b)], 1), cpu.concatenate([a, b], 1))


@few
@given(shape=shapes.filter(bool), seed=seeds, data=st.data())
def test_split(shape, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    indices = data.draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0])
                        | st.lists(st.integers(0, n + 1), max_size=3))
    x = _data(seed, shape, np.float32)
    got, want = cuda.split(to_device(x), indices, axis), cpu.split(x, indices, axis)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        _same(g, w)


# ---------------------------------------------------------------------------- indexing

KEYS = [0, -1, (slice(None), 1), (Ellipsis, None, slice(1, None, 2)), (slice(None, None, -1),),
        np.array([0, 2, 2]), (slice(None), np.array([[1, 0], [1, 1]])), (1, Ellipsis),
        np.array([True, False, True]), (np.array([0, 2]), slice(None), np.array([1, 1])),
        (slice(0, 3), 2), (2, 1, 3)]


@pytest.mark.parametrize("key", KEYS, ids=range(len(KEYS)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_getitem_and_backward(key, dtype):
    """Basic keys (strided copies), index arrays (gathers) and, backward, repeated indices
    that accumulate."""
    x = _data(3, (3, 4, 5), dtype)
    _both("getitem", x, key)
    if dtype != np.bool_:
        dy = _data(4, x[key].shape, dtype)
        _both("getitem_backward", dy, x.shape, key)


def test_getitem_of_all_of_x_is_a_view():
    d = to_device(np.arange(6.0).reshape(2, 3))
    assert to_host(cuda.getitem(d, (None, Ellipsis))).shape == (1, 2, 3)
    cuda.getitem(d, Ellipsis).reshape(6)[5] = -1.0
    assert to_host(d)[1, 2] == -1.0


@few
@given(shape=shapes, dtype=st.sampled_from(NUMBERS + [np.bool_]), seed=seeds, data=st.data())
def test_pad_and_crop(shape, dtype, seed, data):
    pairs = [data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in shape]
    x = _data(seed, shape, dtype)
    _both("pad", x, pairs, data.draw(st.sampled_from([0, 1, -2.0])))
    crop = [(min(a, n // 2), min(b, n - n // 2 - 1)) for (a, b), n in zip(pairs, shape)]
    _both("crop", x, crop)


@few
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4), seed=seeds,
       classes=st.integers(1, 5), dtype=st.sampled_from(FLOATS + [np.int32]), data=st.data())
def test_one_hot(shape, seed, classes, dtype, data):
    """Indices outside [0, classes) (negative too) give zero rows; the axis anywhere."""
    indices = _data(seed, shape, np.int64, -1, classes)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    _both("one_hot", indices, classes, axis, dtype)
    _both("one_hot", np.asarray(indices, np.int32), classes, axis, dtype)


def test_inverse_permutation():
    assert cuda.inverse_permutation((2, 0, 1)) == cpu.inverse_permutation((2, 0, 1))


# ---------------------------------------------------------------------------- edge cases

@pytest.mark.parametrize("shape", [(), (1,), (1, 1, 1)])
def test_one_element(shape):
    x, y = np.full(shape, 1.5, np.float32), np.full(shape, -2.0, np.float32)
    for name in ["add", "multiply", "maximum", "less"]:
        _both(name, x, y)
    _both("exp", x)
    _both("reduce", "sum", x, None, False)
    _both("argmax", x, None, True)
    _both("transpose", x, None)
    _both("broadcast_to", x, (2,) + shape)
    _both("where", x > 0, x, y)


def test_sizes_past_the_grid():
    """More elements than the grid's threads (the grid loops) by no multiple of the block;
    the first and the last element checked by name."""
    n = THREADS * MAX_BLOCKS * 2 + 3
    a = _data(5, (n,), np.float32)
    b = _data(6, (3, 1), np.float32)
    got, want = to_host(cuda.add(to_device(a), to_device(b))), cpu.add(a, b)
    _same(got, want)
    assert got[0, 0] == want[0, 0] and got[-1, -1] == want[-1, -1]
    _same(cuda.exp(to_device(a)), cpu.exp(a))
    _same(cuda.cast(to_device(a), np.float64), cpu.cast(a, np.float64))
    _same(cuda.pad(to_device(a), [(2, 3)], 0.5), cpu.pad(a, [(2, 3)], 0.5))
    _same(cuda.getitem(to_device(a), np.array([n - 1, 0, n - 1])), a[[n - 1, 0, n - 1]])
