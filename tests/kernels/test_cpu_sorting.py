"""The CPU sort's packed-key path (dtypes of 4 bytes or fewer) against numpy's stable
argsort: ties in order, -0.0 equal to 0.0, NaN of either sign last, every packable dtype."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbkeras.kernels.cpu.sorting import sort

PACKED = [np.float32, np.float16, np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32,
          np.bool_]
SPECIAL = np.array([np.nan, -np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-30, -1e-30, 1e30, -1e30,
                    1e-44, 3.0, -3.0])


def _draw(rng, shape, dtype) -> np.ndarray:
    """Many ties, and for floats the special values; for ints the dtype's extremes."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            return rng.choice(SPECIAL, shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    info = np.iinfo(dtype)
    return rng.choice(np.array([info.min, info.min + 1, 0, 1, info.max - 1, info.max], dtype),
                      shape)


@settings(max_examples=40, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40),
       dtype=st.sampled_from(PACKED), seed=st.integers(0, 2**32 - 1))
def test_packed_sort_is_numpys_stable_order(shape, dtype, seed):
    x = _draw(np.random.default_rng(seed), shape, dtype)
    values, indices = sort(x)
    want = np.argsort(x, axis=-1, kind="stable")
    np.testing.assert_array_equal(indices, want)
    assert values.dtype == x.dtype
    np.testing.assert_array_equal(values.view(f"u{x.itemsize}"),
                                  np.take_along_axis(x, want, -1).view(f"u{x.itemsize}"))


def test_empty_rows_and_wide_dtypes_take_numpys_sort():
    for x in (np.zeros((3, 0), np.float32), np.array([[3.0, np.nan, -1.0, 3.0]])):
        values, indices = sort(x)
        np.testing.assert_array_equal(indices, np.argsort(x, axis=-1, kind="stable"))
        assert values.shape == x.shape and values.dtype == x.dtype
