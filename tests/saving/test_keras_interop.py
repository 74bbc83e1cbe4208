"""nbkeras and Keras 3.15 agree on functional graphs and open each other's `.keras` files.

The committed fixtures (tests/saving/fixtures, made by make_keras_fixtures.py with Keras)
load into nbkeras without Keras; the other direction imports Keras (importorskip)."""
import importlib.util
import json
import os
import re
import zipfile

import numpy as np
import pytest

import nbkeras as nk


def _graphs(lib) -> dict:
    """Functional graphs whose layer order Keras fixes by depth (the same code for Keras
    and nbkeras: `lib` is either module)."""
    layers, graphs = lib.layers, {}
    a, b = lib.Input((4,), name="a"), lib.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    merged = layers.Concatenate(name="cat")([shared(a), shared(layers.Dense(4, name="pre_b")(b))])
    graphs["two inputs, shared layer"] = lib.Model([a, b], merged)

    a, b = lib.Input((4,), name="a"), lib.Input((4,), name="b")
    x = a
    for name in ("d1", "d2", "d3"):
        x = layers.Dense(4, name=name)(x)
    graphs["deep and shallow inputs"] = lib.Model([a, b], layers.Add(name="add")([x, b]))

    a = lib.Input((4,), name="a")
    s = layers.Dense(4, name="s")
    y = s(a)
    w = s(layers.Dense(4, name="mid")(y))
    graphs["shared at two depths"] = lib.Model(a, [layers.Dense(2, name="h1")(w),
                                                   layers.Dense(2, name="h2")(y)])

    inner_input = lib.Input((4,), name="ii")
    inner = lib.Model(inner_input, layers.Dense(3, name="inner_d")(inner_input), name="inner")
    a, b, unused = lib.Input((4,), name="a"), lib.Input((3,), name="b"), lib.Input((2,), name="u")
    h = inner(a)
    graphs["nested, dict outputs, unused input"] = lib.Model(   # Keras sorts dict keys
        {"b": b, "a": a, "u": unused},
        {"z": layers.Dense(2, name="o1")(layers.Concatenate(name="c")([h, b])),
         "y": layers.Dense(1, name="o2")(h)})
    return graphs


def test_functional_layer_order_names_and_weight_paths_match_keras():
    keras = pytest.importorskip("keras")
    ours, theirs = _graphs(nk), _graphs(keras)
    for title, model in ours.items():
        reference = theirs[title]
        assert [layer.name for layer in model.layers] == \
            [layer.name for layer in reference.layers], title
        assert [w.path for w in model.weights] == [w.path for w in reference.weights], title
        assert [layer["name"] for layer in model.get_config()["layers"]] == \
            [layer["name"] for layer in reference.get_config()["layers"]], title


def _build_configs(lib) -> list:
    """Build configs of layers built in the ways Keras records: by a call on values, on
    symbolic inputs (a list of shapes), with several shape arguments, never, by hand."""
    layers, x = lib.layers, np.ones((2, 5, 6), "float32")
    dense, merge, attention, flatten, by_hand = (
        layers.Dense(3), layers.Concatenate(), layers.MultiHeadAttention(2, 4), layers.Flatten(),
        layers.Dense(2))
    dense(x[:, 0, :4])
    merge([lib.Input((3,)), lib.Input((2,))])
    attention(x, x[:, :3])
    by_hand.build((None, 7))
    return [layer.get_build_config() for layer in (dense, merge, attention, flatten, by_hand)]


def test_build_configs_match_keras():
    keras = pytest.importorskip("keras")
    assert _build_configs(nk) == _build_configs(keras)


def test_build_from_config_makes_the_weights():
    layer = nk.layers.MultiHeadAttention(2, 4)
    layer.build_from_config({"shapes_dict": {"query_shape": [2, 5, 6],
                                             "value_shape": [2, 3, 6]}})
    assert layer.built and layer.get_build_config() == {
        "shapes_dict": {"query_shape": (2, 5, 6), "value_shape": (2, 3, 6)}}
    dense = nk.layers.Dense(3)
    dense.build_from_config({"input_shape": [None, 4]})
    assert [w.shape for w in dense.weights] == [(4, 3), (3,)]


# ---- .keras files both ways ------------------------------------------------------------------
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
_spec = importlib.util.spec_from_file_location(
    "make_keras_fixtures", os.path.join(FIXTURES, "make_keras_fixtures.py"))
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)
COMPILED = ("cnn", "two_inputs_shared", "nested")


def _expected(name: str):
    return np.load(os.path.join(FIXTURES, f"{name}.npz"))


