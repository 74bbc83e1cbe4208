"""The iterators of ImageDataGenerator (`flow`, `flow_from_directory`, `flow_from_dataframe`):
`PyDataset`s that `fit` consumes (len, indexing, on_epoch_end) and plain Python iterators
(`next(it)`), with Keras's batching, shuffling and seeding (numpy's global generator, reseeded
with seed + batches seen before each batch), so a seed gives Keras's batches.
"""
from __future__ import annotations

import collections
import concurrent.futures
import os
import threading
import warnings

import numpy as np

from .. import config
from ..utils.image_utils import array_to_img, img_to_array, load_img
from ..utils.py_dataset import PyDataset

WHITE_LIST_FORMATS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")
_LOADERS = []   # the thread pool that decodes a batch's image files, made on first use


def _loader() -> concurrent.futures.ThreadPoolExecutor:
    """Threads for decoding files (Pillow releases the GIL while it decodes and resizes)."""
    if not _LOADERS:
        _LOADERS.append(concurrent.futures.ThreadPoolExecutor(
            max_workers=min(8, os.cpu_count() or 1), thread_name_prefix="nbkeras-images"))
    return _LOADERS[0]


class Iterator(PyDataset):
    """Batches of `batch_size` of n samples (the last one shorter), in a fresh permutation
    each epoch when `shuffle`; subclasses build a batch in
    `_get_batches_of_transformed_samples(index_array)`. kwargs go to PyDataset (workers,
    use_multiprocessing, max_queue_size)."""

    white_list_formats = WHITE_LIST_FORMATS

    def __init__(self, n, batch_size, shuffle, seed, **kwargs):
        super().__init__(**kwargs)
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self.index_generator = self._flow_index()

    def _set_index_array(self):
        self.index_array = np.random.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __getitem__(self, idx):
        if idx >= len(self):
            raise ValueError(f"{type(self).__name__}: asked for batch {idx} of a sequence of "
                             f"length {len(self)}")
        if self.seed is not None:
            np.random.seed(self.seed + self.total_batches_seen)
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        index_array = self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)]
        return self._get_batches_of_transformed_samples(index_array)

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def _flow_index(self):
        """Index arrays forever, for `next`: a new permutation at the start of each pass."""
        self.reset()
        while True:
            if self.seed is not None:
                np.random.seed(self.seed + self.total_batches_seen)
            if self.batch_index == 0:
                self._set_index_array()
            current = (self.batch_index * self.batch_size) % self.n if self.n else 0
            self.batch_index = self.batch_index + 1 if self.n > current + self.batch_size else 0
            self.total_batches_seen += 1
            yield self.index_array[current:current + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self):
        with self.lock:
            index_array = next(self.index_generator)
        return self._get_batches_of_transformed_samples(index_array)

    def _transform_and_save(self, batch_x, index_array, hash_bound):
        """batch_x randomly transformed and standardized by the generator (per image
        parameters, one batch resampling), cast to the iterator's dtype; each image written
        to save_to_dir when set."""
        generator = self.image_data_generator
        if generator:
            batch_x = generator.random_transform_batch(batch_x)
            batch_x = np.ascontiguousarray(batch_x, dtype=self.dtype)
            batch_x = generator.standardize_batch(batch_x)
        batch_x = np.asarray(batch_x, dtype=self.dtype)
        if self.save_to_dir:
            for i, j in enumerate(index_array):
                img = array_to_img(batch_x[i], self.data_format, scale=True)
                fname = (f"{self.save_prefix}_{j}_{np.random.randint(hash_bound)}."
                         f"{self.save_format}")
                img.save(os.path.join(self.save_to_dir, fname))
        return batch_x


