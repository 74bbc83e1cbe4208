"""kernels/cpu/pooling.py's per-image row kernels, which the convolution's bodies call (inner
kernels: reached here through compiled callers): `max_pool_rows` is max pooling and
`max_pool_rows_backward` its VJP, for overlapping windows, windows that tile the image and
windows with gaps between them, whatever the output array held before."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import reference_pooling as ref
from nbkeras.kernels.cpu import pooling


@njit
def _pool_image(x, in_sp, pk, ps, pooled_sp, y):
    pooling.max_pool_rows(x, 0, in_sp, pk, ps, pooled_sp, y, 0)


@njit
def _pool_image_backward(dy, y, x, in_sp, pk, ps, pooled_sp, dx):
    unspent = np.empty(x.shape[1], x.dtype)
    pooling.max_pool_rows_backward(dy, y, 0, x, 0, in_sp, pk, ps, pooled_sp, dx, 0, unspent)


@st.composite
def _pooled_images(draw):
    """(x (1, *spatial, F), size, strides), the windows inside the image: strides below the
    size (overlapping), equal to it (disjoint; tiling the image when they fit it exactly) or
    above it (gaps between the windows)."""
    rank = draw(st.integers(1, 3))
    size = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    kind = draw(st.sampled_from(["overlapping", "disjoint", "gapped"]))
    strides = tuple({"overlapping": draw(st.integers(1, k)), "disjoint": k,
                     "gapped": k + draw(st.integers(1, 2))}[kind] for k in size)
    counts = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    extra = tuple(draw(st.sampled_from([0, 0, 1])) for _ in range(rank))  # cells after the last
    spatial = tuple((n - 1) * s + k + e for n, s, k, e in zip(counts, strides, size, extra))
    channels = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31 - 1))
    x = np.random.default_rng(seed).standard_normal((1, *spatial, channels))
    return x, size, strides


def _lift(values, fill):
    return tuple(values) + (fill,) * (3 - len(values))


@settings(max_examples=60, deadline=None)
@given(case=_pooled_images(), dtype=st.sampled_from([np.float32, np.float64]))
def test_pool_rows_and_their_gradient_match_the_reference(case, dtype):
    x, size, strides = case
    x = x.astype(dtype)
    expected = ref.pool(x, size, strides, "valid", "max")
    channels = x.shape[-1]
    in_sp, pooled_sp = _lift(x.shape[1:-1], 1), _lift(expected.shape[1:-1], 1)
    pk, ps = _lift(size, 1), _lift(strides, 1)
    x2 = np.ascontiguousarray(x.reshape(-1, channels))
    y2 = np.full((int(np.prod(pooled_sp)), channels), np.nan, dtype)
    _pool_image(x2, in_sp, pk, ps, pooled_sp, y2)
    np.testing.assert_array_equal(y2.reshape(expected.shape), expected.astype(dtype))
    dy = np.random.default_rng(1).standard_normal(expected.shape)
    dx2 = np.full_like(x2, np.nan)                  # what the scratch held before
    _pool_image_backward(np.ascontiguousarray(dy.reshape(-1, channels), dtype), y2, x2, in_sp,
                         pk, ps, pooled_sp, dx2)
    np.testing.assert_allclose(dx2.reshape(x.shape), ref.pool_grad(x, dy.astype(dtype), size,
                                                                   strides, "valid", "max"),
                               rtol=1e-6, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(case=_pooled_images(), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**31 - 1))
def test_a_nan_in_a_window_makes_its_pooled_maximum_nan(case, dtype, seed):
    """Every way the kernel takes a maximum (the first two lines and cells out of place, the
    later ones into the stored value) keeps a NaN, wherever in the window it lies."""
    x, size, strides = case
    x = x.astype(dtype)
    x[np.random.default_rng(seed).random(x.shape) < 0.15] = np.nan
    expected = ref.max_pool_nan(x, size, strides, "valid")
    channels = x.shape[-1]
    in_sp, pooled_sp = _lift(x.shape[1:-1], 1), _lift(expected.shape[1:-1], 1)
    y2 = np.zeros((int(np.prod(pooled_sp)), channels), dtype)
    _pool_image(np.ascontiguousarray(x.reshape(-1, channels)), in_sp, _lift(size, 1),
                _lift(strides, 1), pooled_sp, y2)
    np.testing.assert_array_equal(y2.reshape(expected.shape), expected.astype(dtype))
