"""nbkeras/ops/matmul.py: matmul with batch broadcasting and vectors, dot with numpy semantics.

Forwards against plain numpy (tests/reference.py), gradients against central differences
(check_grads), on every device of the `device` fixture (tests/conftest.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

import reference  # tests/reference.py (tests/ is on sys.path: pyproject.toml)
from op_checks import assert_matches  # tests/op_checks.py


# -------------------------------------------------------------------------- matmul, dot

@given(data=st.data(), batch=nst.broadcastable_shapes(max_rank=2, max_side=3),
       sizes=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
       vectors=st.sampled_from(["none", "a", "b", "both"]))
def test_matmul_batch_broadcast_and_vectors(device, data, batch, sizes, vectors):
    m, k, n = sizes
    a_shape = (k,) if vectors in ("a", "both") else batch[0] + (m, k)
    b_shape = (k,) if vectors in ("b", "both") else batch[1] + (k, n)
    a, b = data.draw(nst.arrays(a_shape)), data.draw(nst.arrays(b_shape))
    assert_matches(ops.matmul(a, b), reference.matmul(a, b))
    check_grads(ops.matmul, [a, b])


@given(data=st.data(), a_rank=st.integers(1, 3), b_rank=st.integers(1, 3),
       k=st.integers(1, 3))
def test_dot_numpy_semantics(device, data, a_rank, b_rank, k):
    a_shape = data.draw(nst.shapes(a_rank - 1, a_rank - 1, 1, 3)) + (k,)
    if b_rank == 1:
        b_shape = (k,)
    else:
        b_shape = data.draw(nst.shapes(b_rank - 2, b_rank - 2, 1, 3)) + (k, data.draw(
            st.integers(1, 3)))
    a, b = data.draw(nst.arrays(a_shape)), data.draw(nst.arrays(b_shape))
    assert_matches(ops.dot(a, b), reference.dot(a, b))
    check_grads(ops.dot, [a, b])


@pytest.mark.parametrize("a_shape, b_shape, expected", [
    ((None, 3, 4), (None, 4, None), (None, 3, None, None)),
    ((None, 4), (2, 4, None), (None, 2, None)), ((None, 4), (4, None), (None, None))])
def test_dot_of_symbolic_tensors_with_unknown_sizes_on_both_sides(a_shape, b_shape, expected):
    a, b = nk.KerasTensor(a_shape, "float32"), nk.KerasTensor(b_shape, "float32")
    assert ops.dot(a, b).shape == expected


@pytest.mark.parametrize("b_shape", [(), (3,), (2, 3), (2, 3, 4)])
def test_dot_with_a_scalar_operand(device, b_shape):
    rng = np.random.default_rng(12)
    a, b = np.array(1.5), rng.standard_normal(b_shape)
    assert_matches(ops.dot(a, b), reference.dot(a, b))
    assert_matches(ops.dot(b, a), reference.dot(b, a))
    check_grads(ops.dot, [a, b])
