"""nbkeras/ops/reduction.py: sum, mean, max, min, prod over any axes, with keepdims.

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
from op_checks import assert_matches, axis_and_keepdims, tape_gradient, tensor


# --------------------------------------------------------------------------- reductions

@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min", "prod"])
@given(data=st.data(), shape=nst.shapes(0, 3, 1, 3))
def test_reductions(device, kind, data, shape):
    axis, keepdims = data.draw(axis_and_keepdims(len(shape)))
    x = data.draw(nst.arrays(shape, no_ties=kind in ("max", "min")))
    if kind == "prod" and x.size > 1 and data.draw(st.booleans()):
        x.flat[data.draw(st.integers(0, x.size - 1))] = 0.0     # an exact zero factor
    op = getattr(ops, kind)
    assert_matches(op(x, axis=axis, keepdims=keepdims),
                   reference.reduce(x, kind, axis=axis, keepdims=keepdims))
    check_grads(lambda t: op(t, axis=axis, keepdims=keepdims), [x])


def test_prod_gradient_with_zero_factors(device):
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


def test_max_min_gradient_goes_to_the_extreme_element(device):
    x = np.array([[0.3, 2.5, -1.0], [4.0, -3.0, 1.0]])
    np.testing.assert_array_equal(tape_gradient(lambda t: ops.max(t, axis=1), x),
                                  [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(tape_gradient(ops.min, x), [[0, 0, 0], [0, 1, 0]])


def test_tensor_reduction_methods(device):
    x = np.random.default_rng(3).standard_normal((2, 3, 4))
    t = tensor(x)
    assert_matches(t.sum(axis=1), reference.reduce(x, "sum", axis=1))
    assert_matches(t.mean(axis=(0, 2), keepdims=True),
                   reference.reduce(x, "mean", axis=(0, 2), keepdims=True))
    assert_matches(t.max(), reference.reduce(x, "max"))
    assert_matches(t.min(axis=-1), reference.reduce(x, "min", axis=-1))