def _assert_predicts(model, arrays) -> None:
    predictions = model.predict(fixtures.unpack(arrays, ""), verbose=0)
    expected = fixtures.unpack(arrays, "", "y")
    if isinstance(expected, dict):
        assert sorted(predictions) == sorted(expected)
        for key in expected:
            np.testing.assert_allclose(predictions[key], expected[key], rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(predictions, expected, rtol=1e-5, atol=1e-6)


def _assert_next_step(model, arrays) -> None:
    """One train_on_batch on the recorded batch gives Keras's loss and weights."""
    logs = model.train_on_batch(fixtures.unpack(arrays, "train_"),
                                fixtures.unpack(arrays, "train_", "y"), return_dict=True)
    np.testing.assert_allclose(logs["loss"], arrays["next_loss"], rtol=1e-5)
    weights = [np.asarray(w) for w in model.weights]
    assert len(weights) == len([k for k in arrays if k.startswith("next_") and k[5:].isdigit()])
    for i, w in enumerate(weights):
        np.testing.assert_allclose(w, arrays[f"next_{i}"], rtol=1e-5, atol=1e-6,
                                   err_msg=f"weight {i} ({model.weights[i].path})")


@pytest.mark.parametrize("name", fixtures.BUILDERS)
def test_keras_written_file_loads_and_predicts_as_keras(name):
    model = nk.models.load_model(os.path.join(FIXTURES, f"{name}.keras"))
    arrays = _expected(name)
    _assert_predicts(model, arrays)
    assert model.compiled == (name in COMPILED)
    if name in COMPILED:   # optimizer slots, iterations and learning rate came with it
        assert int(np.asarray(model.optimizer.iterations)) == 1
        _assert_next_step(model, arrays)


@pytest.mark.parametrize("name", fixtures.BUILDERS)
def test_nbkeras_resaved_keras_file_opens_in_keras(name, tmp_path):
    """Keras's file through nbkeras (load, save) and back into Keras: the same numbers,
    and the same next training step (so the optimizer state crossed over too)."""
    keras = pytest.importorskip("keras")
    path = str(tmp_path / f"{name}.keras")
    nk.models.load_model(os.path.join(FIXTURES, f"{name}.keras")).save(path)
    model = keras.saving.load_model(path)
    arrays = _expected(name)
    _assert_predicts(model, arrays)
    if name in COMPILED:
        _assert_next_step(model, arrays)


@pytest.mark.parametrize("name", fixtures.BUILDERS)
def test_nbkeras_built_model_opens_in_keras_and_back(name, tmp_path):
    """A model built and trained with nbkeras, saved, opened by Keras: the same predictions,
    and the same next training step from the saved optimizer state; and Keras's re-save of
    it opens in nbkeras with the same predictions."""
    keras = pytest.importorskip("keras")
    nk.config.set_random_seed(11)
    model = getattr(fixtures, name)(nk)
    rng = np.random.default_rng(5)
    if model.compiled:
        first = {**fixtures.input_batch(model, rng, 6), **fixtures.target_batch(model, rng, 6)}
        model.train_on_batch(fixtures.unpack(first, ""), fixtures.unpack(first, "", "y"))
    x = fixtures.unpack(fixtures.input_batch(model, rng, 4), "")
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    theirs = keras.saving.load_model(path)
    expected = model.predict(x, verbose=0)
    _assert_same(theirs.predict(x, verbose=0), expected)
    if model.compiled:
        batch = {**fixtures.input_batch(model, rng, 6), **fixtures.target_batch(model, rng, 6)}
        args = fixtures.unpack(batch, ""), fixtures.unpack(batch, "", "y")
        ours_logs = model.train_on_batch(*args, return_dict=True)
        theirs_logs = theirs.train_on_batch(*args, return_dict=True)
        np.testing.assert_allclose(theirs_logs["loss"], ours_logs["loss"], rtol=1e-5)
        for w, v in zip(model.weights, theirs.weights, strict=True):
            np.testing.assert_allclose(np.asarray(v), np.asarray(w), rtol=1e-5, atol=1e-6)
    back = str(tmp_path / f"{name}_keras.keras")
    theirs.save(back)
    _assert_same(nk.models.load_model(back).predict(x, verbose=0), theirs.predict(x, verbose=0))


def _assert_same(actual, expected) -> None:
    if isinstance(expected, dict):
        assert sorted(actual) == sorted(expected)
        for key in expected:
            np.testing.assert_allclose(actual[key], expected[key], rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_nbkeras_archive_members_are_keras_format(tmp_path):
    """The zip holds Keras's three members, stored; the config has Keras's keys, module
    paths and class names; metadata.json has Keras's keys."""
    model = fixtures.nested(nk)
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
        metadata = json.loads(archive.read("metadata.json"))
        config = json.loads(archive.read("config.json"))
    assert metadata["keras_version"] == "3.15.1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d", metadata["date_saved"])
    assert list(config) == ["module", "class_name", "config", "registered_name",
                            "build_config", "compile_config"]
    assert (config["module"], config["class_name"], config["registered_name"]) == \
        ("keras.src.models.functional", "Functional", "Functional")
    assert config["build_config"] == {"input_shape": None}   # as Keras's functional models
    block = config["config"]["layers"][1]
    assert (block["module"], block["class_name"]) == ("keras", "Sequential")
    assert block["build_config"] == {"input_shape": [None, 6]}
    assert config["compile_config"]["optimizer"]["module"] == "keras.optimizers"
