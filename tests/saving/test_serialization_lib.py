"""nk.saving.serialize_keras_object / deserialize_keras_object: Keras 3's format, written as
Keras writes the equivalent Keras object (compared with keras.saving on the same objects and on
Hypothesis-drawn layer configs), read back into the same nbkeras objects, Keras's own configs
read, and safe mode refusing bytecode and foreign classes."""
import gc
import importlib
import inspect
import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbkeras as nk
from layers.test_build_by_hand import CASES
from nbkeras import layers
from nbkeras.saving import deserialize_keras_object, serialize_keras_object
from nbkeras.saving import serialization_lib
from nbkeras.testing import strategies as nst
from parity.parity_cases import conv_cases, global_pooling_cases, pooling_cases


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


def through_json(config):
    return json.loads(json.dumps(config))


def differences(ours, theirs, path="") -> list[str]:
    """Where two configs differ, as 'path: ours != theirs' lines."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return [line for key in list(ours) + [k for k in theirs if k not in ours]
                for line in differences(ours.get(key, "<missing>"), theirs.get(key, "<missing>"),
                                        f"{path}/{key}")]
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [line for i, (a, b) in enumerate(zip(ours, theirs))
                for line in differences(a, b, f"{path}[{i}]")]
    return [] if ours == theirs else [f"{path}: {ours!r} != {theirs!r}"]


def assert_same(ours, theirs):
    ours, theirs = through_json(ours), through_json(theirs)
    assert ours == theirs, "\n".join(differences(ours, theirs))
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)   # 2 != 2.0


def keras_round_trip(keras, config):
    """Keras reads `config` and writes it again (its own defaults fill what we left out)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = keras.saving.deserialize_keras_object(through_json(config), safe_mode=False)
        return through_json(keras.saving.serialize_keras_object(obj))


def without_build_state(config):
    """`config` less build_config/compile_config entries (the Layer/Trainer side of them is
    tested with the .keras archive)."""
    if isinstance(config, dict):
        return {k: without_build_state(v) for k, v in config.items()
                if k not in ("build_config", "compile_config")}
    if isinstance(config, list):
        return [without_build_state(v) for v in config]
    return config


# ---- layers: as Keras writes them --------------------------------------------------------
def fresh(args: dict) -> dict:
    """CASES' constructor arguments with each layer among them made anew, unbuilt: other
    tests build the shared instances (a built cell then writes its build_config)."""
    return {key: type(v).from_config(v.get_config()) if isinstance(v, nk.Layer) else v
            for key, v in args.items()}


KERAS_LESS = {"LocallyConnected1D", "LocallyConnected2D",   # Keras 2 only
              "ThresholdedReLU"}                              # dropped in Keras 3
LAYER_CASES = sorted(name for name in CASES if name not in KERAS_LESS)


@pytest.mark.parametrize("name", LAYER_CASES)
def test_every_layer_serializes_as_keras(keras, name):
    """Keras reads our entry and writes exactly it again; where the constructor arguments
    are plain values, Keras's own layer of the same arguments is written the same too."""
    args = fresh(CASES[name][0])
    ours = through_json(serialize_keras_object(getattr(layers, name)(**args, name="x")))
    assert ours["module"] == "keras.layers" and ours["class_name"] == name
    assert without_build_state(keras_round_trip(keras, ours)) == ours
    if not any(isinstance(v, nk.Layer) for v in args.values()):
        theirs = keras.saving.serialize_keras_object(getattr(keras.layers, name)(**args,
                                                                                 name="x"))
        assert_same(ours, theirs)
    assert_same(serialize_keras_object(deserialize_keras_object(ours)), ours)


# Keras turns these layers' `axis` into a list when it builds them (its config changes).
AXIS_LISTED_WHEN_BUILT = {"LayerNormalization", "RMSNormalization"}


@pytest.mark.parametrize("name", [n for n in LAYER_CASES if n not in AXIS_LISTED_WHEN_BUILT
                                  and not any(isinstance(v, nk.Layer)
                                              for v in CASES[n][0].values())])
