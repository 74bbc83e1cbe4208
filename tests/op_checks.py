"""Shared by the op tests (tests/ops, and the op-level tests of other folders): results
against expected arrays, on the device the test runs on, and a few Hypothesis strategies."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import ops
from nbkeras.core.device import canonical, current_device
from nbkeras.testing import check_grads
from nbkeras.testing import strategies as nst

RTOL, ATOL = 1e-10, 1e-12


def tensor(x) -> nk.Tensor:
    """x as a Tensor on the current device (`nk.Tensor(array)` would stay on the CPU)."""
    return ops.convert_to_tensor(x)


def assert_on_current_device(y) -> None:
    assert canonical(y.device) == current_device(), \
        f"result on {y.device}, the test runs on {current_device()}"


def assert_matches(y, expected, rtol=RTOL, atol=ATOL, dtype="float64"):
    """y is a Tensor of `dtype` on the current device with the shape and values of
    `expected`."""
    assert isinstance(y, nk.Tensor), f"expected a Tensor, got {type(y).__name__}"
    assert y.dtype == dtype, f"dtype {y.dtype} != {dtype}"
    assert_on_current_device(y)
    got = np.asarray(y)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def check_op_grads(fn, inputs, **kwargs) -> None:
    """check_grads for an op with its own VJP: in full on the CPU; on cuda along one random
    direction per input (the simulator runs each perturbation as fresh kernel launches)."""
    if current_device() == "cuda":
        kwargs.setdefault("mode", "projection")
    check_grads(fn, inputs, **kwargs)


def check_composed_grads(fn, inputs, **kwargs) -> None:
    """check_grads for an op composed from other ops (matmul, gathers, reductions, ...): on
    the CPU only. Its parts' VJPs are checked on cuda in their own tests, and a gradient
    check of the whole composition in the simulator would take minutes."""
    if current_device() == "cpu":
        check_grads(fn, inputs, **kwargs)


def assert_op(fn, reference, *inputs, grads=True, composed=True, rtol=RTOL, atol=ATOL):
    """fn(*inputs) matches reference(*inputs); its KerasTensor call infers the eager shape and
    dtype; if `grads`, its gradient passes the finite-difference check (check_composed_grads
    for an op composed from other ops, the default; check_op_grads for one with its own
    VJP)."""
    eager = fn(*inputs)
    assert_matches(eager, reference(*inputs), rtol=rtol, atol=atol)
    symbolic = fn(*[nk.KerasTensor(x.shape, "float64") for x in inputs])
    assert (symbolic.shape, symbolic.dtype) == (eager.shape, eager.dtype)
    if grads:
        (check_composed_grads if composed else check_op_grads)(fn, list(inputs))


def size_of(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def tape_gradient(fn, x: np.ndarray) -> np.ndarray:
    """d sum(fn(x)) / dx from the tape, x on the current device."""
    t = tensor(x)
    with nk.GradientTape() as tape:
        tape.watch(t)
        y = ops.sum(fn(t))
    return tape.gradient(y, t).numpy()


@st.composite
def tie_free_pair(draw, shapes_strategy):
    """Two float64 arrays of broadcastable shapes whose values are all pairwise distinct
    (gaps >= 1e-2), so maximum/minimum never tie."""
    shape_a, shape_b = draw(shapes_strategy)
    values = draw(nst.arrays((size_of(shape_a) + size_of(shape_b),), no_ties=True))
    return (values[:size_of(shape_a)].reshape(shape_a),
            values[size_of(shape_a):].reshape(shape_b))


@st.composite
def axis_and_keepdims(draw, ndim: int):
    """axis: None, one axis (maybe negative) or a tuple of distinct axes; keepdims."""
    kind = draw(st.sampled_from(["none", "int", "tuple"] if ndim else ["none"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                               unique=True))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in chosen)
    return axis, draw(st.booleans())
