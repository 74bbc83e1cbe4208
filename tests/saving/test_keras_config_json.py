"""A whole-model .keras file's config.json is the one Keras 3.15 writes for the same model,
as text (keys in Keras's order, build_config only where Keras builds on the first call, each
call's recorded training/mask arguments, op configs with the axis as written), and the files
load both ways."""
import json
import warnings
import zipfile

import numpy as np
import pytest

import nbkeras as nk
from layers.test_build_by_hand import CASES

keras = pytest.importorskip("keras")

# Keras-only: the memory address of a dtype policy or initializer object that several layers
# share (nbkeras layers hold names, not shared objects).
KERAS_ONLY_KEYS = {"shared_object_id"}


def config_json(model, path) -> dict:
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def without(config, keys=KERAS_ONLY_KEYS):
    if isinstance(config, dict):
        return {k: without(v, keys) for k, v in config.items() if k not in keys}
    if isinstance(config, list):
        return [without(v, keys) for v in config]
    return config


def assert_written_alike(ours, theirs) -> None:
    """Equal configs, and equal as JSON text, keys in the same order: 2 and 2.0 are equal in
    Python, not in a file."""
    assert ours == without(theirs)
    assert json.dumps(ours) == json.dumps(without(theirs))


def stack(lib):
    x = lib.Input((8, 8, 3))
    y = lib.layers.Conv2D(4, 3, padding="same")(x)
    y = lib.layers.BatchNormalization()(y)
    y = lib.layers.LeakyReLU(0.1)(lib.layers.MaxPooling2D()(y))
    y = lib.layers.SpatialDropout2D(0.2)(y)
    y = lib.layers.Reshape((16, 4))(y)
    y = lib.layers.GlobalAveragePooling1D()(y)
    y = lib.layers.Dropout(0.3)(lib.layers.UnitNormalization()(y))
    return lib.Model(x, lib.layers.Activation("softmax")(lib.layers.Dense(3)(y)))


def recurrent(lib):
    x = lib.Input((5, 3))
    y = lib.layers.Bidirectional(lib.layers.GRU(4, return_sequences=True))(x)
    y = lib.layers.LSTM(2)(lib.layers.GaussianNoise(0.1)(y))
    return lib.Model(x, lib.layers.Dense(1)(y))


def cells_and_wrappers(lib):
    x = lib.Input((5, 3))
    y = lib.layers.RNN(lib.layers.GRUCell(3))(x)
    z = lib.layers.RNN([lib.layers.SimpleRNNCell(2), lib.layers.LSTMCell(2)],
                       return_sequences=True)(x)
    z = lib.layers.TimeDistributed(lib.layers.Dense(2))(z)
    return lib.Model(x, [y, lib.layers.Bidirectional(lib.layers.SimpleRNN(2))(z)])


def reshaping(lib):
    x = lib.Input((6,), dtype="int32")
    y = lib.layers.Conv1D(3, 2)(lib.layers.Embedding(10, 4)(x))
    y = lib.layers.Cropping1D(1)(lib.layers.ZeroPadding1D(1)(lib.layers.UpSampling1D(2)(y)))
    y = lib.layers.RepeatVector(2)(lib.layers.Flatten()(lib.layers.Permute((2, 1))(y)))
    return lib.Model(x, lib.layers.ELU()(lib.layers.Concatenate()([y, y])))


def masked(lib):
    """The mask's computation is a graph of its own ops (NotEqual, then Any for Masking),
    passed to each layer whose call takes `mask` (Keras 3 records it there)."""
    x = lib.Input((5,), dtype="int32")
    y = lib.layers.Embedding(10, 4, mask_zero=True)(x)
    return lib.Model(x, lib.layers.Bidirectional(lib.layers.GRU(2))(y))


def masked_sequences(lib):
    x, z = lib.Input((5,), dtype="int32"), lib.Input((5, 3))
    y = lib.layers.LSTM(3, return_sequences=True)(lib.layers.Embedding(10, 4, mask_zero=True)(x))
    w = lib.layers.SimpleRNN(2, return_sequences=True)(lib.layers.Masking(0.0)(z))
    return lib.Model([x, z], [lib.layers.GlobalAveragePooling1D()(y),
                              lib.layers.GlobalMaxPooling1D()(lib.layers.Dense(2)(w))])


