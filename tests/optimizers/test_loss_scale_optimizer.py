"""LossScaleOptimizer, as keras.optimizers.LossScaleOptimizer: dynamic scale (halved and the
step skipped on non-finite gradients, doubled after dynamic_growth_steps finite steps), the
inner optimizer doing the updates, scale_loss in fit, configs and Keras's numbers."""
import re

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers, optimizers


def loss_scale_reference(w, grads, scale, growth_steps, lr):
    """Plain SGD under Keras's dynamic loss scaling, float64: yields (w, scale, counter)
    after each step."""
    counter = 0
    for g in grads:
        if not np.all(np.isfinite(g)):
            counter, scale = 0, scale / 2
        else:
            w = w - lr * g / scale
            if counter == growth_steps - 1:
                counter, scale = 0, scale * 2
            else:
                counter += 1
        yield w, scale, counter


def test_dynamic_scale_matches_the_reference_over_steps(device):
    rng = np.random.default_rng(4)
    grads = [rng.normal(size=(3, 2)) * 64 for _ in range(9)]
    grads[2][0, 1] = np.inf
    grads[6][1, 0] = np.nan
    w0 = rng.normal(size=(3, 2))
    variable = nk.Variable(w0.copy(), dtype="float64")
    opt = optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=8.0,
                                        dynamic_growth_steps=2)
    for g, (w, scale, counter) in zip(grads, loss_scale_reference(w0, grads, 8.0, 2, 0.1)):
        opt.apply([g], [variable])
        np.testing.assert_allclose(variable.numpy(), w, rtol=1e-13, atol=1e-14)
        assert float(opt.dynamic_scale.numpy()) == scale
        assert int(opt.step_counter.numpy()) == counter
    assert int(opt.iterations) == int(opt.inner_optimizer.iterations) == 7   # two skipped


def test_variables_scale_loss_and_delegation():
    kernel = nk.Variable(np.zeros((2, 3)), name="kernel")
    inner = optimizers.Adam(0.01, use_ema=True)
    opt = optimizers.LossScaleOptimizer(inner, initial_scale=1024.0)
    assert float(opt.scale_loss(nk.ops.convert_to_tensor(np.float32(1.5)))) == 1536.0
    opt.build([kernel])
    assert [v.name for v in opt.variables] == [
        "iteration", "step_counter", "dynamic_scale", "iteration", "kernel_average",
        "kernel_momentum", "kernel_velocity"]
    assert opt.dynamic_scale.dtype == "float32" and opt.step_counter.dtype == "int64"
    opt.dynamic_scale.assign(np.float32(16.0))
    assert float(opt.scale_loss(np.float64(0.5))) == 8.0
    assert opt.learning_rate == 0.01
    opt.learning_rate = 0.5
    assert inner.learning_rate == 0.5 and opt.learning_rate == 0.5
    assert opt.iterations is inner.iterations
    opt.apply([np.ones((2, 3)) * 16], [kernel])
    opt.finalize_variable_values([kernel])           # the inner optimizer's EMA
    np.testing.assert_array_equal(kernel.numpy(), inner._model_variables_moving_average[0].numpy())
    assert nk.mixed_precision.LossScaleOptimizer is optimizers.LossScaleOptimizer


def test_inner_optimizer_loss_scale_factor_is_disabled():
    inner = optimizers.SGD(1.0, loss_scale_factor=4.0)
    opt = optimizers.LossScaleOptimizer(inner, initial_scale=2.0)
    assert inner.loss_scale_factor is None
    variable = nk.Variable(np.zeros(2), dtype="float64")
    opt.apply([np.array([2.0, 4.0])], [variable])
    np.testing.assert_array_equal(variable.numpy(), [-1.0, -2.0])


def _model(seed):
    model = nk.Sequential([layers.Input((3,)), layers.Dense(4, activation="tanh"),
                           layers.Dense(1)])
    model.set_weights([np.random.default_rng(seed).normal(size=w.shape) * 0.5
                       for w in model.get_weights()])
    return model


