"""nbkeras/ops/image.py (keras.ops.image): the resamplers against scipy.ndimage (JAX's fill
modes are scipy's grid-constant, nearest, grid-wrap, mirror, reflect) in float64, the filters
against a plain "same"/"valid" cross-correlation, colours against colorsys, crops, pads,
patches and SSIM against numpy; symbolic shapes equal eager ones; gradients checked with
sample coordinates kept off the integer grid lines (bilinear kinks), the sampling op's on
every device, the compositions' on the CPU."""
from __future__ import annotations

import colorsys

import numpy as np
import pytest
import scipy.ndimage as ndimage
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.testing import check_grads

from op_checks import assert_matches, check_composed_grads

SCIPY_MODES = {"constant": "grid-constant", "nearest": "nearest", "wrap": "grid-wrap",
               "mirror": "mirror", "reflect": "reflect"}
modes = st.sampled_from(sorted(SCIPY_MODES))
seeds = st.integers(0, 2**32 - 1)
image = ops.image


def _off_grid(rng, shape, low, high):
    """Coordinates in [low, high) at least 0.1 away from every integer."""
    return rng.integers(low, high, shape) + rng.uniform(0.1, 0.9, shape)


def _sample_reference(x, coordinates, order, mode, fill_value):
    """x (H, W, C) at coordinates (2, *points) by scipy, channel by channel."""
    return np.stack([ndimage.map_coordinates(x[..., c], coordinates, order=order,
                                             mode=SCIPY_MODES[mode], cval=fill_value)
                     for c in range(x.shape[-1])], axis=-1)


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), points=st.integers(1, 5),
       order=st.sampled_from([0, 1]), mode=modes, seed=seeds)
