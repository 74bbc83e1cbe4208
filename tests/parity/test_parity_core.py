"""Dense, Identity and the activation layers against Keras 3 on JAX: weight layout, forward
and gradients over Hypothesis-drawn configs and shapes, inputs kept away from each
activation's kinks (where the two sides may pick different one-sided derivatives)."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nbkeras.testing import strategies as nst
from parity_harness import check_parity

# A drawn softmax may act on an axis of size 1 (always 1): Keras warns, rightly, and the
# comparison still holds.
pytestmark = pytest.mark.filterwarnings("ignore:You are using a softmax over axis")

# Every activation that nbkeras and Keras both name. Kinks: relu/leaky_relu/selu at 0,
# relu6 at 0 and 6, hard_sigmoid at -3 and 3.
ACTIVATIONS = ["elu", "exponential", "gelu", "hard_sigmoid", "leaky_relu", "linear",
               "log_softmax", "mish", "relu", "relu6", "selu", "sigmoid", "silu", "softmax",
               "softplus", "softsign", "swish", "tanh"]
KINKS = (0.0, -3.0, 3.0, 6.0)


def inputs(min_rank=2, max_rank=4, kinks=KINKS, scale=2.0):
    return nst.arrays(nst.shapes(min_rank, max_rank, 1, 4), kinks=kinks, scale=scale)


@settings(max_examples=10)
@given(config=nst.dense_configs(), x=inputs(2, 3))
@example(config={"units": 3, "activation": "relu", "use_bias": True},
         x=np.random.default_rng(0).normal(size=(2, 3, 4)))
def test_dense(config, x):
    check_parity("Dense", config, x)


@settings(max_examples=3)
@given(x=inputs())
def test_identity(x):
    check_parity("Identity", {}, x)


@settings(max_examples=30)
@given(activation=st.sampled_from(ACTIVATIONS), x=inputs())
def test_activation(activation, x):
    check_parity("Activation", {"activation": activation}, x)


@st.composite
def relu_cases(draw):
    """max_value above threshold (the case below it is test_relu_max_value_below_threshold)."""
    threshold = draw(st.sampled_from([0.0, 0.5, 1.5]))   # Keras, as ours, refuses < 0
    max_value = draw(st.sampled_from([None, threshold + 0.5, 6.0]))
    config = {"max_value": max_value, "negative_slope": draw(st.sampled_from([0.0, 0.1, 0.3])),
              "threshold": threshold}
    kinks = (threshold,) if max_value is None else (threshold, max_value)
    return config, draw(inputs(kinks=kinks))


@settings(max_examples=10)
@given(case=relu_cases())
@example(case=({"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.5},
               np.array([[-1.0, 0.2, 0.7, 2.0]])))
def test_relu(case):
    check_parity("ReLU", *case)


def test_relu_max_value_below_threshold():
    """Found by this suite: for max_value <= x < threshold the forward is the unclipped
    negative_slope * (x - threshold), so the gradient is negative_slope (nbkeras gave 0)."""
    check_parity("ReLU", {"max_value": 1.0, "negative_slope": 0.1, "threshold": 1.5},
                 np.array([[0.25, -0.26, 1.28]]))


@settings(max_examples=5)
@given(negative_slope=st.sampled_from([0.0, 0.01, 0.3, 1.5]), x=inputs(kinks=(0.0,)))
def test_leaky_relu(negative_slope, x):
    check_parity("LeakyReLU", {"negative_slope": negative_slope}, x)


@settings(max_examples=5)
@given(alpha=st.sampled_from([0.5, 1.0, 2.0]), x=inputs(kinks=(0.0,)))
def test_elu(alpha, x):
    check_parity("ELU", {"alpha": alpha}, x)


@st.composite
def prelu_cases(draw):
    x = draw(inputs(2, 4, kinks=(0.0,)))
    spatial = list(range(1, x.ndim - 1))
    shared = draw(st.none() | st.lists(st.sampled_from(spatial), unique=True, min_size=1)
                  if spatial else st.none())
    return {"shared_axes": shared}, x


@settings(max_examples=6)
@given(case=prelu_cases())
@example(case=({"shared_axes": [1, 2]}, np.random.default_rng(0).normal(size=(2, 3, 4, 2))))
def test_prelu(case):
    check_parity("PReLU", *case)


@st.composite
def softmax_cases(draw):
    x = draw(inputs(2, 4, kinks=()))
    axis = draw(st.integers(1, x.ndim - 1) | st.just(-1))
    if x.ndim > 2 and draw(st.booleans()):   # several axes, normalized jointly
        axis = draw(st.lists(st.integers(1, x.ndim - 1), min_size=2, max_size=2, unique=True))
    return {"axis": axis}, x


@settings(max_examples=8)
@given(case=softmax_cases())
def test_softmax(case):
    check_parity("Softmax", *case)


@settings(max_examples=4)
@given(theta=st.sampled_from([0.0, 0.5, 1.0]), data=st.data())
def test_thresholded_relu(theta, data):
    # Keras 3 dropped ThresholdedReLU; Keras 2's `x if x > theta else 0` is Keras 3's
    # ReLU(threshold=theta) away from x == theta.
    x = data.draw(inputs(kinks=(theta,)))
    check_parity("ThresholdedReLU", {"theta": theta}, x, keras_as=("ReLU", {"threshold": theta}))
