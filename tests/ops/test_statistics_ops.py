"""nbkeras/ops/statistics.py (and argmin/argmax of ops/core.py): var, std, moments, all,
any, count_nonzero, ptp, average, logsumexp, trapezoid, median, quantile, percentile and
the NaN-aware family.

Forwards against plain float64 references (numpy's own statistics, a different code path
from the ops' compositions and sorted-weights quantiles), Keras's output dtypes, symbolic
shapes equal to the eager ones, gradients against central differences on tie-free inputs
(and through NaN-holding inputs for the nan* ops), on every device of `device`."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, axis_and_keepdims, check_op_grads, tape_gradient


def quietly(reference, *args, **kwargs):
    """A numpy reference without its all-NaN-slice and empty-slice warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return reference(*args, **kwargs)


def symbolic_shape(fn, x):
    out = fn(nk.KerasTensor(np.shape(x), str(np.asarray(x).dtype)))
    return [o.shape for o in out] if isinstance(out, (tuple, list)) else out.shape


# --------------------------------------------------------------------------- reductions

REDUCTIONS = {   # op name: (numpy reference, needs distinct values for its gradient)
    "var": (np.var, False), "std": (np.std, False), "ptp": (np.ptp, True),
    "logsumexp": (lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis, keepdims=keepdims)),
                  False),
    "median": (np.median, True),
}
NAN_REDUCTIONS = {"nanmax": np.nanmax, "nanmin": np.nanmin, "nansum": np.nansum,
                  "nanprod": np.nanprod, "nanmean": np.nanmean, "nanvar": np.nanvar,
                  "nanstd": np.nanstd, "nanmedian": np.nanmedian}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4))
def test_reductions(device, name, data, shape):
    axis, keepdims = data.draw(axis_and_keepdims(len(shape)))
    reference, distinct = REDUCTIONS[name]
    x = data.draw(nst.arrays(shape, no_ties=distinct))
    op = getattr(ops, name)
    y = op(x, axis=axis, keepdims=keepdims)
    assert_matches(y, reference(x, axis=axis, keepdims=keepdims), rtol=1e-9, atol=1e-12)
    assert symbolic_shape(lambda t: op(t, axis=axis, keepdims=keepdims), x) == tuple(y.shape)
    if name == "std" and x.size == y.numpy().size:
        return          # one value per slice: variance 0, where sqrt has no derivative
    check_op_grads(lambda t: op(t, axis=axis, keepdims=keepdims), [x])


@pytest.mark.parametrize("name", sorted(NAN_REDUCTIONS))
@given(data=st.data(), shape=nst.shapes(1, 3, 2, 4), nan_fraction=st.sampled_from([0.0, 0.3]))
def test_nan_reductions(device, name, data, shape, nan_fraction):
    """NaNs at drawn places (for nanmedian, often an all-NaN slice) are ignored; no
    gradient reaches them."""
    axis, keepdims = data.draw(axis_and_keepdims(len(shape)))
    x = data.draw(nst.arrays(shape, no_ties=True))
    if nan_fraction:
        rng = np.random.default_rng(data.draw(st.integers(0, 99)))
        x[rng.random(shape) < nan_fraction] = np.nan
        if name == "nanmedian":
            x[(0,) * len(shape)] = np.nan
    op = getattr(ops, name)
    y = op(x, axis=axis, keepdims=keepdims)
    expected = quietly(NAN_REDUCTIONS[name], x, axis=axis, keepdims=keepdims)
    assert_matches(y, expected, rtol=1e-9, atol=1e-12)
    assert symbolic_shape(lambda t: op(t, axis=axis, keepdims=keepdims), x) == tuple(y.shape)
    fewest = np.min(np.sum(~np.isnan(x), axis=axis))     # valid values in a slice
    if fewest < (2 if name in ("nanvar", "nanstd") else 1):
        return      # an all-NaN slice (or nanstd's variance 0): NaN gradients, as JAX's
    grad = tape_gradient(lambda t: op(t, axis=axis, keepdims=keepdims), x)
    assert (grad[np.isnan(x)] == 0).all()
    check_op_grads(lambda t: op(t, axis=axis, keepdims=keepdims), [x])


def test_output_dtypes_follow_keras(device):
    xi = np.array([[1, 2, 3], [3, 0, 2]], np.int32)
    xf = xi.astype(np.float32)
    for name in ["var", "std", "median", "logsumexp", "nanmean", "nanvar", "nanstd",
                 "nanmedian"]:
        assert getattr(ops, name)(xi).dtype == "float32", name
        assert getattr(ops, name)(xf).dtype == "float32", name
    for name in ["ptp", "nanmax", "nanmin", "nansum", "nanprod"]:
        assert getattr(ops, name)(xi).dtype == "int32", name
    for name in ["argmax", "argmin", "nanargmax", "nanargmin", "count_nonzero"]:
        assert getattr(ops, name)(xf).dtype == "int32", name
    assert ops.all(xf).dtype == ops.any(xi).dtype == "bool"
    mean, variance = ops.moments(xi, axes=[1])
    assert (mean.dtype, variance.dtype) == ("float32", "float32")
    assert ops.quantile(xi, 0.3).dtype == ops.percentile(xf, 30).dtype == "float32"
    assert ops.average(xi, axis=1).dtype == ops.trapezoid(xi).dtype == "float32"


