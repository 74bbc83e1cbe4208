"""Inner kernels (kernels/cpu/inner.py): compiled without Python wrappers, called from
compiled code (directly or as a shell's body by address), cached on disk, and refused with a
TypeError when called from Python."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit, prange
from numba.core import caching

from nbkeras.kernels.cpu import conv, pooling
from nbkeras.kernels.cpu.inner import inner_kernel
from nbkeras.kernels.cpu.shells import body_address, call_body


@inner_kernel
def _affine_run(x, start, stop, scale, y):
    """y[i] = x[i] * scale + i for start <= i < stop."""
    for i in range(start, stop):
        y[i] = x[i] * scale + i


@inner_kernel(fastmath={"contract"})
def _affine_chunk(x, scale, y, t, chunks):
    """Chunk t of `chunks` of _affine_run over all of x."""
    _affine_run(x, t * x.shape[0] // chunks, (t + 1) * x.shape[0] // chunks, scale, y)


@njit
def _affine(x, scale, y):
    _affine_run(x, 0, x.shape[0], scale, y)


@njit(parallel=True)
def _affine_shell(body, x, scale, y, chunks):
    for t in prange(chunks):
        call_body(body, (x, scale, y, np.intp(t), chunks))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 40), chunks=st.integers(1, 4), scale=st.floats(-3, 3),
       seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from([np.float32, np.float64]))
def test_inner_kernels_run_from_compiled_code_and_as_a_shells_body(n, chunks, scale, seed,
                                                                    dtype):
    x = np.random.default_rng(seed).standard_normal(n).astype(dtype)
    expected = x * dtype(scale) + np.arange(n, dtype=dtype)
    direct = np.full(n, np.nan, dtype)
    _affine(x, dtype(scale), direct)
    np.testing.assert_allclose(direct, expected, rtol=1e-6)
    shelled = np.full(n, np.nan, dtype)
    args = (x, dtype(scale), shelled)
    _affine_shell(body_address(_affine_chunk, (*args, 0, chunks)), *args, chunks)
    np.testing.assert_allclose(shelled, expected, rtol=1e-6)


def test_an_inner_kernel_is_compiled_without_wrappers_and_cached_on_disk():
    x = np.arange(5.0)
    _affine(x, 2.0, np.empty(5))
    for result in _affine_run.overloads.values():
        library, names = result.library, result.fndesc
        assert library.get_pointer_to_function(names.llvm_cpython_wrapper_name) == 0
        assert library.get_pointer_to_function(names.llvm_func_name) != 0
    for kernel in (_affine_run, conv._patches, conv._conv_backward_chunk,
                   pooling.max_pool_rows):
        assert isinstance(kernel._cache, caching.FunctionCache)


@pytest.mark.parametrize("kernel", [_affine_run, conv._move, pooling.max_pool_rows])
def test_calling_an_inner_kernel_from_python_is_a_clear_error(kernel):
    y = np.zeros(3)
    with pytest.raises(TypeError, match=rf"{kernel.py_func.__qualname__} is an inner kernel"):
        kernel(np.ones(3), 0, 3, 2.0, y)
    np.testing.assert_array_equal(y, 0)
