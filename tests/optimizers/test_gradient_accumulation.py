"""Gradient accumulation on the base optimizer (`gradient_accumulation_steps`), as Keras 3:
accumulators in `variables`, every N-th `apply` applies the mean gradient, `iterations`
counts updates, schedules read the real step, EMA reads the update count."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers, optimizers
from nbkeras.optimizers import schedules


def accumulated_means(grads, steps):
    """The gradient each step applies: None while accumulating, else the mean of the last
    `steps` gradients (float64, the way Keras's accumulation defines it)."""
    out, total = [], 0.0
    for t, g in enumerate(grads):
        total = total + g
        if (t + 1) % steps:
            out.append(None)
        else:
            out.append(total / steps)
            total = 0.0
    return out


def sgd_reference(w, grads, steps, schedule, momentum, weight_decay, clipnorm):
    """Keras's SGD with decoupled decay and per-variable clipnorm on the mean gradients;
    the learning rate comes from the schedule at the real step t."""
    velocity = np.zeros_like(w)
    for t, g in enumerate(accumulated_means(grads, steps)):
        if g is None:
            continue
        g = g * clipnorm / max(np.sqrt(np.sum(g * g)), clipnorm)
        lr = schedule(t)
        w = w - w * weight_decay * lr
        velocity = momentum * velocity - lr * g
        w = w + velocity
    return w


def adam_reference(w, grads, steps, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Keras's Adam, bias-corrected by the number of updates (not of apply calls)."""
    m, v, update = np.zeros_like(w), np.zeros_like(w), 0
    for g in accumulated_means(grads, steps):
        if g is None:
            continue
        update += 1
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        w = w - lr * np.sqrt(1 - beta_2 ** update) / (1 - beta_1 ** update) * m / (
            np.sqrt(v) + epsilon)
    return w


@pytest.mark.parametrize("steps", [2, 3])
def test_sgd_with_schedule_decay_and_clipnorm_matches_the_reference(steps, device):
    rng = np.random.default_rng(steps)
    shapes = [(3, 4), (4,)]
    w0 = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) * 3 for s in shapes] for _ in range(8)]
    schedule = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    variables = [nk.Variable(w.copy(), dtype="float64") for w in w0]
    opt = optimizers.SGD(schedule, momentum=0.8, weight_decay=0.05, clipnorm=1.0,
                         gradient_accumulation_steps=steps)
    for t, step_grads in enumerate(grads):
        opt.apply(step_grads, variables)
        assert int(opt.iterations) == (t + 1) // steps and int(opt._iterations) == t + 1
    for i, variable in enumerate(variables):
        expected = sgd_reference(w0[i], [g[i] for g in grads], steps,
                                 lambda t: 0.1 * 0.5 ** (t / 2), 0.8, 0.05, 1.0)
        np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-12, atol=1e-14)
    remainder = len(grads) % steps   # the accumulators hold the sum since the last update
    for i, accumulator in enumerate(opt._accumulated_gradients):
        expected = sum(g[i] for g in grads[len(grads) - remainder:]) if remainder else 0.0
        np.testing.assert_allclose(accumulator.numpy(), np.broadcast_to(expected, shapes[i]),
                                   rtol=1e-12, atol=1e-14)
        assert accumulator.device == variables[i].device


def test_adam_bias_correction_counts_updates():
    rng = np.random.default_rng(11)
    w0 = rng.normal(size=(5,))
    grads = [rng.normal(size=5) for _ in range(9)]
    variable = nk.Variable(w0.copy(), dtype="float64")
    opt = optimizers.Adam(0.01, gradient_accumulation_steps=3)
    for t, g in enumerate(grads):
        before = variable.numpy().copy()
        opt.apply_gradients([(g, variable)])
        changed = not np.array_equal(before, variable.numpy())
        assert changed == ((t + 1) % 3 == 0)
    np.testing.assert_allclose(variable.numpy(), adam_reference(w0, grads, 3, 0.01),
                               rtol=1e-12, atol=1e-14)


