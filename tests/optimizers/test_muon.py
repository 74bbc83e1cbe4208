"""Muon against a plain-numpy reference of Keras 3's rule over several steps (with a
learning-rate schedule and both weight decays; Muon and AdamW variables side by side),
against Keras's own numbers, and the optimizer contract (slots, config, `get`, errors,
`fit`)."""
import re

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import optimizers
from nbkeras.optimizers import schedules

from optimizer_checks import apply_steps, assert_fit_reduces_the_loss, random_problem

rng = np.random.default_rng(20261207)
# (name, shape): 2-D ones take Muon (wide and tall), the rest AdamW (rank, embedding, excluded)
VARIABLES = [("kernel", (3, 5)), ("tall", (6, 3)), ("bias", (5,)), ("conv", (2, 2, 3)),
             ("embeddings", (4, 4)), ("skip_me", (3, 3))]


def newton_schulz(x, steps, a=3.4445, b=-4.7750, c=2.0315):
    tall = x.shape[0] > x.shape[1]
    x = x.T if tall else x
    x = x / (np.linalg.norm(x) + 1e-7)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


def muon_reference(weights, names, grad_steps, lr, weight_decay=0.004, adam_weight_decay=0.004,
                   adam_beta_1=0.9, adam_beta_2=0.999, epsilon=1e-7, exclude_layers=(),
                   adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2,
                   exclude_embeddings=True, muon_a=3.4445, muon_b=-4.7750, muon_c=2.0315):
    def adamw(name, w):
        return (w.ndim != 2 or (exclude_embeddings and "embedding" in name.lower())
                or any(pattern in name for pattern in exclude_layers))

    weights = [w.astype(np.float64) for w in weights]
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    for t, grads in enumerate(grad_steps, start=1):
        rate = lr(t - 1) if callable(lr) else lr
        for i, (name, g) in enumerate(zip(names, grads)):
            w = weights[i]
            decay = adam_weight_decay if adamw(name, w) else weight_decay
            if decay is not None:
                w = w - w * decay * rate
            if adamw(name, w):
                m[i] = adam_beta_1 * m[i] + (1 - adam_beta_1) * g
                v[i] = adam_beta_2 * v[i] + (1 - adam_beta_2) * g ** 2
                alpha = rate * adam_lr_ratio * np.sqrt(1 - adam_beta_2 ** t) / (
                    1 - adam_beta_1 ** t)
                weights[i] = w - alpha * m[i] / (np.sqrt(v[i]) + epsilon)
            else:
                m[i] = momentum * m[i] + g
                direction = g + momentum * m[i] if nesterov else m[i]
                update = rate * newton_schulz(direction, ns_steps, muon_a, muon_b, muon_c)
                if rms_rate is not None:
                    update = update * np.sqrt(max(w.shape)) * rms_rate
                weights[i] = w - update
    return weights


NAMES = [name for name, _ in VARIABLES]
SHAPES = [shape for _, shape in VARIABLES]
HYPERS = [dict(exclude_layers=["skip"]),
          dict(nesterov=False, weight_decay=None, adam_weight_decay=0.01, adam_lr_ratio=0.5,
               momentum=0.8, ns_steps=3, rms_rate=None, adam_beta_1=0.8, epsilon=1e-3),
          dict(exclude_embeddings=False, adam_weight_decay=None, muon_a=2.0, muon_b=-1.5,
               muon_c=0.5)]


@pytest.mark.parametrize("hyper", HYPERS, ids=str)
def test_matches_reference_with_schedule_and_weight_decay(hyper, device):   # cpu, cuda
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.7)
    weights, grad_steps = random_problem(rng, SHAPES, np.float64)
    variables = apply_steps(optimizers.Muon(learning_rate=schedule, **hyper), weights, grad_steps,
                            NAMES)
    expected = muon_reference(weights, NAMES, grad_steps, schedule, **hyper)
    for variable, w0, ref in zip(variables, weights, expected):
        np.testing.assert_allclose(variable.numpy() - w0, ref - w0, rtol=1e-9, atol=1e-13,
                                   err_msg=variable.name)


