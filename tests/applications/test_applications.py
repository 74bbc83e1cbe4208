"""nk.applications against Keras: each architecture's parameter count and (layer name,
class, output shape) list equal the tables make_architecture_tables.py wrote from
keras.applications; weights files written by Keras load and predict the same; the
preprocessing modes equal Keras's; the tutorial's feature extractor works."""
import json
from pathlib import Path

import numpy as np
import pytest

import nbkeras as nk
from nbkeras.applications import imagenet_utils

TABLES = sorted((Path(__file__).parent / "data").glob("*.json"))


def table(model) -> dict:
    return {"params": model.count_params(),
            "layers": [[layer.name, type(layer).__name__, list(layer.output.shape)]
                       for layer in model.layers]}


@pytest.mark.parametrize("path", TABLES, ids=lambda path: path.stem)
def test_architecture_matches_keras(path):
    expected = json.loads(path.read_text())
    nk.utils.clear_session()
    model = getattr(nk.applications, expected["constructor"])(weights=None,
                                                              **expected["kwargs"])
    got = table(model)
    assert got["params"] == expected["params"]
    assert got["layers"] == expected["layers"]


def conv3x3_same(x, kernel, bias) -> np.ndarray:
    """(N, H, W, C) * (3, 3, C, F) 'same' cross-correlation + bias, tap by tap."""
    n, h, w, _ = x.shape
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return bias + sum(padded[:, p:p + h, q:q + w] @ kernel[p, q]
                      for p in range(3) for q in range(3))


def vgg_reference(x, model) -> np.ndarray:
    """The VGG forward pass in plain float64 numpy, from the model's weights."""
    y = x.astype(np.float64)
    for layer in model.layers[1:]:
        weights = [w.astype(np.float64) for w in layer.get_weights()]
        kind = type(layer).__name__
        if kind == "Conv2D":
            y = np.maximum(conv3x3_same(y, *weights), 0.0)
        elif kind == "MaxPooling2D":
            n, h, w, c = y.shape
            y = y.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
        elif kind == "Flatten":
            y = y.reshape(len(y), -1)
        elif kind == "Dense":
            y = y @ weights[0] + weights[1]
            y = np.maximum(y, 0.0) if layer.name != "predictions" else y
    return y


def test_vgg16_forward_at_64_matches_a_numpy_reference():
    nk.utils.set_random_seed(3)
    model = nk.applications.VGG16(weights=None, input_shape=(64, 64, 3), classes=7,
                                  classifier_activation=None)
    x = np.random.default_rng(0).uniform(0, 1, (2, 64, 64, 3)).astype("float32")
    got = model.predict(x, verbose=0)
    assert got.shape == (2, 7)
    np.testing.assert_allclose(got, vgg_reference(x, model), rtol=2e-4, atol=1e-5)


def test_tutorial_vgg19_block4_features():
    base = nk.applications.VGG19(weights=None)
    feat = nk.Model(inputs=base.input, outputs=base.get_layer("block4_pool").output)
    assert tuple(feat.output.shape) == (None, 14, 14, 512)
    assert [layer.name for layer in feat.layers][-1] == "block4_pool"
    small = nk.applications.vgg19.VGG19(weights=None, include_top=False,
                                        input_shape=(32, 32, 3))
    block4 = nk.Model(small.input, small.get_layer("block4_pool").output)
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    assert block4.predict(nk.applications.vgg19.preprocess_input(x), verbose=0).shape == \
        (2, 2, 2, 512)


@pytest.mark.parametrize("path", sorted((Path(__file__).parent / "data").glob("*.npz")),
                         ids=lambda path: path.stem)
def test_committed_keras_weights_files_load_and_predict_the_same(path):
    with np.load(path) as expected:
        x, y, spec = expected["x"], expected["y"], json.loads(str(expected["spec"]))
    build = getattr(getattr(nk.applications, spec["module"]), spec["constructor"])
    model = build(weights=str(path.with_suffix(".weights.h5")), **spec["kwargs"])
    np.testing.assert_allclose(model.predict(x, verbose=0), y, rtol=1e-3,
                               atol=1e-4 * np.abs(y).max())


