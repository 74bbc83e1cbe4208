"""The saveable protocol (save_own_variables / load_own_variables / _saveable_children) and
its walker: user layers that save their own state, metrics, nested models, the optimizer's
Keras layout (with the learning rate) both ways with Keras, all-or-nothing loads, crafted
files, atomic saves."""
import ast
import inspect
import os
import pathlib
import time

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers
from nbkeras.core.tensor import Variable
from nbkeras.saving import load_weights, save_weights
from nbkeras.saving.walker import walk

h5py = pytest.importorskip("h5py")

X = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
Y = np.random.default_rng(1).normal(size=(6, 2)).astype("float32")


class CountingScale(layers.Layer):
    """A Keras-style layer (plain __init__) whose saved state is its weight AND a Python
    counter of calls, with its own save_own_variables / load_own_variables."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        self.calls = 0

    def build(self, input_shape):
        self.scale = self.add_weight((input_shape[-1],), "ones", name="scale")

    def call(self, x):
        self.calls += 1
        return x * self.scale * self.factor

    def save_own_variables(self, store):
        store["0"] = self.scale
        store["1"] = np.asarray([self.calls], "int64")

    def load_own_variables(self, store):
        self.scale.assign(store["0"])
        self.calls = int(store["1"][0])


class Tower(nk.Model):
    """Subclassed: a Sequential, a functional model, a list in a list and a dict (its twin
    in Keras is the same code with `keras` for `nk`)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stem = nk.Sequential([layers.Dense(5, activation="tanh"), layers.Dense(5)])
        i = nk.Input((5,))
        self.body = nk.Model(i, layers.Dense(4)(layers.Dense(5)(i)))
        self.blocks = [[layers.Dense(4), layers.Dense(4)], layers.Dense(4)]
        self.heads = {"a": layers.Dense(2)}

    def call(self, x):
        x = self.body(self.stem(x))
        for block in [*self.blocks[0], self.blocks[1]]:
            x = block(x)
        return self.heads["a"](x)


def randomize(model, seed):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.weights])
    return model


def datasets_in(path):
    found = {}

    def record(name, node):
        if isinstance(node, h5py.Dataset):
            found[name] = node.shape

    with h5py.File(path, "r") as f:
        f.visititems(record)
    return found


def groups_in(path):
    found = set()

    def record(name, node):
        if isinstance(node, h5py.Group):
            found.add(name)

    with h5py.File(path, "r") as f:
        f.visititems(record)
    return found


def same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def optimizer_state(optimizer):
    return [v.numpy() for v in optimizer.variables]


def compiled(build, learning_rate=0.01, seed=0):
    model = randomize(build(), seed)
    model.compile(optimizer=nk.optimizers.Adam(learning_rate), loss="mse")
    return model


def dense_model():
    return nk.Sequential([nk.Input((4,)), layers.Dense(3, activation="relu"), layers.Flatten(),
                          layers.Dense(2)])


# ---- the walker -----------------------------------------------------------------------------
def test_walk_visits_as_keras_does():
    tower = Tower()
    tower(X)
    paths = [entry.path for entry in walk(tower)]
    assert paths == [
        "",
        "blocks/container/dense", "blocks/container/dense_1", "blocks/dense",   # list in list
        "body", "body/layers/input_layer", "body/layers/dense", "body/layers/dense_1",
        "heads/dense",                                                          # dict values
        "layers/sequential",           # `layers` sorts before `stem`: Keras's path for it
        "layers/sequential/layers/dense", "layers/sequential/layers/dense_1",
    ]
    assert walk(tower)[-1].saveable is tower.stem.layers[1]
    with pytest.raises(TypeError, match="saveable.*received int"):
        walk(3)