def merged_masks(lib):
    """Add ORs its inputs' masks (LogicalOr), Concatenate joins them (ones for an unmasked
    input, then All); one Embedding called twice makes two NotEquals."""
    a, b, c = lib.Input((5,), dtype="int32"), lib.Input((5,), dtype="int32"), lib.Input((5, 4))
    embedding = lib.layers.Embedding(10, 4, mask_zero=True)
    ea, eb = embedding(a), embedding(b)
    added = lib.layers.Add()([ea, eb])
    joined = lib.layers.Concatenate()([ea, lib.layers.Dense(4)(eb)])
    stacked = lib.layers.Concatenate(axis=1)([ea, lib.layers.Masking()(c)])
    return lib.Model([a, b, c], [lib.layers.GRU(2)(added), lib.layers.GRU(2)(joined),
                                 lib.layers.LSTM(2)(stacked)])


def attention_masks(lib):
    """MultiHeadAttention passes its query's mask on; Attention converts it (a
    ConvertToTensor entry)."""
    x = lib.Input((5,), dtype="int32")
    e = lib.layers.Embedding(10, 4, mask_zero=True)(x)
    y = lib.layers.MultiHeadAttention(2, 2)(e, e)
    z = lib.layers.Attention()([e, e])
    return lib.Model(x, [lib.layers.LSTM(2)(y), lib.layers.GlobalAveragePooling1D()(z)])


def masks_through_wrappers(lib):
    """A mask through return_state, TimeDistributed, Bidirectional without merging, a nested
    model and Sequential, and a mask given by hand."""
    x, given = lib.Input((5,), dtype="int32"), lib.Input((5,), dtype="bool")
    inner_input = lib.Input((5,), dtype="int32")
    inner = lib.Model(inner_input, lib.layers.Embedding(10, 4, mask_zero=True)(inner_input),
                      name="inner")
    seq, h, _ = lib.layers.LSTM(3, return_sequences=True, return_state=True)(inner(x))
    t = lib.layers.TimeDistributed(lib.layers.Dense(2))(seq)
    b = lib.layers.Bidirectional(lib.layers.GRU(2, return_sequences=True), merge_mode=None)(t)
    head = lib.Sequential([lib.layers.GRU(2, return_sequences=True),
                           lib.layers.GlobalAveragePooling1D()], name="head")
    return lib.Model([x, given], [lib.layers.GRU(2)(b[0]), h, head(b[1]),
                                  lib.layers.SimpleRNN(2)(t, mask=given)])


def encoder_decoder(lib):
    """The decoder's `initial_state` is a keyword argument, MultiHeadAttention's `value` a
    positional one: each written where Keras writes it."""
    source, target = lib.Input((4, 3)), lib.Input((5, 3))
    _, h, c = lib.layers.LSTM(2, return_state=True)(source)
    y = lib.layers.LSTM(2, return_sequences=True)(target, initial_state=[h, c])
    attention = lib.layers.MultiHeadAttention(1, 2, attention_axes=[1])
    return lib.Model([source, target], attention(y, y))


def attention(lib):
    q, v = lib.Input((4, 6)), lib.Input((3, 6))
    y = lib.layers.MultiHeadAttention(2, 3, attention_axes=[1])(q, v)
    return lib.Model([q, v], lib.layers.Flatten()(lib.layers.Softmax()(y)))


def nested(lib):
    """A two-input functional model and a Sequential, called inside a functional model."""
    a, b = lib.Input((3,)), lib.Input((3,))
    inner = lib.Model([a, b], lib.layers.Add()([a, b]), name="inner")
    head = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)], name="head")
    x, y = lib.Input((3,)), lib.Input((3,))
    return lib.Model([x, y], [head(inner([x, y])), inner([x, y], training=True)], name="outer")