# constructor, keyword arguments: too large to commit, built by Keras in the test
KERAS_FILES = {
    "resnet50v2": ("ResNet50V2", dict(include_top=False, input_shape=(32, 32, 3),
                                      pooling="avg")),
    "vgg16": ("VGG16", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")),
}


@pytest.mark.parametrize("case", sorted(KERAS_FILES))
def test_keras_written_weights_load_and_predict_the_same(case, tmp_path):
    keras = pytest.importorskip("keras")
    constructor, kwargs = KERAS_FILES[case]
    keras.utils.set_random_seed(7)
    theirs = getattr(keras.applications, constructor)(weights=None, **kwargs)
    for layer in theirs.layers:     # random statistics: a loader that swaps them fails
        if type(layer).__name__ == "BatchNormalization":
            layer.set_weights([np.random.default_rng(8).uniform(0.5, 1.5, w.shape)
                               for w in layer.get_weights()])
    path = str(tmp_path / f"{case}.weights.h5")
    theirs.save_weights(path)
    ours = getattr(nk.applications, constructor)(weights=path, **kwargs)
    x = np.random.default_rng(9).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    expected = np.asarray(theirs(x, training=False))
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-3,
                               atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("module", ["vgg16", "vgg19", "resnet50", "resnet_v2",
                                    "mobilenet_v2"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("shape", [(2, 5, 4, 3), (5, 4, 3)])
def test_preprocess_input_matches_keras(module, data_format, shape):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(len(shape))
    if data_format == "channels_first":
        shape = (shape[0], 3, *shape[1:3]) if len(shape) == 4 else (3, *shape[:2])
    x = rng.uniform(0, 255, shape).astype("float32")
    expected = getattr(keras.applications, module).preprocess_input(x.copy(), data_format)
    got = getattr(nk.applications, module).preprocess_input(x.copy(), data_format)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    as_tensor = getattr(nk.applications, module).preprocess_input(nk.ops.convert_to_tensor(x),
                                                                  data_format)
    np.testing.assert_allclose(nk.ops.convert_to_numpy(as_tensor), expected, rtol=1e-6)
    integers = getattr(nk.applications, module).preprocess_input(x.astype("uint8"),
                                                                 data_format)
    assert integers.dtype == np.float32


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_imagenet_utils_preprocess_modes_match_keras(mode):
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(5).uniform(0, 255, (2, 3, 4, 3)).astype("float64")
    np.testing.assert_allclose(
        imagenet_utils.preprocess_input(x.copy(), mode=mode),
        keras.applications.imagenet_utils.preprocess_input(x.copy(), mode=mode), rtol=1e-12)
    with pytest.raises(ValueError, match="mode"):
        imagenet_utils.preprocess_input(x, mode="keras")


def test_decode_predictions_reads_a_local_class_index(tmp_path, monkeypatch):
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    path = tmp_path / "index.json"
    path.write_text(json.dumps(index))
    preds = np.random.default_rng(6).dirichlet(np.ones(1000), size=2)
    decoded = nk.applications.vgg16.decode_predictions(preds, top=3, class_index_path=path)
    for row, pred in zip(decoded, preds):
        best = np.argsort(pred)[::-1][:3]
        assert [entry[:2] for entry in row] == [tuple(index[str(i)]) for i in best]
        np.testing.assert_array_equal([entry[2] for entry in row], pred[best])
    monkeypatch.setattr(imagenet_utils, "_class_index", None)
    monkeypatch.setenv("NBKERAS_HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match=r"imagenet_class_index\.json.*"
                       r"https://storage\.googleapis\.com/.*put it at .*home.models"):
        nk.applications.vgg16.decode_predictions(preds)
    with pytest.raises(ValueError, match=r"\(samples, 1000\).*\(2, 10\)"):
        nk.applications.vgg16.decode_predictions(preds[:, :10], class_index_path=path)


def test_imagenet_weights_without_a_local_file_name_the_file_and_place(tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv("NBKERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=(
            r"needs \S*vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5 \(or a copy "
            r"converted to \S*vgg16_weights_tf_dim_ordering_tf_kernels_notop\.weights\.h5\).*Fetch "
            r"vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5 from https://storage\."
            r"googleapis\.com/tensorflow/keras-applications/vgg16/")):
        nk.applications.VGG16(include_top=False, input_shape=(32, 32, 3))
    assert str(tmp_path / "models") in str(pytest.raises(
        FileNotFoundError, nk.applications.VGG16, include_top=False,
        input_shape=(32, 32, 3)).value)


def test_bad_arguments_raise_keras_errors(tmp_path):
    with pytest.raises(ValueError, match="`weights` argument should be"):
        nk.applications.VGG16(weights=str(tmp_path / "missing.weights.h5"))
    legacy = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    legacy.write_bytes(b"")
    with pytest.raises(ValueError, match="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
                                         ".*not HDF5"):
        nk.applications.VGG16(weights=str(legacy), include_top=False,
                              input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        nk.applications.VGG19(classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        nk.applications.VGG16(weights=None, include_top=False, input_shape=(31, 64, 3))
    with pytest.raises(ValueError, match="static `input_shape`"):
        nk.applications.VGG16(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="should be \\(224, 224, 3\\)"):
        nk.applications.VGG16(input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="classifier_activation"):
        nk.applications.VGG16(weights=str(legacy), input_shape=(32, 32, 3),
                              classifier_activation="relu")
    imagenet_utils.validate_activation(nk.activations.softmax, "imagenet")
    imagenet_utils.validate_activation(None, "imagenet")


def test_input_tensor_is_the_models_input():
    inputs = nk.Input((48, 48, 3))
    x = nk.layers.Rescaling(1 / 255)(inputs)
    model = nk.applications.VGG16(weights=None, include_top=False, input_tensor=x,
                                  pooling="avg")
    assert model.inputs[0] is inputs
    assert tuple(model.output.shape) == (None, 512)
    assert type(model.layers[1]).__name__ == "Rescaling"


def test_efficientnet_preprocess_input_is_the_identity():
    x = np.random.default_rng(10).uniform(0, 255, (1, 8, 8, 3))
    assert nk.applications.efficientnet.preprocess_input(x) is x


def test_preprocess_input_on_a_symbolic_tensor_builds_a_layer_graph():
    inputs = nk.Input((4, 4, 3))
    model = nk.Model(inputs, nk.applications.vgg16.preprocess_input(inputs))
    x = np.random.default_rng(11).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    expected = x[..., ::-1] - np.array([103.939, 116.779, 123.68], "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)


def test_benchmark_runs_at_a_tiny_size(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "benchmarks"))
    import applications as benchmark

    results = benchmark.main(["--size", "32", "--batch-size", "1", "--steps", "1"])
    assert all(rate > 0 for rate in results.values())
