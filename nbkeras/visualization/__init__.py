"""Visualization, as `keras.visualization`: boxes and segmentation masks drawn into numpy
image arrays, and galleries of images with matplotlib."""
from .draw_bounding_boxes import draw_bounding_boxes as draw_bounding_boxes
from .draw_segmentation_masks import draw_segmentation_masks as draw_segmentation_masks
from .plot_bounding_box_gallery import plot_bounding_box_gallery as plot_bounding_box_gallery
from .plot_image_gallery import plot_image_gallery as plot_image_gallery
from .plot_segmentation_mask_gallery import (
    plot_segmentation_mask_gallery as plot_segmentation_mask_gallery)
