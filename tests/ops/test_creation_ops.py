"""nbkeras/ops/creation.py: filled shapes, ranges, grids, matrices, windows and the tensor
queries, with Keras 3.15's dtypes (recorded from Keras on JAX) and numpy's values, on the
device the test runs in (`device` fixture: new tensors live on the current device)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import strategies as nst

from op_checks import assert_matches, assert_on_current_device, tensor


@pytest.mark.parametrize("name, fill", [("zeros", 0.0), ("ones", 1.0), ("empty", 0.0)])
@given(shape=nst.shapes(0, 3, 0, 4), dtype=st.sampled_from([None, "float64", "int32", "bool"]))
def test_filled_shapes(device, name, fill, shape, dtype):
    y = getattr(ops, name)(shape, dtype)
    assert_matches(y, np.full(shape, fill), dtype=dtype or "float32")


def test_full_keeps_floatx_unless_told_and_broadcasts_arrays(device):
    assert ops.full((2,), 3).dtype == "float32"          # Keras: floatx for any fill value
    assert ops.full((2,), True).dtype == "float32"
    assert_matches(ops.full((2, 3), [1, 2, 3], "int32"), np.tile([1, 2, 3], (2, 1)),
                   dtype="int32")
    with pytest.raises(ValueError, match=r"full: fill_value of shape \(2,\) cannot be broadcast "
                                         r"to shape \(2, 3\)"):
        ops.full((2, 3), [1, 2])
    with pytest.raises(ValueError, match="zeros: shape must have no negative sizes"):
        ops.zeros((2, -1))


@pytest.mark.parametrize("name, value", [("zeros_like", 0), ("ones_like", 1), ("empty_like", 0),
                                         ("full_like", 2.5)])
@given(shape=nst.shapes(0, 3, 1, 3), dtype=st.sampled_from(["float32", "float64", "int32"]),
       cast=st.sampled_from([None, "float64", "int64"]))
def test_like_ops_take_shape_dtype_and_device_from_x(device, name, value, shape, dtype, cast):
    x = tensor(np.ones(shape, dtype))
    y = (ops.full_like(x, value, cast) if name == "full_like"
         else getattr(ops, name)(x, cast))
    expected_dtype = cast or dtype
    assert_matches(y, np.full(shape, value).astype(expected_dtype), dtype=expected_dtype)


@pytest.mark.parametrize("args, dtype", [((5,), "int32"), ((5.0,), "float32"),
                                         ((1, 7, 2), "int32"), ((0, 1, 0.25), "float32"),
                                         ((2, -3, -1), "int32")])
def test_arange_follows_numpy_values_and_keras_dtypes(device, args, dtype):
    assert_matches(ops.arange(*args), np.arange(*args), dtype=dtype)
    assert ops.arange(*args, dtype="float64").dtype == "float64"
    with pytest.raises(ValueError, match="arange: step must not be 0"):
        ops.arange(0, 3, 0)


@given(start=st.floats(-5, 5), stop=st.floats(-5, 5), num=st.integers(0, 9),
       endpoint=st.booleans())
def test_linspace_logspace_geomspace(device, start, stop, num, endpoint):
    assert_matches(ops.linspace(start, stop, num, endpoint, dtype="float64"),
                   np.linspace(start, stop, num, endpoint))
    assert_matches(ops.logspace(start / 5, stop / 5, num, endpoint, base=2, dtype="float64"),
                   np.logspace(start / 5, stop / 5, num, endpoint, base=2))
    a, b = abs(start) + 0.5, abs(stop) + 0.5
    assert_matches(ops.geomspace(a, b, num, endpoint, dtype="float64"),
                   np.geomspace(a, b, num, endpoint), rtol=1e-12)
    values, step = ops.linspace(start, stop, num, endpoint, retstep=True)
    assert values.dtype == step.dtype == "float32"


def test_linspace_of_arrays_runs_along_axis(device):
    assert_matches(ops.linspace([0, 1], [1, 3], 4, axis=1, dtype="float64"),
                   np.linspace([0, 1], [1, 3], 4, axis=1))


@given(n=st.integers(0, 5), m=st.one_of(st.none(), st.integers(0, 5)), k=st.integers(-3, 3))
def test_eye_tri_identity(device, n, m, k):
    assert_matches(ops.eye(n, m, k), np.eye(n, m, k), dtype="float32")
    assert_matches(ops.tri(n, m, k, dtype="int32"), np.tri(n, m, k), dtype="int32")
    assert_matches(ops.identity(n, "float64"), np.identity(n))


@pytest.mark.parametrize("indexing", ["xy", "ij"])
def test_meshgrid(device, indexing):
    a, b, c = np.arange(2.0), np.arange(3, dtype=np.int32), np.linspace(0, 1, 4)
    for got, expected in zip(ops.meshgrid(a, b, c, indexing=indexing),
                             np.meshgrid(a, b, c, indexing=indexing)):
        assert_matches(got, expected, dtype=expected.dtype.name)


@pytest.mark.parametrize("name", ["bartlett", "blackman", "hamming", "hanning"])
@pytest.mark.parametrize("length", [0, 1, 6, 7])
def test_windows(device, name, length):
    assert_matches(ops.convert_to_tensor(getattr(ops, name)(length), "float64"),
                   getattr(np, name)(length), rtol=1e-6, atol=1e-7)
    assert getattr(ops, name)(length).dtype == "float32"


def test_kaiser_window(device):
    assert_matches(ops.convert_to_tensor(ops.kaiser(9, 3.5), "float64"), np.kaiser(9, 3.5),
                   rtol=1e-6, atol=1e-7)


def test_array_and_the_queries_follow_keras(device):
    assert ops.array([1, 2]).dtype == "int32"
    assert ops.array([1.0, 2]).dtype == "float32"
    assert ops.array(np.arange(3)).dtype == "int64"      # numpy arrays keep their dtype
    assert_on_current_device(ops.array([True]))
    x = tensor(np.ones((2, 3), np.float32))
    assert (ops.shape(x), ops.ndim(x), ops.size(x), ops.dtype(x)) == ((2, 3), 2, 6, "float32")
    symbolic = nk.KerasTensor((None, 3), "float32")
    assert (ops.shape(symbolic), ops.ndim(symbolic), ops.dtype(symbolic)) == \
        ((None, 3), 2, "float32")
    assert ops.is_tensor(x) and ops.is_tensor(symbolic) and not ops.is_tensor(np.ones(2))
    np.testing.assert_array_equal(ops.convert_to_numpy(x), np.ones((2, 3)))
    assert isinstance(ops.convert_to_numpy(x), np.ndarray)


def test_the_keras_guide_compute_sum_layer_runs():
    """The Keras guide's ComputeSum: a non-trainable `total` updated in call, fed
    `ops.ones((2, 2))` (only the import changed)."""
    keras = nk

    class ComputeSum(keras.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,),
                                         trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    x = ops.ones((2, 2))
    my_sum = ComputeSum(2)
    np.testing.assert_array_equal(my_sum(x).numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(my_sum(x).numpy(), [4.0, 4.0])
    assert len(my_sum.weights) == 1 and len(my_sum.non_trainable_weights) == 1
    assert my_sum.trainable_weights == []


def test_like_ops_on_keras_tensors_build_graphs():
    inputs = nk.Input((3,))
    outputs = ops.add(inputs, ops.full_like(inputs, [1.0, 2.0, 3.0]))
    assert ops.zeros_like(inputs, "int32").dtype == "int32"
    model = nk.Model(inputs, outputs)
    np.testing.assert_allclose(model.predict(np.zeros((2, 3), np.float32), verbose=0),
                               [[1.0, 2.0, 3.0]] * 2)
    with pytest.raises(ValueError, match=r"full_like: fill_value of shape \(2,\) cannot be "
                                         r"broadcast to x's shape \(None, 3\)"):
        ops.full_like(inputs, [1.0, 2.0])
