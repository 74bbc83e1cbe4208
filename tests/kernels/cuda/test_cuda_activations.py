"""The CUDA activation kernels compute what the CPU ones compute, forward and backward, for
every activation and its parameters, on Hypothesis-drawn arrays kept away from the kinks and
on fixed shapes: 0-d, one element, and more elements than the grid has threads (the grid
loops, by a size that is no multiple of the block)."""
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cpu import activations as cpu
from nbkeras.kernels.cuda import activations as cuda
from nbkeras.kernels.cuda.runtime import MAX_BLOCKS, THREADS, to_host
from nbkeras.testing import strategies as nst

# atol: formulas that cancel at |x| of a few (1 + tanh, 1 - tanh²) keep few float32 digits,
# which any ulp of difference in tanh or exp changes.
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
DTYPES = [np.float32, np.float64]


def _public(module) -> dict:
    """The functions a kernel module defines under public names."""
    return {name: value for name, value in vars(module).items() if not name.startswith("_")
            and inspect.isfunction(value) and value.__module__ == module.__name__}


ACTIVATIONS = sorted({name.rsplit("_", 1)[0] for name in _public(cpu)})
PARAMETERS = {   # Hypothesis strategies of each activation's extra arguments
    "relu": st.tuples(st.sampled_from([0.0, 0.2]) | st.floats(0.0, 0.5),
                      st.none() | st.floats(0.5, 3.0), st.floats(-1.0, 1.0)),
    "elu": st.tuples(st.floats(0.1, 2.0)),
    "gelu": st.tuples(st.booleans()),
}


def _kinks(name: str, params: tuple) -> tuple:
    """Where the activation or its derivative jumps: the inputs stay away from there."""
    if name == "relu":
        _, max_value, threshold = params
        return (threshold,) if max_value is None else (threshold, max_value)
    return {"elu": (0.0,), "selu": (0.0,), "hard_sigmoid": (-3.0, 3.0)}.get(name, ())


def _check(name: str, params: tuple, x: np.ndarray, dy: np.ndarray) -> None:
    """CUDA forward and backward against the CPU ones (the backward given the CPU's y)."""
    y = getattr(cpu, f"{name}_forward")(x, *params)
    dx = getattr(cpu, f"{name}_backward")(dy, x, y, *params)
    for got, want in [(getattr(cuda, f"{name}_forward")(x, *params), y),
                      (getattr(cuda, f"{name}_backward")(dy, x, y, *params), dx)]:
        got = to_host(got)
        assert (got.shape, got.dtype) == (want.shape, want.dtype)
        np.testing.assert_allclose(got, want, **TOLERANCE[x.dtype.type])


def test_exports_the_cpu_functions_with_their_signatures():
    expected = _public(cpu)
    assert sorted(cuda.__all__) == sorted(expected)
    assert sorted(_public(cuda)) == sorted(expected)
    for name, function in expected.items():
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(function), name


@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=8)
@given(data=st.data(), dtype=st.sampled_from(DTYPES), shape=nst.shapes(1, 3, 1, 6))
def test_matches_cpu(name, data, dtype, shape):
    params = data.draw(PARAMETERS.get(name, st.just(())), label="params")
    x = data.draw(nst.arrays(shape, kinks=_kinks(name, params), scale=3.0), label="x")
    dy = data.draw(nst.arrays(shape), label="dy")
    _check(name, params, x.astype(dtype), dy.astype(dtype))


@pytest.mark.parametrize("shape", [(), (1,), (2 * THREADS * MAX_BLOCKS + 3,)],
                         ids=["0-d", "one-element", "grid-loops"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_matches_cpu_on_fixed_shapes(name, dtype, shape):
    params = {"relu": (0.1, 2.0, 0.5), "elu": (0.5,), "gelu": (True,)}.get(name, ())
    rng = np.random.default_rng(0)
    x = nst.away_from(rng.normal(0.0, 3.0, shape), _kinks(name, params), 1e-2)
    _check(name, params, x.astype(dtype), rng.normal(size=shape).astype(dtype))
