"""nk.preprocessing.image.ImageDataGenerator: transforms against an independent reference
(scipy.ndimage.affine_transform per channel on a matrix composed here), against Keras's
ImageDataGenerator with the same seeds (the same numbers), seeded reproducibility, every
sample once per epoch, flow_from_directory on a synthetic folder, argument errors, and the
tutorial program training a model on `datagen.flow(...)`."""
import functools
import math
import sys
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from image_folders import CLASSES, write_image_folder

import nbkeras as nk
from nbkeras import layers
from nbkeras.preprocessing import image as nk_image
from nbkeras.preprocessing.image import ImageDataGenerator

ndimage = pytest.importorskip("scipy.ndimage")
pytestmark = pytest.mark.filterwarnings(   # Keras's legacy module calls a deprecated name
    "ignore:Please import `affine_transform`:DeprecationWarning")


# ---- the reference: Keras's documented transform, resampled by scipy ---------------------

def reference_matrix(theta, tx, ty, shear, zx, zy, rows, columns):
    """(2, 3) taking an output (row, column, 1) to its input point: rotation, shift, shear
    and zoom composed in (row, column) = Keras's (x, y) order about the pixel centre, then
    written for scipy's (row, column) indexing by swapping both coordinate orders. The
    products run left to right, as Keras's do: order 0 and "wrap" are discontinuous, so a
    last-bit difference in the offset (5.999999999999999 against 6) can pick another pixel."""
    t, s = np.deg2rad(theta), np.deg2rad(shear)
    steps = [np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]]),
             np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]),
             np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]),
             np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])]
    centre = np.array([rows / 2 - 0.5, columns / 2 - 0.5])
    to_centre, back = np.eye(3), np.eye(3)
    to_centre[:2, 2], back[:2, 2] = centre, -centre
    swap = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    about_centre = np.dot(np.dot(to_centre, functools.reduce(np.dot, steps)), back)
    return (swap @ about_centre @ swap)[:2]


def reference_transform(x, matrix, order, mode, cval):
    """x (H, W, C) through `matrix` by scipy on each channel."""
    return np.stack([ndimage.affine_transform(x[:, :, c], matrix[:, :2], matrix[:, 2],
                                              order=order, mode=mode, cval=cval)
                     for c in range(x.shape[2])], axis=-1)


@settings(max_examples=40)
@given(theta=st.floats(-180, 180), tx=st.floats(-6, 6), ty=st.floats(-6, 6),
       shear=st.floats(-40, 40), zx=st.floats(0.5, 1.6), zy=st.floats(0.5, 1.6),
       rows=st.integers(1, 12), columns=st.integers(1, 12), channels=st.sampled_from([1, 3]),
       order=st.sampled_from([0, 1]),
       mode=st.sampled_from(["constant", "nearest", "reflect", "wrap"]),
       channels_first=st.booleans(), seed=st.integers(0, 2**32 - 1))
@example(theta=0.0, tx=0.0, ty=5.999999999999999, shear=0.0, zx=1.0, zy=1.0, rows=2, columns=6,
         channels=1, order=0, mode="wrap", channels_first=False, seed=0)
def test_apply_affine_transform_matches_scipy_reference(theta, tx, ty, shear, zx, zy, rows,
                                                        columns, channels, order, mode,
                                                        channels_first, seed):
    x = np.random.default_rng(seed).uniform(-1, 1, (rows, columns, channels)).astype("float32")
    want = reference_transform(x, reference_matrix(theta, tx, ty, shear, zx, zy, rows, columns),
                               order, mode, 0.25)
    axes = dict(row_axis=1, col_axis=2, channel_axis=0) if channels_first else \
        dict(row_axis=0, col_axis=1, channel_axis=2)
    image = x.transpose(2, 0, 1) if channels_first else x
    got = nk_image.apply_affine_transform(image, theta, tx, ty, shear, zx, zy, fill_mode=mode,
                                          cval=0.25, order=order, **axes)
    got = got.transpose(1, 2, 0) if channels_first else got
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_apply_affine_transform_with_columns_before_rows():
    """Keras lets the column axis come first (then its matrix is not swapped): a transposed
    image gives the transposed result."""
    x = np.random.default_rng(1).uniform(size=(5, 8, 2)).astype("float32")
    normal = nk_image.apply_affine_transform(x, theta=30, tx=1, zx=0.8, row_axis=0,
                                             col_axis=1, channel_axis=2)
    swapped = nk_image.apply_affine_transform(x.transpose(1, 0, 2), theta=30, tx=1, zx=0.8,
                                              row_axis=1, col_axis=0, channel_axis=2)
    np.testing.assert_array_equal(swapped.transpose(1, 0, 2), normal)


