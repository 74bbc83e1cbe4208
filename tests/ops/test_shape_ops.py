"""nbkeras/ops/shape.py: reshape, transpose, expand_dims, squeeze, concatenate, stack, split,
getitem, broadcast_to.

Forwards against plain numpy (tests/reference.py), gradients against central differences
(check_grads), on every device of the `device` fixture (tests/conftest.py)."""
from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, size_of, tensor  # tests/op_checks.py


# ---------------------------------------------------------------------- shape operations

@st.composite
def reshape_cases(draw):
    shape = draw(nst.shapes(0, 4, 1, 4))
    size = size_of(shape)
    split = draw(st.integers(0, len(shape)))
    options = [(size,), tuple(reversed(shape)),
               (size_of(shape[:split]), size_of(shape[split:])), (1,) + shape + (1,)]
    target = list(draw(st.sampled_from(options)))
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return shape, tuple(target)


@given(data=st.data(), case=reshape_cases(), method=st.booleans())
def test_reshape(device, data, case, method):
    shape, target = case
    x = data.draw(nst.arrays(shape))
    fn = (lambda t: nk.Tensor.reshape(t, target)) if method else \
        (lambda t: ops.reshape(t, target))
    assert_matches(fn(tensor(x)), x.reshape(target))
    check_grads(fn, [x])


@given(data=st.data(), shape=nst.shapes(1, 4, 1, 4))
def test_transpose(device, data, shape):
    x = data.draw(nst.arrays(shape))
    perm = data.draw(st.none() | st.permutations(range(len(shape))).map(tuple))
    if perm is not None and data.draw(st.booleans()):
        perm = tuple(a - len(shape) for a in perm)        # negative axes
    assert_matches(ops.transpose(x, perm), np.transpose(x, perm))
    check_grads(lambda t: ops.transpose(t, perm), [x])


def test_transpose_T_property(device):
    x = np.random.default_rng(4).standard_normal((2, 3, 4))
    assert_matches(tensor(x).T, x.T)


@given(data=st.data(), shape=nst.shapes(0, 3, 1, 3))
def test_expand_dims(device, data, shape):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    x = data.draw(nst.arrays(shape))
    assert_matches(ops.expand_dims(x, axis), np.expand_dims(x, axis))
    check_grads(lambda t: ops.expand_dims(t, axis), [x])


@given(data=st.data(), shape=nst.shapes(1, 4, 1, 2))
def test_squeeze(device, data, shape):
    ones = [i for i, n in enumerate(shape) if n == 1]
    choices = [None] + ones + [i - len(shape) for i in ones]
    axis = data.draw(st.sampled_from(choices))
    x = data.draw(nst.arrays(shape))
    assert_matches(ops.squeeze(x, axis), np.squeeze(x, axis))
    check_grads(lambda t: ops.squeeze(t, axis), [x])


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 3), count=st.integers(1, 3))
def test_concatenate(device, data, shape, count):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    xs = []
    for _ in range(count):
        piece = list(shape)
        piece[axis] = data.draw(st.integers(1, 3))
        xs.append(data.draw(nst.arrays(tuple(piece))))
    assert_matches(ops.concatenate(xs, axis=axis), np.concatenate(xs, axis=axis))
    check_grads(lambda *ts: ops.concatenate(list(ts), axis=axis), xs)


@given(data=st.data(), shape=nst.shapes(0, 3, 1, 3), count=st.integers(1, 3))
def test_stack(device, data, shape, count):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    xs = [data.draw(nst.arrays(shape)) for _ in range(count)]
    assert_matches(ops.stack(xs, axis=axis), np.stack(xs, axis=axis))
    check_grads(lambda *ts: ops.stack(list(ts), axis=axis), xs)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 6))
