"""Keras's dtype promotion (nbkeras/core/dtype.py `result_type`) and the ops that follow it:
mixed-dtype binary ops, where, concatenate and matmul give the promoted dtype eagerly and
symbolically; Python numbers are weakly typed; clip, square and abs keep integers.

The expected dtypes are Keras 3.15's (measured with keras.ops on KerasTensors), except that
nbkeras keeps 64-bit results where Keras narrows them to 32 bits."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.core.dtype import result_type

from op_checks import tensor

DTYPES = ["bool", "uint8", "uint16", "uint32", "int8", "int16", "int32", "int64",
          "float16", "float32", "float64"]

# Keras 3.15: keras.backend.result_type(a, b) (64-bit results kept), and with Python numbers.
KERAS_PAIRS = [
    ("int64", "float32", "float32"), ("int32", "float16", "float16"),
    ("uint8", "int8", "int16"), ("uint16", "int16", "int32"), ("uint32", "int32", "int64"),
    ("uint64", "int64", "float32"), ("bool", "int8", "int8"), ("bool", "float16", "float16"),
    ("float16", "float32", "float32"), ("float32", "float64", "float64"),
    ("bool", int, "int32"), ("bool", float, "float32"), ("bool", bool, "bool"),
    ("int8", int, "int8"), ("uint8", int, "uint8"), ("int8", float, "float32"),
    ("int64", int, "int64"), ("float16", int, "float16"), ("float16", float, "float16"),
    ("float64", float, "float64"), (int, int, "int32"), (int, float, "float32"),
    (int, bool, "int32"), (float, bool, "float32"),
]


@pytest.mark.parametrize("a, b, expected", KERAS_PAIRS)
def test_result_type_is_keras(a, b, expected):
    assert result_type(a, b) == expected
    assert result_type(b, a) == expected


def test_result_type_of_weak_numbers_follows_floatx():
    assert result_type() == "float32"
    nk.config.set_floatx("float64")
    try:
        assert result_type(int, float) == "float64"
        assert result_type(int) == "int64"
        assert result_type("int8", float) == "float64"
    finally:
        nk.config.set_floatx("float32")


@given(st.lists(st.sampled_from(DTYPES + [int, float, bool]), min_size=1, max_size=4))
def test_result_type_is_order_free_and_a_least_upper_bound(dtypes):
    promoted = result_type(*dtypes)
    assert result_type(*reversed(dtypes)) == promoted
    assert result_type(promoted, *dtypes) == promoted          # an upper bound of them all
    strong = [d for d in dtypes if isinstance(d, str)]
    if strong and all(np.dtype(d).kind == "f" for d in strong):
        assert promoted == np.result_type(*strong).name       # floats: the widest float
    if strong and len({np.dtype(d).kind for d in strong}) == 1 and not any(
            d in (int, float) for d in dtypes):                # one kind: numpy agrees
        assert promoted == np.result_type(*strong).name


def _values(dtype, rng, shape=(2, 3)):
    """Fresh values of `dtype`, small enough for every dtype."""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    return rng.integers(0 if dtype.startswith("u") else -3, 4, shape).astype(dtype)


BINARY = {"add": np.add, "multiply": np.multiply, "maximum": np.maximum,
          "subtract": np.subtract}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(a=st.sampled_from(DTYPES), b=st.sampled_from(DTYPES), seed=st.integers(0, 2 ** 16))
def test_mixed_dtype_binary_ops_give_the_promoted_dtype(device, name, a, b, seed):
    if name == "subtract" and a == b == "bool":
        return                                    # numpy and Keras refuse bool - bool
    rng = np.random.default_rng(seed)
    x, y = _values(a, rng), _values(b, rng)
    op = getattr(ops, name)
    expected = result_type(a, b)
    symbolic = op(nk.KerasTensor(x.shape, dtype=a), nk.KerasTensor(y.shape, dtype=b))
    eager = op(tensor(x), tensor(y))
    assert symbolic.dtype == eager.dtype == expected
    reference = BINARY[name](x.astype("float64"), y.astype("float64")).astype(expected)
    np.testing.assert_array_equal(np.asarray(eager), reference)


# Keras 3.15 on a tensor of the first dtype and the Python number.
WEAK = [("float32", 2, "float32"), ("float16", 2.5, "float16"), ("int8", 2, "int8"),
        ("uint8", True, "uint8"), ("int8", 2.5, "float32"), ("bool", 2, "int32"),
        ("bool", 2.5, "float32"), ("bool", True, "bool"), ("int32", 2.5, "float32"),
        ("int64", 2, "int64"), ("float64", 2.5, "float64")]


@pytest.mark.parametrize("dtype, number, expected", WEAK)
def test_python_numbers_are_weakly_typed(device, dtype, number, expected):
    x = _values(dtype, np.random.default_rng(0))
    for y in (ops.multiply(x, number), ops.multiply(number, x), ops.add(tensor(x), number),
              ops.maximum(x, number), ops.where(x > 0, x, number), ops.where(x > 0, number, x),
              ops.multiply(nk.KerasTensor(x.shape, dtype=dtype), number)):
        assert y.dtype == expected
    np.testing.assert_array_equal(np.asarray(ops.multiply(x, number)),
                                  (x.astype("float64") * number).astype(expected))


def test_multiplying_a_mask_by_an_int_counts_instead_of_staying_bool(device):
    mask = np.array([True, False, True])
    np.testing.assert_array_equal(np.asarray(ops.multiply(mask, 2)), [2, 0, 2])


@pytest.mark.parametrize("a, b, expected", [(2, 3, "int32"), (2, 2.5, "float32"),
                                            (True, 2, "int32"), (0.5, 1.0, "float32")])
def test_where_between_two_numbers(device, a, b, expected):
    condition = np.array([True, False])
    y = ops.where(condition, a, b)
    assert y.dtype == expected
    np.testing.assert_array_equal(np.asarray(y), np.array([a, b], dtype=expected))


@given(a=st.sampled_from(DTYPES), b=st.sampled_from(DTYPES), seed=st.integers(0, 2 ** 16))
def test_concatenate_and_matmul_promote_like_the_elementwise_ops(device, a, b, seed):
    rng = np.random.default_rng(seed)
    x, y = _values(a, rng, (2, 2)), _values(b, rng, (2, 2))
    expected = result_type(a, b)
    joined = ops.concatenate([tensor(x), tensor(y)], axis=0)
    assert joined.dtype == expected
    np.testing.assert_array_equal(np.asarray(joined),
                                  np.concatenate([x, y]).astype(expected))
    if "bool" not in (a, b):
        product = ops.matmul(tensor(x), tensor(y))
        assert product.dtype == expected == ops.matmul(
            nk.KerasTensor((2, 2), dtype=a), nk.KerasTensor((2, 2), dtype=b)).dtype
        np.testing.assert_array_equal(np.asarray(product),
                                      (x.astype("float64") @ y.astype("float64")).astype(expected))


@given(dtype=st.sampled_from(["int8", "uint8", "int32", "int64"]),
       low=st.floats(-300, 300), width=st.floats(0, 600), seed=st.integers(0, 2 ** 16))
def test_clip_keeps_integer_dtypes_with_the_bounds_rounded_inward(device, dtype, low, width,
                                                                  seed):
    info = np.iinfo(dtype)
    x = np.random.default_rng(seed).integers(max(info.min, -400), min(info.max, 400), 20,
                                             dtype=dtype, endpoint=True)
    y = ops.clip(x, low, low + width)
    assert y.dtype == dtype == ops.clip(nk.KerasTensor(x.shape, dtype=dtype), low, 1).dtype
    inward = np.clip([np.ceil(low), np.floor(low + width)], info.min, info.max)
    expected = np.minimum(np.maximum(x, inward[0]), inward[1])       # numpy's clip order
    np.testing.assert_array_equal(np.asarray(y), expected.astype(dtype))


def test_clip_of_bools_is_int32(device):
    y = ops.clip(np.array([True, False]), 0, 1)
    assert y.dtype == "int32"
    np.testing.assert_array_equal(np.asarray(y), [1, 0])


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64"])
def test_square_abs_negative_keep_integer_dtypes(device, dtype):
    x = _values(dtype, np.random.default_rng(1), (7,))
    for op, reference in ((ops.square, np.square), (ops.abs, np.abs),
                          (ops.negative, np.negative)):
        y = op(tensor(x))
        assert y.dtype == dtype == op(nk.KerasTensor(x.shape, dtype=dtype)).dtype
        np.testing.assert_array_equal(np.asarray(y), reference(x))


def test_square_of_bools_counts_and_abs_keeps_them_and_negative_refuses_them(device):
    mask = np.array([True, False])
    squared = ops.square(mask)
    assert squared.dtype == "int32"
    np.testing.assert_array_equal(np.asarray(squared), [1, 0])
    assert ops.abs(mask).dtype == "bool"
    with pytest.raises(TypeError, match=r"negative: x must be a numeric tensor.*\(2,\)"):
        ops.negative(mask)


def test_python_ints_become_int32_unless_they_need_more():
    assert ops.convert_to_tensor(1).dtype == "int32"
    assert ops.convert_to_tensor([1, 2]).dtype == "int32"
    assert ops.convert_to_tensor([1, 2 ** 40]).dtype == "int64"
    assert ops.convert_to_tensor(np.array([1, 2])).dtype == "int64"    # arrays keep theirs
    assert ops.convert_to_tensor(1.5).dtype == "float32"


def test_numpy_scalars_are_weak_where_they_meet_a_tensor_and_keep_their_dtype_elsewhere():
    x = np.ones(3, "float32")
    assert ops.multiply(x, np.float64(2)).dtype == "float32"      # as Keras writes x * scale
    assert ops.multiply(np.float64(2), np.float64(3)).dtype == "float64"
    assert ops.add(2.5, np.float64(1)).dtype == "float64"
    assert ops.add(np.int8(1), 2).dtype == "int8"
