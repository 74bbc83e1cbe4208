"""Adafactor against a plain-numpy reference of Keras 3's rule over several steps (with a
learning-rate schedule and weight decay; factored rank-2 and rank-3 variables, unfactored
vectors and scalars), against Keras's own numbers, and the optimizer contract (slots, config,
`get`, errors, `fit`)."""
import re

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import optimizers
from nbkeras.optimizers import schedules

from optimizer_checks import apply_steps, assert_fit_reduces_the_loss, random_problem

rng = np.random.default_rng(20261203)
SHAPES = [(3, 4), (5,), (2, 3, 4), (), (1, 1), (4, 1)]


def rms(x):
    return np.sqrt(np.mean(x ** 2))


def adafactor_reference(weights, grad_steps, lr, beta_2_decay=-0.8, epsilon_1=1e-30,
                        epsilon_2=1e-3, clip_threshold=1.0, relative_step=True,
                        weight_decay=None):
    weights = [w.astype(np.float64) for w in weights]
    r = [np.zeros(w.shape[:-1]) for w in weights]
    c = [np.zeros(w.shape[:-2] + w.shape[-1:]) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    for t, grads in enumerate(grad_steps, start=1):
        rate = lr(t - 1) if callable(lr) else lr
        rho = min(rate, 1 / np.sqrt(t))
        beta = 1 - t ** beta_2_decay
        for i, g in enumerate(grads):
            w = weights[i]
            if weight_decay:
                w = w - w * weight_decay * rate
            alpha = max(epsilon_2, rms(w)) * rho
            square = g ** 2 + epsilon_1
            if w.ndim >= 2:
                r[i] = beta * r[i] + (1 - beta) * square.mean(axis=-1)
                c[i] = beta * c[i] + (1 - beta) * square.mean(axis=-2)
                row = r[i] / r[i].mean(axis=-1, keepdims=True)
                v[i] = np.einsum("...i,...j->...ij", row, c[i])
            else:
                v[i] = beta * v[i] + (1 - beta) * square
            u = g / np.sqrt(v[i])
            weights[i] = w - alpha * u / max(1.0, rms(u) / clip_threshold)
    return weights


HYPERS = [{}, dict(beta_2_decay=-0.5, epsilon_1=1e-3, epsilon_2=0.5, clip_threshold=0.5),
          dict(clip_threshold=100.0, relative_step=False)]


@pytest.mark.parametrize("hyper", HYPERS, ids=str)
def test_matches_reference_with_schedule_and_weight_decay(hyper, device):   # cpu, cuda
    schedule = schedules.ExponentialDecay(0.5, decay_steps=1, decay_rate=0.7)
    weights, grad_steps = random_problem(rng, SHAPES, np.float64)
    optimizer = optimizers.Adafactor(learning_rate=schedule, weight_decay=0.05, **hyper)
    variables = apply_steps(optimizer, weights, grad_steps)
    expected = adafactor_reference(weights, grad_steps, schedule, weight_decay=0.05, **hyper)
    for variable, w0, ref in zip(variables, weights, expected):
        np.testing.assert_allclose(variable.numpy() - w0, ref - w0, rtol=1e-9, atol=1e-14)
    assert int(optimizer.iterations) == len(grad_steps)


def test_float32_with_global_clipnorm():
    weights, grad_steps = random_problem(rng, SHAPES, np.float32)
    variables = apply_steps(optimizers.Adafactor(learning_rate=0.1, global_clipnorm=2.0), weights,
                    grad_steps)
    clipped = []
    for grads in grad_steps:
        norm = np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads))
        clipped.append([g * min(1.0, 2.0 / norm) for g in grads])
    for variable, ref in zip(variables, adafactor_reference(weights, clipped, 0.1)):
        assert variable.dtype == "float32"
        np.testing.assert_allclose(variable.numpy(), ref, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("hyper", HYPERS[:2], ids=str)
def test_matches_keras(hyper):   # float32: JAX computes in float32 unless x64 is enabled
    keras = pytest.importorskip("keras")
    weights, grad_steps = random_problem(rng, SHAPES, np.float32)
    optimizer = optimizers.Adafactor(learning_rate=schedules.ExponentialDecay(0.5, 1, 0.7),
                                     weight_decay=0.05, **hyper)
    variables = apply_steps(optimizer, weights, grad_steps)
    keras_optimizer = keras.optimizers.Adafactor(
        learning_rate=keras.optimizers.schedules.ExponentialDecay(0.5, 1, 0.7),
        weight_decay=0.05, **hyper)
    keras_variables = [keras.Variable(w) for w in weights]
    for grads in grad_steps:
        keras_optimizer.apply_gradients(zip(grads, keras_variables))
    for variable, keras_variable in zip(variables, keras_variables):
        np.testing.assert_allclose(variable.numpy(), np.asarray(keras_variable), rtol=1e-5,
                                   atol=1e-6)
    # the slots too (Keras's list may also hold a learning-rate variable)
    keras_slots = [v for v in keras_optimizer.variables[1:] if v.name != "learning_rate"]
    assert len(optimizer.variables[1:]) == len(keras_slots)
    for slot, keras_slot in zip(optimizer.variables[1:], keras_slots):
        assert slot.shape == tuple(keras_slot.shape)
        np.testing.assert_allclose(slot.numpy(), np.asarray(keras_slot), rtol=1e-5, atol=1e-6)


def test_slots_in_keras_order_and_shapes():
    a, b = nk.Variable(np.ones(3), name="a"), nk.Variable(np.ones((2, 3, 4)), name="b")
    optimizer = optimizers.Adafactor()
    optimizer.build([a, b])
    assert [(v.name, v.shape) for v in optimizer.variables] == [
        ("iteration", ()), ("a", ()), ("a", ()), ("a_velocity", (3,)), ("b", (2, 3)),
        ("b", (2, 4)), ("b_velocity", (2, 3, 4))]


def test_config_round_trip_and_lookup():
    optimizer = optimizers.Adafactor(learning_rate=schedules.CosineDecay(0.1, 100),
                                     beta_2_decay=-0.6, epsilon_1=1e-20, epsilon_2=1e-2,
                                     clip_threshold=2.0, relative_step=False, clipvalue=1.0,
                                     name="my_adafactor")
    config = optimizer.get_config()
    assert config["name"] == "my_adafactor" and config["relative_step"] is False
    assert optimizers.Adafactor.from_config(config).get_config() == config
    revived = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(revived) is optimizers.Adafactor and revived.get_config() == config
    assert type(optimizers.get("adafactor")) is optimizers.Adafactor
    assert type(optimizers.get("Adafactor")) is optimizers.Adafactor
    assert re.fullmatch(r"adafactor(_\d+)?", optimizers.Adafactor().name)


def test_keras_config_loads():
    keras = pytest.importorskip("keras")
    config = keras.optimizers.Adafactor(learning_rate=0.01, clip_threshold=2.0).get_config()
    config["learning_rate"] = float(config["learning_rate"])
    assert optimizers.Adafactor.from_config(config).get_config() == config


@pytest.mark.parametrize("bad", [dict(beta_2_decay=0.5), dict(epsilon_1=-1.0),
                                 dict(epsilon_2=-1.0), dict(clip_threshold=0.0),
                                 dict(weight_decay="x")], ids=str)
def test_bad_arguments_name_the_optimizer_and_argument(bad):
    with pytest.raises(ValueError, match=f"Adafactor.*{list(bad)[0]}"):
        optimizers.Adafactor(**bad)


def test_fit_reduces_the_loss():
    assert_fit_reduces_the_loss(optimizers.Adafactor(learning_rate=0.05))