def test_built_layers_serialize_as_keras(keras, name):
    """Built for the same input shape, a layer and Keras's write the same entry, with
    Keras's `build_config`; reading it back builds the layer again."""
    args, shape = CASES[name]
    ours, theirs = getattr(layers, name)(**args, name="x"), getattr(keras.layers, name)(
        **args, name="x")
    ours.build(shape)
    theirs.build(shape)
    config = serialize_keras_object(ours)
    assert "build_config" in config
    assert_same(config, keras.saving.serialize_keras_object(theirs))
    back = deserialize_keras_object(through_json(config))
    assert back.built and [w.shape for w in back.weights] == [w.shape for w in ours.weights]


def test_lambda_with_a_named_function_serializes_as_keras(keras):
    ours = layers.Lambda(nk.activations.relu, output_shape=(3,), mask=None, name="x",
                         arguments={"max_value": 2.0})
    theirs = keras.layers.Lambda(keras.activations.relu, output_shape=(3,), name="x",
                                 arguments={"max_value": 2.0})
    config = serialize_keras_object(ours)
    assert_same(config, keras.saving.serialize_keras_object(theirs))
    back = deserialize_keras_object(through_json(config))
    assert back.function is nk.activations.relu and back.output_shape == (3,)
    np.testing.assert_allclose(np.asarray(back(np.array([[-1.0, 1.0, 3.0]]))), [[0, 1, 2]])


# Layers with many options set; with the differences Keras's own configs have.
OPTION_RICH = [
    ("LSTM", dict(units=3, dropout=0.1, recurrent_dropout=0.2, kernel_regularizer="l2",
                  recurrent_constraint="max_norm", return_sequences=True, seed=3), []),
    ("GRU", dict(units=2, reset_after=False, activation="relu", use_bias=False), []),
    # Keras's SimpleRNN leaves `seed` out of its config (lost on reload); nbkeras keeps it.
    ("SimpleRNN", dict(units=2, seed=5), ["/config/seed: 5 != '<missing>'"]),
    ("MultiHeadAttention", dict(num_heads=2, key_dim=3, dropout=0.1, output_shape=(4,)), []),
    ("Embedding", dict(input_dim=5, output_dim=2, mask_zero=True, embeddings_regularizer="l1"),
     []),
    ("Conv2D", dict(filters=4, kernel_size=3, groups=2, kernel_initializer="he_normal",
                    bias_initializer="ones"), []),
    ("BatchNormalization", dict(momentum=0.9, epsilon=1e-3, center=False,
                                gamma_initializer="random_normal"), []),
    ("LayerNormalization", dict(axis=[-1], rms_scaling=True), []),
    ("Dropout", dict(rate=0.3, noise_shape=(None, 1), seed=2), []),
    ("Dense", dict(units=2, activation="leaky_relu", activity_regularizer="l2"), []),
    ("Reshape", dict(target_shape=(2, -1)), []),
    ("Masking", dict(mask_value=1.5), []),
    # Keras's EinsumDense writes an int output_shape as a list.
    ("EinsumDense", dict(equation="ab,bc->ac", output_shape=4, bias_axes="c"),
     ["/config/output_shape: 4 != [4]"]),
    ("GroupNormalization", dict(groups=2, epsilon=1e-4), []),
    ("Attention", dict(use_scale=True, score_mode="concat"), []),
    ("PReLU", dict(alpha_initializer="ones", shared_axes=[1]), []),
    ("UpSampling2D", dict(size=(2, 3), interpolation="bilinear"), []),
    ("ConvLSTM2D", dict(filters=2, kernel_size=2, return_state=True), []),
    ("GaussianNoise", dict(stddev=0.2, seed=3), []),
]


@pytest.mark.parametrize("name,config,keras_differs", OPTION_RICH, ids=[c[0] for c in OPTION_RICH])
def test_option_rich_layers_serialize_as_keras(keras, name, config, keras_differs):
    ours = through_json(serialize_keras_object(getattr(layers, name)(**config, name="x")))
    theirs = through_json(keras.saving.serialize_keras_object(
        getattr(keras.layers, name)(**config, name="x")))
    assert differences(ours, theirs) == keras_differs
    assert_same(serialize_keras_object(deserialize_keras_object(ours)), ours)