def test_nothing_to_do_returns_the_image_and_bad_axes_are_refused():
    x = np.ones((4, 4, 3), "float32")
    assert nk_image.apply_affine_transform(x, row_axis=0, col_axis=1, channel_axis=2) is x
    with pytest.raises(ValueError, match="apply_affine_transform.*row_axis"):
        nk_image.apply_affine_transform(x, theta=3, row_axis=0, col_axis=0, channel_axis=2)
    with pytest.raises(ValueError, match="apply_affine_transform.*channel_axis must be 0 or 2"):
        nk_image.apply_affine_transform(x, theta=3, row_axis=0, col_axis=2, channel_axis=1)
    with pytest.raises(ValueError, match="fill_mode"):
        nk_image.apply_affine_transform(x, theta=3, fill_mode="mirror", row_axis=0,
                                        col_axis=1, channel_axis=2)


def test_apply_transform_order_of_operations():
    """Affine, channel shift (clipped to the image's range), flips, then brightness."""
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 200, (6, 7, 3)).astype("float32")
    gen = ImageDataGenerator()
    params = dict(theta=15, tx=1, zx=1.1, channel_shift_intensity=30.0, flip_horizontal=1,
                  flip_vertical=0, brightness=None)
    got = gen.apply_transform(x, params)
    moved = reference_transform(x, reference_matrix(15, 1, 0, 0, 1.1, 1, 6, 7), 1, "nearest", 0)
    want = np.clip(moved + np.float32(30.0), moved.min(), moved.max())[:, ::-1]
    np.testing.assert_allclose(got, want, atol=1e-4)


# ---- the same numbers as Keras -------------------------------------------------------------

CONFIGS = [
    dict(rotation_range=30, width_shift_range=0.2, height_shift_range=0.1, zoom_range=0.2,
         horizontal_flip=True),
    dict(rotation_range=45, fill_mode="constant", cval=3.0, shear_range=20, vertical_flip=True),
    dict(rotation_range=45, fill_mode="reflect", zoom_range=[0.5, 1.5]),
    dict(rotation_range=45, fill_mode="wrap", width_shift_range=2, height_shift_range=[1, 3]),
    dict(channel_shift_range=30.0, horizontal_flip=True),
    dict(brightness_range=(0.3, 1.7), rotation_range=10),
    dict(rotation_range=20, interpolation_order=0, data_format="channels_first"),
    dict(featurewise_center=True, featurewise_std_normalization=True, rotation_range=5,
         rescale=1 / 255.0),
    dict(zca_whitening=True, rotation_range=5),
    dict(rotation_range=20, interpolation_order=3, fill_mode="reflect"),
    dict(samplewise_center=True, samplewise_std_normalization=True, rotation_range=5),
]


def _keras_generator():
    keras_image = pytest.importorskip("keras.src.legacy.preprocessing.image")
    return keras_image.ImageDataGenerator


def _epochs(iterator, epochs=2):
    """Every batch of `epochs` epochs, as fit asks for them."""
    batches = []
    for _ in range(epochs):
        batches += [iterator[i] for i in range(len(iterator))]
        iterator.on_epoch_end()
    return batches


@pytest.mark.parametrize("config", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_flow_gives_keras_batches(config, channels):
    KerasGenerator = _keras_generator()
    rng = np.random.default_rng(channels)
    shape = (7, channels, 9, 10) if config.get("data_format") else (7, 9, 10, channels)
    low = -20 if "brightness_range" in config and channels == 3 else 0   # stretched images too
    x = rng.uniform(low, 255, shape).astype("float32")
    y = np.arange(7)
    ours, theirs = ImageDataGenerator(**config), KerasGenerator(**config)
    if "featurewise_center" in config or "zca_whitening" in config:
        ours.fit(x, augment=True, rounds=2, seed=3)
        theirs.fit(x, augment=True, rounds=2, seed=3)
        for name in ("mean", "std", "zca_whitening_matrix"):
            if getattr(theirs, name) is not None:
                np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name),
                                           rtol=1e-5, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _epochs(theirs.flow(x, y, batch_size=3, seed=5))
    got = _epochs(ours.flow(x, y, batch_size=3, seed=5))
    for (gx, gy), (wx, wy) in zip(got, want):
        np.testing.assert_array_equal(gy, wy)
        assert gx.dtype == wx.dtype and gx.shape == wx.shape
        if config.get("samplewise_center") or config.get("zca_whitening"):
            np.testing.assert_allclose(gx, wx, rtol=1e-5, atol=1e-5)   # summation order
        else:
            np.testing.assert_array_equal(gx, wx)


