"""nbkeras/ops/elementwise.py: binary ops with broadcasting (and their reduced cotangents), the
Tensor operators, unary ops.

Forwards against plain numpy (tests/reference.py), gradients against central differences
(check_grads), on every device of the `device` fixture (tests/conftest.py)."""
from __future__ import annotations
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

import reference  # tests/reference.py (tests/ is on sys.path: pyproject.toml)
from op_checks import assert_matches, tensor, tie_free_pair


# --------------------------------------------------------------------- binary elementwise

BINARY = {
    "add": (ops.add, np.add),
    "subtract": (ops.subtract, np.subtract),
    "multiply": (ops.multiply, np.multiply),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), shapes=nst.broadcastable_shapes())
def test_add_subtract_multiply_broadcast(device, name, data, shapes):
    op, numpy_op = BINARY[name]
    a = data.draw(nst.arrays(shapes[0]))
    b = data.draw(nst.arrays(shapes[1]))
    assert_matches(op(a, b), numpy_op(a, b))
    check_grads(op, [a, b])


@given(data=st.data(), shapes=nst.broadcastable_shapes())
def test_divide_broadcast(device, data, shapes):
    a = data.draw(nst.arrays(shapes[0]))
    b = data.draw(nst.arrays(shapes[1], kinks=(0.0,), margin=0.3))   # |b| >= 0.3
    assert_matches(ops.divide(a, b), a / b)
    check_grads(ops.divide, [a, b])


@given(data=st.data(), shapes=nst.broadcastable_shapes(), zeros=st.integers(0, 2 ** 16))
def test_divide_no_nan_is_zero_where_the_divisor_is(device, data, shapes, zeros):
    a = data.draw(nst.arrays(shapes[0]))
    b = data.draw(nst.arrays(shapes[1], kinks=(0.0,), margin=0.3))
    b = np.where(np.random.default_rng(zeros).random(b.shape) < 0.3, 0.0, b)
    expected = np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))
    assert_matches(ops.divide_no_nan(a, b), expected)
    check_grads(ops.divide_no_nan, [a, b], wrt_inputs=[0])
    check_grads(ops.divide_no_nan, [a, np.where(b == 0, 0.5, b)])   # off the zeros: as divide
    b_tensor = tensor(b)
    with nk.GradientTape() as tape:
        tape.watch(b_tensor)
        total = ops.sum(ops.divide_no_nan(tensor(a), b_tensor))
    assert not np.asarray(tape.gradient(total, b_tensor))[b == 0].any()


@given(data=st.data(), shapes=nst.broadcastable_shapes(max_side=3))
def test_power_broadcast_positive_base(device, data, shapes):
    base = data.draw(nst.arrays(shapes[0], positive=True))
    exponent = data.draw(nst.arrays(shapes[1]))
    expected = np.vectorize(math.pow, otypes=[np.float64])(base, exponent)
    assert_matches(ops.power(base, exponent), expected)
    check_grads(ops.power, [base, exponent])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(pair=tie_free_pair(nst.broadcastable_shapes()))
def test_maximum_minimum_broadcast_without_ties(device, name, pair):
    a, b = pair
    op = getattr(ops, name)
    expected = np.where(a > b, a, b) if name == "maximum" else np.where(a < b, a, b)
    assert_matches(op(a, b), expected)
    check_grads(op, [a, b])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_with_python_scalar(device, name):
    x = np.array([-1.5, -0.25, 0.75, 2.0])
    op = getattr(ops, name)
    assert_matches(op(x, 0.5), np.maximum(x, 0.5) if name == "maximum" else np.minimum(x, 0.5))
    check_grads(lambda t: op(t, 0.5), [x])


def test_broadcast_cotangents_reduce_to_input_shapes(device):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 1, 4)), rng.standard_normal((5, 1))
    ta, tb = tensor(a), tensor(b)
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


def test_tensor_operators_route_through_ops(device):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3)), rng.uniform(0.5, 2.0, (3,))
    ta, tb = tensor(a), tensor(b)
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


def test_zero_rank_results_are_arrays(device):
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
def test_unary(device, name, data, shape):
    scalar_fn, positive, kinks = UNARY[name]
    x = data.draw(nst.arrays(shape, positive=positive, kinks=kinks))
    op = getattr(ops, name)
    assert_matches(op(x), reference._elementwise(scalar_fn, x))
    check_grads(op, [x])
