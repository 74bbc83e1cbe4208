"""keras.utils helpers: pad_sequences, timeseries_dataset_from_array, split_dataset,
normalize, pack/unpack_x_y_sample_weight, is_keras_tensor, standardize_dtype, get_file
(offline), Progbar, and PyDataset in fit (epoch hooks, workers), against plain numpy and
Keras's numbers where Keras is installed."""
import os
import tarfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import utils


@settings(max_examples=30, deadline=None)
@given(lengths=st.lists(st.integers(0, 6), min_size=1, max_size=5),
       maxlen=st.one_of(st.none(), st.integers(0, 7)), padding=st.sampled_from(["pre", "post"]),
       truncating=st.sampled_from(["pre", "post"]), seed=st.integers(0, 2**16))
def test_pad_sequences(lengths, maxlen, padding, truncating, seed):
    rng = np.random.default_rng(seed)
    sequences = [list(rng.integers(1, 9, n)) for n in lengths]
    got = utils.pad_sequences(sequences, maxlen, padding=padding, truncating=truncating,
                              value=-1)
    width = max(lengths) if maxlen is None else maxlen
    assert got.shape == (len(sequences), width) and got.dtype == np.int32
    for row, sequence in zip(got, sequences):
        kept = (sequence[-width:] if truncating == "pre" else sequence[:width]) if width else []
        fill = [-1] * (width - len(kept))
        np.testing.assert_array_equal(row, fill + kept if padding == "pre" else kept + fill)


def test_pad_sequences_errors_and_keras():
    with pytest.raises(ValueError, match="pad_sequences: padding"):
        utils.pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="pad_sequences: maxlen"):
        utils.pad_sequences([[1]], maxlen=-1)
    keras = pytest.importorskip("keras")
    sequences = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    for kwargs in ({}, {"maxlen": 3, "padding": "post"}, {"maxlen": 2, "truncating": "post"},
                   {"dtype": "float32", "value": 0.5}):
        np.testing.assert_array_equal(utils.pad_sequences(sequences, **kwargs),
                                      keras.utils.pad_sequences(sequences, **kwargs))


@settings(max_examples=25, deadline=None)
@given(steps=st.integers(5, 30), length=st.integers(1, 4), stride=st.integers(1, 3),
       rate=st.integers(1, 3), batch=st.integers(1, 5), shuffle=st.booleans())
def test_timeseries_windows(steps, length, stride, rate, batch, shuffle):
    data = np.arange(steps * 2).reshape(steps, 2)
    targets = np.arange(steps) * 10
    dataset = utils.timeseries_dataset_from_array(data, targets, length, stride, rate, batch,
                                                  shuffle=shuffle, seed=3)
    windows = [(data[s:s + (length - 1) * rate + 1:rate], targets[s])
               for s in range(0, steps - (length - 1) * rate, stride)]
    got = [(x[i], y[i]) for x, y in (dataset[b] for b in range(len(dataset)))
           for i in range(len(x))]
    assert len(got) == len(windows) and all(len(dataset[b][0]) <= batch
                                             for b in range(len(dataset)))
    key = (lambda pair: int(pair[1]))
    for (gx, gy), (wx, wy) in zip(sorted(got, key=key), sorted(windows, key=key)):
        np.testing.assert_array_equal(gx, wx)
        assert gy == wy


def test_timeseries_feeds_fit():
    data = np.random.default_rng(0).standard_normal((50, 3)).astype("float32")
    dataset = utils.timeseries_dataset_from_array(data, data[:, 0], 5, batch_size=8)
    model = nk.Sequential([nk.Input((5, 3)), nk.layers.Flatten(), nk.layers.Dense(1)])
    model.compile("sgd", "mse")
    assert len(model.fit(dataset, epochs=2, verbose=0).history["loss"]) == 2
    with pytest.raises(ValueError, match="timeseries_dataset_from_array: sequence_length"):
        utils.timeseries_dataset_from_array(data, None, 0)


