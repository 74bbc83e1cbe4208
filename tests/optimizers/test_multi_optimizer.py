"""MultiOptimizer and OptimizerMap, as keras.optimizers: Keras's mapping rules (exact key,
then one regex fullmatch, else the default), each variable updated exactly as its own
optimizer would alone, configs and .weights.h5 files as Keras writes them, Keras's errors."""
import re

import h5py
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nbkeras as nk
from nbkeras import optimizers
from nbkeras.optimizers import MultiOptimizer, OptimizerMap

KEYS = ["encoder/dense", "encoder/.*", "decoder", ".*/bias", "enc.*/kernel"]
SEGMENTS = ["encoder", "decoder", "dense", "kernel", "bias", "enc", "x"]


def _keras():
    keras = pytest.importorskip("keras")
    return keras


def _mapping_choice(mapping, optimizers_in_order, path):
    """The index of the optimizer `mapping[path]` gives, or the error it raises."""
    try:
        chosen = mapping[path]
    except ValueError as e:
        return str(e)
    return next(i for i, opt in enumerate(optimizers_in_order) if opt is chosen)


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(st.sampled_from(KEYS), unique=True, max_size=5),
       path=st.one_of(st.sampled_from(KEYS),
                      st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3)
                      .map("/".join)))
def test_lookup_matches_keras_optimizer_map(keys, path):
    keras = _keras()
    ours_opts = [optimizers.SGD(0.1) for _ in range(len(keys) + 1)]
    theirs_opts = [keras.optimizers.SGD(0.1) for _ in range(len(keys) + 1)]
    ours, theirs = OptimizerMap(ours_opts[-1]), keras.optimizers.OptimizerMap(theirs_opts[-1])
    for key, ours_opt, theirs_opt in zip(keys, ours_opts, theirs_opts):
        ours[key], theirs[key] = ours_opt, theirs_opt
    assert (_mapping_choice(ours, ours_opts, path)
            == _mapping_choice(theirs, theirs_opts, path))
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_lookup_rules_of_keras_docstring():
    adam, sgd, rmsprop = optimizers.Adam(), optimizers.SGD(), optimizers.RMSprop()
    mapping = OptimizerMap(default_optimizer=rmsprop)
    mapping["encoder/layer_0/dense"] = adam
    mapping["encoder/.*"] = sgd
    mapping["decoder"] = adam
    assert mapping["decoder"] is adam                              # exact key
    assert mapping["encoder/layer_0/dense"] is adam                # exact key beats regex
    assert mapping["encoder/layer_0/attention/query"] is sgd       # regex fullmatch
    assert mapping["decoder/layer_0/dense"] is rmsprop             # no fullmatch: default
    mapping[".*/query"] = adam
    with pytest.raises(ValueError, match=re.escape(
            "Multiple optimizers assigned to variable encoder/layer_0/attention/query.")):
        mapping["encoder/layer_0/attention/query"]
    del mapping[".*/query"]
    assert mapping["encoder/layer_0/attention/query"] is sgd


def _model(seed):
    model = nk.Sequential([nk.Input((3,)), nk.layers.Dense(4, activation="tanh", name="a"),
                           nk.layers.Dense(2, name="b")])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.weights])
    return model


def _multi(adam_lr=0.01, sgd_lr=0.1):
    adam, sgd = optimizers.Adam(adam_lr), optimizers.SGD(sgd_lr, momentum=0.9)
    return MultiOptimizer(OptimizerMap(sgd, {"a/.*": adam})), adam, sgd


def test_fit_updates_each_layer_as_its_own_optimizer_alone():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    model, alone = _model(1), _model(1)
    multi, adam, sgd = _multi()
    model.compile(multi, "mse")
    model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0)

    adam_alone, sgd_alone = optimizers.Adam(0.01), optimizers.SGD(0.1, momentum=0.9)
    loss = nk.losses.MeanSquaredError()
    a_vars, b_vars = alone.layers[0].trainable_weights, alone.layers[1].trainable_weights
    for _ in range(4):
        with nk.GradientTape() as tape:
            value = loss(y, alone(x, training=True))
        grads = tape.gradient(value, [*a_vars, *b_vars])
        adam_alone.apply(grads[:2], a_vars)
        sgd_alone.apply(grads[2:], b_vars)
    for ours, reference in zip(model.get_weights(), alone.get_weights()):
        np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-7)
    assert multi.optimizers == [adam, sgd]
    assert [int(o.iterations.numpy()) for o in (multi, adam, sgd)] == [4, 4, 4]
    assert len(multi.variables) == 1 + len(adam.variables) + len(sgd.variables)
    assert len(adam.variables) == 1 + 2 * 2 and len(sgd.variables) == 1 + 2


