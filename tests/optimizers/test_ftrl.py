"""Ftrl against a plain-numpy reference of Keras 3's rule over several steps (with a
learning-rate schedule, weight decay and every regularization), against Keras's own numbers,
and the optimizer contract (slots, config, `get`, errors, `fit`)."""
import re

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import optimizers
from nbkeras.optimizers import schedules

from optimizer_checks import apply_steps, assert_fit_reduces_the_loss, random_problem

rng = np.random.default_rng(20261204)
SHAPES = [(3, 4), (5,)]


def ftrl_reference(weights, grad_steps, lr, learning_rate_power=-0.5,
                   initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                   l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                   beta=0.0, weight_decay=None):
    p, l1 = learning_rate_power, l1_regularization_strength
    weights = [w.astype(np.float64) for w in weights]
    n = [np.full_like(w, initial_accumulator_value) for w in weights]
    z = [np.zeros_like(w) for w in weights]
    for t, grads in enumerate(grad_steps, start=1):
        rate = lr(t - 1) if callable(lr) else lr
        l2 = l2_regularization_strength + beta / (2 * rate)
        for i, g in enumerate(grads):
            w = weights[i]
            if weight_decay:
                w = w - w * weight_decay * rate
            shrunk = g + 2 * l2_shrinkage_regularization_strength * w
            n_new = n[i] + g ** 2
            sigma = (n_new ** -p - n[i] ** -p) / rate
            z[i] = z[i] + shrunk - sigma * w
            quadratic = n_new ** -p / rate + 2 * l2
            weights[i] = np.where(np.abs(z[i]) <= l1, 0.0, (np.sign(z[i]) * l1 - z[i]) / quadratic)
            n[i] = n_new
    return weights


HYPERS = [
    {},
    dict(learning_rate_power=-0.7, initial_accumulator_value=0.3),
    dict(l1_regularization_strength=0.2, l2_regularization_strength=0.1),
    dict(l2_shrinkage_regularization_strength=0.05, beta=0.5, learning_rate_power=0.0),
    dict(initial_accumulator_value=0.0, l1_regularization_strength=0.01),
]


@pytest.mark.parametrize("hyper", HYPERS, ids=str)
def test_matches_reference_with_schedule_and_weight_decay(hyper, device):   # cpu, cuda
    schedule = schedules.ExponentialDecay(0.5, decay_steps=1, decay_rate=0.7)
    weights, grad_steps = random_problem(rng, SHAPES, np.float64)
    optimizer = optimizers.Ftrl(learning_rate=schedule, weight_decay=0.05, **hyper)
    variables = apply_steps(optimizer, weights, grad_steps)
    expected = ftrl_reference(weights, grad_steps, schedule, weight_decay=0.05, **hyper)
    for variable, ref in zip(variables, expected):
        np.testing.assert_allclose(variable.numpy(), ref, rtol=1e-9, atol=1e-14)
    assert int(optimizer.iterations) == len(grad_steps)


@pytest.mark.parametrize("hyper", HYPERS[1:3], ids=str)
def test_float32_with_clipvalue(hyper):
    weights, grad_steps = random_problem(rng, SHAPES, np.float32)
    variables = apply_steps(optimizers.Ftrl(learning_rate=0.5, clipvalue=0.5, **hyper), weights,
                    grad_steps)
    clipped = [[np.clip(g, -0.5, 0.5) for g in grads] for grads in grad_steps]
    for variable, ref in zip(variables, ftrl_reference(weights, clipped, 0.5, **hyper)):
        assert variable.dtype == "float32"
        np.testing.assert_allclose(variable.numpy(), ref, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("hyper", HYPERS[1:4], ids=str)
def test_matches_keras(hyper):   # float32: JAX computes in float32 unless x64 is enabled
    keras = pytest.importorskip("keras")
    weights, grad_steps = random_problem(rng, SHAPES, np.float32)
    variables = apply_steps(optimizers.Ftrl(learning_rate=schedules.ExponentialDecay(0.5, 1, 0.7),
                                    weight_decay=0.05, **hyper), weights, grad_steps)
    keras_optimizer = keras.optimizers.Ftrl(
        learning_rate=keras.optimizers.schedules.ExponentialDecay(0.5, 1, 0.7),
        weight_decay=0.05, **hyper)
    keras_variables = [keras.Variable(w) for w in weights]
    for grads in grad_steps:
        keras_optimizer.apply_gradients(zip(grads, keras_variables))
    for variable, keras_variable in zip(variables, keras_variables):
        np.testing.assert_allclose(variable.numpy(), np.asarray(keras_variable), rtol=1e-5,
                                   atol=1e-6)


def test_slots_in_keras_order():
    a, b = nk.Variable(np.ones(3), name="a"), nk.Variable(np.ones((2, 2)), name="b")
    optimizer = optimizers.Ftrl(initial_accumulator_value=0.25)
    optimizer.build([a, b])
    assert [v.name for v in optimizer.variables] == [
        "iteration", "a_accumulator", "a_linear", "b_accumulator", "b_linear"]
    for variable, start in zip(optimizer.variables[1:], (0.25, 0.0, 0.25, 0.0)):
        np.testing.assert_array_equal(variable.numpy(), start)


def test_config_round_trip_and_lookup():
    optimizer = optimizers.Ftrl(learning_rate=schedules.CosineDecay(0.1, 100),
                                learning_rate_power=-0.3, initial_accumulator_value=0.2,
                                l1_regularization_strength=0.01, l2_regularization_strength=0.02,
                                l2_shrinkage_regularization_strength=0.03, beta=0.1,
                                clipnorm=1.0, name="my_ftrl")
    config = optimizer.get_config()
    assert config["name"] == "my_ftrl" and config["beta"] == 0.1
    assert optimizers.Ftrl.from_config(config).get_config() == config
    revived = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(revived) is optimizers.Ftrl and revived.get_config() == config
    assert type(optimizers.get("ftrl")) is optimizers.Ftrl
    assert type(optimizers.get("Ftrl")) is optimizers.Ftrl
    assert re.fullmatch(r"ftrl(_\d+)?", optimizers.Ftrl().name)


def test_keras_config_loads():
    keras = pytest.importorskip("keras")
    config = keras.optimizers.Ftrl(learning_rate=0.01, l1_regularization_strength=0.1,
                                   beta=0.2).get_config()
    config["learning_rate"] = float(config["learning_rate"])
    assert optimizers.Ftrl.from_config(config).get_config() == config


@pytest.mark.parametrize("bad", [
    dict(initial_accumulator_value=-0.1), dict(learning_rate_power=0.5),
    dict(l1_regularization_strength=-1.0), dict(l2_regularization_strength=-1.0),
    dict(l2_shrinkage_regularization_strength=-1.0), dict(clipvalue="x")], ids=str)
def test_bad_arguments_name_the_optimizer_and_argument(bad):
    with pytest.raises(ValueError, match=f"Ftrl.*{list(bad)[0]}"):
        optimizers.Ftrl(**bad)


def test_fit_reduces_the_loss():
    assert_fit_reduces_the_loss(optimizers.Ftrl(learning_rate=0.1))
