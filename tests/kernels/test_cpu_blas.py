"""blas.py's gemm called from a kernel: out += s.T @ d adds into what out holds, for row
blocks and column slices of larger matrices (rows evenly spaced, any row stride), in one
call or in runs of rows or of columns (OpenBLAS's small products), float32 and float64,
against numpy in float64; and the runs fit the small products' limit."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from nbkeras.kernels.cpu import blas


@njit
def _add(gemm_address, s, d, out, small_limit):
    blas.add_product_of_transposed(gemm_address, s, d, out, small_limit)


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(0, 40), inputs=st.integers(1, 9), width=st.integers(1, 40),
       limit=st.sampled_from([0, 1, 700, 3000, 16 * 9 * 40, 10 ** 6]),
       padding=st.tuples(*[st.integers(0, 3)] * 3),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**32 - 1))
def test_a_product_of_the_transposed_adds_into_its_output(rows, inputs, width, limit,
                                                          padding, dtype, seed):
    rng = np.random.default_rng(seed)

    def block(shape, pad):
        """A (shape) view into a larger matrix: extra rows before it, extra columns after."""
        whole = rng.standard_normal((shape[0] + 2, shape[1] + pad)).astype(dtype)
        return whole[1:shape[0] + 1, :shape[1]]
    s, d = block((rows, inputs), padding[0]), block((rows, width), padding[1])
    out = block((inputs, width), padding[2])
    before = out.copy()
    _add(blas.address(dtype), s, d, out, limit)
    want = before.astype(np.float64) + s.T.astype(np.float64) @ d.astype(np.float64)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, want, rtol=tolerance, atol=tolerance)


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
