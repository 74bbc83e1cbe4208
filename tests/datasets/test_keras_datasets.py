"""nk.datasets.mnist / fashion_mnist / cifar10 / cifar100 read the files Keras downloads, written
here small and fake in Keras's formats (mnist.npz; the fashion-mnist idx gz files; CIFAR's
Python 2 pickled batches, as a folder and as the .tar.gz), from $NBKERAS_HOME/datasets or a
given path; they agree with keras.datasets on the same files, refuse a pickle that would run
code, and a missing file's error names the file, its URL and where to put it."""
import gzip
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from nbkeras import config, datasets


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("NBKERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    return tmp_path / "datasets"


def _rng(seed):
    return np.random.default_rng(seed)


def _write_mnist(path, seed=0):
    rng = _rng(seed)
    arrays = dict(x_train=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
                  y_train=rng.integers(0, 10, 5, dtype=np.uint8),
                  x_test=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
                  y_test=rng.integers(0, 10, 3, dtype=np.uint8))
    np.savez(path, **arrays)
    return arrays


def _write_fashion(folder, seed=1):
    """The four idx files: an 8-byte label header and a 16-byte image header, then bytes."""
    rng = _rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    parts = {}
    for prefix, n in (("train", 6), ("t10k", 4)):
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(b"\x00\x00\x08\x01" + n.to_bytes(4, "big") + labels.tobytes())
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\x00\x00\x08\x03" + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
                    + images.tobytes())
        parts[prefix] = (images, labels)
    return parts


def _pickle_batch(data, labels, label_keys):
    """A CIFAR batch as the original files: a pickle of a dict with bytes keys (protocol 4:
    Python 3 writes bytes in protocol 2 through _codecs.encode, which Python 2's files do not
    use and the restricted unpickler, like Keras's, refuses)."""
    batch = {b"data": data.reshape(len(data), -1), b"batch_label": b"fake"}
    batch.update({key.encode(): list(map(int, labels[key])) for key in label_keys})
    return pickle.dumps(batch, protocol=4)


