"""nbkeras/ops/manipulation.py: flips, rolls, tiles, repeats, stacking and splitting, triangles,
gathers, slices and slice updates, select, rearrange, copy, view.

Forwards against numpy's own functions in float64 (np.flip, np.roll, np.tile, ... — not the
index arithmetic the ops build), shapes and dtypes of KerasTensor calls against the eager
result, gradients against central differences (check_grads), on every device of the `device`
fixture (tests/conftest.py)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, assert_op, check_composed_grads, tensor


@st.composite
def array_and_axis(draw, min_rank=1, max_rank=4):
    shape = draw(nst.shapes(min_rank, max_rank, 1, 4))
    return draw(nst.arrays(shape)), draw(st.integers(-len(shape), len(shape) - 1))


# ---- flips, rolls, tiles, repeats ----------------------------------------------------------

@given(case=array_and_axis(), all_axes=st.booleans())
def test_flip(device, case, all_axes):
    x, axis = case
    axis = None if all_axes else axis
    assert_op(lambda t: ops.flip(t, axis), lambda a: np.flip(a, axis), x)


def test_fliplr_flipud(device):
    x = np.random.default_rng(0).standard_normal((3, 4, 2))
    assert_op(ops.fliplr, np.fliplr, x)
    assert_op(ops.flipud, np.flipud, x)
    with pytest.raises(ValueError, match="fliplr: x must have rank >= 2"):
        ops.fliplr(np.ones(3))


@given(case=array_and_axis(), shift=st.integers(-7, 7), flat=st.booleans())
def test_roll(device, case, shift, flat):
    x, axis = case
    axis = None if flat else axis
    assert_op(lambda t: ops.roll(t, shift, axis), lambda a: np.roll(a, shift, axis), x)


def test_roll_over_several_axes(device):
    x = np.random.default_rng(1).standard_normal((3, 4, 5))
    assert_op(lambda t: ops.roll(t, (1, -2), (0, 2)), lambda a: np.roll(a, (1, -2), (0, 2)), x)


@given(shape=nst.shapes(0, 3, 1, 3), repeats=st.lists(st.integers(0, 3), min_size=1,
                                                      max_size=4), seed=st.integers(0, 99))
def test_tile(device, shape, repeats, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    assert_op(lambda t: ops.tile(t, repeats), lambda a: np.tile(a, repeats), x)


@given(case=array_and_axis(), counts=st.data(), flat=st.booleans())
def test_repeat(device, case, counts, flat):
    x, axis = case
    if flat:
        repeats, axis = counts.draw(st.integers(0, 3)), None
    else:
        repeats = counts.draw(st.one_of(st.integers(0, 3), st.lists(
            st.integers(0, 3), min_size=x.shape[axis], max_size=x.shape[axis])))
    assert_op(lambda t: ops.repeat(t, repeats, axis), lambda a: np.repeat(a, repeats, axis), x)


def test_repeat_rejects_a_count_per_element_of_the_wrong_length(device):
    with pytest.raises(ValueError, match=r"repeat: .*axis 0 \(size 3\)"):
        ops.repeat(np.ones(3), [1, 2])


# ---- joining and splitting -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack"])
@given(shape=nst.shapes(1, 3, 1, 3), seed=st.integers(0, 99))
def test_stacks(device, name, shape, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    assert_op(lambda x, y: getattr(ops, name)([x, y]), lambda x, y: getattr(np, name)([x, y]),
              a, b)


def test_append_flattens_without_an_axis(device):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    assert_op(ops.append, np.append, a, b)
    assert_op(lambda x, y: ops.append(x, y, 0), lambda x, y: np.append(x, y, 0), a, b)


@given(size=st.integers(1, 9), sections=st.integers(1, 5), seed=st.integers(0, 99))
def test_array_split_into_nearly_equal_pieces(device, size, sections, seed):
    x = np.random.default_rng(seed).standard_normal((2, size))
    pieces = ops.array_split(x, sections, axis=1)
    expected = np.array_split(x, sections, axis=1)
    assert len(pieces) == len(expected)
    for piece, reference in zip(pieces, expected):
        assert_matches(piece, reference)
    check_composed_grads(lambda t: ops.concatenate([p * (i + 1) for i, p in
                                           enumerate(ops.array_split(t, sections, 1))], 1), [x])


@pytest.mark.parametrize("name, shape", [("hsplit", (2, 4, 3)), ("vsplit", (4, 2)),
                                         ("dsplit", (2, 3, 4))])
def test_hsplit_vsplit_dsplit(device, name, shape):
    x = np.random.default_rng(3).standard_normal(shape)
    for sections in (2, [1, 3]):
        for piece, reference in zip(getattr(ops, name)(x, sections),
                                    getattr(np, name)(x, sections)):
            assert_matches(piece, reference)


@given(case=array_and_axis())
def test_unstack(device, case):
    x, axis = case
    pieces = ops.unstack(x, axis=axis)
    for i, piece in enumerate(pieces):
        assert_matches(piece, np.take(x, i, axis))
    check_composed_grads(lambda t: ops.stack([p * (i + 1) for i, p in enumerate(ops.unstack(t, axis=axis))],
                                    0), [x])


@given(case=array_and_axis(min_rank=2), other=st.integers(0, 3))
def test_swapaxes(device, case, other):
    x, axis = case
    other %= x.ndim
    assert_op(lambda t: ops.swapaxes(t, axis, other), lambda a: np.swapaxes(a, axis, other), x)


@given(shape=nst.shapes(2, 4, 1, 4), k=st.integers(-5, 5), seed=st.integers(0, 99),
       axes=st.sampled_from([(0, 1), (1, 0), (-1, 0), (0, -1)]))
def test_rot90(device, shape, k, seed, axes):
    x = np.random.default_rng(seed).standard_normal(shape)
    assert_op(lambda t: ops.rot90(t, k, axes), lambda a: np.rot90(a, k, axes), x)


# ---- triangles, gathers, slices ------------------------------------------------------------

@pytest.mark.parametrize("name", ["tril", "triu"])
@given(shape=nst.shapes(2, 4, 1, 5), k=st.integers(-4, 4), seed=st.integers(0, 99))
def test_triangles(device, name, shape, k, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    assert_op(lambda t: getattr(ops, name)(t, k), lambda a: getattr(np, name)(a, k), x)


@given(case=array_and_axis(), data=st.data(), flat=st.booleans())
def test_take_with_repeated_and_negative_indices(device, case, data, flat):
    x, axis = case
    axis = None if flat else axis
    size = x.size if flat else x.shape[axis]
    shape = data.draw(nst.shapes(0, 2, 1, 4))
    indices = data.draw(st.lists(st.integers(-size, size - 1), min_size=int(np.prod(shape)),
                                 max_size=int(np.prod(shape))))
    indices = np.asarray(indices, np.int64).reshape(shape)
    assert_op(lambda t: ops.take(t, indices, axis), lambda a: np.take(a, indices, axis), x)


@given(case=array_and_axis(), data=st.data())
def test_take_with_indices_that_are_a_model_input(case, data):
    """Symbolic indices: the shape puts theirs in place of the axis; the model gathers and
    differentiates in x as take on the same values does."""
    x, axis = case
    axis %= x.ndim
    size = x.shape[axis]
    indices = np.asarray(data.draw(st.lists(st.integers(-size, size - 1), min_size=1,
                                            max_size=4)), np.int32)
    x_in = nk.Input(x.shape[1:], dtype="float64", batch_size=x.shape[0])
    index_in = nk.Input((), dtype="int32", batch_size=len(indices))
    y = ops.take(x_in, index_in, axis)
    assert y.shape == x.shape[:axis] + (len(indices),) + x.shape[axis + 1:]
    model = nk.Model([x_in, index_in], y)
    assert_op(lambda t: model([t, indices]), lambda a: np.take(a, indices, axis), x)


def test_take_out_of_range_names_the_axis(device):
    with pytest.raises(IndexError, match=r"take: indices must be in \[-3, 3\) for axis 1"):
        ops.take(np.ones((2, 3)), [3], axis=1)


@given(case=array_and_axis(), data=st.data())
def test_take_along_axis_broadcasts_the_other_axes(device, case, data):
    x, axis = case
    shape = [data.draw(st.sampled_from([1, n])) for n in x.shape]
    shape[axis] = data.draw(st.integers(1, 4))
    count = int(np.prod(shape))
    indices = np.asarray(data.draw(st.lists(st.integers(-x.shape[axis], x.shape[axis] - 1),
                                            min_size=count, max_size=count)),
                         np.int64).reshape(shape)
    assert_op(lambda t: ops.take_along_axis(t, indices, axis),
              lambda a: np.take_along_axis(a, indices, axis), x)


@given(shape=nst.shapes(1, 4, 1, 5), data=st.data())
def test_slice_and_slice_update(device, shape, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    x = rng.standard_normal(shape)
    starts = [data.draw(st.integers(0, n - 1)) for n in shape]
    sizes = [data.draw(st.integers(1, n - s)) for n, s in zip(shape, starts)]
    block = tuple(np.s_[s:s + m] for s, m in zip(starts, sizes))
    updates = rng.standard_normal(sizes)
    expected = x.copy()
    expected[block] = updates
    assert_op(lambda t: ops.slice(t, starts, sizes), lambda a: a[block], x)
    assert_op(lambda t, u: ops.slice_update(t, starts, u), lambda a, u: expected, x, updates)


def test_slice_outside_the_tensor_is_an_error(device):
    with pytest.raises(ValueError, match=r"slice: a block of shape \(2, 2\) at start_indices "
                                         r"\[1, 2\] does not fit inputs of shape \(2, 3\)"):
        ops.slice(np.ones((2, 3)), (1, 2), (2, 2))


@given(shape=nst.shapes(0, 3, 1, 4), seed=st.integers(0, 99))
def test_select_takes_the_first_true_condition(device, shape, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    first, second = rng.random(shape) < 0.4, rng.random(shape) < 0.6
    assert_op(lambda x, y: ops.select([first, second], [x, y], -1.5),
              lambda x, y: np.select([first, second], [x, y], -1.5), a, b)


# ---- rearrange, copy, view -----------------------------------------------------------------

REARRANGEMENTS = [
    ("b h w c -> b c h w", {}, lambda a: a.transpose(0, 3, 1, 2)),
    ("b h w c -> (b h) w c", {}, lambda a: a.reshape(-1, *a.shape[2:])),
    ("b h w c -> h (b w) c", {}, lambda a: a.transpose(1, 0, 2, 3).reshape(a.shape[1], -1,
                                                                           a.shape[3])),
    ("b (h1 h) w c -> h1 b h w c", {"h1": 2},
     lambda a: a.reshape(a.shape[0], 2, -1, *a.shape[2:]).transpose(1, 0, 2, 3, 4)),
    ("b h w c -> b 1 (h w c)", {}, lambda a: a.reshape(a.shape[0], 1, -1)),
]


@pytest.mark.parametrize("pattern, lengths, reference", REARRANGEMENTS)
def test_rearrange_matches_transpose_and_reshape(device, pattern, lengths, reference):
    x = np.random.default_rng(4).standard_normal((2, 4, 3, 2))
    assert_op(lambda t: ops.rearrange(t, pattern, **lengths), reference, x)


@pytest.mark.parametrize("pattern, message", [
    ("b h w c", "one '->'"), ("b h w -> b h w", "the tensor has shape"),
    ("b h w c -> b h w", "same axes"), ("b (h w c -> b h w c", "unbalanced")])
def test_rearrange_errors_name_the_pattern(device, pattern, message):
    with pytest.raises(ValueError, match=message):
        ops.rearrange(np.ones((2, 4, 3, 2)), pattern)


def test_copy_is_a_new_tensor_with_the_gradient_passing(device):
    x = tensor(np.arange(6.0).reshape(2, 3))
    y = ops.copy(x)
    assert y.data is not x.data
    assert_op(ops.copy, lambda a: a, np.random.default_rng(5).standard_normal((2, 3)))


def test_view_reinterprets_the_bytes(device):
    x = np.array([1.0, -2.0], np.float32)
    assert_matches(ops.view(x, "int32"), x.view(np.int32), dtype="int32")
    with pytest.raises(ValueError, match="view: x of shape"):
        ops.view(np.ones(3, np.int8), "int32")