def ops(lib):
    x = lib.Input((3, 4))
    o = lib.ops
    return lib.Model(x, [o.sum(x, axis=-1), o.mean(x, axis=(-1, 1), keepdims=True),
                         o.max(x, axis=-2), o.min(x, axis=1), o.prod(x, axis=-1),
                         o.sum(x, axis=(1, 2)),
                         o.argmax(x, axis=-1), o.argmin(x, axis=1, keepdims=True),
                         x * 2, x + 1, 2 - x, x * 2.5, x / 3, 3 / x, x // 2, 2 // x, x % 2,
                         2 % x, x ** 2, 2 ** x, o.divide(x, 2), o.true_divide(x, 2),
                         o.floor_divide(x, 2), o.mod(x, 3)])


def more_ops(lib):
    """Ops Keras calls with arguments besides the tensors (positional: isclose's tolerances,
    full_like's value; keyword: pad's constant_values, average's weights,
    rms_normalization's scale), and ops under names of their own (amax, RMSNorm)."""
    x = lib.Input((3, 4))
    o = lib.ops
    return lib.Model(x, [o.amax(x, axis=1), o.amin(x, axis=-1, keepdims=True),
                         o.average(x, axis=1), o.average(x, axis=-1),
                         o.pad(x, [[0, 0], [1, 1], [0, 2]], constant_values=2.0),
                         o.full_like(x, 3.0), o.isclose(x, x * 1.01, rtol=0.1),
                         o.rms_normalization(x, scale=1, axis=-1, epsilon=1e-6),
                         o.layer_normalization(x, axis=-1),
                         o.dot(x, o.transpose(x, (0, 2, 1)))])


def pooling_and_image_ops(lib):
    """Pooling ops write the data format resolved; image ops are keras.src.ops.image's.
    (Keras 3.15 on JAX cannot replay its own max_pool with strides=None from a file.)"""
    x = lib.Input((8, 8, 3))
    o = lib.ops
    return lib.Model(x, [o.max_pool(x, 2, strides=2), o.average_pool(x, 3, strides=2, padding="same"),
                         o.image.resize(x, (4, 6)), o.image.rgb_to_grayscale(x)])


def conv_ops(lib):
    """conv, depthwise_conv and separable_conv on a model input with constant kernels
    (Keras's __numpy__ entries), strides as written, the data format resolved.
    (Keras 3.15 cannot run its own conv_transpose op on symbolic tensors.)"""
    rng = np.random.default_rng(7)
    kernels = [rng.standard_normal(shape).astype("float32") for shape in
               ((3, 3, 2, 4), (3, 3, 2, 2), (3, 3, 2, 2), (1, 1, 4, 3), (3, 2, 5))]
    x, sequence = lib.Input((8, 8, 2)), lib.Input((9, 2))
    o = lib.ops
    return lib.Model([x, sequence], [
        o.conv(x, kernels[0], strides=(1, 1), padding="same"),
        o.depthwise_conv(x, kernels[1], strides=2),
        o.separable_conv(x, kernels[2], kernels[3], dilation_rate=2),
        o.conv(sequence, kernels[4], strides=2, dilation_rate=2)])


def take_by_tensor(lib):
    """take with indices from an input of the model."""
    x, indices = lib.Input((5, 2)), lib.Input((3,), dtype="int32")
    return lib.Model([x, indices], [lib.ops.take(x, indices, axis=1),
                                    lib.ops.take(x, indices, axis=-2)])


def quantiles(lib):
    """quantile's q is a positional argument. Config only: Keras 3.15 on JAX cannot run its
    own Quantile op with an int axis (it passes the axis to jit as an unhashable list)."""
    x = lib.Input((3, 4))
    return lib.Model(x, [lib.ops.quantile(x, 0.25, axis=1), lib.ops.quantile(x, 0.9, axis=-1)])


def images(lib):
    """CenterCrop and Resizing take Keras's `training=True`, which Keras records."""
    x = lib.Input((8, 8, 3))
    y = lib.layers.Resizing(6, 5)(lib.layers.CenterCrop(4, 7)(x))
    return lib.Model(x, lib.layers.Rescaling(0.5)(y))


def sequential_called(lib):
    """Built by its first call: the input layer, the build configs and the build input shape
    keep that batch's size, as Keras's."""
    model = lib.Sequential([lib.layers.Dense(2), lib.layers.Dense(1)])
    model(np.ones((5, 3), "float32"))
    return model


