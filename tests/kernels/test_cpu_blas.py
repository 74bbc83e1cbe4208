"""blas.py's gemm called from a kernel: out = a @ b and out = s.T @ d, or added into what
out holds, for row blocks and column slices of larger matrices (rows evenly spaced, any row
stride), in one call or in runs of rows or of columns (OpenBLAS's small products), float32
and float64, against numpy in float64 (out prefilled with NaN where it is written, not
added to); and the runs fit the small products' limit."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

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


@settings(max_examples=80, deadline=None)
@given(rows=st.integers(0, 40), inputs=st.integers(1, 9), width=st.integers(1, 40),
       limit=st.sampled_from([0, 1, 700, 3000, 16 * 9 * 40, 10 ** 6]),
       padding=st.tuples(*[st.integers(0, 3)] * 3), add=st.booleans(), dtype=_dtypes,
       seed=_seeds)
def test_a_product_of_the_transposed_sets_or_adds_into_its_output(rows, inputs, width, limit,
                                                                  padding, add, dtype, seed):
    """No rows: out is zero, or kept when adding."""
    rng = np.random.default_rng(seed)
    s = _block(rng, (rows, inputs), padding[0], dtype)
    d = _block(rng, (rows, width), padding[1], dtype)
    out = _block(rng, (inputs, width), padding[2], dtype)
    if not add:
        out[...] = np.nan
    before = out.copy()
    _product_of_transposed(blas.address(dtype), s, d, out, add, limit)
    _check(out, before, add, s.T.astype(np.float64) @ d.astype(np.float64), dtype)


@settings(max_examples=80, deadline=None)
@given(m=st.integers(0, 30), k=st.integers(0, 9), n=st.integers(1, 30),
       padding=st.tuples(*[st.integers(0, 3)] * 3), add=st.booleans(), dtype=_dtypes,
       seed=_seeds)
def test_a_product_sets_or_adds_into_its_output(m, k, n, padding, add, dtype, seed):
    """Including k = 0 (out zero, or kept) and operands with one row."""
    rng = np.random.default_rng(seed)
    a, b = _block(rng, (m, k), padding[0], dtype), _block(rng, (k, n), padding[1], dtype)
    out = _block(rng, (m, n), padding[2], dtype)
    if not add:
        out[...] = np.nan
    before = out.copy()
    _product(blas.address(dtype), a, b, out, add)
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


def test_the_addresses_are_scipys_gemms_for_both_float_types():
    single, double = blas.address(np.float32), blas.address(np.float64)
    assert single and double and single != double
