"""nbkeras/ops/sorting.py: sort, argsort, top_k, in_top_k, argpartition, searchsorted,
digitize, isin, unique, nonzero, bincount, histogram, cumsum, cumprod, nancumsum, nancumprod,
diff.

Forwards against plain Python/numpy float64 references written here (Python's sorted and
bisect, loops: not the numpy functions the CPU kernels call), Keras's output dtypes,
symbolic shapes equal to the eager ones, and gradients against central differences on
tie-free inputs, on every device of the `device` fixture."""
from __future__ import annotations

import bisect
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, check_op_grads, tape_gradient


# --------------------------------------------------------------------------- references

def _along(x, axis, row_fn):
    """row_fn applied to every 1-D slice of x along `axis` (a loop over the others)."""
    x = np.moveaxis(np.asarray(x), axis, -1)
    rows = [np.asarray(row_fn(list(row))) for row in x.reshape(-1, x.shape[-1])]
    out = np.array(rows).reshape(x.shape[:-1] + (-1,))
    return np.moveaxis(out, -1, axis)


def _key(v):
    """Ascending order with NaN after every number."""
    return (1, 0.0) if v != v else (0, v)


def ref_argsort(row):
    return sorted(range(len(row)), key=lambda i: (_key(row[i]), i))


def ref_top_k_indices(row, k):
    """Largest first, NaN largest, equal values by index."""
    return sorted(range(len(row)), key=lambda i: ((0, 0.0) if row[i] != row[i]
                                                  else (1, -row[i]), i))[:k]


def ref_running(row, product):
    step = (lambda a, b: a * b) if product else (lambda a, b: a + b)
    return list(itertools.accumulate(row, step))


def symbolic_shape(fn, x):
    """The shape(s) fn infers for a KerasTensor shaped and typed like x."""
    out = fn(nk.KerasTensor(np.shape(x), str(np.asarray(x).dtype)))
    return [o.shape for o in out] if isinstance(out, (tuple, list)) else out.shape


def eager_shape(y):
    return [tuple(o.shape) for o in y] if isinstance(y, (tuple, list)) else tuple(y.shape)


# --------------------------------------------------------------------------- sort, top_k

@given(data=st.data(), shape=nst.shapes(1, 3, 1, 5))
def test_sort_and_argsort(device, data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(nst.arrays(shape, no_ties=True))
    order = _along(x, axis, ref_argsort)
    assert_matches(ops.argsort(x, axis=axis), order, rtol=0, atol=0, dtype="int32")
    assert_matches(ops.sort(x, axis=axis), np.take_along_axis(x, order, axis))
    assert symbolic_shape(lambda t: ops.sort(t, axis), x) == np.shape(x)
    check_op_grads(lambda t: ops.sort(t, axis=axis), [x])


def test_sort_ties_and_nan(device):
    """Stable among equal values; NaN last, as numpy's sort puts it; ints keep their dtype."""
    x = np.array([[2.0, np.nan, 1.0, 2.0, -np.inf, 1.0], [np.nan, 0.0, np.nan, 0.0, 3.0, -1.0]])
    order = _along(x, -1, ref_argsort)
    assert_matches(ops.argsort(x), order, rtol=0, atol=0, dtype="int32")
    np.testing.assert_array_equal(ops.sort(x).numpy(), np.take_along_axis(x, order, -1))
    xi = np.array([[3, 1, 3, -2], [0, 0, 5, 0]], np.int32)
    assert_matches(ops.sort(xi, axis=0), _along(xi, 0, sorted), rtol=0, atol=0, dtype="int32")
    assert_matches(ops.argsort(xi), _along(xi, -1, ref_argsort), rtol=0, atol=0, dtype="int32")


def test_sort_gradient_follows_the_permutation(device):
    x = np.array([[0.3, -1.0, 2.0], [5.0, 4.0, -3.0]])
    weights = np.array([[1.0, 10.0, 100.0], [1.0, 10.0, 100.0]])
    grad = tape_gradient(lambda t: ops.multiply(ops.sort(t), weights), x)
    np.testing.assert_array_equal(grad, [[10.0, 1.0, 100.0], [100.0, 10.0, 1.0]])


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 6))
def test_top_k(device, data, shape):
    k = data.draw(st.integers(1, shape[-1]))
    x = data.draw(nst.arrays(shape, no_ties=True))
    indices = _along(x, -1, lambda row: ref_top_k_indices(row, k))
    values, got = ops.top_k(x, k)
    assert_matches(got, indices, rtol=0, atol=0, dtype="int32")
    assert_matches(values, np.take_along_axis(x, indices, -1))
    assert symbolic_shape(lambda t: ops.top_k(t, k), x) == eager_shape((values, got))
    check_op_grads(lambda t: ops.top_k(t, k)[0], [x])


