"""The image transforms of Keras's legacy `keras.preprocessing.image`, on single images (Keras's
functions: `apply_affine_transform`, `random_rotation`, ...) and on batches (what
ImageDataGenerator's iterators run): the same numbers, the resampling done for a whole batch
by the `affine_transform_images` kernel (scipy.ndimage.affine_transform's arithmetic).

Batches here are channels_last (B, H, W, C); callers move channels_first data there and back.
"""
from __future__ import annotations

import numpy as np

from ..core.device import kernels_for
from ..kernels.api import AFFINE_FILL_MODES


def transform_matrices(theta, tx, ty, shear, zx, zy, rows, columns):
    """For parameter arrays (B,) (angles in degrees): the (B, 2, 3) float64 matrices taking
    an output pixel (row, column, 1) to the input point it reads, and moved (B,) bool, False
    where nothing moves. Composed as Keras composes one image's (rotation @ shift @ shear @
    zoom about the image centre), with stacked np.matmul, which gives np.dot's numbers; a
    factor Keras leaves out is an identity here, which changes no bit."""
    theta, tx, ty, shear, zx, zy = (np.asarray(p, np.float64).reshape(-1)
                                    for p in (theta, tx, ty, shear, zx, zy))
    n = theta.size

    def stack(*rows_of_entries):
        out = np.zeros((n, 3, 3))
        for (i, j), value in rows_of_entries:
            out[:, i, j] = value
        out[:, 2, 2] = 1
        return out

    angle, slant = np.deg2rad(theta), np.deg2rad(shear)
    rotation = stack(((0, 0), np.cos(angle)), ((0, 1), -np.sin(angle)),
                     ((1, 0), np.sin(angle)), ((1, 1), np.cos(angle)))
    shift = stack(((0, 0), 1), ((1, 1), 1), ((0, 2), tx), ((1, 2), ty))
    shearing = stack(((0, 0), 1), ((0, 1), -np.sin(slant)), ((1, 1), np.cos(slant)))
    zoom = stack(((0, 0), zx), ((1, 1), zy))
    o_x, o_y = float(rows) / 2 - 0.5, float(columns) / 2 - 0.5
    offset = stack(((0, 0), 1), ((1, 1), 1), ((0, 2), o_x), ((1, 2), o_y))
    reset = stack(((0, 0), 1), ((1, 1), 1), ((0, 2), -o_x), ((1, 2), -o_y))
    matrix = np.matmul(np.matmul(np.matmul(rotation, shift), shearing), zoom)
    matrix = np.matmul(np.matmul(offset, matrix), reset)
    moved = (theta != 0) | (tx != 0) | (ty != 0) | (shear != 0) | (zx != 1) | (zy != 1)
    # Keras builds the matrix in (x, y) = (row, column) order, then swaps both axes (P M P)
    # for scipy, which then indexes the plane (row, column)
    return np.ascontiguousarray(matrix[:, [1, 0]][:, :, [1, 0, 2]]), moved


def check_fill_mode(caller: str, fill_mode: str) -> None:
    if fill_mode not in AFFINE_FILL_MODES:
        raise ValueError(f"{caller}: fill_mode must be one of {AFFINE_FILL_MODES}; received "
                         f"fill_mode={fill_mode!r}")


def affine_batch(x, matrices, moved, flips, fill_mode="nearest", cval=0.0, order=1):
    """Batch x (B, H, W, C) with image b resampled through matrices[b] (B, 2, 3) where
    moved[b] (else left as it is) and then flipped along rows / columns where flips[b]
    (B, 2) says. Orders 0 and 1 run the batch kernel; higher spline orders go through
    scipy.ndimage per channel (its spline prefilter), as Keras does for every order."""
    check_fill_mode("affine transform", fill_mode)
    if isinstance(order, bool) or order not in range(6):
        raise ValueError(f"affine transform: interpolation order must be an integer from 0 to "
                         f"5; received order={order!r}")
    work = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    moved = np.asarray(moved, bool)
    if order > 1:
        work = _spline_batch(work, matrices, moved, fill_mode, cval, order)
        moved = np.zeros_like(moved)
    return kernels_for("cpu").affine_transform_images(work, matrices, moved, flips,
                                                      min(order, 1), fill_mode, cval)


def _spline_batch(x, matrices, moved, fill_mode, cval, order):
    """The moved images of x resampled by scipy.ndimage.affine_transform with spline `order`."""
    from scipy import ndimage

    x = x.copy()
    for b in np.flatnonzero(moved):
        for c in range(x.shape[-1]):
            x[b, :, :, c] = ndimage.affine_transform(x[b, :, :, c], matrices[b, :, :2],
                                                     matrices[b, :, 2], order=order,
                                                     mode=fill_mode, cval=cval)
    return x


def channel_shift_batch(x, intensities):
    """Image b of x (B, H, W, C) plus intensities[b] (None: unchanged), clipped to the image's
    own minimum and maximum, in x's dtype, as Keras's apply_channel_shift."""
    shifted = [b for b, value in enumerate(intensities) if value is not None]
    if not shifted:
        return x
    x = x.copy()
    part = x[shifted]
    low = part.min(axis=(1, 2, 3), keepdims=True)
    high = part.max(axis=(1, 2, 3), keepdims=True)
    amount = np.array([intensities[b] for b in shifted], x.dtype).reshape(-1, 1, 1, 1)
    x[shifted] = np.clip(part + amount, low, high)
    return x


