"""nk.saving: `.weights.h5` files in Keras 3's layout, atomic writes, all-or-nothing loads."""
import os
import sys

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers
from nbkeras.saving import load_weights, save_weights

h5py = pytest.importorskip("h5py")


class Standardize(layers.Layer):
    """y = (x - mean) * scale: one trainable and one non-trainable weight."""

    def build(self, input_shape):
        n = input_shape[-1]
        self.scale = self.add_weight((n,), "ones", name="scale")
        self.mean = self.add_weight((n,), "zeros", trainable=False, name="mean")

    def call(self, x):
        return (x - self.mean) * self.scale


class Tower(nk.Model):
    """Subclassed: a layer attribute, a list of layers, and a layer sorting after `layers`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(5)
        self.blocks = [layers.Dense(5), layers.Dense(5)]
        self.out = layers.Dense(2)

    def call(self, x):
        x = self.hidden(x)
        for block in self.blocks:
            x = block(x)
        return self.out(x)


def sequential(units=2, use_bias=True):
    return nk.Sequential([nk.Input((4,)), layers.Dense(3, activation="relu"),
                          layers.Dense(units, use_bias=use_bias)])


def nested_functional():
    """Input -> Sequential(Dense, Standardize) -> Functional(Dense, frozen Dense) -> Dense."""
    inner = nk.Sequential([nk.Input((4,)), layers.Dense(6, activation="tanh"), Standardize()])
    i2 = nk.Input((6,))
    frozen = layers.Dense(3)
    frozen.trainable = False
    f2 = nk.Model(i2, frozen(layers.Dense(5)(i2)))
    inp = nk.Input((4,))
    return nk.Model(inp, layers.Dense(2)(f2(inner(inp))))


def randomize(model, seed=0):
    """Give every weight (trainable or not) distinct random values."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.weights])
    return model


def datasets_in(path):
    found = {}

    def record(name, obj):      # returns None: a non-None return stops h5py's visit
        if isinstance(obj, h5py.Dataset):
            found[name] = obj.shape

    with h5py.File(path, "r") as f:
        f.visititems(record)
    return found


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


X = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")