@pytest.mark.parametrize("k", [3, 35, 40])
def test_top_k_ties_nan_and_long_rows(device, k):
    """Equal values in index order and NaN largest, on both of the CPU kernel's paths
    (k running candidates, or a full sort for k > 32); ints keep their dtype."""
    rng = np.random.default_rng(k)
    x = rng.integers(-3, 4, (3, 40)).astype(np.float64)
    x[0, [5, 17]] = np.nan
    indices = _along(x, -1, lambda row: ref_top_k_indices(row, k))
    values, got = ops.top_k(x, k)
    assert_matches(got, indices, rtol=0, atol=0, dtype="int32")
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(x, indices, -1))
    values, got = ops.top_k(x[1:].astype(np.int32), k)
    assert values.dtype == "int32"
    np.testing.assert_array_equal(got.numpy(), indices[1:])


def test_top_k_gradient_goes_to_the_chosen_positions(device):
    x = np.array([[0.3, -1.0, 2.0, 1.5]])
    grad = tape_gradient(lambda t: ops.multiply(ops.top_k(t, 2)[0], np.array([1.0, 10.0])), x)
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 1.0, 10.0]])


def test_in_top_k_and_argpartition(device):
    predictions = np.array([[1.0, 1.0, 0.0], [2.0, 1.0, 1.0], [0.1, 0.5, 0.9]])
    targets = np.array([0, 1, 1], np.int32)
    expected = [sum(p > row[t] for p in row) < 2 for row, t in zip(predictions, targets)]
    assert_matches(ops.in_top_k(targets, predictions, 2), expected, dtype="bool")
    assert_matches(ops.in_top_k(targets, predictions, 1), [True, False, False], dtype="bool")
    x = np.array([[3.0, 1.0, 2.0, 0.5], [0.0, -1.0, 5.0, 4.0]])
    for kth in range(4):
        parted = np.take_along_axis(x, ops.argpartition(x, kth).numpy(), -1)
        kth_value = np.sort(x, -1)[:, kth:kth + 1]
        np.testing.assert_array_equal(parted[:, kth:kth + 1], kth_value)
        assert (parted[:, :kth] <= kth_value).all() and (parted[:, kth:] >= kth_value).all()
    assert ops.argpartition(x, 1).dtype == "int32"


# --------------------------------------------------------------------------- searching

@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted(device, side):
    sequence = np.array([-1.0, 0.0, 0.0, 2.5, 3.0, 3.0, 7.0])
    values = np.array([[-2.0, 0.0, 3.0], [2.5, 8.0, 1.0]])
    find = bisect.bisect_left if side == "left" else bisect.bisect_right
    expected = [[find(list(sequence), v) for v in row] for row in values]
    assert_matches(ops.searchsorted(sequence, values, side=side), expected, rtol=0, atol=0,
                   dtype="int32")
    ints = ops.searchsorted(np.array([1, 2, 2, 5], np.int32), np.array([2, 0, 9], np.int32),
                            side=side)
    assert_matches(ints, [find([1, 2, 2, 5], v) for v in (2, 0, 9)], rtol=0, atol=0,
                   dtype="int32")
    assert symbolic_shape(lambda t: ops.searchsorted(sequence, t, side), values) == (2, 3)


def test_digitize(device):
    x = np.array([[0.5, 1.0, 1.5], [2.5, 3.0, -1.0]])
    rising = np.array([1.0, 2.0, 3.0])
    expected = [[bisect.bisect_right(list(rising), v) for v in row] for row in x]
    assert_matches(ops.digitize(x, rising), expected, rtol=0, atol=0, dtype="int32")
    falling = rising[::-1]     # i with bins[i-1] > x >= bins[i]: the count of bins above x
    assert_matches(ops.digitize(x, falling), [[sum(b > v for b in falling) for v in row]
                                              for row in x], rtol=0, atol=0, dtype="int32")


def test_isin(device):
    x1 = np.array([[1, 2, 7], [3, 4, -1]], np.int32)
    x2 = np.array([4, 2, 2, 9], np.int32)
    expected = [[v in set(x2) for v in row] for row in x1]
    assert_matches(ops.isin(x1, x2), expected, dtype="bool")
    assert_matches(ops.isin(x1, x2, invert=True), np.logical_not(expected), dtype="bool")
    assert_matches(ops.isin(np.array([0.5, 1.0]), np.array([1.0])), [False, True], dtype="bool")


