"""The optimizers' exponential moving average of the weights (`use_ema`), as Keras 3."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import optimizers

rng = np.random.default_rng(7)


def reference_sgd_ema(w0, grads, lr, momentum, overwrite_frequency=None):
    """Plain float64 SGD, then Keras's EMA: the average is the variable after the first
    step, then m * average + (1 - m) * variable; every `overwrite_frequency` steps the
    variable becomes the average."""
    w, average = w0.copy(), np.zeros_like(w0)
    for step, g in enumerate(grads):
        w = w - lr * g
        m = momentum if step != 0 else 0.0
        average = m * average + (1 - m) * w
        if overwrite_frequency and (step + 1) % overwrite_frequency == 0:
            w = average.copy()
    return w, average


@pytest.mark.parametrize("overwrite_frequency", [None, 3])
def test_ema_matches_the_numpy_reference_over_steps(overwrite_frequency, device):  # cpu, cuda
    shapes = [(3, 4), (4,)]
    w0 = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(7)]
    variables = [nk.Variable(w.copy(), dtype="float64") for w in w0]
    opt = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9,
                         ema_overwrite_frequency=overwrite_frequency)
    for step_grads in grads:
        opt.apply(step_grads, variables)
    for i, variable in enumerate(variables):
        w, average = reference_sgd_ema(w0[i], [g[i] for g in grads], 0.1, 0.9,
                                       overwrite_frequency)
        np.testing.assert_allclose(variable.numpy(), w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(opt._model_variables_moving_average[i].numpy(), average,
                                   rtol=1e-12, atol=1e-14)
    assert all(average.device == variable.device
               for average, variable in zip(opt._model_variables_moving_average, variables))
    opt.finalize_variable_values(variables)
    for variable, average in zip(variables, opt._model_variables_moving_average):
        np.testing.assert_array_equal(variable.numpy(), average.numpy())


def test_ema_float32_keras_arithmetic():
    """float32: momentum and 1 - momentum in float32, as Keras computes them."""
    w0 = rng.normal(size=5).astype(np.float32)
    grads = [rng.normal(size=5).astype(np.float32) for _ in range(4)]
    variable = nk.Variable(w0.copy())
    opt = optimizers.SGD(0.05, use_ema=True)
    w, average = w0.copy(), np.zeros(5, np.float32)
    for step, g in enumerate(grads):
        opt.apply([g], [variable])
        w = w - np.float32(0.05) * g
        m = np.float32(0.99 if step else 0.0)
        average = average * m + w * (np.float32(1) - m)
    np.testing.assert_allclose(opt._model_variables_moving_average[0].numpy(), average,
                               rtol=1e-6)


def test_ema_variables_follow_iterations_in_keras_order():
    """Keras's base build adds the averages before the subclass's slots."""
    variables = [nk.Variable(np.zeros((2, 3)), name="kernel"), nk.Variable(np.zeros(3))]
    opt = optimizers.Adam(use_ema=True)
    opt.build(variables)
    names = [v.name for v in opt.variables]
    assert names[0] == "iteration"
    assert [n.endswith("_average") for n in names[1:3]] == [True, True]
    assert all(not n.endswith("_average") for n in names[3:]) and len(names) == 7
    assert [v.shape for v in opt.variables[1:3]] == [(2, 3), (3,)]
    plain = optimizers.Adam()
    plain.build(variables)
    assert len(plain.variables) == 5 and not plain._model_variables_moving_average


def test_ema_with_an_optimizer_that_builds_its_own_slots():
    """Adafactor's build does not reach the base's: the averages are made on the first step."""
    variable = nk.Variable(rng.normal(size=(3, 2)))
    opt = optimizers.Adafactor(use_ema=True)
    opt.apply([np.ones((3, 2))], [variable])
    assert len(opt._model_variables_moving_average) == 1
    np.testing.assert_array_equal(opt._model_variables_moving_average[0].numpy(),
                                  variable.numpy())


def test_ema_config_round_trip_and_errors():
    opt = optimizers.Adam(use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=10)
    config = opt.get_config()
    assert (config["use_ema"], config["ema_momentum"], config["ema_overwrite_frequency"]) == \
        (True, 0.5, 10)
    again = optimizers.Adam.from_config(config)
    assert (again.use_ema, again.ema_momentum, again.ema_overwrite_frequency) == (True, 0.5, 10)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.SGD(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency"):
        optimizers.SGD(use_ema=True, ema_overwrite_frequency=0.5)


def test_fit_ends_with_the_averaged_weights():
    """fit calls finalize_variable_values: the model's weights become the optimizer's
    averages (as Keras), not the last step's weights."""
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = nk.Sequential([nk.Input((3,)), nk.layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.05, use_ema=True, ema_momentum=0.8), loss="mse")
    seen = {}
    keep = nk.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.update(
        raw=[w.numpy() for w in model.trainable_weights],
        average=[a.numpy() for a in model.optimizer._model_variables_moving_average]))
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[keep])
    for weight, raw, average in zip(model.trainable_weights, seen["raw"], seen["average"]):
        np.testing.assert_array_equal(weight.numpy(), average)
        assert not np.allclose(raw, average)


def test_ema_matches_keras():
    """Keras 3 (JAX) from the same start and gradients: Adam with EMA and an overwrite every
    3 steps, variables and averages after 7 steps."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("compares with Keras on JAX")
    local = np.random.default_rng(1)
    w0 = local.normal(size=(2, 3)).astype(np.float32)
    grads = [local.normal(size=(2, 3)).astype(np.float32) for _ in range(7)]
    kwargs = dict(learning_rate=0.1, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3)
    k_var, k_opt = keras.Variable(w0.copy()), keras.optimizers.Adam(**kwargs)
    n_var, n_opt = nk.Variable(w0.copy()), optimizers.Adam(**kwargs)
    for g in grads:
        k_opt.apply([g], [k_var])
        n_opt.apply([g], [n_var])
    np.testing.assert_allclose(n_var.numpy(), np.asarray(k_var), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(n_opt._model_variables_moving_average[0].numpy(),
                               np.asarray(k_opt._model_variables_moving_average[0]),
                               rtol=1e-5, atol=1e-6)
