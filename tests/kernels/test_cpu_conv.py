"""kernels/cpu/conv.py compiles each im2col helper once per argument types. Numba types a
constant argument by its value, so a call that passes `0` where another passes a variable
compiles the helper a second time (about a second for `_patches`, on the path to a cold first
training step); the forward and backward passes therefore never pass integer constants to
the helpers they share. And conv_forward's `out`: the result written into it, on every path,
and an `out` it cannot write into refused."""
import ast
import inspect

import numpy as np
import pytest

from nbkeras.kernels.cpu import conv
from nbkeras.kernels.geometry import window

SHARED_HELPERS = ("_patches", "_move", "_patches_one_channel", "_bias_relu", "max_pool_rows")


def test_no_integer_constant_reaches_a_shared_conv_helper():
    tree = ast.parse(inspect.getsource(conv))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Name) and node.func.id in SHARED_HELPERS]
    assert {call.func.id for call in calls} == set(SHARED_HELPERS)
    constants = [(call.func.id, call.lineno) for call in calls for argument in call.args
                 if isinstance(argument, ast.Constant) and type(argument.value) is int]
    assert not constants, f"integer constants passed at (helper, line): {constants}"


@pytest.mark.parametrize("channels,size,pool", [(1, 3, None), (3, 2, None), (1, 3, 2), (3, 3, 3),
                                                (8, 3, None), (8, 3, 2)],
                         ids=["one-channel", "im2col", "one-channel+pool", "im2col+pool",
                              "winograd", "winograd+pool"])
def test_conv_forward_writes_into_out_and_returns_it(channels, size, pool):
    """conv_forward(..., out=a) leaves in `a` what it returns without `out`, on each path
    (whatever `a` held before), and returns `a` itself."""
    rng = np.random.default_rng(channels * 10 + size)
    x = rng.standard_normal((3, 11, 10, channels)).astype(np.float32)
    w = rng.standard_normal((size, size, channels, 5)).astype(np.float32)
    bias = rng.standard_normal(5).astype(np.float32)
    geometry = window("valid", (11, 10), (size, size), (1, 1))
    pooling = None if pool is None else window("valid", (None, None), (pool, pool), (pool, pool))
    fresh = conv.conv_forward(x, w, geometry, 1, bias, True, pooling)
    out = np.full(fresh.shape, np.nan, np.float32)
    assert conv.conv_forward(x, w, geometry, 1, bias, True, pooling, out=out) is out
    np.testing.assert_array_equal(out, fresh)


def test_conv_forward_refuses_an_out_it_cannot_write_into():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 6, 2))
    w = rng.standard_normal((3, 3, 2, 4))
    geometry = window("valid", (6, 6), (3, 3), (1, 1))
    good = np.empty((2, 4, 4, 4))
    bad = {"shape (2, 4, 4, 3)": np.empty((2, 4, 4, 3)),
           "float32": np.empty((2, 4, 4, 4), np.float32),
           "not C-contiguous": np.empty((2, 4, 4, 8))[..., ::2]}
    for out in bad.values():
        with pytest.raises(ValueError, match=r"conv_forward: out must be a C-contiguous "
                                             r"float64 array of shape \(2, 4, 4, 4\)"):
            conv.conv_forward(x, w, geometry, out=out)
    overlapping = np.empty(2 * 6 * 6 * 2 + good.size)
    x_in = overlapping[:x.size].reshape(x.shape)
    x_in[...] = x
    with pytest.raises(ValueError, match="must not overlap the input x"):
        conv.conv_forward(x_in, w, geometry, out=overlapping[x.size // 2:][:good.size]
                          .reshape(good.shape))
    np.testing.assert_array_equal(x_in, x)            # the input is as it was
