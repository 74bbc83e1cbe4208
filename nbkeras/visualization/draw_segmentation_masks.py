"""`draw_segmentation_masks`, as `keras.visualization.draw_segmentation_masks`: each class's
pixels painted in its colour, blended with the image."""
from __future__ import annotations

import numpy as np

from ._images import as_array, batched_images, channels_last


def draw_segmentation_masks(images, segmentation_masks, num_classes=None, color_mapping=None,
                            alpha=0.8, blend=True, ignore_index=-1,
                            data_format=None) -> np.ndarray:
    """Paint `segmentation_masks` (integer class ids, (batch, H, W, 1) or (batch, H, W)) over
    `images` (batch, H, W, C), as Keras: class k (0 <= k < num_classes; `num_classes`
    defaults to the largest id) gets `color_mapping[k]` or Keras's palette colour; with
    `blend`, out = image * (1 - alpha) + painted * alpha where the mask is not
    `ignore_index` (the image elsewhere), truncated to uint8; without, the painted float32
    images. Results are channels_last, as Keras returns them for either data format."""
    images, data_format = batched_images(images, data_format)
    masks = as_array(segmentation_masks)
    if data_format == "channels_first":
        masks = masks.transpose(0, 2, 3, 1) if masks.ndim == 4 else masks
    images = channels_last(images, data_format).astype(np.float32)
    if masks.dtype.kind not in "iu":
        raise TypeError("`segmentation_masks` must be in integer dtype. Received: "
                        f"segmentation_masks.dtype={masks.dtype}")
    if masks.shape[:3] != images.shape[:3] or masks.shape[3:] not in ((), (1,)):
        raise ValueError("`segmentation_masks` must be (batch, height, width) or (batch, "
                         f"height, width, 1) like the images {images.shape}; received "
                         f"segmentation_masks.shape={masks.shape}")
    masks = masks.reshape(masks.shape[:3])
    if num_classes is None:
        num_classes = int(masks.max())
    colors = ([color_mapping[k] for k in range(num_classes)] if color_mapping is not None
              else _palette(num_classes))
    painted = images.copy()
    for k, color in enumerate(colors):
        painted[masks == k] = np.asarray(color, np.float32)
    if not blend:
        return painted
    blended = images * (1 - alpha) + painted * alpha
    return np.where((masks != ignore_index)[..., None], blended, images).astype(np.uint8)


def _palette(num_classes: int) -> list[list[int]]:
    """Keras's default colours: k * (2**25 - 1, 2**15 - 1, 2**21 - 1) mod 255."""
    palette = np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1])
    return [((k * palette) % 255).tolist() for k in range(num_classes)]
