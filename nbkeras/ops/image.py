"""keras.ops.image: resampling (affine_transform, perspective_transform, map_coordinates,
elastic_transform) over the `sample_forward` kernels, and the rest composed from other ops
(crops and pads, colour conversions, depthwise-convolution filters, patches, SSIM).

Images are (N, H, W, C) or one (H, W, C) (channels_first: channels before the spatial axes);
data_format None means `nk.config.image_data_format()`. Resampling follows
`jax.scipy.ndimage.map_coordinates` (order 0 or 1; fill modes constant, nearest, wrap,
mirror, reflect; "constant" blends each off-grid tap as fill_value). Integer images are
resampled in floatx and rounded (halves away from zero) back to their dtype.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import config
from .. import ops
from ..core.dtype import is_float
from ..core.keras_tensor import KerasTensor
from ..core.spec import Spec
from ..kernels.api import SAMPLING_FILL_MODES
from .composite import composite
from .op import Op
from .resize import resize as _resize_layer_op

__all__ = ["affine_transform", "crop_images", "elastic_transform", "extract_patches",
           "extract_patches_3d", "gaussian_blur", "hsv_to_rgb", "map_coordinates",
           "pad_images", "perspective_transform", "resize", "rgb_to_grayscale", "rgb_to_hsv",
           "scale_and_translate", "sobel_edges", "ssim"]

_ORDERS = {"nearest": 0, "bilinear": 1}
_GRAY = (0.2989, 0.5870, 0.1140)


@dataclass(frozen=True)
class Sample(Op):
    """x (B, *spatial (d axes), C), coordinates (B, M, d) -> (B, M, C): x interpolated (order
    0 nearest, 1 linear) at each point; gradients for x and for the coordinates (zero for
    order 0, as JAX's)."""

    order: int
    mode: str
    fill_value: float

    def output_spec(self, x: Spec, coordinates: Spec) -> Spec:
        if coordinates.ndim != 3 or x.ndim != coordinates.shape[-1] + 2:
            raise ValueError(f"sample: x (B, *spatial, C) needs coordinates (B, M, rank of "
                             f"spatial); received x.shape={x.shape}, coordinates.shape="
                             f"{coordinates.shape}")
        if None not in (x.shape[0], coordinates.shape[0]) and x.shape[0] != coordinates.shape[0]:
            raise ValueError(f"sample: x and coordinates need one batch size; received "
                             f"x.shape={x.shape}, coordinates.shape={coordinates.shape}")
        return Spec((x.shape[0], coordinates.shape[1], x.shape[-1]), x.dtype)

    def forward(self, k, x, coordinates):
        y = k.sample_forward(x, coordinates, self.order, self.mode, self.fill_value)
        return y, (x, coordinates)

    def vjp(self, k, dy, residuals, needs):
        x, coordinates = residuals
        dx, dc = k.sample_backward(dy, x, coordinates, self.order, self.mode, self.fill_value,
                                   bool(needs[1]))
        if dc is not None and dc.dtype != coordinates.dtype:
            dc = k.cast(dc, coordinates.dtype)
        return (dx if needs[0] else None), dc


def _data_format(data_format) -> str:
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first'; received "
                         f"data_format={data_format!r}")
    return data_format


def _rank(who: str, images, ranks=(3, 4), name: str = "images") -> int:
    if len(images.shape) not in ranks:
        raise ValueError(f"{who}: {name} must have rank {' or '.join(map(str, ranks))} "
                         f"(a single image or a batch); received {name}.shape="
                         f"{tuple(images.shape)}")
    return len(images.shape)


def _choice(who: str, name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{who}: {name} must be one of {sorted(allowed)}; received "
                         f"{name}={value!r}")


def _as_tensor(x):
    return x if hasattr(x, "shape") and hasattr(x, "dtype") else ops.convert_to_tensor(x)


def _batched_channels_last(images, data_format: str, body):
    """body(x (N, H, W, C)) on images of rank 3 or 4 in either layout, back in theirs."""
    single = len(images.shape) == 3
    x = ops.expand_dims(images, 0) if single else images
    if data_format == "channels_first":
        x = ops.transpose(x, (0, 2, 3, 1))
    y = body(x)
    if data_format == "channels_first":
        y = ops.transpose(y, (0, 3, 1, 2))
    return ops.squeeze(y, 0) if single else y


