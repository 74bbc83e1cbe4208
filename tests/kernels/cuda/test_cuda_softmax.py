"""The CUDA softmax and log-softmax kernels (one block per row) compute what the CPU ones
compute, forward and backward: on Hypothesis-drawn shapes, and on fixed ones where one
element is the whole array, a row is longer than the block (the block loops over it, by a
width that is no multiple of the block) and there are more rows than blocks; the first and
last rows are shifted by +-1e4 (the max shift keeps them finite)."""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import softmax as cpu
from nbkeras.kernels.cuda import softmax as cuda
from nbkeras.kernels.cuda.runtime import MAX_BLOCKS, THREADS, to_host
from nbkeras.testing import strategies as nst

TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
DTYPES = [np.float32, np.float64]


def _public(module) -> dict:
    """The functions a kernel module defines under public names."""
    return {name: value for name, value in vars(module).items() if not name.startswith("_")
            and inspect.isfunction(value) and value.__module__ == module.__name__}


def _close(got, want, err_msg: str, **tolerance) -> None:
    got = to_host(got)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    np.testing.assert_allclose(got, want, err_msg=err_msg, **tolerance)


def _check(x: np.ndarray, dy: np.ndarray) -> None:
    """softmax and log_softmax, forward and backward (given the CPU's y), against the CPU."""
    tolerance = TOLERANCE[x.dtype.type]
    # log_softmax is x - (max + log(sum)): in float32 (the CPU sums in float64) it is known
    # to an ulp of the largest |x|.
    shifted = dict(tolerance, atol=max(tolerance["atol"], np.finfo(x.dtype).eps * abs(x).max()))
    for name, forward_tolerance in [("softmax", tolerance), ("log_softmax", shifted)]:
        y = getattr(cpu, f"{name}_forward")(x)
        _close(getattr(cuda, f"{name}_forward")(x), y, name, **forward_tolerance)
        _close(getattr(cuda, f"{name}_backward")(dy, x, y), getattr(cpu, f"{name}_backward")(
            dy, x, y), f"{name}_backward", **tolerance)


def test_exports_the_cpu_functions_with_their_signatures():
    expected = _public(cpu)
    assert sorted(cuda.__all__) == sorted(cpu.__all__) == sorted(expected)
    assert sorted(_public(cuda)) == sorted(expected)
    for name, function in expected.items():
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(function), name


@settings(max_examples=8)
@given(data=st.data(), dtype=st.sampled_from(DTYPES), rows=nst.shapes(0, 2, 1, 3),
       width=st.integers(1, 40))
def test_matches_cpu(data, dtype, rows, width):
    shape = (*rows, width)
    x = data.draw(nst.arrays(shape, scale=3.0), label="x")
    dy = data.draw(nst.arrays(shape), label="dy")
    _check(x.astype(dtype), dy.astype(dtype))


@pytest.mark.parametrize("shape", [(1, 1), (3, 2 * THREADS + 5), (2 * MAX_BLOCKS + 1, 3)],
                         ids=["one-element", "block-loops-over-a-row", "blocks-loop-over-rows"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_cpu_on_fixed_shapes(shape, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 3.0, shape)
    x[0] += 1e4
    x[-1] -= 1e4
    _check(x.astype(dtype), rng.normal(size=shape).astype(dtype))