class NumpyArrayIterator(Iterator):
    """Batches of images x (N, H, W, C) (or [x, extra arrays...], the extras batched alongside
    untransformed), labels y and sample weights; `subset` takes the first validation_split
    of the samples ("validation") or the rest ("training")."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, data_format=None, save_to_dir=None,
                 save_prefix="", save_format="png", subset=None, ignore_class_split=False,
                 dtype=None):
        data_format = config.image_data_format() if data_format is None else data_format
        self.dtype = config.floatx() if dtype is None else dtype
        if isinstance(x, (tuple, list)):
            x_misc = ([np.asarray(x[1])] if not isinstance(x[1], list)
                      else [np.asarray(xx) for xx in x[1]])
            x = x[0]
            for xx in x_misc:
                if len(x) != len(xx):
                    raise ValueError(f"NumpyArrayIterator: all arrays in x must have the same "
                                     f"length; received len(x[0]) = {len(x)} and an extra "
                                     f"array of length {len(xx)}")
        else:
            x_misc = []
        if y is not None and len(x) != len(y):
            raise ValueError(f"NumpyArrayIterator: x (images) and y (labels) must have the "
                             f"same length; received x.shape = {np.shape(x)}, "
                             f"y.shape = {np.shape(y)}")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(f"NumpyArrayIterator: x (images) and sample_weight must have the "
                             f"same length; received x.shape = {np.shape(x)}, "
                             f"sample_weight.shape = {np.shape(sample_weight)}")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f"NumpyArrayIterator: subset must be 'training' or "
                                 f"'validation'; received subset={subset!r}")
            split_idx = int(len(x) * image_data_generator._validation_split)
            if (y is not None and not ignore_class_split
                    and not np.array_equal(np.unique(y[:split_idx]),
                                           np.unique(y[split_idx:]))):
                raise ValueError("NumpyArrayIterator: the training and validation subsets "
                                 "have different classes after the split; if the arrays are "
                                 "sorted by label, shuffle them first (or pass "
                                 "ignore_class_split=True)")
            part = slice(None, split_idx) if subset == "validation" else slice(split_idx, None)
            x = x[part]
            x_misc = [np.asarray(xx[part]) for xx in x_misc]
            if y is not None:
                y = y[part]
        self.x = np.asarray(x, dtype=self.dtype)
        self.x_misc = x_misc
        if self.x.ndim != 4:
            raise ValueError(f"NumpyArrayIterator: x must have rank 4 (images); received an "
                             f"array of shape {self.x.shape}")
        channels_axis = 3 if data_format == "channels_last" else 1
        if self.x.shape[channels_axis] not in (1, 3, 4):
            warnings.warn(f"NumpyArrayIterator: expected 1, 3 or 4 channels on axis "
                          f"{channels_axis} ({data_format}); received an array of shape "
                          f"{self.x.shape}.", stacklevel=2)
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.data_format = data_format
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array):
        batch_x = self._transform_and_save(self.x[index_array], index_array, 10 ** 4)
        batch_x_miscs = [xx[index_array] for xx in self.x_misc]
        output = (batch_x if not batch_x_miscs else [batch_x] + batch_x_miscs,)
        if self.y is None:
            return output[0]
        output += (self.y[index_array],)
        if self.sample_weight is not None:
            output += (self.sample_weight[index_array],)
        return output


def _iter_valid_files(directory, white_list_formats, follow_links):
    """(folder, file name) of every file under `directory` with an allowed extension, folders
    and names in sorted order."""
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        for fname in sorted(files):
            if fname.lower().endswith(".tiff"):
                warnings.warn('Using ".tiff" files with multiple bands will cause distortion; '
                              "check the output.", stacklevel=3)
            if fname.lower().endswith(white_list_formats):
                yield root, fname


def _list_valid_filenames_in_directory(directory, white_list_formats, split, class_indices,
                                       follow_links):
    """(class index of each file, its path relative to directory's parent), keeping only the
    `split` fraction (start, stop) of the folder's sorted files when given."""
    dirname = os.path.basename(directory)
    valid_files = list(_iter_valid_files(directory, white_list_formats, follow_links))
    if split:
        start, stop = int(split[0] * len(valid_files)), int(split[1] * len(valid_files))
        valid_files = valid_files[start:stop]
    classes, filenames = [], []
    for root, fname in valid_files:
        classes.append(class_indices[dirname])
        filenames.append(os.path.join(dirname, os.path.relpath(os.path.join(root, fname),
                                                                directory)))
    return classes, filenames


class BatchFromFilesMixin:
    """Batches built from image files: load and resize (a batch's files decoded on a thread
    pool, in order), transform, standardize, then labels by class_mode ("categorical"
    one-hot, "binary"/"sparse" indices, "input" the images, "multi_output" / "raw" the given
    targets, None no labels)."""

    def set_processing_attrs(self, image_data_generator, target_size, color_mode, data_format,
                             save_to_dir, save_prefix, save_format, subset, interpolation,
                             keep_aspect_ratio):
        self.image_data_generator = image_data_generator
        self.target_size = tuple(target_size)
        self.keep_aspect_ratio = keep_aspect_ratio
        channels = {"rgba": 4, "rgb": 3, "grayscale": 1}
        if color_mode not in channels:
            raise ValueError(f"{type(self).__name__}: color_mode must be 'rgb', 'rgba' or "
                             f"'grayscale'; received color_mode={color_mode!r}")
        self.color_mode = color_mode
        self.data_format = data_format
        self.image_shape = (self.target_size + (channels[color_mode],)
                            if data_format == "channels_last"
                            else (channels[color_mode],) + self.target_size)
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        self.interpolation = interpolation
        if subset is None:
            split = None
        elif subset in ("training", "validation"):
            validation_split = image_data_generator._validation_split
            split = (0, validation_split) if subset == "validation" else (validation_split, 1)
        else:
            raise ValueError(f"{type(self).__name__}: subset must be 'training' or "
                             f"'validation'; received subset={subset!r}")
        self.split = split
        self.subset = subset

    def _load(self, path):
        """One file as an array of image_shape."""
        img = load_img(path, color_mode=self.color_mode, target_size=self.target_size,
                       interpolation=self.interpolation, keep_aspect_ratio=self.keep_aspect_ratio)
        try:
            return img_to_array(img, data_format=self.data_format)
        finally:
            img.close()

    def _get_batches_of_transformed_samples(self, index_array):
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        filepaths = self.filepaths
        images = _loader().map(self._load, [filepaths[j] for j in index_array])
        for i, image in enumerate(images):       # in order; no random draws while loading
            batch_x[i] = image
        batch_x = self._transform_and_save(batch_x, index_array, 10 ** 7)
        if self.class_mode == "input":
            batch_y = batch_x.copy()
        elif self.class_mode in ("binary", "sparse"):
            batch_y = np.asarray([self.classes[j] for j in index_array], self.dtype)
        elif self.class_mode == "categorical":
            batch_y = np.zeros((len(batch_x), len(self.class_indices)), dtype=self.dtype)
            for i, j in enumerate(index_array):
                batch_y[i, self.classes[j]] = 1.0
        elif self.class_mode == "multi_output":
            batch_y = [output[index_array] for output in self.labels]
        elif self.class_mode == "raw":
            batch_y = self.labels[index_array]
        else:
            return batch_x
        if self.sample_weight is None:
            return batch_x, batch_y
        return batch_x, batch_y, self.sample_weight[index_array]


class DirectoryIterator(BatchFromFilesMixin, Iterator):
    """Batches of the images in the class subfolders of `directory` (classes: the subfolder
    names in sorted order, or the given list), resized to target_size; files with another
    extension are skipped. `subset` takes the first validation_split of each class's sorted
    files ("validation") or the rest ("training")."""

    allowed_class_modes = ("categorical", "binary", "sparse", "input", None)

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical", batch_size=32,
                 shuffle=True, seed=None, data_format=None, save_to_dir=None, save_prefix="",
                 save_format="png", follow_links=False, subset=None, interpolation="nearest",
                 keep_aspect_ratio=False, dtype=None):
        data_format = config.image_data_format() if data_format is None else data_format
        self.dtype = config.floatx() if dtype is None else dtype
        self.set_processing_attrs(image_data_generator, target_size, color_mode, data_format,
                                  save_to_dir, save_prefix, save_format, subset, interpolation,
                                  keep_aspect_ratio)
        self.directory = directory
        if class_mode not in self.allowed_class_modes:
            raise ValueError(f"DirectoryIterator: class_mode must be one of "
                             f"{self.allowed_class_modes}; received class_mode={class_mode!r}")
        self.class_mode = class_mode
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"DirectoryIterator: {directory!r} is not a directory")
        if not classes:
            classes = [d for d in sorted(os.listdir(directory))
                       if os.path.isdir(os.path.join(directory, d))]
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        per_class = [_list_valid_filenames_in_directory(
            os.path.join(directory, subdir), self.white_list_formats, self.split,
            self.class_indices, follow_links) for subdir in classes]
        self.filenames = [name for _, names in per_class for name in names]
        self.classes = np.asarray([c for labels, _ in per_class for c in labels], "int32")
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        self._filepaths = [os.path.join(directory, fname) for fname in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def filepaths(self):
        return self._filepaths

    @property
    def labels(self):
        return self.classes

    @property
    def sample_weight(self):
        return None


class DataFrameIterator(BatchFromFilesMixin, Iterator):
    """Batches of the image files named in column x_col of a pandas DataFrame (relative to
    `directory`), labels from y_col by class_mode, weights from weight_col. Needs pandas."""

    allowed_class_modes = ("binary", "categorical", "input", "multi_output", "raw", "sparse",
                           None)

    def __init__(self, dataframe, directory=None, image_data_generator=None, x_col="filename",
                 y_col="class", weight_col=None, target_size=(256, 256), color_mode="rgb",
                 classes=None, class_mode="categorical", batch_size=32, shuffle=True,
                 seed=None, data_format="channels_last", save_to_dir=None, save_prefix="",
                 save_format="png", subset=None, interpolation="nearest",
                 keep_aspect_ratio=False, dtype="float32", validate_filenames=True):
        try:
            import pandas  # noqa: F401
        except ImportError as error:
            raise ImportError(f"flow_from_dataframe needs pandas, which could not be imported "
                              f"({error}). Install it with: pip install pandas") from None
        self.set_processing_attrs(image_data_generator, target_size, color_mode, data_format,
                                  save_to_dir, save_prefix, save_format, subset, interpolation,
                                  keep_aspect_ratio)
        df = dataframe.copy()
        self.directory = directory or ""
        self.class_mode = class_mode
        self.dtype = dtype
        self._check_params(df, x_col, y_col, weight_col, classes)
        if validate_filenames:
            df = self._filter_valid_filepaths(df, x_col)
        labelled = class_mode not in ("input", "multi_output", "raw", None)
        if labelled:
            df, classes = self._filter_classes(df, y_col, classes)
            self.class_indices = dict(zip(classes, range(len(classes))))
        if self.split:
            start, stop = (int(bound * len(df)) for bound in self.split)
            df = df.iloc[start:stop, :]
        if labelled:
            self.classes = self.get_classes(df, y_col)
        self.filenames = df[x_col].tolist()
        self._sample_weight = df[weight_col].values if weight_col else None
        if class_mode == "multi_output":
            self._targets = [np.array(df[col].tolist()) for col in y_col]
        if class_mode == "raw":
            self._targets = df[y_col].values
        self.samples = len(self.filenames)
        validated = "validated" if validate_filenames else "non-validated"
        belonging = f" belonging to {len(classes)} classes" if labelled else ""
        print(f"Found {self.samples} {validated} image filenames{belonging}.")
        self._filepaths = [os.path.join(self.directory, fname) for fname in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _check_params(self, df, x_col, y_col, weight_col, classes):
        mode = self.class_mode
        if mode not in self.allowed_class_modes:
            raise ValueError(f"DataFrameIterator: class_mode must be one of "
                             f"{self.allowed_class_modes}; received class_mode={mode!r}")
        if mode == "multi_output" and not isinstance(y_col, list):
            raise TypeError(f'DataFrameIterator: class_mode="multi_output" needs y_col to be a '
                            f"list; received {type(y_col).__name__}")
        if not all(isinstance(v, str) for v in df[x_col]):
            raise TypeError(f"DataFrameIterator: all values in column x_col={x_col!r} must be "
                            "strings")
        if mode in ("binary", "sparse") and not all(isinstance(v, str) for v in df[y_col]):
            raise TypeError(f'DataFrameIterator: class_mode="{mode}" needs the values of '
                            f"y_col={y_col!r} to be strings")
        if mode == "binary":
            count = len(set(classes)) if classes else df[y_col].nunique()
            if count != 2:
                raise ValueError(f'DataFrameIterator: class_mode="binary" needs 2 classes; '
                                 f"found {count}")
        if mode == "categorical" and not all(isinstance(v, (str, list, tuple))
                                             for v in df[y_col]):
            raise TypeError(f'DataFrameIterator: class_mode="categorical" needs the values of '
                            f"y_col={y_col!r} to be strings, lists or tuples")
        if classes and mode in ("input", "multi_output", "raw", None):
            warnings.warn(f'DataFrameIterator: classes are ignored with class_mode="{mode}"',
                          stacklevel=3)
        if weight_col and not issubclass(df[weight_col].dtype.type, np.number):
            raise TypeError(f"DataFrameIterator: column weight_col={weight_col!r} must be "
                            "numeric")

    def get_classes(self, df, y_col):
        return [[self.class_indices[lbl] for lbl in label] if isinstance(label, (list, tuple))
                else self.class_indices[label] for label in df[y_col]]

    @staticmethod
    def _filter_classes(df, y_col, classes):
        """The rows whose labels are among `classes` (default: every label seen, sorted)."""
        df = df.copy()
        if classes:
            classes = list(collections.OrderedDict.fromkeys(classes).keys())

            def keep(labels):
                if isinstance(labels, (list, tuple)):
                    return [c for c in labels if c in classes] or None
                if isinstance(labels, str):
                    return labels if labels in classes else None
                raise TypeError(f"DataFrameIterator: expected a string, list or tuple in "
                                f"column {y_col!r}; found {type(labels).__name__}")

            df[y_col] = df[y_col].apply(keep)
        else:
            seen = set()
            for v in df[y_col]:
                if isinstance(v, (list, tuple)):
                    seen.update(v)
                else:
                    seen.add(v)
            classes = sorted(seen)
        return df.dropna(subset=[y_col]), classes

    def _filter_valid_filepaths(self, df, x_col):
        """The rows whose file exists with an allowed extension (a warning counts the rest)."""
        mask = np.array([fname.lower().endswith(self.white_list_formats)
                         and os.path.isfile(os.path.join(self.directory, fname))
                         for fname in df[x_col]], bool)
        if (~mask).sum():
            warnings.warn(f'DataFrameIterator: {(~mask).sum()} invalid image filename(s) in '
                          f'x_col="{x_col}" are ignored.', stacklevel=3)
        return df[mask]

    @property
    def filepaths(self):
        return self._filepaths

    @property
    def labels(self):
        return self._targets if self.class_mode in ("multi_output", "raw") else self.classes

    @property
    def sample_weight(self):
        return self._sample_weight