def _round_back(y, dtype: str):
    """A float result in the input's dtype: integers rounded half away from zero."""
    if is_float(dtype):
        return y
    return ops.cast(ops.sign(y) * ops.floor(ops.abs(y) + 0.5), dtype)


def _sample(x, coordinates, order: int, mode: str, fill_value):
    """Sample of x (B, *spatial, C) at coordinates (B, M, d), integer x through floatx."""
    dtype = x.dtype
    if not is_float(dtype):
        x = ops.cast(x, config.floatx())
    coordinates = ops.cast(coordinates, x.dtype)
    return _round_back(Sample(order, mode, float(fill_value))(x, coordinates), dtype)


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """inputs (any rank d >= 1) at coordinates (d, *points) -> (*points,), in inputs' dtype:
    order 0 (nearest) or 1 (linear), off-grid cells by fill_mode. Differentiable in inputs
    and (order 1) in coordinates."""
    inputs = _as_tensor(inputs)
    if isinstance(coordinates, (list, tuple)):
        coordinates = ops.stack([_as_tensor(c) for c in coordinates])
    coordinates = _as_tensor(coordinates)
    rank = len(inputs.shape)
    if len(coordinates.shape) < 2:
        raise ValueError(f"map_coordinates: coordinates must have rank >= 2 (one row per "
                         f"axis of inputs, then the points); received coordinates.shape="
                         f"{tuple(coordinates.shape)}")
    if rank < 1 or coordinates.shape[0] != rank:
        raise ValueError(f"map_coordinates: the first axis of coordinates must equal the rank "
                         f"of inputs; received inputs.shape={tuple(inputs.shape)}, "
                         f"coordinates.shape={tuple(coordinates.shape)}")
    _choice("map_coordinates", "fill_mode", fill_mode, SAMPLING_FILL_MODES)
    _choice("map_coordinates", "order", order, (0, 1))
    points = tuple(coordinates.shape[1:])
    x = ops.reshape(inputs, (1, *inputs.shape, 1))
    c = ops.reshape(ops.moveaxis(coordinates, 0, -1), (1, -1, rank))
    return ops.reshape(_sample(x, c, order, fill_mode, fill_value), points)


def _projective(images, transform, order: int, fill_mode: str, fill_value):
    """images (N, H, W, C), transform (N or 1, 8) [a0, a1, a2, b0, b1, b2, c0, c1]: output
    (x, y) reads input (a0 x + a1 y + a2, b0 x + b1 y + b2) / (c0 x + c1 y + 1)."""
    n, height, width, channels = images.shape
    dtype = images.dtype if is_float(images.dtype) else config.floatx()
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    ys, xs = (ops.convert_to_tensor(a.reshape(1, -1).astype(dtype)) for a in (rows, cols))
    t = ops.cast(transform, dtype)

    def column(i):
        return t[:, i:i + 1]
    scale = column(6) * xs + column(7) * ys + 1.0
    x_in = (column(0) * xs + column(1) * ys + column(2)) / scale
    y_in = (column(3) * xs + column(4) * ys + column(5)) / scale
    coordinates = ops.stack([y_in, x_in], axis=-1)
    if n is not None and coordinates.shape[0] != n:
        coordinates = ops.broadcast_to(coordinates, (n, height * width, 2))
    y = _sample(images, coordinates, order, fill_mode, fill_value)
    return ops.reshape(y, (n, height, width, channels))


def _check_transforms(who: str, images, transform, data_format: str) -> None:
    batch = images.shape[0] if len(images.shape) == 4 else 1
    if transform.shape[-1] != 8 or (len(transform.shape) == 2
                                    and transform.shape[0] not in (1, batch, None)
                                    and batch is not None):
        raise ValueError(f"{who}: transform must be (8,) or (batch, 8) for images of shape "
                         f"{tuple(images.shape)}; received transform.shape="
                         f"{tuple(transform.shape)}")


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """images resampled through transform (8,) or (N, 8) = [a0, a1, a2, b0, b1, b2, c0, c1],
    mapping output (x, y) to input ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k) with
    k = c0 x + c1 y + 1 (Keras's documented map; Keras's JAX backend multiplies c0, c1 by the
    channel index instead, so the two agree when c0 = c1 = 0). Same shape and dtype as
    images; differentiable in images and (bilinear) in transform."""
    data_format = _data_format(data_format)
    _choice("affine_transform", "interpolation", interpolation, _ORDERS)
    _choice("affine_transform", "fill_mode", fill_mode, SAMPLING_FILL_MODES)
    _rank("affine_transform", images)
    transform = _as_tensor(transform)
    _rank("affine_transform", transform, (1, 2), "transform")
    _check_transforms("affine_transform", images, transform, data_format)
    if len(transform.shape) == 1:
        transform = ops.expand_dims(transform, 0)
    return _batched_channels_last(
        images, data_format,
        lambda x: _projective(x, transform, _ORDERS[interpolation], fill_mode, fill_value))