# --------------------------------------------------------------------------- counting

def test_unique(device):
    x = np.array([[3, 1, 3], [2, 2, 7]], np.int32)
    flat = list(x.ravel())
    values = sorted(set(flat))
    got = ops.unique(x, return_index=True, return_inverse=True, return_counts=True)
    assert_matches(got[0], values, rtol=0, atol=0, dtype="int32")
    assert_matches(got[1], [flat.index(v) for v in values], rtol=0, atol=0, dtype="int32")
    assert_matches(got[2], np.reshape([values.index(v) for v in flat], x.shape), rtol=0,
                   atol=0, dtype="int32")
    assert_matches(got[3], [flat.count(v) for v in values], rtol=0, atol=0, dtype="int32")
    assert_matches(ops.unique(x.astype(np.float64)), np.asarray(values, np.float64))


def test_unique_with_size_and_axis(device):
    x = np.array([3, 1, 3, 2], np.int32)
    values, index, counts = ops.unique(x, size=5, return_index=True, return_counts=True)
    assert_matches(values, [1, 2, 3, 1, 1], rtol=0, atol=0, dtype="int32")   # Keras's fill
    assert_matches(index, [1, 3, 0, 1, 1], rtol=0, atol=0, dtype="int32")
    assert_matches(counts, [1, 1, 2, 0, 0], rtol=0, atol=0, dtype="int32")
    assert_matches(ops.unique(x, size=5, fill_value=-7), [1, 2, 3, -7, -7], rtol=0, atol=0,
                   dtype="int32")
    assert_matches(ops.unique(x, size=2), [1, 2], rtol=0, atol=0, dtype="int32")
    rows = np.array([[1, 2], [0, 1], [1, 2], [0, 0]], np.int32)
    values, inverse, counts = ops.unique(rows, axis=0, return_inverse=True, return_counts=True)
    assert_matches(values, [[0, 0], [0, 1], [1, 2]], rtol=0, atol=0, dtype="int32")
    assert_matches(inverse, [2, 1, 2, 0], rtol=0, atol=0, dtype="int32")
    assert_matches(counts, [1, 1, 2], rtol=0, atol=0, dtype="int32")
    assert_matches(ops.unique(rows, axis=1), [[1, 2], [0, 1], [1, 2], [0, 0]], rtol=0,
                   atol=0, dtype="int32")
    cube = np.random.default_rng(5).integers(0, 2, (2, 3, 4)).astype(np.int32)
    for axis in range(3):                  # slices compare in numpy's (moveaxis) order
        picked = np.moveaxis(cube, axis, 0).reshape(cube.shape[axis], -1)
        distinct = sorted(set(map(tuple, picked)))
        index = [next(i for i, row in enumerate(map(tuple, picked)) if row == d)
                 for d in distinct]
        assert_matches(ops.unique(cube, axis=axis), np.take(cube, index, axis), rtol=0,
                       atol=0, dtype="int32")
    assert symbolic_shape(lambda t: ops.unique(t, return_counts=True), x) == [(None,), (None,)]
    assert symbolic_shape(lambda t: ops.unique(t, size=4), x) == (4,)


def test_nonzero(device):
    x = np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, 3.0]])
    rows, columns = ops.nonzero(x)
    expected = [(i, j) for i in range(2) for j in range(3) if x[i, j] != 0]
    assert_matches(rows, [i for i, _ in expected], rtol=0, atol=0, dtype="int32")
    assert_matches(columns, [j for _, j in expected], rtol=0, atol=0, dtype="int32")
    (only,) = ops.nonzero(np.array([0, 4, 0, 1], np.int32))
    assert_matches(only, [1, 3], rtol=0, atol=0, dtype="int32")
    assert symbolic_shape(ops.nonzero, x) == [(None,), (None,)]


def test_bincount(device):
    x = np.array([0, 1, 1, 4, 1], np.int32)
    counts = [list(x).count(i) for i in range(5)]
    assert_matches(ops.bincount(x), counts, rtol=0, atol=0, dtype="int32")
    assert_matches(ops.bincount(x, minlength=7), counts + [0, 0], rtol=0, atol=0,
                   dtype="int32")
    weights = np.array([0.5, 1.0, 2.0, -1.0, 4.0])
    expected = [sum(w for v, w in zip(x, weights) if v == i) for i in range(5)]
    assert_matches(ops.bincount(x, weights=weights), expected)
    batch = np.array([[0, 1], [2, 2]], np.int32)
    batch_weights = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert_matches(ops.bincount(batch, weights=batch_weights, minlength=4),
                   [[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 7.0, 0.0]])
    check_op_grads(lambda w: ops.bincount(x, weights=w), [weights])
    assert symbolic_shape(ops.bincount, x) == (None,)


