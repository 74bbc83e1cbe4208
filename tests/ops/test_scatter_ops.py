"""nbkeras/ops/scatter.py: scatter, scatter_update (set, add, max, min, mul) and the segment
reductions.

Forwards against numpy's `ufunc.at` and a plain Python loop in float64 (repeated indices, ids
outside the segments, empty segments), gradients against central differences with the values
kept apart (no ties for max/min, no zeros for mul), on every device of the `device` fixture."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, tensor

UFUNCS = {"add": np.add, "max": np.maximum, "min": np.minimum, "mul": np.multiply}


def reference_scatter(inputs, indices, updates, reduction):
    """inputs with updates applied row by row at indices (N, k), in order."""
    out = inputs.copy()
    for index, update in zip(indices, updates):
        cell = tuple(index)
        out[cell] = update if reduction is None else UFUNCS[reduction](out[cell], update)
    return out


@st.composite
def scatter_cases(draw, reduction):
    shape = draw(nst.shapes(1, 3, 1, 4))
    depth = draw(st.integers(1, len(shape)))
    count = draw(st.integers(0, 6))
    indices = np.array([[draw(st.integers(-n, n - 1)) for n in shape[:depth]]
                        for _ in range(count)], np.int64).reshape(count, depth)
    positive = reduction == "mul"
    distinct = draw(nst.arrays((int(np.prod(shape)) + count * int(np.prod(shape[depth:])),),
                               no_ties=True, positive=positive))
    inputs = distinct[:int(np.prod(shape))].reshape(shape)
    updates = distinct[int(np.prod(shape)):].reshape(count, *shape[depth:])
    return inputs, indices, updates


@pytest.mark.parametrize("reduction", [None, "add", "max", "min", "mul"])
@given(data=st.data())
def test_scatter_update(device, reduction, data):
    inputs, indices, updates = data.draw(scatter_cases(reduction))
    expected = reference_scatter(inputs, indices, updates, reduction)
    assert_matches(ops.scatter_update(inputs, indices, updates, reduction), expected)
    if reduction is None:     # a repeated index: only the last write is differentiable
        unique = len({tuple(i % np.array(inputs.shape[:indices.shape[1]])) for i in indices})
        if unique < len(indices):
            return
    check_grads(lambda x, u: ops.scatter_update(x, indices, u, reduction), [inputs, updates])


def test_scatter_update_set_keeps_the_last_write_and_its_gradient(device):
    u = tensor(np.array([1.0, 2.0, 3.0]))
    with nk.GradientTape() as tape:
        tape.watch(u)
        y = ops.scatter_update(np.zeros(4), [[0], [0], [1]], u)
        total = ops.sum(y)
    assert_matches(y, [2.0, 3.0, 0.0, 0.0])
    assert_matches(tape.gradient(total, u), [0.0, 1.0, 1.0])     # as JAX


@given(data=st.data())
def test_scatter_sums_repeated_indices(device, data):
    inputs, indices, updates = data.draw(scatter_cases("add"))
    expected = reference_scatter(np.zeros(inputs.shape), indices, updates, "add")
    assert_matches(ops.scatter(indices, updates, inputs.shape), expected)
    check_grads(lambda u: ops.scatter(indices, u, inputs.shape), [updates])


@pytest.mark.parametrize("name, reduction, empty", [("segment_sum", "add", 0.0),
                                                    ("segment_max", "max", -np.inf),
                                                    ("segment_min", "min", np.inf),
                                                    ("segment_prod", "mul", 1.0)])
@given(data=st.data(), rows=st.integers(1, 7), rest=nst.shapes(0, 2, 1, 3),
       segments=st.one_of(st.none(), st.integers(1, 5)))
def test_segment_reductions(device, name, reduction, empty, data, rows, rest, segments):
    x = data.draw(nst.arrays((rows, *rest), no_ties=True, positive=reduction == "mul"))
    top = (segments or 4) + 1
    ids = np.array(data.draw(st.lists(st.integers(-1, top), min_size=rows, max_size=rows)))
    count = segments if segments is not None else int(ids.max()) + 1
    expected = np.full((count, *rest), empty)
    for row, segment in zip(x, ids):
        if 0 <= segment < count:
            expected[segment] = UFUNCS[reduction](expected[segment], row)
    assert_matches(getattr(ops, name)(x, ids, num_segments=segments), expected)
    check_grads(lambda t: ops.where(np.isfinite(expected), getattr(ops, name)(t, ids, segments),
                                    0.0), [x])


def test_segment_max_of_integers_fills_empty_segments_with_the_minimum(device):
    y = ops.segment_max(np.array([1, 2], np.int32), np.array([0, 0]), num_segments=2)
    assert_matches(y, [2, np.iinfo(np.int32).min], dtype="int32")


def test_segment_max_shares_the_gradient_among_ties(device):
    x = tensor(np.array([1.0, 5.0, 3.0, 3.0]))
    with nk.GradientTape() as tape:
        tape.watch(x)
        total = ops.sum(ops.segment_max(x, np.array([0, 0, 2, 2]), num_segments=3))
    assert_matches(tape.gradient(total, x), [0.0, 1.0, 0.5, 0.5])     # as JAX


def test_bad_arguments_name_the_op_and_the_shapes(device):
    with pytest.raises(ValueError, match=r"scatter_update: indices of shape \(2, 1\) into shape "
                                         r"\(3, 2\) take updates of shape \(2, 2\); received "
                                         r"\(2,\)"):
        ops.scatter_update(np.zeros((3, 2)), [[0], [1]], np.ones(2))
    with pytest.raises(IndexError, match=r"scatter: indices out of range for shape \(3,\)"):
        ops.scatter([[3]], np.ones(1), (3,))
    with pytest.raises(ValueError, match="scatter_update: reduction must be"):
        ops.scatter_update(np.zeros(3), [[0]], np.ones(1), "mean")
    with pytest.raises(ValueError, match=r"segment_sum: segment_ids must hold one id per row "
                                         r"of data; received 2 ids for data of shape \(3,\)"):
        ops.segment_sum(np.ones(3), [0, 1])