def _homography(start_points, end_points, dtype: str):
    """(B, 8) projective transforms taking each end quad's corners to the start quad's
    (output pixel -> input pixel), by solving the 8 x 8 linear system of the 4 corners."""
    start, end = ops.cast(start_points, dtype), ops.cast(end_points, dtype)
    sx, sy, ex, ey = start[..., 0], start[..., 1], end[..., 0], end[..., 1]
    zero, one = ops.zeros_like(ex), ops.ones_like(ex)
    x_rows = ops.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], axis=-1)
    y_rows = ops.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], axis=-1)
    system = ops.concatenate([x_rows, y_rows], axis=1)
    target = ops.expand_dims(ops.concatenate([sx, sy], axis=-1), -1)
    return ops.squeeze(ops.solve(system, target), -1)


def perspective_transform(images, start_points, end_points, interpolation="bilinear",
                          fill_value=0, data_format=None):
    """images warped so the quad start_points (4, 2) or (N, 4, 2) of (x, y) corners lands on
    end_points; off-image taps read fill_value. Same shape and dtype as images."""
    data_format = _data_format(data_format)
    _choice("perspective_transform", "interpolation", interpolation, _ORDERS)
    _rank("perspective_transform", images)
    start_points, end_points = _as_tensor(start_points), _as_tensor(end_points)
    for name, points in (("start_points", start_points), ("end_points", end_points)):
        if tuple(points.shape[-2:]) != (4, 2) or len(points.shape) not in (2, 3):
            raise ValueError(f"perspective_transform: {name} must be (4, 2) or (N, 4, 2); "
                             f"received {name}.shape={tuple(points.shape)}")
    if tuple(start_points.shape) != tuple(end_points.shape):
        raise ValueError(f"perspective_transform: start_points and end_points must have one "
                         f"shape; received {tuple(start_points.shape)} and "
                         f"{tuple(end_points.shape)}")
    if len(start_points.shape) == 2:
        start_points, end_points = ops.expand_dims(start_points, 0), ops.expand_dims(end_points, 0)
    dtype = images.dtype if is_float(images.dtype) else config.floatx()
    transform = _homography(start_points, end_points, dtype)
    return _batched_channels_last(
        images, data_format,
        lambda x: _projective(x, transform, _ORDERS[interpolation], "constant", fill_value))


def _gaussian_1d(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    weights = np.exp(-0.5 * (x / sigma) ** 2)
    return weights / weights.sum()


def _filter(x, taps: np.ndarray, padding: str):
    """Each channel of x (N, H, W, C) cross-correlated with taps (kh, kw, m) -> (N, H', W',
    C * m), output channel c * m + j from taps[..., j]."""
    channels = x.shape[-1]
    kernel = np.repeat(taps[:, :, None, :], channels, axis=2).astype(x.dtype)
    return ops.depthwise_conv(x, ops.convert_to_tensor(kernel), padding=padding,
                              data_format="channels_last")


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """images blurred channel by channel with a normalised Gaussian, "same" zero padding.
    As Keras's: kernel_size[0] and sigma[0] shape the kernel along the width,
    kernel_size[1] and sigma[1] along the height. Integer images give floatx."""
    data_format = _data_format(data_format)
    _rank("gaussian_blur", images)
    kernel_size = tuple(int(n) for n in np.broadcast_to(kernel_size, (2,)))
    sigma = tuple(float(s) for s in np.broadcast_to(sigma, (2,)))
    if min(kernel_size) < 1 or min(sigma) <= 0:
        raise ValueError(f"gaussian_blur: kernel_size must be positive and sigma > 0; "
                         f"received kernel_size={kernel_size}, sigma={sigma}")
    taps = np.outer(_gaussian_1d(kernel_size[1], sigma[1]), _gaussian_1d(kernel_size[0], sigma[0]))
    if not is_float(images.dtype):
        images = ops.cast(images, config.floatx())
    return _batched_channels_last(images, data_format,
                                  lambda x: _filter(x, taps[:, :, None], "same"))


_SOBEL_Y = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], np.float64)


