"""ScheduleFreeAdamW against a plain-numpy reference of Keras 3's rule over several steps
(with a learning-rate schedule, warmup and weight decay), against Keras's own numbers, and
the optimizer contract (slots, config, `get`, errors, `fit`)."""
import re

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import optimizers
from nbkeras.optimizers import schedules

from optimizer_checks import apply_steps, assert_fit_reduces_the_loss, random_problem

rng = np.random.default_rng(20261206)
SHAPES = [(3, 4), (5,)]


def schedule_free_adamw_reference(weights, grad_steps, lr, beta_1=0.9, beta_2=0.999,
                                  epsilon=1e-8, warmup_steps=0, weight_decay=None):
    """y (the variable), z (the gradient sequence, from y's start) and x (the average),
    written as the paper's three sequences."""
    ys = [w.astype(np.float64) for w in weights]
    zs = [y.copy() for y in ys]
    xs = [y.copy() for y in ys]
    vs = [np.zeros_like(y) for y in ys]
    for t, grads in enumerate(grad_steps, start=1):
        rate = lr(t - 1) if callable(lr) else lr
        if weight_decay:       # Keras decays y; with it, x follows from y and z
            ys = [y - y * weight_decay * rate for y in ys]
            xs = [(y - (1 - beta_1) * z) / beta_1 for y, z in zip(ys, zs)]
        step_rate = rate * min(t / warmup_steps, 1.0) if warmup_steps else rate
        for i, g in enumerate(grads):
            vs[i] = beta_2 * vs[i] + (1 - beta_2) * g ** 2
            v_hat = vs[i] / (1 - beta_2 ** t)
            zs[i] = zs[i] - step_rate * g / (np.sqrt(v_hat) + epsilon)
            xs[i] = (1 - 1 / t) * xs[i] + zs[i] / t
            ys[i] = (1 - beta_1) * zs[i] + beta_1 * xs[i]
    return ys


HYPERS = [{}, dict(beta_1=0.5, beta_2=0.8, epsilon=0.1, warmup_steps=3), dict(beta_1=1.0)]


@pytest.mark.parametrize("hyper", HYPERS, ids=str)
def test_matches_reference_with_schedule_and_weight_decay(hyper, device):   # cpu, cuda
    schedule = schedules.ExponentialDecay(0.5, decay_steps=1, decay_rate=0.7)
    weights, grad_steps = random_problem(rng, SHAPES, np.float64)
    optimizer = optimizers.ScheduleFreeAdamW(learning_rate=schedule, weight_decay=0.05,
                                             **hyper)
    variables = apply_steps(optimizer, weights, grad_steps)
    expected = schedule_free_adamw_reference(weights, grad_steps, schedule, weight_decay=0.05,
                                             **hyper)
    for variable, w0, ref in zip(variables, weights, expected):
        np.testing.assert_allclose(variable.numpy() - w0, ref - w0, rtol=1e-9, atol=1e-13)
    assert int(optimizer.iterations) == len(grad_steps)