def keras_equal(keras, name, config):
    ours = serialize_keras_object(getattr(layers, name)(**config, name="x"))
    theirs = keras.saving.serialize_keras_object(getattr(keras.layers, name)(**config,
                                                                             name="x"))
    assert_same(ours, theirs)
    assert_same(serialize_keras_object(deserialize_keras_object(ours)), ours)


@settings(max_examples=15)
@given(family=st.sampled_from(["conv", "transpose", "depthwise", "separable"]),
       rank=st.integers(1, 2), data=st.data())
def test_drawn_conv_configs_serialize_as_keras(keras, family, rank, data):
    config, _ = data.draw(conv_cases(family, rank))
    name = {"conv": "Conv{}D", "transpose": "Conv{}DTranspose", "depthwise": "DepthwiseConv{}D",
            "separable": "SeparableConv{}D"}[family].format(rank)
    keras_equal(keras, name, config)


@settings(max_examples=15)
@given(kind=st.sampled_from(["max", "average"]), rank=st.integers(1, 3),
       pooled=st.booleans(), data=st.data())
def test_drawn_pooling_and_dense_configs_serialize_as_keras(keras, kind, rank, pooled, data):
    if pooled:
        config, _ = data.draw(pooling_cases(rank, kind))
        keras_equal(keras, f"{kind.capitalize()}Pooling{rank}D", config)
    else:
        config, _ = data.draw(global_pooling_cases(rank, kind))
        keras_equal(keras, f"Global{kind.capitalize()}Pooling{rank}D", config)
    keras_equal(keras, "Dense", {**data.draw(nst.dense_configs()),
                                 "kernel_regularizer": data.draw(st.sampled_from(
                                     [None, "l1", "l2", "L1L2"])),
                                 "bias_constraint": data.draw(st.sampled_from(
                                     [None, "non_neg", "max_norm", "unit_norm"]))})


# ---- models --------------------------------------------------------------------------------
def without_call_defaults(config):
    """Keras records `mask=None` and `training=False` in the calls of layers whose `call`
    takes them; nbkeras's graph records the keyword arguments its caller gave (both load)."""
    if isinstance(config, dict):
        return {k: without_call_defaults(v) for k, v in config.items()
                if not (k, v) in (("mask", None), ("training", False))}
    if isinstance(config, list):
        return [without_call_defaults(v) for v in config]
    return config


def two_input_model(lib):
    """A multi-input functional model with a shared layer and a nested Sequential."""
    a, b = lib.Input((4,), name="a"), lib.Input((4,), name="b")
    shared = lib.layers.Dense(3, activation="tanh", name="shared")
    head = lib.Sequential([lib.Input((6,), name="head_in"), lib.layers.Dense(2, name="inner")],
                          name="head")
    joined = lib.layers.Concatenate(name="joined")([shared(a), shared(b)])
    return lib.Model([a, b], head(lib.layers.Dropout(0.25, name="drop")(joined)), name="two")


def sequential_model(lib):
    return lib.Sequential([lib.Input((5, 3), name="seq_in"),
                           lib.layers.Conv1D(2, 2, activation="relu", name="conv"),
                           lib.layers.GlobalMaxPooling1D(name="pool"),
                           lib.layers.Dense(1, name="out")], name="seq")


@pytest.mark.parametrize("make", [two_input_model, sequential_model])
def test_models_serialize_as_keras_and_back(keras, make):
    """The same model made with nbkeras and with Keras is written the same; ours reads back
    into the same model (same config, same predictions with the same weights)."""
    model = make(nk)
    ours = through_json(serialize_keras_object(model))
    theirs = through_json(keras.saving.serialize_keras_object(make(keras)))
    assert_same(without_call_defaults(without_build_state(ours)),
                without_call_defaults(without_build_state(theirs)))
    clone = deserialize_keras_object(ours)
    assert type(clone) is type(model)
    assert through_json(serialize_keras_object(clone)) == ours
    rng = np.random.default_rng(2)
    x = [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))] if make is two_input_model \
        else rng.standard_normal((3, 5, 3))
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_keras_model_config_loads(keras):
    """Keras's own file config (FloatDTypePolicy, renorm off, quantization_config) loads, and
    nbkeras writes it back as Keras does."""
    inp = keras.Input((6,))
    x = keras.layers.Dense(4, activation="relu", kernel_regularizer="l2",
                           dtype=keras.dtype_policies.FloatDTypePolicy("float32"))(inp)
    x = keras.layers.BatchNormalization()(x)
    model = keras.Model(inp, keras.layers.Dense(1)(x))
    theirs = through_json(keras.saving.serialize_keras_object(model))
    float_policy = theirs["config"]["layers"][1]["config"]["dtype"]
    assert float_policy["class_name"] == "FloatDTypePolicy"
    loaded = deserialize_keras_object(theirs)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        ["InputLayer", "Dense", "BatchNormalization", "Dense"]
    ours = through_json(serialize_keras_object(loaded))
    theirs["config"]["layers"][1]["config"]["dtype"]["class_name"] = "DTypePolicy"
    assert_same(without_call_defaults(without_build_state(ours)),
                without_call_defaults(without_build_state(theirs)))


