"""nbkeras.regularizers: penalties against plain numpy, gradients on the tape against the
analytic formula l1 * sign(x) + 2 * l2 * x, and the get/config contract."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_initializers import check_config_round_trip, check_get_contract

import nbkeras as nk
from nbkeras import regularizers as reg

fast = settings(deadline=None, max_examples=15)
factors = st.floats(0.0, 10.0)
shapes = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)


def random_weights(seed: int, shape: tuple, dtype: str = "float64") -> np.ndarray:
    """Normal draws pushed at least 0.05 away from 0, the kink of |x|."""
    x = np.random.default_rng(seed).normal(size=shape)
    return (x + 0.05 * np.sign(x)).astype(dtype)


# (regularizer from l1 and l2, whether it uses l1, whether it uses l2)
KINDS = {"L1": (lambda l1, l2: reg.L1(l1), True, False),
         "L2": (lambda l1, l2: reg.L2(l2), False, True),
         "L1L2": (reg.L1L2, True, True)}


@pytest.mark.parametrize("kind", KINDS)
@fast
@given(l1=factors, l2=factors, shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_penalty_and_gradient(kind, l1, l2, shape, seed):
    build, uses_l1, uses_l2 = KINDS[kind]
    a, b = l1 * uses_l1, l2 * uses_l2
    x = random_weights(seed, shape)
    variable = nk.Variable(x)
    with nk.GradientTape() as tape:
        penalty = build(l1, l2)(variable)
    expected = a * np.abs(x).sum() + b * (x * x).sum()
    assert penalty.shape == () and penalty.dtype == "float64"
    np.testing.assert_allclose(float(penalty), expected, rtol=1e-12, atol=1e-300)
    grad = tape.gradient(penalty, variable)
    if a or b:
        np.testing.assert_allclose(np.asarray(grad), a * np.sign(x) + 2 * b * x, rtol=1e-12)
    else:
        assert grad is None                                  # a constant zero, as in Keras


@settings(deadline=None, max_examples=5)
@given(seed=st.integers(0, 2**32 - 1), l1=st.floats(0.01, 1), l2=st.floats(0.01, 1))
def test_tensor_input_float32(seed, l1, l2):
    x = random_weights(seed, (4, 3), "float32")
    tensor = nk.ops.convert_to_tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(tensor)
        penalty = reg.L1L2(l1, l2)(tensor)
    assert penalty.dtype == "float32"
    x64 = x.astype("float64")
    np.testing.assert_allclose(float(penalty), l1 * np.abs(x64).sum() + l2 * (x64**2).sum(),
                               rtol=1e-5)
    np.testing.assert_allclose(np.asarray(tape.gradient(penalty, tensor)),
                               l1 * np.sign(x64) + 2 * l2 * x64, rtol=1e-5)


def test_defaults_are_keras():
    x = random_weights(0, (3, 2))
    assert reg.L1() == reg.L1(0.01) == reg.L1(None)
    assert reg.L2() == reg.L2(0.01) == reg.L2(None)
    assert reg.L1L2() == reg.L1L2(0.0, 0.0) == reg.L1L2(None, None)
    np.testing.assert_allclose(float(reg.L2()(x)), 0.01 * (x * x).sum(), rtol=1e-12)
    assert float(reg.L1L2()(x)) == 0.0
    assert reg.Regularizer()(x) == 0.0


@pytest.mark.parametrize("bad", [-0.1, math.inf, math.nan, "0.1", [0.1]])
def test_rejects_bad_factors(bad):
    for build, name in [(lambda: reg.L1(bad), "l1"), (lambda: reg.L2(bad), "l2"),
                        (lambda: reg.L1L2(l2=bad), "l2")]:
        with pytest.raises(ValueError, match=f"{name}.*non-negative"):
            build()


def test_get_contract():
    names = {"l1": reg.L1, "l2": reg.L2, "l1_l2": reg.L1L2}
    check_get_contract(reg, names, reg.L1L2(0.3, 0.2))
    for name, cls in names.items():
        assert getattr(reg, name) is cls


@pytest.mark.parametrize("obj, keras_keys", [(reg.L1(0.5), {"l1"}), (reg.L2(2), {"l2"}),
                                             (reg.L1L2(l2=0.25), {"l1", "l2"})],
                         ids=lambda x: type(x).__name__)
def test_config_round_trip(obj, keras_keys):
    check_config_round_trip(reg, obj, keras_keys)
    assert all(type(v) is float for v in obj.get_config().values())


# ---- OrthogonalRegularizer ----------------------------------------------------------------
def orthogonal_reference(x: np.ndarray, factor: float, mode: str) -> float:
    """factor * mean over pairs i < j of |cos(angle between rows i, j)| (columns: of x.T)."""
    x = x if mode == "rows" else x.T
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    n = len(x)
    return factor * np.mean([abs(unit[i] @ unit[j]) for i in range(n) for j in range(i + 1, n)])


@settings(deadline=None, max_examples=20)
@given(rows=st.integers(2, 6), cols=st.integers(2, 6), factor=st.floats(0.0, 3.0),
       mode=st.sampled_from(["rows", "columns"]), seed=st.integers(0, 2**31 - 1))
def test_orthogonal_penalty(rows, cols, factor, mode, seed):
    x = random_weights(seed, (rows, cols))
    penalty = reg.OrthogonalRegularizer(factor, mode)(x)
    assert np.asarray(penalty).shape == () and np.asarray(penalty).dtype == np.float64
    np.testing.assert_allclose(float(penalty), orthogonal_reference(x, factor, mode),
                               rtol=1e-10, atol=1e-14)


def test_orthogonal_gradient_and_orthogonal_rows_are_free():
    q = np.linalg.qr(random_weights(1, (5, 5)))[0]
    assert abs(float(reg.OrthogonalRegularizer(1.0)(q))) < 1e-12
    x = nk.Variable(random_weights(2, (4, 3)))
    with nk.GradientTape() as tape:
        loss = reg.OrthogonalRegularizer(0.5, "columns")(x)
    grad = np.asarray(tape.gradient(loss, x))
    eps, w = 1e-6, np.asarray(x).copy()
    numeric = np.zeros_like(w)
    for index in np.ndindex(w.shape):
        up, down = w.copy(), w.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (orthogonal_reference(up, 0.5, "columns")
                          - orthogonal_reference(down, 0.5, "columns")) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_matches_keras(mode):
    keras = pytest.importorskip("keras")
    x = random_weights(3, (6, 4), "float32")
    # 0.25: Keras keeps factor as a float32 tensor, so its config of 0.3 reads 0.30000001192
    theirs = keras.regularizers.OrthogonalRegularizer(0.25, mode)
    ours = reg.OrthogonalRegularizer(0.25, mode)
    np.testing.assert_allclose(float(ours(nk.Variable(x))),
                               float(theirs(keras.Variable(x))), rtol=1e-6)
    assert ours.get_config() == theirs.get_config()
    assert reg.get(keras.regularizers.serialize(theirs)) == ours
    assert type(reg.get("orthogonal_regularizer")) is reg.OrthogonalRegularizer
    assert reg.orthogonal_regularizer is reg.OrthogonalRegularizer


def test_orthogonal_defaults_and_errors():
    assert reg.OrthogonalRegularizer().get_config() == {"factor": 0.01, "mode": "rows"}
    with pytest.raises(ValueError, match="argument factor.*factor=-1"):
        reg.OrthogonalRegularizer(-1)
    with pytest.raises(ValueError, match="mode.*'diagonal'"):
        reg.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="must have rank 2.*\\(2, 3, 4\\)"):
        reg.OrthogonalRegularizer()(np.ones((2, 3, 4)))
    layer = nk.layers.Dense(3, kernel_regularizer=reg.OrthogonalRegularizer(0.1))
    layer(np.ones((2, 4)))
    assert len(layer.losses) == 1