def sobel_edges(images, data_format=None):
    """images (N, H, W, C) -> (N, H, W, C, 2) (channels_first: (N, C, H, W, 2)): the Sobel
    responses [d/dy, d/dx] of each channel, "same" zero padding."""
    data_format = _data_format(data_format)
    _rank("sobel_edges", images, (4,))
    taps = np.stack([_SOBEL_Y, _SOBEL_Y.T], axis=-1)

    def body(x):
        n, height, width, channels = x.shape
        return ops.reshape(_filter(x, taps, "same"), (n, height, width, channels, 2))
    if data_format == "channels_first":
        return ops.transpose(body(ops.transpose(images, (0, 2, 3, 1))), (0, 3, 1, 2, 4))
    return body(images)


def _channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else -3


@composite("data_format")
def rgb_to_grayscale(images, data_format=None):
    """RGB images -> one channel 0.2989 R + 0.5870 G + 0.1140 B, in images' dtype (one-channel
    images pass through)."""
    data_format = _data_format(data_format)
    _rank("rgb_to_grayscale", images)
    axis = _channel_axis(data_format)
    if images.shape[axis] not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: images need 3 (RGB) or 1 channels; received "
                         f"images.shape={tuple(images.shape)}")
    if images.shape[axis] == 1:
        return _as_tensor(images)
    dtype = images.dtype
    x = images if is_float(dtype) else ops.cast(images, config.floatx())
    weights = ops.convert_to_tensor(np.asarray(_GRAY, x.dtype))
    gray = ops.expand_dims(ops.tensordot(ops.moveaxis(x, axis, -1), weights, axes=1), axis)
    return gray if is_float(dtype) else ops.cast(gray, dtype)


def _float_images(who: str, images, data_format) -> tuple[str, int]:
    data_format = _data_format(data_format)
    _rank(who, images)
    if not is_float(images.dtype):
        raise ValueError(f"{who}: images must be float; received images.dtype={images.dtype}")
    axis = _channel_axis(data_format)
    if images.shape[axis] != 3:
        raise ValueError(f"{who}: images need 3 channels; received images.shape="
                         f"{tuple(images.shape)}")
    return data_format, axis


def _planes(images, axis: int) -> list:
    return [ops.squeeze(p, axis) for p in ops.split(images, 3, axis=axis)]


def rgb_to_hsv(images, data_format=None):
    """Float RGB in [0, 1] -> HSV (hue in [0, 1)); values below the dtype's eps count as 0."""
    data_format, axis = _float_images("rgb_to_hsv", images, data_format)
    eps = float(np.finfo(images.dtype).eps)
    images = ops.where(ops.abs(images) < eps, ops.zeros_like(images), images)
    red, green, blue = _planes(images, axis)
    value = ops.maximum(ops.maximum(red, green), blue)
    spread = value - ops.minimum(ops.minimum(red, green), blue)
    zero, one = ops.zeros_like(value), ops.ones_like(value)
    saturation = ops.where(value > 0, spread / ops.where(value > 0, value, one), zero)
    norm = 1.0 / (6.0 * ops.where(spread > 0, spread, one))
    hue = ops.where(ops.equal(value, green), norm * (blue - red) + 2.0 / 6.0,
                    norm * (red - green) + 4.0 / 6.0)
    hue = ops.where(ops.equal(value, red), norm * (green - blue), hue)
    hue = ops.where(spread > 0, hue, zero) + ops.cast(hue < 0, hue.dtype)
    return ops.stack([hue, saturation, value], axis=axis)


def hsv_to_rgb(images, data_format=None):
    """Float HSV (hue taken mod 1) -> RGB."""
    data_format, axis = _float_images("hsv_to_rgb", images, data_format)
    hue, saturation, value = _planes(images, axis)
    sector = ops.mod(hue, 1.0) * 6.0
    red = ops.clip(ops.abs(sector - 3.0) - 1.0, 0.0, 1.0)
    green = ops.clip(2.0 - ops.abs(sector - 2.0), 0.0, 1.0)
    blue = ops.clip(2.0 - ops.abs(sector - 4.0), 0.0, 1.0)
    grey = 1.0 - saturation
    return ops.stack([value * (grey + saturation * c) for c in (red, green, blue)], axis=axis)