def test_map_coordinates(device, shape, points, order, mode, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    coordinates = _off_grid(rng, (len(shape), 2, points), -3, max(shape) + 3)
    expected = ndimage.map_coordinates(x, coordinates, order=order, mode=SCIPY_MODES[mode],
                                       cval=0.25)
    y = image.map_coordinates(x, coordinates, order, mode, 0.25)
    assert_matches(y, expected)
    if order == 1:
        check_grads(lambda a, c: image.map_coordinates(a, c, 1, mode, 0.25), [x, coordinates])


def test_map_coordinates_dtypes_and_errors():
    x = np.arange(12, dtype="int32").reshape(3, 4)
    coordinates = [np.array([0.5, 1.5]), np.array([1.5, 2.5])]
    y = image.map_coordinates(x, coordinates, 1)
    assert y.dtype == "int32" and np.asarray(y).tolist() == [4, 9]   # 3.5, 8.5 away from 0
    assert image.map_coordinates(x.astype("float32"), coordinates, 0).dtype == "float32"
    with pytest.raises(ValueError, match="map_coordinates.*rank of inputs"):
        image.map_coordinates(x, np.zeros((3, 2)), 1)
    with pytest.raises(ValueError, match="map_coordinates.*fill_mode"):
        image.map_coordinates(x, np.zeros((2, 2)), 1, "grid-wrap")
    with pytest.raises(ValueError, match="map_coordinates.*order"):
        image.map_coordinates(x, np.zeros((2, 2)), 3)


def _projective_reference(images, transforms, order, mode, fill_value):
    """Output (x, y) reads input ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)."""
    n, height, width, _ = images.shape
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    out = []
    for x, (a0, a1, a2, b0, b1, b2, c0, c1) in zip(images, np.broadcast_to(transforms, (n, 8))):
        k = c0 * cols + c1 * rows + 1
        coordinates = np.stack([(b0 * cols + b1 * rows + b2) / k, (a0 * cols + a1 * rows + a2) / k])
        out.append(_sample_reference(x, coordinates, order, mode, fill_value))
    return np.stack(out)


@given(n=st.integers(1, 2), height=st.integers(1, 4), width=st.integers(1, 4),
       channels=st.integers(1, 2), interpolation=st.sampled_from(["nearest", "bilinear"]),
       mode=modes, batched=st.booleans(), seed=seeds)
def test_affine_transform(device, n, height, width, channels, interpolation, mode, batched,
                          seed):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((n, height, width, channels))
    transform = np.concatenate([rng.uniform(0.6, 1.4, (n, 1)), rng.uniform(-0.3, 0.3, (n, 1)),
                                rng.uniform(-2, 2, (n, 1)), rng.uniform(-0.3, 0.3, (n, 1)),
                                rng.uniform(0.6, 1.4, (n, 1)), rng.uniform(-2, 2, (n, 1)),
                                rng.uniform(-0.02, 0.02, (n, 2))], axis=1)
    transform = transform if batched else transform[0]
    order = {"nearest": 0, "bilinear": 1}[interpolation]
    expected = _projective_reference(images, transform, order, mode, 0.5)
    assert_matches(image.affine_transform(images, transform, interpolation, mode, 0.5), expected)
    channels_first = image.affine_transform(images.transpose(0, 3, 1, 2), transform,
                                            interpolation, mode, 0.5, "channels_first")
    assert_matches(channels_first, expected.transpose(0, 3, 1, 2))
    if not batched:
        assert_matches(image.affine_transform(images[0], transform, interpolation, mode, 0.5),
                       expected[0])
    symbolic = image.affine_transform(nk.KerasTensor((None, height, width, channels), "float64"),
                                      transform, interpolation, mode)
    assert symbolic.shape == (None, height, width, channels)


def test_affine_transform_gradients(device):
    """Images and transform, with every sample point off the grid lines."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((2, 3, 4, 2))
    transform = np.array([[1.0, 0.0, 0.37, 0.0, 1.0, -0.41, 0.0, 0.0],
                          [0.9, 0.05, 0.23, -0.02, 1.1, 0.31, 0.001, 0.002]])
    check_composed_grads(lambda x, t: image.affine_transform(x, t, fill_mode="reflect"),
                       [images, transform])


def test_affine_transform_integer_images_and_errors():
    images = np.arange(24, dtype="uint8").reshape(1, 4, 6, 1)
    shift = np.array([1.0, 0, 0.5, 0, 1, 0, 0, 0])
    y = image.affine_transform(images, shift, fill_mode="nearest")
    assert y.dtype == "uint8"
    expected = np.floor(_projective_reference(images.astype(float), shift, 1, "nearest", 0) + 0.5)
    np.testing.assert_array_equal(np.asarray(y), expected)
    with pytest.raises(ValueError, match="affine_transform.*interpolation"):
        image.affine_transform(images, shift, "bicubic")
    with pytest.raises(ValueError, match="affine_transform.*transform"):
        image.affine_transform(images, np.zeros(6))
    with pytest.raises(ValueError, match="affine_transform.*images"):
        image.affine_transform(np.zeros((4, 6)), shift)


def test_perspective_transform(device):
    rng = np.random.default_rng(1)
    images = rng.standard_normal((2, 5, 6, 2))
    start = np.array([[0, 0], [5, 0], [0, 4], [5, 4]], float)
    end = start + rng.uniform(-0.6, 0.6, (2, 4, 2))
    starts = np.broadcast_to(start, end.shape)
    transforms = []
    for s, e in zip(starts, end):
        rows = [[ex, ey, 1, 0, 0, 0, -sx * ex, -sx * ey] for (sx, _), (ex, ey) in zip(s, e)]
        rows += [[0, 0, 0, ex, ey, 1, -sy * ex, -sy * ey] for (_, sy), (ex, ey) in zip(s, e)]
        transforms.append(np.linalg.solve(np.array(rows), np.concatenate([s[:, 0], s[:, 1]])))
    expected = _projective_reference(images, np.array(transforms), 1, "constant", 0.0)
    assert_matches(image.perspective_transform(images, starts, end), expected, rtol=1e-9)
    assert image.perspective_transform(nk.KerasTensor((None, 5, 6, 2), "float64"), start,
                                       start).shape == (None, 5, 6, 2)
    with pytest.raises(ValueError, match="perspective_transform.*start_points"):
        image.perspective_transform(images, start[:3], end[0, :3])


def _correlate(x, taps, padding):
    """Plain cross-correlation of each (N, H, W) channel plane with taps (kh, kw), zero
    padding split as "same" splits it (the extra cell after)."""
    kh, kw = taps.shape
    if padding == "same":
        pads = ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0))
        x = np.pad(x, pads)
    n, h, w, c = x.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, c))
    for i in range(kh):
        for j in range(kw):
            out += taps[i, j] * x[:, i:i + out.shape[1], j:j + out.shape[2]]
    return out


def _gaussian(size, sigma):
    weights = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    return weights / weights.sum()


@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 5),
                       st.integers(1, 2)),
       kernel_size=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       sigma=st.tuples(st.floats(0.5, 2.0), st.floats(0.5, 2.0)), seed=seeds)
def test_gaussian_blur(device, shape, kernel_size, sigma, seed):
    images = np.random.default_rng(seed).standard_normal(shape)
    taps = np.outer(_gaussian(kernel_size[1], sigma[1]), _gaussian(kernel_size[0], sigma[0]))
    expected = _correlate(images, taps, "same")
    assert_matches(image.gaussian_blur(images, kernel_size, sigma), expected)
    assert_matches(image.gaussian_blur(images[0].transpose(2, 0, 1), kernel_size, sigma,
                                       "channels_first"), expected[0].transpose(2, 0, 1))
    check_composed_grads(lambda x: image.gaussian_blur(x, kernel_size, sigma), [images])
    assert image.gaussian_blur(nk.KerasTensor((None, *shape[1:]), "float64")).shape == (None, *shape[1:])


def test_sobel_edges(device):
    images = np.random.default_rng(2).standard_normal((2, 4, 5, 2))
    sobel_y = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float)
    expected = np.stack([_correlate(images, sobel_y, "same"),
                         _correlate(images, sobel_y.T, "same")], axis=-1)
    assert_matches(image.sobel_edges(images), expected)
    assert_matches(image.sobel_edges(images.transpose(0, 3, 1, 2), "channels_first"),
                   expected.transpose(0, 3, 1, 2, 4))
    check_composed_grads(image.sobel_edges, [images])
    assert image.sobel_edges(nk.KerasTensor((None, 4, 5, 2), "float64")).shape == (None, 4, 5, 2, 2)
    with pytest.raises(ValueError, match="sobel_edges.*rank 4"):
        image.sobel_edges(images[0])


def test_rgb_to_grayscale(device):
    images = np.random.default_rng(3).uniform(size=(2, 3, 4, 3))
    expected = images @ np.array([0.2989, 0.5870, 0.1140])
    assert_matches(image.rgb_to_grayscale(images), expected[..., None])
    assert_matches(image.rgb_to_grayscale(images.transpose(0, 3, 1, 2), "channels_first"),
                   expected[:, None])
    integers = (images * 255).astype("uint8")
    y = image.rgb_to_grayscale(integers)
    assert y.dtype == "uint8"
    np.testing.assert_array_equal(np.asarray(y)[..., 0],
                                  (integers @ np.array([0.2989, 0.5870, 0.1140])).astype("uint8"))
    check_composed_grads(image.rgb_to_grayscale, [images])
    with pytest.raises(ValueError, match="rgb_to_grayscale.*channels"):
        image.rgb_to_grayscale(np.zeros((2, 3, 4, 2)))


def _distinct_rgb(rng, shape):
    """Colours in (0.05, 0.95) whose channels differ by >= 0.05 (off max/min ties)."""
    base = rng.permuted(np.tile([0.1, 0.5, 0.85], (int(np.prod(shape)), 1)), axis=1)
    return (base + rng.uniform(-0.04, 0.04, base.shape)).reshape(*shape, 3)


def test_rgb_to_hsv_and_back(device):
    rng = np.random.default_rng(4)
    rgb = _distinct_rgb(rng, (2, 3, 2))
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in rgb.reshape(-1, 3)]).reshape(rgb.shape)
    assert_matches(image.rgb_to_hsv(rgb), hsv)
    assert_matches(image.hsv_to_rgb(hsv), rgb)
    assert_matches(image.rgb_to_hsv(rgb[0].transpose(2, 0, 1), "channels_first"),
                   hsv[0].transpose(2, 0, 1))
    grey = np.full((1, 1, 1, 3), 0.4)
    assert_matches(image.rgb_to_hsv(grey), [[[[0.0, 0.0, 0.4]]]])
    check_composed_grads(image.rgb_to_hsv, [rgb])
    hsv_off_kinks = np.concatenate([(rng.integers(0, 6, (2, 3, 1)) + rng.uniform(0.1, 0.9, (2, 3, 1))) / 6,
                                    rng.uniform(0.1, 0.9, (2, 3, 2))], axis=-1)
    check_composed_grads(image.hsv_to_rgb, [hsv_off_kinks])
    with pytest.raises(ValueError, match="rgb_to_hsv.*float"):
        image.rgb_to_hsv(np.zeros((2, 2, 3), "uint8"))


@given(n=st.integers(1, 2), height=st.integers(2, 5), width=st.integers(2, 5),
       top=st.integers(0, 1), left=st.integers(0, 1), seed=seeds)
def test_crop_and_pad_images(device, n, height, width, top, left, seed):
    images = np.random.default_rng(seed).standard_normal((n, height, width, 2))
    cropped = image.crop_images(images, top, left, target_height=height - top - 1,
                                target_width=width - left)
    assert_matches(cropped, images[:, top:height - 1, left:])
    padded = image.pad_images(images, top, left, bottom_padding=2, target_width=width + left + 1)
    assert_matches(padded, np.pad(images, ((0, 0), (top, 2), (left, 1), (0, 0))))
    assert_matches(image.pad_images(images[0].transpose(2, 0, 1), 1, 0, 0, 2,
                                    data_format="channels_first"),
                   np.pad(images[0].transpose(2, 0, 1), ((0, 0), (1, 0), (0, 2))))
    check_composed_grads(lambda x: image.crop_images(x, 1, 0, 0, 1), [images])
    symbolic = image.crop_images(nk.KerasTensor((None, height, width, 2), "float64"), top, left,
                                 target_height=1, target_width=1)
    assert symbolic.shape == (None, 1, 1, 2)


def test_crop_and_pad_errors():
    images = np.zeros((3, 4, 1))
    with pytest.raises(ValueError, match="crop_images.*exactly two"):
        image.crop_images(images, 1, 1, 1, 1, target_height=1, target_width=1)
    with pytest.raises(ValueError, match="pad_images.*left_padding must be >= 0"):
        image.pad_images(images, 1, -1, 0, 0)
    with pytest.raises(ValueError, match="pad_images.*smaller"):
        image.pad_images(images, 1, 1, target_height=2, target_width=6)
    with pytest.raises(ValueError, match="crop_images.*does not fit"):
        image.crop_images(images, 2, 0, 2, 0)


def _patches_reference(x, size, strides, dilation):
    """x (N, *spatial, C) -> (N, *windows, prod(size) * C), valid windows."""
    spatial = x.shape[1:-1]
    counts = [(n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(spatial, size, strides, dilation)]
    out = np.zeros((x.shape[0], *counts, int(np.prod(size)) * x.shape[-1]))
    for window in np.ndindex(*counts):
        cells = [np.arange(k) * d + w * s for k, d, w, s in zip(size, dilation, window, strides)]
        block = x[(slice(None), *np.ix_(*cells))] if len(size) == 2 else \
            x[:, cells[0][:, None, None], cells[1][None, :, None], cells[2][None, None, :]]
        out[(slice(None), *window)] = block.reshape(x.shape[0], -1)
    return out


@given(size=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       strides=st.tuples(st.integers(1, 2), st.integers(1, 2)), dilation=st.integers(1, 2),
       seed=seeds)
def test_extract_patches(device, size, strides, dilation, seed):
    images = np.random.default_rng(seed).standard_normal((1, 6, 5, 2))
    dilation = dilation if strides == (1, 1) else 1   # Keras: strides or dilation, not both
    y = image.extract_patches(images, size, strides, dilation)
    assert_matches(y, _patches_reference(images, size, strides, (dilation,) * 2))
    assert image.extract_patches(images[0], 2).shape == (3, 2, 8)
    symbolic = image.extract_patches(nk.KerasTensor((None, 6, 5, 2), "float64"), size, strides,
                                     dilation)
    assert symbolic.shape == (None, *y.shape[1:])


def test_extract_patches_3d(device):
    volumes = np.random.default_rng(5).standard_normal((1, 4, 3, 4, 2))
    assert_matches(image.extract_patches_3d(volumes, (2, 1, 2), (1, 2, 2)),
                   _patches_reference(volumes, (2, 1, 2), (1, 2, 2), (1, 1, 1)))
    assert_matches(image.extract_patches(volumes[0], (2, 2, 2)),
                   _patches_reference(volumes, (2, 2, 2), (2, 2, 2), (1, 1, 1))[0])
    check_composed_grads(lambda v: image.extract_patches_3d(v, 2), [volumes])


def _ssim_reference(x, y, max_val, size, sigma, k1, k2):
    window = _gaussian(size, sigma)
    taps = np.outer(window, window)

    def mean(z):
        return _correlate(z, taps, "valid")
    mx, my = mean(x), mean(y)
    vx, vy, cov = mean(x * x) - mx ** 2, mean(y * y) - my ** 2, mean(x * y) - mx * my
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    index = (2 * mx * my + c1) * (2 * cov + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return index.mean(axis=(1, 2, 3))


def test_ssim(device):
    rng = np.random.default_rng(6)
    x = rng.uniform(size=(2, 6, 7, 2))
    y = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1)
    expected = _ssim_reference(x, y, 1.0, 3, 0.8, 0.01, 0.03)
    assert_matches(image.ssim(x, y, filter_size=3, filter_sigma=0.8), expected)
    assert_matches(image.ssim(x[0], y[0], 2.0, 5, 1.5, 0.02, 0.05),
                   _ssim_reference(x[:1], y[:1], 2.0, 5, 1.5, 0.02, 0.05)[0])
    assert_matches(image.ssim(x.transpose(0, 3, 1, 2), y.transpose(0, 3, 1, 2), filter_size=3,
                              filter_sigma=0.8, data_format="channels_first"), expected)
    check_composed_grads(lambda a, b: image.ssim(a, b, filter_size=3), [x, y])
    assert image.ssim(nk.KerasTensor((None, 6, 7, 2), "float64"), nk.KerasTensor((None, 6, 7, 2), "float64"),
                      filter_size=3).shape == (None,)


def test_elastic_transform(device):
    images = np.random.default_rng(7).standard_normal((2, 5, 6, 2)).astype("float32")
    y = image.elastic_transform(images, alpha=2.0, sigma=1.0, seed=3)
    assert y.dtype == "float32" and y.shape == images.shape
    np.testing.assert_array_equal(np.asarray(image.elastic_transform(images, 2.0, 1.0, seed=3)),
                                  np.asarray(y))
    assert not np.allclose(np.asarray(y), images)
    still = image.elastic_transform(images, alpha=0.0, sigma=1.0, seed=3)   # no displacement
    np.testing.assert_allclose(np.asarray(still), images, rtol=1e-6, atol=1e-6)
    generator = nk.random.SeedGenerator(1)
    first = image.elastic_transform(images, 2.0, 1.0, seed=generator)
    assert not np.allclose(np.asarray(first),
                           np.asarray(image.elastic_transform(images, 2.0, 1.0, seed=generator)))
    with pytest.raises(TypeError, match="elastic_transform.*symbolic"):
        image.elastic_transform(nk.KerasTensor((None, 5, 6, 2), "float64"))


def test_namespace_and_resize():
    assert sorted(image.__all__) == sorted(
        ["affine_transform", "crop_images", "elastic_transform", "extract_patches",
         "extract_patches_3d", "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images",
         "perspective_transform", "resize", "rgb_to_grayscale", "rgb_to_hsv",
         "scale_and_translate", "sobel_edges", "ssim"])
    assert all(getattr(ops, name) is getattr(image, name) for name in image.__all__)


RESIZE_IMAGE = (np.arange(20.0).reshape(1, 4, 5, 1) ** 1.5) / 10
KERAS_RESIZED = {   # keras.ops.image.resize(RESIZE_IMAGE float32, size, method, antialias), JAX
    ("bicubic", True, (2, 3)): [[0.757307, 1.220235, 1.790433], [4.435631, 5.335049, 6.284436]],
    ("lanczos3", False, (3, 7)): [
        [0.061949, 0.118783, 0.247100, 0.394639, 0.553543, 0.807676, 0.960597],
        [1.897987, 2.119696, 2.513616, 2.821163, 3.134835, 3.576950, 3.834034],
        [5.533537, 5.827465, 6.347734, 6.748575, 7.154304, 7.716444, 8.041455]],
    ("bilinear", True, (2, 2)): [[1.212162, 1.874298], [4.524363, 5.612366]],
}


@pytest.mark.parametrize("method, antialias, size", sorted(KERAS_RESIZED))
def test_resize_matches_values_recorded_from_keras(device, method, antialias, size):
    got = image.resize(RESIZE_IMAGE.astype(np.float32), size, method, antialias)
    np.testing.assert_allclose(np.asarray(got)[0, ..., 0], KERAS_RESIZED[method, antialias, size],
                               rtol=1e-5, atol=1e-5)


@given(rows=st.integers(1, 6), columns=st.integers(1, 6), height=st.integers(1, 9),
       width=st.integers(1, 9), seed=st.integers(0, 2**32 - 1))
def test_resize_nearest_takes_the_cell_under_each_output_centre(device, rows, columns, height,
                                                                width, seed):
    x = np.random.default_rng(seed).standard_normal((2, rows, columns, 3))
    pick_rows = [int((i + 0.5) * rows / height) for i in range(height)]
    pick_columns = [int((j + 0.5) * columns / width) for j in range(width)]
    expected = x[:, pick_rows][:, :, pick_columns]
    assert_matches(image.resize(x, (height, width), "nearest"), expected)


@pytest.mark.parametrize("crop, pad", [(True, False), (False, True)])
def test_resize_to_the_aspect_ratio_crops_or_pads_the_centre(device, crop, pad):
    x = np.random.default_rng(4).standard_normal((6, 4, 2))        # one (H, W, C) image
    resized = image.resize(x, (2, 4), "nearest", crop_to_aspect_ratio=crop,
                           pad_to_aspect_ratio=pad, fill_value=7.0)
    if crop:      # target 1:2 -> the centre 2 x 4 rows, then every row and column
        expected = x[2:4]
    else:         # padded to 6 x 12 (4 columns of 7 on each side), then every third column
        padded = np.pad(x, ((0, 0), (4, 4), (0, 0)), constant_values=7.0)
        expected = padded[[1, 4]][:, [1, 4, 7, 10]]
    assert_matches(resized, expected)
    with pytest.raises(ValueError, match="resize: only one of crop_to_aspect_ratio"):
        image.resize(x, (2, 4), crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
