"""Merging layers against Keras 3 on JAX: forward and the gradient of every input, over
Hypothesis-drawn shapes (size-1 axes broadcast), input counts and axes. Maximum and Minimum
inputs have no ties across inputs (each side may route a tie's gradient differently)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.testing import strategies as nst
from parity_harness import check_parity

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


@st.composite
def merge_inputs(draw, count, broadcast: bool = True):
    """`count` arrays of one rank and batch; other axes may be 1 in some inputs (broadcast).
    All values distinct across the inputs."""
    shape = draw(nst.shapes(2, 4, 1, 3))
    shapes = [tuple(n if i == 0 or not broadcast or not draw(st.booleans()) else 1
                    for i, n in enumerate(shape)) for _ in range(count)]
    values = draw(nst.arrays((sum(int(np.prod(s)) for s in shapes),), no_ties=True))
    cuts = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]
    return [part.reshape(s) for part, s in zip(np.split(values, cuts), shapes)]


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=8)
@given(data=st.data())
def test_elementwise_merge(name, data):
    count = 2 if name == "Subtract" else data.draw(st.integers(2, 3))
    check_parity(name, {}, data.draw(merge_inputs(count)))


@st.composite
def concatenate_cases(draw):
    base = draw(nst.shapes(2, 4, 1, 3))
    axis = draw(st.integers(1, len(base) - 1) | st.just(-1))
    shapes = [tuple(draw(st.integers(1, 3)) if i == axis % len(base) else n
                    for i, n in enumerate(base)) for _ in range(draw(st.integers(2, 3)))]
    return {"axis": axis}, [draw(nst.arrays(s)) for s in shapes]


@settings(max_examples=8)
@given(case=concatenate_cases())
def test_concatenate(case):
    check_parity("Concatenate", *case)


@st.composite
def dot_cases(draw):
    """(N, d) . (N, d) on axis 1, or (N, a, d) . (N, b, d) on (2, 2) / (N, d, a) . (N, b, d)
    on (1, 2); optionally l2-normalized along the contracted axes first."""
    n, d = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    normalize = draw(st.booleans())
    if draw(st.booleans()):
        shapes, axes = [(n, d), (n, d)], draw(st.sampled_from([1, -1]))
    else:
        a, b = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        shapes, axes = draw(st.sampled_from([([(n, a, d), (n, b, d)], (2, 2)),
                                             ([(n, d, a), (n, b, d)], (1, 2)),
                                             ([(n, a, d), (n, b, d)], -1)]))
    return {"axes": axes, "normalize": normalize}, [draw(nst.arrays(s)) for s in shapes]


@settings(max_examples=8)
@given(case=dot_cases())
def test_dot(case):
    check_parity("Dot", *case)