def _sides(who: str, names: tuple, values: tuple) -> None:
    """Exactly two of (before, after, target) given, none negative."""
    if sum(v is None for v in values) != 1:
        raise ValueError(f"{who}: give exactly two of {', '.join(names)}; received "
                         + ", ".join(f"{n}={v}" for n, v in zip(names, values)))
    for name, value in zip(names, values):
        if value is not None and value < 0:
            raise ValueError(f"{who}: {name} must be >= 0; received {name}={value}")


def _spatial_axes(images, data_format: str) -> tuple[int, int]:
    rank = len(images.shape)
    return (rank - 3, rank - 2) if data_format == "channels_last" else (rank - 2, rank - 1)


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    """images with zero rows above/below and columns left/right: two of (top, bottom,
    target_height) and two of (left, right, target_width) given."""
    data_format = _data_format(data_format)
    _rank("pad_images", images)
    _sides("pad_images", ("top_padding", "bottom_padding", "target_height"),
           (top_padding, bottom_padding, target_height))
    _sides("pad_images", ("left_padding", "right_padding", "target_width"),
           (left_padding, right_padding, target_width))
    h_axis, w_axis = _spatial_axes(images, data_format)
    pairs = []
    for before, after, target, n in ((top_padding, bottom_padding, target_height,
                                      images.shape[h_axis]),
                                     (left_padding, right_padding, target_width,
                                      images.shape[w_axis])):
        before = target - after - n if before is None else before
        after = target - before - n if after is None else after
        if before < 0 or after < 0:
            raise ValueError(f"pad_images: the target size {target} is smaller than the "
                             f"image ({n}) and its padding; received images.shape="
                             f"{tuple(images.shape)}")
        pairs.append((before, after))
    pad_width = [(0, 0)] * len(images.shape)
    pad_width[h_axis], pad_width[w_axis] = pairs
    return ops.pad(images, pad_width)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    """images without rows above/below and columns left/right: two of (top, bottom,
    target_height) and two of (left, right, target_width) given."""
    data_format = _data_format(data_format)
    _rank("crop_images", images)
    _sides("crop_images", ("top_cropping", "bottom_cropping", "target_height"),
           (top_cropping, bottom_cropping, target_height))
    _sides("crop_images", ("left_cropping", "right_cropping", "target_width"),
           (left_cropping, right_cropping, target_width))
    h_axis, w_axis = _spatial_axes(images, data_format)
    key = [slice(None)] * len(images.shape)
    for axis, start, end, target in ((h_axis, top_cropping, bottom_cropping, target_height),
                                     (w_axis, left_cropping, right_cropping, target_width)):
        n = images.shape[axis]
        start = n - target - end if start is None else start
        target = n - end - start if target is None else target
        if start < 0 or target < 0 or start + target > n:
            raise ValueError(f"crop_images: the cropping does not fit images of shape "
                             f"{tuple(images.shape)} (start {start}, size {target} on axis "
                             f"{axis})")
        key[axis] = slice(start, start + target)
    return ops.getitem(_as_tensor(images), tuple(key))