# ---- other objects as Keras writes them ----------------------------------------------------
def test_keras_tensors_serialize_as_keras(keras):
    ours, theirs = nk.Input((3,), name="t"), keras.Input((3,), name="t")
    dense = layers.Dense(2, name="d")
    dense(nk.Input((3,)))
    config = serialize_keras_object(dense(ours))   # the layer's second call
    keras_dense = keras.layers.Dense(2, name="d")
    keras_dense(keras.Input((3,)))
    assert_same(config, keras.saving.serialize_keras_object(keras_dense(theirs)))
    assert config["config"]["keras_history"] == ["d", 1, 0]
    tensor = deserialize_keras_object(through_json(serialize_keras_object(ours)))
    assert tensor.shape == (None, 3) and tensor._pre_serialization_keras_history == ["t", 0, 0]


@pytest.mark.parametrize("value", [None, 3, 2.5, "relu", True, (1, (2, None)), [1, 2],
                                   {"a": (1, 2)}, b"bytes", np.float32(1.5), np.int64(3),
                                   np.arange(6, dtype="float32").reshape(2, 3),
                                   np.array([True, False]), slice(1, None, 2), Ellipsis])
def test_values_serialize_as_keras(keras, value):
    ours = serialize_keras_object(value)
    assert ours == keras.saving.serialize_keras_object(value)
    back = deserialize_keras_object(through_json(ours))
    np.testing.assert_equal(back, keras.saving.deserialize_keras_object(through_json(ours)))


# Keras objects by the same name whose configs nbkeras writes differently, and why.
KNOWN_DIFFERENCES = {
    # Keras's configs leave out an option the object was made with (a Keras bug: it is lost
    # on reload); nbkeras writes it.
    "losses.Huber": {"delta"}, "losses.CosineSimilarity": {"axis"},
    "metrics.CosineSimilarity": {"axis"}, "initializers.Identity": {"gain"},
    "initializers.IdentityInitializer": {"gain"},
}
NAMESPACES = ["layers", "models", "optimizers", "optimizers.schedules", "losses", "metrics",
              "initializers", "regularizers", "constraints", "dtype_policies"]