def test_fit_trains_as_the_inner_optimizer_and_grows_the_scale():
    """Power-of-two scales multiply and divide exactly: the weights equal plain SGD's."""
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 1))
    scaled, plain = _model(1), _model(1)
    scaled.compile(optimizers.LossScaleOptimizer(optimizers.SGD(0.05), initial_scale=256.0,
                                                 dynamic_growth_steps=3), "mse")
    plain.compile(optimizers.SGD(0.05), "mse")
    history = scaled.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    reference = plain.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(scaled.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(history.history["loss"], reference.history["loss"], rtol=1e-6)
    assert float(scaled.optimizer.dynamic_scale.numpy()) == 256.0 * 2 ** (16 // 3)


def test_fit_scales_the_loss_before_the_gradients():
    """A scale that overflows float32 makes the gradients infinite: fit skips the step and
    halves the scale, which only happens if the trainer scales the loss."""
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 1)) * 100
    model = _model(2)
    model.compile(optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=2.0 ** 127),
                  "mse")
    before = model.get_weights()
    model.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert float(model.optimizer.dynamic_scale.numpy()) == 2.0 ** 126
    assert int(model.optimizer.iterations) == 0


def test_loss_scale_factor_in_fit_changes_nothing():
    """The base optimizer's loss_scale_factor: fit scales the loss, apply unscales."""
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    scaled, plain = _model(3), _model(3)
    scaled.compile(optimizers.Adam(0.01, loss_scale_factor=1024.0), "mse")
    plain.compile(optimizers.Adam(0.01), "mse")
    scaled.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    plain.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(scaled.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_config_round_trip_and_errors():
    opt = optimizers.LossScaleOptimizer(optimizers.Adam(0.002), initial_scale=128.0,
                                        dynamic_growth_steps=10, name="lso")
    config = opt.get_config()
    assert set(config) == {"name", "inner_optimizer", "initial_scale", "dynamic_growth_steps"}
    clone = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(clone.inner_optimizer, optimizers.Adam) and clone.get_config() == config
    assert optimizers.LossScaleOptimizer.from_config(config).name == "lso"
    assert re.fullmatch(r"loss_scale_optimizer(_\d+)?",
                        optimizers.LossScaleOptimizer(optimizers.SGD()).name)
    inner = optimizers.SGD()
    with pytest.raises(ValueError, match="no longer supports `dynamic=False`"):
        optimizers.LossScaleOptimizer(inner, dynamic=False)
    with pytest.raises(ValueError, match="does not support `clipnorm`"):
        optimizers.LossScaleOptimizer(inner, clipnorm=1.0)
    with pytest.raises(ValueError, match="does not support arguments: `momentum`"):
        optimizers.LossScaleOptimizer(inner, momentum=0.9)
    with pytest.raises(ValueError, match="inner_optimizer"):
        optimizers.LossScaleOptimizer("adam")
    with pytest.raises(ValueError, match="initial_scale"):
        optimizers.LossScaleOptimizer(inner, initial_scale=0.0)
    with pytest.raises(ValueError, match="dynamic_growth_steps"):
        optimizers.LossScaleOptimizer(inner, dynamic_growth_steps=0)
    assert optimizers.LossScaleOptimizer(inner, clipnorm=None, use_ema=False).built is False


def test_keras_config_loads_and_matches_ours():
    keras = pytest.importorskip("keras")
    theirs = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.5, momentum=0.5),
                                                 initial_scale=64.0, dynamic_growth_steps=7)
    ours = optimizers.deserialize(keras.optimizers.serialize(theirs))
    assert isinstance(ours, optimizers.LossScaleOptimizer)
    assert (ours.initial_scale, ours.dynamic_growth_steps, ours.name) == (
        64.0, 7, "loss_scale_optimizer")
    assert ours.inner_optimizer.momentum == 0.5
    assert set(ours.get_config()) == set(theirs.get_config())