def sequential_fitted(lib):
    """Built by `fit` (the first batch's size), compiled with the default `jit_compile`."""
    model = lib.Sequential([lib.layers.Dense(2, activation="relu"), lib.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.ones((7, 3), "float32"), np.ones((7, 1), "float32"), batch_size=4, verbose=0)
    return model


def inputs_of(model, rng):
    """Two samples for each input: integers below 3 for an integer input (zeros, masked by
    `mask_zero`, among them)."""
    arrays = [rng.integers(0, 3, (2, *t.shape[1:])).astype(t.dtype) if "int" in t.dtype
              else rng.standard_normal((2, *t.shape[1:])).astype("float32")
              for t in nk.tree.flatten(model.inputs)]
    return arrays if len(arrays) > 1 else arrays[0]


def number_literals(lib):
    """Python numbers in op calls, which take the dtype of the tensor they meet: Keras records
    them as written (an int stays an int)."""
    x = lib.Input((4,))
    y = lib.ops.maximum(x * 2 + 1, 0)
    y = lib.ops.where(y > 0.5, y, 0)
    return lib.Model(x, lib.ops.power(2, y) - 1.5)


def constant_tensors(lib):
    """Tensors made outside the graph, as op arguments: Keras writes them as `__tensor__`
    entries holding their values."""
    x = lib.Input((4,))
    offset = lib.ops.convert_to_tensor(np.arange(4, dtype="float32"))
    projection = lib.ops.convert_to_tensor(np.linspace(-1, 1, 8, dtype="float32").reshape(4, 2))
    return lib.Model(x, lib.ops.matmul(x + offset, projection))


def label_encodings(lib):
    """multi_hot (nbkeras builds it of one_hot and max) is one MultiHot entry, as Keras's."""
    x = lib.Input((3,), dtype="int32")
    return lib.Model(x, [lib.ops.multi_hot(x, 5), lib.ops.multi_hot(x, num_tokens=4, axis=0),
                         lib.ops.one_hot(x, 4)])


def call_placements(lib):
    """Layer calls with arguments by position and by name, as written: MultiHeadAttention
    with `value` by name and all three by name, LSTM's initial state by position and by
    name, Add's inputs by name."""
    q, v = lib.Input((3, 4)), lib.Input((5, 4))
    h, c = lib.Input((2,)), lib.Input((2,))
    attended = lib.layers.MultiHeadAttention(2, 2)(q, value=v)
    named = lib.layers.MultiHeadAttention(2, 2)(query=q, value=v, key=v)
    first = lib.layers.LSTM(2)(attended, [h, c])
    second = lib.layers.LSTM(2)(named, initial_state=[h, c])
    return lib.Model([q, v, h, c], lib.layers.Add()(inputs=[first, second]))


MODELS = [stack, recurrent, cells_and_wrappers, reshaping, encoder_decoder, attention, nested,
          ops, more_ops, number_literals, constant_tensors, label_encodings, call_placements,
          take_by_tensor, pooling_and_image_ops, conv_ops, images, sequential_called,
          sequential_fitted, masked, masked_sequences, merged_masks, attention_masks,
          masks_through_wrappers]


@pytest.mark.parametrize("make", [*MODELS, quantiles])
def test_config_json_is_the_one_keras_writes(make, tmp_path):
    nk.utils.clear_session()
    keras.utils.clear_session()
    ours = config_json(make(nk), tmp_path / "ours.keras")
    theirs = config_json(make(keras), tmp_path / "theirs.keras")
    assert_written_alike(ours, theirs)


@pytest.mark.parametrize("make", MODELS)
def test_a_keras_file_written_again_by_nbkeras_is_the_same_config_json(make, tmp_path):
    """Loaded from Keras's file and saved again: the recorded calls (Keras's filled-in
    `training` and `mask` among them) and the op names come back as Keras wrote them."""
    keras.utils.clear_session()
    nk.utils.clear_session()
    theirs = config_json(make(keras), tmp_path / "theirs.keras")
    again = config_json(nk.models.load_model(tmp_path / "theirs.keras"), tmp_path / "again.keras")
    assert_written_alike(again, theirs)


def test_op_calls_take_names_as_keras_names_them_across_a_session(tmp_path):
    """An op call draws its name from the session's counter when made (the mask's
    NotEqual of each Embedding call too), not when a loaded config names it."""
    names = []
    for lib in (nk, keras):
        lib.utils.clear_session()
        masked(lib).save(tmp_path / f"{lib.__name__}.keras")
        lib.saving.load_model(tmp_path / f"{lib.__name__}.keras")
        x = lib.Input((3,))
        model = lib.Model(x, [lib.ops.not_equal(x, 0), lib.layers.Concatenate()([x, x * 2])])
        names.append([entry["name"] for entry in json.loads(model.to_json())["config"]["layers"]])
    assert names[0] == names[1]


@pytest.mark.parametrize("make", MODELS)
def test_files_load_both_ways_with_the_same_predictions(make, tmp_path):
    rng = np.random.default_rng(sum(map(ord, make.__name__)))
    ours = make(nk)
    ours.set_weights([rng.standard_normal(w.shape).astype("float32") for w in ours.get_weights()])
    ours.save(tmp_path / "ours.keras")
    theirs = keras.saving.load_model(tmp_path / "ours.keras")
    x = inputs_of(ours, rng)
    expected = ours.predict(x, verbose=0)
    for got in (theirs.predict(x, verbose=0),
                nk.models.load_model(tmp_path / "ours.keras").predict(x, verbose=0)):
        for a, b in zip(nk.tree.flatten(got), nk.tree.flatten(expected)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    theirs.save(tmp_path / "theirs.keras")
    again = nk.models.load_model(tmp_path / "theirs.keras")
    for a, b in zip(nk.tree.flatten(again.predict(x, verbose=0)), nk.tree.flatten(expected)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


def test_quantile_files_from_either_framework_load_into_nbkeras(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    ours = quantiles(nk)
    expected = ours.predict(x, verbose=0)
    ours.save(tmp_path / "ours.keras")
    quantiles(keras).save(tmp_path / "theirs.keras")
    for name in ("ours.keras", "theirs.keras"):
        got = nk.models.load_model(tmp_path / name).predict(x, verbose=0)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(expected[0], np.quantile(x.astype("float64"), 0.25, axis=1),
                               rtol=1e-6, atol=1e-6)


def test_layer_normalization_over_mixed_sign_axes_has_keras_s_weights_and_outputs():
    """Keras sorts axis [1, -1] to [-1, 1], gives gamma and beta the sizes in that order and
    reshapes them onto the axes: the same weights give the same outputs in both."""
    x = np.random.default_rng(3).standard_normal((2, 3, 4)).astype("float32")
    outputs = []
    for lib in (nk, keras):
        layer = lib.layers.LayerNormalization(axis=[1, -1])
        layer(lib.Input((3, 4)))
        assert [tuple(w.shape) for w in layer.get_weights()] == [(4, 3), (4, 3)]
        layer.set_weights([np.linspace(0.5, 2.0, 12, dtype="float32").reshape(4, 3),
                           np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(4, 3)])
        outputs.append(np.asarray(layer(x)))
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-5)


def augmenting(lib):
    x = lib.Input((6, 6, 3))
    return lib.Model(x, lib.layers.RandomCrop(4, 4)(x))


@pytest.mark.parametrize("make", [stack, augmenting])
@pytest.mark.parametrize("options", [{}, {"run_eagerly": True}, {"jit_compile": False},
                                     {"jit_compile": True}, {"jit_compile": True,
                                                             "run_eagerly": True}])
def test_compile_config_holds_the_jit_compile_keras_resolves(make, options):
    """Keras on JAX writes `jit_compile` resolved: "auto" is True unless run eagerly or a
    layer opts out of XLA (RandomCrop); nbkeras runs eagerly either way."""
    configs = []
    for lib in (nk, keras):
        lib.utils.clear_session()
        model = make(lib)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # Keras: run_eagerly disables jit_compile=True
            model.compile("adam", "mse", **options)
        configs.append(json.loads(json.dumps(model.get_compile_config())))
    assert_written_alike(*configs)


KERAS_CLASSES = sorted(name for name in CASES if hasattr(keras.layers, name)
                       and not any(isinstance(v, nk.Layer) for v in CASES[name][0].values()))


@pytest.mark.parametrize("name", KERAS_CLASSES)
def test_a_layer_is_built_when_made_exactly_when_keras_s_is(name):
    """Keras builds some layers in `__init__` (no build_config then); the rest record the
    shapes of their first call."""
    kwargs, shapes = CASES[name]
    ours, theirs = getattr(nk.layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    assert ours.built == theirs.built
    for lib, layer in ((nk, ours), (keras, theirs)):
        layer([lib.Input(s[1:]) for s in shapes] if isinstance(shapes, list)
              else lib.Input(shapes[1:]))
    assert (ours.get_build_config() is None) == (theirs.get_build_config() is None)


def test_every_class_writes_its_config_keys_in_keras_s_order():
    """The classes the table of nbkeras/saving/keras_config_orders.py is made from (every
    layer, initializer, regularizer, constraint, optimizer, loss and metric both frameworks
    have): the keys both write come in Keras's order."""
    from saving.fixtures import make_keras_config_orders as orders

    theirs, ours = orders.orders(keras, CASES), orders.orders(nk, CASES)
    common = theirs.keys() & ours.keys()
    assert len(common) > 150
    for name in sorted(common):
        both = [k for k in theirs[name] if k in ours[name]]
        assert [k for k in ours[name] if k in theirs[name]] == both, name


RESOLVED_AT_BUILD = [   # (class, arguments, input shapes): Keras's config changes at build
    ("LayerNormalization", {}, [(3, 4)]), ("LayerNormalization", {"axis": 1}, [(3, 4)]),
    ("LayerNormalization", {"axis": [-1, -2]}, [(3, 4)]),
    ("LayerNormalization", {"axis": [1, -1]}, [(3, 4)]),
    ("RMSNormalization", {}, [(3, 4)]), ("RMSNormalization", {"axis": (2, 1)}, [(3, 4)]),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, [(4, 6), (5, 6)]),
    ("MultiHeadAttention", {"num_heads": 1, "key_dim": 2, "attention_axes": -2},
     [(4, 3, 6), (4, 3, 6)]),
]


@pytest.mark.parametrize("name, kwargs, shapes", RESOLVED_AT_BUILD)
def test_a_layer_s_config_before_and_after_build_is_keras_s(name, kwargs, shapes):
    """Keras writes the axes a layer resolves in build (LayerNormalization's axis as a sorted
    list, MultiHeadAttention's attention axes), and the arguments as given before."""
    configs = []
    for lib in (nk, keras):
        layer = getattr(lib.layers, name)(**kwargs, name="layer")
        before = lib.saving.serialize_keras_object(layer)["config"]
        layer(*[lib.Input(shape) for shape in shapes])
        configs.append([json.loads(json.dumps(c)) for c in
                        (before, lib.saving.serialize_keras_object(layer)["config"])])
    assert_written_alike(*configs)


def test_a_file_with_build_configs_for_layers_built_when_made_still_loads(tmp_path):
    """Files nbkeras wrote before gave Dropout and pooling layers a build_config."""
    rng = np.random.default_rng(3)
    model = stack(nk)
    model.save(tmp_path / "model.keras")
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    for entry in config["config"]["layers"][1:]:
        entry.setdefault("build_config", {"input_shape": entry["inbound_nodes"][0]["args"][0]
                                          ["config"]["shape"]})
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "old.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    x = rng.standard_normal((2, 8, 8, 3)).astype("float32")
    for loaded in (nk.models.load_model(tmp_path / "old.keras"),
                   keras.saving.load_model(tmp_path / "old.keras")):
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-6)


def test_a_dropout_read_from_a_keras_file_drops_in_training(tmp_path):
    """Keras records Dropout's `training=False` default; the model's own training wins."""
    x = keras.Input((200,))
    keras.Model(x, keras.layers.Dropout(0.5)(x)).save(tmp_path / "dropout.keras")
    model = nk.models.load_model(tmp_path / "dropout.keras")
    ones = np.ones((2, 200), "float32")
    assert (np.asarray(model(ones, training=True)) == 0).sum() > 0
    np.testing.assert_array_equal(model.predict(ones, verbose=0), ones)