def test_shared_layer_is_saved_once_at_its_first_path():
    shared = layers.Dense(3)

    class Twice(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = shared
            self.pair = [layers.Dense(3), shared, layers.Dense(3)]

        def call(self, x):
            return self.first(x) + self.pair[2](self.pair[0](x))

    model = Twice()
    model(X)
    entries = walk(model)
    assert [e.path for e in entries] == ["", "first", "pair/dense", "pair/dense_2"]
    assert entries[1].saveable is shared     # and `shared` still took the number "dense_1"


def test_saving_modules_know_no_model_classes():
    """saving/ reaches layers, models and optimizers only through the protocol."""
    root = pathlib.Path(nk.__file__).parent / "saving"
    for name in ("walker.py", "h5_store.py", "weights_h5.py"):
        tree = ast.parse((root / name).read_text())
        imported = {node.module or "" for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom)}
        assert not {m for m in imported if m.split(".")[-1] in
                    ("layers", "layer", "models", "model", "functional", "sequential",
                     "optimizers", "optimizer", "metrics", "metric")}, (name, imported)


# ---- a user layer with its own save_own_variables / load_own_variables ------------------------
def test_user_layer_saves_its_own_state(tmp_path):
    path = tmp_path / "m.weights.h5"
    source = nk.Sequential([nk.Input((4,)), CountingScale(3.0), layers.Dense(2)])
    randomize(source, 1)
    for _ in range(3):
        source(X)
    save_weights(source, path)
    assert datasets_in(path)["layers/counting_scale/vars/1"] == (1,)
    target = nk.Sequential([nk.Input((4,)), CountingScale(3.0), layers.Dense(2)])
    load_weights(target, path)
    assert target.layers[0].calls == source.layers[0].calls == 4   # 3 + the symbolic call
    same(target.get_weights(), source.get_weights())
    np.testing.assert_array_equal(target(X).numpy(), source(X).numpy())


def test_user_layer_entries_are_checked_before_anything_loads(tmp_path):
    path = tmp_path / "m.weights.h5"
    save_weights(nk.Sequential([nk.Input((4,)), layers.Dense(4), CountingScale()]), path)
    with h5py.File(path, "a") as f:
        del f["layers/counting_scale/vars/1"]
        f["layers/counting_scale/vars/1"] = np.zeros((2, 2), "int64")
    target = randomize(nk.Sequential([nk.Input((4,)), layers.Dense(4), CountingScale()]), 2)
    before = target.get_weights()
    with pytest.raises(ValueError, match=r"CountingScale.*variable 1 .*shape \(1,\).*"
                                         r"shape \(2, 2\).*layers/counting_scale/vars/1"):
        load_weights(target, path)
    same(target.get_weights(), before)


# ---- metrics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make, unary", [
    (lambda: nk.metrics.Mean(), True), (lambda: nk.metrics.AUC(), False),
    (lambda: nk.metrics.MeanSquaredError(), False),
    (lambda: nk.metrics.Precision(thresholds=[0.3, 0.6]), False)])
def test_metric_state_round_trip(tmp_path, make, unary):
    rng = np.random.default_rng(3)
    metric = make()
    for _ in range(2):
        y = (rng.random(20) > 0.5).astype("float32")
        p = rng.random(20).astype("float32")
        metric.update_state(*((p,) if unary else (y, p)))
    save_weights(metric, tmp_path / "metric.weights.h5")
    assert len(datasets_in(tmp_path / "metric.weights.h5")) == len(metric.variables) > 0
    fresh = make()
    load_weights(fresh, tmp_path / "metric.weights.h5")
    np.testing.assert_array_equal(fresh.result().numpy(), metric.result().numpy())
    same([v.numpy() for v in fresh.variables], [v.numpy() for v in metric.variables])


def test_metric_count_mismatch_is_keras_worded():
    with pytest.raises(ValueError, match=r"Metric 'mean' expected 2 variables, but received 1"):
        nk.metrics.Mean().load_own_variables({"0": np.float32(1)})


def test_compiled_metrics_are_not_saved(tmp_path):
    """As Keras: a model's metrics are not in its weights file."""
    model = dense_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(X, Y, epochs=1, verbose=0)
    save_weights(model, tmp_path / "m.weights.h5", optimizer=False)
    assert set(datasets_in(tmp_path / "m.weights.h5")) == {
        "layers/dense/vars/0", "layers/dense/vars/1", "layers/dense_1/vars/0",
        "layers/dense_1/vars/1"}


