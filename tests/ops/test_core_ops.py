"""nbkeras/ops/core.py: where, clip, cast, one_hot, argmax, stop_gradient (and check_grads
noticing a stopped gradient).

Forwards against plain numpy (tests/reference.py), gradients against central differences
(check_grads), on every device of the `device` fixture (tests/conftest.py)."""
from __future__ import annotations
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import GradientCheckError, check_grads
from nbkeras.testing import strategies as nst

import reference  # tests/reference.py (tests/ is on sys.path: pyproject.toml)
from op_checks import assert_matches, check_op_grads, tensor  # tests/op_checks.py


# ------------------------------------------------------------------------- where and clip

@given(data=st.data(), shapes=nst.broadcastable_shapes(), cond_first=st.booleans())
def test_where_broadcasts_condition_and_branches(device, data, shapes, cond_first):
    a = data.draw(nst.arrays(shapes[0]))
    b = data.draw(nst.arrays(shapes[1]))
    cond_shape = shapes[0] if cond_first else shapes[1]
    seed = data.draw(st.integers(0, 2**32 - 1))
    cond = np.random.default_rng(seed).random(cond_shape) < 0.5
    out_shape = np.broadcast_shapes(cond.shape, a.shape, b.shape)
    ca, cb, cc = (np.broadcast_to(v, out_shape) for v in (a, b, cond))
    expected = np.empty(out_shape)
    for index in np.ndindex(out_shape):
        expected[index] = ca[index] if cc[index] else cb[index]
    assert_matches(ops.where(cond, a, b), expected)
    check_grads(lambda x1, x2: ops.where(cond, x1, x2), [a, b])


@given(data=st.data(), shape=nst.shapes(0, 3), low=st.floats(-1.5, 0.5),
       width=st.floats(0.1, 2.0))
def test_clip_between_bounds(device, data, shape, low, width):
    high = low + width
    x = data.draw(nst.arrays(shape, kinks=(low, high), margin=1e-2, scale=1.5))
    assert_matches(ops.clip(x, low, high), reference.clip(x, low, high))
    check_grads(lambda t: ops.clip(t, low, high), [x])


# ------------------------------------------------------------------ cast, one_hot, argmax

@given(data=st.data(), shape=nst.shapes(0, 3))
def test_cast_float64_to_float32_and_back(device, data, shape):
    x = data.draw(nst.arrays(shape))
    assert_matches(ops.cast(x, "float32"), x.astype(np.float32), rtol=0, atol=0,
                   dtype="float32")
    assert_matches(ops.cast(ops.cast(x, "float32"), np.float64),
                   x.astype(np.float32).astype(np.float64), rtol=0, atol=0)
    t = tensor(x)
    v = np.random.default_rng(0).standard_normal(shape)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(ops.multiply(ops.cast(t, "float32"), v.astype(np.float32)))
    grad = tape.gradient(y, t)
    assert grad.dtype == "float64"
    np.testing.assert_allclose(np.asarray(grad), v, rtol=1e-6)
    check_grads(lambda a: ops.cast(a * 3.0, "float64"), [x])


@given(data=st.data(), shape=nst.shapes(1, 3), dtype=st.sampled_from([None, "float32",
                                                                       "float64"]))
def test_convert_to_tensor_of_a_symbolic_tensor_is_a_graph_op(device, data, shape, dtype):
    """As Keras's ConvertToTensor: the graph keeps the call (x itself, or cast to `dtype`) and
    gradients pass it (cast back)."""
    x = data.draw(nst.arrays(shape))
    symbolic = nk.Input(shape[1:], dtype="float64")
    converted = ops.convert_to_tensor(symbolic, dtype)
    assert (converted.shape, converted.dtype) == (symbolic.shape, dtype or "float64")
    model = nk.Model(symbolic, converted)
    assert_matches(model(x), x.astype(dtype or np.float64), rtol=0, atol=0,
                   dtype=dtype or "float64")
    t, v = tensor(x), np.random.default_rng(0).standard_normal(shape)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(ops.multiply(ops.cast(model(t), "float64"), v))
    grad = tape.gradient(y, t)
    assert grad.dtype == "float64"
    np.testing.assert_allclose(np.asarray(grad), v, rtol=1e-6)
    if dtype != "float32":    # a float32 step is too coarse for finite differences
        check_op_grads(lambda a: model(a * 3.0), [x])
    with pytest.raises(ValueError, match="convert_to_tensor: nbkeras tensors are dense"):
        ops.convert_to_tensor(symbolic, sparse=True)