def _patches(who: str, images, size, strides, dilation_rate, padding, data_format, rank: int):
    size = (size,) * rank if isinstance(size, int) else tuple(size)
    if len(size) != rank:
        raise TypeError(f"{who}: size must be an int or a tuple of {rank}; received "
                        f"size={size}")
    strides = size if strides is None else strides
    data_format = _data_format(data_format)
    _rank(who, images, (rank + 1, rank + 2))
    channels = images.shape[-1] if data_format == "channels_last" else images.shape[-rank - 1]
    depth = int(np.prod(size)) * channels
    kernel = np.eye(depth, dtype=images.dtype).reshape(*size, channels, depth)
    single = len(images.shape) == rank + 1
    x = ops.expand_dims(images, 0) if single else images
    y = ops.conv(x, ops.convert_to_tensor(kernel), strides=strides, padding=padding,
                 data_format=data_format, dilation_rate=dilation_rate)
    return ops.squeeze(y, 0) if single else y


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches of size (ph, pw) of images (N, H, W, C) flattened into channels: (N, H', W',
    ph * pw * C) (row, column, channel order), windows placed as a convolution's; a size of
    3 axes means extract_patches_3d."""
    if not isinstance(size, int) and len(size) == 3:
        return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
    return _patches("extract_patches", images, size, strides or None, dilation_rate, padding,
                    data_format, 2)


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                       data_format=None):
    """Patches of size (pd, ph, pw) of volumes (N, D, H, W, C) flattened into channels:
    (N, D', H', W', pd * ph * pw * C)."""
    return _patches("extract_patches_3d", volumes, size, strides, dilation_rate, padding,
                    data_format, 3)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """Structural similarity of image1 and image2 (same shape): Gaussian-windowed (valid
    windows of filter_size) local statistics, the SSIM map averaged over space and channels:
    (N,) for batches, a scalar for one image; in image1's dtype."""
    data_format = _data_format(data_format)
    _rank("ssim", image1, name="image1")
    _rank("ssim", image2, name="image2")
    dtype = image1.dtype
    compute = dtype if is_float(dtype) else config.floatx()
    x, y = ops.cast(image1, compute), ops.cast(image2, compute)
    single = len(x.shape) == 3
    if single:
        x, y = ops.expand_dims(x, 0), ops.expand_dims(y, 0)
    if data_format == "channels_last":
        x, y = ops.transpose(x, (0, 3, 1, 2)), ops.transpose(y, (0, 3, 1, 2))
    n, channels, height, width = x.shape
    x, y = ops.reshape(x, (-1, height, width, 1)), ops.reshape(y, (-1, height, width, 1))
    window = _gaussian_1d(filter_size, filter_sigma)
    taps = np.outer(window, window)[:, :, None]

    def mean(z):
        return _filter(z, taps, "valid")
    mu_x, mu_y = mean(x), mean(y)
    var_x, var_y = mean(x * x) - mu_x * mu_x, mean(y * y) - mu_y * mu_y
    covariance = mean(x * y) - mu_x * mu_y
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    index = ((2.0 * mu_x * mu_y + c1) * (2.0 * covariance + c2)
             / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)))
    per_image = ops.mean(ops.reshape(ops.mean(index, axis=(1, 2, 3)), (-1, channels)), axis=-1)
    result = ops.squeeze(per_image, 0) if single else per_image
    return ops.cast(result, dtype)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear",
                      fill_mode="reflect", fill_value=0.0, seed=None, data_format=None):
    """images displaced by alpha times two random N(0, sigma^2) fields (rows, columns) blurred
    by a Gaussian of sigma (kernel int(6 sigma) | 1), resampled with fill_mode. `seed`: None,
    an int or an `nk.random.SeedGenerator`. Same shape and dtype as images; differentiable
    in images. Eager only: a symbolic (KerasTensor) call raises a TypeError, since a graph
    node would freeze one draw of the fields."""
    from .. import random   # random is built on ops: imported on use

    if isinstance(images, KerasTensor):
        raise TypeError(f"elastic_transform: draws random fields when called, so it needs "
                        f"values, not the symbolic {images!r}")
    data_format = _data_format(data_format)
    _choice("elastic_transform", "interpolation", interpolation, _ORDERS)
    _choice("elastic_transform", "fill_mode", fill_mode, SAMPLING_FILL_MODES)
    _rank("elastic_transform", images)
    sigma, alpha = float(sigma), float(alpha)
    size = int(6 * sigma) | 1
    compute = images.dtype if is_float(images.dtype) else config.floatx()

    def body(x):
        n, height, width, channels = x.shape
        noise = random.normal((2 * n, height, width, 1), stddev=sigma, dtype=compute, seed=seed)
        shifts = ops.reshape(gaussian_blur(noise, size, sigma, "channels_last"),
                             (2, n, height * width))
        rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
        grid = np.stack([rows.ravel(), cols.ravel()]).astype(compute)[:, None, :]
        coordinates = ops.convert_to_tensor(grid) + alpha * shifts
        coordinates = ops.transpose(coordinates, (1, 2, 0))
        y = _sample(x, coordinates, _ORDERS[interpolation], fill_mode, fill_value)
        return ops.reshape(y, (n, height, width, channels))
    return _batched_channels_last(images, data_format, body)


def _triangle(x):
    return np.maximum(0.0, 1.0 - x)


def _keys_cubic(x):
    """Keys' cubic convolution kernel with a = -0.5, at distances x >= 0."""
    near = (1.5 * x - 2.5) * x * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _lanczos(radius: float):
    def kernel(x):
        safe = np.where(x > 1e-3, x, 1.0)
        value = radius * np.sin(np.pi * safe) * np.sin(np.pi * safe / radius) / (np.pi * safe) ** 2
        return np.where(x > radius, 0.0, np.where(x > 1e-3, value, 1.0))
    return kernel


