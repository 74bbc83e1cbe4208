"""Keras 2's legacy HDF5 weights layout (`.h5`: `layer_names`, one group per layer with
`weight_names`), read as Keras 3.15 reads it: files written by Keras's own legacy writer load
and predict Keras's numbers, by topology or by name; a file written by hand with h5py in the
documented layout loads without Keras; every mismatch is a ValueError naming the file, the
layer and the shapes, and leaves the model as it was."""
import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers


def write_legacy(path, stored, *, chunks: int = 1, top_level=None) -> None:
    """A legacy weights file as Keras 2 wrote it: `stored` is [(layer name, [(weight name,
    array), ...]), ...] in `layer_names` order; `chunks` > 1 splits `layer_names` into
    `layer_names0`, `layer_names1`, ... (as Keras does for long lists)."""
    with h5py.File(path, "w") as f:
        names = np.array([name.encode() for name, _ in stored])
        if chunks == 1:
            f.attrs["layer_names"] = names
        else:
            for i, chunk in enumerate(np.array_split(names, chunks)):
                f.attrs[f"layer_names{i}"] = chunk
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["backend"] = b"tensorflow"
        groups = stored + ([("top_level_model_weights", top_level)] if top_level is not None
                           else [])
        for name, weights in groups:
            group = f.create_group(name)
            group.attrs["weight_names"] = np.array([w.encode() for w, _ in weights],
                                                   dtype="S" if weights else "S1")
            for weight, value in weights:
                group.create_dataset(weight, data=value)


def mlp():
    return nk.Sequential([nk.Input((3,)), layers.Dense(4, name="hidden"),
                          layers.Flatten(name="flat"), layers.Dense(2, name="out")])


def published_weights(seed: int) -> list:
    """The hidden and out layers' (kernel, bias), drawn with `seed`, as the file stores
    them (names as Keras 2 published them: `<layer>/kernel:0`)."""
    rng = np.random.default_rng(seed)
    return [("hidden", [("hidden/kernel:0", rng.normal(size=(3, 4)).astype("float32")),
                        ("hidden/bias:0", rng.normal(size=4).astype("float32"))]),
            ("flatten_1", []),
            ("out", [("out/kernel:0", rng.normal(size=(4, 2)).astype("float32")),
                     ("out/bias:0", rng.normal(size=2).astype("float32"))])]


def reference_mlp(stored, x):
    """Plain numpy: the two dense layers of `stored` applied to `x`."""
    (hk, hb), (ok, ob) = [[v for _, v in weights] for _, weights in stored if weights]
    return (x @ hk + hb) @ ok + ob


@pytest.mark.parametrize("chunks", [1, 2])
def test_hand_written_legacy_file_loads_by_topology(tmp_path, chunks):
    stored = published_weights(seed=chunks)
    path = tmp_path / "mlp.h5"
    write_legacy(path, stored, chunks=chunks, top_level=[])
    model = mlp()
    model.load_weights(path)
    x = np.random.default_rng(3).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), reference_mlp(stored, x),
                               rtol=1e-5, atol=1e-5)


def test_by_name_loads_the_named_layers_and_skips_the_others(tmp_path):
    stored = published_weights(seed=4)
    renamed = [("unknown", [("unknown/kernel:0", np.ones((7, 7), "float32"))]),
               stored[2], stored[0]]          # other order, a layer the model lacks
    path = tmp_path / "mlp.hdf5"
    write_legacy(path, renamed)
    model = mlp()
    model.load_weights(path, by_name=True)
    x = np.random.default_rng(5).normal(size=(2, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), reference_mlp(stored, x),
                               rtol=1e-5, atol=1e-5)
    write_legacy(path, [("hidden", [("hidden/kernel:0", np.ones((3, 4), "float32"))])])
    with pytest.raises(ValueError, match="hidden.*weight count mismatch.*2 weights.*holds 1"):
        model.load_weights(path, by_name=True)
    with pytest.warns(UserWarning, match="weight count mismatch.*skipping"):
        model.load_weights(path, by_name=True, skip_mismatch=True)
    with pytest.raises(ValueError, match="`by_name` only supports loading legacy"):
        model.load_weights(tmp_path / "mlp.weights.h5", by_name=True)