# ---- nested models ------------------------------------------------------------------------------
def test_nested_models_round_trip(tmp_path):
    path = tmp_path / "tower.weights.h5"
    source = Tower()
    source(X)
    randomize(source, 4)
    save_weights(source, path)
    assert "body/layers/input_layer/vars" in groups_in(path)          # empty, as Keras
    target = Tower()
    target(X)
    load_weights(target, path)
    same(target.get_weights(), source.get_weights())
    np.testing.assert_array_equal(target(X).numpy(), source(X).numpy())


def test_nested_models_file_tree_is_keras_s(tmp_path):
    keras = pytest.importorskip("keras")
    namespace = {"nk": keras, "layers": keras.layers}
    exec(inspect.getsource(Tower), namespace)
    theirs = namespace["Tower"]()
    theirs(X)
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    ours = Tower()
    ours(X)
    save_weights(ours, tmp_path / "nbkeras.weights.h5")
    assert groups_in(tmp_path / "nbkeras.weights.h5") == groups_in(tmp_path / "keras.weights.h5")
    assert datasets_in(tmp_path / "nbkeras.weights.h5") == \
        datasets_in(tmp_path / "keras.weights.h5")
    load_weights(ours, tmp_path / "keras.weights.h5")
    np.testing.assert_allclose(ours(X).numpy(), np.asarray(theirs(X)), rtol=1e-5, atol=1e-6)


# ---- the optimizer ------------------------------------------------------------------------------
def test_optimizer_round_trip_resumes_training_exactly(tmp_path):
    path = tmp_path / "m.weights.h5"
    source = compiled(dense_model, learning_rate=0.02)
    source.fit(X, Y, batch_size=3, epochs=2, verbose=0, shuffle=False)
    source.save_weights(path)
    with h5py.File(path, "r") as f:
        assert int(f["optimizer/vars/0"][()]) == 4
        assert f["optimizer/vars/1"][()] == np.float32(0.02)
    target = compiled(dense_model, learning_rate=0.5, seed=9)   # unbuilt optimizer
    target.load_weights(path)
    assert target.optimizer.learning_rate == np.float32(0.02)   # Keras keeps it as floatx
    same(optimizer_state(target.optimizer), optimizer_state(source.optimizer))
    source.load_weights(path)   # its own state: the exact rate stays, not its float32
    assert source.optimizer.learning_rate == 0.02
    batch = np.random.default_rng(5).normal(size=(3, 4)).astype("float32"), Y[:3]
    source.train_on_batch(*batch)
    target.train_on_batch(*batch)
    same(target.get_weights(), source.get_weights())
    same(optimizer_state(target.optimizer), optimizer_state(source.optimizer))


def test_a_schedule_is_not_state(tmp_path):
    """With a schedule there is no learning-rate entry (as Keras)."""
    path = tmp_path / "m.weights.h5"
    model = dense_model()
    schedule = nk.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model.compile(optimizer=nk.optimizers.SGD(schedule, momentum=0.9), loss="mse")
    model.fit(X, Y, epochs=1, verbose=0)
    model.save_weights(path)
    optimizer_entries = [k for k in datasets_in(path) if k.startswith("optimizer/")]
    assert len(optimizer_entries) == len(model.optimizer.variables) == 5


def test_legacy_optimizer_state_without_learning_rate(tmp_path):
    """nbkeras files written before the learning rate was saved: a clear error for an
    optimizer passed in; model.load_weights loads the weights and warns."""
    path = tmp_path / "old.weights.h5"
    source = compiled(dense_model)
    source.fit(X, Y, epochs=1, verbose=0)
    source.save_weights(path)
    with h5py.File(path, "a") as f:
        group = f["optimizer/vars"]
        n = len(group)
        del group["1"]
        for i in range(2, n):
            group.move(str(i), str(i - 1))
    target = compiled(dense_model, seed=3)
    with pytest.warns(UserWarning, match=r"Adam.*optimizer/vars.*'learning_rate'.*holds 9"):
        target.load_weights(path)
    same(target.get_weights(), source.get_weights())
    assert int(target.optimizer.iterations.numpy()) == 0
    with pytest.raises(ValueError, match=r"10 variables.*learning_rate.*holds 9"):
        load_weights(target, path, optimizer=target.optimizer)


