"""GradientTape semantics (TensorFlow's): auto-watched trainable Variables, watch, persistent,
unconnected sources, stop_gradient, nested structures."""
import numpy as np
import pytest

import nbkeras as nk
from nbkeras import ops


def test_trainable_variables_are_watched_and_tensors_need_watch():
    rng = np.random.default_rng(1)
    v = nk.Variable(rng.standard_normal((3,)))
    t = nk.Tensor(rng.standard_normal((3,)))
    with nk.GradientTape() as tape:
        y = ops.sum(v * t)
    dv, dt = tape.gradient(y, [v, t])
    np.testing.assert_allclose(dv.numpy(), t.numpy())
    assert dt is None
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(v * t)
    np.testing.assert_allclose(tape.gradient(y, t).numpy(), v.numpy())


def test_non_trainable_variable_needs_watch():
    v = nk.Variable(np.array([1.5, -2.0]), trainable=False)
    with nk.GradientTape() as tape:
        y = ops.sum(ops.square(v))
    assert tape.gradient(y, v) is None
    with nk.GradientTape() as tape:
        tape.watch(v)
        y = ops.sum(ops.square(v))
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), [3.0, -4.0])


def test_non_persistent_tape_allows_one_gradient_call():
    v = nk.Variable(np.array(2.0))
    with nk.GradientTape() as tape:
        y = v * v
    tape.gradient(y, v)
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, v)


def test_persistent_tape_gives_several_gradients():
    v = nk.Variable(np.array(3.0))
    with nk.GradientTape(persistent=True) as tape:
        y = v * v
        z = y * v
    assert float(tape.gradient(y, v)) == pytest.approx(6.0)
    assert float(tape.gradient(z, v)) == pytest.approx(27.0)


def test_gradient_to_intermediate_and_reused_value_accumulates():
    v = nk.Variable(np.array([1.0, 2.0]))
    with nk.GradientTape(persistent=True) as tape:
        h = v * 3.0
        y = ops.sum(h * h + h)
    np.testing.assert_allclose(tape.gradient(y, h).numpy(), 2 * np.array([3.0, 6.0]) + 1)
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), 3 * (2 * np.array([3.0, 6.0]) + 1))


def test_stop_gradient_and_unconnected_zero():
    v = nk.Variable(np.array([1.0, -1.0]))
    w = nk.Variable(np.array([0.5, 0.5]))
    with nk.GradientTape() as tape:
        y = ops.sum(ops.stop_gradient(v) * w)
    dv, dw = tape.gradient(y, [v, w])
    assert dv is None
    np.testing.assert_allclose(dw.numpy(), v.numpy())
    with nk.GradientTape() as tape:
        y = ops.sum(w * 2.0)
    np.testing.assert_array_equal(tape.gradient(y, v, unconnected_gradients="zero").numpy(), 0)


def test_nested_source_structure_and_output_gradients():
    a, b = nk.Variable(np.array([1.0, 2.0])), nk.Variable(np.array(3.0))
    with nk.GradientTape() as tape:
        y = a * b
    grads = tape.gradient(y, {"a": a, "rest": [b]}, output_gradients=np.array([10.0, 1.0]))
    np.testing.assert_allclose(grads["a"].numpy(), [30.0, 3.0])
    np.testing.assert_allclose(grads["rest"][0].numpy(), 12.0)


def test_no_tape_records_nothing_and_stop_recording():
    v = nk.Variable(np.array(2.0))
    with nk.GradientTape() as tape:
        with tape.stop_recording():
            y = v * v
        z = v * 3.0
    assert tape.gradient(y, v) is None
    assert not tape._records or all(rec[3] is not y for rec in tape._records)


def test_gradient_dtype_matches_float32_source():
    v = nk.Variable(np.ones((2, 2), np.float32))
    with nk.GradientTape() as tape:
        y = ops.sum(v * 2.0)
    g = tape.gradient(y, v)
    assert g.dtype == "float32"
    np.testing.assert_array_equal(g.numpy(), 2.0)


def test_variable_assign_checks_shape():
    v = nk.Variable(np.zeros(3), name="w")
    v.assign([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"assign expects shape \(3,\); received shape \(2,\)"):
        v.assign([1.0, 2.0])
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0, 3.0])


def test_tensor_operators_route_through_ops_and_numpy_interop():
    x = ops.convert_to_tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.dtype == "float32"
    y = (2 - x) * x / 2 + x @ x - (-x) ** 2
    expected = (2 - x.numpy()) * x.numpy() / 2 + x.numpy() @ x.numpy() - x.numpy() ** 2
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-6)
    assert y.dtype == "float32"
    np.testing.assert_allclose(x.T.numpy(), x.numpy().T)
    np.testing.assert_allclose(x.sum(axis=0).numpy(), [4.0, 6.0])
    np.testing.assert_allclose(x.reshape(4).numpy(), [1, 2, 3, 4])
    np.testing.assert_allclose((np.ones(2, np.float32) + x).numpy(), x.numpy() + 1)


def test_a_deferred_pooling_gradient_is_made_wherever_it_is_not_taken():
    """Max pooling hands its input's cotangent on unmade (a DeferredGradient, which only the
    convolution's VJP takes as it is): the tape makes it for a watched source, for a sum
    with a second cotangent, for any other op's VJP, and again on a persistent tape's second
    call; each equals the plain-numpy window-by-window gradient."""
    import reference_pooling

    rng = np.random.default_rng(3)
    x = nk.Tensor(rng.standard_normal((2, 6, 5, 3)))
    dy = rng.standard_normal((2, 3, 2, 3))

    def pool_gradient(a):
        return reference_pooling.pool_grad(a, dy, (2, 2), (2, 2), "valid", "max")

    with nk.GradientTape(persistent=True) as tape:
        tape.watch(x)
        t = ops.tanh(x)
        pooled_source = ops.max_pool(x, 2, 2)                  # a watched source
        pooled_twice = ops.sum(ops.max_pool(t, 2, 2) * dy) + ops.sum(t)   # a sum, then tanh
    np.testing.assert_allclose(tape.gradient(pooled_source, x, output_gradients=dy).numpy(),
                               pool_gradient(x.numpy()))
    tanh = np.tanh(x.numpy())
    expected = (pool_gradient(tanh) + 1) * (1 - tanh ** 2)
    for _ in range(2):
        np.testing.assert_allclose(tape.gradient(pooled_twice, x).numpy(), expected,
                                   rtol=1e-12)