def brightness_batch(x, factors, scale=False):
    """Image b of x (B, H, W, C), C in 1, 3, 4, with its brightness scaled by factors[b]
    (None: unchanged) as Keras's apply_brightness_shift does through PIL: the image is made
    8-bit (stretched to [0, 255] first if `scale` or if it leaves that range), each colour
    value becomes trunc(float32(factor) * value) clipped to [0, 255] (PIL's ImageEnhance,
    alpha untouched), and an image stretched only because of its range is mapped back."""
    brightened = [b for b, value in enumerate(factors) if value is not None]
    if not brightened:
        return x
    if x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"brightness shift: images need 1, 3 or 4 channels; received a batch "
                         f"of shape {x.shape}")
    out = x.copy()
    part = x[brightened].astype(np.float32)
    low = part.min(axis=(1, 2, 3), keepdims=True)
    high = part.max(axis=(1, 2, 3), keepdims=True)
    stretched = ((low < 0) | (high > 255)).reshape(-1)
    stretch = stretched | bool(scale)
    pixels = part.copy()
    pixels[stretch] -= low[stretch]
    top = pixels.max(axis=(1, 2, 3), keepdims=True)
    divide = stretch & (top.reshape(-1) != 0)
    pixels[divide] /= top[divide]
    pixels[stretch] *= 255
    pixels = pixels.astype(np.uint8).astype(np.float32)
    factor = np.array([factors[b] for b in brightened], np.float32).reshape(-1, 1, 1, 1)
    colour = min(x.shape[-1], 3)
    blended = pixels[..., :colour] * factor
    pixels[..., :colour] = np.where(blended >= 255, 255, np.trunc(np.maximum(blended, 0)))
    restore = stretched & (not scale)
    pixels[restore] = pixels[restore] / 255 * (high[restore] - low[restore]) + low[restore]
    out[brightened] = pixels
    return out


def _image_axes(caller, x, row_axis, col_axis, channel_axis):
    """x (3-D) with its axes moved to (row, column, channel), checked as Keras checks them."""
    if len({row_axis, col_axis, channel_axis}) != 3 or \
            {row_axis, col_axis, channel_axis} != {0, 1, 2}:
        raise ValueError(f"{caller}: row_axis, col_axis and channel_axis must be 0, 1 and 2 in "
                         f"some order; received {row_axis}, {col_axis}, {channel_axis}")
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"{caller}: x must be a single image with channels (rank 3); received "
                         f"shape {x.shape}")
    if channel_axis not in (0, 2):
        raise ValueError(f"{caller}: channel_axis must be 0 or 2; received {channel_axis}")
    return np.transpose(x, (row_axis, col_axis, channel_axis))


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1,
                           col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0, order=1):
    """One image x (3-D) rotated by theta degrees, shifted by tx rows and ty columns, sheared
    by `shear` degrees and zoomed by (zx, zy) about its centre (Keras's composition), read
    with spline `order` and `fill_mode` ("constant" with cval, "nearest", "reflect",
    "wrap", scipy.ndimage's); x unchanged when nothing moves. Integer images come back as
    float64."""
    image = _image_axes("apply_affine_transform", x, row_axis, col_axis, channel_axis)
    matrices, moved = transform_matrices(theta, tx, ty, shear, zx, zy, image.shape[0],
                                         image.shape[1])
    if not moved[0]:
        return x
    out = affine_batch(image[None], matrices, moved, np.zeros((1, 2), bool), fill_mode, cval,
                       order)[0]
    return np.transpose(out, np.argsort((row_axis, col_axis, channel_axis)))


def apply_channel_shift(x, intensity, channel_axis=0):
    """x (3-D) plus `intensity` everywhere, clipped to x's own minimum and maximum."""
    x = np.asarray(x)
    return np.clip(x + intensity, np.min(x), np.max(x))


def apply_brightness_shift(x, brightness, scale=True):
    """x (H, W, C) with its brightness scaled by `brightness` through PIL's ImageEnhance, as
    Keras (see brightness_batch); float32 out."""
    from ..utils.image_utils import pil_image

    pil_image("apply_brightness_shift")
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"apply_brightness_shift: x must be a single image (H, W, C); "
                         f"received shape {x.shape}")
    return brightness_batch(x[None].astype(np.float32), [brightness], scale)[0]


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                    cval=0.0, interpolation_order=1):
    """x rotated by a uniform draw from [-rg, rg] degrees (numpy's global generator)."""
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                 cval=0.0, interpolation_order=1):
    """x shifted by uniform fractions of its height (hrg) and width (wrg)."""
    h, w = x.shape[row_axis], x.shape[col_axis]
    tx = np.random.uniform(-hrg, hrg) * h
    ty = np.random.uniform(-wrg, wrg) * w
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                 cval=0.0, interpolation_order=1):
    """x sheared by a uniform draw from [-intensity, intensity] degrees."""
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest",
                cval=0.0, interpolation_order=1):
    """x zoomed by two uniform draws (rows, columns) from zoom_range (lower, upper)."""
    if len(zoom_range) != 2:
        raise ValueError(f"random_zoom: zoom_range must be a tuple or list of two floats; "
                         f"received zoom_range={zoom_range!r}")
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_channel_shift(x, intensity_range, channel_axis=0):
    """x plus a uniform draw from [-intensity_range, intensity_range], clipped to its range."""
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def random_brightness(x, brightness_range, scale=True):
    """x with its brightness scaled by a uniform draw from brightness_range (lower, upper)."""
    if len(brightness_range) != 2:
        raise ValueError(f"random_brightness: brightness_range must be a tuple or list of two "
                         f"floats; received brightness_range={brightness_range!r}")
    u = np.random.uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, u, scale)