def test_float32_with_clipvalue():
    weights, grad_steps = random_problem(rng, SHAPES, np.float32)
    variables = apply_steps(optimizers.Muon(learning_rate=0.05, clipvalue=0.5), weights,
                            grad_steps, NAMES)
    clipped = [[np.clip(g, -0.5, 0.5) for g in grads] for grads in grad_steps]
    for variable, ref in zip(variables, muon_reference(weights, NAMES, clipped, 0.05)):
        assert variable.dtype == "float32"
        np.testing.assert_allclose(variable.numpy(), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("hyper", HYPERS[:2], ids=str)
def test_matches_keras(hyper):   # float32: JAX computes in float32 unless x64 is enabled
    keras = pytest.importorskip("keras")
    weights, grad_steps = random_problem(rng, SHAPES, np.float32)
    optimizer = optimizers.Muon(learning_rate=schedules.ExponentialDecay(0.1, 1, 0.7), **hyper)
    variables = apply_steps(optimizer, weights, grad_steps, NAMES)
    keras_optimizer = keras.optimizers.Muon(
        learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.7), **hyper)
    keras_variables = [keras.Variable(w, name=name) for (name, _), w in zip(VARIABLES, weights)]
    for grads in grad_steps:
        keras_optimizer.apply_gradients(zip(grads, keras_variables))
    for variable, keras_variable in zip(variables, keras_variables):
        np.testing.assert_allclose(variable.numpy(), np.asarray(keras_variable), rtol=1e-5,
                                   atol=1e-5, err_msg=variable.name)
    keras_slots = [v for v in keras_optimizer.variables[1:] if v.name != "learning_rate"]
    assert [v.name for v in optimizer.variables[1:]] == [v.name for v in keras_slots]
    for slot, keras_slot in zip(optimizer.variables[1:], keras_slots):
        np.testing.assert_allclose(slot.numpy(), np.asarray(keras_slot), rtol=1e-5, atol=1e-5)


def test_slots_in_keras_order():
    variables = [nk.Variable(np.ones(shape), name=name) for name, shape in VARIABLES]
    optimizer = optimizers.Muon(exclude_layers=["skip"])
    optimizer.build(variables)
    assert [v.name for v in optimizer.variables] == [
        "iteration", "kernel_momentum", "tall_momentum", "bias_momentum", "bias_velocity",
        "conv_momentum", "conv_velocity", "embeddings_momentum", "embeddings_velocity",
        "skip_me_momentum", "skip_me_velocity"]


def test_config_round_trip_and_lookup():
    optimizer = optimizers.Muon(learning_rate=schedules.CosineDecay(0.1, 100),
                                exclude_layers=["head"], exclude_embeddings=False,
                                adam_lr_ratio=0.1, ns_steps=4, nesterov=False, rms_rate=None,
                                weight_decay=None, global_clipnorm=1.0, name="my_muon")
    config = optimizer.get_config()
    assert config["name"] == "my_muon" and config["exclude_layers"] == ["head"]
    assert optimizers.Muon.from_config(config).get_config() == config
    revived = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(revived) is optimizers.Muon and revived.get_config() == config
    assert type(optimizers.get("muon")) is optimizers.Muon
    assert type(optimizers.get("Muon")) is optimizers.Muon
    assert re.fullmatch(r"muon(_\d+)?", optimizers.Muon().name)
    assert optimizers.Muon().weight_decay == 0.004


def test_keras_config_loads():
    keras = pytest.importorskip("keras")
    config = keras.optimizers.Muon(learning_rate=0.01, exclude_layers=["head"]).get_config()
    config["learning_rate"] = float(config["learning_rate"])
    assert optimizers.Muon.from_config(config).get_config() == config


@pytest.mark.parametrize("bad", [dict(momentum=1.5), dict(ns_steps=-1), dict(ns_steps=2.5),
                                 dict(adam_beta_1=1.0), dict(adam_beta_2=-0.1),
                                 dict(rms_rate=0.0), dict(exclude_layers=[3]),
                                 dict(adam_weight_decay="x"), dict(weight_decay="x")], ids=str)
def test_bad_arguments_name_the_optimizer_and_argument(bad):
    with pytest.raises(ValueError, match=f"Muon.*{list(bad)[0]}"):
        optimizers.Muon(**bad)


def test_fit_reduces_the_loss():
    assert_fit_reduces_the_loss(optimizers.Muon(learning_rate=0.01))
