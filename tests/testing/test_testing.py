"""The public testing toolkit catches what it promises to catch."""
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given

import nbkeras as nk
from nbkeras import layers, ops
from nbkeras.core.spec import Spec
from nbkeras.testing import GradientCheckError, check_grads, layer_test
from nbkeras.testing import strategies as nst


@dataclass(frozen=True)
class CubeWithWrongVJP(ops.Op):
    """y = x**3 with the derivative off by a factor (2x**2 instead of 3x**2)."""

    def output_spec(self, x: Spec) -> Spec: return x
    def forward(self, k, x): return x ** 3, (x,)
    def vjp(self, k, dy, residuals, needs): return (dy * 2 * residuals[0] ** 2,)


@dataclass(frozen=True)
class Cube(CubeWithWrongVJP):
    def vjp(self, k, dy, residuals, needs): return (dy * 3 * residuals[0] ** 2,)


class CubeLayer(layers.Layer):
    def __init__(self, op=Cube(), **kwargs):
        super().__init__(**kwargs)
        self.op = op

    def build(self, input_shape):
        self.scale = self.add_weight((input_shape[-1],), "random_normal", name="scale")

    def call(self, x):
        return self.op(x) * self.scale


@given(x=nst.arrays(nst.shapes(1, 3, 1, 4)))
def test_correct_vjp_passes_in_both_modes(x):
    check_grads(Cube(), [x], mode="full")
    check_grads(Cube(), [x], mode="projection")


def test_wrong_vjp_is_caught_and_the_message_names_it():
    x = np.random.default_rng(0).uniform(0.5, 1.5, (2, 3))
    with pytest.raises(GradientCheckError, match=r"gradient of input 0 at index \(0, 0\) is wrong: "
                                                 r"analytic .*, numeric .*, relative error"):
        check_grads(CubeWithWrongVJP(), [x], mode="full")
    with pytest.raises(GradientCheckError, match="at a random direction is wrong"):
        check_grads(CubeWithWrongVJP(), [x], mode="projection")


def test_round_off_of_a_large_output_does_not_fail_a_correct_gradient():
    """exp(7.5) ~ 1800 over 200 elements: L(x + h) - L(x - h) loses ~1e-5 to round-off, more
    than the small elements' gradients (~0.05) may differ by under rtol; the check allows it."""
    x = np.full((2, 100), 7.5) + np.random.default_rng(1).normal(0, 0.1, (2, 100))
    x[0, :10] = -3.0
    check_grads(ops.exp, [x], mode="full")
    with pytest.raises(GradientCheckError, match="input 0"):
        check_grads(CubeWithWrongVJP(), [x], mode="full")


def test_layer_weights_are_checked_and_named():
    x = np.random.default_rng(1).uniform(0.5, 1.5, (2, 3))
    check_grads(CubeLayer(dtype="float64"), [x])
    with pytest.raises(GradientCheckError, match=r"cube_layer\w*: gradient of input 0"):
        check_grads(CubeLayer(op=CubeWithWrongVJP(), dtype="float64"), [x])


def test_wrong_weight_gradient_is_caught():
    class LeakyScale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1],), "ones", name="w")

        def call(self, x):
            return x * ops.stop_gradient(self.w) + x   # no gradient reaches w

    with pytest.raises(GradientCheckError, match=r"weight '\w+/w'"):
        check_grads(LeakyScale(dtype="float64"), [np.random.default_rng(2).normal(size=(2, 3))])


def test_float32_inputs_warn():
    with pytest.warns(UserWarning, match="not float64"):
        check_grads(Cube(), [np.ones((2,), np.float32)], rtol=1e-2, atol=1e-2, eps=1e-2)


def test_layer_test_catches_a_config_that_loses_an_argument():
    class Forgetful(layers.Layer):
        def __init__(self, factor=1.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def get_config(self):
            config = super().get_config()
            config["factor"] = 1.0            # forgets the real factor
            return config

        def call(self, x):
            return x * self.factor

    with pytest.raises(AssertionError, match="a clone with the same weights computes different"):
        layer_test(Forgetful, {"factor": 3.0}, input_shape=(2, 3))


def test_user_dataclass_layer_passes_layer_test():
    from dataclasses import dataclass as dc

    @dc(eq=False)
    class Affine(layers.Layer):
        units: int = 2

        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1], self.units), name="w")
            self.b = self.add_weight((self.units,), "random_normal", name="b")

        def call(self, x):
            return x @ self.w + self.b

    y = layer_test(Affine, {"units": 4}, input_shape=(3, 5), expected_output_shape=(3, 4))
    assert y.dtype == "float64"


def test_strategies_keep_away_from_kinks_and_ties():
    rng = np.random.default_rng(0)
    values = nst.away_from(rng.normal(0, 0.01, 1000), points=(0.0,), margin=0.05)
    assert np.abs(values).min() >= 0.05
    distinct = nst.distinct((10, 10), rng, min_gap=0.01)
    gaps = np.diff(np.sort(distinct.ravel()))
    assert gaps.min() >= 0.01


def test_tensor_input_and_multiple_outputs():
    def two(a):
        return [ops.exp(a), ops.sum(a * a)]

    check_grads(two, [nk.Tensor(np.random.default_rng(3).normal(size=(3,)))])
