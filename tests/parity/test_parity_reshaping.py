"""Reshaping layers against Keras 3 on JAX: forward and gradients over Hypothesis-drawn
shapes and configs (cropping and padding in each of Keras's spellings, both data formats,
nearest and bilinear upsampling, -1 in Reshape)."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nbkeras.testing import strategies as nst
from parity_cases import FORMATS, channels_at
from parity_harness import check_parity


def spelled(draw, pairs):
    """Per-axis (before, after) pairs as a user may write them: one int, one int per axis,
    or the pairs themselves."""
    if len({p for pair in pairs for p in pair}) == 1 and draw(st.booleans()):
        return pairs[0][0]
    if all(a == b for a, b in pairs) and draw(st.booleans()):
        return tuple(a for a, _ in pairs)
    return tuple(pairs)


@st.composite
def cropping_cases(draw, rank):
    pairs = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(rank)]
    spatial = tuple(a + b + draw(st.integers(1, 2)) for a, b in pairs)
    config = {"cropping": pairs[0] if rank == 1 else spelled(draw, pairs)}
    data_format = "channels_last"
    if rank > 1:
        config["data_format"] = data_format = draw(FORMATS)
    shape = channels_at(data_format, draw(st.integers(1, 2)), spatial, draw(st.integers(1, 2)))
    return config, draw(nst.arrays(shape))


@pytest.mark.parametrize("rank", [1, 2, 3])
@settings(max_examples=5)
@given(data=st.data())
def test_cropping(rank, data):
    check_parity(f"Cropping{rank}D", *data.draw(cropping_cases(rank)))


@st.composite
def zero_padding_cases(draw, rank):
    pairs = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(rank)]
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    data_format = draw(FORMATS)
    config = {"padding": pairs[0] if rank == 1 else spelled(draw, pairs),
              "data_format": data_format}
    shape = channels_at(data_format, draw(st.integers(1, 2)), spatial, draw(st.integers(1, 2)))
    return config, draw(nst.arrays(shape))


@pytest.mark.parametrize("rank", [1, 2, 3])
@settings(max_examples=5)
@given(data=st.data())
def test_zero_padding(rank, data):
    check_parity(f"ZeroPadding{rank}D", *data.draw(zero_padding_cases(rank)))


@st.composite
def up_sampling_cases(draw, rank):
    sizes = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    config = {"size": sizes[0] if rank == 1 or (len(set(sizes)) == 1 and draw(st.booleans()))
              else sizes}
    data_format = "channels_last"
    if rank > 1:
        config["data_format"] = data_format = draw(FORMATS)
    if rank == 2:
        config["interpolation"] = draw(st.sampled_from(["nearest", "bilinear"]))
    shape = channels_at(data_format, draw(st.integers(1, 2)), spatial, draw(st.integers(1, 2)))
    return config, draw(nst.arrays(shape))


@pytest.mark.parametrize("rank", [1, 2, 3])
@settings(max_examples=6)
@given(data=st.data())
def test_up_sampling(rank, data):
    check_parity(f"UpSampling{rank}D", *data.draw(up_sampling_cases(rank)))


@settings(max_examples=4)
@given(data_format=FORMATS, x=nst.arrays(nst.shapes(2, 5, 1, 3)))
@example(data_format="channels_first", x=np.arange(24.0).reshape(2, 3, 2, 2))
def test_flatten(data_format, x):
    check_parity("Flatten", {"data_format": data_format}, x)


@st.composite
def permute_cases(draw):
    x = draw(nst.arrays(nst.shapes(2, 4, 1, 3)))
    return {"dims": tuple(draw(st.permutations(range(1, x.ndim))))}, x


@settings(max_examples=5)
@given(case=permute_cases())
def test_permute(case):
    check_parity("Permute", *case)


@settings(max_examples=3)
@given(n=st.integers(1, 3), x=nst.arrays(nst.shapes(2, 2, 1, 3)))
def test_repeat_vector(n, x):
    check_parity("RepeatVector", {"n": n}, x)


@st.composite
def reshape_cases(draw):
    x = draw(nst.arrays(nst.shapes(2, 4, 1, 3)))
    size = int(np.prod(x.shape[1:]))
    factors = [f for f in range(1, size + 1) if size % f == 0]
    first = draw(st.sampled_from(factors))
    target = draw(st.sampled_from([(size,), (first, size // first), (first, -1), (-1, first),
                                   (first, size // first, 1)]))
    return {"target_shape": target}, x


@settings(max_examples=5)
@given(case=reshape_cases())
def test_reshape(case):
    check_parity("Reshape", *case)