def test_split(device, data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[axis]
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    if data.draw(st.booleans()):
        how = data.draw(st.sampled_from(divisors))
    else:
        how = sorted(data.draw(st.sets(st.integers(1, size - 1), max_size=3))) if size > 1 else []
    x = data.draw(nst.arrays(shape))
    pieces = ops.split(x, how, axis=axis)
    expected = np.split(x, how, axis=axis)
    assert len(pieces) == len(expected)
    for piece, want in zip(pieces, expected):
        assert_matches(piece, want)
    check_grads(lambda t: ops.split(t, how, axis=axis), [x])


@st.composite
def index_keys(draw, shape):
    """Keys numpy accepts for `shape`: ints (maybe negative), slices with steps, None,
    Ellipsis, an integer array with repeats, or a boolean mask."""
    kind = draw(st.sampled_from(["basic", "basic", "int_array", "bool_mask"]))
    if kind == "int_array":           # along the first axis, repeats allowed
        index = np.array(draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1,
                                       max_size=5)))
        return (index,) if draw(st.booleans()) else (index, Ellipsis)
    if kind == "bool_mask":
        seed = draw(st.integers(0, 2**32 - 1))
        return (np.random.default_rng(seed).random(shape) < 0.5,)
    key = []
    for n in shape:
        choice = draw(st.sampled_from(["int", "slice", "all"]))
        if choice == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif choice == "slice":
            step = draw(st.sampled_from([1, 2, -1, -2]))
            start = draw(st.none() | st.integers(-n, n - 1))
            stop = draw(st.none() | st.integers(-n, n))
            key.append(slice(start, stop, step))
        else:
            key.append(slice(None))
    if key and draw(st.booleans()):
        key = key[:draw(st.integers(0, len(key) - 1))] + [Ellipsis]
    if draw(st.booleans()):
        key.insert(draw(st.integers(0, len(key))), None)
    return tuple(key)


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), use_operator=st.booleans())
def test_getitem(device, data, shape, use_operator):
    key = data.draw(index_keys(shape))
    x = data.draw(nst.arrays(shape))
    fn = (lambda t: t[key]) if use_operator else (lambda t: ops.getitem(t, key))
    assert_matches(fn(tensor(x)), x[key])
    check_grads(fn, [x])


def test_getitem_repeated_indices_accumulate_gradient(device):
    x = tensor(np.array([1.0, 2.0, 3.0]))
    with nk.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(x[np.array([0, 2, 0, 0])])
    np.testing.assert_array_equal(np.asarray(tape.gradient(y, x)), [3.0, 0.0, 1.0])


@given(data=st.data())
def test_getitem_backward_of_a_basic_key_equals_the_scatter_add(data):
    """The CPU kernel writes dy where the key is basic (ints, slices of any step, None,
    Ellipsis) instead of scatter-adding: the same gradient as np.add.at's."""
    from nbkeras.kernels import cpu

    shape = data.draw(nst.shapes(1, 4, 1, 5))
    parts = []
    for n in shape:
        parts.append(data.draw(st.one_of(
            st.integers(-n, n - 1),
            st.builds(slice, st.none() | st.integers(-n - 1, n + 1),
                      st.none() | st.integers(-n - 1, n + 1),
                      st.none() | st.integers(1, 3).flatmap(lambda s: st.sampled_from([s, -s]))))))
    parts = parts[:data.draw(st.integers(0, len(parts)))]
    for _ in range(data.draw(st.integers(0, 2))):  # None adds an axis and takes no dimension
        parts.insert(data.draw(st.integers(0, len(parts))), None)
    key = tuple(parts) + data.draw(st.sampled_from([(), (Ellipsis,)]))
    dy = data.draw(nst.arrays(np.empty(shape)[key].shape))
    want = np.zeros(shape)
    np.add.at(want, key, dy)
    np.testing.assert_array_equal(cpu.getitem_backward(dy, shape, key), want)


@given(data=st.data(), shapes=nst.broadcastable_shapes())
def test_broadcast_to(device, data, shapes):
    target = np.broadcast_shapes(*shapes)
    source = shapes[0] if shapes[0] != target else shapes[1]
    x = data.draw(nst.arrays(source))
    assert_matches(ops.broadcast_to(x, target), np.broadcast_to(x, target))
    check_grads(lambda t: ops.broadcast_to(t, target), [x])
