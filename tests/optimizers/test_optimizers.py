"""Optimizers and learning-rate schedules against plain-numpy references of Keras 3's update
rules (written out here, step by step, independently of the kernels), Keras's own published
"golden" numbers, and the optimizer contract (iterations, slots, config, `get`)."""
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import optimizers
from nbkeras.constraints import NonNeg
from nbkeras.optimizers import schedules

rng = np.random.default_rng()   # fresh inputs every run; a failure prints the arrays


# ---- reference update rules: one step on float64 arrays; `state` holds the slots ----------

def sgd_reference(w, g, state, t, lr, momentum=0.0, nesterov=False):
    if momentum == 0:
        return w - lr * g
    velocity = momentum * state.get("velocity", 0.0) - lr * g
    state["velocity"] = velocity
    if nesterov:
        return w + momentum * velocity - lr * g
    return w + velocity


def adam_reference(w, g, state, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    m = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
    v = beta_2 * state.get("v", 0.0) + (1 - beta_2) * g ** 2
    state["m"], state["v"] = m, v
    if amsgrad:
        v = np.maximum(state.get("v_max", 0.0), v)
        state["v_max"] = v
    # Keras puts the bias correction in the step size ("epsilon hat").
    step_size = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    return w - step_size * m / (np.sqrt(v) + epsilon)


def rmsprop_reference(w, g, state, t, lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    mean_square = rho * state.get("mean_square", 0.0) + (1 - rho) * g ** 2
    state["mean_square"] = mean_square
    if centered:
        mean_grad = rho * state.get("mean_grad", 0.0) + (1 - rho) * g
        state["mean_grad"] = mean_grad
        increment = lr * g / np.sqrt(mean_square - mean_grad ** 2 + epsilon)
    else:
        increment = lr * g / np.sqrt(mean_square + epsilon)
    if momentum > 0:
        buffer = momentum * state.get("buffer", 0.0) + increment
        state["buffer"] = buffer
        return w - buffer
    return w - increment


def adagrad_reference(w, g, state, t, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    accumulator = state.get("accumulator", initial_accumulator_value) + g ** 2
    state["accumulator"] = accumulator
    return w - lr * g / np.sqrt(accumulator + epsilon)


def adadelta_reference(w, g, state, t, lr, rho=0.95, epsilon=1e-7):
    mean_sq_grad = rho * state.get("mean_sq_grad", 0.0) + (1 - rho) * g ** 2
    rms_delta = np.sqrt(state.get("mean_sq_delta", 0.0) + epsilon)
    delta = -rms_delta / np.sqrt(mean_sq_grad + epsilon) * g
    state["mean_sq_grad"] = mean_sq_grad
    state["mean_sq_delta"] = rho * state.get("mean_sq_delta", 0.0) + (1 - rho) * delta ** 2
    return w + lr * delta


def adamax_reference(w, g, state, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
    u = np.maximum(beta_2 * state.get("u", 0.0), np.abs(g))
    state["m"], state["u"] = m, u
    return w - lr / (1 - beta_1 ** t) * m / (u + epsilon)


def nadam_reference(w, g, state, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    def mu(step):                      # Dozat's momentum schedule
        return beta_1 * (1 - 0.5 * 0.96 ** step)

    product_t = np.prod([mu(s) for s in range(1, t + 1)])
    product_next = product_t * mu(t + 1)
    m = beta_1 * state.get("m", 0.0) + (1 - beta_1) * g
    v = beta_2 * state.get("v", 0.0) + (1 - beta_2) * g ** 2
    state["m"], state["v"] = m, v
    m_hat = mu(t + 1) * m / (1 - product_next) + (1 - mu(t)) * g / (1 - product_t)
    v_hat = v / (1 - beta_2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon)


def lion_reference(w, g, state, t, lr, beta_1=0.9, beta_2=0.99):
    m = state.get("m", 0.0)
    new_w = w - lr * np.sign(beta_1 * m + (1 - beta_1) * g)
    state["m"] = beta_2 * m + (1 - beta_2) * g
    return new_w


def run_reference(rule, weights, grad_steps, lr, hyper, weight_decay=None, clipnorm=None,
                  clipvalue=None, global_clipnorm=None):
    """Keras's apply loop: clip the gradients, decay each weight by weight_decay * lr, step."""
    weights = [w.astype(np.float64) for w in weights]
    states = [{} for _ in weights]
    for t, grads in enumerate(grad_steps, start=1):
        grads = [g.astype(np.float64) for g in grads]
        if clipnorm:
            grads = [g * clipnorm / np.linalg.norm(g) if np.linalg.norm(g) > clipnorm else g
                     for g in grads]
        if global_clipnorm:
            total = np.sqrt(sum(np.sum(g ** 2) for g in grads))
            if total > global_clipnorm:
                grads = [g * global_clipnorm / total for g in grads]
        if clipvalue:
            grads = [np.clip(g, -clipvalue, clipvalue) for g in grads]
        rate = lr(t - 1) if callable(lr) else lr
        for i, g in enumerate(grads):
            w = weights[i]
            if weight_decay:
                w = w - w * weight_decay * rate
            weights[i] = rule(w, g, states[i], t, rate, **hyper)
    return weights


# (class, reference rule, learning rate, hyperparameters: each option of each optimizer).
# Larger-than-default epsilons make "epsilon hat" versus textbook placements tell apart.
CASES = [
    (optimizers.SGD, sgd_reference, 0.1, {}),
    (optimizers.SGD, sgd_reference, 0.1, dict(momentum=0.9)),
    (optimizers.SGD, sgd_reference, 0.1, dict(momentum=0.7, nesterov=True)),
    (optimizers.Adam, adam_reference, 0.1, {}),
    (optimizers.Adam, adam_reference, 0.1, dict(beta_1=0.8, beta_2=0.9, epsilon=0.1)),
    (optimizers.Adam, adam_reference, 0.1, dict(amsgrad=True, beta_2=0.5)),
    (optimizers.AdamW, adam_reference, 0.1, dict(amsgrad=True, beta_2=0.5)),
    (optimizers.RMSprop, rmsprop_reference, 0.1, {}),
    (optimizers.RMSprop, rmsprop_reference, 0.1, dict(momentum=0.5, rho=0.8, epsilon=0.01)),
    (optimizers.RMSprop, rmsprop_reference, 0.1, dict(centered=True)),
    (optimizers.RMSprop, rmsprop_reference, 0.1, dict(centered=True, momentum=0.3)),
    (optimizers.Adagrad, adagrad_reference, 0.1, {}),
    (optimizers.Adagrad, adagrad_reference, 0.1,
     dict(initial_accumulator_value=0.5, epsilon=0.01)),
    (optimizers.Adadelta, adadelta_reference, 0.5, {}),
    (optimizers.Adadelta, adadelta_reference, 0.5, dict(rho=0.8, epsilon=1e-3)),
    (optimizers.Adamax, adamax_reference, 0.1, {}),
    (optimizers.Adamax, adamax_reference, 0.1, dict(beta_1=0.8, beta_2=0.9, epsilon=0.1)),
    (optimizers.Nadam, nadam_reference, 0.1, {}),
    (optimizers.Nadam, nadam_reference, 0.1, dict(beta_1=0.8, beta_2=0.9, epsilon=0.01)),
    (optimizers.Lion, lion_reference, 0.1, {}),
    (optimizers.Lion, lion_reference, 0.1, dict(beta_1=0.5, beta_2=0.9)),
]
DEFAULT_CASES = {}   # the first (default-hyperparameter) case of each class
for _case in CASES:
    DEFAULT_CASES.setdefault(_case[0], _case)
BASE_OPTIONS = {"none": {}, "weight_decay": dict(weight_decay=0.05),
                "clipnorm": dict(clipnorm=1.0), "clipvalue": dict(clipvalue=0.5),
                "global_clipnorm": dict(global_clipnorm=1.5)}
SHAPES = [(3, 4), (5,)]


def case_id(case):
    cls, _, _, hyper = case
    return cls.__name__ + "".join(f"-{k}={v}" for k, v in hyper.items())


def random_problem(dtype, steps=3, shapes=SHAPES):
    weights = [rng.normal(size=shape).astype(dtype) for shape in shapes]
    grads = [[rng.normal(size=shape).astype(dtype) for shape in shapes] for _ in range(steps)]
    return weights, grads


def run_optimizer(optimizer, weights, grad_steps):
    variables = [nk.Variable(w, name=f"w{i}") for i, w in enumerate(weights)]
    for grads in grad_steps:
        # Gradients as Tensors and as numpy arrays are both accepted.
        optimizer.apply_gradients(zip([nk.Tensor(grads[0])] + grads[1:], variables))
    return variables


def check_against_reference(case, options, dtype=np.float64):
    cls, rule, lr, hyper = case
    weights, grad_steps = random_problem(dtype)
    optimizer = cls(learning_rate=lr, **hyper, **options)
    variables = run_optimizer(optimizer, weights, grad_steps)
    if cls is optimizers.AdamW and "weight_decay" not in options:
        options = dict(options, weight_decay=0.004)   # AdamW's default decay
    expected = run_reference(rule, weights, grad_steps, lr, hyper, **options)
    for variable, w0, ref in zip(variables, weights, expected):
        assert variable.dtype == np.dtype(dtype).name
        if dtype == np.float64:   # compare the updates, not just the values, for sensitivity
            np.testing.assert_allclose(variable.numpy() - w0, ref - w0, rtol=1e-9, atol=1e-14)
        else:
            np.testing.assert_allclose(variable.numpy(), ref, rtol=1e-5, atol=2e-6)
    assert all(v.dtype == np.dtype(dtype).name for v in optimizer.variables[1:])
    assert int(optimizer.iterations) == len(grad_steps)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_option_matches_reference_float64(case):
    check_against_reference(case, {})


@pytest.mark.parametrize("option", list(BASE_OPTIONS), ids=str)
@pytest.mark.parametrize("case", list(DEFAULT_CASES.values()), ids=case_id)
def test_base_options_match_reference(case, option):
    check_against_reference(case, BASE_OPTIONS[option])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_float32_variables_stay_float32_and_match(case):
    check_against_reference(case, dict(weight_decay=0.01), dtype=np.float32)


@pytest.mark.parametrize("cls", [optimizers.Adam, optimizers.RMSprop, optimizers.Lion])
def test_large_variable_uses_parallel_path_and_matches(cls):
    case = DEFAULT_CASES[cls]
    weights, grad_steps = random_problem(np.float64, steps=2, shapes=[(250, 200)])
    variables = run_optimizer(cls(learning_rate=0.1), weights, grad_steps)
    expected = run_reference(case[1], weights, grad_steps, 0.1, {})
    np.testing.assert_allclose(variables[0].numpy() - weights[0], expected[0] - weights[0],
                               rtol=1e-9, atol=1e-14)


def test_float16_variables_are_updated_and_keep_their_dtype():
    variable = nk.Variable(np.ones(4, np.float16))
    optimizers.Adam(learning_rate=0.1).apply([np.ones(4, np.float16)], [variable])
    assert variable.dtype == "float16"
    np.testing.assert_allclose(variable.numpy(), 0.9, rtol=1e-3)


def test_learning_rate_schedule_is_evaluated_at_iterations():
    schedule = schedules.ExponentialDecay(0.5, decay_steps=1, decay_rate=0.5)
    weights, grad_steps = random_problem(np.float64)
    optimizer = optimizers.SGD(learning_rate=schedule, momentum=0.5)
    assert optimizer.learning_rate == 0.5
    variables = run_optimizer(optimizer, weights, grad_steps)
    expected = run_reference(sgd_reference, weights, grad_steps, schedule, dict(momentum=0.5))
    for variable, ref in zip(variables, expected):
        np.testing.assert_allclose(variable.numpy(), ref, rtol=1e-12)
    assert optimizer.learning_rate == pytest.approx(0.5 * 0.5 ** 3)


# ---- Keras 3's own numbers (keras/src/optimizers/*_test.py) --------------------------------

GOLDEN_SINGLE_STEP = {   # learning_rate=0.5, w=[1, 2, 3, 4], g=[1, 6, 7, 2]
    optimizers.SGD: [0.5, -1.0, -0.5, 3.0],
    optimizers.Adam: [0.5, 1.5, 2.5, 3.5],
    optimizers.RMSprop: [-0.5811, 0.4189, 1.4189, 2.4189],
    optimizers.Adagrad: [0.5233, 1.5007, 2.5005, 3.5061],
    optimizers.Adadelta: [0.9993, 1.9993, 2.9993, 3.9993],
    optimizers.Adamax: [0.5, 1.5, 2.5, 3.5],
    optimizers.Nadam: [0.4686, 1.4686, 2.4686, 3.4686],
    optimizers.Lion: [0.5, 1.5, 2.5, 3.5],
}


@pytest.mark.parametrize("cls", list(GOLDEN_SINGLE_STEP), ids=lambda c: c.__name__)
def test_keras_single_step_values(cls):
    variable = nk.Variable(np.array([1.0, 2.0, 3.0, 4.0]))
    cls(learning_rate=0.5).apply_gradients([(np.array([1.0, 6.0, 7.0, 2.0]), variable)])
    np.testing.assert_allclose(variable.numpy(), GOLDEN_SINGLE_STEP[cls], atol=1e-4)


GOLDEN_SEQUENCES = [
    (optimizers.Adam(amsgrad=True), [0.999, 0.9982, 0.9974, 0.9965, 0.9955]),
    (optimizers.RMSprop(centered=True), [0.9967, 0.9933, 0.9908, 0.9885, 0.9864]),
    (optimizers.Adadelta(learning_rate=1.0, rho=0.8, epsilon=1e-6),
     [0.9978, 0.9947, 0.9915, 0.9882, 0.9849]),
    (optimizers.Lion(), [0.999, 0.998, 0.997, 0.996, 0.995]),
    (optimizers.SGD(nesterov=True), np.array([
        [0.9999] * 10, np.linspace(0.9989, 0.9899, 10), np.linspace(0.9979, 0.9799, 10),
        np.linspace(0.9969, 0.9699, 10), np.linspace(0.9959, 0.9599, 10)])),
    (optimizers.Adamax(learning_rate=0.2, beta_1=0.85, beta_2=0.95, epsilon=1e-6), np.array([
        [0.8] * 10,
        [0.6827, 0.6873, 0.6888, 0.6896, 0.6901, 0.6904, 0.6906, 0.6908, 0.6909, 0.691],
        [0.5333, 0.5407, 0.5431, 0.5444, 0.5451, 0.5456, 0.546, 0.5462, 0.5464, 0.5466],
        [0.368, 0.3773, 0.3804, 0.382, 0.3829, 0.3835, 0.384, 0.3843, 0.3846, 0.3848],
        [0.1933, 0.204, 0.2076, 0.2094, 0.2105, 0.2112, 0.2117, 0.2121, 0.2124, 0.2126]])),
    (optimizers.Adagrad(learning_rate=0.2, initial_accumulator_value=0.3, epsilon=1e-6),
     np.array([
         [0.9963] * 10,
         [0.9604, 0.9278, 0.9003, 0.8784, 0.8615, 0.8487, 0.8388, 0.8313, 0.8255, 0.8209],
         [0.9251, 0.8629, 0.8137, 0.7768, 0.7497, 0.7298, 0.7151, 0.704, 0.6956, 0.6891],
         [0.8903, 0.8012, 0.7342, 0.6862, 0.6521, 0.6277, 0.6099, 0.5967, 0.5867, 0.579],
         [0.856, 0.7422, 0.6604, 0.6037, 0.5644, 0.5367, 0.5168, 0.5021, 0.491, 0.4825]])),
    (optimizers.Nadam(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5), np.array([
        [0.4281] * 10,
        [-0.1738, -0.1731, -0.1726, -0.1723, -0.1721, -0.172, -0.1719, -0.1718, -0.1718,
         -0.1717],
        [-0.7115, -0.7103, -0.7096, -0.7092, -0.709, -0.7088, -0.7086, -0.7085, -0.7085,
         -0.7084],
        [-1.2335, -1.2322, -1.2313, -1.2309, -1.2306, -1.2304, -1.2302, -1.2301, -1.23,
         -1.2299],
        [-1.7492, -1.7478, -1.7469, -1.7464, -1.7461, -1.7459, -1.7457, -1.7456, -1.7455,
         -1.7454]])),
]


@pytest.mark.parametrize("optimizer, golden", GOLDEN_SEQUENCES,
                         ids=lambda x: type(x).__name__ if isinstance(x, optimizers.Optimizer)
                         else "")
def test_keras_golden_sequences(optimizer, golden):
    x = nk.Variable(np.ones(10))
    optimizer.apply_gradients([(np.full(10, 0.01), x)])
    golden = np.broadcast_to(np.asarray(golden, dtype=float).reshape(5, -1), (5, 10))
    for row in golden:
        np.testing.assert_allclose(x.numpy(), row, rtol=5e-4, atol=5e-4)
        optimizer.apply_gradients([(np.arange(1, 11) / 10, x)])


@pytest.mark.parametrize("cls", list(DEFAULT_CASES), ids=lambda c: c.__name__)
def test_keras_weight_decay_and_exclusions(cls):
    zero = np.zeros(())
    var1, var2, var3 = (nk.Variable(2.0), nk.Variable(2.0, name="exclude"), nk.Variable(2.0))
    cls(learning_rate=1.0, weight_decay=0.004).apply_gradients([(zero, var1)])
    second = cls(learning_rate=1.0, weight_decay=0.004)
    second.exclude_from_weight_decay(var_names=["exclude"])
    second.apply_gradients([(zero, var1), (zero, var2)])
    third = cls(learning_rate=1.0, weight_decay=0.004)
    third.exclude_from_weight_decay(var_list=[var3])
    third.apply_gradients([(zero, var1), (zero, var3)])
    assert float(var1) == pytest.approx(1.9760959, abs=1e-6)
    assert float(var2) == 2.0 and float(var3) == 2.0
    with pytest.raises(ValueError, match="before the optimizer is built"):
        third.exclude_from_weight_decay(var_names=["bias"])


def test_keras_rmsprop_docstring_example():
    var1 = nk.Variable(10.0)
    optimizers.RMSprop(learning_rate=0.1).apply([var1.numpy()], [var1])   # d(var²/2) = var
    assert float(var1) == pytest.approx(9.683772, abs=1e-6)


# ---- the optimizer contract ----------------------------------------------------------------

def test_iterations_count_apply_calls_and_none_gradients_are_skipped():
    a, b = nk.Variable(np.ones(3), name="a"), nk.Variable(np.ones(2), name="b")
    optimizer = optimizers.Nadam(learning_rate=0.1)
    iterations = optimizer.iterations
    assert isinstance(iterations, nk.Variable) and not iterations.trainable
    assert iterations.dtype == "int64" and int(iterations) == 0
    assert optimizer.apply_gradients([(np.ones(3), a), (np.ones(2), b)]) is iterations
    with pytest.warns(UserWarning, match="Gradients do not exist for variables"):
        optimizer.apply_gradients([(None, a), (np.ones(2), b)])
    optimizer.apply([np.ones(3), np.ones(2)])          # the built variables
    assert int(optimizer.iterations) == 3
    b_after_three = b.numpy()
    a_after = a.numpy()
    with pytest.warns(UserWarning):
        optimizer.apply([np.ones(3), None])
    np.testing.assert_array_equal(b.numpy(), b_after_three)
    assert not np.array_equal(a.numpy(), a_after)
    with pytest.raises(ValueError, match="No gradients provided"):
        optimizer.apply([None, None])
    assert int(optimizer.iterations) == 4
    with pytest.raises(ValueError, match="Unknown variable"):
        optimizer.apply([np.ones(3)], [nk.Variable(np.ones(3))])
    with pytest.raises(ValueError, match="shape"):
        optimizer.apply([np.ones(4)], [a])


def test_constraint_is_applied_after_the_step():
    w0, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    variable = nk.Variable(w0, constraint=NonNeg())
    optimizers.SGD(learning_rate=0.5, weight_decay=0.1).apply([g], [variable])
    expected = w0 - w0 * 0.1 * 0.5 - 0.5 * g
    np.testing.assert_allclose(variable.numpy(), np.maximum(expected, 0), rtol=1e-12)


def test_variables_order_names_and_state_restore():
    a, b = nk.Variable(np.ones(3), name="a"), nk.Variable(np.ones(2), name="b")
    optimizer = optimizers.Adam(amsgrad=True)
    optimizer.build([a, b])
    assert [v.name for v in optimizer.variables] == [
        "iteration", "a_momentum", "a_velocity", "b_momentum", "b_velocity",
        "a_velocity_hat", "b_velocity_hat"]
    assert not any(v.trainable for v in optimizer.variables)
    rms = optimizers.RMSprop(momentum=0.5, centered=True)
    rms.build([a, b])
    assert [v.name for v in rms.variables][1:] == [
        "a_velocity", "b_velocity", "a_momentum", "b_momentum", "a_average_gradient",
        "b_average_gradient"]
    assert len(optimizers.SGD().variables) == 1
    sgd = optimizers.SGD(momentum=0.0)
    sgd.build([a])
    assert len(sgd.variables) == 1
    adagrad = optimizers.Adagrad(initial_accumulator_value=0.25)
    adagrad.build([a])
    np.testing.assert_array_equal(adagrad.variables[1].numpy(), 0.25)


@pytest.mark.parametrize("cls", list(DEFAULT_CASES), ids=lambda c: c.__name__)
def test_restored_state_continues_identically(cls):
    weights, grad_steps = random_problem(np.float64, steps=4)
    original = cls(learning_rate=0.1)
    variables = run_optimizer(original, weights, grad_steps[:2])
    copies = [nk.Variable(v.numpy(), name=v.name) for v in variables]
    restored = cls(learning_rate=0.1)
    restored.build(copies)
    assert len(restored.variables) == len(original.variables)
    for target, source in zip(restored.variables, original.variables):
        target.assign(source.numpy())
    for grads in grad_steps[2:]:
        original.apply(grads, variables)
        restored.apply(grads, copies)
    for v, c in zip(variables, copies):
        np.testing.assert_array_equal(v.numpy(), c.numpy())


def test_learning_rate_property_and_setter():
    optimizer = optimizers.SGD(learning_rate=0.5)
    assert optimizer.learning_rate == 0.5
    optimizer.learning_rate = np.float32(0.25)     # as ReduceLROnPlateau writes it
    assert optimizer.learning_rate == 0.25 and isinstance(optimizer.learning_rate, float)
    variable = nk.Variable(np.ones(2))
    optimizer.apply([np.ones(2)], [variable])
    np.testing.assert_allclose(variable.numpy(), 0.75)
    assert optimizer.get_config()["learning_rate"] == 0.25
    scheduled = optimizers.Adam(learning_rate=schedules.InverseTimeDecay(0.1, 1, 1.0))
    with pytest.raises(TypeError, match="not settable"):
        scheduled.learning_rate = 0.01
    scheduled.learning_rate = schedules.InverseTimeDecay(0.2, 1, 1.0)   # a schedule is fine
    assert scheduled.learning_rate == pytest.approx(0.2)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate="fast")


def test_argument_validation():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipvalue=1.0, clipnorm=1.0)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(beta3=0.5)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.Adam(use_ema=True, ema_momentum=1.5)
    for bad in (dict(rho=1.1), dict(momentum=-0.1), dict(epsilon=0)):
        with pytest.raises(ValueError, match=list(bad)[0]):
            optimizers.RMSprop(**bad)


def test_loss_scale_factor_unscales_gradients():
    w0, g = rng.normal(size=5), rng.normal(size=5)
    scaled, plain = nk.Variable(w0), nk.Variable(w0)
    optimizers.Adam(learning_rate=0.1, loss_scale_factor=8.0).apply([8.0 * g], [scaled])
    optimizers.Adam(learning_rate=0.1).apply([g], [plain])
    np.testing.assert_allclose(scaled.numpy(), plain.numpy(), rtol=1e-12)


def test_global_clipnorm_of_non_finite_gradients_gives_nan_updates():
    a, b = nk.Variable(np.ones(2)), nk.Variable(np.ones(2))
    with np.errstate(invalid="ignore"):
        optimizers.SGD(global_clipnorm=1.0).apply([np.array([np.inf, 0.0]), np.ones(2)], [a, b])
    assert np.isnan(b.numpy()).all()


# ---- config and lookup ---------------------------------------------------------------------

CONFIGS = [
    optimizers.SGD(learning_rate=0.5, momentum=0.06, nesterov=True, weight_decay=0.004),
    optimizers.Adam(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5, amsgrad=True),
    optimizers.AdamW(learning_rate=0.5, weight_decay=0.01, clipnorm=2.0),
    optimizers.RMSprop(learning_rate=0.5, rho=0.8, momentum=0.05, epsilon=1e-6, centered=True),
    optimizers.Adagrad(learning_rate=0.5, initial_accumulator_value=0.2, epsilon=1e-5),
    optimizers.Adadelta(learning_rate=0.5, rho=0.9, epsilon=1e-5, global_clipnorm=3.0),
    optimizers.Adamax(learning_rate=0.5, beta_1=0.8, beta_2=0.95, epsilon=1e-5),
    optimizers.Nadam(learning_rate=0.5, beta_1=0.5, beta_2=0.67, epsilon=1e-5, clipvalue=1.0),
    optimizers.Lion(learning_rate=0.5, beta_1=0.5, beta_2=0.67, name="my_lion"),
]


@pytest.mark.parametrize("optimizer", CONFIGS, ids=lambda o: type(o).__name__)
def test_config_round_trip(optimizer):
    config = optimizer.get_config()
    keras_base_keys = {"name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm",
                       "clipvalue", "use_ema", "ema_momentum", "ema_overwrite_frequency",
                       "loss_scale_factor", "gradient_accumulation_steps"}
    assert keras_base_keys <= set(config)
    clone = type(optimizer).from_config(config)
    assert clone.get_config() == config
    revived = optimizers.get(optimizers.serialize(optimizer))
    assert type(revived) is type(optimizer) and revived.get_config() == config


def test_config_round_trip_with_schedule():
    schedule = schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2, warmup_steps=10)
    optimizer = optimizers.Adam(learning_rate=schedule)
    config = optimizer.get_config()
    assert config["learning_rate"] == {"class_name": "CosineDecay",
                                       "config": schedule.get_config()}
    clone = optimizers.Adam.from_config(config)
    assert isinstance(clone._learning_rate, schedules.CosineDecay)
    assert clone.get_config() == config
    assert config["learning_rate"]["class_name"] == "CosineDecay"   # input not mutated
    for step in (0, 5, 50, 500):
        clone.iterations.assign(step)
        assert clone.learning_rate == pytest.approx(schedule(step), rel=1e-12)


def test_get_contract():
    names = {"sgd": optimizers.SGD, "adam": optimizers.Adam, "adamw": optimizers.AdamW,
             "rmsprop": optimizers.RMSprop, "adagrad": optimizers.Adagrad,
             "adadelta": optimizers.Adadelta, "adamax": optimizers.Adamax,
             "nadam": optimizers.Nadam, "lion": optimizers.Lion}
    for name, cls in names.items():
        assert type(optimizers.get(name)) is cls
        assert type(optimizers.get(cls.__name__)) is cls
        assert type(optimizers.get(cls)) is cls
    assert optimizers.get("sgd").learning_rate == 0.01
    assert optimizers.get("adam").learning_rate == 0.001
    assert optimizers.get(None) is None
    instance = optimizers.Adam()
    assert optimizers.get(instance) is instance
    from_dict = optimizers.get({"class_name": "RMSprop", "config": {"rho": 0.5}})
    assert isinstance(from_dict, optimizers.RMSprop) and from_dict.rho == 0.5
    assert isinstance(optimizers.get({"class_name": "Adam"}), optimizers.Adam)
    with pytest.raises(ValueError, match="Unknown optimizer"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Could not interpret"):
        optimizers.get(3)
    keras_config = {"class_name": "Adam", "config": {
        "name": "adam", "learning_rate": 0.001, "weight_decay": None, "clipnorm": None,
        "global_clipnorm": None, "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
        "ema_overwrite_frequency": None, "loss_scale_factor": None,
        "gradient_accumulation_steps": None, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": False}}
    assert optimizers.get(keras_config).get_config() == keras_config["config"]


# ---- schedules against their formulas ------------------------------------------------------

steps = st.integers(0, 20_000)
rates = st.floats(1e-4, 1.0)
decay_steps = st.integers(1, 5_000)


@given(step=steps, lr0=rates, n=decay_steps, rate=st.floats(0.05, 0.99), staircase=st.booleans())
def test_exponential_decay(step, lr0, n, rate, staircase):
    exponent = step // n if staircase else step / n
    expected = lr0 * rate ** exponent
    assert schedules.ExponentialDecay(lr0, n, rate, staircase)(step) == pytest.approx(
        expected, rel=1e-12, abs=1e-300)


@given(step=steps, lr0=rates, n=decay_steps, rate=st.floats(0.0, 5.0), staircase=st.booleans())
def test_inverse_time_decay(step, lr0, n, rate, staircase):
    p = math.floor(step / n) if staircase else step / n
    expected = lr0 / (1 + rate * p)
    assert schedules.InverseTimeDecay(lr0, n, rate, staircase)(step) == pytest.approx(
        expected, rel=1e-12)


@given(step=steps, lr0=rates, end=st.floats(0.0, 1e-3), n=decay_steps,
       power=st.floats(0.1, 3.0), cycle=st.booleans())
def test_polynomial_decay(step, lr0, end, n, power, cycle):
    if cycle:
        horizon = n * max(1, math.ceil(step / n))
        fraction = step / horizon
    else:
        fraction = min(step, n) / n
    expected = (lr0 - end) * (1 - fraction) ** power + end
    schedule = schedules.PolynomialDecay(lr0, n, end, power, cycle)
    assert schedule(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@given(step=steps, lr0=rates, n=decay_steps, alpha=st.floats(0.0, 0.5),
       warmup=st.one_of(st.none(), st.tuples(rates, st.integers(0, 3_000))))
def test_cosine_decay(step, lr0, n, alpha, warmup):
    def decayed(s, peak):
        s = min(s, n)
        return peak * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / n)) + alpha)

    if warmup is None:
        expected = decayed(step, lr0)
        schedule = schedules.CosineDecay(lr0, n, alpha)
    else:
        target, warmup_steps = warmup
        if step < warmup_steps:     # linear ramp from lr0 to target
            expected = lr0 + (target - lr0) * step / warmup_steps
        else:
            expected = decayed(step - warmup_steps, target)
        schedule = schedules.CosineDecay(lr0, n, alpha, warmup_target=target,
                                         warmup_steps=warmup_steps)
    assert schedule(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@given(step=steps, data=st.data())
def test_piecewise_constant_decay(step, data):
    boundaries = sorted(data.draw(st.sets(st.integers(0, 20_000), min_size=1, max_size=5)))
    values = data.draw(st.lists(rates, min_size=len(boundaries) + 1,
                                max_size=len(boundaries) + 1))
    expected = values[-1]
    for i, boundary in enumerate(boundaries):   # values[i] for b[i-1] < step <= b[i]
        if step <= boundary:
            expected = values[i]
            break
    assert schedules.PiecewiseConstantDecay(boundaries, values)(step) == expected


def test_schedule_known_values_and_validation():
    piecewise = schedules.PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1])
    assert [piecewise(s) for s in (0, 100000, 100001, 110000, 110001)] == [
        1.0, 1.0, 0.5, 0.5, 0.1]
    assert schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)(19) == pytest.approx(0.05)
    assert schedules.CosineDecay(0.1, 10)(5) == pytest.approx(0.05)
    assert schedules.PolynomialDecay(0.1, 10, 0.0)(20) == 0.0
    assert schedules.ExponentialDecay(0.1, 10, 0.5)(nk.Variable(10, dtype="int64")) == \
        pytest.approx(0.05)
    for cls in (schedules.ExponentialDecay, schedules.InverseTimeDecay):
        with pytest.raises(ValueError, match="decay_steps"):
            cls(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.CosineDecay(0.1, 0)
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.PolynomialDecay(0.1, -1)
    with pytest.raises(ValueError, match="length of boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, 100, 0.9, staircase=True),
    schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001]),
    schedules.InverseTimeDecay(0.1, 10, 0.5),
    schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.3, warmup_steps=5),
    schedules.PolynomialDecay(0.1, 100, 0.01, power=2.0, cycle=True),
], ids=lambda s: type(s).__name__)
def test_schedule_config_round_trip(schedule):
    config = schedule.get_config()
    assert "name" in config
    clone = type(schedule).from_config(config)
    revived = schedules.deserialize(schedules.serialize(schedule))
    for other in (clone, revived):
        assert other.get_config() == config
        assert [other(s) for s in (0, 7, 15, 150)] == [schedule(s) for s in (0, 7, 15, 150)]


def test_custom_schedule_subclass():
    class Halving(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / (int(step) + 1)

    optimizer = optimizers.SGD(learning_rate=Halving())
    variable = nk.Variable(np.zeros(1))
    for _ in range(3):
        optimizer.apply([np.ones(1)], [variable])
    np.testing.assert_allclose(variable.numpy(), -(1 + 1 / 2 + 1 / 3))
    with pytest.raises(TypeError, match="get_config"):
        Halving().get_config()


@pytest.mark.parametrize("cls_name, prefix", [
    ("Adam", "adam"), ("AdamW", "adam_w"), ("SGD", "sgd"), ("RMSprop", "rm_sprop"),
    ("ScheduleFreeAdamW", "schedule_free_adam_w"), ("Lamb", "lamb")])
def test_default_names_are_keras_unique_snake_case_names(cls_name, prefix):
    cls = getattr(nk.optimizers, cls_name)
    first, second = cls().name, cls().name
    assert re.fullmatch(rf"{prefix}(_\d+)?", first) and re.fullmatch(rf"{prefix}_\d+", second)
    assert first != second and cls(name="mine").name == "mine"
