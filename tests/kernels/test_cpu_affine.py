"""The CPU affine image resampler gives scipy.ndimage.affine_transform's numbers bit for bit
(what Keras's ImageDataGenerator calls per channel), for both orders and every fill mode, on
Hypothesis-drawn images and matrices that reach past every edge (one-pixel axes, coordinates
several periods away, half-integer coordinates); flips mirror the output and unmoved images
are copied."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.api import AFFINE_FILL_MODES
from nbkeras.kernels.cpu.affine import affine_transform_images

ndimage = pytest.importorskip("scipy.ndimage")


def _scipy(x, matrices, order, mode, cval):
    """The reference: scipy on each channel of each image, as Keras's apply_affine_transform."""
    out = np.empty_like(x)
    for b in range(x.shape[0]):
        for c in range(x.shape[-1]):
            out[b, :, :, c] = ndimage.affine_transform(
                x[b, :, :, c], matrices[b, :, :2], matrices[b, :, 2], order=order, mode=mode,
                cval=cval)
    return out


@settings(max_examples=60)
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9),
                       st.integers(1, 3)),
       order=st.sampled_from([0, 1]), mode=st.sampled_from(AFFINE_FILL_MODES),
       reach=st.sampled_from([1.0, 4.0, 30.0]), halves=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1))
def test_matches_scipy_bit_for_bit(shape, order, mode, reach, halves, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    matrices = rng.uniform(-2, 2, (shape[0], 2, 3))
    matrices[:, :, 2] *= reach
    if halves:                      # coordinates on cell edges and half-cells
        matrices = np.round(matrices * 2) / 2
    moved, flips = np.ones(shape[0], bool), np.zeros((shape[0], 2), bool)
    got = affine_transform_images(x, matrices, moved, flips, order, mode, 0.7)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, _scipy(x, matrices, order, mode, 0.7))


def test_flips_mirror_the_transformed_image_and_unmoved_images_are_copied():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5, 6, 2)).astype(np.float32)
    matrices = rng.uniform(-1, 1, (4, 2, 3))
    moved = np.array([True, True, False, False])
    flips = np.array([[True, False], [False, True], [True, True], [False, False]])
    got = affine_transform_images(x, matrices, moved, flips, 1, "nearest", 0.0)
    transformed = _scipy(x, matrices, 1, "nearest", 0.0)
    np.testing.assert_array_equal(got[0], transformed[0, ::-1])
    np.testing.assert_array_equal(got[1], transformed[1, :, ::-1])
    np.testing.assert_array_equal(got[2], x[2, ::-1, ::-1])
    np.testing.assert_array_equal(got[3], x[3])


@pytest.mark.parametrize("mode", AFFINE_FILL_MODES)
def test_a_batch_split_over_threads_matches_scipy(mode):
    """A batch large enough to run in one chunk of rows per thread, with flipped rows and
    columns and an unmoved image among the moved ones."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 41, 53, 3)).astype(np.float32)
    matrices = rng.uniform(-1.2, 1.2, (5, 2, 3))
    matrices[:, :, 2] *= 20
    moved = np.array([True, True, False, True, True])
    flips = rng.random((5, 2)) < 0.5
    got = affine_transform_images(x, matrices, moved, flips, 1, mode, -0.5)
    want = np.where(moved[:, None, None, None], _scipy(x, matrices, 1, mode, -0.5), x)
    for b in range(5):
        if flips[b, 0]:
            want[b] = want[b, ::-1]
        if flips[b, 1]:
            want[b] = want[b, :, ::-1]
    np.testing.assert_array_equal(got, want)