def test_split_dataset():
    x, y = np.arange(10).reshape(10, 1), np.arange(10) * 2
    (left_x, left_y), (right_x, right_y) = utils.split_dataset((x, y), left_size=0.7)
    np.testing.assert_array_equal(left_x[:, 0], np.arange(7))
    np.testing.assert_array_equal(right_y, np.arange(7, 10) * 2)
    left, right = utils.split_dataset(x, right_size=3, shuffle=True, seed=1)
    assert sorted(np.concatenate([left, right])[:, 0]) == list(range(10))
    assert len(right) == 3
    for kwargs, name in (({}, "left_size or right_size"), ({"left_size": 1.5}, "left_size"),
                         ({"left_size": 6, "right_size": 6}, "do not split")):
        with pytest.raises(ValueError, match=f"split_dataset.*{name}"):
            utils.split_dataset(x, **kwargs)


def test_small_helpers():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(np.asarray(utils.normalize(nk.ops.convert_to_tensor(x))),
                               [[0.6, 0.8], [0.0, 0.0]], atol=1e-7)
    assert utils.pack_x_y_sample_weight(x) is x
    assert utils.pack_x_y_sample_weight((x,)) == ((x,),)
    assert utils.unpack_x_y_sample_weight([x, 1]) == (x, 1, None)
    with pytest.raises(ValueError, match="unpack_x_y_sample_weight"):
        utils.unpack_x_y_sample_weight((1, 2, 3, 4))
    assert utils.is_keras_tensor(nk.Input((2,))) and not utils.is_keras_tensor(x)
    assert utils.standardize_dtype(np.float64) == "float64"


def test_get_file_is_offline(tmp_path):
    with pytest.raises(FileNotFoundError, match="https://example.com/data.npz"):
        utils.get_file("data.npz", "https://example.com/data.npz", cache_dir=str(tmp_path))
    folder = tmp_path / "datasets"
    folder.mkdir()
    (folder / "a.txt").write_text("hello")
    with tarfile.open(folder / "a.tar.gz", "w:gz") as archive:
        archive.add(folder / "a.txt", arcname="a.txt")
    path = utils.get_file("a.txt", cache_dir=str(tmp_path),
                          file_hash="5d41402abc4b2a76b9719d911017c592")
    assert path == str(folder / "a.txt")
    with pytest.raises(ValueError, match="get_file.*md5"):
        utils.get_file("a.txt", cache_dir=str(tmp_path), file_hash="0" * 32)
    extracted = utils.get_file("a.tar.gz", cache_dir=str(tmp_path), extract=True)
    assert open(os.path.join(extracted, "a.txt")).read() == "hello"


def test_progbar_prints_one_line_when_not_a_terminal(capsys):
    import ipykernel  # noqa: F401  (a process that imported ipykernel is no kernel)
    bar = utils.Progbar(4, stateful_metrics=["acc"])
    bar.update(1, [("loss", 1.0), ("acc", 0.5)])
    bar.update(3, [("loss", 2.0), ("acc", 0.7)])
    bar.add(1, [("loss", 4.0)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("4/4")
    assert "loss: 2.2500" in lines[0] and "acc: 0.7000" in lines[0]   # (1 + 2*2 + 4) / 4


class Squares(utils.PyDataset):
    def __init__(self, workers=1, use_multiprocessing=False):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing)
        self.epochs_ended = 0
        self.order = np.arange(8)

    def __len__(self):
        return 4

    def __getitem__(self, index):
        rows = self.order[index * 2:(index + 1) * 2]
        x = rows[:, None].astype("float32")
        return x, x ** 2

    def on_epoch_end(self):
        self.epochs_ended += 1
        self.order = np.random.default_rng(self.epochs_ended).permutation(8)


@pytest.mark.parametrize("workers, processes", [(1, False), (2, False), (2, True)])
def test_py_dataset_in_fit(workers, processes):
    dataset = Squares(workers, processes)
    model = nk.Sequential([nk.Input((1,)), nk.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(dataset, epochs=3, verbose=0)
    assert dataset.epochs_ended == 3
    assert model.predict(Squares(workers, processes), verbose=0).shape == (8, 1)
    assert utils.Sequence is utils.PyDataset
    with pytest.raises(ValueError, match="Squares: workers"):
        Squares(0)