def test_histogram(device):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=50), [-1.0, 1.0]])
    for bins, limits in [(10, None), (4, (-1.0, 1.0)), (1, None)]:
        low, high = limits if limits else (x.min(), x.max())
        edges = [low + i * ((high - low) / bins) for i in range(bins)] + [high]
        counts = [sum(edges[i] <= v < edges[i + 1] or (i == bins - 1 and v == high)
                      for v in x) for i in range(bins)]
        got_counts, got_edges = ops.histogram(x, bins=bins, range=limits)
        assert_matches(got_edges, edges, rtol=1e-12)
        assert_matches(got_counts, counts)
    counts, edges = ops.histogram(np.array([1, 2, 2, 5], np.int32), bins=3)
    assert (counts.dtype, edges.dtype) == ("float32", "float32")   # Keras: floatx for ints
    np.testing.assert_array_equal(counts.numpy(), [3.0, 0.0, 1.0])
    assert symbolic_shape(lambda t: ops.histogram(t, bins=3), x) == [(3,), (4,)]


# --------------------------------------------------------------------------- running ops

@pytest.mark.parametrize("product", [False, True])
@given(data=st.data(), shape=nst.shapes(0, 3, 1, 4))
def test_cumsum_cumprod(device, product, data, shape):
    axis = data.draw(st.none() | st.integers(-max(len(shape), 1), max(len(shape), 1) - 1)
                     if shape else st.none())
    x = data.draw(nst.arrays(shape))
    if product:             # exact zeros, often several along one line: the gradient is exact
        x[data.draw(hnp.arrays(bool, x.shape))] = 0.0
    op = ops.cumprod if product else ops.cumsum
    expected = (np.asarray(ref_running(list(np.ravel(x)), product)) if axis is None
                else _along(x, axis, lambda row: ref_running(row, product)))
    assert_matches(op(x, axis=axis), expected)
    assert symbolic_shape(lambda t: op(t, axis=axis), x) == expected.shape
    check_op_grads(lambda t: op(t, axis=axis), [x])