def test_random_transform_and_get_random_transform_match_keras():
    KerasGenerator = _keras_generator()
    config = dict(rotation_range=40, width_shift_range=[2, 3], height_shift_range=0.3,
                  shear_range=10, zoom_range=(0.7, 1.2), channel_shift_range=5.0,
                  brightness_range=(0.8, 1.2), horizontal_flip=True, vertical_flip=True)
    x = np.random.default_rng(4).uniform(0, 255, (11, 13, 3)).astype("float32")
    for seed in range(5):
        want = KerasGenerator(**config).get_random_transform(x.shape, seed=seed)
        assert ImageDataGenerator(**config).get_random_transform(x.shape, seed=seed) == want
        np.testing.assert_array_equal(
            ImageDataGenerator(**config).random_transform(x, seed=seed),
            KerasGenerator(**config).random_transform(x, seed=seed))


@pytest.mark.parametrize("config", [
    dict(rotation_range=40, width_shift_range=0.3, height_shift_range=0.1, shear_range=10,
         zoom_range=(0.7, 1.2), channel_shift_range=5.0, brightness_range=(0.8, 1.2),
         horizontal_flip=True),
    dict(width_shift_range=2, height_shift_range=[1.0, 3.0], vertical_flip=True),
    dict()])
def test_batch_draws_are_the_per_image_draws(config):
    """get_random_transforms(n) gives what n get_random_transform calls give, in one draw."""
    gen = ImageDataGenerator(**config)
    np.random.seed(9)
    one_by_one = [gen.get_random_transform((12, 10, 3)) for _ in range(6)]
    after = np.random.random()
    np.random.seed(9)
    batch = gen.get_random_transforms(6, (12, 10, 3))
    assert np.random.random() == after          # the stream is left where Keras leaves it
    for name in one_by_one[0]:
        assert [p[name] for p in one_by_one] == list(batch[name]), name


def test_standardize_is_keras_standardize():
    KerasGenerator = _keras_generator()
    config = dict(rescale=0.5, samplewise_center=True, samplewise_std_normalization=True,
                  preprocessing_function=lambda image: image + 1)
    x = np.random.default_rng(5).uniform(0, 9, (2, 4, 5, 3)).astype("float32")
    for sample in (x, x[0]):   # a batch's sample-wise statistics are over all of it, as Keras
        np.testing.assert_allclose(ImageDataGenerator(**config).standardize(sample.copy()),
                                   KerasGenerator(**config).standardize(sample.copy()),
                                   rtol=1e-6)


def test_flow_from_directory_gives_keras_batches(tmp_path):
    KerasGenerator = _keras_generator()
    write_image_folder(tmp_path, per_class=4, seed=1)
    config = dict(rotation_range=20, zoom_range=0.1, horizontal_flip=True, rescale=1 / 255.0,
                  validation_split=0.25)
    for subset in ("training", "validation"):
        kwargs = dict(target_size=(10, 8), batch_size=3, seed=2, subset=subset,
                      class_mode="sparse", interpolation="bilinear")
        ours = ImageDataGenerator(**config).flow_from_directory(tmp_path, **kwargs)
        theirs = KerasGenerator(**config).flow_from_directory(tmp_path, **kwargs)
        assert ours.filenames == theirs.filenames and ours.class_indices == theirs.class_indices
        for (gx, gy), (wx, wy) in zip(_epochs(ours), _epochs(theirs)):
            np.testing.assert_array_equal(gy, wy)
            np.testing.assert_array_equal(gx, wx)


# ---- iterators -----------------------------------------------------------------------------

def test_seeded_flows_repeat_and_different_seeds_differ():
    x = np.random.default_rng(6).uniform(0, 1, (10, 6, 6, 3)).astype("float32")
    gen = ImageDataGenerator(rotation_range=30, width_shift_range=0.2, horizontal_flip=True)
    first = _epochs(gen.flow(x, batch_size=4, seed=11))
    again = _epochs(gen.flow(x, batch_size=4, seed=11))
    other = _epochs(gen.flow(x, batch_size=4, seed=12))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


