"""nbkeras/ops/products.py: einsum (against np.einsum), tensordot, outer, inner, vdot, kron,
cross, trace, diagonal, diag, diagflat, vander (against numpy), their dtypes, symbolic
shapes, gradients (check_grads) and errors, on each device of the `device` fixture."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops

from op_checks import assert_matches, check_composed_grads


EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ba", [(2, 3)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 4)]),
    ("i,i", [(3,), (3,)]),
    ("i,j", [(2,), (3,)]),
    ("ijk,kl,lm->im", [(2, 3, 4), (4, 2), (2, 5)]),
    ("bij,jk", [(2, 3, 4), (4, 2)]),
    ("iij->ji", [(2, 2, 3)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    (",ij->ij", [(), (2, 3)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 2, 4)]),
    ("i...->...", [(2, 3, 2)]),
]


def draw_arrays(data, shapes):
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    return [rng.standard_normal(shape) for shape in shapes]


def symbolic_shape(function, *arrays):
    return tuple(function(*[nk.KerasTensor(a.shape, str(a.dtype)) for a in arrays]).shape)


@pytest.mark.parametrize("subscripts,shapes", EINSUM_CASES)
@given(data=st.data())
def test_einsum_matches_numpy(device, subscripts, shapes, data):
    xs = draw_arrays(data, shapes)
    expected = np.einsum(subscripts, *xs)
    assert_matches(ops.einsum(subscripts, *xs), expected)
    assert symbolic_shape(lambda *t: ops.einsum(subscripts, *t), *xs) == expected.shape
    check_composed_grads(lambda *t: ops.einsum(subscripts, *t), xs)


@given(data=st.data(), b=st.integers(1, 3), m=st.integers(1, 4), k=st.integers(1, 4),
       n=st.integers(1, 4))
def test_einsum_batched_matmul_shapes(device, data, b, m, k, n):
    x, y = draw_arrays(data, [(b, m, k), (b, k, n)])
    assert_matches(ops.einsum("bmk,bkn->bmn", x, y), x @ y)
    check_composed_grads(lambda p, q: ops.einsum("bmk,bkn->bmn", p, q), [x, y])


def test_einsum_dtypes_and_unknown_batch(device):
    int8 = np.ones((2, 2), np.int8)
    assert ops.einsum("ij,jk", int8, int8).dtype == "int32"
    assert ops.einsum("ij,jk", np.ones((2, 2), np.int32), np.ones((2, 2), np.float32)).dtype \
        == "float32"      # Keras's promotion, as every nbkeras binary op
    x = nk.KerasTensor((None, 3, 4), "float32")
    assert ops.einsum("bij,jk->bik", x, nk.KerasTensor((4, 5), "float32")).shape == (None, 3, 5)


@pytest.mark.parametrize("subscripts,shapes,message", [
    ("ij,jk", [(2, 3)], "name 2 operands; received 1"),
    ("ij", [(2, 3, 4)], "names 2 axes, but its shape is \\(2, 3, 4\\)"),
    ("ij->k", [(2, 3)], "output label 'k'"),
    ("i1->i", [(2, 3)], "invalid subscripts"),
    ("ij,jk", [(2, 3), (4, 5)], "label 'j' .* sizes 3 and 4"),
])
def test_einsum_errors(device, subscripts, shapes, message):
    with pytest.raises(ValueError, match="einsum: .*" + message):
        ops.einsum(subscripts, *[np.ones(s) for s in shapes])


TENSORDOT_CASES = [(2, (2, 3, 4), (3, 4, 5)), (1, (2, 3), (3, 4)), (0, (2,), (3,)),
                   (([1, 2], [0, 1]), (2, 3, 4), (3, 4, 5)), ((0, 1), (3, 2), (4, 3)),
                   ((-1, 0), (2, 3), (3, 2))]


@pytest.mark.parametrize("axes,shape1,shape2", TENSORDOT_CASES)
@given(data=st.data())
def test_tensordot(device, axes, shape1, shape2, data):
    x1, x2 = draw_arrays(data, [shape1, shape2])
    expected = np.tensordot(x1, x2, axes)
    assert_matches(ops.tensordot(x1, x2, axes), expected)
    assert symbolic_shape(lambda p, q: ops.tensordot(p, q, axes), x1, x2) == expected.shape
    check_composed_grads(lambda p, q: ops.tensordot(p, q, axes), [x1, x2])


def test_tensordot_errors(device):
    with pytest.raises(ValueError, match=r"tensordot: axis 1 of x1 \(2, 3\) and axis 0 of x2"):
        ops.tensordot(np.ones((2, 3)), np.ones((4, 2)), 1)


PAIRS = [
    (ops.outer, np.outer, [(2, 2), (3,)]),
    (ops.inner, np.inner, [(2, 3), (4, 3)]),
    (ops.inner, np.inner, [(3,), (3,)]),
    (ops.inner, np.inner, [(), (2, 3)]),
    (ops.vdot, np.vdot, [(2, 3), (3, 2)]),
    (ops.kron, np.kron, [(2, 3), (3, 2)]),
    (ops.kron, np.kron, [(3,), (2, 2)]),
    (ops.cross, np.cross, [(4, 3), (3,)]),
    (ops.cross, lambda a, b: np.cross(np.pad(a, (0, 1)), b), [(2,), (3,)]),
    (ops.cross, lambda a, b: a[0] * b[1] - a[1] * b[0], [(2,), (2,)]),
    (lambda a, b: ops.cross(a, b, axisa=0, axisb=1, axisc=0),
     lambda a, b: np.cross(a, b, axisa=0, axisb=1, axisc=0), [(3, 4), (4, 3)]),
    (lambda a, b: ops.cross(a, b, axis=0), lambda a, b: np.cross(a, b, axis=0), [(3, 4), (3, 4)]),
]


@pytest.mark.parametrize("index", range(len(PAIRS)))
@given(data=st.data())
def test_binary_products(device, index, data):
    op, reference, shapes = PAIRS[index]
    xs = draw_arrays(data, shapes)
    expected = np.asarray(reference(*xs))
    assert_matches(op(*xs), expected)
    assert symbolic_shape(op, *xs) == expected.shape
    check_composed_grads(op, xs)


UNARY = [
    (ops.trace, np.trace, (3, 4)),
    (lambda x: ops.trace(x, 1, 1, 2), lambda x: np.trace(x, 1, 1, 2), (2, 3, 4)),
    (lambda x: ops.trace(x, -2, 2, 0), lambda x: np.trace(x, -2, 2, 0), (3, 2, 4)),
    (ops.diagonal, np.diagonal, (3, 4)),
    (lambda x: ops.diagonal(x, -1, 2, 0), lambda x: np.diagonal(x, -1, 2, 0), (3, 2, 4)),
    (lambda x: ops.diagonal(x, 5), lambda x: np.diagonal(x, 5), (3, 4)),
    (ops.diag, np.diag, (3,)),
    (lambda x: ops.diag(x, 2), lambda x: np.diag(x, 2), (3,)),
    (lambda x: ops.diag(x, -1), lambda x: np.diag(x, -1), (3, 4)),
    (lambda x: ops.diagflat(x, -1), lambda x: np.diagflat(x, -1), (2, 2)),
    (ops.vander, np.vander, (4,)),
    (lambda x: ops.vander(x, 3, True), lambda x: np.vander(x, 3, True), (4,)),
]


@pytest.mark.parametrize("index", range(len(UNARY)))
@given(data=st.data())
def test_diagonals_traces_vander(device, index, data):
    op, reference, shape = UNARY[index]
    (x,) = draw_arrays(data, [shape])
    expected = reference(x)
    assert_matches(op(x), expected)
    assert symbolic_shape(op, x) == expected.shape
    check_composed_grads(op, [x])


def test_vander_gradient_at_zero(device):
    check_composed_grads(ops.vander, [np.array([0.0, 1.5, -2.0])])


def test_integer_dtypes(device):
    for dtype, expected in [("bool", "int32"), ("int8", "int32"), ("int32", "int32"),
                            ("int64", "int64"), ("float32", "float32")]:
        x = np.ones((2, 2), dtype)
        assert ops.trace(x).dtype == expected
        assert ops.diagonal(x).dtype == dtype
    assert ops.vander(np.array([1, 2], np.int8)).dtype == "int8"
    assert ops.outer(np.ones(2, np.int32), np.ones(2, np.int32)).dtype == "int32"


def test_shape_errors(device):
    with pytest.raises(ValueError, match=r"cross: vectors must have 2 or 3 components.*\(4,\)"):
        ops.cross(np.ones(4), np.ones(3))
    with pytest.raises(ValueError, match="diagonal: axis1 and axis2 must differ"):
        ops.diagonal(np.ones((2, 2)), 0, 1, 1)
    with pytest.raises(ValueError, match=r"inner: the last axes of shapes \(2,\) and \(3,\)"):
        ops.inner(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"vander: x must be 1-D.*\(2, 2\)"):
        ops.vander(np.ones((2, 2)))
