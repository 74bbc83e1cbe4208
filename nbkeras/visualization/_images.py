"""Shared by the drawing and plotting functions: arrays from Tensors, the batched-4-D check,
channels-last views and Keras's box formats converted to pixel corners."""
from __future__ import annotations

import numpy as np

from .. import config

BOX_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx",
               "rel_xywh", "rel_center_xywh")


def as_array(x) -> np.ndarray:
    """A numpy array of `x` (an array, a Tensor, a list)."""
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def batched_images(images, data_format: str | None) -> tuple[np.ndarray, str]:
    """`images` as a 4-D array and the data format (None: `nk.config.image_data_format()`)."""
    images = as_array(images)
    if images.ndim != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: "
                         f"images.shape={images.shape}")
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("`data_format` must be 'channels_last' or 'channels_first'; received "
                         f"data_format={data_format!r}")
    return images, data_format


def channels_last(images: np.ndarray, data_format: str) -> np.ndarray:
    return images.transpose(0, 2, 3, 1) if data_format == "channels_first" else images


def boxes_to_xyxy(boxes, bounding_box_format: str, height: int, width: int) -> np.ndarray:
    """Boxes (..., 4) of `bounding_box_format` as float32 [left, top, right, bottom] pixels,
    as Keras's `convert_format` to "xyxy" computes them."""
    boxes = as_array(boxes).astype(np.float32)
    if boxes.shape[-1:] != (4,):
        raise ValueError(f"`boxes` must be a tensor with the last dimension of 4. Received: "
                         f"boxes.shape={boxes.shape}")
    source = str(bounding_box_format).lower()
    if source not in BOX_FORMATS:
        raise ValueError(f"Invalid bounding_box_format {bounding_box_format!r}. Supported "
                         f"formats: {BOX_FORMATS}")
    a, b, c, d = (boxes[..., i:i + 1] for i in range(4))
    relative = source.startswith("rel_")
    source = source.removeprefix("rel_")
    if source == "xyxy":
        x1, y1, x2, y2 = a, b, c, d
    elif source == "yxyx":
        x1, y1, x2, y2 = b, a, d, c
    elif source == "xywh":
        x1, y1, x2, y2 = a, b, a + c, b + d
    else:
        (cx, cy, w, h) = (a, b, c, d) if source == "center_xywh" else (b, a, d, c)
        x1, y1, x2, y2 = cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0
    if relative:
        w_scale, h_scale = np.float32(width), np.float32(height)
        x1, y1, x2, y2 = x1 * w_scale, y1 * h_scale, x2 * w_scale, y2 * h_scale
    return np.concatenate([x1, y1, x2, y2], axis=-1)