@pytest.mark.parametrize("n, batch_size, shuffle", [(10, 3, True), (9, 3, False), (5, 8, True)])
def test_every_sample_once_per_epoch(n, batch_size, shuffle):
    x = np.zeros((n, 4, 4, 1), "float32")
    it = ImageDataGenerator(rotation_range=10).flow(x, np.arange(n), batch_size=batch_size,
                                                    shuffle=shuffle, seed=0)
    assert len(it) == math.ceil(n / batch_size)
    orders = []
    for _ in range(3):
        seen = np.concatenate([it[i][1] for i in range(len(it))])
        assert sorted(seen) == list(range(n))
        orders.append(seen.tolist())
        it.on_epoch_end()
    assert (orders[0] != orders[1]) == (shuffle and n > 2)
    stream = ImageDataGenerator().flow(x, np.arange(n), batch_size=batch_size, seed=1)
    seen = np.concatenate([next(stream)[1] for _ in range(len(it))])    # the next() protocol
    assert sorted(seen) == list(range(n))
    with pytest.raises(ValueError, match="NumpyArrayIterator.*batch"):
        it[len(it)]


def test_flow_extras_weights_subsets_and_saving(tmp_path):
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 255, (10, 5, 5, 3)).astype("float32")
    extra, y, w = rng.normal(size=(10, 2)), np.tile([0, 1], 5), rng.uniform(size=10)
    gen = ImageDataGenerator(validation_split=0.3, horizontal_flip=True)
    it = gen.flow((x, extra), y, sample_weight=w, batch_size=4, shuffle=False,
                  save_to_dir=str(tmp_path), save_prefix="aug", save_format="png")
    (images, extras), labels, weights = it[0]
    np.testing.assert_array_equal(extras, extra[:4])
    np.testing.assert_array_equal(weights, w[:4])
    assert len(list(tmp_path.glob("aug_*.png"))) == 4
    assert gen.flow(x, y, subset="validation").n == 3 and gen.flow(x, y, subset="training").n == 7
    with pytest.raises(ValueError, match="different classes"):
        gen.flow(x, np.repeat([0, 1], 5), subset="validation")
    with pytest.raises(ValueError, match="NumpyArrayIterator.*rank 4"):
        gen.flow(x[0])
    with pytest.raises(ValueError, match="NumpyArrayIterator.*same length"):
        gen.flow(x, y[:3])


def test_flow_from_directory_classes_modes_and_coverage(tmp_path):
    written = write_image_folder(tmp_path, per_class=4, seed=2)
    gen = ImageDataGenerator()
    it = gen.flow_from_directory(tmp_path, target_size=(6, 6), batch_size=5, seed=0)
    # unlike image_dataset_from_directory, Keras's DirectoryIterator counts hidden folders
    assert list(it.class_indices) == [".hidden", *sorted(CLASSES)]
    assert it.samples == len(written) + 1
    images, labels = it[0]
    assert images.shape == (5, 6, 6, 3) and labels.shape == (5, 5)
    seen = []
    for _ in range(2):
        for i in range(len(it)):
            seen += [it.filenames[j] for j in it.index_array[i * 5:(i + 1) * 5]]
            it[i]
        assert sorted(seen) == sorted(it.filenames) == sorted([*written, ".hidden/skip.png"])
        seen = []
        it.on_epoch_end()
    grey = gen.flow_from_directory(tmp_path, target_size=(6, 6), color_mode="grayscale",
                                   class_mode=None, classes=["c9", "a_cat"], shuffle=False)
    assert grey.class_indices == {"c9": 0, "a_cat": 1} and grey[0].shape[-1] == 1
    same = gen.flow_from_directory(tmp_path, target_size=(6, 6), class_mode="input")
    batch_x, batch_y = same[0]
    np.testing.assert_array_equal(batch_x, batch_y)
    with pytest.raises(ValueError, match="DirectoryIterator.*class_mode"):
        gen.flow_from_directory(tmp_path, class_mode="onehot")
    with pytest.raises(ValueError, match="DirectoryIterator.*color_mode"):
        gen.flow_from_directory(tmp_path, color_mode="cmyk")