_RESAMPLING_KERNELS = {"linear": _triangle, "bilinear": _triangle, "trilinear": _triangle,
                       "cubic": _keys_cubic, "bicubic": _keys_cubic, "tricubic": _keys_cubic,
                       "lanczos3": _lanczos(3.0), "lanczos5": _lanczos(5.0)}


def _resampling_weights(size_in: int, size_out: int, scale: float, translation: float,
                        kernel, antialias: bool) -> np.ndarray:
    """(size_in, size_out) float64: column j weighs the input cells for output cell j, whose
    centre j + 0.5 maps back to input coordinate (j + 0.5 - translation) / scale. Downscaling
    with antialias stretches the kernel by 1 / scale (a low-pass filter). Each column sums to
    1 over the cells inside the image (0 where it has no weight), and is 0 where the centre
    falls outside the image."""
    stretch = max(1.0 / scale, 1.0) if antialias else 1.0
    centres = (np.arange(size_out) + 0.5 - translation) / scale - 0.5
    weights = kernel(np.abs(centres[None, :] - np.arange(size_in)[:, None]) / stretch)
    totals = weights.sum(axis=0)
    usable = np.abs(totals) > 1000.0 * float(np.finfo(np.float32).eps)
    weights = weights / np.where(usable, totals, 1.0) * usable
    inside = (centres >= -0.5) & (centres <= size_in - 0.5)
    return weights * inside


def _host_values(who: str, name: str, value, count: int) -> np.ndarray:
    if isinstance(value, KerasTensor):
        raise ValueError(f"{who}: {name} builds the weight matrices on the host, so it needs "
                         f"values, not the symbolic {value!r}")
    values = np.asarray(value, np.float64).reshape(-1)
    if values.shape != (count,) or not np.all(np.isfinite(values)):
        raise ValueError(f"{who}: {name} needs {count} finite values (one per spatial dim); "
                         f"received {name}={value!r}")
    return values


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True):
    """images (any rank) resampled to output_shape along spatial_dims (K axes): along axis
    spatial_dims[i], output cell j (centre j + 0.5) samples the input at (j + 0.5 -
    translation[i]) / scale[i] (half-pixel centres) through the method's kernel ("linear" /
    "bilinear" / "trilinear": triangle; "cubic" / "bicubic" / "tricubic": Keys a = -0.5;
    "lanczos3", "lanczos5"), widened by 1 / scale when downscaling with antialias; outputs
    mapping outside the input are 0. scale and translation are K host values (the per-axis
    weight matrices are built on the host in float64, then contracted with images in their
    dtype); the other axes of output_shape must equal images'. Float images keep their
    dtype, integer and bool ones give floatx. Differentiable in images."""
    who = "scale_and_translate"
    _choice(who, "method", method, _RESAMPLING_KERNELS)
    if not isinstance(images, KerasTensor):
        images = ops.convert_to_tensor(images)
    ndim = len(images.shape)
    output_shape = tuple(output_shape)
    if len(output_shape) != ndim:
        raise ValueError(f"{who}: output_shape needs one size per axis of images; received "
                         f"output_shape={output_shape}, images.shape={tuple(images.shape)}")
    axes = [int(d) for d in spatial_dims]
    if any(not -ndim <= d < ndim for d in axes) or len({d % ndim for d in axes}) != len(axes):
        raise ValueError(f"{who}: spatial_dims must be distinct axes of images; received "
                         f"spatial_dims={tuple(spatial_dims)}, images.shape="
                         f"{tuple(images.shape)}")
    axes = [d % ndim for d in axes]
    scale = _host_values(who, "scale", scale, len(axes))
    translation = _host_values(who, "translation", translation, len(axes))
    if np.any(scale == 0):
        raise ValueError(f"{who}: scale must be nonzero; received scale={scale.tolist()}")
    for d in range(ndim):
        size_in, size_out = images.shape[d], output_shape[d]
        if d in axes:
            if size_in is None or size_out is None or int(size_out) < 0:
                raise ValueError(f"{who}: the spatial axes need known input sizes and "
                                 f"non-negative output sizes; received output_shape="
                                 f"{output_shape}, images.shape={tuple(images.shape)}")
        elif size_out is not None and size_in is not None and int(size_out) != size_in:
            raise ValueError(f"{who}: output_shape may only change spatial_dims {tuple(axes)}; "
                             f"received output_shape={output_shape}, images.shape="
                             f"{tuple(images.shape)}")
    x = ops.cast(images, config.floatx()) if not is_float(images.dtype) else images
    kernel = _RESAMPLING_KERNELS[method]
    for d, s, t in zip(axes, scale, translation):
        weights = _resampling_weights(x.shape[d], int(output_shape[d]), float(s), float(t),
                                      kernel, bool(antialias))
        weights = ops.cast(ops.convert_to_tensor(weights), x.dtype)
        moved = ops.tensordot(x, weights, axes=([d], [0]))
        x = ops.moveaxis(moved, -1, d)
    return x