# ---- round trips and layout ---------------------------------------------------------------
@pytest.mark.parametrize("build", [sequential, nested_functional, Tower])
def test_round_trip_into_a_fresh_model(tmp_path, build):
    path = tmp_path / "model.weights.h5"
    source = build()
    source(X)
    randomize(source)
    expected = source(X).numpy()
    save_weights(source, path)
    target = build()
    target(X)
    assert not np.allclose(target(X).numpy(), expected)
    assert load_weights(target, path) is None
    assert_same_weights(target.get_weights(), source.get_weights())
    np.testing.assert_allclose(target(X).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_non_trainable_weights_round_trip(tmp_path):
    source = randomize(nested_functional())
    assert len(source.non_trainable_weights) == 3    # Standardize.mean, frozen kernel, bias
    save_weights(source, tmp_path / "m.weights.h5")
    target = nested_functional()
    load_weights(target, tmp_path / "m.weights.h5")
    assert_same_weights([w.numpy() for w in target.non_trainable_weights],
                        [w.numpy() for w in source.non_trainable_weights])


def test_layout_is_keras_3(tmp_path):
    """Groups by class name within each container, nested models nested, own-variable order
    (checked against Keras 3.15 for these models)."""
    save_weights(nested_functional(), tmp_path / "f.weights.h5")
    assert datasets_in(tmp_path / "f.weights.h5") == {
        "layers/sequential/layers/dense/vars/0": (4, 6),
        "layers/sequential/layers/dense/vars/1": (6,),
        "layers/sequential/layers/standardize/vars/0": (6,),     # trainable scale first,
        "layers/sequential/layers/standardize/vars/1": (6,),     # then non-trainable mean
        "layers/functional/layers/dense/vars/0": (6, 5),
        "layers/functional/layers/dense/vars/1": (5,),
        "layers/functional/layers/dense_1/vars/0": (5, 3),
        "layers/functional/layers/dense_1/vars/1": (3,),
        "layers/dense/vars/0": (3, 2),
        "layers/dense/vars/1": (2,),
    }
    tower = Tower()
    tower(X)
    save_weights(tower, tmp_path / "t.weights.h5")
    assert datasets_in(tmp_path / "t.weights.h5") == {
        "blocks/dense/vars/0": (5, 5), "blocks/dense/vars/1": (5,),
        "blocks/dense_1/vars/0": (5, 5), "blocks/dense_1/vars/1": (5,),
        "hidden/vars/0": (4, 5), "hidden/vars/1": (5,),
        "layers/dense_3/vars/0": (5, 2), "layers/dense_3/vars/1": (2,),   # `out` > `layers`
    }
    with h5py.File(tmp_path / "t.weights.h5", "r") as f:
        assert f["hidden/vars/0"].dtype == np.float32
        np.testing.assert_array_equal(f["hidden/vars/0"][()], tower.hidden.kernel.numpy())


def test_paths_do_not_depend_on_layer_names(tmp_path):
    """Layer names (`dense_17`) differ between builds; the file's groups must not."""
    a, b = sequential(), sequential()
    assert [layer.name for layer in a.layers] != [layer.name for layer in b.layers]
    save_weights(a, tmp_path / "a.weights.h5")
    save_weights(b, tmp_path / "b.weights.h5")
    assert datasets_in(tmp_path / "a.weights.h5") == datasets_in(tmp_path / "b.weights.h5")


def test_pathlib_and_overwrite(tmp_path):
    path = tmp_path / "m.weights.h5"
    save_weights(sequential(), path)
    with pytest.raises(FileExistsError):
        save_weights(sequential(), path, overwrite=False)
    save_weights(sequential(), str(path), overwrite=True)


# ---- bad filenames and files --------------------------------------------------------------
@pytest.mark.parametrize("name", ["m.h5", "m.weights", "m.keras", "m.weights.h5.tmp", "weights"])
def test_filename_must_end_in_weights_h5(tmp_path, name):
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        save_weights(sequential(), tmp_path / name)
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        load_weights(sequential(), tmp_path / name)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.weights.h5"):
        load_weights(sequential(), tmp_path / "absent.weights.h5")


def damaged(path, how):
    data = path.read_bytes()
    if how == "half":
        path.write_bytes(data[:len(data) // 2])
    elif how == "header":
        path.write_bytes(data[:600])
    elif how == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(len(data)))
    elif how == "text":
        path.write_text("this is not an HDF5 file\n")
    elif how == "empty":
        path.write_bytes(b"")


@pytest.mark.parametrize("how", ["half", "header", "garbage", "text", "empty"])
def test_damaged_file_gives_value_error_and_keeps_weights(tmp_path, how):
    path = tmp_path / "model.weights.h5"
    save_weights(randomize(nested_functional(), seed=1), path)
    damaged(path, how)
    model = randomize(nested_functional(), seed=2)
    before = model.get_weights()
    with pytest.raises(ValueError, match="model.weights.h5") as info:
        load_weights(model, path)
    assert isinstance(info.value.__cause__, (OSError, KeyError, RuntimeError, TypeError)) \
        or "truncated" in str(info.value) or "corrupt" in str(info.value)
    assert_same_weights(model.get_weights(), before)


def test_truncated_dataset_data_gives_value_error(tmp_path):
    """A file whose metadata survives but whose last dataset's bytes are cut off."""
    path = tmp_path / "big.weights.h5"
    model = nk.Sequential([nk.Input((4,)), layers.Dense(3), layers.Dense(4000)])
    save_weights(randomize(model), path)
    damaged(path, "half")
    target = randomize(nk.Sequential([nk.Input((4,)), layers.Dense(3), layers.Dense(4000)]), 5)
    before = target.get_weights()
    with pytest.raises(ValueError, match="big.weights.h5"):
        load_weights(target, path)
    assert_same_weights(target.get_weights(), before)


def test_corrupted_bytes_anywhere_give_value_error_or_load(tmp_path):
    """Overwrite each 16-byte window of a good file in turn: loading either succeeds (the
    bytes were unused or plain data) or raises ValueError naming the file, never h5py's own
    exceptions, and a failed load changes no weight. Corrupt metadata must be seen while
    reading groups and datasets, not only when opening the file."""
    path = tmp_path / "f.weights.h5"
    save_weights(sequential(), path)
    good = path.read_bytes()
    model = randomize(sequential(), seed=3)
    before = model.get_weights()
    read_errors = 0
    for offset in range(0, len(good), 32):
        bad = bytearray(good)
        bad[offset:offset + 16] = b"\xff" * 16
        path.write_bytes(bytes(bad))
        try:
            load_weights(model, path)
        except ValueError as error:
            assert "f.weights.h5" in str(error)
            read_errors += "truncated or corrupt" in str(error)
            assert_same_weights(model.get_weights(), before)
        else:
            before = model.get_weights()
    assert read_errors > 0


# ---- architecture mismatches --------------------------------------------------------------
def test_shape_mismatch_names_the_layer_and_keeps_weights(tmp_path):
    path = tmp_path / "m.weights.h5"
    save_weights(randomize(sequential(units=2)), path)
    model = randomize(sequential(units=3), seed=3)    # first Dense matches, second does not
    before = model.get_weights()
    second = model.layers[1]
    with pytest.raises(ValueError, match=rf"Dense '{second.name}'.*layers/dense_1/vars.*"
                                         r"shape \(3, 3\).*\(3, 2\)"):
        load_weights(model, path)
    assert_same_weights(model.get_weights(), before)


def test_variable_count_mismatch_names_the_layer(tmp_path):
    path = tmp_path / "m.weights.h5"
    save_weights(sequential(use_bias=True), path)
    model = randomize(sequential(use_bias=False))
    before = model.get_weights()
    with pytest.raises(ValueError, match=rf"'{model.layers[1].name}'.*1 variables.*holds 2"):
        load_weights(model, path)
    assert_same_weights(model.get_weights(), before)


def test_missing_and_extra_layers(tmp_path):
    path = tmp_path / "m.weights.h5"
    save_weights(sequential(), path)
    bigger = nk.Sequential([nk.Input((4,)), layers.Dense(3), layers.Dense(2), layers.Dense(2)])
    before = randomize(bigger).get_weights()
    with pytest.raises(ValueError, match=r"no group 'layers/dense_2/vars'"):
        load_weights(bigger, path)
    assert_same_weights(bigger.get_weights(), before)
    save_weights(bigger, path)
    smaller = randomize(sequential())
    before = smaller.get_weights()
    with pytest.raises(ValueError, match=r"layers/dense_2.*does not have"):
        load_weights(smaller, path)
    assert_same_weights(smaller.get_weights(), before)


def test_skip_mismatch_loads_the_rest(tmp_path):
    path = tmp_path / "m.weights.h5"
    source = randomize(sequential(units=2))
    save_weights(source, path)
    model = randomize(sequential(units=3), seed=4)
    second = [w.numpy() for w in model.layers[1].weights]
    with pytest.warns(UserWarning, match="skipping"):
        load_weights(model, path, skip_mismatch=True)
    assert_same_weights(model.layers[0].get_weights(), source.layers[0].get_weights())
    assert_same_weights(model.layers[1].get_weights(), second)


def test_unbuilt_model(tmp_path):
    path = tmp_path / "m.weights.h5"
    unbuilt = nk.Sequential([layers.Dense(3), layers.Dense(2)])
    with pytest.raises(ValueError, match="not been built"):
        save_weights(unbuilt, path)
    assert not path.exists()
    save_weights(sequential(), path)
    with pytest.raises(ValueError, match="never built"):
        load_weights(unbuilt, path)


# ---- atomic writes ------------------------------------------------------------------------
def test_crash_during_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.weights.h5"
    good = randomize(sequential(), seed=1)
    save_weights(good, path)
    original = path.read_bytes()
    real = h5py.Group.create_dataset
    calls = []

    def crash_on_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("simulated crash while writing")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", crash_on_third)
    with pytest.raises(OSError, match="simulated crash"):
        save_weights(randomize(sequential(), seed=2), path)
    monkeypatch.undo()
    assert len(calls) == 3                      # it really was interrupted mid-file
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["m.weights.h5"]   # no temporary file left behind
    model = sequential()
    load_weights(model, path)
    assert_same_weights(model.get_weights(), good.get_weights())


def test_crash_before_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.weights.h5"
    save_weights(sequential(), path)
    original = path.read_bytes()

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_weights(randomize(sequential()), path)
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["m.weights.h5"]


def test_without_h5py_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r'pip install "nbkeras\[h5\]"'):
        save_weights(sequential(), tmp_path / "m.weights.h5")


# ---- optimizer state ----------------------------------------------------------------------
def trained_optimizer(model, step=7, seed=0):
    """SGD with momentum, built on `model`, `step` steps in, random momenta."""
    opt = nk.optimizers.SGD(0.1, momentum=0.9)
    opt.build(model.trainable_weights)
    rng = np.random.default_rng(seed)
    opt.iterations.assign(step)
    for v in opt.variables[1:]:
        v.assign(rng.normal(size=v.shape))
    return opt


def state(optimizer):
    return [v.numpy() for v in optimizer.variables]


def test_optimizer_state_round_trip(tmp_path):
    """Keras's layout: iterations, the learning rate, then the slots."""
    path = tmp_path / "m.weights.h5"
    model = randomize(sequential())
    model.optimizer = trained_optimizer(model)
    model.optimizer.learning_rate = 0.25
    save_weights(model, path)
    found = datasets_in(path)
    assert found["optimizer/vars/0"] == found["optimizer/vars/1"] == ()
    assert [found[f"optimizer/vars/{i}"] for i in range(2, 6)] == [(4, 3), (3,), (3, 2), (2,)]
    with h5py.File(path, "r") as f:
        assert f["optimizer/vars/1"].dtype == np.float32
        assert f["optimizer/vars"].attrs["name"] == model.optimizer.name

    fresh = sequential()
    fresh.optimizer = trained_optimizer(fresh, step=0, seed=1)
    assert load_weights(fresh, path) is None
    assert_same_weights(state(fresh.optimizer), state(model.optimizer))
    assert int(fresh.optimizer.iterations.numpy()) == 7
    assert fresh.optimizer.learning_rate == 0.25


def test_an_unbuilt_optimizer_is_built_then_loaded(tmp_path):
    path = tmp_path / "m.weights.h5"
    model = randomize(sequential())
    saved = trained_optimizer(model)
    save_weights(model, path, optimizer=saved)
    fresh = sequential()
    opt = nk.optimizers.SGD(0.1, momentum=0.9)   # unbuilt: only `iterations`
    load_weights(fresh, path, optimizer=opt)
    assert opt.built
    assert_same_weights(fresh.get_weights(), model.get_weights())
    assert_same_weights(state(opt), state(saved))


def test_optimizer_shape_mismatch_changes_nothing(tmp_path):
    path = tmp_path / "m.weights.h5"
    model = randomize(sequential())
    save_weights(model, path, optimizer=trained_optimizer(model))
    fresh = randomize(sequential(), seed=9)
    before = fresh.get_weights()
    wrong = nk.optimizers.SGD(0.1, momentum=0.9)
    wrong.build(list(reversed(fresh.trainable_weights)))    # same count, shapes out of order
    with pytest.raises(ValueError, match=r"SGD.*optimizer/vars.*variable 2 .*shape \(2,\)"):
        load_weights(fresh, path, optimizer=wrong)
    assert_same_weights(fresh.get_weights(), before)
    assert int(wrong.iterations.numpy()) == 0


def test_optimizer_of_another_kind_warns_for_the_models_own(tmp_path):
    """model.load_weights must still load the weights of a model compiled with another
    optimizer (as Keras, which skips the state); an optimizer passed in must fit."""
    path = tmp_path / "m.weights.h5"
    model = randomize(sequential())
    save_weights(model, path, optimizer=trained_optimizer(model))
    fresh = sequential()
    fresh.optimizer = nk.optimizers.Adam()
    with pytest.warns(UserWarning, match=r"Adam.*optimizer/vars.*skipping"):
        load_weights(fresh, path)
    assert_same_weights(fresh.get_weights(), model.get_weights())
    assert int(fresh.optimizer.iterations.numpy()) == 0
    before = randomize(fresh, seed=3).get_weights()
    with pytest.raises(ValueError, match=r"Adam.*has 10 variables.*holds 6"):
        load_weights(fresh, path, optimizer=nk.optimizers.Adam())
    assert_same_weights(fresh.get_weights(), before)


def test_optimizer_opt_out_and_absent_state(tmp_path):
    path = tmp_path / "m.weights.h5"
    model = sequential()
    model.optimizer = trained_optimizer(model)
    save_weights(model, path, optimizer=False)
    assert not any(name.startswith("optimizer") for name in datasets_in(path))
    assert load_weights(model, path) is None                 # model's own optimizer: optional
    with pytest.raises(ValueError, match="no optimizer state"):
        load_weights(model, path, optimizer=nk.optimizers.SGD())   # asked for explicitly
    save_weights(model, path)
    load_weights(sequential(), path)          # state for an optimizer the model lacks: ignored