@pytest.mark.parametrize("class_mode", ["categorical", "binary", "raw", None])
def test_flow_from_dataframe_gives_keras_batches(tmp_path, class_mode):
    pandas = pytest.importorskip("pandas")
    KerasGenerator = _keras_generator()
    written = write_image_folder(tmp_path, per_class=3, seed=3)
    names = sorted(written) + ["missing.png", "a_cat/notes.txt"]      # two invalid rows
    labels = ["yes" if i % 2 else "no" for i in range(len(names))]
    frame = pandas.DataFrame({"filename": names, "class": labels,
                              "weight": np.linspace(0.5, 1.5, len(names))})
    if class_mode == "raw":
        frame["class"] = np.arange(len(names), dtype=float)
    config = dict(rotation_range=15, horizontal_flip=True, validation_split=0.3)
    kwargs = dict(directory=str(tmp_path), target_size=(7, 9), batch_size=4, seed=1,
                  class_mode=class_mode, subset="training", weight_col="weight")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = ImageDataGenerator(**config).flow_from_dataframe(frame, **kwargs)
        theirs = KerasGenerator(**config).flow_from_dataframe(frame, **kwargs)
        want = _epochs(theirs)
    assert ours.filenames == theirs.filenames
    for got_batch, want_batch in zip(_epochs(ours), want):
        for got, expected in zip(got_batch, want_batch):
            np.testing.assert_array_equal(got, expected)


def test_flow_from_dataframe_needs_pandas(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="flow_from_dataframe needs pandas"):
        ImageDataGenerator().flow_from_dataframe(object(), directory=str(tmp_path))


@pytest.mark.parametrize("kwargs, match", [
    (dict(fill_mode="mirror"), "fill_mode"), (dict(zoom_range=(1, 2, 3)), "zoom_range"),
    (dict(data_format="channels_middle"), "data_format"),
    (dict(validation_split=1.5), "validation_split"),
    (dict(brightness_range=0.5), "brightness_range")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"ImageDataGenerator.*{match}"):
        ImageDataGenerator(**kwargs)


def test_unfitted_featurewise_options_warn():
    gen = ImageDataGenerator(featurewise_center=True, zca_whitening=True)
    with pytest.warns(UserWarning, match="featurewise_center.*fit"):
        gen.standardize(np.ones((4, 4, 3), "float32"))


# ---- the tutorial program ------------------------------------------------------------------

def _tutorial_data():
    rng = np.random.default_rng(8)
    x_train = rng.uniform(0, 255, (100, 12, 12, 3)).astype("float32")
    y_train = nk.utils.to_categorical(rng.integers(0, 3, 100), 3)
    model = nk.Sequential([layers.Input((12, 12, 3)), layers.Conv2D(4, 3, activation="relu"),
                           layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    datagen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True,
                                 rotation_range=20, width_shift_range=0.2,
                                 height_shift_range=0.2, horizontal_flip=True)
    datagen.fit(x_train)
    return x_train, y_train, model, datagen


def test_tutorial_program_trains():
    x_train, y_train, model, datagen = _tutorial_data()
    history = model.fit(datagen.flow(x_train, y_train, batch_size=32),
                        steps_per_epoch=math.ceil(len(x_train) / 32), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.isfinite(history.history["loss"]).all()


def test_tutorial_program_with_a_float_steps_per_epoch():
    """The tutorial's `steps_per_epoch=len(x_train) / 32` (tf.keras 2): ceil(len / 32) steps."""
    x_train, y_train, model, datagen = _tutorial_data()
    batches = []
    model.fit(datagen.flow(x_train, y_train, batch_size=32),
              steps_per_epoch=len(x_train) / 32, epochs=2, verbose=0,
              callbacks=[nk.callbacks.LambdaCallback(
                  on_train_batch_end=lambda batch, logs: batches.append(batch))])
    assert len(x_train) % 32 and batches == list(range(math.ceil(len(x_train) / 32))) * 2


def test_preprocessing_namespace_has_keras_names():
    keras_preprocessing = pytest.importorskip("keras._tf_keras.keras.preprocessing")
    for module, theirs in ((nk.preprocessing.image, keras_preprocessing.image),
                           (nk.preprocessing, keras_preprocessing)):
        wanted = {name for name in dir(theirs) if not name.startswith("_")}
        missing = wanted - set(dir(module)) - {"text", "text_dataset_from_directory"}
        assert not missing, missing
    assert nk.preprocessing.sequence.pad_sequences([[1, 2]], maxlen=3).tolist() == [[0, 1, 2]]