def ref_cumprod_gradient(x, dy):
    """d sum(dy * cumprod(x)) / dx along the last axis: sum over j >= i of dy_j times the
    product of x_0 .. x_j without x_i (no division)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape[:-1]):
        row, weights = x[index], dy[index]
        for i in range(row.size):
            grad[index + (i,)] = sum(weights[j] * np.prod(np.delete(row[:j + 1], i))
                                     for j in range(i, row.size))
    return grad


def test_cumprod_gradient_is_exact_at_zeros(device):
    x = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 0.0, 0.0, 1.5, -2.0],
                  [1.5, -2.0, 0.5, 3.0, 0.0], [4.0, 0.0, 0.0, 0.0, 0.0]])
    dy = np.random.default_rng(0).normal(size=x.shape)
    got = tape_gradient(lambda t: ops.multiply(ops.cumprod(t, axis=1), dy), x)
    np.testing.assert_allclose(got, ref_cumprod_gradient(x, dy), rtol=1e-12, atol=1e-12)
    got = tape_gradient(lambda t: ops.multiply(ops.cumprod(t, axis=0), dy.T), x.T)
    np.testing.assert_allclose(got, ref_cumprod_gradient(x, dy).T, rtol=1e-12, atol=1e-12)
    with_nan = np.where(x == 5.0, np.nan, x)            # nancumprod: NaN counts as 1
    got = tape_gradient(lambda t: ops.multiply(ops.nancumprod(t, axis=1), dy), with_nan)
    expected = ref_cumprod_gradient(np.where(np.isnan(with_nan), 1.0, with_nan), dy)
    np.testing.assert_allclose(got, np.where(np.isnan(with_nan), 0.0, expected), rtol=1e-12,
                               atol=1e-12)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 5))
def test_cumprod_gradient_matches_jax(data, shape):
    jax = pytest.importorskip("jax")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(nst.arrays(shape))
    x[data.draw(hnp.arrays(bool, shape))] = 0.0
    dy = data.draw(nst.arrays(shape))
    with jax.enable_x64(True):   # for this call only: Keras's configs depend on the flag
        expected = jax.grad(lambda a: jax.numpy.sum(jax.numpy.cumprod(a, axis=axis) * dy))(x)
    got = tape_gradient(lambda t: ops.multiply(ops.cumprod(t, axis=axis), dy), x)
    np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-12, atol=1e-12)


def test_cumulative_dtypes_and_zeros(device):
    x = np.array([[1, 2, 3], [4, 0, 6]], np.int32)
    assert_matches(ops.cumsum(x, axis=1), [[1, 3, 6], [4, 4, 10]], rtol=0, atol=0,
                   dtype="int32")
    assert_matches(ops.cumprod(x, axis=0), [[1, 2, 3], [4, 0, 18]], rtol=0, atol=0,
                   dtype="int32")
    assert_matches(ops.cumsum(np.array([True, False, True])), [1, 1, 2], rtol=0, atol=0,
                   dtype="int32")
    assert_matches(ops.cumsum(x, axis=1, dtype="float64"), [[1, 3, 6], [4, 4, 10]])
    long = np.random.default_rng(1).uniform(0.9, 1.1, 300)      # more than one CUDA block
    assert_matches(ops.cumprod(long), np.asarray(ref_running(list(long), True)), rtol=1e-12)
    assert_matches(ops.cumsum(long), np.asarray(ref_running(list(long), False)), rtol=1e-12)


def test_nancumsum_nancumprod(device):
    x = np.array([[1.5, np.nan, 2.0], [np.nan, -1.0, 0.5]])
    clean_sum = np.where(np.isnan(x), 0.0, x)
    clean_product = np.where(np.isnan(x), 1.0, x)
    assert_matches(ops.nancumsum(x, axis=1), _along(clean_sum, 1, lambda r: ref_running(r, False)))
    assert_matches(ops.nancumprod(x, axis=0),
                   _along(clean_product, 0, lambda r: ref_running(r, True)))
    grad = tape_gradient(lambda t: ops.nancumsum(t, axis=1), x)
    np.testing.assert_array_equal(grad, [[3.0, 0.0, 1.0], [0.0, 2.0, 1.0]])
    grad = tape_gradient(lambda t: ops.nancumprod(t, axis=1), x)
    assert np.isfinite(grad).all() and grad[0, 1] == 0.0 and grad[1, 0] == 0.0


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 5))
def test_diff(device, data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = data.draw(st.integers(0, 3))
    x = data.draw(nst.arrays(shape))
    expected = x
    for _ in range(n):
        m = expected.shape[axis]
        expected = (np.take(expected, range(1, m), axis)
                    - np.take(expected, range(max(m - 1, 0)), axis))
    assert_matches(ops.diff(x, n=n, axis=axis), expected)
    assert symbolic_shape(lambda t: ops.diff(t, n, axis), x) == expected.shape
    check_op_grads(lambda t: ops.diff(t, n=n, axis=axis), [x])


# --------------------------------------------------------------------------- errors

def test_errors_name_the_op_and_the_shapes():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"top_k: k=4 .*\(2, 3\)"):
        ops.top_k(x, 4)
    with pytest.raises(ValueError, match=r"sort: axis 2 .*\(2, 3\)"):
        ops.sort(x, axis=2)
    with pytest.raises(ValueError, match=r"searchsorted: sorted_sequence must be 1-D.*\(2, 3\)"):
        ops.searchsorted(x, np.zeros(2))
    with pytest.raises(ValueError, match="searchsorted: side"):
        ops.searchsorted(np.zeros(3), np.zeros(2), side="middle")
    with pytest.raises(ValueError, match=r"cumsum: axis -3 .*\(2, 3\)"):
        ops.cumsum(x, axis=-3)
    with pytest.raises(ValueError, match="bincount: x must be non-negative"):
        ops.bincount(np.array([1, -1]))
    with pytest.raises(ValueError, match=r"bincount: x must be a 1-D or 2-D integer.*float64"):
        ops.bincount(np.array([1.0]))
    with pytest.raises(ValueError, match=r"digitize: bins must be 1-D.*\(2, 3\)"):
        ops.digitize(np.zeros(2), x)
    with pytest.raises(ValueError, match="argpartition: kth=3 .*axis 1"):
        ops.argpartition(x, 3)
    with pytest.raises(ValueError, match="histogram: bins"):
        ops.histogram(np.zeros(3), bins=0)
    with pytest.raises(ValueError, match="diff: n"):
        ops.diff(x, n=-1)
    with pytest.raises(ValueError, match=r"top_k: k=5 .*\(None, 3\)"):
        ops.top_k(nk.KerasTensor((None, 3), "float32"), 5)