def test_ema_reads_the_update_count():
    """Keras averages on every apply, with momentum 0 until the first update is counted,
    and overwrites when (steps // N + 1) % ema_overwrite_frequency == 0."""
    rng = np.random.default_rng(5)
    w0 = rng.normal(size=4)
    grads = [rng.normal(size=4) for _ in range(8)]
    variable = nk.Variable(w0.copy(), dtype="float64")
    opt = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=2,
                         gradient_accumulation_steps=2)
    w, average = w0.copy(), np.zeros(4)
    for t, g in enumerate(accumulated_means(grads, 2)):
        opt.apply([grads[t]], [variable])
        if g is not None:
            w = w - 0.1 * g
        updates = t // 2               # counted before this apply's increment
        m = 0.9 if updates else 0.0
        average = m * average + (1 - m) * w
        if (updates + 1) % 2 == 0:
            w = average.copy()
        np.testing.assert_allclose(variable.numpy(), w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(opt._model_variables_moving_average[0].numpy(), average,
                                   rtol=1e-12, atol=1e-14)


def test_variables_order_and_names():
    """iteration, the EMA averages, the accumulators, then the slots (Keras's order, without
    Keras's learning_rate variable)."""
    kernel, bias = nk.Variable(np.zeros((2, 3)), name="kernel"), nk.Variable(np.zeros(3),
                                                                            name="bias")
    opt = optimizers.Adam(use_ema=True, gradient_accumulation_steps=2)
    opt.build([kernel, bias])
    assert [v.name for v in opt.variables] == [
        "iteration", "kernel_average", "bias_average", "kernel_gradient_accumulator",
        "bias_gradient_accumulator", "kernel_momentum", "kernel_velocity", "bias_momentum",
        "bias_velocity"]
    assert [v.shape for v in opt.variables[3:5]] == [(2, 3), (3,)]
    own_build = optimizers.Adafactor(gradient_accumulation_steps=2, use_ema=True)
    own_build.apply([np.ones((2, 3)), np.ones(3)], [kernel, bias])    # builds on first apply
    assert [v.name for v in own_build.variables[:5]] == [
        "iteration", "kernel_average", "bias_average", "kernel_gradient_accumulator",
        "bias_gradient_accumulator"]


def test_none_gradients_leave_their_accumulator_alone():
    a, b = nk.Variable(np.ones(2), dtype="float64"), nk.Variable(np.ones(3), dtype="float64")
    opt = optimizers.SGD(1.0, gradient_accumulation_steps=2)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([np.full(2, 4.0), None], [a, b])
    opt.apply([np.full(2, 2.0), np.full(3, 6.0)], [a, b])
    np.testing.assert_array_equal(a.numpy(), [-2.0, -2.0])      # 1 - (4 + 2) / 2
    np.testing.assert_array_equal(b.numpy(), [-2.0] * 3)        # 1 - 6 / 2


def test_loss_scale_factor_unscales_before_accumulating():
    variable = nk.Variable(np.zeros(2), dtype="float64")
    opt = optimizers.SGD(1.0, loss_scale_factor=4.0, gradient_accumulation_steps=2)
    opt.apply([np.array([4.0, 8.0])], [variable])
    np.testing.assert_array_equal(opt._accumulated_gradients[0].numpy(), [1.0, 2.0])
    opt.apply([np.array([4.0, 8.0])], [variable])
    np.testing.assert_array_equal(variable.numpy(), [-1.0, -2.0])


def test_fit_with_accumulation_equals_fit_on_batches_twice_as_large():
    """MSE averaged over two batches of 4 is MSE over their 8 rows: SGD with
    gradient_accumulation_steps=2 on batches of 4 takes the steps SGD takes on batches of 8."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 2))

    def trained(batch_size, accumulation):
        model = nk.Sequential([layers.Input((3,)), layers.Dense(4, activation="tanh"),
                               layers.Dense(2)])
        model.set_weights([np.random.default_rng(0).normal(size=w.shape) * 0.5
                           for w in model.get_weights()])
        model.compile(optimizers.SGD(0.1, momentum=0.5,
                                     gradient_accumulation_steps=accumulation), "mse")
        model.fit(x, y, batch_size=batch_size, epochs=3, shuffle=False, verbose=0)
        return model

    accumulated, large = trained(4, 2), trained(8, None)
    for a, b in zip(accumulated.get_weights(), large.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert int(accumulated.optimizer.iterations) == int(large.optimizer.iterations) == 12


def test_config_round_trip_and_errors():
    opt = optimizers.Adam(0.01, gradient_accumulation_steps=4)
    config = opt.get_config()
    assert config["gradient_accumulation_steps"] == 4
    assert optimizers.Adam.from_config(config).gradient_accumulation_steps == 4
    assert optimizers.get(optimizers.serialize(opt)).gradient_accumulation_steps == 4
    for bad in (1, -2, 2.5, True):
        with pytest.raises(ValueError, match="gradient_accumulation_steps` must be an integer"):
            optimizers.SGD(gradient_accumulation_steps=bad)
    assert optimizers.SGD(gradient_accumulation_steps=0).gradient_accumulation_steps == 0


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(learning_rate=0.1, momentum=0.9)),
    ("Adam", dict(learning_rate=0.01, weight_decay=0.1, use_ema=True,
                  ema_overwrite_frequency=2)),
])
def test_matches_keras(name, kwargs):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(21)
    w0 = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32)]
    grads = [[rng.normal(size=w.shape).astype(np.float32) for w in w0] for _ in range(7)]
    ours = [nk.Variable(w, name=n) for w, n in zip(w0, ("kernel", "bias"))]
    theirs = [keras.Variable(w, name=n) for w, n in zip(w0, ("kernel", "bias"))]
    opt = getattr(optimizers, name)(gradient_accumulation_steps=3, **kwargs)
    reference = getattr(keras.optimizers, name)(gradient_accumulation_steps=3, **kwargs)
    for step_grads in grads:
        opt.apply(step_grads, ours)
        reference.apply(step_grads, theirs)
        assert int(opt.iterations) == int(reference.iterations)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6, atol=1e-6)
    keras_variables = [v for v in reference.variables if v.name != "learning_rate"]
    assert [v.name for v in opt.variables] == [v.name for v in keras_variables]
    for a, b in zip(opt.variables, keras_variables):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6, atol=1e-6)


def test_weights_files_carry_the_accumulators_between_keras_and_nbkeras(tmp_path):
    """Keras's layout (iteration, learning_rate, averages, accumulators, slots) both ways,
    mid-accumulation, so the next step must use the loaded accumulators."""
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(31)
    x, y = rng.normal(size=(20, 3)).astype(np.float32), rng.normal(size=(20, 2))

    def keras_model():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(keras.optimizers.Adam(0.01, use_ema=True, gradient_accumulation_steps=3),
                      "mse")
        return model

    def keras_state(model):
        return [np.asarray(v) for v in model.optimizer.variables if v.name != "learning_rate"]

    theirs = keras_model()
    theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)   # 5 steps: 2 pending
    path = str(tmp_path / "keras.weights.h5")
    theirs.save_weights(path)
    ours = nk.Sequential([layers.Input((3,)), layers.Dense(2)])
    ours.compile(optimizers.Adam(0.01, use_ema=True, gradient_accumulation_steps=3), "mse")
    ours.optimizer.build(ours.trainable_weights)
    ours.load_weights(path)
    assert len(ours.optimizer.variables) == len(keras_state(theirs))
    for a, b in zip(ours.optimizer.variables, keras_state(theirs)):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-6)
    resumed = keras_model()          # Keras on JAX fails a second fit of one model here
    resumed.optimizer.build(resumed.trainable_variables)
    resumed.load_weights(path)
    for model in (ours, resumed):                # the step that completes the accumulation
        model.fit(x[:4], y[:4], batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert int(ours.optimizer.iterations) == int(resumed.optimizer.iterations) == 2
    for a, b in zip(ours.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    back = str(tmp_path / "nbkeras.weights.h5")
    ours.save_weights(back)
    reloaded = keras_model()
    reloaded.optimizer.build(reloaded.trainable_variables)
    reloaded.load_weights(back)
    for a, b in zip(ours.optimizer.variables, keras_state(reloaded)):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-6)