def snapshot(model) -> list:
    return [w.numpy().copy() for w in model.weights]


def assert_unchanged(model, before) -> None:
    for value, old in zip(snapshot(model), before):
        np.testing.assert_array_equal(value, old)


@pytest.mark.parametrize("case, match", [
    ("extra_layer", r"mlp.h5.*layer count mismatch.*2 layers with weights.*holds 3"),
    ("wrong_shape", r"mlp.h5.*Dense 'out'.*'out/kernel' has shape \(4, 2\) but the file "
                    r"holds shape \(4, 3\)"),
    ("missing_group", r"mlp.h5.*lists layer 'out' in `layer_names` but has no group 'out'"),
    ("weight_count", r"mlp.h5.*Dense 'hidden'.*weight count mismatch.*2 weights.*holds 1"),
    ("missing_dataset", r"mlp.h5.*lists weight 'out/out/bias:0' but has no dataset"),
    ("text_data", r"mlp.h5.*'hidden/hidden/bias:0' holds .* not numbers"),
])
def test_mismatches_name_the_file_layer_and_shapes_and_change_nothing(tmp_path, case, match):
    stored = published_weights(seed=6)
    hidden, flat, out = stored
    broken = {
        "extra_layer": stored + [("more", [("more/kernel:0", np.ones(2, "float32"))])],
        "wrong_shape": [hidden, flat, ("out", [("out/kernel:0", np.ones((4, 3), "float32")),
                                               out[1][1]])],
        "weight_count": [("hidden", hidden[1][:1]), flat, out],
        "text_data": [("hidden", [hidden[1][0], ("hidden/bias:0", np.array([b"a"] * 4))]),
                      flat, out],
    }.get(case, stored)
    path = tmp_path / "mlp.h5"
    write_legacy(path, broken)
    if case in ("missing_group", "missing_dataset"):
        with h5py.File(path, "a") as f:
            del f["out" if case == "missing_group" else "out/out/bias:0"]
    model = mlp()
    before = snapshot(model)
    with pytest.raises(ValueError, match=match):
        model.load_weights(path)
    assert_unchanged(model, before)


def test_skip_mismatch_skips_the_wrong_shape_and_loads_the_rest(tmp_path):
    stored = published_weights(seed=7)
    hidden, flat, out = stored
    path = tmp_path / "mlp.h5"
    write_legacy(path, [hidden, flat, ("out", [("out/kernel:0", np.ones((4, 3), "float32")),
                                               out[1][1]])])
    model = mlp()
    kernel = model.get_layer("out").kernel.numpy().copy()
    with pytest.warns(UserWarning, match=r"'out/kernel' has shape \(4, 2\).*skipping"):
        model.load_weights(path, skip_mismatch=True)
    np.testing.assert_array_equal(model.get_layer("out").kernel.numpy(), kernel)
    np.testing.assert_array_equal(model.get_layer("out").bias.numpy(), out[1][1][1])
    np.testing.assert_array_equal(model.get_layer("hidden").kernel.numpy(), hidden[1][0][1])


def test_a_file_that_is_not_legacy_raises(tmp_path):
    model = mlp()
    keras3 = tmp_path / "model.weights.h5"
    model.save_weights(keras3)
    renamed = tmp_path / "renamed.h5"
    renamed.write_bytes(keras3.read_bytes())
    with pytest.raises(ValueError, match="renamed.h5.*no `layer_names` attribute"):
        model.load_weights(renamed)
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.h5.*not HDF5"):
        model.load_weights(tmp_path / "empty.h5")
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        model.load_weights(tmp_path / "missing.h5")


