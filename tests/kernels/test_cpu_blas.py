"""blas.py's gemm called from a kernel: out = a @ b and out = s.T @ d, or added into what
out holds, for row blocks and column slices of larger matrices (rows evenly spaced, any row
stride), in one call or in runs of rows or of columns (OpenBLAS's small products), float32
and float64, through the kernels' gemm (numpy's OpenBLAS, 64-bit integers, where numpy
bundles one) and through SciPy's (32-bit integers, the fallback), against numpy in float64
(out prefilled with NaN where it is written, not added to); the runs fit the small
products' limit; and which gemm is chosen."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from numba.extending import get_cython_function_address

from nbkeras.kernels.cpu import blas


@njit
def _product_of_transposed(gemm_address, s, d, out, add, small_limit):
    blas.product_of_transposed(gemm_address, s, d, out, add, small_limit)


@njit
def _product(gemm_address, a, b, out, add):
    blas.product(gemm_address, a, b, out, add)


def _block(rng, shape, pad, dtype):
    """A (shape) view into a larger matrix: extra rows before it, extra columns after."""
    whole = rng.standard_normal((shape[0] + 2, shape[1] + pad)).astype(dtype)
    return whole[1:shape[0] + 1, :shape[1]]


def _check(out, before, add, product, dtype):
    want = product + (before.astype(np.float64) if add else 0)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, want, rtol=tolerance, atol=tolerance)


_dtypes, _seeds = st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1)


def _scipy_address(dtype):
    """SciPy's gemm (32-bit integers): an int64 to the kernels."""
    name = {np.dtype(np.float32): "sgemm", np.dtype(np.float64): "dgemm"}[np.dtype(dtype)]
    return get_cython_function_address("scipy.linalg.cython_blas", name)


_GEMMS = {"kernels": blas.address, "scipy": _scipy_address}


@settings(max_examples=80, deadline=None)
@given(rows=st.integers(0, 40), inputs=st.integers(1, 9), width=st.integers(1, 40),
       limit=st.sampled_from([0, 1, 700, 3000, 16 * 9 * 40, 10 ** 6]),
       padding=st.tuples(*[st.integers(0, 3)] * 3), add=st.booleans(), dtype=_dtypes,
       seed=_seeds)
@pytest.mark.parametrize("gemm", sorted(_GEMMS))
def test_a_product_of_the_transposed_sets_or_adds_into_its_output(gemm, rows, inputs, width,
                                                                  limit, padding, add, dtype,
                                                                  seed):
    """No rows: out is zero, or kept when adding."""
    rng = np.random.default_rng(seed)
    s = _block(rng, (rows, inputs), padding[0], dtype)
    d = _block(rng, (rows, width), padding[1], dtype)
    out = _block(rng, (inputs, width), padding[2], dtype)
    if not add:
        out[...] = np.nan
    before = out.copy()
    _product_of_transposed(_GEMMS[gemm](dtype), s, d, out, add, limit)
    _check(out, before, add, s.T.astype(np.float64) @ d.astype(np.float64), dtype)


@settings(max_examples=80, deadline=None)
@given(m=st.integers(0, 30), k=st.integers(0, 9), n=st.integers(1, 30),
       padding=st.tuples(*[st.integers(0, 3)] * 3), add=st.booleans(), dtype=_dtypes,
       seed=_seeds)
@pytest.mark.parametrize("gemm", sorted(_GEMMS))
def test_a_product_sets_or_adds_into_its_output(gemm, m, k, n, padding, add, dtype, seed):
    """Including k = 0 (out zero, or kept) and operands with one row."""
    rng = np.random.default_rng(seed)
    a, b = _block(rng, (m, k), padding[0], dtype), _block(rng, (k, n), padding[1], dtype)
    out = _block(rng, (m, n), padding[2], dtype)
    if not add:
        out[...] = np.nan
    before = out.copy()
    _product(_GEMMS[gemm](dtype), a, b, out, add)
    _check(out, before, add, a.astype(np.float64) @ b.astype(np.float64), dtype)


@settings(max_examples=200, deadline=None)
@given(rows=st.integers(0, 600), inputs=st.integers(1, 600), width=st.integers(1, 600),
       limit=st.sampled_from([0, 10 ** 4, 10 ** 6]))
def test_runs_are_small_products_of_rows_or_columns_in_multiples_of_16(rows, inputs, width,
                                                                       limit):
    row_run, column_run = blas.runs(rows, inputs, width, limit)
    rows = max(rows, 1)                               # no rows: no calls, as for one
    if 16 * inputs * width <= limit:                  # runs of rows: all columns
        assert row_run % 16 == 0 and column_run == width
        assert row_run * inputs * width <= limit < (row_run + 16) * inputs * width
    elif limit and 16 * inputs * rows <= limit:       # runs of columns: all rows
        assert row_run == rows and column_run % 16 == 0
        assert column_run * inputs * rows <= limit < (column_run + 16) * inputs * rows
    else:                                             # one call
        assert (row_run, column_run) == (rows, width)


def test_the_kernels_call_numpys_openblas_where_numpy_bundles_one_else_scipys_gemm(
        monkeypatch):
    """numpy's wheels bundle scipy-openblas64 (ILP64: its address a uint64); without that
    library (another numpy build, or no threadpoolctl to find it) SciPy's gemm (an int)."""
    library, addresses = blas._gemms.__wrapped__()
    single, double = addresses[np.dtype(np.float32)], addresses[np.dtype(np.float64)]
    assert single and double and single != double
    numpys = "openblas64_" in library.filepath if library is not None else False
    assert isinstance(single, np.uint64) == numpys
    monkeypatch.setattr(blas, "blas_controller", lambda: None)
    library, addresses = blas._gemms.__wrapped__()
    assert library is None
    assert addresses == {np.dtype(dtype): _scipy_address(dtype)
                         for dtype in (np.float32, np.float64)}