_RESIZE_METHODS = {"bilinear": "linear", "bicubic": "cubic", "lanczos3": "lanczos3",
                   "lanczos5": "lanczos5", "nearest": None, "area": None}


def _area_weights(size_in: int, size_out: int) -> np.ndarray:
    """(size_in, size_out) float64: output cell j covers the input span [j s, (j + 1) s),
    s = size_in / size_out, and averages the input cells by their overlap with it (the
    "area" resize of TensorFlow, which Keras's TF backend offers)."""
    scale = size_in / size_out
    starts = np.arange(size_out) * scale
    cells = np.arange(size_in)[:, None]
    overlap = np.minimum(cells + 1.0, starts + scale) - np.maximum(cells, starts)
    return np.maximum(overlap, 0.0) / scale


@composite("size", "interpolation", "antialias", "crop_to_aspect_ratio", "pad_to_aspect_ratio",
           "fill_mode", "fill_value", "data_format")
def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """keras.ops.image.resize of images (H, W, C) or (N, H, W, C) (channels_first alike) to
    size (height, width), first cropped (centred) or padded with fill_value (both sides by the
    same amount, as Keras) to the target's aspect ratio if asked. "nearest" takes the input
    cell floor((i + 0.5) * in / out); "bilinear" without antialiasing (or when enlarging) is
    the half-pixel kernel of ops/resize.py; "area" averages the input cells under each
    output cell by their overlap (TensorFlow's, beyond Keras's JAX backend); otherwise
    scale_and_translate's kernels, widened by antialias when shrinking, as
    jax.image.resize."""
    _choice("resize", "interpolation", interpolation, _RESIZE_METHODS)
    _choice("resize", "fill_mode", fill_mode, ("constant",))
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can "
                         "be True")
    if len(tuple(size)) != 2:
        raise ValueError(f"resize: size must be (height, width); received size={size!r}")
    data_format = _data_format(data_format)
    images = _as_tensor(images)
    _rank("resize", images)
    height, width = (int(n) for n in size)

    def body(x):
        rows, columns = x.shape[1], x.shape[2]
        if crop_to_aspect_ratio:
            crop_rows = max(min(rows, int(float(columns * height) / width)), 1)
            crop_columns = max(min(columns, int(float(rows * width) / height)), 1)
            top, left = int((rows - crop_rows) / 2), int((columns - crop_columns) / 2)
            x = ops.get_item(x, (np.s_[:], np.s_[top:top + crop_rows],
                                 np.s_[left:left + crop_columns]))
        elif pad_to_aspect_ratio:
            top = int((max(rows, int(float(columns * height) / width)) - rows) / 2)
            left = int((max(columns, int(float(rows * width) / height)) - columns) / 2)
            x = ops.pad(x, ((0, 0), (top, top), (left, left), (0, 0)),
                        constant_values=fill_value)
        rows, columns = x.shape[1], x.shape[2]
        if interpolation == "area":
            for axis, size in ((1, height), (2, width)):
                weights = ops.convert_to_tensor(_area_weights(x.shape[axis], size).astype(
                    x.dtype if is_float(x.dtype) else config.floatx()))
                x = ops.moveaxis(ops.tensordot(x, weights, axes=([axis], [0])), -1, axis)
            return x
        if interpolation == "nearest":
            pick_rows = np.floor((np.arange(height) + 0.5) * rows / height).astype(np.int64)
            pick_columns = np.floor((np.arange(width) + 0.5) * columns / width).astype(np.int64)
            return ops.take(ops.take(x, pick_rows, axis=1), pick_columns, axis=2)
        shrinking = height < rows or width < columns
        if interpolation == "bilinear" and not (antialias and shrinking):
            return _resize_layer_op(x, (height, width), "bilinear", "channels_last")
        return scale_and_translate(x, (x.shape[0], height, width, x.shape[3]),
                                   (height / rows, width / columns), (0.0, 0.0), (1, 2),
                                   _RESIZE_METHODS[interpolation], antialias)

    return _batched_channels_last(images, data_format, body)