def test_apply_gradients_routes_by_callable_against_plain_numpy():
    rng = np.random.default_rng(2)
    w0, v0 = rng.normal(size=(3, 2)), rng.normal(size=(2,))
    w, v = nk.Variable(w0.copy(), name="w"), nk.Variable(v0.copy(), name="v")
    fast, slow = optimizers.SGD(0.5), optimizers.SGD(0.01)
    multi = MultiOptimizer(lambda variable: fast if variable.name == "w" else slow)
    grads = [(rng.normal(size=(3, 2)), rng.normal(size=(2,))) for _ in range(3)]
    for gw, gv in grads:
        multi.apply_gradients([(gw, w), (gv, v)])
        w0, v0 = w0 - 0.5 * gw, v0 - 0.01 * gv
    np.testing.assert_allclose(w.numpy(), w0, rtol=1e-6)
    np.testing.assert_allclose(v.numpy(), v0, rtol=1e-6)
    assert multi.optimizers == [fast, slow]
    assert int(multi.iterations.numpy()) == 3


def test_loss_scale_factor_reaches_every_optimizer():
    multi, adam, sgd = _multi()
    assert adam.loss_scale_factor is None
    multi = MultiOptimizer(multi._optimizer_map, loss_scale_factor=4.0)
    assert adam.loss_scale_factor == sgd.loss_scale_factor == 4.0
    multi.loss_scale_factor = 2.0
    assert adam.loss_scale_factor == sgd.loss_scale_factor == 2.0


def test_config_round_trip_and_keras_config():
    keras = _keras()
    multi, _, _ = _multi()
    multi.name = "multi"
    for opt, name in zip(multi.optimizers, ("adam", "sgd")):
        opt.name = name
    again = MultiOptimizer.from_config(multi.get_config())
    assert again.get_config() == multi.get_config()
    assert [type(o) for o in again.optimizers] == [optimizers.Adam, optimizers.SGD]

    theirs = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        keras.optimizers.SGD(0.1, momentum=0.9, name="sgd"),
        {"a/.*": keras.optimizers.Adam(0.01, name="adam")}), name="multi")
    written = keras.saving.serialize_keras_object(theirs)
    assert nk.saving.serialize_keras_object(multi) == written
    read = nk.saving.deserialize_keras_object(written)
    assert isinstance(read, MultiOptimizer) and read.get_config() == multi.get_config()
    assert nk.optimizers.get(nk.optimizers.serialize(multi)).get_config() == multi.get_config()


def _trained(data_seed: int, model_seed: int, epochs: int):
    """(model, x, y): a model compiled with the MultiOptimizer and fit on a drawn batch."""
    rng = np.random.default_rng(data_seed)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    model = _model(model_seed)
    model.compile(_multi()[0], "mse")
    model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return model, x, y


def test_whole_model_file_keeps_the_mapping_and_state(tmp_path):
    model, x, y = _trained(3, 4, epochs=2)
    model.save(tmp_path / "m.keras")
    loaded = nk.saving.load_model(tmp_path / "m.keras")
    assert [type(o) for o in loaded.optimizer.optimizers] == [optimizers.Adam, optimizers.SGD]
    for model_ in (model, loaded):
        model_.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for ours, reference in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-7)


def _h5_layout(path):
    layout = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, item: layout.setdefault(name, item.shape)
                     if isinstance(item, h5py.Dataset) else None)
    return {name: shape for name, shape in layout.items() if name.startswith("optimizer")}


def test_weights_file_resumes_the_same_next_step_in_keras_layout(tmp_path):
    keras = _keras()
    model, x, y = _trained(5, 6, epochs=3)
    model.save_weights(tmp_path / "m.weights.h5")

    resumed = _model(7)
    resumed.compile(_multi(adam_lr=0.5)[0], "mse")   # the file's learning rates win
    resumed.optimizer.build(resumed.trainable_weights)
    resumed.load_weights(tmp_path / "m.weights.h5")
    assert int(resumed.optimizer.iterations.numpy()) == 3
    for model_ in (model, resumed):
        model_.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for ours, reference in zip(resumed.get_weights(), model.get_weights()):
        np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-7)

    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="a"),
                               keras.layers.Dense(2, name="b")])
    theirs.compile(keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        keras.optimizers.SGD(0.1, momentum=0.9), {".*a/.*": keras.optimizers.Adam(0.01)})),
        "mse")
    theirs.fit(x, y, batch_size=8, epochs=1, verbose=0)
    theirs.save_weights(tmp_path / "keras.weights.h5")
    assert _h5_layout(tmp_path / "m.weights.h5") == _h5_layout(tmp_path / "keras.weights.h5")