# ---- all or nothing -----------------------------------------------------------------------------
def test_a_bad_entry_changes_neither_model_nor_optimizer(tmp_path):
    path = tmp_path / "m.weights.h5"
    source = compiled(dense_model)
    source.fit(X, Y, epochs=1, verbose=0)
    source.save_weights(path)
    with h5py.File(path, "a") as f:      # the optimizer's last slot, checked last
        last = str(len(f["optimizer/vars"]) - 1)
        del f[f"optimizer/vars/{last}"]
        f[f"optimizer/vars/{last}"] = np.zeros(7, "float32")
    target = compiled(dense_model, seed=2)
    target.fit(X, Y, epochs=1, verbose=0)
    weights, state = target.get_weights(), optimizer_state(target.optimizer)
    rate = target.optimizer.learning_rate
    with pytest.raises(ValueError, match=r"m\.weights\.h5.*Adam.*optimizer/vars.*"
                                         rf"\(2,\).*\(7,\).*optimizer/vars/{last}"):
        load_weights(target, path, optimizer=target.optimizer)
    same(target.get_weights(), weights)
    same(optimizer_state(target.optimizer), state)
    assert target.optimizer.learning_rate == rate


class CheckedCount(CountingScale):
    """Assigns its weight, then refuses a negative count: a load that fails half-way."""

    def load_own_variables(self, store):
        self.scale.assign(store["0"])
        if store["1"][0] < 0:
            raise ValueError(f"a count of calls cannot be negative; the file holds {store['1']}")
        self.calls = int(store["1"][0])


def test_a_failing_load_own_variables_is_rolled_back(tmp_path):
    """The layers loaded before it, and its own half-assigned weight, get their state back."""
    path = tmp_path / "m.weights.h5"
    build = lambda: nk.Sequential([nk.Input((4,)), layers.Dense(4), CheckedCount(),  # noqa
                                   layers.Dense(2)])
    save_weights(randomize(build(), 1), path)
    with h5py.File(path, "a") as f:
        f["layers/checked_count/vars/1"][0] = -3
    target = randomize(build(), 2)
    before, calls = target.get_weights(), target.layers[1].calls
    with pytest.raises(ValueError, match=r"m\.weights\.h5.*CheckedCount.*cannot be negative.*"
                                         "Nothing was changed"):
        load_weights(target, path)
    same(target.get_weights(), before)
    assert target.layers[1].calls == calls


def test_a_huge_declared_shape_is_refused_before_reading(tmp_path):
    """A crafted file declaring a 4-PiB kernel: the declared shape is compared with the
    model's before any data is read (no MemoryError, no time spent)."""
    path = tmp_path / "huge.weights.h5"
    save_weights(dense_model(), path)
    huge = (2 ** 20, 2 ** 20, 2 ** 10)
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", shape=huge, dtype="float32",
                         chunks=(1, 1, 1024))                  # nothing allocated on disk
        f.create_dataset("layers/extra/vars/0", shape=huge, dtype="float32", chunks=(1, 1, 1024))
    assert os.path.getsize(path) < 1 << 20
    model = randomize(dense_model(), 3)
    before = model.get_weights()
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"huge\.weights\.h5.*Dense.*layers/dense/vars.*"
                                         r"shape \(4, 3\).*shape \(1048576, 1048576, 1024\)"):
        load_weights(model, path)
    with pytest.warns(UserWarning) as warned:
        load_weights(model, path, skip_mismatch=True)    # skipped, never read
    assert time.perf_counter() - start < 5
    assert any("layers/extra/vars" in str(w.message) for w in warned)
    same(model.get_weights()[:2], before[:2])
    assert not np.array_equal(model.get_weights()[2], before[2])   # the last Dense loaded


def test_non_numeric_entry_is_refused_before_reading(tmp_path):
    path = tmp_path / "m.weights.h5"
    save_weights(dense_model(), path)
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/1"]
        f["layers/dense/vars/1"] = np.array([b"abc"] * 3)
    with pytest.raises(ValueError, match=r"layers/dense/vars/1.*not numbers"):
        load_weights(dense_model(), path)


