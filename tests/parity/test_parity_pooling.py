"""Pooling layers against Keras 3 on JAX: forward and gradients over Hypothesis-drawn pool
sizes, strides (None = pool size), paddings and data formats, with the corners pinned:
"same" with even pools and strides (uneven padding; average pooling counts only the real
cells), channels_first. Max pooling inputs have no ties (each side may route a tie's
gradient to a different cell)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity_cases import global_pooling_cases, pooling_cases
from parity_harness import check_parity

KINDS = {"Max": "max", "Average": "average"}


def distinct(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(np.prod(shape)) / 7.0 - 1.0).reshape(shape)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=10)
@given(data=st.data())
def test_pooling(kind, rank, data):
    config, x = data.draw(pooling_cases(rank, KINDS[kind]))
    check_parity(f"{kind}Pooling{rank}D", config, x)


CORNERS = [
    (1, {"pool_size": 2, "strides": 2, "padding": "same"}, (2, 5, 3)),
    (1, {"pool_size": 4, "strides": 3, "padding": "same", "data_format": "channels_first"},
     (1, 2, 8)),
    (2, {"pool_size": 2, "strides": 2, "padding": "same"}, (2, 5, 3, 2)),
    (2, {"pool_size": (2, 3), "strides": (1, 2), "padding": "same",
         "data_format": "channels_first"}, (1, 2, 4, 5)),
    (2, {"pool_size": 3, "strides": 1, "padding": "valid"}, (1, 4, 4, 1)),
    (3, {"pool_size": 2, "padding": "same", "data_format": "channels_first"}, (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("rank, config, shape", CORNERS)
def test_pooling_corners(kind, rank, config, shape):
    check_parity(f"{kind}Pooling{rank}D", config, distinct(shape))


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=4)
@given(data=st.data())
def test_global_pooling(kind, rank, data):
    config, x = data.draw(global_pooling_cases(rank, KINDS[kind]))
    check_parity(f"Global{kind}Pooling{rank}D", config, x)