# Constructor arguments of the public classes that have required ones.
REQUIRED = {
    **{name: args for name, (args, _) in CASES.items()},
    "Lambda": {"function": nk.activations.relu}, "RNN": {"cell": layers.GRUCell(2)},
    "Bidirectional": {"layer": layers.LSTM(2)}, "TimeDistributed": {"layer": layers.Dense(2)},
    "SpectralNormalization": {"layer": layers.Dense(2)},
    "SimpleRNNCell": {"units": 2}, "LSTMCell": {"units": 2}, "GRUCell": {"units": 2},
    "StackedRNNCells": {"cells": [layers.GRUCell(2), layers.LSTMCell(3)]},
    "MultiHeadAttention": {"num_heads": 2, "key_dim": 3},
    "GroupedQueryAttention": {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2},
    "InputLayer": {"shape": (3,)}, "Sequential": {"layers": [layers.Dense(2)], "name": "s"},
    "RandomBrightness": {"factor": 0.2}, "RandomContrast": {"factor": 0.2},
    "RandomCrop": {"height": 2, "width": 2}, "RandomRotation": {"factor": 0.1},
    "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1},
    "RandomZoom": {"height_factor": 0.1},
    "LossScaleOptimizer": {"inner_optimizer": nk.optimizers.SGD()},
    "OptimizerMap": {"default_optimizer": nk.optimizers.SGD()},
    "MultiOptimizer": {"optimizer_map": nk.optimizers.OptimizerMap(nk.optimizers.Adam())},
    "MeanMetricWrapper": {"fn": nk.losses.mean_squared_error},
    "IoU": {"num_classes": 3, "target_class_ids": [0, 2]}, "MeanIoU": {"num_classes": 3},
    "OneHotIoU": {"num_classes": 3, "target_class_ids": [1]}, "OneHotMeanIoU": {"num_classes": 3},
    "PrecisionAtRecall": {"recall": 0.5}, "RecallAtPrecision": {"precision": 0.5},
    "SensitivityAtSpecificity": {"specificity": 0.5},
    "SpecificityAtSensitivity": {"sensitivity": 0.5},
    "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9},
    "InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9},
    "CosineDecay": {"initial_learning_rate": 0.1, "decay_steps": 10},
    "CosineDecayRestarts": {"initial_learning_rate": 0.1, "first_decay_steps": 10},
    "PolynomialDecay": {"initial_learning_rate": 0.1, "decay_steps": 10},
    "PiecewiseConstantDecay": {"boundaries": [10, 20], "values": [0.1, 0.01, 0.001]},
}
# Public classes with no instance of their own to serialize: bases (abstract, or configs of
# nothing) and Model/Functional, whose configs are those of the models above.
BASES = {"Layer", "Wrapper", "Optimizer", "Loss", "Metric", "Initializer", "Regularizer",
         "Constraint", "LearningRateSchedule", "Model", "Functional", "Reduce",
         "LossFunctionWrapper", "RandomInitializer", "ScaledInitializer"}


def public_classes():
    """(namespace, name, class) for every public class of nbkeras's config namespaces."""
    seen = set()
    for namespace in NAMESPACES:
        module = importlib.import_module(f"nbkeras.{namespace}")
        for name, cls in sorted(vars(module).items()):
            if isinstance(cls, type) and not name.startswith("_") and cls not in seen \
                    and cls.__module__.startswith(module.__name__) and name == cls.__name__ \
                    and name not in BASES:
                seen.add(cls)
                yield namespace, name, cls


def keras_twin(keras, value):
    """A constructor argument for Keras: our layers, optimizers and functions as Keras reads
    their entries."""
    if isinstance(value, list):
        return [keras_twin(keras, v) for v in value]
    if isinstance(value, (nk.Layer, nk.Optimizer)) or callable(value):
        return keras.saving.deserialize_keras_object(through_json(serialize_keras_object(value)))
    return value


def instance(name, cls):
    return cls(**REQUIRED.get(name, {}))


