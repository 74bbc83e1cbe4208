"""Inner kernels (kernels/cpu/inner.py): compiled without Python wrappers, called from
compiled code (directly or as a shell's body by address), cached on disk, and refused with a
TypeError when called from Python; `linked=False` ones called through their symbol, in
this process and from a caller loaded from the disk cache in another."""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from numba.core import caching

from nbkeras.kernels.cpu import conv, pooling
from nbkeras.kernels.cpu.inner import inner_kernel
from nbkeras.kernels.cpu.shells import parallel_chunks


@inner_kernel
def _affine_run(x, start, stop, scale, y):
    """y[i] = x[i] * scale + i for start <= i < stop."""
    for i in range(start, stop):
        y[i] = x[i] * scale + i


@inner_kernel(fastmath={"contract"})
def _affine_chunk(t, chunks, x, scale, y):
    """Chunk t of `chunks` of _affine_run over all of x."""
    _affine_run(x, t * x.shape[0] // chunks, (t + 1) * x.shape[0] // chunks, scale, y)


@njit
def _affine(x, scale, y):
    _affine_run(x, 0, x.shape[0], scale, y)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 40), chunks=st.integers(1, 4), scale=st.floats(-3, 3),
       seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from([np.float32, np.float64]))
def test_inner_kernels_run_from_compiled_code_and_as_a_chunk_body(n, chunks, scale, seed,
                                                                    dtype):
    x = np.random.default_rng(seed).standard_normal(n).astype(dtype)
    expected = x * dtype(scale) + np.arange(n, dtype=dtype)
    direct = np.full(n, np.nan, dtype)
    _affine(x, dtype(scale), direct)
    np.testing.assert_allclose(direct, expected, rtol=1e-6)
    shelled = np.full(n, np.nan, dtype)
    parallel_chunks(_affine_chunk, chunks, x, dtype(scale), shelled)
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


_CHAIN = '''
import numpy as np
from numba import njit
from nbkeras.kernels.cpu.inner import inner_kernel

@inner_kernel(linked=False)
def leaf(x, y):
    for i in range(x.shape[0]):
        y[i] = 2 * x[i] + 1

@njit(cache=True)
def middle(x, y):
    leaf(x, y)

@njit(cache=True)
def outer(x, y):
    middle(x, y)
    y[0] += 100
'''


@njit
def _im2col_1x1(x, cols):
    """cols = im2col of x (1, 1, 1, W, C) for a 1x1 window: x's rows."""
    conv._patches(x, 0, cols.shape[0], np.empty(0, np.intp), 0, x.shape[4], (1, 1, 1),
                  (0, 0, 0), (1, 1, 1), (1, 1, 1), (1, 1, x.shape[3]), cols, False)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 30), seed=st.integers(0, 2**31 - 1),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_a_separate_inner_kernel_is_called_through_its_symbol_not_linked_in(n, seed, dtype):
    x = np.random.default_rng(seed).standard_normal((n, 5)).astype(dtype)
    cols = np.full((n, 5), np.nan, dtype)
    _im2col_1x1(x.reshape(1, 1, 1, n, 5), cols)
    np.testing.assert_array_equal(cols, x)
    caller = _im2col_1x1.overloads[next(iter(_im2col_1x1.overloads))].library._final_module
    defined = {f.name for f in caller.functions if not f.is_declaration}
    called = {f.name for f in caller.functions if f.is_declaration}
    assert not any(r.fndesc.llvm_func_name in defined for r in conv._patches.overloads.values())
    assert any(name.startswith("nbkeras.inner.nbkeras.kernels.cpu.conv._patches.")
               for name in called)


def test_a_cached_kernel_finds_the_separate_kernels_it_calls_in_a_fresh_process(tmp_path):
    """Each step in its own process with one disk cache: `outer` is compiled in the second,
    linking `middle` loaded from the cache; the third loads `outer` alone, whose library must
    still make `leaf`'s symbol defined before it loads (it crashed the process before)."""
    (tmp_path / "chain.py").write_text(_CHAIN)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    script = ("import sys, numpy as np, chain; x = np.arange(4.0); y = np.zeros(4); "
              "getattr(chain, sys.argv[1])(x, y); print(y.tolist())")
    outputs = []
    for kernel in ("middle", "outer", "outer"):
        done = subprocess.run([sys.executable, "-c", script, kernel], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(done.stdout.strip())
    assert outputs == ["[1.0, 3.0, 5.0, 7.0]", "[101.0, 3.0, 5.0, 7.0]",
                       "[101.0, 3.0, 5.0, 7.0]"]
