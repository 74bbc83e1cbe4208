"""ImageDataGenerator: Keras's legacy real-time image augmentation and normalization, with its
arguments, its random draws (numpy's global generator, in Keras's order, so a seed gives
Keras's parameters) and its numbers; a batch is resampled by one kernel call.

    datagen = ImageDataGenerator(featurewise_center=True, rotation_range=20,
                                 width_shift_range=0.2, horizontal_flip=True)
    datagen.fit(x_train)
    model.fit(datagen.flow(x_train, y_train, batch_size=32), epochs=5)
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import config
from . import image_transforms as transforms
from .iterators import DataFrameIterator, DirectoryIterator, NumpyArrayIterator


class ImageDataGenerator:
    """Random transforms (rotation, shifts, shear, zoom, channel shift, brightness, flips)
    and normalization (rescale, preprocessing_function, sample-wise and feature-wise centring
    and scaling, ZCA whitening) of images (H, W, C) (channels_first: (C, H, W)), in Keras's
    order and with its defaults."""

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0, width_shift_range=0.0,
                 height_shift_range=0.0, brightness_range=None, shear_range=0.0,
                 zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest", cval=0.0,
                 horizontal_flip=False, vertical_flip=False, rescale=None,
                 preprocessing_function=None, data_format=None, validation_split=0.0,
                 interpolation_order=1, dtype=None):
        data_format = config.image_data_format() if data_format is None else data_format
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.channel_shift_range = channel_shift_range
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.dtype = config.floatx() if dtype is None else dtype
        self.interpolation_order = interpolation_order
        transforms.check_fill_mode("ImageDataGenerator", fill_mode)
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError("ImageDataGenerator: data_format must be 'channels_last' or "
                             f"'channels_first'; received data_format={data_format!r}")
        self.data_format = data_format
        self.channel_axis, self.row_axis, self.col_axis = \
            (3, 1, 2) if data_format == "channels_last" else (1, 2, 3)
        if validation_split and not 0 < validation_split < 1:
            raise ValueError("ImageDataGenerator: validation_split must be strictly between 0 "
                             f"and 1; received validation_split={validation_split!r}")
        self._validation_split = validation_split
        self.mean = None
        self.std = None
        self.zca_whitening_matrix = None
        if isinstance(zoom_range, (float, int)):
            self.zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif len(zoom_range) == 2 and all(isinstance(v, (float, int)) for v in zoom_range):
            self.zoom_range = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError("ImageDataGenerator: zoom_range must be a float or a tuple or "
                             f"list of two floats; received zoom_range={zoom_range!r}")
        if zca_whitening:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn("ImageDataGenerator: zca_whitening overrides featurewise_center "
                              "(set to True).", stacklevel=2)
            if featurewise_std_normalization:
                self.featurewise_std_normalization = False
                warnings.warn("ImageDataGenerator: zca_whitening overrides "
                              "featurewise_std_normalization (set to False).", stacklevel=2)
        if featurewise_std_normalization and not featurewise_center:
            self.featurewise_center = True
            warnings.warn("ImageDataGenerator: featurewise_std_normalization overrides "
                          "featurewise_center (set to True).", stacklevel=2)
        if samplewise_std_normalization and not samplewise_center:
            self.samplewise_center = True
            warnings.warn("ImageDataGenerator: samplewise_std_normalization overrides "
                          "samplewise_center (set to True).", stacklevel=2)
        if brightness_range is not None and (not isinstance(brightness_range, (tuple, list))
                                             or len(brightness_range) != 2):
            raise ValueError("ImageDataGenerator: brightness_range must be a tuple or list of "
                             f"two floats; received brightness_range={brightness_range!r}")
        self.brightness_range = brightness_range

    # ---- iterators ----------------------------------------------------------------------

    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix="", save_format="png", ignore_class_split=False,
             subset=None):
        """A NumpyArrayIterator over images x (N, H, W, C) (or [x, extra inputs...]), labels
        y and sample weights, batches transformed by this generator."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle,
                                  sample_weight=sample_weight, seed=seed,
                                  data_format=self.data_format, save_to_dir=save_to_dir,
                                  save_prefix=save_prefix, save_format=save_format,
                                  ignore_class_split=ignore_class_split, subset=subset,
                                  dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32,
                            shuffle=True, seed=None, save_to_dir=None, save_prefix="",
                            save_format="png", follow_links=False, subset=None,
                            interpolation="nearest", keep_aspect_ratio=False):
        """A DirectoryIterator over the images in the class subfolders of `directory`."""
        return DirectoryIterator(directory, self, target_size=target_size,
                                 color_mode=color_mode, keep_aspect_ratio=keep_aspect_ratio,
                                 classes=classes, class_mode=class_mode,
                                 data_format=self.data_format, batch_size=batch_size,
                                 shuffle=shuffle, seed=seed, save_to_dir=save_to_dir,
                                 save_prefix=save_prefix, save_format=save_format,
                                 follow_links=follow_links, subset=subset,
                                 interpolation=interpolation, dtype=self.dtype)

    def flow_from_dataframe(self, dataframe, directory=None, x_col="filename", y_col="class",
                            weight_col=None, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32,
                            shuffle=True, seed=None, save_to_dir=None, save_prefix="",
                            save_format="png", subset=None, interpolation="nearest",
                            validate_filenames=True, **kwargs):
        """A DataFrameIterator over the image files named in a pandas DataFrame (needs
        pandas). Keras's deprecated keywords (has_ext, sort, drop_duplicates) warn;
        class_mode="other" means "raw"."""
        for name in ("has_ext", "sort", "drop_duplicates"):
            if name in kwargs:
                warnings.warn(f"flow_from_dataframe: {name} is deprecated and ignored.",
                              DeprecationWarning, stacklevel=2)
        if class_mode == "other":
            warnings.warn('flow_from_dataframe: class_mode="other" is deprecated; use '
                          '"raw".', DeprecationWarning, stacklevel=2)
            class_mode = "raw"
        return DataFrameIterator(dataframe, directory, self, x_col=x_col, y_col=y_col,
                                 weight_col=weight_col, target_size=target_size,
                                 color_mode=color_mode, classes=classes, class_mode=class_mode,
                                 data_format=self.data_format, batch_size=batch_size,
                                 shuffle=shuffle, seed=seed, save_to_dir=save_to_dir,
                                 save_prefix=save_prefix, save_format=save_format,
                                 subset=subset, interpolation=interpolation,
                                 validate_filenames=validate_filenames, dtype=self.dtype)

    # ---- normalization ------------------------------------------------------------------

    def standardize(self, x):
        """x normalized in place (and returned) as configured: preprocessing_function, rescale,
        sample-wise centring / scaling over all of x, then the feature-wise statistics and the
        ZCA matrix from `fit` (a warning where they are asked for but not fitted)."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        return self._featurewise(x)

    def standardize_batch(self, x):
        """Each image of the batch x (N, ...) normalized as `standardize` normalizes one image
        (so sample-wise statistics are per image), in place where it can be."""
        if self.preprocessing_function:
            for i in range(len(x)):
                x[i] = self.preprocessing_function(x[i])
        if self.rescale:
            x *= self.rescale
        flat = x.reshape(len(x), -1)
        if self.samplewise_center:
            flat -= np.mean(flat, axis=1, keepdims=True)
        if self.samplewise_std_normalization:
            flat /= np.std(flat, axis=1, keepdims=True) + 1e-6
        return self._featurewise(x)

    def _featurewise(self, x):
        fitted = {"featurewise_center": self.mean, "featurewise_std_normalization": self.std,
                  "zca_whitening": self.zca_whitening_matrix}
        for name, value in fitted.items():
            if getattr(self, name) and value is None:
                warnings.warn(f"ImageDataGenerator: {name} is set but the generator has not "
                              f"been fit on any data; call .fit(x) first.", stacklevel=3)
        if self.featurewise_center and self.mean is not None:
            x -= self.mean
        if self.featurewise_std_normalization and self.std is not None:
            x /= self.std + 1e-6
        if self.zca_whitening and self.zca_whitening_matrix is not None:
            flat_x = x.reshape(-1, math.prod(x.shape[-3:]))
            x = np.reshape(flat_x @ self.zca_whitening_matrix, x.shape)
        return x

    # ---- random transforms --------------------------------------------------------------

    def get_random_transform(self, img_shape, seed=None):
        """A dict of random parameters (theta, tx, ty, shear, zx, zy, flip_horizontal,
        flip_vertical, channel_shift_intensity, brightness) for an image of img_shape, drawn
        from numpy's global generator (seeded with `seed` if given) in Keras's order."""
        img_row_axis, img_col_axis = self.row_axis - 1, self.col_axis - 1
        if seed is not None:
            np.random.seed(seed)
        theta = (np.random.uniform(-self.rotation_range, self.rotation_range)
                 if self.rotation_range else 0)
        tx = _shift(self.height_shift_range, img_shape[img_row_axis])
        ty = _shift(self.width_shift_range, img_shape[img_col_axis])
        shear = np.random.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = np.random.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (np.random.random() < 0.5) * self.horizontal_flip
        flip_vertical = (np.random.random() < 0.5) * self.vertical_flip
        channel_shift_intensity = None
        if self.channel_shift_range != 0:
            channel_shift_intensity = np.random.uniform(-self.channel_shift_range,
                                                        self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = np.random.uniform(self.brightness_range[0], self.brightness_range[1])
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": channel_shift_intensity, "brightness": brightness}

    def apply_transform(self, x, transform_parameters):
        """One image x transformed by the parameters of `get_random_transform` (missing keys:
        no change)."""
        return self.apply_transform_batch(np.asarray(x)[None], [transform_parameters])[0]

    def apply_transform_batch(self, x, parameters):
        """The batch x (N, ...) with image i transformed by the i-th parameters (a list of
        get_random_transform dicts, or one dict of per-image sequences), in Keras's order:
        the affine resampling, the channel shift, the flips, the brightness."""
        if not isinstance(parameters, dict):
            parameters = {name: [p.get(name, default) for p in parameters]
                          for name, default in _IDENTITY.items()}
        channels_first = self.data_format == "channels_first"
        images = np.transpose(x, (0, 2, 3, 1)) if channels_first else np.asarray(x)
        matrices, moved = transforms.transform_matrices(
            *(parameters[name] for name in ("theta", "tx", "ty", "shear", "zx", "zy")),
            images.shape[1], images.shape[2])
        flips = np.stack([np.asarray(parameters["flip_vertical"], bool).reshape(-1),
                          np.asarray(parameters["flip_horizontal"], bool).reshape(-1)], -1)
        images = transforms.affine_batch(images, matrices, moved, flips, self.fill_mode,
                                         self.cval, self.interpolation_order)
        images = transforms.channel_shift_batch(images,
                                                list(parameters["channel_shift_intensity"]))
        images = transforms.brightness_batch(images, list(parameters["brightness"]))
        return np.transpose(images, (0, 3, 1, 2)) if channels_first else images

    def random_transform(self, x, seed=None):
        """One image x randomly transformed (parameters drawn as get_random_transform)."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def random_transform_batch(self, x):
        """The batch x (N, ...) with each image randomly transformed, with the parameters N
        calls of get_random_transform would draw."""
        return self.apply_transform_batch(x, self.get_random_transforms(len(x), x.shape[1:]))

    def get_random_transforms(self, n, img_shape):
        """{parameter: sequence of n values}: what n calls of get_random_transform(img_shape)
        draw, in one draw of n rows of uniforms where every draw is a plain uniform (Keras's
        uniform(low, high) is low + (high - low) * u, u numpy's double); shift ranges given
        as integers or lists (drawn with choice) go image by image."""
        shift_ranges = (self.height_shift_range, self.width_shift_range)
        if any(r and not isinstance(r, (float, np.floating)) for r in shift_ranges):
            drawn = [self.get_random_transform(img_shape) for _ in range(n)]
            return {name: [p[name] for p in drawn] for name in _IDENTITY}
        draws = []     # (parameter, (low, high)) in Keras's order of draws
        for name, spread in (("theta", self.rotation_range), ("tx", self.height_shift_range),
                             ("ty", self.width_shift_range), ("shear", self.shear_range)):
            if spread:
                draws.append((name, (-spread, spread)))
        if not (self.zoom_range[0] == 1 and self.zoom_range[1] == 1):
            draws += [("zx", self.zoom_range), ("zy", self.zoom_range)]
        draws += [("flip_horizontal", (0.0, 1.0)), ("flip_vertical", (0.0, 1.0))]
        if self.channel_shift_range != 0:
            draws.append(("channel_shift_intensity",
                          (-self.channel_shift_range, self.channel_shift_range)))
        if self.brightness_range is not None:
            draws.append(("brightness", self.brightness_range))
        uniforms = np.random.random_sample((n, len(draws)))
        out = {name: [default] * n for name, default in _IDENTITY.items()}
        for column, (name, bounds) in enumerate(draws):
            low, high = float(bounds[0]), float(bounds[1])
            out[name] = low + (high - low) * uniforms[:, column]
        out["flip_horizontal"] = (out["flip_horizontal"] < 0.5) * self.horizontal_flip
        out["flip_vertical"] = (out["flip_vertical"] < 0.5) * self.vertical_flip
        for name, shift_range, axis in (("tx", self.height_shift_range, self.row_axis),
                                        ("ty", self.width_shift_range, self.col_axis)):
            if shift_range and np.max(shift_range) < 1:
                out[name] = out[name] * img_shape[axis - 1]
        return out

    # ---- statistics ---------------------------------------------------------------------

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the feature-wise mean and std (per channel) and the ZCA whitening matrix
        from sample images x (N, H, W, C) (rescaled first, and `rounds` randomly augmented
        copies with `augment`), as Keras; needed only for the feature-wise options."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator.fit: x must have rank 4 (images); received "
                             f"an array of shape {x.shape}")
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(f"ImageDataGenerator.fit: expected 1, 3 or 4 channels on axis "
                          f"{self.channel_axis} ({self.data_format}); received an array of "
                          f"shape {x.shape}.", stacklevel=2)
        if seed is not None:
            np.random.seed(seed)
        x = np.copy(x)
        if self.rescale:
            x *= self.rescale
        if augment:
            x = np.concatenate([self.random_transform_batch(x).astype(self.dtype)
                                for _ in range(rounds)])
        broadcast_shape = [1, 1, 1]
        broadcast_shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=(0, self.row_axis, self.col_axis)),
                                   broadcast_shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=(0, self.row_axis, self.col_axis)),
                                  broadcast_shape)
            x /= self.std + 1e-6
        if self.zca_whitening:
            n = len(x)
            u, s, _ = np.linalg.svd(np.reshape(x, (n, -1)).T, full_matrices=False)
            s_inv = np.sqrt(n) / (s + self.zca_epsilon)
            self.zca_whitening_matrix = (u * s_inv).dot(u.T)


_IDENTITY = {"theta": 0, "tx": 0, "ty": 0, "shear": 0, "zx": 1, "zy": 1, "flip_horizontal": False,
             "flip_vertical": False, "channel_shift_intensity": None, "brightness": None}


def _shift(shift_range, extent):
    """A shift drawn as Keras draws it: from a list (or range(int)) with a random sign, else
    uniform in [-range, range]; a fraction (max < 1) of `extent`."""
    if not shift_range:
        return 0
    try:
        shift = np.random.choice(shift_range)
        shift *= np.random.choice([-1, 1])
    except ValueError:
        shift = np.random.uniform(-shift_range, shift_range)
    if np.max(shift_range) < 1:
        shift *= extent
    return shift
