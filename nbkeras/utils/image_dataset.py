"""`image_dataset_from_directory`, as `keras.utils`: the images under a folder (labels from
its subfolders) as a batched dataset that `fit`, `evaluate` and `predict` take.

    train, val = nk.utils.image_dataset_from_directory(
        "photos/", image_size=(64, 64), validation_split=0.2, subset="both", seed=1)
    train.class_names        # the subfolders, in alphanumeric order
    model.fit(train, validation_data=val, epochs=5)

Files are found and split as Keras finds and splits them (sorted, shuffled once with
`np.random.RandomState(seed)`, the validation files taken from the end), decoded with Pillow
and resized with `nk.ops.image.resize` (Keras's `format="grain"` path). The training set is
reshuffled each epoch with a permutation drawn from (seed, epoch).
"""
from __future__ import annotations

import os

import numpy as np

from .. import config
from .image_utils import load_img, pil_image
from .py_dataset import PyDataset

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
                  "mitchellcubic")
_COLOR_MODES = {"rgb": 3, "rgba": 4, "grayscale": 1}


class ImageDirectoryDataset(PyDataset):
    """Batches (images float32 (B, H, W, C) or (B, C, H, W), labels) of image files: labels
    int32 (B,) for "int", float32 one-hot (B, classes) for "categorical", float32 (B, 1) for
    "binary", none for label_mode None. `class_names` and `file_paths` as Keras's dataset;
    batch_size None gives single images. Iterating (`for images, labels in ds`) gives one
    epoch's batches."""

    def __init__(self, file_paths, labels, label_mode, class_names, image_size, color_mode,
                 batch_size, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio,
                 data_format, shuffle, seed):
        super().__init__()
        self.file_paths = list(file_paths)
        self.labels = None if labels is None else np.asarray(labels, np.int32)
        self.label_mode = label_mode
        self.class_names = class_names
        self.image_size = tuple(image_size)
        self.color_mode = color_mode
        self.batch_size = batch_size
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.data_format = data_format
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.order = np.arange(len(self.file_paths))

    def __len__(self) -> int:
        size = self.batch_size or 1
        return (len(self.file_paths) + size - 1) // size

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"image_dataset_from_directory: batch {index} out of range for a "
                             f"dataset of {len(self)} batches")
        size = self.batch_size or 1
        chosen = self.order[index * size:(index + 1) * size]
        images = np.stack([self.load(self.file_paths[i]) for i in chosen])
        labels = None if self.label_mode is None else self.encode(self.labels[chosen])
        if self.batch_size is None:
            return images[0] if labels is None else (images[0], labels[0])
        return images if labels is None else (images, labels)

    def take(self, count: int) -> list:
        """The first `count` batches (all of them for -1), as the tutorials' `ds.take(1)`."""
        return [self[i] for i in range(len(self) if count == -1 else min(count, len(self)))]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        if self.shuffle:
            self.order = np.random.RandomState(
                (self.seed + self.epoch) % 2**32).permutation(len(self.file_paths))

    def load(self, path: str) -> np.ndarray:
        """One image file decoded, given its channel axis, and resized: float32."""
        from ..ops import image

        img = load_img(path, color_mode=self.color_mode)
        x = np.asarray(img, dtype=np.float32)
        img.close()
        if x.ndim == 2:
            x = x[:, :, None]
        if self.data_format == "channels_first":
            x = x.transpose(2, 0, 1)
        return np.asarray(image.resize(
            x, self.image_size, interpolation=self.interpolation,
            crop_to_aspect_ratio=self.crop_to_aspect_ratio,
            pad_to_aspect_ratio=self.pad_to_aspect_ratio, data_format=self.data_format),
            np.float32)

    def encode(self, labels: np.ndarray) -> np.ndarray:
        if self.label_mode == "binary":
            return labels.astype(np.float32)[:, None]
        if self.label_mode == "categorical":
            return np.eye(len(self.class_names), dtype=np.float32)[labels]
        return labels


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format="tf",
                                 verbose=True):
    """A dataset of the images in `directory` (.bmp, .gif, .jpeg, .jpg, .png; other files
    skipped). labels="inferred": one class per subfolder (class_names: their names sorted,
    or the given subset in the given order); a list: one label per file in sorted order;
    None: images only. subset "training" / "validation" / "both" (a list of two datasets)
    with validation_split; shuffling with a split needs a seed."""
    pil_image("image_dataset_from_directory")
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("image_dataset_from_directory: labels must be 'inferred', None or "
                             "a list/tuple of integer labels, one per image file; received "
                             f"labels={labels!r}")
        if class_names:
            raise ValueError("image_dataset_from_directory: class_names can only be given with "
                             f"labels='inferred'; received labels={labels!r}, "
                             f"class_names={class_names!r}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError("image_dataset_from_directory: label_mode must be 'int', "
                         f"'categorical', 'binary' or None; received label_mode={label_mode!r}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in _COLOR_MODES:
        raise ValueError("image_dataset_from_directory: color_mode must be 'rgb', 'rgba' or "
                         f"'grayscale'; received color_mode={color_mode!r}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError("image_dataset_from_directory: image_size must be a tuple of 2 "
                         f"integers; received image_size={image_size!r}")
    interpolation = interpolation.lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"image_dataset_from_directory: interpolation must be one of "
                         f"{INTERPOLATIONS}; received interpolation={interpolation!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("image_dataset_from_directory: only one of crop_to_aspect_ratio and "
                         "pad_to_aspect_ratio can be True")
    if format not in ("tf", "grain"):
        raise ValueError("image_dataset_from_directory: format must be 'tf' or 'grain'; "
                         f"received format={format!r}")
    _check_validation_split(validation_split, subset, shuffle, seed)
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("image_dataset_from_directory: data_format must be 'channels_last' or "
                         f"'channels_first'; received data_format={data_format!r}")
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = index_directory(directory, labels, class_names, shuffle,
                                                 seed, follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError("image_dataset_from_directory: label_mode='binary' needs exactly 2 "
                         f"classes; received class_names={class_names}")

    def dataset(part, shuffled):
        part_paths, part_labels = _split(paths, labels, validation_split, part, verbose)
        if not part_paths:
            which = "" if part is None else f"{part} "
            raise ValueError(f"image_dataset_from_directory: no {which}images found in "
                             f"{directory!r}; allowed formats: {ALLOWLIST_FORMATS}")
        return ImageDirectoryDataset(part_paths, part_labels, label_mode, class_names,
                                     image_size, color_mode, batch_size, interpolation,
                                     crop_to_aspect_ratio, pad_to_aspect_ratio, data_format,
                                     shuffled, seed)

    if subset == "both":
        return [dataset("training", shuffle), dataset("validation", False)]
    return dataset(subset, shuffle)


def _check_validation_split(validation_split, subset, shuffle, seed) -> None:
    if validation_split and not 0 < validation_split < 1:
        raise ValueError("image_dataset_from_directory: validation_split must be between 0 and "
                         f"1; received validation_split={validation_split!r}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("image_dataset_from_directory: subset and validation_split must be "
                         "given together")
    if subset not in ("training", "validation", "both", None):
        raise ValueError("image_dataset_from_directory: subset must be 'training', "
                         f"'validation' or 'both'; received subset={subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("image_dataset_from_directory: with validation_split and shuffle, "
                         "give a seed, so the training and validation subsets do not overlap")


def index_directory(directory, labels, class_names, shuffle, seed, follow_links, verbose):
    """(file paths, int labels or None, class names or None) as Keras's index_directory:
    files sorted by folder then name, then shuffled with RandomState(seed) if `shuffle`."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"image_dataset_from_directory: {directory!r} is not a "
                                "directory")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(f"image_dataset_from_directory: class_names {class_names} do "
                                 f"not match the subfolders of {directory!r}: expected {subdirs}"
                                 " or a subset of it")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            raise ValueError("image_dataset_from_directory: class_names cannot be given unless "
                             "labels='inferred'")
    filenames, inferred = [], []
    for index, subdir in enumerate(subdirs):
        folder = os.path.join(directory, subdir)
        for root, fname in _valid_files(folder, follow_links):
            filenames.append(os.path.join(subdir, os.path.relpath(os.path.join(root, fname),
                                                                   folder)))
            inferred.append(index)
    if labels == "inferred":
        labels, class_names = np.asarray(inferred, np.int32), subdirs
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(filenames):
            raise ValueError(f"image_dataset_from_directory: {len(labels)} labels given but "
                             f"{len(filenames)} image files found in {directory!r}")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        belonging = "" if labels is None else f" belonging to {len(class_names)} classes"
        print(f"Found {len(filenames)} files{belonging}.")
    paths = [os.path.join(directory, fname) for fname in filenames]
    if shuffle:
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, class_names


def _valid_files(directory, follow_links):
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        for fname in sorted(files):
            if fname.lower().endswith(ALLOWLIST_FORMATS):
                yield root, fname


def _split(paths, labels, validation_split, subset, verbose):
    """The training part (all but the last validation_split) or the validation part."""
    if not validation_split:
        return paths, labels
    count = int(validation_split * len(paths))
    if verbose:
        print(f"Using {len(paths) - count if subset == 'training' else count} files for "
              f"{subset}.")
    if subset == "training":
        return paths[:-count], (None if labels is None else labels[:-count])
    return paths[-count:], (None if labels is None else labels[-count:])