def keras_legacy_file(keras, model, path) -> None:
    """`model`'s weights in the legacy layout, by Keras's own legacy writer."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def randomize_batch_norm(model, seed: int) -> None:
    """Random statistics: a loader that swaps the legacy order (gamma, beta, then the moving
    mean and variance) gives other numbers."""
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            layer.set_weights([np.random.default_rng(seed).uniform(0.5, 1.5, w.shape)
                               for w in layer.get_weights()])


def small_cnn(lib):
    return lib.Sequential([lib.Input((8, 8, 3)), lib.layers.Conv2D(4, 3, activation="relu"),
                           lib.layers.BatchNormalization(), lib.layers.MaxPooling2D(),
                           lib.layers.Flatten(), lib.layers.Dense(5)])


def test_keras_written_legacy_file_loads_a_small_cnn(tmp_path):
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(11)
    theirs = small_cnn(keras)
    theirs.layers[1].trainable = False   # frozen: its weights are saved non-trainable
    randomize_batch_norm(theirs, seed=12)
    path = tmp_path / "cnn.h5"
    keras_legacy_file(keras, theirs, path)
    ours = small_cnn(nk)
    ours.layers[1].trainable = False
    ours.load_weights(path)
    x = np.random.default_rng(13).normal(size=(3, 8, 8, 3)).astype("float32")
    expected = np.asarray(theirs(x, training=False))
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_keras_written_legacy_vgg16_loads_as_a_path_and_as_imagenet(tmp_path, monkeypatch):
    keras = pytest.importorskip("keras")
    kwargs = dict(include_top=False, input_shape=(32, 32, 3))
    keras.utils.set_random_seed(14)
    theirs = keras.applications.VGG16(weights=None, **kwargs)
    models = tmp_path / "models"
    models.mkdir()
    path = models / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"   # Keras's name
    keras_legacy_file(keras, theirs, path)
    x = np.random.default_rng(15).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = np.asarray(theirs(keras.applications.vgg16.preprocess_input(x.copy())))
    monkeypatch.setenv("NBKERAS_HOME", str(tmp_path))
    for weights in (str(path), "imagenet"):
        ours = nk.applications.VGG16(weights=weights, **kwargs)
        got = ours.predict(nk.applications.vgg16.preprocess_input(x.copy()), verbose=0)
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4 * np.abs(expected).max())


def drawn_stack(lib, widths: list, batch_norm: list, features: int):
    """Dense layers of `widths`, each followed by a BatchNormalization where `batch_norm`
    says, named alike in both libraries (for `by_name`)."""
    stack = [lib.Input((features,))]
    for i, (width, norm) in enumerate(zip(widths, batch_norm)):
        stack.append(lib.layers.Dense(width, activation="tanh", name=f"dense_{i}"))
        if norm:
            stack.append(lib.layers.BatchNormalization(name=f"norm_{i}"))
    return lib.Sequential(stack)


@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_keras_written_legacy_files_of_drawn_stacks_predict_keras_numbers(tmp_path, data):
    keras = pytest.importorskip("keras")
    depth = data.draw(st.integers(1, 3), label="depth")
    widths = data.draw(st.lists(st.integers(1, 5), min_size=depth, max_size=depth),
                       label="widths")
    batch_norm = data.draw(st.lists(st.booleans(), min_size=depth, max_size=depth),
                           label="batch_norm")
    features = data.draw(st.integers(1, 4), label="features")
    by_name = data.draw(st.booleans(), label="by_name")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    keras.utils.set_random_seed(seed)
    theirs = drawn_stack(keras, widths, batch_norm, features)
    randomize_batch_norm(theirs, seed)
    path = tmp_path / "stack.h5"
    keras_legacy_file(keras, theirs, path)
    ours = drawn_stack(nk, widths, batch_norm, features)
    ours.load_weights(path, by_name=by_name)
    x = np.random.default_rng(seed).normal(size=(3, features)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(theirs(x)),
                               rtol=1e-4, atol=1e-5)


def test_a_whole_model_saved_by_keras_as_h5_gives_its_weights(tmp_path):
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(16)
    theirs = small_cnn(keras)
    randomize_batch_norm(theirs, seed=17)
    path = tmp_path / "whole.h5"
    theirs.save(path)                   # Keras 3 writes `.h5` models in the legacy layout
    with h5py.File(path, "r") as f:
        assert "model_weights" in f and "layer_names" not in f.attrs
    ours = small_cnn(nk)
    ours.load_weights(path)
    x = np.random.default_rng(18).normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(theirs(x)),
                               rtol=1e-4, atol=1e-5)