def test_bad_arguments_raise_keras_errors():
    sgd = optimizers.SGD()
    with pytest.raises(TypeError, match="default_optimizer must be a Keras Optimizer"):
        OptimizerMap("sgd")
    with pytest.raises(TypeError, match="optimizer_map must be a dictionary"):
        OptimizerMap(sgd, [("a", sgd)])
    mapping = OptimizerMap(sgd, {"a": optimizers.Adam()})
    with pytest.raises(ValueError, match="'a' already exists in the OptimizerMap"):
        mapping["a"] = sgd
    with pytest.raises(ValueError, match="key must be a string. Received: 3"):
        mapping[3] = sgd
    with pytest.raises(ValueError, match="optimizer must be a Keras Optimizer instance"):
        mapping["b"] = "adam"
    with pytest.raises(ValueError, match="optimizer cannot be LossScaleOptimizer"):
        mapping["b"] = optimizers.LossScaleOptimizer(optimizers.SGD())
    with pytest.raises(ValueError, match="optimizer cannot be MultiOptimizer"):
        mapping["b"] = MultiOptimizer(OptimizerMap(optimizers.SGD()))
    with pytest.raises(TypeError, match="MultiOptimizer: `optimizer_map` must be"):
        MultiOptimizer({"a": sgd})

    multi = MultiOptimizer(mapping)
    with pytest.raises(AttributeError, match="Learning rate cannot be accessed"):
        multi.learning_rate
    with pytest.raises(AttributeError, match="Learning rate cannot be set"):
        multi.learning_rate = 0.1
    w, v = nk.Variable(np.zeros(2), name="w"), nk.Variable(np.zeros(2), name="v")
    with pytest.raises(ValueError, match="must already be built"):
        multi.apply([np.ones(2)])
    multi.build([w, v])
    with pytest.raises(ValueError, match="Received 1 gradients and 2 variables"):
        multi.apply([np.ones(2)], [w])
    with pytest.raises(ValueError, match="Unknown variable"):
        multi.apply([np.ones(2), np.ones(2)], [w, nk.Variable(np.zeros(2))])
    for returned, message in [("sgd", "is not an Optimizer instance"),
                              (optimizers.LossScaleOptimizer(optimizers.SGD()),
                               "LossScaleOptimizer cannot be used inside"),
                              (MultiOptimizer(OptimizerMap(optimizers.SGD())),
                               "MultiOptimizer cannot be used inside")]:
        with pytest.raises(ValueError, match=message):
            MultiOptimizer(lambda variable, returned=returned: returned).build([w])


def test_keras_written_model_file_resumes_as_keras(tmp_path):
    keras = _keras()
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="a"),
                               keras.layers.Dense(2, name="b")])
    theirs.compile(keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
        keras.optimizers.SGD(0.1, momentum=0.9), {".*a/.*": keras.optimizers.Adam(0.01)})),
        "mse")
    theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    theirs.save(tmp_path / "keras.keras")
    ours = nk.saving.load_model(tmp_path / "keras.keras")
    assert [int(o.iterations.numpy()) for o in (ours.optimizer, *ours.optimizer.optimizers)] \
        == [2, 2, 2]
    for model in (ours, theirs):
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_stateless_apply_changes_no_variable():
    rng = np.random.default_rng(9)
    w0, v0, gw, gv = (rng.normal(size=(2,)) for _ in range(4))
    w, v = nk.Variable(w0.copy(), name="w"), nk.Variable(v0.copy(), name="v")
    sgd, adam = optimizers.SGD(0.5), optimizers.Adam(0.1)
    multi = MultiOptimizer(lambda variable: sgd if variable.name == "w" else adam)
    multi.build([w, v])
    before = [variable.numpy().copy() for variable in multi.variables]
    new_weights, new_state = multi.stateless_apply(before, [gw, gv], [w0, v0])
    np.testing.assert_allclose(np.asarray(new_weights[0]), w0 - 0.5 * gw, rtol=1e-6)
    # Adam's first step: lr * m_hat / (sqrt(v_hat) + eps) = 0.1 * sign(g) to ~eps / |g|
    np.testing.assert_allclose(np.asarray(new_weights[1]), v0 - 0.1 * np.sign(gv), atol=1e-5)
    assert [int(np.asarray(s)) for s in new_state[:3]] == [1, 1, 1]
    np.testing.assert_array_equal(w.numpy(), w0)
    for variable, value in zip(multi.variables, before):
        np.testing.assert_array_equal(variable.numpy(), value)
