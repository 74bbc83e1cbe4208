"""BatchNormalization (inference and training, where the updated moving statistics are
compared too), LayerNormalization and GroupNormalization against Keras 3 on JAX: weight
layout, forward and gradients over Hypothesis-drawn axes, epsilons and center/scale."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nbkeras.testing import strategies as nst
from parity_harness import check_parity

pytestmark = pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`:UserWarning")
EPSILONS = st.sampled_from([1e-3, 1e-5, 0.1])


@st.composite
def batch_norm_cases(draw):
    x = draw(nst.arrays(nst.shapes(2, 4, 1, 4).map(lambda s: (draw(st.integers(2, 4)), *s[1:])),
                        scale=2.0))
    axis = draw(st.sampled_from([-1, *range(1, x.ndim)]))
    config = {"axis": axis, "momentum": draw(st.sampled_from([0.99, 0.9, 0.5])),
              "epsilon": draw(EPSILONS), "center": draw(st.booleans()),
              "scale": draw(st.booleans())}
    return config, x


@settings(max_examples=16)
@given(case=batch_norm_cases(), training=st.booleans())
@example(case=({"axis": 1, "momentum": 0.9}, np.random.default_rng(0).normal(size=(3, 2, 4))),
         training=True)
@example(case=({"axis": -1, "center": False},
               np.random.default_rng(1).normal(size=(4, 3, 3, 2))), training=True)
@example(case=({"axis": 1, "scale": False}, np.random.default_rng(2).normal(size=(2, 3, 3, 2))),
         training=False)
def test_batch_normalization(case, training):
    check_parity("BatchNormalization", *case, training=training)


@st.composite
def layer_norm_cases(draw):
    """Axes in increasing order (the other order is test_layer_normalization_axis_order)."""
    x = draw(nst.arrays(nst.shapes(2, 4, 1, 4), scale=2.0))
    axes = sorted(draw(st.lists(st.integers(1, x.ndim - 1), min_size=1, max_size=x.ndim - 1,
                                unique=True)))
    axis = -1 if axes == [x.ndim - 1] and draw(st.booleans()) else (
        axes[0] if len(axes) == 1 else axes)
    config = {"axis": axis, "epsilon": draw(EPSILONS), "center": draw(st.booleans()),
              "scale": draw(st.booleans()), "rms_scaling": draw(st.booleans())}
    return config, x


@settings(max_examples=12)
@given(case=layer_norm_cases())
@example(case=({"axis": [1, 2]}, np.random.default_rng(0).normal(size=(2, 3, 4))))
@example(case=({"axis": [1, 2], "rms_scaling": True},
               np.random.default_rng(0).normal(size=(2, 3, 4))))
def test_layer_normalization(case):
    check_parity("LayerNormalization", *case)


def test_layer_normalization_axis_order():
    """Found by this suite: axis=[2, 1] gives gamma and beta of the sorted axes' shape, as
    Keras (nbkeras made them in the order given, so weights did not move between them)."""
    check_parity("LayerNormalization", {"axis": [2, 1]},
                 np.random.default_rng(0).normal(size=(2, 3, 4)))


@st.composite
def group_norm_cases(draw):
    groups = draw(st.integers(1, 3))
    channels = groups * draw(st.integers(1, 2))
    rank = draw(st.integers(3, 4))
    axis = draw(st.sampled_from([-1, 1]))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(rank - 2))
    shape = ((draw(st.integers(1, 2)), *spatial, channels) if axis == -1
             else (draw(st.integers(1, 2)), channels, *spatial))
    config = {"groups": groups, "axis": axis, "epsilon": draw(EPSILONS),
              "center": draw(st.booleans()), "scale": draw(st.booleans())}
    return config, draw(nst.arrays(shape, scale=2.0))


@settings(max_examples=10)
@given(case=group_norm_cases())
@example(case=({"groups": 2, "axis": 1}, np.random.default_rng(0).normal(size=(2, 4, 3, 2))))
def test_group_normalization(case):
    check_parity("GroupNormalization", *case)