@pytest.mark.parametrize("namespace,name,cls", list(public_classes()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_class_round_trips(namespace, name, cls):
    """serialize -> JSON -> deserialize gives the same class and the same config."""
    obj = instance(name, cls)
    config = through_json(serialize_keras_object(obj))
    assert config["class_name"] == name
    back = deserialize_keras_object(config)
    assert type(back) is cls
    assert through_json(serialize_keras_object(back)) == config


@pytest.mark.parametrize("namespace,name,cls", [
    case for case in public_classes() if case[0] != "layers"],
    ids=lambda v: v if isinstance(v, str) else "")
def test_every_public_object_serializes_as_keras(keras, namespace, name, cls):
    theirs_cls = importlib.import_module(f"keras.{namespace}").__dict__.get(name) \
        if namespace != "models" else getattr(keras, name, None)
    if theirs_cls is None:
        pytest.skip(f"Keras has no {namespace}.{name}")
    # Keras numbers the default names of optimizers and some metrics per process: name them
    named = {"name": "m"} if namespace in ("optimizers", "metrics") \
        and "name" in inspect.signature(cls).parameters else {}
    args = {**{key: keras_twin(keras, value) for key, value in REQUIRED.get(name, {}).items()},
            **named}
    ours = without_build_state(through_json(serialize_keras_object(
        cls(**REQUIRED.get(name, {}), **named))))
    theirs = without_build_state(through_json(keras.saving.serialize_keras_object(
        theirs_cls(**args))))
    ignored = KNOWN_DIFFERENCES.get(f"{namespace}.{name}", set())
    for config in (ours, theirs):
        for key in ignored:
            config["config"].pop(key, None)
    assert_same(ours, theirs)


# Objects with many options set, by namespace; with the differences Keras's configs have.
OPTION_RICH_OBJECTS = [
    ("optimizers", "Adam", dict(learning_rate=0.01, weight_decay=0.004, clipnorm=1.0,
                                use_ema=True, ema_momentum=0.9, amsgrad=True,
                                gradient_accumulation_steps=2, name="o"), []),
    ("optimizers", "SGD", dict(learning_rate=0.1, momentum=0.9, nesterov=True,
                               global_clipnorm=2.0, name="o"), []),
    ("optimizers", "RMSprop", dict(rho=0.8, centered=True, clipvalue=0.5, name="o"), []),
    ("losses", "BinaryCrossentropy", dict(from_logits=True, label_smoothing=0.1,
                                          reduction="sum"), []),
    ("losses", "SparseCategoricalCrossentropy", dict(from_logits=True, ignore_class=0), []),
    ("losses", "CategoricalFocalCrossentropy", dict(alpha=0.5, gamma=3.0), []),
    # Keras's Huber leaves `delta` out of its config (lost on reload); nbkeras keeps it.
    ("losses", "Huber", dict(delta=2.0, reduction=None), ["/config/delta: 2.0 != '<missing>'"]),
    ("metrics", "AUC", dict(num_thresholds=50, curve="PR", multi_label=True, name="m"), []),
    ("metrics", "Precision", dict(thresholds=[0.3, 0.6], class_id=1, name="m"), []),
    ("metrics", "SparseTopKCategoricalAccuracy", dict(k=3, name="m"), []),
    ("metrics", "F1Score", dict(average="macro", threshold=0.4, name="m"), []),
    ("metrics", "MeanIoU", dict(num_classes=3, ignore_class=0, sparse_y_pred=False, name="m"),
     []),
    ("initializers", "VarianceScaling", dict(scale=2.0, mode="fan_out",
                                             distribution="uniform", seed=3), []),
    ("initializers", "RandomNormal", dict(mean=1.0, stddev=0.5, seed=1), []),
    ("regularizers", "L1L2", dict(l1=0.1, l2=0.3), []),
    ("constraints", "MinMaxNorm", dict(min_value=0.1, max_value=2.0, rate=0.5, axis=1), []),
    ("optimizers.schedules", "PiecewiseConstantDecay",
     dict(boundaries=[10, 20], values=[0.1, 0.01, 0.001], name="s"), []),
    ("optimizers.schedules", "CosineDecay", dict(initial_learning_rate=0.1, decay_steps=10,
                                                 alpha=0.1, warmup_target=0.2, warmup_steps=5,
                                                 name="s"), []),
]


@pytest.mark.parametrize("namespace,name,config,keras_differs", OPTION_RICH_OBJECTS,
                         ids=[c[1] for c in OPTION_RICH_OBJECTS])
def test_option_rich_objects_serialize_as_keras(keras, namespace, name, config, keras_differs):
    ours = through_json(serialize_keras_object(
        getattr(importlib.import_module(f"nbkeras.{namespace}"), name)(**config)))
    theirs = through_json(keras.saving.serialize_keras_object(
        getattr(importlib.import_module(f"keras.{namespace}"), name)(**config)))
    assert differences(ours, theirs) == keras_differs
    assert_same(serialize_keras_object(deserialize_keras_object(ours)), ours)


def test_functions_schedules_and_policies_as_keras(keras):
    pairs = [(nk.activations.gelu, keras.activations.gelu),
             (nk.losses.mean_squared_error, keras.losses.mean_squared_error),
             (nk.metrics.binary_accuracy, keras.metrics.binary_accuracy),
             (nk.DTypePolicy("float64"), keras.DTypePolicy("float64")),
             (nk.dtype_policies.FloatDTypePolicy("float32"),
              keras.dtype_policies.FloatDTypePolicy("float32")),
             (nk.optimizers.Adam(nk.optimizers.schedules.CosineDecay(0.1, 10), name="opt"),
              keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.1, 10),
                                    name="opt")),
             (layers.Dense(2, activation=nk.activations.gelu, name="g"),
              keras.layers.Dense(2, activation=keras.activations.gelu, name="g"))]
    for ours, theirs in pairs:
        config = serialize_keras_object(ours)
        assert_same(config, keras.saving.serialize_keras_object(theirs))
        back = deserialize_keras_object(through_json(config))
        assert back is ours if callable(ours) and not hasattr(ours, "get_config") else \
            type(back) is type(ours)


