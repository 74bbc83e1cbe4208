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
