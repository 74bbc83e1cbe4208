"""`plot_segmentation_mask_gallery`, as `keras.visualization.plot_segmentation_mask_gallery`:
each image beside its drawn ground-truth and predicted masks, one row per image."""
from __future__ import annotations

import numpy as np

from ._images import as_array, batched_images, channels_last
from .draw_segmentation_masks import draw_segmentation_masks
from .plot_image_gallery import plot_image_gallery


def plot_segmentation_mask_gallery(images, num_classes, value_range=(0, 255), y_true=None,
                                   y_pred=None, color_mapping=None, blend=True, alpha=0.8,
                                   ignore_index=-1, data_format=None, **kwargs) -> None:
    """Rows of [image, image with `y_true` drawn, image with `y_pred` drawn] (the masks as
    `draw_segmentation_masks` draws them), shown with `plot_image_gallery` (**kwargs passed
    on)."""
    images, data_format = batched_images(images, data_format)
    images = channels_last(images, data_format)
    drawn = []
    for masks in (y_true, y_pred):
        if masks is not None:
            masks = as_array(masks)
            if data_format == "channels_first" and masks.ndim == 4:
                masks = masks.transpose(0, 2, 3, 1)
            drawn.append(draw_segmentation_masks(
                images, masks.astype(np.int32), num_classes=num_classes,
                color_mapping=color_mapping, alpha=alpha, blend=blend,
                ignore_index=ignore_index, data_format="channels_last"))
    gallery = np.stack([panel for i in range(len(images))
                        for panel in [images[i]] + [d[i] for d in drawn]], axis=0)
    return plot_image_gallery(gallery, value_range=value_range, rows=len(images),
                              cols=1 + len(drawn), data_format="channels_last", **kwargs)