def test_matches_keras_step_by_step():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(12)
    w0 = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32)]
    grads = [[rng.normal(size=w.shape).astype(np.float32) * 32 for w in w0] for _ in range(8)]
    grads[1][1][0] = np.inf
    grads[5][0][2, 1] = np.nan
    ours = [nk.Variable(w, name=n) for w, n in zip(w0, ("kernel", "bias"))]
    theirs = [keras.Variable(w, name=n) for w, n in zip(w0, ("kernel", "bias"))]
    opt = optimizers.LossScaleOptimizer(optimizers.Adam(0.01), initial_scale=16.0,
                                        dynamic_growth_steps=2)
    reference = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01),
                                                    initial_scale=16.0, dynamic_growth_steps=2)
    reference.build(theirs)      # JAX's Keras steps statelessly, as its trainer does
    values, state = [v.value for v in theirs], [v.value for v in reference.variables]
    names = [v.name for v in reference.variables]
    for step_grads in grads:
        opt.apply(step_grads, ours)
        values, state = reference.stateless_apply(state, step_grads, values)
        for a, b in zip(ours, values):
            np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-5, atol=1e-6)
        keras_state = dict(zip(names[:4], state[:4]))
        assert float(opt.dynamic_scale.numpy()) == float(keras_state["dynamic_scale"])
        assert int(opt.step_counter.numpy()) == int(keras_state["step_counter"])
        assert int(opt.iterations) == int(state[4])           # the inner optimizer's
    assert [v.name for v in opt.variables] == [n for n in names if n != "learning_rate"]
    keras_values = [v for n, v in zip(names, state) if n != "learning_rate"]
    for a, b in zip(opt.variables, keras_values):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-5, atol=1e-6)


def _trained(make_model, optimizer, x, y):
    model = make_model()
    model.compile(optimizer, "mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return model


def test_weights_file_keeps_the_scale_and_the_inner_state_as_keras_lays_them(tmp_path):
    """optimizer/vars: own state (with the 0.0 learning rate) then the inner optimizer's;
    optimizer/inner_optimizer/vars: the inner optimizer's again, as Keras writes them."""
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(13)
    x, y = rng.normal(size=(12, 3)).astype(np.float32), rng.normal(size=(12, 1))

    def make_model():
        return nk.Sequential([layers.Input((3,)), layers.Dense(1)])

    def lso():
        return optimizers.LossScaleOptimizer(optimizers.Adam(0.01), initial_scale=64.0,
                                             dynamic_growth_steps=2)

    trained = _trained(make_model, lso(), x, y)
    path = str(tmp_path / "lso.weights.h5")
    trained.save_weights(path)
    with h5py.File(path) as f:
        assert len(f["optimizer/vars"]) == 4 + 6 and len(f["optimizer/inner_optimizer/vars"]) == 6
        assert float(f["optimizer/vars/3"][()]) == 128.0        # dynamic_scale, grown once
    fresh = make_model()
    fresh.compile(lso(), "mse")
    fresh.optimizer.build(fresh.trainable_weights)
    fresh.load_weights(path)
    for a, b in zip(fresh.optimizer.variables, trained.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_weights_files_move_between_keras_and_nbkeras(tmp_path):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(14)
    x, y = rng.normal(size=(12, 3)).astype(np.float32), rng.normal(size=(12, 1))
    theirs = _trained(lambda: keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]),
                      keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01),
                                                          initial_scale=64.0,
                                                          dynamic_growth_steps=2), x, y)
    path = str(tmp_path / "keras.weights.h5")
    theirs.save_weights(path)
    ours = nk.Sequential([layers.Input((3,)), layers.Dense(1)])
    ours.compile(optimizers.LossScaleOptimizer(optimizers.Adam(0.01)), "mse")
    ours.optimizer.build(ours.trainable_weights)
    ours.load_weights(path)
    keras_values = [np.asarray(v) for v in theirs.optimizer.variables
                    if v.name != "learning_rate"]
    for a, b in zip(ours.optimizer.variables, keras_values):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-6)
    assert float(ours.optimizer.dynamic_scale.numpy()) == 128.0
    ours.optimizer.dynamic_scale.assign(np.float32(8.0))     # a state Keras must read back
    back = str(tmp_path / "nbkeras.weights.h5")
    ours.save_weights(back)
    fresh = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    fresh.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01)), "mse")
    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights(back)
    keras_values = [np.asarray(v) for v in fresh.optimizer.variables
                    if v.name != "learning_rate"]
    for a, b in zip(ours.optimizer.variables, keras_values):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-6)
    assert float(fresh.optimizer.dynamic_scale.numpy()) == 8.0
