"""nk.utils image utilities: load_img / img_to_array / array_to_img / save_img / smart_resize
against Keras's on the same files and arrays, and image_dataset_from_directory on a synthetic
folder (PNG/JPEG/BMP, grey and RGBA files, a stray text file, a hidden folder): classes in
alphanumeric order, Keras's file order and splits for a seed, every label mode, each file once
per epoch, and a model fitting on it."""
import io
import sys

import numpy as np
import pytest
from image_folders import CLASSES, write_image_folder

import nbkeras as nk
from nbkeras import layers
from nbkeras.utils import image_utils

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    return root, write_image_folder(root, per_class=5, seed=0)


# ---- arrays and files ---------------------------------------------------------------------

@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_array_to_img_and_back(channels, data_format):
    rng = np.random.default_rng(channels)
    x = rng.integers(0, 256, (5, 7, channels)).astype("float32")
    if data_format == "channels_first":
        x = x.transpose(2, 0, 1)
    img = nk.utils.array_to_img(x, data_format=data_format, scale=False)
    assert img.mode == {1: "L", 3: "RGB", 4: "RGBA"}[channels] and img.size == (7, 5)
    back = nk.utils.img_to_array(img, data_format=data_format)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, x)


def test_array_to_img_scales_like_keras():
    keras_utils = pytest.importorskip("keras.utils")
    rng = np.random.default_rng(1)
    for x in (rng.normal(size=(4, 6, 3)), rng.uniform(0, 900, (4, 6, 1)),
              np.zeros((3, 3, 4))):
        for scale in (True, False):
            want = np.asarray(keras_utils.array_to_img(np.clip(x, 0, None), scale=scale))
            got = np.asarray(nk.utils.array_to_img(np.clip(x, 0, None), scale=scale))
            np.testing.assert_array_equal(got, want)


def test_array_to_img_rejects_bad_shapes():
    with pytest.raises(ValueError, match="array_to_img.*rank 3.*\\(4, 4\\)"):
        nk.utils.array_to_img(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="array_to_img.*channels 2"):
        nk.utils.array_to_img(np.zeros((4, 4, 2)))


@pytest.mark.parametrize("ext", ["png", "bmp", "jpg"])
def test_save_img_then_load_img(tmp_path, ext):
    rows, columns = np.mgrid[0:9, 0:11]     # smooth, so JPEG keeps it close
    x = np.stack([rows * 20, columns * 15, rows + columns * 10], -1).astype("float32")
    path = tmp_path / f"picture.{ext}"
    nk.utils.save_img(path, x, scale=False)
    back = nk.utils.img_to_array(nk.utils.load_img(path))
    assert back.shape == (9, 11, 3)
    if ext != "jpg":
        np.testing.assert_array_equal(back, x)
    else:
        assert np.abs(back - x).mean() < 8      # lossy, but the same picture


def test_save_img_jpeg_of_rgba_warns_and_drops_alpha(tmp_path):
    with pytest.warns(UserWarning, match="RGBA"):
        nk.utils.save_img(tmp_path / "a.jpeg", np.full((4, 4, 4), 200.0))
    assert Image.open(tmp_path / "a.jpeg").mode == "RGB"


@pytest.mark.parametrize("color_mode", ["rgb", "rgba", "grayscale"])
@pytest.mark.parametrize("target_size, interpolation, keep_aspect_ratio", [
    (None, "nearest", False), ((5, 9), "nearest", False), ((8, 6), "bilinear", True),
    ((7, 7), "bicubic", True), ((4, 12), "lanczos", False)])
def test_load_img_matches_keras(folder, color_mode, target_size, interpolation,
                                keep_aspect_ratio):
    keras_utils = pytest.importorskip("keras.utils")
    root, written = folder
    for name in list(written)[:6]:
        kwargs = dict(color_mode=color_mode, target_size=target_size,
                      interpolation=interpolation, keep_aspect_ratio=keep_aspect_ratio)
        got = nk.utils.load_img(root / name, **kwargs)
        want = keras_utils.load_img(root / name, **kwargs)
        assert got.mode == want.mode and got.size == want.size
        np.testing.assert_array_equal(nk.utils.img_to_array(got),
                                      keras_utils.img_to_array(want))


