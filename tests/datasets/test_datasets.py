"""nk.datasets: digits (scikit-learn's bundled 8x8 digits) and mnist1d (regenerated offline,
cached on disk). Each skips only when its optional package is not installed."""
import os
import random
import sys

import numpy as np
import pytest

from nbkeras import datasets


# ---- digits --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits_full():
    sk_datasets = pytest.importorskip("sklearn.datasets")
    bunch = sk_datasets.load_digits()
    return bunch.images, bunch.target


def test_digits_shapes_dtypes_ranges(digits_full):
    (x_train, y_train), (x_test, y_test) = datasets.digits.load_data()
    assert x_train.shape[1:] == x_test.shape[1:] == (8, 8)
    assert len(x_train) == len(y_train) and len(x_test) == len(y_test)
    assert len(x_train) + len(x_test) == 1797
    assert x_train.dtype == x_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0 and x_test.max() <= 1.0
    assert set(np.unique(y_train)) == set(np.unique(y_test)) == set(range(10))


def test_digits_split_is_a_stratified_partition(digits_full):
    images, target = digits_full
    (x_train, y_train), (x_test, y_test) = datasets.digits.load_data(test_size=0.25)
    counts = np.bincount(target, minlength=10)
    test_counts = np.bincount(y_test, minlength=10)
    assert test_counts.tolist() == [round(0.25 * n) for n in counts]
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), counts - test_counts)
    # train + test is exactly the dataset: same (image, label) rows, as multisets
    ours = np.concatenate([np.concatenate([x_train, x_test]).reshape(-1, 64) * 16,
                           np.concatenate([y_train, y_test])[:, None]], axis=1)
    theirs = np.concatenate([images.reshape(-1, 64), target[:, None]], axis=1)
    np.testing.assert_array_equal(np.unique(ours, axis=0, return_counts=True)[1],
                                  np.unique(theirs, axis=0, return_counts=True)[1])
    np.testing.assert_array_equal(np.unique(ours, axis=0), np.unique(theirs, axis=0))
    # shuffled: the classes are mixed, not in blocks (validation_split takes the tail)
    assert len(np.unique(y_train[-100:])) == 10


def test_digits_split_is_deterministic(digits_full):
    (a, b), (c, d) = datasets.digits.load_data()
    (a2, b2), (c2, d2) = datasets.digits.load_data()
    for left, right in [(a, a2), (b, b2), (c, c2), (d, d2)]:
        np.testing.assert_array_equal(left, right)
    (_, b3), _ = datasets.digits.load_data(seed=1)
    assert not np.array_equal(b, b3)
    (x_small, _), (x_big, _) = datasets.digits.load_data(test_size=0.5)
    assert abs(len(x_big) - len(x_small)) <= 10


@pytest.mark.parametrize("test_size", [0, 1, 1.5, -0.1, "0.2", True])
def test_digits_rejects_bad_test_size(test_size):
    with pytest.raises(ValueError, match="test_size"):
        datasets.digits.load_data(test_size=test_size)


def test_digits_without_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)   # makes the import fail
    with pytest.raises(ImportError, match=r'pip install "nbkeras\[datasets\]"'):
        datasets.digits.load_data()


# ---- mnist1d -------------------------------------------------------------------------------
@pytest.fixture
def no_network(monkeypatch):
    """Any download attempt (requests, or mnist1d's own downloading get_dataset) fails."""
    def refuse(*args, **kwargs):
        raise AssertionError("mnist1d.load_data tried to download")
    requests = pytest.importorskip("requests")
    monkeypatch.setattr(requests, "get", refuse)
    monkeypatch.setattr(requests.Session, "request", refuse)
    mnist1d_data = pytest.importorskip("mnist1d.data")
    monkeypatch.setattr(mnist1d_data, "get_dataset", refuse)


