"""nbkeras/ops/dense.py and dropout.py: dense and dropout (seeded masks, rates, noise_shape, gradient).

Forwards against plain numpy (tests/reference.py), gradients against central differences
(check_grads), on every device of the `device` fixture (tests/conftest.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbkeras import ops
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

import reference  # tests/reference.py (tests/ is on sys.path: pyproject.toml)
from op_checks import assert_matches, assert_on_current_device, tape_gradient  # tests/op_checks.py


@given(data=st.data(), lead=nst.shapes(0, 2, 1, 3), n_in=st.integers(1, 4),
       n_out=st.integers(1, 4), use_bias=st.booleans())
def test_dense(device, data, lead, n_in, n_out, use_bias):
    x = data.draw(nst.arrays(lead + (n_in,)))
    kernel = data.draw(nst.arrays((n_in, n_out)))
    bias = data.draw(nst.arrays((n_out,))) if use_bias else None
    args = [x, kernel] + ([bias] if use_bias else [])
    assert_matches(ops.dense(*args), reference.dense(x, kernel, bias))
    check_grads(ops.dense, args)


# ------------------------------------------------------------------------------- dropout

def test_dropout_seeded_masks_repeat_and_scale_kept_values(device):
    x = np.random.default_rng(5).uniform(0.5, 1.5, (40, 30))
    rate = 0.3
    y = ops.dropout(x, rate, seed=123)
    assert_on_current_device(y)
    first = np.asarray(y)
    second = np.asarray(ops.dropout(x, rate, seed=123))
    other = np.asarray(ops.dropout(x, rate, seed=124))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first != 0, other != 0)
    kept = first != 0
    assert 0 < kept.sum() < x.size
    np.testing.assert_allclose(first[kept], x[kept] / (1 - rate), rtol=1e-12)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_drops_fraction_rate(device, rate):
    x = np.ones((200, 500) if device == "cpu" else (100, 100))    # the simulator is slow
    y = ops.dropout(x, rate, seed=7)
    assert_on_current_device(y)
    y = np.asarray(y)
    dropped = np.mean(y == 0)
    assert abs(dropped - rate) < 5 * np.sqrt(rate * (1 - rate) / y.size), dropped   # 5 sd
    np.testing.assert_allclose(np.unique(y[y != 0]), [1 / (1 - rate)], rtol=1e-12)
    assert abs(y.mean() - 1.0) < 5 * np.sqrt(rate / (1 - rate) / y.size)   # expectation kept


def test_dropout_noise_shape_shares_mask_across_broadcast_axes(device):
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


def test_dropout_rate_zero_is_identity_and_bad_rate_raises(device):
    x = np.random.default_rng(8).standard_normal((3, 4))
    assert_matches(ops.convert_to_tensor(ops.dropout(x, 0.0)), x)
    with pytest.raises(ValueError, match="rate"):
        ops.dropout(x, 1.0)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), rate=st.floats(0.1, 0.7),
       seed=st.integers(0, 1000))
def test_dropout_gradient_is_the_mask(device, data, shape, rate, seed):
    x = data.draw(nst.arrays(shape, kinks=(0.0,)))
    fn = lambda t: ops.dropout(t, rate, seed=seed)                         # noqa: E731
    mask = np.asarray(fn(x)) / x                   # 0 or 1 / (1 - rate)
    assert np.all(np.isclose(mask, 0.0, atol=0) | np.isclose(mask, 1 / (1 - rate), rtol=1e-12))
    np.testing.assert_allclose(tape_gradient(fn, x), mask, rtol=1e-12)
    check_grads(fn, [x])
