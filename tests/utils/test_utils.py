"""nk.utils.to_categorical against plain numpy, and the atomic file writer."""
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nbkeras as nk
from nbkeras.utils import to_categorical
from nbkeras.utils.file_utils import atomic_write_path


def one_hot_reference(labels, num_classes):
    """Plain numpy: row `k` of the identity for every label, trailing size-1 axis dropped."""
    labels = np.asarray(labels)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    out = np.zeros(labels.shape + (num_classes,), dtype=np.float32)
    for index in np.ndindex(labels.shape):
        out[index + (int(labels[index]),)] = 1.0
    return out


@given(labels=hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                         elements=st.integers(0, 6)),
       extra=st.integers(0, 3))
def test_to_categorical_matches_numpy(labels, extra):
    num_classes = int(labels.max()) + 1 + extra
    got = to_categorical(labels, num_classes)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, one_hot_reference(labels, num_classes))
    np.testing.assert_array_equal(to_categorical(labels),
                                  one_hot_reference(labels, labels.max() + 1))


def test_to_categorical_shapes_as_keras():
    assert to_categorical([0, 2, 1]).shape == (3, 3)
    assert to_categorical([[0], [2], [1]]).shape == (3, 3)           # (n, 1) is squeezed
    assert to_categorical([[0, 1], [2, 1]], 5).shape == (2, 2, 5)
    assert to_categorical(np.zeros((2, 1, 3), int), 2).shape == (2, 1, 3, 2)
    assert to_categorical(3, 4).shape == (4,)
    np.testing.assert_array_equal(to_categorical([1.0, 0.0]), [[0, 1], [1, 0]])  # integral floats
    np.testing.assert_array_equal(to_categorical(nk.ops.convert_to_tensor(np.array([1, 0]))),
                                  [[0, 1], [1, 0]])
    assert to_categorical(np.zeros((0,), int), 3).shape == (0, 3)


@pytest.mark.parametrize("labels, num_classes, match", [
    ([0, -1], 3, r"\[0, 3\)"),
    ([0, 3], 3, r"\[0, 3\)"),
    ([0.5, 1.0], None, "fractional"),
    (["a", "b"], None, "integer class labels"),
    (np.zeros((0,), int), None, "empty"),
    ([0, 1], 0, "num_classes"),
])
def test_to_categorical_rejects_bad_labels(labels, num_classes, match):
    with pytest.raises(ValueError, match=match):
        to_categorical(labels, num_classes)


def test_atomic_write_replaces_on_success(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_write_path(target) as temp:
        assert os.path.dirname(temp) == str(tmp_path) and temp != str(target)
        assert target.read_bytes() == b"old"       # untouched while the new file is written
        with open(temp, "wb") as handle:
            handle.write(b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write_path(target) as temp:
            with open(temp, "wb") as handle:
                handle.write(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]
