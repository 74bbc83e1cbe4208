"""The top-level names of `keras` that nbkeras has: base classes, Function, name_scope,
dtype policies, version, and models.clone_model, against Keras 3.15 where it is importable;
the signature of every name issue 12 lists; clear_session, interactive logging, Config,
Progbar, the optimizer properties and mixed_precision."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers
from nbkeras.name_scope import current_path


def _keras():
    return pytest.importorskip("keras")


# ---- base classes -----------------------------------------------------------------------
def test_base_classes_are_the_ones_subclassed():
    assert nk.Layer is nk.layers.Layer
    assert nk.Loss is nk.losses.Loss and nk.Metric is nk.metrics.Metric
    assert nk.Optimizer is nk.optimizers.Optimizer
    assert nk.Initializer is nk.initializers.Initializer
    assert nk.Regularizer is nk.regularizers.Regularizer
    assert isinstance(layers.Dense(2), nk.Layer)
    assert isinstance(nk.losses.MeanSquaredError(), nk.Loss)
    assert isinstance(nk.initializers.get("zeros"), nk.Initializer)
    assert nk.Operation is nk.ops.op.Op
    spec = nk.InputSpec(ndim=2)
    with pytest.raises(ValueError, match=r"Dense 'd' .*expected ndim=2 .*found ndim=3"):
        nk.layers.input_spec.assert_input_compatibility(spec, np.zeros((3, 4, 5)), "Dense 'd'")


def test_version():
    assert nk.version() == nk.__version__ == "0.1.0"


def test_top_level_names_keras_has():
    keras = _keras()
    names = {"Layer", "Loss", "Metric", "Optimizer", "Initializer", "Regularizer", "InputSpec",
             "Operation", "Function", "name_scope", "DTypePolicy", "FloatDTypePolicy",
             "dtype_policies", "version", "Variable", "Input", "Model", "Sequential",
             "KerasTensor", "device"}
    assert names <= set(dir(keras))
    assert all(hasattr(nk, n) for n in names)


# ---- dtype policies -----------------------------------------------------------------------
@pytest.mark.parametrize("name", ["float32", "float64"])
def test_policy_matches_keras(name):
    keras = _keras()
    for ours, theirs in ((nk.DTypePolicy(name), keras.DTypePolicy(name)),
                         (nk.FloatDTypePolicy(name), keras.FloatDTypePolicy(name))):
        assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode) == (
            theirs.name, theirs.compute_dtype, theirs.variable_dtype, theirs.quantization_mode)
        assert ours.get_config() == theirs.get_config()
        assert repr(ours) == repr(theirs)
        assert nk.dtype_policies.serialize(ours) == keras.dtype_policies.serialize(theirs)
        assert nk.dtype_policies.deserialize(keras.dtype_policies.serialize(theirs)) == ours
    assert isinstance(nk.FloatDTypePolicy(name), nk.DTypePolicy)


def test_policy_get_and_floatx():
    assert nk.dtype_policies.get(None).name == nk.config.floatx()
    assert nk.DTypePolicy().name == nk.config.floatx()
    policy = nk.DTypePolicy("float64")
    assert nk.dtype_policies.get(policy) is policy
    assert nk.dtype_policies.get("float64") == policy
    assert nk.dtype_policies.get({"class_name": "DTypePolicy", "config": {"name": "float64"}}) \
        == policy
    assert nk.dtype_policies.DTypePolicy.from_config(policy.get_config()) == policy


def test_policy_as_a_layer_dtype():
    layer = layers.Dense(2, dtype=nk.DTypePolicy("float64"))
    assert layer.dtype == "float64"
    assert np.asarray(layer(np.ones((1, 3)))).dtype == np.float64


@pytest.mark.parametrize("name", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_policies_are_not_supported(name):
    with pytest.raises(ValueError, match="not supported"):
        nk.DTypePolicy(name)


def test_policy_errors():
    with pytest.raises(TypeError, match="must be a string"):
        nk.DTypePolicy(3)
    with pytest.raises(ValueError, match="cannot convert 'foo'"):
        nk.DTypePolicy("foo")
    with pytest.raises(ValueError, match="unknown dtype policy class"):
        nk.dtype_policies.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="Cannot interpret"):
        nk.dtype_policies.get(3.5)
    with pytest.raises(TypeError, match="expected a DTypePolicy"):
        nk.dtype_policies.serialize("float32")


# ---- name_scope ---------------------------------------------------------------------------
def test_name_scope_nests_as_keras():
    assert current_path() == ""
    with nk.name_scope("a") as a:
        assert a.name == "a"
        with nk.name_scope("b"):
            assert current_path() == "a/b"
        with nk.name_scope("c", override_parent="x"):
            assert current_path() == "x/c"
        owner = object()
        with nk.name_scope("d", caller=owner):
            with nk.name_scope("d", caller=owner):   # deduplicated: one scope
                assert current_path() == "a/d"
    assert current_path() == ""
    with pytest.raises(ValueError, match="cannot contain"):
        nk.name_scope("a/b")


# ---- Function -----------------------------------------------------------------------------
def test_function_replays_layers_and_ops():
    a, b = nk.Input((4,), name="a"), nk.Input((4,), name="b")
    dense = layers.Dense(3)
    out = layers.Add()([dense(a), dense(b)]) * 2.0
    fn = nk.Function({"a": a, "b": b}, [out, dense(a)])
    x, y = np.random.default_rng(0).normal(size=(2, 5, 4))
    kernel, bias = dense.get_weights()
    got = fn({"b": y, "a": x})
    np.testing.assert_allclose(np.asarray(got[0]), 2 * (x @ kernel + y @ kernel + 2 * bias),
                               rtol=1e-5, atol=1e-6)     # float32 sums near 0 need an atol
    np.testing.assert_allclose(np.asarray(got[1]), x @ kernel + bias, rtol=1e-5, atol=1e-6)
    assert fn.inputs == [a, b] and len(fn.outputs) == 2
    assert [type(op).__name__ for op in fn.operations] == ["Dense", "Add", "Multiply"]
    symbolic = fn({"a": nk.Input((4,)), "b": nk.Input((4,))})
    assert symbolic[0].shape == (None, 3)


def test_function_matches_keras():
    keras = _keras()
    x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    ki = keras.Input((4,))
    kd = keras.layers.Dense(2)
    kfn = keras.Function(ki, kd(ki))
    ni = nk.Input((4,))
    nd = layers.Dense(2)
    nfn = nk.Function(ni, nd(ni))
    nd.set_weights(kd.get_weights())
    np.testing.assert_allclose(np.asarray(nfn(x)), np.asarray(kfn(x)), rtol=1e-6)


def test_function_errors():
    a = nk.Input((4,))
    fn = nk.Function(a, layers.Dense(2)(a))
    with pytest.raises(ValueError, match="expects 1 inputs; received 2"):
        fn([np.ones((1, 4)), np.ones((1, 4))])
    with pytest.raises(ValueError, match="must be KerasTensors"):
        nk.Function(np.ones(3), a)
    with pytest.raises(ValueError, match="Graph disconnected"):
        nk.Function(nk.Input((4,)), layers.Dense(2)(a))
    d = {"a": nk.Input((2,), name="a"), "b": nk.Input((2,), name="b")}
    fn = nk.Function(d, layers.Add()([d["a"], d["b"]]))
    with pytest.raises(ValueError, match=r"missing inputs \['b'\]"):
        fn({"a": np.ones((1, 2))})


# ---- clone_model --------------------------------------------------------------------------
def _sequential():
    return nk.Sequential([layers.Input((4,), name="x"), layers.Dense(3, activation="relu"),
                          layers.Dropout(0.2), layers.Dense(2)], name="seq")


def _functional():
    a, b = nk.Input((4,), name="a"), nk.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    merged = layers.Concatenate(name="cat")([shared(a), shared(b)])
    return nk.Model({"a": a, "b": b}, [layers.Dense(1, name="head")(merged), merged],
                    name="func")


def _fresh_weights(original, clone):
    kernels = [(w, v) for w, v in zip(original.get_weights(), clone.get_weights()) if w.ndim == 2]
    assert kernels and all(w.shape == v.shape and not np.allclose(w, v) for w, v in kernels)
    ids = {id(v) for v in original.weights}
    assert not any(id(v) in ids for v in clone.weights)


@pytest.mark.parametrize("make", [_sequential, _functional])
def test_clone_has_same_config_and_fresh_weights(make):
    model = make()
    clone = nk.models.clone_model(model)
    assert type(clone) is type(model) and clone is not model
    assert clone.get_config() == model.get_config()
    assert not any(a is b for a, b in zip(model.layers, clone.layers))
    _fresh_weights(model, clone)
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(2).normal(size=(5, 4))
    inputs = x if make is _sequential else {"a": x, "b": -x}
    for p, q in zip(np.atleast_1d(model.predict(inputs, verbose=0)) if make is _sequential
                    else model.predict(inputs, verbose=0),
                    np.atleast_1d(clone.predict(inputs, verbose=0)) if make is _sequential
                    else clone.predict(inputs, verbose=0)):
        np.testing.assert_allclose(p, q, rtol=1e-6)


def test_clone_shares_a_shared_layer_once():
    clone = nk.models.clone_model(_functional())
    assert [layer.name for layer in clone.layers].count("shared") == 1


def test_clone_function_and_call_function_as_keras():
    keras = _keras()

    def rename(layer):
        config = layer.get_config()
        config["name"] = "new_" + config["name"]
        return type(layer).from_config(config)

    calls = []

    def call(layer, *args, **kwargs):
        calls.append(layer.name)
        return layer(*args, **kwargs)

    ka = keras.Input((4,), name="a")
    kh = keras.layers.Dense(2, name="h1")(ka)
    kmodel = keras.Model(ka, keras.layers.Dense(1, name="h2")(kh))
    kcalls_before = len(calls)
    kclone = keras.models.clone_model(kmodel, clone_function=rename, call_function=call)
    keras_calls, calls[:] = calls[kcalls_before:], []
    na = nk.Input((4,), name="a")
    nh = layers.Dense(2, name="h1")(na)
    nmodel = nk.Model(na, layers.Dense(1, name="h2")(nh))
    nclone = nk.models.clone_model(nmodel, clone_function=rename, call_function=call)
    assert [layer.name for layer in nclone.layers] == [layer.name for layer in kclone.layers]
    assert calls == keras_calls

    kseq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")])
    nseq = nk.Sequential([nk.Input((4,)), layers.Dense(2, name="d")])
    assert [layer.name for layer in nk.models.clone_model(nseq, clone_function=rename).layers] \
        == [layer.name for layer in keras.models.clone_model(kseq, clone_function=rename).layers]


def test_clone_config_matches_keras_layer_names():
    keras = _keras()
    kmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d1"),
                               keras.layers.Dense(2, name="d2")], name="seq")
    nmodel = nk.Sequential([nk.Input((4,)), layers.Dense(3, name="d1"),
                            layers.Dense(2, name="d2")], name="seq")
    kclone, nclone = keras.models.clone_model(kmodel), nk.models.clone_model(nmodel)
    assert kclone.name == nclone.name == "seq"
    assert [w.shape for w in nclone.get_weights()] == [tuple(w.shape) for w in
                                                         kclone.get_weights()]


def test_clone_on_given_input_tensors():
    model = _sequential()
    x = nk.Input((4,), name="other")
    clone = nk.models.clone_model(model, input_tensors=x)
    assert clone.input is x
    func = _functional()
    a, b = nk.Input((4,), name="p"), nk.Input((4,), name="q")
    clone = nk.models.clone_model(func, input_tensors={"a": a, "b": b})
    assert clone.inputs == [a, b]


def test_clone_recursive_clones_nested_models():
    inner = nk.Sequential([nk.Input((4,)), layers.Dense(3, name="inner_dense")], name="inner")
    x = nk.Input((4,))
    outer = nk.Model(x, layers.Dense(1)(inner(x)))
    renamed = []

    def clone(layer):
        renamed.append(layer.name)
        return type(layer).from_config(layer.get_config())

    nk.models.clone_model(outer, clone_function=clone, recursive=True)
    assert "inner_dense" in renamed and "inner" not in renamed
    renamed.clear()
    nk.models.clone_model(outer, clone_function=clone)
    assert "inner" in renamed and "inner_dense" not in renamed


def test_clone_errors():
    model = _sequential()
    with pytest.raises(ValueError, match="must return a Layer"):
        nk.models.clone_model(model, clone_function=lambda layer: 3)
    with pytest.raises(ValueError, match="clone_function must be callable"):
        nk.models.clone_model(model, clone_function="nope")
    with pytest.raises(ValueError, match="one input tensor from nk.Input"):
        nk.models.clone_model(model, input_tensors=[nk.Input((4,)), nk.Input((4,))])
    with pytest.raises(ValueError, match="has 2 inputs"):
        nk.models.clone_model(_functional(), input_tensors=nk.Input((4,)))
    with pytest.raises(ValueError, match="expected a Model"):
        nk.models.clone_model(3)
    with pytest.raises(ValueError, match="unexpected keyword"):
        nk.models.clone_model(model, foo=1)

    class Sub(nk.Model):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = layers.Dense(units)

        def call(self, x):
            return self.dense(x)

        def get_config(self):
            return {"units": self.units}

    clone = nk.models.clone_model(Sub(units=5))
    assert isinstance(clone, Sub) and clone.units == 5
    with pytest.raises(ValueError, match="only supported for Sequential and functional"):
        nk.models.clone_model(Sub(), clone_function=lambda layer: layer)


# ---- signatures of every name issue 12 lists, against Keras 3.15 ---------------------------
UTILS_NAMES = [
    "Progbar", "PyDataset", "Sequence", "split_dataset", "pad_sequences",
    "timeseries_dataset_from_array", "normalize", "set_random_seed", "get_file",
    "custom_object_scope", "CustomObjectScope", "get_custom_objects",
    "register_keras_serializable", "serialize_keras_object", "deserialize_keras_object",
    "get_registered_name", "get_registered_object", "get_source_inputs", "is_keras_tensor",
    "pack_x_y_sample_weight", "unpack_x_y_sample_weight", "clear_session", "standardize_dtype",
    "enable_interactive_logging", "disable_interactive_logging",
    "is_interactive_logging_enabled", "Config"]
TOP_LEVEL_NAMES = [
    "Layer", "Loss", "Metric", "Optimizer", "Initializer", "Regularizer", "InputSpec",
    "Operation", "Function", "name_scope", "StatelessScope", "SymbolicScope", "DTypePolicy",
    "FloatDTypePolicy", "version"]
MODULES = ["random", "tree", "visualization", "mixed_precision"]   # every public name
# Differences kept on purpose; the test fails when one goes away, so the table stays true.
KNOWN_DIFFERENCES = {
    "utils.split_dataset": "preferred_backend picks tf.data or torch datasets in Keras",
    "utils.timeseries_dataset_from_array": "format picks tf.data or grain datasets in Keras",
    "Operation": "nbkeras ops are frozen dataclasses with their own fields",
}


def _parameters(obj):
    return [(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]


def _compatible(ours, theirs) -> bool:
    """Every Keras parameter is ours with its kind and default, positional ones in Keras's
    order; ours has more only where Keras takes **kwargs (name_scope spells them out)."""
    mine = {name: (kind, default) for name, kind, default in _parameters(ours)}
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    keras_parameters = _parameters(theirs)
    for name, kind, default in keras_parameters:
        if kind == inspect.Parameter.VAR_POSITIONAL:
            if kind not in {k for k, _ in mine.values()}:
                return False
        elif kind == inspect.Parameter.VAR_KEYWORD:
            continue
        elif mine.get(name) != (kind, default):
            return False
    extra = set(mine) - {name for name, _, _ in keras_parameters}
    if any(mine[name][0] not in variadic for name in extra) and \
            inspect.Parameter.VAR_KEYWORD not in {k for _, k, _ in keras_parameters}:
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    theirs_order = [n for n, k, _ in keras_parameters if k in positional]
    ours_order = [n for n, k, _ in _parameters(ours) if k in positional]
    return ours_order[:len(theirs_order)] == theirs_order


def _pairs(keras):
    yield from ((f"utils.{n}", getattr(nk.utils, n, None), getattr(keras.utils, n))
                for n in UTILS_NAMES)
    yield from ((n, getattr(nk, n, None), getattr(keras, n)) for n in TOP_LEVEL_NAMES)
    yield "models.clone_model", nk.models.clone_model, keras.models.clone_model
    for module in MODULES:
        theirs = getattr(keras, module)
        for n in dir(theirs):
            if not n.startswith("_") and not inspect.ismodule(getattr(theirs, n)):
                yield (f"{module}.{n}", getattr(getattr(nk, module), n, None),
                       getattr(theirs, n))
    for n in ("DTypePolicy", "FloatDTypePolicy", "get", "serialize", "deserialize"):
        yield f"dtype_policies.{n}", getattr(nk.dtype_policies, n), \
            getattr(keras.dtype_policies, n)


def test_every_listed_name_exists_with_keras_signature():
    keras = _keras()
    missing, different = [], []
    for name, ours, theirs in _pairs(keras):
        if ours is None:
            missing.append(name)
        elif callable(theirs) and not _compatible(ours, theirs):
            different.append(name)
    assert missing == []
    assert sorted(different) == sorted(KNOWN_DIFFERENCES)


def test_signature_comparison_notices_differences():
    def keras_like(a, b=1, *, c=None):
        pass

    def renamed(a, bb=1, *, c=None):
        pass

    def other_default(a, b=2, *, c=None):
        pass

    def more(a, b=1, *, c=None, d=0):
        pass

    assert _compatible(keras_like, keras_like)
    assert not _compatible(renamed, keras_like)
    assert not _compatible(other_default, keras_like)
    assert not _compatible(more, keras_like)


# ---- utils: clear_session, interactive logging, Config, Progbar ---------------------------
def test_clear_session_resets_names_scopes_and_logging():
    layers.Dense(1), layers.Dense(1)
    nk.utils.disable_interactive_logging()
    scope = nk.name_scope("outer")
    scope.__enter__()
    nk.utils.clear_session(free_memory=False)
    assert layers.Dense(1).name == "dense"
    assert current_path() == ""
    assert nk.utils.is_interactive_logging_enabled()
    nk.utils.clear_session()
    assert layers.Dense(1).name == "dense"


def test_interactive_logging_routes_progress_to_the_logger(capsys, caplog):
    model = nk.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((4, 2)), np.ones((4, 1))
    nk.utils.disable_interactive_logging()
    try:
        assert not nk.utils.is_interactive_logging_enabled()
        with caplog.at_level("INFO", logger="nbkeras"):
            model.fit(x, y, epochs=2, verbose=1)
            nk.utils.Progbar(2).update(2, [("loss", 1.0)])
    finally:
        nk.utils.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    lines = [r.getMessage() for r in caplog.records if r.name == "nbkeras"]
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2", "2/2"]
    model.fit(x, y, epochs=1, verbose=2)
    assert capsys.readouterr().out.startswith("Epoch 1/1")


def test_config_behaves_as_keras():
    keras = _keras()
    for cls in (nk.utils.Config, keras.utils.Config):
        config = cls(learning_rate=0.1, momentum=0.9)
        config.use_ema = True
        config["seed"] = 3
        assert (config.seed, config["learning_rate"], len(config), "momentum" in config) == (
            3, 0.1, 4, True)
        assert list(config) == ["learning_rate", "momentum", "seed", "use_ema"]
        assert config.as_dict() == {"learning_rate": 0.1, "momentum": 0.9, "use_ema": True,
                                    "seed": 3}
        assert config.to_json() == keras.utils.Config(**config.as_dict()).to_json()
        with pytest.raises(AttributeError, match="Did you mean 'momentum'"):
            config.momentun
        config.freeze()
        assert config.frozen
        for mutate in (lambda: setattr(config, "x", 1), lambda: config.pop("seed"),
                       lambda: config.update(a=1), lambda: config.__delitem__("seed")):
            with pytest.raises(ValueError, match="frozen"):
                mutate()
        config.unfreeze()
        del config["seed"]
        assert config.get("seed", "none") == "none"


def test_progbar_stateless_metrics_average_only_those(capsys):
    bar = nk.utils.Progbar(2, stateless_metrics=["loss"])
    bar.update(1, [("loss", 1.0), ("acc", 0.5)])
    bar.update(2, [("loss", 3.0), ("acc", 0.75)])
    assert capsys.readouterr().out.strip().endswith("loss: 2.0000 - acc: 0.7500")
    assert bar.stateful_metrics is None and bar.stateless_metrics == {"loss"}
    with pytest.raises(ValueError, match="Only one of `stateful_metrics` or `stateless_"):
        nk.utils.Progbar(2, stateful_metrics=["a"], stateless_metrics=["b"])


# ---- optimizers: variables, iterations, learning_rate --------------------------------------
def test_optimizer_properties_as_keras():
    keras = _keras()
    rng = np.random.default_rng(0)
    w0, g = rng.normal(size=3).astype(np.float32), rng.normal(size=3).astype(np.float32)
    ours, theirs = nk.optimizers.Adam(0.01), keras.optimizers.Adam(0.01)
    a, b = nk.Variable(w0, name="w"), keras.Variable(w0, name="w")
    for _ in range(3):
        ours.apply_gradients([(g, a)])
        theirs.apply_gradients([(g, b)])
    assert int(ours.iterations) == int(theirs.iterations) == 3
    assert [v.name for v in ours.variables] == [v.name for v in theirs.variables
                                                if v.name != "learning_rate"]
    ours.learning_rate = 0.5
    theirs.learning_rate = 0.5
    assert ours.learning_rate == pytest.approx(float(theirs.learning_rate))
    scheduled = nk.optimizers.SGD(nk.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        scheduled.learning_rate = 0.1


# ---- mixed_precision -------------------------------------------------------------------------
def test_mixed_precision_global_policy_is_floatx():
    before = nk.config.floatx()
    try:
        nk.mixed_precision.set_global_policy("float64")
        assert nk.config.floatx() == "float64"
        assert nk.mixed_precision.global_policy() == nk.DTypePolicy("float64")
        assert layers.Dense(2).dtype == "float64"
        nk.mixed_precision.set_dtype_policy(nk.mixed_precision.Policy("float32"))
        assert nk.mixed_precision.dtype_policy().name == "float32"
        with pytest.raises(ValueError, match="not supported"):
            nk.mixed_precision.set_global_policy("mixed_float16")
        assert nk.config.floatx() == "float32"
    finally:
        nk.config.set_floatx(before)