def test_load_img_reads_bytes_io_and_checks_its_arguments(folder):
    root, written = folder
    name = next(n for n in written if n.endswith(".png"))
    data = io.BytesIO((root / name).read_bytes())
    assert nk.utils.load_img(data).mode == "RGB"
    with pytest.raises(ValueError, match="load_img.*color_mode"):
        nk.utils.load_img(root / name, color_mode="cmyk")
    with pytest.raises(ValueError, match="load_img.*interpolation"):
        nk.utils.load_img(root / name, target_size=(3, 3), interpolation="cubic")
    with pytest.raises(TypeError, match="load_img.*path"):
        nk.utils.load_img(3)


def test_missing_pillow_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"nbkeras\[images\]"):
        nk.utils.load_img(tmp_path / "x.png")
    with pytest.raises(ImportError, match=r"Pillow.*nbkeras\[images\]"):
        nk.utils.array_to_img(np.zeros((2, 2, 3)))


@pytest.mark.parametrize("shape, size", [((20, 10, 3), (8, 8)), ((2, 9, 17, 1), (6, 4)),
                                         ((5, 5, 2), (10, 3))])
def test_smart_resize_matches_keras(shape, size):
    keras_image = pytest.importorskip("keras.preprocessing.image")
    x = np.random.default_rng(4).uniform(0, 255, shape).astype("float32")
    got = image_utils.smart_resize(x, size)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, keras_image.smart_resize(x, size), rtol=1e-5, atol=1e-3)


# ---- image_dataset_from_directory ---------------------------------------------------------

def _dataset(root, **kwargs):
    kwargs = dict(dict(image_size=(8, 8), batch_size=4, seed=3, verbose=False), **kwargs)
    return nk.utils.image_dataset_from_directory(root, **kwargs)


def test_classes_in_alphanumeric_order_and_files_as_keras_indexes_them(folder):
    keras_dataset_utils = pytest.importorskip("keras.src.utils.dataset_utils")
    root, written = folder
    ds = _dataset(root)
    assert ds.class_names == sorted(CLASSES) == ["a_cat", "b_dog", "c10", "c9"]
    assert len(ds.file_paths) == len(written)      # the .txt files and .hidden are skipped
    paths, labels, names = keras_dataset_utils.index_directory(
        str(root), "inferred", formats=(".bmp", ".gif", ".jpeg", ".jpg", ".png"), seed=3,
        verbose=False)
    assert ds.file_paths == paths and names == ds.class_names
    np.testing.assert_array_equal(ds.labels, labels)