@pytest.fixture(scope="module")
def mnist1d_cache(tmp_path_factory):
    """Generate MNIST-1D once for this module (a couple of seconds), counting generator calls
    and checking that the global random states survive."""
    mnist1d_data = pytest.importorskip("mnist1d.data")
    calls = []
    real = mnist1d_data.make_dataset

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(mnist1d_data, "make_dataset", counting)
    path = tmp_path_factory.mktemp("nbkeras_home") / "cache" / "mnist1d.npz"
    np.random.seed(123)
    random.seed(123)
    before = (np.random.get_state()[1].copy(), random.getstate())
    try:
        first = datasets.mnist1d.load_data(path=str(path))
        after = (np.random.get_state()[1].copy(), random.getstate())
        yield path, first, calls, before, after
    finally:
        mp.undo()


def test_mnist1d_shapes_dtypes(mnist1d_cache, no_network):
    _, ((x_train, y_train), (x_test, y_test)), _, _, _ = mnist1d_cache
    assert x_train.shape == (4000, 40) and x_test.shape == (1000, 40)
    assert y_train.shape == (4000,) and y_test.shape == (1000,)
    assert x_train.dtype == x_test.dtype == np.float32
    assert y_train.dtype == y_test.dtype == np.int64
    assert set(np.unique(y_train)) == set(np.unique(y_test)) == set(range(10))
    assert np.isfinite(x_train).all() and abs(float(x_train.mean())) < 0.2


def test_mnist1d_generation_leaves_global_random_state(mnist1d_cache):
    _, _, calls, before, after = mnist1d_cache
    assert len(calls) == 1
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1] == after[1]


def test_mnist1d_cache_is_written_once_and_reused(mnist1d_cache, no_network):
    path, first, calls, _, _ = mnist1d_cache
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["mnist1d.npz"]   # no temp files left
    stat = path.stat()
    second = datasets.mnist1d.load_data(path=str(path))
    assert len(calls) == 1                       # read from the cache, not regenerated
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and path.stat().st_ino == stat.st_ino
    for a, b in zip(first[0] + first[1], second[0] + second[1]):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def test_mnist1d_default_cache_location(monkeypatch, tmp_path, mnist1d_cache, no_network):
    path, first, calls, _, _ = mnist1d_cache
    monkeypatch.setenv("NBKERAS_HOME", str(tmp_path))
    os.makedirs(tmp_path / "datasets")
    (tmp_path / "datasets" / "mnist1d.npz").write_bytes(path.read_bytes())
    (x_train, _), _ = datasets.mnist1d.load_data()          # found in $NBKERAS_HOME/datasets
    assert len(calls) == 1
    np.testing.assert_array_equal(x_train, first[0][0])
    (x_train, _), _ = datasets.mnist1d.load_data(path="mnist1d.npz")   # relative: same folder
    np.testing.assert_array_equal(x_train, first[0][0])


def fake_dataset(args=None):
    rng = np.random.RandomState(0)
    return {"x": rng.rand(20, 40), "y": np.arange(20) % 10, "x_test": rng.rand(10, 40),
            "y_test": np.arange(10), "t": np.linspace(0, 1, 40), "templates": {}}


def test_mnist1d_corrupt_cache_is_regenerated(monkeypatch, tmp_path, no_network):
    mnist1d_data = pytest.importorskip("mnist1d.data")
    monkeypatch.setattr(mnist1d_data, "make_dataset", fake_dataset)
    path = tmp_path / "m.npz"
    path.write_bytes(b"not an npz file")
    with pytest.warns(UserWarning, match="unreadable"):
        (x_train, y_train), (x_test, _) = datasets.mnist1d.load_data(path=str(path))
    assert x_train.shape == (20, 40) and x_test.shape == (10, 40) and y_train.dtype == np.int64
    (x_again, _), _ = datasets.mnist1d.load_data(path=str(path))
    np.testing.assert_array_equal(x_again, x_train)


def test_mnist1d_failed_write_leaves_no_cache(monkeypatch, tmp_path, no_network):
    mnist1d_data = pytest.importorskip("mnist1d.data")
    monkeypatch.setattr(mnist1d_data, "make_dataset", fake_dataset)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        datasets.mnist1d.load_data(path=str(tmp_path / "m.npz"))
    assert os.listdir(tmp_path) == []


def test_mnist1d_without_package_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(ImportError, match=r'pip install "nbkeras\[datasets\]"'):
        datasets.mnist1d.load_data(path=str(tmp_path / "absent.npz"))
