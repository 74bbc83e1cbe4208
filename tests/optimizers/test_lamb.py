"""Lamb against a plain-numpy reference of Keras 3's rule over several steps (with a
learning-rate schedule and weight decay), against Keras's own numbers, and the optimizer
contract (slots, config, `get`, errors, `fit`)."""
import re

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import optimizers
from nbkeras.optimizers import schedules

from optimizer_checks import apply_steps, assert_fit_reduces_the_loss, random_problem

rng = np.random.default_rng(20261205)
SHAPES = [(3, 4), (5,), (2, 3, 2)]


def lamb_reference(weights, grad_steps, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                   weight_decay=None):
    weights = [w.astype(np.float64) for w in weights]
    states = [dict(m=np.zeros_like(w), v=np.zeros_like(w)) for w in weights]
    for t, grads in enumerate(grad_steps, start=1):
        rate = lr(t - 1) if callable(lr) else lr
        for i, g in enumerate(grads):
            w, state = weights[i], states[i]
            if weight_decay:
                w = w - w * weight_decay * rate
            state["m"] = beta_1 * state["m"] + (1 - beta_1) * g
            state["v"] = beta_2 * state["v"] + (1 - beta_2) * g ** 2
            update = (state["m"] / (1 - beta_1 ** t)) / (
                np.sqrt(state["v"] / (1 - beta_2 ** t)) + epsilon)
            w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(update)
            ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
            weights[i] = w - ratio * rate * update
    return weights


@pytest.mark.parametrize("hyper", [{}, dict(beta_1=0.5, beta_2=0.8, epsilon=0.1)], ids=str)
def test_matches_reference_with_schedule_and_weight_decay(hyper, device):   # cpu, cuda
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.7)
    weights, grad_steps = random_problem(rng, SHAPES, np.float64)
    optimizer = optimizers.Lamb(learning_rate=schedule, weight_decay=0.05, **hyper)
    variables = apply_steps(optimizer, weights, grad_steps)
    expected = lamb_reference(weights, grad_steps, schedule, weight_decay=0.05, **hyper)
    for variable, w0, ref in zip(variables, weights, expected):
        np.testing.assert_allclose(variable.numpy() - w0, ref - w0, rtol=1e-9, atol=1e-14)
    assert int(optimizer.iterations) == len(grad_steps)


def test_float32_zero_variable_and_clipnorm():
    weights, grad_steps = random_problem(rng, SHAPES, np.float32)
    weights[1][:] = 0                      # ||w|| = 0: the ratio is 1
    variables = apply_steps(optimizers.Lamb(learning_rate=0.1, clipnorm=1.0), weights, grad_steps)
    clipped = [[g * min(1.0, 1.0 / np.linalg.norm(g.astype(np.float64))) for g in grads]
               for grads in grad_steps]
    expected = lamb_reference(weights, clipped, 0.1)
    for variable, ref in zip(variables, expected):
        assert variable.dtype == "float32"
        np.testing.assert_allclose(variable.numpy(), ref, rtol=1e-5, atol=2e-6)


def test_matches_keras():   # float32: JAX computes in float32 unless x64 is enabled
    keras = pytest.importorskip("keras")
    dtype = np.float32
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.7)
    weights, grad_steps = random_problem(rng, SHAPES, dtype)
    hyper = dict(beta_1=0.8, beta_2=0.95, epsilon=1e-6, weight_decay=0.05)
    variables = apply_steps(optimizers.Lamb(learning_rate=schedule, **hyper), weights, grad_steps)
    keras_schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1,
                                                                 decay_rate=0.7)
    keras_optimizer = keras.optimizers.Lamb(learning_rate=keras_schedule, **hyper)
    keras_variables = [keras.Variable(w) for w in weights]
    for grads in grad_steps:
        keras_optimizer.apply_gradients(zip(grads, keras_variables))
    for variable, keras_variable in zip(variables, keras_variables):
        np.testing.assert_allclose(variable.numpy(), np.asarray(keras_variable), rtol=1e-5,
                                   atol=1e-6)


def test_slots_in_keras_order():
    a, b = nk.Variable(np.ones(3), name="a"), nk.Variable(np.ones((2, 2)), name="b")
    optimizer = optimizers.Lamb()
    optimizer.build([a, b])
    assert [v.name for v in optimizer.variables] == [
        "iteration", "a_momentum", "a_velocity", "b_momentum", "b_velocity"]
    assert [v.shape for v in optimizer.variables[1:]] == [(3,), (3,), (2, 2), (2, 2)]


def test_config_round_trip_and_lookup():
    optimizer = optimizers.Lamb(learning_rate=schedules.CosineDecay(0.1, 100), beta_1=0.5,
                                beta_2=0.75, epsilon=1e-5, global_clipnorm=2.0, name="my_lamb")
    config = optimizer.get_config()
    assert config["name"] == "my_lamb" and config["beta_2"] == 0.75
    assert optimizers.Lamb.from_config(config).get_config() == config
    revived = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(revived) is optimizers.Lamb and revived.get_config() == config
    assert type(optimizers.get("lamb")) is optimizers.Lamb
    assert type(optimizers.get("Lamb")) is optimizers.Lamb
    assert re.fullmatch(r"lamb(_\d+)?", optimizers.Lamb().name)


def test_keras_config_loads():
    keras = pytest.importorskip("keras")
    config = keras.optimizers.Lamb(learning_rate=0.01, beta_1=0.8).get_config()
    config["learning_rate"] = float(config["learning_rate"])
    assert optimizers.Lamb.from_config(config).get_config() == config


@pytest.mark.parametrize("bad", [dict(beta_1=1.0), dict(beta_2=-0.1), dict(epsilon=-1.0),
                                 dict(clipnorm="x")], ids=str)
def test_bad_arguments_name_the_optimizer_and_argument(bad):
    with pytest.raises(ValueError, match=f"Lamb.*{list(bad)[0]}"):
        optimizers.Lamb(**bad)


def test_fit_reduces_the_loss():
    assert_fit_reduces_the_loss(optimizers.Lamb(learning_rate=0.01))
