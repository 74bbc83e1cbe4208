"""nbkeras/ops/correlation.py: cdist, corrcoef, correlate (and unravel_index from
manipulation.py), against scipy.spatial.distance.cdist, numpy's corrcoef and correlate in
float64, with gradient checks off the kinks (no zero distance, no constant row), on every
device of the `device` fixture."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import cdist as scipy_cdist

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, check_composed_grads


@given(m=st.integers(1, 4), n=st.integers(1, 4), d=st.integers(1, 3),
       batch=nst.shapes(0, 1, 1, 2), seed=st.integers(0, 2**32 - 1))
def test_cdist(device, m, n, d, batch, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((*batch, m, d)), rng.standard_normal((*batch, n, d)) + 3.0
    expected = np.stack([scipy_cdist(a, b) for a, b in zip(x.reshape(-1, m, d),
                                                           y.reshape(-1, n, d))])
    assert_matches(ops.cdist(x, y), expected.reshape(*batch, m, n))
    check_composed_grads(ops.cdist, [x, y])
    symbolic = ops.cdist(nk.KerasTensor((None, m, d), "float32"), nk.KerasTensor((None, n, d),
                                                                                  "float32"))
    assert symbolic.shape == (None, m, n)


@given(rows=st.integers(1, 4), columns=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_corrcoef(device, rows, columns, seed):
    x = np.random.default_rng(seed).standard_normal((rows, columns))
    assert_matches(ops.corrcoef(x), np.corrcoef(x).reshape(rows, rows))
    if rows > 1:
        check_composed_grads(lambda t: ops.multiply(ops.corrcoef(t), 1 - np.eye(rows)), [x])
    assert ops.corrcoef(np.arange(4)).dtype == "float32"


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
@given(m=st.integers(1, 7), n=st.integers(1, 7), seed=st.integers(0, 2**32 - 1))
def test_correlate(device, mode, m, n, seed):
    rng = np.random.default_rng(seed)
    a, v = rng.standard_normal(m), rng.standard_normal(n)
    assert_matches(ops.correlate(a, v, mode), np.correlate(a, v, mode))
    check_composed_grads(lambda x, y: ops.correlate(x, y, mode), [a, v])


def test_correlate_of_integers_is_floatx(device):
    assert ops.correlate(np.arange(5), np.array([1, 2])).dtype == "float32"
    with pytest.raises(ValueError, match="correlate: mode must be"):
        ops.correlate(np.ones(3), np.ones(2), "circular")


@given(shape=nst.shapes(1, 3, 1, 4), data=st.data())
def test_unravel_index(device, shape, data):
    size = int(np.prod(shape))
    flat = np.array(data.draw(st.lists(st.integers(0, size - 1), max_size=5)), np.int64)
    for got, expected in zip(ops.unravel_index(flat, shape), np.unravel_index(flat, shape)):
        assert_matches(got, expected, dtype="int32")
    with pytest.raises(IndexError, match="unravel_index: indices must be in"):
        ops.unravel_index([size], shape)