def test_shared_objects_as_keras_shares_them(keras):
    """In an ObjectSharingScope (what Keras's .keras saving uses) an object used twice is
    written with Keras's shared_object_id, and read back as one object, in Keras's files too."""
    def model(lib, regularizer):
        return lib.Sequential([lib.Input((3,)),
                               lib.layers.Dense(2, kernel_regularizer=regularizer, name="a"),
                               lib.layers.Dense(2, kernel_regularizer=regularizer, name="b")])

    with serialization_lib.ObjectSharingScope():
        ours = through_json(serialize_keras_object(model(nk, nk.regularizers.L2(0.25))))
    entries = [layer["config"]["kernel_regularizer"] for layer in ours["config"]["layers"][1:]]
    assert entries[0] == entries[1] and "shared_object_id" in entries[0]
    from keras.src.saving.serialization_lib import ObjectSharingScope

    with ObjectSharingScope():
        theirs = through_json(keras.saving.serialize_keras_object(
            model(keras, keras.regularizers.L2(0.25))))
    # Keras copies the first entry before marking it, so only the second carries the id in
    # its files: nothing to share when reading them (Keras does not either)
    assert "shared_object_id" not in theirs["config"]["layers"][1]["config"][
        "kernel_regularizer"]
    for config, shared in ((ours, True), (theirs, False)):
        with serialization_lib.ObjectSharingScope():
            loaded = deserialize_keras_object(config)
        first, second = (layer.kernel_regularizer for layer in loaded.layers)
        assert (first is second) == shared and first == second == nk.regularizers.L2(0.25)
    loaded = deserialize_keras_object(ours)   # outside a scope: one object per entry
    assert loaded.layers[0].kernel_regularizer is not loaded.layers[1].kernel_regularizer


def test_registered_function_round_trips():
    def halve(x):
        return x / 2

    nk.saving.register_keras_serializable("tests", "halve_fn")(halve)
    try:
        config = serialize_keras_object(halve)
        assert config == {"module": "builtins", "class_name": "function",
                          "config": "tests>halve_fn", "registered_name": "function"}
        assert deserialize_keras_object(config) is halve
        layer = deserialize_keras_object(serialize_keras_object(layers.Dense(2,
                                                                             activation=halve)))
        assert layer.activation is halve
    finally:
        nk.saving.get_custom_objects().pop("tests>halve_fn")


# ---- safe mode -----------------------------------------------------------------------------
def keras_lambda_config(keras, function):
    """A Lambda entry as Keras writes it (bytecode made by Keras in this process)."""
    return through_json(keras.saving.serialize_keras_object(
        keras.layers.Lambda(function, name="from_keras")))


def test_lambda_bytecode_is_refused_in_safe_mode(keras):
    config = keras_lambda_config(keras, lambda t: t * 3.0 + 1.0)
    assert config["config"]["function"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="Lambda.*'from_keras'.*function.*Python lambda.*"
                                         "safe_mode=False.*enable_unsafe_deserialization"):
        deserialize_keras_object(config)
    with pytest.raises(ValueError, match="Lambda.*from_keras"):
        layers.Lambda.from_config(config["config"])
    layer = deserialize_keras_object(config, safe_mode=False)
    x = np.random.default_rng(3).standard_normal((2, 3))
    np.testing.assert_allclose(np.asarray(layer(x)), x * 3.0 + 1.0, rtol=1e-6)
    model = {"module": "keras", "class_name": "Sequential", "config": {
        "name": "m", "layers": [config]}, "registered_name": None}
    with pytest.raises(ValueError, match="from_keras"):
        deserialize_keras_object(model)
    assert deserialize_keras_object(model, safe_mode=False).layers[0].name == "from_keras"


