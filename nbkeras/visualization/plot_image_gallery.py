"""`plot_image_gallery`, as `keras.visualization.plot_image_gallery`: a grid of images with
optional label/prediction titles (matplotlib)."""
from __future__ import annotations

import math

import numpy as np

from ._images import as_array, batched_images, channels_last


def pyplot(function: str):
    """matplotlib.pyplot, imported when a plotting function first needs it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(f"The `{function}` function requires the `matplotlib` package. "
                          "Please install it with `pip install matplotlib` (or the extra "
                          "`nbkeras[visualization]`).") from error
    return plt


def plot_image_gallery(images, y_true=None, y_pred=None, label_map=None, rows=None, cols=None,
                       value_range=(0, 255), scale=2, path=None, show=None, transparent=True,
                       dpi=60, legend_handles=None, data_format=None) -> None:
    """Show `images` (batch, H, W, C) in a `rows` x `cols` grid (Keras's defaults: rows =
    ceil(sqrt(batch)), cols = batch // rows; the first rows * cols images), each mapped from
    `value_range` to [0, 255] and shown as uint8, titled "Label: ..."/"Pred: ..." from
    `label_map` when `y_true`/`y_pred` are given. Saved to `path` (then closed) or shown."""
    plt = pyplot("plot_image_gallery")
    if path is not None and show:
        raise ValueError("plot_gallery() expects either `path` to be set, or `show` to be "
                         "true.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError("If `y_true` or `y_pred` are provided, a `label_map` must also be "
                         "provided.")
    show = show if show is not None else path is None
    images, data_format = batched_images(images, data_format)
    batch_size = images.shape[0]
    rows = rows or int(math.ceil(math.sqrt(batch_size)))
    cols = cols or int(math.ceil(batch_size // rows))
    images = channels_last(images[:min(rows * cols, batch_size)], data_format)
    fig, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale),
                             frameon=False, layout="tight", squeeze=True, sharex="row",
                             sharey="col")
    fig.subplots_adjust(wspace=0, hspace=0)
    if isinstance(axes, np.ndarray) and axes.ndim == 1:
        axes = np.expand_dims(axes, 0 if rows == 1 else -1)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    images = to_value_range(images, value_range, (0, 255))
    y_true = None if y_true is None else as_array(y_true)
    y_pred = None if y_pred is None else as_array(y_pred)
    for row in range(rows):
        for col in range(cols):
            index = row * cols + col
            axis = axes[row, col] if isinstance(axes, np.ndarray) else axes
            axis.imshow(images[index].astype("uint8"))
            axis.margins(x=0, y=0)
            axis.axis("off")
            title = []
            if y_true is not None and index < len(y_true):
                title.append(f"Label: {label_map.get(y_true[index], 'Unknown')}")
            if y_pred is not None and index < len(y_pred):
                title.append(f"Pred: {label_map.get(y_pred[index], 'Unknown')}")
            if title:
                axis.set_title("  ".join(title), fontsize=8)
    if path is not None:
        plt.savefig(fname=path, pad_inches=0, bbox_inches="tight", transparent=transparent,
                    dpi=dpi)
        plt.close()
    elif show:
        plt.show()
        plt.close()


def to_value_range(images: np.ndarray, original_range, target_range) -> np.ndarray:
    """Keras's value-range mapping in float32 (the images as they are when the ranges are
    equal)."""
    if original_range[0] == target_range[0] and original_range[1] == target_range[1]:
        return images
    low, high = np.float32(original_range[0]), np.float32(original_range[1])
    new_low, new_high = np.float32(target_range[0]), np.float32(target_range[1])
    return (images.astype(np.float32) - low) / (high - low) * (new_high - new_low) + new_low