# ---- atomic saving ------------------------------------------------------------------------------
def test_a_save_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.weights.h5"
    good = randomize(dense_model(), 1)
    save_weights(good, path)
    original = path.read_bytes()
    real, calls = Variable.numpy, []

    def fail_on_third(self):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("device lost")
        return real(self)

    monkeypatch.setattr(Variable, "numpy", fail_on_third)
    with pytest.raises(RuntimeError, match="device lost"):
        save_weights(randomize(dense_model(), 2), path)
    monkeypatch.undo()
    assert len(calls) == 3
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["m.weights.h5"]


# ---- interop with Keras 3 -----------------------------------------------------------------------
def keras_twin(keras, learning_rate):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    return model


def test_file_tree_is_keras_s(tmp_path):
    """Same groups (empty `vars` included), datasets and shapes as Keras 3 writes."""
    keras = pytest.importorskip("keras")
    theirs = keras_twin(keras, 0.01)
    theirs.fit(X, Y, epochs=1, verbose=0)
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    ours = compiled(dense_model)
    ours.fit(X, Y, epochs=1, verbose=0)
    ours.save_weights(tmp_path / "nbkeras.weights.h5")
    assert groups_in(tmp_path / "nbkeras.weights.h5") == groups_in(tmp_path / "keras.weights.h5")
    assert datasets_in(tmp_path / "nbkeras.weights.h5") == \
        datasets_in(tmp_path / "keras.weights.h5")
    with h5py.File(tmp_path / "nbkeras.weights.h5", "r") as f:
        assert f["layers/flatten/vars"].attrs["name"] == ours.layers[1].name
        assert f["vars"].attrs["name"] == ours.name


def test_keras_file_with_learning_rate_loads_into_nbkeras(tmp_path):
    keras = pytest.importorskip("keras")
    theirs = keras_twin(keras, 0.03)
    theirs.fit(X, Y, batch_size=3, epochs=2, verbose=0, shuffle=False)
    path = tmp_path / "keras.weights.h5"
    theirs.save_weights(str(path))
    ours = compiled(dense_model, learning_rate=0.5)
    ours.load_weights(path)
    same(ours.get_weights(), theirs.get_weights())
    assert ours.optimizer.learning_rate == pytest.approx(0.03, rel=1e-7)
    keras_state = [np.asarray(v) for v in theirs.optimizer.variables]
    same(optimizer_state(ours.optimizer), [keras_state[0]] + keras_state[2:])
    batch = np.random.default_rng(6).normal(size=(3, 4)).astype("float32"), Y[:3]
    theirs.train_on_batch(*batch)
    ours.train_on_batch(*batch)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_nbkeras_file_restores_the_optimizer_in_keras(tmp_path):
    keras = pytest.importorskip("keras")
    ours = compiled(dense_model, learning_rate=0.04)
    ours.fit(X, Y, batch_size=3, epochs=2, verbose=0, shuffle=False)
    path = tmp_path / "nbkeras.weights.h5"
    ours.save_weights(path)
    theirs = keras_twin(keras, 0.5)
    theirs.optimizer.build(theirs.trainable_variables)   # Keras loads only into a built one
    theirs.load_weights(str(path))
    same(theirs.get_weights(), ours.get_weights())
    keras_state = [np.asarray(v) for v in theirs.optimizer.variables]
    assert int(keras_state[0]) == 4
    assert float(keras_state[1]) == np.float32(0.04)
    same(keras_state[2:], optimizer_state(ours.optimizer)[1:])
    batch = np.random.default_rng(7).normal(size=(3, 4)).astype("float32"), Y[:3]
    theirs.train_on_batch(*batch)
    ours.train_on_batch(*batch)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_keras_optimizer_subtree_is_ignored_without_an_optimizer(tmp_path):
    """A Keras LossScaleOptimizer also writes `optimizer/inner_optimizer/vars`: a model
    loading only weights ignores the whole optimizer subtree."""
    keras = pytest.importorskip("keras")
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"),
                               keras.layers.Flatten(), keras.layers.Dense(2)])
    theirs.compile(optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1)),
                   loss="mse")
    theirs.fit(X, Y, epochs=1, verbose=0)
    path = tmp_path / "keras.weights.h5"
    theirs.save_weights(str(path))
    assert "optimizer/inner_optimizer/vars/0" in datasets_in(path)
    ours = dense_model()
    load_weights(ours, path)
    same(ours.get_weights(), theirs.get_weights())
