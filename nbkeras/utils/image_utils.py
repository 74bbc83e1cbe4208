"""Images to arrays and back, as `keras.utils`: `load_img`, `img_to_array`, `array_to_img`,
`save_img` (through Pillow, the optional extra `nbkeras[images]`) and `smart_resize`.

    img = nk.utils.load_img("cat.png", target_size=(64, 64))   # a PIL image
    x = nk.utils.img_to_array(img)                             # float32 (64, 64, 3)
"""
from __future__ import annotations

import io
import pathlib
import warnings

import numpy as np

from .. import config

PIL_INTERPOLATION_METHODS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def pil_image(caller: str):
    """Pillow's Image module, imported on first use; an ImportError naming the extra if
    Pillow is absent."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(f"{caller} needs Pillow, which could not be imported ({error}). "
                          f'Install it with: pip install "nbkeras[images]"') from None
    return Image


def _data_format(data_format: str | None) -> str:
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("data_format must be 'channels_last' or 'channels_first'; received "
                         f"data_format={data_format!r}")
    return data_format


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A PIL image of x (H, W, C) with C in 1, 3, 4 (channels_first: (C, H, W)): "L" (or
    int32 "I" where a 1-channel value exceeds 255), "RGB" or "RGBA". With `scale`, x is first
    shifted and stretched to [0, 255]; values are then truncated to integers, as Keras."""
    data_format = _data_format(data_format)
    Image = pil_image("array_to_img")
    x = np.asarray(x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError("array_to_img: expected an image array of rank 3 (a single image); "
                         f"received an array of shape {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x /= x_max
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return Image.fromarray(x.astype("uint8"), "RGBA" if channels == 4 else "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: unsupported number of channels {channels} in an array of "
                     f"shape {x.shape} (1, 3 or 4)")


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image (or anything np.asarray takes) as an array (H, W, C) in `dtype` (default
    floatx); a 2-D image gets a channel axis; channels_first gives (C, H, W)."""
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"img_to_array: unsupported image shape {x.shape} (rank 2 or 3)")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write the array x as an image file; the format from `file_format` or the suffix of
    `path` ("jpg" means JPEG; an RGBA image is converted to RGB for JPEG, with a warning).
    `kwargs` go to PIL's `Image.save`."""
    data_format = _data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("save_img: JPEG does not support RGBA images; converting to RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format or None, **kwargs)


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """The image file at `path` (or an io.BytesIO) as a PIL image in `color_mode` ("rgb",
    "rgba" or "grayscale"; grayscale keeps 16- and 32-bit integer images), resized to
    target_size (height, width) by PIL with `interpolation` if it differs, after a centred
    crop to the target's aspect ratio when `keep_aspect_ratio`."""
    Image = pil_image("load_img")
    if isinstance(path, io.BytesIO):
        img = Image.open(path)
    elif isinstance(path, (pathlib.Path, bytes, str)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        with open(path, "rb") as handle:
            img = Image.open(io.BytesIO(handle.read()))
    else:
        raise TypeError(f"load_img: path must be path-like or an io.BytesIO; received "
                        f"{type(path).__name__}")
    modes = {"grayscale": ("L", ("L", "I;16", "I")), "rgba": ("RGBA", ("RGBA",)),
             "rgb": ("RGB", ("RGB",))}
    if color_mode not in modes:
        raise ValueError(f"load_img: color_mode must be 'grayscale', 'rgb' or 'rgba'; received "
                         f"color_mode={color_mode!r}")
    target_mode, kept = modes[color_mode]
    if img.mode not in kept:
        img = img.convert(target_mode)
    if target_size is None:
        return img
    width_height = (target_size[1], target_size[0])
    if img.size == width_height:
        return img
    if interpolation not in PIL_INTERPOLATION_METHODS:
        raise ValueError(f"load_img: interpolation must be one of {PIL_INTERPOLATION_METHODS}; "
                         f"received interpolation={interpolation!r}")
    resample = getattr(Image.Resampling, interpolation.upper())
    if not keep_aspect_ratio:
        return img.resize(width_height, resample)
    width, height = img.size
    target_width, target_height = width_height
    crop_height = min(height, (width * target_height) // target_width)
    crop_width = min(width, (height * target_width) // target_height)
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    return img.resize(width_height, resample,
                      box=[left, top, left + crop_width, top + crop_height])


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last"):
    """Resize an image (H, W, C) or batch (N, H, W, C) to size (height, width) without
    distorting it: first the largest centred crop with the target's aspect ratio, then
    `nk.ops.image.resize`. A numpy input gives numpy."""
    from ..ops import image

    if len(size) != 2:
        raise ValueError(f"smart_resize: size must be (height, width); received size={size!r}")
    if np.ndim(x) not in (3, 4):
        raise ValueError("smart_resize: expected an image (height, width, channels) or a batch "
                         f"(batch, height, width, channels); received shape {np.shape(x)}")
    out = image.resize(x, size, interpolation=interpolation, crop_to_aspect_ratio=True,
                       data_format=data_format)
    return np.asarray(out) if isinstance(x, np.ndarray) else out
