"""`.keras` files: model.save / nk.models.load_model round trips, resumed training, atomic
saves, and clear errors (naming the file and the entry) for damaged or hostile files."""
import codecs
import json
import marshal
import os
import zipfile

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers
from nbkeras.saving import InvalidArchiveError
from nbkeras.saving import keras_archive

h5py = pytest.importorskip("h5py")
X = np.random.default_rng(1).normal(size=(5, 4)).astype("float32")


@nk.saving.register_keras_serializable(package="ArchiveTests")
class Scale(layers.Layer):
    """y = x * w, one weight per feature; registered, with a Keras-style __init__."""

    def __init__(self, initial=1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial = initial

    def build(self, input_shape):
        self.w = self.add_weight((input_shape[-1],), "ones", name="w")

    def call(self, x):
        return x * self.w * self.initial


class Unregistered(Scale):
    """The same layer, known only through `custom_objects`."""


@nk.saving.register_keras_serializable(package="ArchiveTests")
class Tower(nk.Model):
    """Subclassed, built from its constructor arguments (Keras's rule)."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(units, activation="tanh")
        self.out = layers.Dense(2)

    def call(self, x):
        return self.out(self.hidden(x))


def sequential():
    return nk.Sequential([nk.Input((4,)), layers.Dense(6, activation="relu"),
                          layers.BatchNormalization(), Scale(initial=0.5), layers.Dense(2)])


def functional():
    """Two inputs, a shared layer, a nested Sequential, two outputs (a dict)."""
    a, b = nk.Input((4,), name="a"), nk.Input((4,), name="b")
    shared = layers.Dense(5, name="shared")
    block = nk.Sequential([nk.Input((10,)), layers.Dense(3, activation="relu")], name="block")
    h = block(layers.Concatenate()([shared(a), shared(b)]))
    return nk.Model({"a": a, "b": b}, {"z": layers.Dense(1, name="z")(h),
                                       "p": layers.Dense(2, activation="softmax", name="p")(h)})


def subclassed():
    model = Tower(units=4)
    model(X)
    return model


def inputs_for(build):
    return {"a": X, "b": X[::-1].copy()} if build is functional else X


def randomize(model, seed=0):
    """Distinct positive weights (batch-norm variances must stay positive)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.1, 1.0, w.shape).astype(w.dtype) for w in model.weights])
    return model


def assert_same_outputs(a, b):
    if isinstance(a, dict):
        assert sorted(a) == sorted(b)
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


# ---- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [sequential, functional, subclassed])
def test_round_trip_keeps_config_weights_and_outputs(tmp_path, build):
    model = randomize(build())
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = nk.models.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    if build is not subclassed:   # a subclassed model's sublayers get fresh names, as in Keras
        assert [w.path for w in loaded.weights] == [w.path for w in model.weights]
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert_same_outputs(loaded.predict(inputs_for(build), verbose=0),
                        model.predict(inputs_for(build), verbose=0))


