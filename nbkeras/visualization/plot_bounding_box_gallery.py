"""`plot_bounding_box_gallery`, as `keras.visualization.plot_bounding_box_gallery`: ground
truth and predicted boxes drawn on the images, then a gallery."""
from __future__ import annotations

import numpy as np

from ._images import batched_images, channels_last
from .draw_bounding_boxes import draw_bounding_boxes
from .plot_image_gallery import plot_image_gallery, pyplot


def plot_bounding_box_gallery(images, bounding_box_format, y_true=None, y_pred=None,
                              value_range=(0, 255), true_color=(0, 188, 212),
                              pred_color=(255, 235, 59), line_thickness=2, font_scale=1.0,
                              text_thickness=None, class_mapping=None,
                              ground_truth_mapping=None, prediction_mapping=None,
                              legend=False, legend_handles=None, rows=None, cols=None,
                              data_format=None, **kwargs) -> None:
    """`y_true` boxes in `true_color`, then `y_pred` boxes in `pred_color` (dicts as
    `draw_bounding_boxes` takes), drawn on `images`, shown with `plot_image_gallery` (rows,
    cols, value_range and **kwargs passed on); `legend=True` adds "Ground Truth" and
    "Prediction" patches."""
    pyplot("plot_bounding_box_gallery")
    from matplotlib import patches

    prediction_mapping = prediction_mapping or class_mapping
    ground_truth_mapping = ground_truth_mapping or class_mapping
    images, data_format = batched_images(images, data_format)
    plotted = channels_last(images, data_format)
    options = dict(bounding_box_format=bounding_box_format, line_thickness=line_thickness,
                   text_thickness=text_thickness, font_scale=font_scale,
                   data_format="channels_last")
    if y_true is not None:
        plotted = draw_bounding_boxes(plotted, y_true, color=true_color,
                                      class_mapping=ground_truth_mapping, **options)
    if y_pred is not None:
        plotted = draw_bounding_boxes(plotted, y_pred, color=pred_color,
                                      class_mapping=prediction_mapping, **options)
    if legend:
        if legend_handles:
            raise ValueError("Only pass `legend` OR `legend_handles` to "
                             "`keras.visualization.plot_bounding_box_gallery()`.")
        legend_handles = [
            patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
            patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction")]
    return plot_image_gallery(plotted, value_range=value_range, legend_handles=legend_handles,
                              rows=rows, cols=cols, data_format="channels_last", **kwargs)
