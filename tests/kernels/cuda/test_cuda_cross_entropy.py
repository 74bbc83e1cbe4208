"""The CUDA cross-entropy kernels compute what the CPU ones compute, forward and backward:
softmax with dense and integer labels (one block per row), sigmoid (elementwise) and the
categorical cross-entropy of probabilities (one block per row), on Hypothesis-drawn shapes
and on fixed ones where one element is the whole array, a row is longer than the block (the
block loops over it, by a width that is no multiple of the block) and there are more rows
than blocks (or elements than grid threads); the first and last rows hold logits of +-1e4,
their labels at the first and last class (probabilities: the last row one nonzero value,
clipped at 1 - epsilon, and zeros, clipped at epsilon)."""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import cross_entropy as cpu
from nbkeras.kernels.cuda import cross_entropy as cuda
from nbkeras.kernels.cuda.runtime import MAX_BLOCKS, THREADS, to_host
from nbkeras.testing import strategies as nst

TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
DTYPES = [np.float32, np.float64]
FUNCTIONS = ["softmax_cross_entropy", "sparse_softmax_cross_entropy", "sigmoid_cross_entropy",
             "probability_cross_entropy"]
EPSILON = 1e-3          # the probability kernels' clip: large enough that drawn values hit it


def _public(module) -> dict:
    """The functions a kernel module defines under public names."""
    return {name: value for name, value in vars(module).items() if not name.startswith("_")
            and inspect.isfunction(value) and value.__module__ == module.__name__}


def _check(name: str, labels: np.ndarray, logits: np.ndarray, dy: np.ndarray) -> None:
    """`name`'s forward and backward against the CPU's. Losses are lse - logits: both devices
    know them to an ulp of the largest |logit|, which the tolerance allows."""
    tolerance = TOLERANCE[logits.dtype.type]
    tolerance = dict(tolerance, atol=max(tolerance["atol"],
                                         4 * np.finfo(logits.dtype).eps * abs(logits).max()))
    extra = (EPSILON,) if name == "probability_cross_entropy" else ()
    for direction, args in [("forward", (labels, logits, *extra)),
                            ("backward", (dy, labels, logits, *extra))]:
        wanted = getattr(cpu, f"{name}_{direction}")(*args)
        results = getattr(cuda, f"{name}_{direction}")(*args)
        if not isinstance(wanted, tuple):        # the backward of two inputs: two gradients
            wanted, results = (wanted,), (results,)
        assert len(results) == len(wanted)
        for got, want in zip(results, wanted):
            got = to_host(got)
            assert (got.shape, got.dtype) == (want.shape, want.dtype)
            np.testing.assert_allclose(got, want, err_msg=f"{name}_{direction}", **tolerance)


def _probabilities(logits: np.ndarray) -> np.ndarray:
    """Non-negative values from drawn logits for the probability kernels: the negative
    logits' cells 0 (clipped at epsilon once renormalized), each row's first cell |logit| +
    0.1 (no row sums to 0)."""
    probs = np.where(logits < 0, 0, logits)
    probs[..., 0] = abs(logits[..., 0]) + 0.1
    return probs.astype(logits.dtype)


def _inputs(name: str, shape: tuple, dtype, rng: np.random.Generator):
    """labels (probabilities, class indices, or targets in [0, 1]) and the cotangent dy."""
    if name == "sparse_softmax_cross_entropy":
        labels = rng.integers(0, shape[-1], shape[:-1])
    else:
        labels = rng.uniform(0.0, 1.0, shape).astype(dtype)
    dy_shape = shape if name == "sigmoid_cross_entropy" else shape[:-1]
    return labels, rng.normal(size=dy_shape).astype(dtype)


def test_exports_the_cpu_functions_with_their_signatures():
    expected = _public(cpu)
    assert sorted(cuda.__all__) == sorted(cpu.__all__) == sorted(expected)
    assert sorted(_public(cuda)) == sorted(expected)
    for name, function in expected.items():
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(function), name


@pytest.mark.parametrize("name", FUNCTIONS)
@settings(max_examples=8)
@given(data=st.data(), dtype=st.sampled_from(DTYPES), rows=nst.shapes(0, 2, 1, 3),
       width=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
def test_matches_cpu(name, data, dtype, rows, width, seed):
    shape = (*rows, width)
    logits = data.draw(nst.arrays(shape, scale=3.0), label="logits").astype(dtype)
    labels, dy = _inputs(name, shape, dtype, np.random.default_rng(seed))
    if name == "probability_cross_entropy":
        logits = _probabilities(logits)
    _check(name, labels, logits, dy)


@pytest.mark.parametrize("shape", [(1, 1), (3, 2 * THREADS + 5), (2 * MAX_BLOCKS + 1, 3)],
                         ids=["one-element", "block-loops-over-a-row", "blocks-loop-over-rows"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_matches_cpu_on_fixed_shapes(name, shape, dtype):
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 3.0, shape)
    logits[0] += 1e4
    logits[-1] -= 1e4
    labels, dy = _inputs(name, shape, dtype, rng)
    if name == "sparse_softmax_cross_entropy":
        labels[0], labels[-1] = 0, shape[-1] - 1
    if name == "probability_cross_entropy":   # the last row: one value, clipped at 1 - eps
        logits = _probabilities(logits)
    _check(name, labels, logits.astype(dtype), dy)