def test_float32_with_clipnorm():
    weights, grad_steps = random_problem(rng, SHAPES, np.float32)
    variables = apply_steps(optimizers.ScheduleFreeAdamW(learning_rate=0.1, clipnorm=1.0), weights,
                    grad_steps)
    clipped = [[g * min(1.0, 1.0 / np.linalg.norm(g.astype(np.float64))) for g in grads]
               for grads in grad_steps]
    for variable, ref in zip(variables, schedule_free_adamw_reference(weights, clipped, 0.1)):
        assert variable.dtype == "float32"
        np.testing.assert_allclose(variable.numpy(), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("hyper", HYPERS[:2], ids=str)
def test_matches_keras(hyper):   # float32: JAX computes in float32 unless x64 is enabled
    keras = pytest.importorskip("keras")
    weights, grad_steps = random_problem(rng, SHAPES, np.float32)
    optimizer = optimizers.ScheduleFreeAdamW(
        learning_rate=schedules.ExponentialDecay(0.5, 1, 0.7), weight_decay=0.05, **hyper)
    variables = apply_steps(optimizer, weights, grad_steps)
    keras_optimizer = keras.optimizers.ScheduleFreeAdamW(
        learning_rate=keras.optimizers.schedules.ExponentialDecay(0.5, 1, 0.7),
        weight_decay=0.05, **hyper)
    keras_variables = [keras.Variable(w) for w in weights]
    for grads in grad_steps:
        keras_optimizer.apply_gradients(zip(grads, keras_variables))
    # float32 rounding: recovering x divides by beta_1
    for variable, keras_variable in zip(variables, keras_variables):
        np.testing.assert_allclose(variable.numpy(), np.asarray(keras_variable), rtol=1e-5,
                                   atol=2e-5)
    keras_slots = [v for v in keras_optimizer.variables[1:] if v.name != "learning_rate"]
    for slot, keras_slot in zip(optimizer.variables[1:], keras_slots, strict=True):
        np.testing.assert_allclose(slot.numpy(), np.asarray(keras_slot), rtol=1e-5, atol=2e-5)


def test_slots_in_keras_order_and_momentum_starts_at_the_variable():
    a, b = nk.Variable(np.arange(3.0), name="a"), nk.Variable(np.ones((2, 2)), name="b")
    optimizer = optimizers.ScheduleFreeAdamW()
    optimizer.build([a, b])
    assert [v.name for v in optimizer.variables] == [
        "iteration", "a_momentum", "a_velocity", "b_momentum", "b_velocity"]
    np.testing.assert_array_equal(optimizer.variables[1].numpy(), a.numpy())
    np.testing.assert_array_equal(optimizer.variables[2].numpy(), 0.0)
    np.testing.assert_array_equal(optimizer.variables[3].numpy(), b.numpy())


def test_config_round_trip_and_lookup():
    optimizer = optimizers.ScheduleFreeAdamW(learning_rate=schedules.CosineDecay(0.1, 100),
                                             beta_1=0.5, beta_2=0.75, epsilon=1e-5,
                                             warmup_steps=10, clipnorm=1.0, name="my_sf")
    config = optimizer.get_config()
    assert config["name"] == "my_sf" and config["warmup_steps"] == 10
    assert optimizers.ScheduleFreeAdamW.from_config(config).get_config() == config
    revived = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(revived) is optimizers.ScheduleFreeAdamW and revived.get_config() == config
    assert type(optimizers.get("schedulefreeadamw")) is optimizers.ScheduleFreeAdamW
    assert type(optimizers.get("ScheduleFreeAdamW")) is optimizers.ScheduleFreeAdamW
    assert re.fullmatch(r"schedule_free_adam_w(_\d+)?",   # Keras's
                        optimizers.ScheduleFreeAdamW().name)
    assert optimizers.ScheduleFreeAdamW().learning_rate == 0.0025


def test_keras_config_loads():
    keras = pytest.importorskip("keras")
    config = keras.optimizers.ScheduleFreeAdamW(learning_rate=0.01,
                                                warmup_steps=5).get_config()
    config["learning_rate"] = float(config["learning_rate"])
    assert optimizers.ScheduleFreeAdamW.from_config(config).get_config() == config


@pytest.mark.parametrize("bad", [dict(beta_1=0.0), dict(beta_2=1.0), dict(epsilon=-1.0),
                                 dict(warmup_steps=-1), dict(warmup_steps=2.5),
                                 dict(global_clipnorm="x")], ids=str)
def test_bad_arguments_name_the_optimizer_and_argument(bad):
    with pytest.raises(ValueError, match=f"ScheduleFreeAdamW.*{list(bad)[0]}"):
        optimizers.ScheduleFreeAdamW(**bad)


def test_fit_reduces_the_loss():
    assert_fit_reduces_the_loss(optimizers.ScheduleFreeAdamW(learning_rate=0.01))