def test_custom_objects_and_compile_false(tmp_path):
    model = nk.Sequential([nk.Input((4,)), Unregistered(initial=2.0), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="Unregistered"):
        nk.models.load_model(tmp_path / "m.keras")
    loaded = nk.saving.load_model(tmp_path / "m.keras", custom_objects={
        "Unregistered": Unregistered}, compile=False)
    assert not loaded.compiled
    assert loaded.layers[0].initial == 2.0
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_training_resumes_exactly_where_it_stopped(tmp_path):
    """2 steps, save, load, 1 step == 3 steps uninterrupted: weights, optimizer slots,
    iteration count, metrics and per-output losses restored."""
    rng = np.random.default_rng(3)
    batches = [({"a": rng.normal(size=(8, 4)).astype("float32"),
                 "b": rng.normal(size=(8, 4)).astype("float32")},
                {"z": rng.normal(size=(8, 1)).astype("float32"),
                 "p": rng.integers(0, 2, 8)}) for _ in range(3)]

    def compiled():
        nk.config.set_random_seed(7)
        model = functional()
        model.compile(optimizer=nk.optimizers.Adam(1e-2, beta_1=0.8),
                      loss={"z": "mse", "p": "sparse_categorical_crossentropy"},
                      loss_weights={"z": 0.5, "p": 1.0}, metrics={"p": ["accuracy"]})
        return model

    straight, interrupted = compiled(), compiled()
    for x, y in batches:
        expected = straight.train_on_batch(x, y, return_dict=True)
    for x, y in batches[:2]:
        interrupted.train_on_batch(x, y)
    interrupted.save(tmp_path / "ckpt.keras")
    resumed = nk.models.load_model(tmp_path / "ckpt.keras")
    assert int(np.asarray(resumed.optimizer.iterations)) == 2
    assert resumed.get_compile_config() == interrupted.get_compile_config()
    logs = resumed.train_on_batch(*batches[2], return_dict=True)
    assert logs.keys() == expected.keys()
    for key in expected:
        np.testing.assert_allclose(logs[key], expected[key], rtol=1e-6)
    for a, b in zip(resumed.weights + resumed.optimizer.variables,
                    straight.weights + straight.optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_to_json_and_model_from_json():
    model = functional()
    text = model.to_json(indent=1)
    assert json.loads(text)["class_name"] == "Functional"
    rebuilt = nk.models.model_from_json(text)
    assert rebuilt.get_config() == model.get_config()
    rebuilt.set_weights(model.get_weights())
    assert_same_outputs(rebuilt.predict(inputs_for(functional), verbose=0),
                        model.predict(inputs_for(functional), verbose=0))


def test_unrevivable_subclassed_model_raises_keras_error(tmp_path):
    """A subclassed model whose config lacks a constructor argument: Keras's TypeError."""

    @nk.saving.register_keras_serializable(package="ArchiveTests")
    class NeedsUnits(nk.Model):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(units)

        def call(self, x):
            return self.dense(x)

        def get_config(self):
            return {"name": self.name}

    model = NeedsUnits(3)
    model(X)
    model.save(tmp_path / "m.keras")
    with pytest.raises(TypeError, match="Unable to revive model from config"):
        nk.models.load_model(tmp_path / "m.keras")


def test_unzipped_directory_round_trip(tmp_path):
    model = randomize(sequential())
    model.save(tmp_path / "saved", zipped=False)
    assert sorted(os.listdir(tmp_path / "saved")) == ["config.json", "metadata.json",
                                                      "model.weights.h5"]
    assert_same_outputs(nk.models.load_model(tmp_path / "saved").predict(X, verbose=0),
                        model.predict(X, verbose=0))


def test_load_weights_from_a_keras_file(tmp_path):
    model = randomize(sequential())
    model.save(tmp_path / "m.keras")
    fresh = sequential()
    fresh.load_weights(tmp_path / "m.keras")
    assert_same_outputs(fresh.predict(X, verbose=0), model.predict(X, verbose=0))


def test_tutorial_models_save_and_load(tmp_path):
    """Step 7 of the tutorials for the demo's model and the notebooks' models."""
    from nbkeras.demo import paper_cnn

    digits_cnn = nk.Sequential([
        nk.Input((8, 8, 1)), layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2), layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    image = nk.Input((8, 8, 1))
    x = layers.MaxPooling2D(2)(layers.Conv2D(16, 3, padding="same", activation="relu")(image))
    tiny_vgg = nk.Model(image, layers.Dense(10, activation="softmax")(layers.Flatten()(x)))
    rng = np.random.default_rng(0)
    for model, shape in ((paper_cnn(), (3, 40, 1)), (digits_cnn, (3, 8, 8, 1)),
                         (tiny_vgg, (3, 8, 8, 1))):
        model.compile(optimizer=nk.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        batch = rng.normal(size=shape).astype("float32")
        model.train_on_batch(batch, rng.integers(0, 10, 3))
        model.save(tmp_path / "m.keras")
        loaded = nk.models.load_model(tmp_path / "m.keras")
        np.testing.assert_allclose(loaded.predict(batch, verbose=0),
                                   model.predict(batch, verbose=0), rtol=1e-6, atol=1e-7)


# ---- saving is atomic -------------------------------------------------------------------------
class BrokenConfig(Scale):
    def get_config(self):
        raise RuntimeError("get_config failed")


def _files(directory) -> list[str]:
    return sorted(os.listdir(directory))


def test_failed_save_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    sequential().save(path)
    before = path.read_bytes()
    broken = nk.Sequential([nk.Input((4,)), BrokenConfig()])
    with pytest.raises(RuntimeError, match="get_config failed"):
        broken.save(path)
    assert path.read_bytes() == before and _files(tmp_path) == ["m.keras"]

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keras_archive.shutil, "copyfileobj", full_disk)
    with pytest.raises(OSError, match="No space left"):
        sequential().save(path)
    assert path.read_bytes() == before and _files(tmp_path) == ["m.keras"]


def test_save_arguments_as_keras(tmp_path):
    model = sequential()
    with pytest.raises(ValueError, match="expected a `.keras` extension"):
        model.save(tmp_path / "m.zip")
    with pytest.raises(ValueError, match="should not end in `.keras`"):
        model.save(tmp_path / "m.keras", zipped=False)
    with pytest.raises(ValueError, match=r"not supported: \['save_traces'\]"):
        model.save(tmp_path / "m.keras", save_traces=True)
    model.save(tmp_path / "m.keras", include_optimizer=False)
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(ValueError, match="File format not supported"):
        nk.models.load_model(tmp_path / "m.h5")
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        nk.models.load_model(tmp_path / "missing.keras")


# ---- damaged and hostile files ----------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    """A valid file of a compiled Sequential, and its members' bytes."""
    model = randomize(sequential())
    model.compile(optimizer="adam", loss="mse")
    model.train_on_batch(X, X[:, :2])
    path = tmp_path / "good.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return path, members


def rezip(path, members: dict, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def edited_weights(tmp_path, members, edit) -> bytes:
    """The weights member after `edit(h5 file)`."""
    weights = tmp_path / "edit.weights.h5"
    weights.write_bytes(members["model.weights.h5"])
    with h5py.File(weights, "r+") as f:
        edit(f)
    return weights.read_bytes()


def assert_refused(path, entry: str, match: str):
    with pytest.raises(InvalidArchiveError, match=match) as caught:
        nk.models.load_model(path)
    message = str(caught.value)
    assert repr(str(path)) in message and (entry is None or repr(entry) in message), message


def test_truncated_and_non_zip_files(tmp_path, saved):
    path, _ = saved
    data = path.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 10):
        (tmp_path / "cut.keras").write_bytes(data[:cut])
        assert_refused(tmp_path / "cut.keras", None, "not a valid `.keras` zip")


def test_bad_json_entries(tmp_path, saved):
    path, members = saved
    for name, text, match in (("config.json", b"{not json", "JSONDecodeError"),
                              ("config.json", b"[1, 2]", "expected a JSON object"),
                              ("config.json", b"\xff\xfe", "UnicodeDecodeError"),
                              ("metadata.json", b"", "JSONDecodeError")):
        assert_refused(rezip(tmp_path / "bad.keras", {**members, name: text}), name, match)
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["units"] = "six"
    assert_refused(rezip(tmp_path / "bad.keras", {**members, "config.json": json.dumps(config)}),
                   "config.json", "units")


def test_missing_members(tmp_path, saved):
    _, members = saved
    for name in ("config.json", "model.weights.h5"):
        kept = {k: v for k, v in members.items() if k != name}
        assert_refused(rezip(tmp_path / "bad.keras", kept), name, "missing")


def test_weights_that_do_not_fit(tmp_path, saved):
    _, members = saved
    kernel = "layers/dense/vars/0"

    def missing(f):
        del f["layers/dense_1"]

    def extra(f):
        f.create_dataset("layers/dense_9/vars/0", data=np.zeros(3, "float32"))

    def wrong_shape(f):
        del f[kernel]
        f.create_dataset(kernel, data=np.zeros((4, 7), "float32"))

    def wrong_dtype(f):
        del f[kernel]
        f.create_dataset(kernel, data=np.full((4, 6), b"ab"))

    def huge(f):   # declares 2**40 floats (4 TiB) and stores none
        del f[kernel]
        f.create_dataset(kernel, shape=(2**20, 2**20), dtype="float32", chunks=(1, 1024))

    for edit, match in ((missing, "dense_1"), (extra, "dense_9"), (wrong_shape, r"\(4, 7\)"),
                        (wrong_dtype, "dense"), (huge, "1048576")):
        weights = edited_weights(tmp_path, members, edit)
        assert_refused(rezip(tmp_path / "bad.keras", {**members, "model.weights.h5": weights}),
                       "model.weights.h5", match)


def test_a_failed_load_changes_nothing(tmp_path, saved):
    _, members = saved
    model = randomize(sequential(), seed=5)
    before = model.get_weights()

    def wrong_last_shape(f):
        del f["layers/dense_1/vars/1"]
        f.create_dataset("layers/dense_1/vars/1", data=np.zeros(3, "float32"))

    weights = edited_weights(tmp_path, members, wrong_last_shape)
    path = rezip(tmp_path / "bad.keras", {**members, "model.weights.h5": weights})
    with pytest.raises(InvalidArchiveError, match="model.weights.h5"):
        model.load_weights(path)
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["../escape.txt", "/absolute.txt", "assets/../../up.txt",
                                  "C:/windows.txt", "..\\back.txt"])
def test_unsafe_member_names_are_refused_and_nothing_is_written(tmp_path, saved, name):
    _, members = saved
    work = tmp_path / "work"
    work.mkdir()
    path = rezip(work / "evil.keras", {**members, name: b"payload"})
    assert_refused(path, name, "unsafe member name")
    assert _files(work) == ["evil.keras"] and sorted(_files(tmp_path)) == ["good.keras", "work"]


def test_unsupported_compression_and_repeated_members(tmp_path, saved):
    path, members = saved
    data = bytearray(path.read_bytes())
    data[data.index(b"PK\x01\x02") + 10] = 99   # metadata.json: compression method 99 (AES)
    (tmp_path / "aes.keras").write_bytes(bytes(data))
    assert_refused(tmp_path / "aes.keras", "metadata.json", "compression method")
    twice = tmp_path / "twice.keras"
    with zipfile.ZipFile(twice, "w") as archive, pytest.warns(UserWarning, match="Duplicate"):
        for name, member in [*members.items(), ("config.json", b"{}")]:
            archive.writestr(name, member)
    assert_refused(twice, "config.json", "twice")


def test_decompression_bombs_are_refused(tmp_path, saved, monkeypatch):
    _, members = saved
    bomb = rezip(tmp_path / "bomb.keras", {**members, "config.json": members["config.json"]
                                           + b" " * (20 << 20)}, zipfile.ZIP_DEFLATED)
    assert_refused(bomb, "config.json", "decompression bomb")
    data = bytearray(saved[0].read_bytes())   # the weights' central entry declares ~4 GiB
    entry = data.rindex(b"PK\x01\x02")
    data[entry + 24:entry + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    (tmp_path / "declared.keras").write_bytes(bytes(data))
    assert_refused(tmp_path / "declared.keras", "model.weights.h5", "declares 4294967280 bytes")
    monkeypatch.setattr(keras_archive, "MAX_JSON_BYTES", 100)
    assert_refused(rezip(tmp_path / "big.keras", members), "config.json",
                   "more than the 100 allowed")


def test_loading_writes_only_into_a_temporary_directory(tmp_path, saved, monkeypatch):
    """The weights are copied out under a fixed name into a fresh temporary directory, which
    is gone afterwards; the archive's folder is untouched."""
    path, _ = saved
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(keras_archive.tempfile, "tempdir", str(scratch))
    nk.models.load_model(path)
    assert _files(scratch) == [] and _files(tmp_path) == ["good.keras", "tmp"]


def test_safe_mode_reaches_the_config(tmp_path):
    """Lambda bytecode from a file (not dumped by this process) is refused unless
    safe_mode=False; then it runs."""
    model = nk.Sequential([nk.Input((4,)), layers.Lambda(lambda x: x * 2.0)])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    foreign = eval("lambda x: x * 3.0")   # noqa: S307 - bytecode as another process wrote it
    config["config"]["layers"][1]["config"]["function"]["config"]["code"] = codecs.encode(
        marshal.dumps(foreign.__code__), "base64").decode("ascii")
    path = rezip(tmp_path / "foreign.keras", {**members, "config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="safe_mode=False"):
        nk.models.load_model(path)
    loaded = nk.models.load_model(path, safe_mode=False)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), X * 3.0, rtol=1e-6)