# --------------------------------------------------------------------------- logic, argmin

def test_all_any_count_nonzero(device):
    x = np.array([[0.0, 1.0, -2.0], [0.0, 0.0, 0.0]])
    assert_matches(ops.any(x, axis=1), [True, False], dtype="bool")
    assert_matches(ops.all(x, axis=0, keepdims=True), [[False, False, False]], dtype="bool")
    assert_matches(ops.all(x[:, 1:2] + 1), True, dtype="bool")
    assert_matches(ops.all(np.zeros((0,))), True, dtype="bool")
    assert_matches(ops.any(np.zeros((0, 2)), axis=0), [False, False], dtype="bool")
    assert_matches(ops.count_nonzero(x), 2, dtype="int32")
    assert_matches(ops.count_nonzero(x, axis=(0, 1)), 2, dtype="int32")
    assert_matches(ops.count_nonzero(np.array([True, False, True]), axis=0), 2, dtype="int32")
    assert symbolic_shape(lambda t: ops.any(t, axis=1), x) == (2,)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), kind=st.sampled_from(["float", "int", "bool"]))
def test_argmin_argmax(device, data, shape, kind):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    keepdims = data.draw(st.booleans())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = {"float": lambda: rng.normal(size=shape),
         "int": lambda: rng.integers(-3, 4, shape).astype(np.int32),     # with ties
         "bool": lambda: rng.random(shape) < 0.5}[kind]()
    for name, reference in [("argmin", np.argmin), ("argmax", np.argmax)]:
        y = getattr(ops, name)(x, axis=axis, keepdims=keepdims)
        assert_matches(y, reference(x, axis=axis, keepdims=keepdims), rtol=0, atol=0,
                       dtype="int32")


def test_argmin_extreme_ints_and_nan(device):
    x = np.array([5, np.iinfo(np.int32).min, np.iinfo(np.int32).max], np.int32)
    assert_matches(ops.argmin(x), 1, rtol=0, atol=0, dtype="int32")
    assert_matches(ops.argmax(x), 2, rtol=0, atol=0, dtype="int32")
    assert_matches(ops.argmin(np.array([1.0, np.nan, -3.0, np.nan])), 1, rtol=0, atol=0,
                   dtype="int32")
    x = np.array([[np.nan, np.nan], [1.0, np.nan], [2.0, -1.0]])
    assert_matches(ops.nanargmax(x, axis=1), [-1, 0, 0], rtol=0, atol=0, dtype="int32")
    assert_matches(ops.nanargmin(x, axis=1), [-1, 0, 1], rtol=0, atol=0, dtype="int32")


# --------------------------------------------------------------------------- moments, sums

