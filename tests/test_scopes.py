"""nk.StatelessScope, nk.SymbolicScope and Layer.stateless_call, as Keras 3: Variables read
a scope's values, assignments are recorded in the scope, losses are collected, and nothing a
model holds changes."""
import threading

import numpy as np
import pytest

import nbkeras as nk
from nbkeras import layers
from nbkeras.core.stateless_scope import get_stateless_scope, in_stateless_scope
from nbkeras.core.symbolic_scope import in_symbolic_scope


def dense_bn_model(seed):
    """Dense(3, tanh, l2 activity, l1 kernel) -> BatchNormalization, float64, random weights."""
    model = nk.Sequential([
        layers.Input((4,)),
        layers.Dense(3, activation="tanh", activity_regularizer=nk.regularizers.L2(0.1),
                     kernel_regularizer=nk.regularizers.L1(0.01), dtype="float64"),
        layers.BatchNormalization(momentum=0.9, epsilon=1e-3, dtype="float64")])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape) for w in model.get_weights()[:4]]
                      + [rng.normal(size=3), rng.uniform(0.5, 2, size=3)])
    return model


def reference(weights, x, training):
    """The model above in numpy: (outputs, moving mean, moving variance, losses)."""
    kernel, bias, gamma, beta, mean, var = weights
    h = np.tanh(x @ kernel + bias)
    if training:
        batch_mean, batch_var = h.mean(axis=0), h.var(axis=0)
        y = gamma * (h - batch_mean) / np.sqrt(batch_var + 1e-3) + beta
        mean, var = 0.9 * mean + 0.1 * batch_mean, 0.9 * var + 0.1 * batch_var
    else:
        y = gamma * (h - mean) / np.sqrt(var + 1e-3) + beta
    losses = [0.1 * np.sum(h * h) / len(x), 0.01 * np.abs(kernel).sum()]
    return y, mean, var, losses


@pytest.mark.parametrize("training", [False, True])
def test_stateless_call_uses_the_given_weights_and_changes_nothing(training):
    rng = np.random.default_rng(1)
    model = dense_bn_model(0)
    x = rng.normal(size=(6, 4))
    model(x)                                     # the last call's activity loss stays
    before = model.get_weights()
    losses_before = [float(loss) for loss in model.losses]
    trainable = [rng.normal(size=v.shape) for v in model.trainable_variables]
    non_trainable = [rng.normal(size=3), rng.uniform(0.5, 2, size=3)]
    outputs, new_non_trainable, losses = model.stateless_call(
        trainable, non_trainable, x, training=training, return_losses=True)
    y, mean, var, expected_losses = reference(trainable + non_trainable, x, training)
    np.testing.assert_allclose(np.asarray(outputs), y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(new_non_trainable[0]), mean, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(new_non_trainable[1]), var, rtol=1e-12)
    np.testing.assert_allclose([float(loss) for loss in losses], expected_losses, rtol=1e-10)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert [float(loss) for loss in model.losses] == losses_before
    assert not in_stateless_scope()
    outputs_only = model.stateless_call(trainable, non_trainable, x, training=training)
    assert len(outputs_only) == 2
    np.testing.assert_array_equal(np.asarray(outputs_only[0]), np.asarray(outputs))


def test_stateless_call_gradients_are_taken_at_the_given_weights():
    """A tape around stateless_call differentiates at the substituted values: the same
    gradients as after assigning them."""
    rng = np.random.default_rng(2)
    model, twin = dense_bn_model(3), dense_bn_model(3)
    x = rng.normal(size=(5, 4))
    trainable = [rng.normal(size=v.shape) for v in model.trainable_variables]
    non_trainable = [v.numpy() for v in model.non_trainable_variables]
    with nk.GradientTape() as tape:
        outputs, _ = model.stateless_call(trainable, non_trainable, x, training=True)
        loss = nk.ops.sum(outputs * outputs)
    grads = tape.gradient(loss, model.trainable_variables)
    for variable, value in zip(twin.trainable_variables, trainable):
        variable.assign(value)
    with nk.GradientTape() as tape:
        loss = nk.ops.sum(twin(x, training=True) ** 2)
    expected = tape.gradient(loss, twin.trainable_variables)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-10, atol=1e-12)