def test_iterates_like_the_tutorials(folder):
    root, written = folder
    ds = _dataset(root, batch_size=8)
    batches = list(ds)
    assert len(batches) == len(ds) == -(-len(written) // 8)
    for images, labels in ds.take(1):
        np.testing.assert_array_equal(images, batches[0][0])
        np.testing.assert_array_equal(labels, batches[0][1])
    assert len(ds.take(-1)) == len(ds) and len(ds.take(100)) == len(ds)


def test_every_file_once_per_epoch_with_its_label(folder):
    root, written = folder
    ds = _dataset(root, image_size=(8, 8), batch_size=3)
    for _ in range(2):
        seen = []
        for index in range(len(ds)):
            images, labels = ds[index]
            assert images.dtype == np.float32 and images.shape[1:] == (8, 8, 3)
            assert labels.dtype == np.int32
            seen += [ds.file_paths[i] for i in ds.order[index * 3:(index + 1) * 3]]
            for path, label in zip(seen[-len(labels):], labels):
                assert ds.class_names[label] == path.split("/")[-2]
        assert sorted(seen) == sorted(ds.file_paths)
        ds.on_epoch_end()


def test_images_are_the_files_pixels_when_sizes_match(tmp_path):
    rng = np.random.default_rng(5)
    want = {}
    for name in ("x", "y"):
        (tmp_path / name).mkdir()
        pixels = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / name / "a.png")
        want[name] = pixels
    ds = _dataset(tmp_path, image_size=(6, 6), shuffle=False)
    images, labels = ds[0]
    np.testing.assert_array_equal(images[0], want["x"])
    np.testing.assert_array_equal(images[1], want["y"])
    np.testing.assert_array_equal(labels, [0, 1])


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("aspect", ["crop_to_aspect_ratio", "pad_to_aspect_ratio", None])
def test_images_match_keras_resize(folder, interpolation, aspect):
    keras_images = pytest.importorskip("keras.src.utils.image_dataset_utils")
    root, _ = folder
    options = {aspect: True} if aspect else {}
    ds = _dataset(root, image_size=(7, 5), interpolation=interpolation, shuffle=False,
                  **options)
    images, _ = ds[0]
    for path, image in zip(ds.file_paths, images):
        want = keras_images._load_image_grain(path, (7, 5), 3, interpolation,
                                              "channels_last", **options)
        np.testing.assert_allclose(image, np.asarray(want), rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize("label_mode, color_mode", [("categorical", "grayscale"),
                                                    ("binary", "rgba"), (None, "rgb")])
def test_label_modes_and_color_modes(tmp_path, label_mode, color_mode):
    write_image_folder(tmp_path, per_class=2, seed=6)
    if label_mode == "binary":         # binary needs exactly two classes
        kwargs = dict(class_names=["c9", "a_cat"])
    else:
        kwargs = {}
    ds = _dataset(tmp_path, label_mode=label_mode, color_mode=color_mode, batch_size=8,
                  **kwargs)
    channels = {"grayscale": 1, "rgba": 4, "rgb": 3}[color_mode]
    batch = ds[0]
    if label_mode is None:
        assert batch.shape == (8, 8, 8, channels)
        return
    images, labels = batch
    assert images.shape[1:] == (8, 8, channels)
    if label_mode == "categorical":
        assert labels.shape == (8, 4) and labels.dtype == np.float32
        np.testing.assert_array_equal(labels.sum(axis=1), 1)
    else:
        assert ds.class_names == ["c9", "a_cat"] and labels.shape == (4, 1)
        for path, label in zip(ds.file_paths, labels[:, 0]):
            assert path.split("/")[-2] == ds.class_names[int(label)]


def test_subset_both_splits_as_keras(folder):
    root, written = folder
    train, val = _dataset(root, validation_split=0.25, subset="both")
    assert len(val.file_paths) == int(0.25 * len(written))
    assert sorted(train.file_paths + val.file_paths) == sorted(_dataset(root).file_paths)
    assert val.shuffle is False
    only_val = _dataset(root, validation_split=0.25, subset="validation")
    assert only_val.file_paths == val.file_paths
    assert _dataset(root, validation_split=0.25, subset="training").file_paths == \
        train.file_paths


def test_explicit_labels_and_single_images(tmp_path):
    write_image_folder(tmp_path, per_class=1, seed=7)    # 4 files, and .hidden/skip.png:
    ds = _dataset(tmp_path, labels=[3, 1, 1, 0, 1], shuffle=False, batch_size=None)  # Keras
    assert ds.class_names == ["0", "1", "3"] and len(ds) == 5       # counts that one too
    image, label = ds[0]
    assert image.shape == (8, 8, 3) and label == 3


@pytest.mark.parametrize("kwargs, match", [
    (dict(label_mode="sparse"), "label_mode"), (dict(color_mode="cmyk"), "color_mode"),
    (dict(image_size=(1, 2, 3)), "image_size"), (dict(interpolation="cubic"), "interpolation"),
    (dict(validation_split=0.2), "subset"), (dict(subset="training"), "subset"),
    (dict(validation_split=0.2, subset="both", seed=None), "seed"),
    (dict(class_names=["zebra"]), "class_names"), (dict(labels=[0, 1]), "labels"),
    (dict(label_mode="binary"), "binary"),
    (dict(crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "aspect")])
def test_bad_arguments(folder, kwargs, match):
    root, _ = folder
    with pytest.raises(ValueError, match=f"image_dataset_from_directory.*{match}"):
        _dataset(root, **kwargs)


def test_fit_takes_the_dataset(folder):
    root, _ = folder
    train, val = _dataset(root, validation_split=0.2, subset="both", label_mode="categorical")
    model = nk.Sequential([layers.Input((8, 8, 3)), layers.Conv2D(4, 3, activation="relu"),
                           layers.Flatten(),
                           layers.Dense(len(train.class_names), activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and "val_accuracy" in history.history
    assert model.predict(val, verbose=0).shape == (len(val.file_paths), 4)