def test_enable_unsafe_deserialization(keras):
    config = keras_lambda_config(keras, lambda t: t - 2.0)
    with serialization_lib.SafeModeScope(None):   # restores the thread's setting afterwards
        nk.config.enable_unsafe_deserialization()
        layer = deserialize_keras_object(config)
    np.testing.assert_allclose(np.asarray(layer(np.ones(2))), [-1.0, -1.0])
    with pytest.raises(ValueError, match="Python lambda"):
        deserialize_keras_object(config)


def test_a_lambda_this_process_wrote_reloads_as_the_same_function():
    """In-process round trips (clone_model, from_config(get_config())) run no bytecode."""
    offset = np.random.default_rng(4).uniform()
    layer = layers.Lambda(lambda t, scale=(2.0, 1.0): t * scale[0] + offset, name="own")
    config = through_json(serialize_keras_object(layer))
    assert deserialize_keras_object(config).function is layer.function
    assert layers.Lambda.from_config(layer.get_config()).function is layer.function
    del layer
    gc.collect()
    with pytest.raises(ValueError, match="'own'.*Python lambda"):
        deserialize_keras_object(config)


def test_generic_lambda_and_foreign_classes_are_refused():
    with pytest.warns(UserWarning, match="lambda"):
        config = through_json(serialize_keras_object({"f": lambda t: t}))
    gc.collect()
    with pytest.raises(ValueError, match="Python lambda.*safe_mode=False"):
        deserialize_keras_object(config)
    foreign = {"module": "collections", "class_name": "OrderedDict", "config": {},
               "registered_name": None}
    with pytest.raises(ValueError, match="class 'OrderedDict' of module 'collections' in safe "
                                         "mode.*register_keras_serializable.*custom_objects"
                                         ".*safe_mode=False"):
        deserialize_keras_object(foreign)
    with pytest.raises(TypeError, match="OrderedDict.*from_config"):
        deserialize_keras_object(foreign, safe_mode=False)
    with pytest.raises(ValueError, match="keras.models.load_model.*not a modeling function"):
        deserialize_keras_object({"module": "keras.models", "class_name": "function",
                                  "config": "load_model", "registered_name": None})
    with pytest.raises(TypeError, match="Could not locate class 'NoSuchLayer'.*nbkeras has no "
                                        "equivalent of Keras's `keras.layers.NoSuchLayer`"):
        deserialize_keras_object({"module": "keras.layers", "class_name": "NoSuchLayer",
                                  "config": {}, "registered_name": None})
    for bad in ({"class_name": 3, "config": {}}, {"module": 3, "class_name": "Dense",
                                                  "config": {}}):
        with pytest.raises(TypeError, match="Could not parse config"):
            deserialize_keras_object(bad)
    with pytest.raises(TypeError, match="Expected 'config' to be a dict for Dense"):
        deserialize_keras_object({"module": "keras.layers", "class_name": "Dense",
                                  "config": [1], "registered_name": None})
    with pytest.raises(TypeError, match="Could not locate function 'no_such_fn'"):
        deserialize_keras_object({"module": "builtins", "class_name": "function",
                                  "config": "no_such_fn", "registered_name": "function"})


# ---- utils -----------------------------------------------------------------------------------
def test_get_source_inputs_as_keras(keras):
    """The inputs a tensor's graph starts from, each once, in Keras's order."""
    def graph(lib):
        a, b, c = (lib.Input((3,), name=n) for n in "abc")
        shared = lib.layers.Dense(3, name="shared")
        joined = lib.layers.Add(name="add")([shared(b), shared(a), b])
        return a, b, c, joined

    ours, theirs = graph(nk), graph(keras)
    for lib, (a, b, c, joined) in ((nk, ours), (keras, theirs)):
        sources = lib.utils.get_source_inputs(joined)
        assert [t.name for t in sources] == ["b", "a"]
        assert lib.utils.get_source_inputs(c) == [c]
    x = np.ones(2)
    assert nk.utils.get_source_inputs(x) is x and keras.utils.get_source_inputs(x) is x
