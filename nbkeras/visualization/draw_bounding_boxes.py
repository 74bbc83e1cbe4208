"""`draw_bounding_boxes`, as `keras.visualization.draw_bounding_boxes`: box outlines (and
class labels) drawn with OpenCV into uint8 copies of the images."""
from __future__ import annotations

import numpy as np

from ._images import as_array, batched_images, boxes_to_xyxy, channels_last


def draw_bounding_boxes(images, bounding_boxes, bounding_box_format, class_mapping=None,
                        color=(128, 128, 128), line_thickness=2, text_thickness=1,
                        font_scale=1.0, data_format=None) -> np.ndarray:
    """Draw `bounding_boxes` (a dict: "boxes" (batch, num_boxes, 4) in `bounding_box_format`,
    "labels" (batch, num_boxes), optional "confidences") on `images` (batch, H, W, C), as
    Keras: float images become uint8 (x255 when their maximum is <= 1, else clipped to
    [0, 255]); each box whose label is not -1 is outlined in `color` with cv2.rectangle, and
    its `class_mapping` name (with " | confidence") is written above it with cv2.putText.
    Returns a uint8 array of the images' shape (channels_first images are drawn as
    channels_last and transposed back)."""
    try:
        import cv2
    except ImportError as error:
        raise ImportError("The `draw_bounding_boxes` function requires the `cv2` package "
                          "(OpenCV). Please install it with `pip install opencv-python` (or "
                          "the extra `nbkeras[visualization]`).") \
            from error
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    images, data_format = batched_images(images, data_format)
    if not isinstance(bounding_boxes, dict):
        raise TypeError(f"`bounding_boxes` should be a dict. Received: bounding_boxes="
                        f"{bounding_boxes} of type {type(bounding_boxes)}")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError("`bounding_boxes` should be a dict containing 'boxes' and 'labels' "
                         f"keys. Received: bounding_boxes={bounding_boxes}")
    images = channels_last(images, data_format)
    height, width = images.shape[1:3]
    boxes = boxes_to_xyxy(bounding_boxes["boxes"], bounding_box_format, height, width)
    labels = as_array(bounding_boxes["labels"])
    confidences = (as_array(bounding_boxes["confidences"]) if "confidences" in bounding_boxes
                   else None)
    canvas = np.ascontiguousarray(_as_uint8(images))
    for i in range(canvas.shape[0]):
        image = canvas[i]
        for j in range(boxes.shape[1]):
            x1, y1, x2, y2 = (int(v) for v in boxes[i, j].astype(np.int32))
            label = int(labels[i, j].astype(np.int32))
            if label == -1:
                continue
            cv2.rectangle(image, (x1, y1), (x2, y2), color, line_thickness)
            if label in class_mapping:
                text = class_mapping[label]
                if confidences is not None:
                    text = f"{text} | {confidences[i][j]:.2f}"
                cv2.putText(img=image, text=text,
                            org=_text_origin(x1, y1, font_scale, text_thickness),
                            fontFace=cv2.FONT_HERSHEY_SIMPLEX, fontScale=font_scale,
                            color=color, thickness=text_thickness)
    return canvas if data_format == "channels_last" else canvas.transpose(0, 3, 1, 2)


def _as_uint8(images: np.ndarray) -> np.ndarray:
    """Keras's conversion: floats with maximum <= 1 scaled by 255, other floats clipped to
    [0, 255], then truncated to uint8."""
    if images.dtype.kind == "f" and images.size > 0:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 \
            else np.clip(images, 0, 255)
    return images.astype(np.uint8)


def _text_origin(x: int, y: int, font_scale: float, thickness: int) -> tuple[int, int]:
    """Above the box's top-left corner, or inside it when there is no room above."""
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3
