"""image preprocessing layers: resizing, cropping and random augmentation of image batches."""
