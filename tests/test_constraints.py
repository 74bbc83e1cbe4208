"""nbkeras.constraints against Keras 3's formulas written as plain per-slice loops here."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_initializers import check_config_round_trip, check_get_contract

import nbkeras as nk
from nbkeras import constraints as con

fast = settings(deadline=None, max_examples=15)
# (shape, axis) pairs as layers use them: Dense kernels (in, out), conv kernels (kh, kw, in, out)
CASES = [((6, 4), 0), ((6, 4), 1), ((6, 4), -1), ((6, 4), [0, 1]), ((5,), 0),
         ((3, 3, 2, 4), [0, 1, 2]), ((3, 3, 2, 4), 3), ((2, 3, 4), (0, 2))]
cases = st.sampled_from(CASES)
seeds = st.integers(0, 2**32 - 1)


def random_weights(seed: int, shape: tuple, dtype: str = "float64") -> np.ndarray:
    """Normal draws with a random spread, so some slices' norms are small and some large."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) * rng.uniform(0.05, 3.0)).astype(dtype)


def per_slice(w: np.ndarray, axis, new_norm: Callable[[float], float],
              eps: float = 1e-7) -> np.ndarray:
    """Each slice v of w over `axis` times new_norm(|v|) / (eps + |v|), in float64 loops."""
    axes = [a % w.ndim for a in np.atleast_1d(axis)]
    order = [a for a in range(w.ndim) if a not in axes] + axes
    moved = np.transpose(w.astype(np.float64), order)
    rows = moved.reshape(-1, math.prod(moved.shape[w.ndim - len(axes):]))
    out = np.empty_like(rows)
    for i, row in enumerate(rows):
        norm = math.sqrt(sum(v * v for v in row))
        out[i] = row * (new_norm(norm) / (eps + norm))
    return np.transpose(out.reshape(moved.shape), np.argsort(order))


def slice_norms(w: np.ndarray, axis) -> np.ndarray:
    """L2 norm of each slice of w over `axis`."""
    return np.sqrt(np.sum(np.square(w), axis=tuple(np.atleast_1d(axis))))


@fast
@given(case=cases, max_value=st.floats(0.1, 5), seed=seeds)
def test_max_norm(case, max_value, seed):
    shape, axis = case
    w = random_weights(seed, shape)
    out = con.MaxNorm(max_value, axis)(w)
    np.testing.assert_allclose(out, per_slice(w, axis, lambda n: min(n, max_value)),
                               rtol=1e-12, atol=1e-300)
    assert np.all(slice_norms(out, axis) <= max_value * (1 + 1e-9))


@fast
@given(case=cases, low=st.floats(0, 2), width=st.floats(0, 2), rate=st.floats(0, 1),
       seed=seeds)
def test_min_max_norm(case, low, width, rate, seed):
    shape, axis = case
    w = random_weights(seed, shape)
    out = con.MinMaxNorm(low, low + width, rate, axis)(w)
    expected = per_slice(w, axis, lambda n: rate * min(max(n, low), low + width) + (1 - rate) * n)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-300)


@fast
@given(case=cases, seed=seeds)
def test_unit_norm(case, seed):
    shape, axis = case
    w = random_weights(seed, shape)
    out = con.UnitNorm(axis)(w)
    np.testing.assert_allclose(out, per_slice(w, axis, lambda n: 1.0), rtol=1e-12)
    norms = slice_norms(w, axis)
    np.testing.assert_allclose(slice_norms(out, axis), norms / (1e-7 + norms), rtol=1e-12)


@fast
@given(case=cases, seed=seeds)
def test_non_neg(case, seed):
    w = random_weights(seed, case[0])
    expected = [v if v >= 0 else 0.0 for v in w.ravel()]
    np.testing.assert_array_equal(con.NonNeg()(w).ravel(), expected)


ALL = [con.MaxNorm(0.5, 1), con.MinMaxNorm(0.2, 0.9, 0.7, 1), con.UnitNorm(1), con.NonNeg()]


@pytest.mark.parametrize("constraint", ALL, ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_keeps_dtype_and_accepts_variables(constraint, dtype):
    w = random_weights(1, (5, 3), dtype)
    out = constraint(w)
    assert isinstance(out, np.ndarray) and out.dtype == dtype and out.shape == w.shape
    np.testing.assert_allclose(out, constraint(w.astype("float64")), rtol=2e-3, atol=1e-4)
    np.testing.assert_array_equal(constraint(nk.Variable(w)), out)


def test_epsilon_comes_from_config():
    w = random_weights(2, (4, 3))
    nk.config.set_epsilon(0.25)
    try:
        out = con.UnitNorm(0)(w)
    finally:
        nk.config.set_epsilon(1e-7)
    np.testing.assert_allclose(out, per_slice(w, 0, lambda n: 1.0, eps=0.25), rtol=1e-12)


def test_defaults_are_keras():
    assert con.MaxNorm() == con.MaxNorm(max_value=2, axis=0)
    assert con.MinMaxNorm() == con.MinMaxNorm(min_value=0.0, max_value=1.0, rate=1.0, axis=0)
    assert con.UnitNorm() == con.UnitNorm(axis=0)
    w = random_weights(3, (4, 3))
    assert con.Constraint()(w) is w


def test_get_contract():
    names = {"max_norm": con.MaxNorm, "min_max_norm": con.MinMaxNorm, "non_neg": con.NonNeg,
             "unit_norm": con.UnitNorm}
    check_get_contract(con, names, con.MinMaxNorm(0.5, 2.0, 0.5, [0, 1, 2]))
    for name, cls in names.items():
        assert getattr(con, name) is cls


@pytest.mark.parametrize("obj, keras_keys", [
    (con.MaxNorm(3.0, [0, 1, 2]), {"max_value", "axis"}),
    (con.MinMaxNorm(0.1, 0.5, 0.3, 1), {"min_value", "max_value", "rate", "axis"}),
    (con.UnitNorm(-1), {"axis"}), (con.NonNeg(), set())], ids=lambda x: type(x).__name__)
def test_config_round_trip(obj, keras_keys):
    check_config_round_trip(con, obj, keras_keys)