@given(data=st.data(), shape=nst.shapes(1, 3, 2, 4))
def test_moments(device, data, shape):
    axes = tuple(sorted(data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1,
                                           unique=True))))
    keepdims = data.draw(st.booleans())
    x = data.draw(nst.arrays(shape))
    mean, variance = ops.moments(x, axes, keepdims=keepdims)
    assert_matches(mean, np.mean(x, axes, keepdims=keepdims))
    assert_matches(variance, np.var(x, axes, keepdims=keepdims), rtol=1e-9)
    assert symbolic_shape(lambda t: ops.moments(t, axes, keepdims), x) == [mean.shape,
                                                                            variance.shape]
    check_op_grads(lambda t: ops.moments(t, axes, keepdims=keepdims)[1], [x])
    check_op_grads(lambda t: ops.moments(t, axes, keepdims=keepdims)[0], [x])


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4))
def test_average(device, data, shape):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    x = data.draw(nst.arrays(shape))
    along = axis is not None and data.draw(st.booleans())
    weights = data.draw(nst.arrays((shape[axis],) if along else shape, positive=True))
    y = ops.average(x, axis=axis, weights=weights)
    assert_matches(y, np.average(x, axis=axis, weights=weights))
    assert symbolic_shape(lambda t: ops.average(t, axis, weights), x) == tuple(y.shape)
    assert_matches(ops.average(x, axis=axis), np.mean(x, axis=axis))
    check_op_grads(lambda t, w: ops.average(t, axis=axis, weights=w), [x, weights])


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4))
def test_trapezoid(device, data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    y = data.draw(nst.arrays(shape))
    kind = data.draw(st.sampled_from(["dx", "x1", "x"]))
    x = {"dx": None, "x1": np.cumsum(data.draw(nst.arrays((shape[axis],), positive=True))),
         "x": data.draw(nst.arrays(shape))}[kind]
    got = ops.trapezoid(y, x=x, dx=0.5, axis=axis)
    assert_matches(got, np.trapezoid(y, x=x, dx=0.5, axis=axis))
    assert symbolic_shape(lambda t: ops.trapezoid(t, x, 0.5, axis), y) == tuple(got.shape)
    if x is None:
        check_op_grads(lambda t: ops.trapezoid(t, dx=0.5, axis=axis), [y])
    else:
        check_op_grads(lambda t, s: ops.trapezoid(t, x=s, axis=axis), [y, x])


def test_logsumexp_is_stable_and_its_gradient_is_softmax(device):
    x = np.array([[1000.0, 1000.0], [0.0, np.log(3.0)], [-np.inf, -np.inf]])
    expected = [1000.0 + np.log(2.0), np.log(4.0), -np.inf]
    rows = 3 if device == "cpu" else 2      # the simulator's math.log raises at 0
    assert_matches(ops.logsumexp(x[:rows], axis=1), expected[:rows])
    z = np.array([[0.5, -1.0, 2.0]])
    softmax = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(tape_gradient(ops.logsumexp, z), softmax, rtol=1e-12)


# --------------------------------------------------------------------------- quantiles

METHODS = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("method", METHODS)
@given(data=st.data(), shape=nst.shapes(1, 3, 1, 5))
def test_quantile(device, method, data, shape):
    axis, keepdims = data.draw(axis_and_keepdims(len(shape)))
    q = data.draw(st.sampled_from([0.0, 0.3, 0.5, 1.0, [0.1, 0.75], [0.25, 0.5, 0.9]]))
    x = data.draw(nst.arrays(shape, no_ties=True))
    y = ops.quantile(x, q, axis=axis, method=method, keepdims=keepdims)
    assert_matches(y, np.quantile(x, q, axis=axis, method=method, keepdims=keepdims),
                   rtol=1e-10)
    assert symbolic_shape(lambda t: ops.quantile(t, q, axis, method, keepdims), x) == y.shape
    percent = ops.percentile(x, np.multiply(q, 100), axis=axis, method=method,
                             keepdims=keepdims)
    assert_matches(percent, np.asarray(y), rtol=1e-10)
    check_op_grads(lambda t: ops.quantile(t, q, axis=axis, method=method,
                                                   keepdims=keepdims), [x])


@pytest.mark.parametrize("method", METHODS)
def test_nanquantile(device, method):
    x = np.array([[0.5, np.nan, 2.0, -1.0, 4.0], [np.nan] * 5, [3.0, 1.0, np.nan, np.nan, 0.0]])
    q = [0.2, 0.5, 0.8]
    expected = quietly(np.nanquantile, x, q, axis=1, method=method)
    assert_matches(ops.nanquantile(x, q, axis=1, method=method), expected, rtol=1e-12)
    assert_matches(ops.nanpercentile(x, 50, axis=1, method=method),
                   expected[1], rtol=1e-12)
    assert_matches(ops.nanmedian(x, axis=-1, keepdims=True),
                   quietly(np.nanmedian, x, axis=-1, keepdims=True))
    assert np.isnan(ops.quantile(x[0], 0.5).numpy())       # a NaN in the slice: NaN
    grad = tape_gradient(lambda t: ops.nanquantile(t, q, axis=1, method=method), x)
    assert (grad[np.isnan(x)] == 0).all() and np.isfinite(grad).all()


def test_median_gradient_splits_between_the_middle_values(device):
    x = np.array([4.0, -1.0, 2.5, 0.5])
    np.testing.assert_array_equal(tape_gradient(ops.median, x), [0.0, 0.0, 0.5, 0.5])


# --------------------------------------------------------------------------- errors

def test_errors_name_the_op_and_the_argument():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="quantile: method must be one of"):
        ops.quantile(x, 0.5, method="cubic")
    with pytest.raises(ValueError, match=r"quantile: q must .* \[0, 1\]; received \[1.5\]"):
        ops.quantile(x, [1.5])
    with pytest.raises(ValueError, match=r"percentile: q must .* \[0, 100\]"):
        ops.percentile(x, 101)
    with pytest.raises(ValueError, match=r"median: axis 2 is out of range"):
        ops.median(x, axis=2)
    with pytest.raises(ValueError, match=r"average: weights of shape \(2,\) differ .*\(2, 3\)"):
        ops.average(x, weights=np.ones(2))
    with pytest.raises(ValueError, match=r"average: weights of shape \(2,\) do not match axis 1"):
        ops.average(x, axis=1, weights=np.ones(2))
    with pytest.raises(ValueError, match=r"trapezoid: x must be 1-D or of y's shape"):
        ops.trapezoid(x, x=np.ones((3, 2)))
    for name in ["var", "std", "any", "all", "count_nonzero", "ptp", "logsumexp", "nanmax",
                 "nanmean", "nansum", "nanvar", "nanargmin"]:
        with pytest.raises(ValueError, match=rf"{name}: axis 5 is out of range .* rank 2"):
            getattr(ops, name)(x, axis=5)
    with pytest.raises(ValueError, match=r"moments: axis -3 is out of range"):
        ops.moments(x, axes=(-3,))