def _cifar10_files(seed=2):
    rng = _rng(seed)
    files, truth = {}, {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
        labels = {"labels": rng.integers(0, 10, 2)}
        files[name] = _pickle_batch(data, labels, ["labels"])
        truth[name] = (data, labels["labels"])
    return files, truth


def _write_folder(folder, files):
    folder.mkdir(parents=True)
    for name, blob in files.items():
        (folder / name).write_bytes(blob)


def _write_tar(path, inner, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in files.items():
            info = tarfile.TarInfo(f"{inner}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def test_mnist_from_the_cache_and_from_a_path(home, tmp_path):
    arrays = _write_mnist(home / "mnist.npz")
    (x_train, y_train), (x_test, y_test) = datasets.mnist.load_data()
    for got, key in ((x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"),
                     (y_test, "y_test")):
        np.testing.assert_array_equal(got, arrays[key])
        assert got.dtype == np.uint8
    other = _write_mnist(tmp_path / "elsewhere.npz", seed=5)
    np.testing.assert_array_equal(
        datasets.mnist.load_data(path=str(tmp_path / "elsewhere.npz"))[1][0], other["x_test"])


def test_fashion_mnist_reads_the_idx_files(home):
    parts = _write_fashion(home / "fashion-mnist")
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
    np.testing.assert_array_equal(x_train, parts["train"][0])
    np.testing.assert_array_equal(y_train, parts["train"][1])
    np.testing.assert_array_equal(x_test, parts["t10k"][0])
    np.testing.assert_array_equal(y_test, parts["t10k"][1])
    assert x_train.shape == (6, 28, 28) and x_test.dtype == np.uint8


@pytest.mark.parametrize("source", ["folder", "keras-extracted", "archive"])
def test_cifar10_from_a_folder_keras_extraction_or_archive(home, source, monkeypatch):
    files, truth = _cifar10_files()
    if source == "folder":
        _write_folder(home / "cifar-10-batches-py", files)
    elif source == "keras-extracted":     # where Keras's get_file(extract=True) unpacks it
        _write_folder(home / "cifar-10-batches-py-target" / "cifar-10-batches-py", files)
    else:
        _write_tar(home / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    path = "cifar-10-batches-py-target" if source == "keras-extracted" else None
    (x_train, y_train), (x_test, y_test) = datasets.cifar10.load_data(path=path)
    want_x = np.concatenate([truth[f"data_batch_{i}"][0] for i in range(1, 6)])
    np.testing.assert_array_equal(x_train, want_x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(
        y_train[:, 0], np.concatenate([truth[f"data_batch_{i}"][1] for i in range(1, 6)]))
    np.testing.assert_array_equal(x_test, truth["test_batch"][0].transpose(0, 2, 3, 1))
    assert (x_train.shape, y_train.shape, y_test.shape) == ((10, 32, 32, 3), (10, 1), (2, 1))
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    monkeypatch.setattr(config, "image_data_format", lambda: "channels_first")
    assert datasets.cifar10.load_data(path=path)[0][0].shape == (10, 3, 32, 32)


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_label_modes(home, label_mode):
    files, truth = _cifar100_files(seed=3)
    _write_tar(home / "cifar-100-python.tar.gz", "cifar-100-python", files)
    (x_train, y_train), (x_test, y_test) = datasets.cifar100.load_data(label_mode=label_mode)
    np.testing.assert_array_equal(x_train, truth["train"][0].transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_test[:, 0], truth["test"][1][f"{label_mode}_labels"])
    with pytest.raises(ValueError, match="cifar100.*label_mode"):
        datasets.cifar100.load_data(label_mode="medium")


def _cifar100_files(seed):
    rng = _rng(seed)
    files, truth = {}, {}
    for name, n in (("train", 4), ("test", 2)):
        data = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        labels = {"fine_labels": rng.integers(0, 100, n), "coarse_labels": rng.integers(0, 20, n)}
        files[name] = _pickle_batch(data, labels, list(labels))
        truth[name] = (data, labels)
    return files, truth


def test_agrees_with_keras_on_the_same_files(home, monkeypatch):
    """Keras's cifar10 needs full 10000-image batches, so its cifar100 (same batch reader)
    and mnist stand in."""
    pytest.importorskip("keras")
    from keras.src.datasets import cifar100 as keras_cifar100
    from keras.src.datasets import mnist as keras_mnist

    files, _ = _cifar100_files(seed=7)
    _write_folder(home / "cifar-100-python-target" / "cifar-100-python", files)
    _write_mnist(home / "mnist.npz", seed=8)
    monkeypatch.setattr(keras_cifar100, "get_file",
                        lambda **kwargs: str(home / "cifar-100-python-target"))
    monkeypatch.setattr(keras_mnist, "get_file", lambda **kwargs: str(home / "mnist.npz"))
    pairs = [(datasets.mnist.load_data(), keras_mnist.load_data())]
    for mode in ("fine", "coarse"):
        pairs.append((datasets.cifar100.load_data(mode, path="cifar-100-python-target"),
                      keras_cifar100.load_data(mode)))
    for ours, theirs in pairs:
        for part_ours, part_theirs in zip(ours, theirs):
            for got, want in zip(part_ours, part_theirs):
                assert got.dtype == want.dtype and got.shape == want.shape
                np.testing.assert_array_equal(got, want)


class _Gadget:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_pickle_that_would_run_code_is_refused(home):
    evil = pickle.dumps({b"data": _Gadget(), b"labels": [0]}, protocol=4)
    files, _ = _cifar10_files()
    files["test_batch"] = evil
    _write_folder(home / "cifar-10-batches-py", files)
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system|refusing"):
        datasets.cifar10.load_data()


@pytest.mark.parametrize("load, names", [
    (lambda: datasets.mnist.load_data(), ["mnist.npz", "tf-keras-datasets/mnist.npz"]),
    (lambda: datasets.fashion_mnist.load_data(),
     ["fashion-mnist", "train-labels-idx1-ubyte.gz"]),
    (lambda: datasets.cifar10.load_data(), ["cifar-10-python.tar.gz", "cifar-10-batches-py"]),
    (lambda: datasets.cifar100.load_data(), ["cifar-100-python.tar.gz", "cifar-100-python"]),
])
def test_a_missing_file_names_the_url_and_the_place(home, load, names):
    with pytest.raises(FileNotFoundError) as error:
        load()
    message = str(error.value)
    assert "https://" in message and str(home) in message and "does not download" in message
    for name in names:
        assert name in message