def test_stateless_call_errors():
    layer = layers.Dense(2)
    with pytest.raises(ValueError, match="must be built"):
        layer.stateless_call([], [], np.ones((1, 3)))
    layer.build((None, 3))
    with pytest.raises(ValueError, match="`trainable_variables` must be a list.*length 1, "
                                         "but expected 2"):
        layer.stateless_call([np.ones((3, 2))], [], np.ones((1, 3)))
    with pytest.raises(ValueError, match="`non_trainable_variables`.*length 1, but expected 0"):
        layer.stateless_call([np.ones((3, 2)), np.ones(2)], [np.ones(2)], np.ones((1, 3)))


def test_assignments_are_recorded_and_reads_follow_the_scope(device):   # cpu, cuda
    mapped = nk.Variable(np.array([1.0, 2.0]), dtype="float64")
    unmapped = nk.Variable(np.array([5.0]), dtype="float64")
    values = np.array([10.0, 20.0])
    with nk.StatelessScope(state_mapping=[(mapped, values)]) as scope:
        assert get_stateless_scope() is scope
        np.testing.assert_array_equal(mapped.numpy(), values)
        np.testing.assert_array_equal(np.asarray(mapped + 1), values + 1)
        np.testing.assert_array_equal(unmapped.numpy(), [5.0])   # its own value
        mapped.assign_add(np.array([1.0, 1.0]))
        unmapped.assign(np.array([7.0]))
        np.testing.assert_array_equal(mapped.numpy(), [11.0, 21.0])
        np.testing.assert_array_equal(unmapped.numpy(), [7.0])
    np.testing.assert_array_equal(mapped.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(unmapped.numpy(), [5.0])
    np.testing.assert_array_equal(np.asarray(scope.get_current_value(mapped)), [11.0, 21.0])
    np.testing.assert_array_equal(np.asarray(scope.get_current_value(unmapped)), [7.0])
    np.testing.assert_array_equal(values, [10.0, 20.0])           # the caller's array too
    assert scope.get_current_value(mapped).device == mapped.device
    assert scope.get_current_value(nk.Variable(np.zeros(1))) is None
    assert scope.get_current_value(mapped).dtype == "float64"


def test_values_are_cast_and_variables_accepted_as_values():
    variable = nk.Variable(np.zeros(3, np.float32))
    source = nk.Variable(np.arange(3.0), dtype="float64")
    with nk.StatelessScope([(variable, source)]) as scope:
        assert variable.numpy().dtype == np.float32
        np.testing.assert_array_equal(variable.numpy(), [0.0, 1.0, 2.0])
    assert scope.get_current_value(variable).dtype == "float32"


def test_nested_scopes_the_innermost_counts():
    variable = nk.Variable(np.zeros(2))
    with nk.StatelessScope([(variable, np.ones(2))]) as outer:
        with nk.StatelessScope([(variable, np.full(2, 2.0))]) as inner:
            variable.assign(np.full(2, 3.0))
            np.testing.assert_array_equal(variable.numpy(), [3.0, 3.0])
        assert get_stateless_scope() is outer
        np.testing.assert_array_equal(variable.numpy(), [1.0, 1.0])
    assert get_stateless_scope() is None
    np.testing.assert_array_equal(np.asarray(inner.get_current_value(variable)), [3.0, 3.0])
    np.testing.assert_array_equal(np.asarray(outer.get_current_value(variable)), [1.0, 1.0])
    np.testing.assert_array_equal(variable.numpy(), [0.0, 0.0])


def test_losses_are_collected_only_when_asked():
    class AddsLoss(layers.Layer):
        def call(self, x):
            self.add_loss(nk.ops.sum(x))
            return x

    layer = AddsLoss()
    x = np.array([[1.0, 2.0]])
    with nk.StatelessScope() as scope:
        layer(x)
        assert layer.losses == []
    assert scope.losses == [] and layer.losses == []
    with nk.StatelessScope(collect_losses=True) as scope:
        layer(x)
        assert [float(loss) for loss in layer.losses] == [3.0]
    assert [float(loss) for loss in scope.losses] == [3.0]
    assert layer.losses == []                     # the layer itself kept nothing
    assert scope.collect_losses and scope.initialize_variables


def test_model_output_with_substituted_weights_equals_assigned_weights(device):
    """The way Keras users use StatelessScope: outputs under other weights, model untouched."""
    rng = np.random.default_rng(4)
    model = nk.Sequential([layers.Input((3,)), layers.Dense(5, activation="relu"),
                           layers.Dense(2)])
    x = rng.normal(size=(7, 3)).astype(np.float32)
    original = model.get_weights()
    substitute = [rng.normal(size=w.shape).astype(np.float32) for w in original]
    with nk.StatelessScope(list(zip(model.weights, substitute))):
        inside = model.predict(x, verbose=0)
    kernel1, bias1, kernel2, bias2 = substitute
    expected = np.maximum(x @ kernel1 + bias1, 0) @ kernel2 + bias2
    np.testing.assert_allclose(inside, expected, rtol=1e-5, atol=1e-6)
    for a, b in zip(model.get_weights(), original):
        np.testing.assert_array_equal(a, b)


def test_bad_mappings():
    variable = nk.Variable(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must be Variable instances"):
        nk.StatelessScope([(np.zeros(2), np.zeros(2))])
    with pytest.raises(ValueError, match=r"shape that matches.*shape \(3, 2\)"):
        nk.StatelessScope([(variable, np.zeros((3, 2)))])
    with nk.StatelessScope():
        with pytest.raises(ValueError, match="assign expects shape"):
            variable.assign(np.zeros(3))


def test_scopes_are_per_thread():
    variable = nk.Variable(np.zeros(1))
    seen = []
    with nk.StatelessScope([(variable, np.ones(1))]):
        worker = threading.Thread(target=lambda: seen.append(variable.numpy().copy()))
        worker.start()
        worker.join()
    np.testing.assert_array_equal(seen[0], [0.0])


def test_symbolic_scope_marks_symbolic_calls():
    seen = []

    class Probe(layers.Layer):
        def call(self, x):
            seen.append(in_symbolic_scope())
            return x

    probe = Probe()
    probe(nk.Input((2,)))
    probe(np.ones((1, 2)))
    assert seen == [True, False]
    assert not in_symbolic_scope()
    with nk.SymbolicScope() as outer:
        with nk.SymbolicScope():
            assert in_symbolic_scope()
        assert in_symbolic_scope() and outer is not None
    assert not in_symbolic_scope()


def test_stateless_call_matches_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(6)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    ours = nk.Sequential([layers.Input((4,)),
                          layers.Dense(3, activation="tanh", activity_regularizer="l2",
                                       kernel_regularizer="l1"),
                          layers.BatchNormalization()])
    theirs = keras.Sequential([keras.Input((4,)),
                               keras.layers.Dense(3, activation="tanh",
                                                  activity_regularizer="l2",
                                                  kernel_regularizer="l1"),
                               keras.layers.BatchNormalization()])
    trainable = [rng.normal(size=v.shape).astype(np.float32) for v in ours.trainable_variables]
    non_trainable = [rng.normal(size=3).astype(np.float32),
                     rng.uniform(0.5, 2, size=3).astype(np.float32)]
    got = ours.stateless_call(trainable, non_trainable, x, training=True, return_losses=True)
    want = theirs.stateless_call(trainable, non_trainable, x, training=True, return_losses=True)
    np.testing.assert_allclose(np.asarray(got[0]), np.asarray(want[0]), rtol=1e-5, atol=1e-5)
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([float(v) for v in got[2]], [float(v) for v in want[2]],
                               rtol=1e-5)


# ---- Optimizer.stateless_apply (built on StatelessScope) ----------------------------------
@pytest.mark.parametrize("make", [
    lambda: nk.optimizers.Adam(0.05, use_ema=True, ema_overwrite_frequency=2),
    lambda: nk.optimizers.Nadam(0.05, gradient_accumulation_steps=2),
    lambda: nk.optimizers.LossScaleOptimizer(nk.optimizers.SGD(0.1, momentum=0.9),
                                             initial_scale=4.0, dynamic_growth_steps=2),
])
def test_stateless_apply_steps_like_apply_and_changes_nothing(make):
    rng = np.random.default_rng(7)
    w0 = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    grads = [[rng.normal(size=w.shape) for w in w0] for _ in range(5)]
    grads[2][1][0] = np.inf                      # the LossScaleOptimizer skips this step
    stateful = [nk.Variable(w.copy(), dtype="float64") for w in w0]
    reference = make()
    held = [nk.Variable(w.copy(), dtype="float64") for w in w0]
    optimizer = make()
    optimizer.build(held)
    reference.build(stateful)
    before = [v.numpy().copy() for v in optimizer.variables]
    values, state = [w.copy() for w in w0], [v.numpy() for v in optimizer.variables]
    for step_grads in grads:
        if not all(np.isfinite(g).all() for g in step_grads) and not isinstance(
                optimizer, nk.optimizers.LossScaleOptimizer):
            continue
        reference.apply(step_grads, stateful)
        values, state = optimizer.stateless_apply(state, step_grads, values)
        for value, variable in zip(values, stateful):
            np.testing.assert_allclose(np.asarray(value), variable.numpy(), rtol=1e-12)
        for value, variable in zip(state, reference.variables):
            np.testing.assert_allclose(np.asarray(value), variable.numpy(), rtol=1e-12)
    for variable, w in zip(held, w0):
        np.testing.assert_array_equal(variable.numpy(), w)
    for variable, b in zip(optimizer.variables, before):
        np.testing.assert_array_equal(variable.numpy(), b)


def test_jax_style_training_loop_matches_the_stateful_one():
    """stateless_call + GradientTape + stateless_apply, as Keras's JAX training loop guide,
    takes the steps fit's loop takes, and the model keeps its weights."""
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    model, twin = dense_bn_model(9), dense_bn_model(9)
    optimizer, twin_optimizer = nk.optimizers.Adam(0.01), nk.optimizers.Adam(0.01)
    optimizer.build(model.trainable_variables)
    original = model.get_weights()
    trainable = [v.numpy() for v in model.trainable_variables]
    non_trainable = [v.numpy() for v in model.non_trainable_variables]
    state = [v.numpy() for v in optimizer.variables]
    for _ in range(3):
        with nk.GradientTape() as tape:
            out, non_trainable = model.stateless_call(trainable, non_trainable, x,
                                                      training=True)
            loss = nk.ops.mean((out - y) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        trainable, state = optimizer.stateless_apply(state, grads, trainable)
        with nk.GradientTape() as tape:
            twin_loss = nk.ops.mean((twin(x, training=True) - y) ** 2)
        twin_optimizer.apply(tape.gradient(twin_loss, twin.trainable_variables),
                             twin.trainable_variables)
        np.testing.assert_allclose(float(loss), float(twin_loss), rtol=1e-12)
    for value, variable in zip(trainable + non_trainable, twin.trainable_variables
                               + twin.non_trainable_variables):
        np.testing.assert_allclose(np.asarray(value), variable.numpy(), rtol=1e-10)
    for a, b in zip(model.get_weights(), original):
        np.testing.assert_array_equal(a, b)


def test_stateless_apply_errors_and_matches_keras():
    optimizer = nk.optimizers.SGD(0.1)
    with pytest.raises(ValueError, match="must be built"):
        optimizer.stateless_apply([], [np.ones(2)], [np.ones(2)])
    optimizer.build([nk.Variable(np.zeros(2))])
    with pytest.raises(ValueError, match="corresponding 1:1 to SGD\\(\\).variables"):
        optimizer.stateless_apply([], [np.ones(2)], [np.ones(2)])
    with pytest.raises(ValueError, match="built with 1 variables"):
        optimizer.stateless_apply([0], [np.ones(2)], [np.ones(2), np.ones(2)])
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(10)
    w0 = rng.normal(size=(3,)).astype(np.float32)
    grads = [rng.normal(size=3).astype(np.float32) for _ in range(3)]
    ours, theirs = nk.optimizers.Adam(0.1), keras.optimizers.Adam(0.1)
    ours.build([nk.Variable(w0)])
    theirs.build([keras.Variable(w0)])
    our_values, our_state = [w0], [v.numpy() for v in ours.variables]
    their_values, their_state = [w0], [v.value for v in theirs.variables]
    for g in grads:
        our_values, our_state = ours.stateless_apply(our_state, [g], our_values)
        their_values, their_state = theirs.stateless_apply(their_state, [g], their_values)
    np.testing.assert_allclose(np.asarray(our_values[0]), np.asarray(their_values[0]),
                               rtol=1e-5, atol=1e-6)