def test_cast_to_int_values_and_no_gradient(device):
    x = np.array([-1.7, -0.2, 0.6, 2.9])
    assert_matches(ops.cast(x, "int32"), np.array([-1, 0, 0, 2]), dtype="int32")
    t = tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(ops.cast(t, "int32"))
    assert tape.gradient(y, t) is None


@given(data=st.data(), shape=nst.shapes(0, 3, 1, 4), num_classes=st.integers(1, 5),
       int_dtype=st.sampled_from(["int32", "int64", "uint8"]),
       out_dtype=st.sampled_from([None, "float64", "int32"]))
def test_one_hot_integer_indices(device, data, shape, num_classes, int_dtype, out_dtype):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    seed = data.draw(st.integers(0, 2**32 - 1))
    indices = np.random.default_rng(seed).integers(0, num_classes, shape).astype(int_dtype)
    y = ops.one_hot(indices, num_classes, axis=axis, dtype=out_dtype)
    assert_matches(y, reference.one_hot(indices, num_classes, axis), rtol=0, atol=0,
                   dtype=out_dtype or "float32")


def test_one_hot_negative_index_gives_zero_row(device):
    y = np.asarray(ops.one_hot(np.array([0, -1, 2]), 3))
    np.testing.assert_array_equal(y, [[1, 0, 0], [0, 0, 0], [0, 0, 1]])


@given(data=st.data(), shape=nst.shapes(1, 3, 1, 4), integer=st.booleans(),
       keepdims=st.booleans())
def test_argmax(device, data, shape, integer, keepdims):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    if integer:
        seed = data.draw(st.integers(0, 2**32 - 1))
        x = np.random.default_rng(seed).integers(-3, 4, shape).astype(np.int32)  # with ties
    else:
        x = data.draw(nst.arrays(shape, no_ties=True))
    y = ops.argmax(x, axis=axis, keepdims=keepdims)
    expected = reference.argmax(x, axis)
    if keepdims:
        expected = (expected.reshape((1,) * len(shape)) if axis is None
                    else np.expand_dims(expected, axis))
    assert_matches(y, expected, rtol=0, atol=0, dtype="int32")   # Keras


# --------------------------------------------------------------------------- tape basics

def test_stop_gradient_blocks_gradient(device):
    x = np.array([[0.5, -1.25], [2.0, 3.5]])
    t = tensor(x)
    assert_matches(ops.stop_gradient(t), x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(ops.multiply(ops.stop_gradient(t), 3.0))
    assert tape.gradient(y, t) is None
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(ops.multiply(t, ops.stop_gradient(t)))   # d/dx x * sg(x) = sg(x) = x
    np.testing.assert_allclose(np.asarray(tape.gradient(y, t)), x, rtol=1e-12)


# on the CPU: its Op computes with numpy operators, which a GPU's device arrays do not have
@pytest.mark.parametrize("device", ["cpu"], indirect=True)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_check_grads_rejects_non_finite_gradients(device, bad):
    @dataclass(frozen=True)
    class BadGradient(nk.ops.Op):
        def output_spec(self, x): return x
        def forward(self, k, x): return x * 2.0, ()
        def vjp(self, k, dy, residuals, needs): return (dy * bad,)

    with pytest.raises(GradientCheckError):
        check_grads(BadGradient(), [np.array([0.1, -0.4, 1.2])])


def test_stop_gradient_makes_check_grads_fail(device):
    """check_grads must notice that a stop_gradient'ed function has a zero analytic gradient."""
    x = np.array([0.3, -1.1, 2.0])
    with pytest.raises(GradientCheckError):
        check_grads(lambda t: ops.stop_gradient(t) * 2.0, [x])
