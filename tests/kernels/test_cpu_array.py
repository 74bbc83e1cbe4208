"""The CPU array kernels' parallel paths (large float arrays) against numpy: arithmetic of
same-shape operands or a single number, float32 exp within 1 ulp of the correctly rounded
value over float32's whole range, sums and means over trailing axes, stacked matmul and
matrix products split by rows over the threads. The size thresholds are lowered so that
Hypothesis's small arrays take the parallel paths."""
import contextlib
import importlib
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numba import njit

from nbkeras.kernels.cpu.vector_math import exp as vector_exp

array = importlib.import_module("nbkeras.kernels.cpu.array")
gemm = importlib.import_module("nbkeras.kernels.cpu.gemm")
blas = importlib.import_module("nbkeras.kernels.cpu.blas")

shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=7)
floats = st.sampled_from([np.float32, np.float64])
seeds = st.integers(0, 2**32 - 1)
few = settings(max_examples=30, deadline=None)


def _parallel_always():
    return mock.patch.multiple(array, PARALLEL_ARRAY_MIN_ELEMENTS=0)


@few
@given(shape=shapes, dtype=floats, seed=seeds, scalar=st.sampled_from([None, "a", "b"]))
def test_arithmetic_is_numpys(shape, dtype, seed, scalar):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    b[rng.random(shape) < 0.1] = 0.0                       # inf and NaN from 0 and 0 / 0
    if scalar == "a":
        a = np.asarray(a.flat[0])
    elif scalar == "b":
        b = np.asarray(b.flat[0])
    with _parallel_always(), np.errstate(divide="ignore", invalid="ignore"):
        for kernel, ufunc in ((array.add, np.add), (array.subtract, np.subtract),
                              (array.multiply, np.multiply), (array.divide, np.divide)):
            got, want = kernel(a, b), ufunc(a, b)
            assert (got.shape, got.dtype) == (want.shape, want.dtype)
            np.testing.assert_array_equal(got, want)


def test_arithmetic_of_strided_broadcast_or_mixed_operands_is_numpys():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 8)).astype(np.float32)
    with _parallel_always():
        for b in (a.T.copy().T[:, ::2], a[:1], a.astype(np.float64), np.arange(8)):
            left = a[:, ::2] if b.shape == (6, 4) else a
            np.testing.assert_array_equal(array.multiply(left, b), np.multiply(left, b))


def test_float32_exp_is_within_one_ulp_everywhere():
    bits = np.arange(-2**31, 2**31, 4099, dtype=np.int64).astype(np.int32)
    x = bits.view(np.float32)
    x = np.concatenate([x[np.abs(x) < 110], np.array(
        [np.nan, -np.nan, np.inf, -np.inf, 88.72283, 88.7229, -87.34, -103.97, -104.0,
         -1e4, 1e4, 0.0, -0.0, 1e-40], np.float32)])
    with _parallel_always():
        got = array.exp(x)
    with np.errstate(over="ignore"):
        want = np.exp(x.astype(np.float64)).astype(np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = ~np.isnan(want)
    ulps = np.abs(got[finite].view(np.int32).astype(np.int64)
                  - want[finite].view(np.int32).astype(np.int64))
    assert ulps.max() <= 1


def test_vector_exp_keeps_the_library_exp_for_float64():
    from numba import njit
    x = np.random.default_rng(1).standard_normal(50) * 30
    out = np.empty_like(x)

    @njit
    def apply(values, result):
        for i in range(values.size):
            result[i] = vector_exp(values[i])

    apply(x, out)
    np.testing.assert_allclose(out, np.exp(x), rtol=1e-15)


@few
@given(shape=shapes, dtype=floats, seed=seeds, data=st.data())
def test_sum_and_mean_over_trailing_axes(shape, dtype, seed, data):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    tail = data.draw(st.integers(1, len(shape)))
    axis = data.draw(st.sampled_from([tuple(range(len(shape) - tail, len(shape))),
                                      -1 if tail == 1 else None if tail == len(shape) else
                                      tuple(range(-tail, 0))]))
    keepdims = data.draw(st.booleans())
    with _parallel_always():
        for name in ("sum", "mean"):
            got = array.reduce(name, x, axis, keepdims)
            want = getattr(np, name)(x.astype(np.float64), axis=axis, keepdims=keepdims)
            assert (got.shape, got.dtype) == (want.shape, x.dtype)
            # any summation order rounds within count * eps * sum|x| (Higham's bound); a
            # fixed rtol of 1e-6 failed a float32 sum of 252 values by 3e-6 (flaky)
            count = x.size // max(want.size, 1)
            magnitude = getattr(np, name)(np.abs(x.astype(np.float64)), axis=axis,
                                          keepdims=keepdims)
            bound = count * np.finfo(dtype).eps * magnitude + np.finfo(dtype).tiny
            assert np.all(np.abs(got - want) <= bound), (name, np.abs(got - want).max())


def test_long_rows_sum_as_accurately_as_numpys_pairwise_sum():
    """Rows of many SUM_BLOCKs (a compile-time constant: patching it would cache the
    patched kernel)."""
    x = np.random.default_rng(2).random((3, 300_000), dtype=np.float32)
    exact = x.astype(np.float64).sum(axis=-1)
    ours = np.abs(array.reduce("sum", x, -1, False) - exact).max()
    assert ours <= 2 * np.abs(x.sum(axis=-1) - exact).max() + 1e-3


def _assert_product_is(got, want, dtype):
    """got, in `dtype`, equals the float64 product `want` to that dtype's precision."""
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert (got.shape, got.dtype) == (want.shape, dtype)
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


@few
@given(batch=hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4),
       m=st.integers(1, 6), k=st.integers(1, 6), n=st.integers(1, 6), dtype=floats,
       seed=seeds, transposed=st.booleans())
def test_stacked_matmul_is_numpys(batch, m, k, n, dtype, seed, transposed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(batch + (m, k)).astype(dtype)
    b = rng.standard_normal(batch + (n, k)).astype(dtype).swapaxes(-1, -2) if transposed \
        else rng.standard_normal(batch + (k, n)).astype(dtype)
    with mock.patch.object(array, "PARALLEL_STACK_MIN_FLOPS", 0):
        got = array.matmul(a, b)
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    _assert_product_is(got, want, dtype)


def _matrix(rng, shape, dtype, transposed):
    """A random float matrix stack of `shape`, C-ordered or a transposed view."""
    if transposed:
        return rng.standard_normal(shape[:-2] + shape[:-3:-1]).astype(dtype).swapaxes(-1, -2)
    return rng.standard_normal(shape).astype(dtype)


def _laid_out(rng, shape, dtype, layout):
    """A random float matrix of `shape`: C-ordered, a transposed view, or a view of every
    other column of a wider one (neither C- nor F-contiguous)."""
    if layout == "sliced":
        return rng.standard_normal((shape[0], 2 * shape[1])).astype(dtype)[:, ::2]
    return _matrix(rng, shape, dtype, layout == "transposed")


@few
@given(m=st.integers(1, 9), k=st.integers(1, 6), n=st.integers(1, 9), dtype=floats,
       seed=seeds, layouts=st.tuples(*[st.sampled_from(["c", "transposed", "sliced"])] * 2),
       threads=st.integers(1, 3), block=st.integers(1, 3))
def test_gemm_split_over_the_threads_is_numpys(m, k, n, dtype, seed, layouts, threads, block):
    """Every product big enough to split (blocks of at least `block` rows, or of columns
    when the rows are few) over Numba's threads, with either operand a transposed view, as
    dense's backward passes them, or a strided one."""
    import numba

    rng = np.random.default_rng(seed)
    a = _laid_out(rng, (m, k), dtype, layouts[0])
    b = _laid_out(rng, (k, n), dtype, layouts[1])
    a_before, b_before = a.copy(), b.copy()
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        with mock.patch.multiple(gemm, THREADED_MIN_FLOPS=0, GEMM_THREADED_MIN_FLOPS=0,
                                 _MIN_BLOCK=block, _BLAS_ALONE_MAX=0):
            got = gemm.gemm(a, b)
    finally:
        numba.set_num_threads(before)
    want = a.astype(np.float64) @ b.astype(np.float64)
    _assert_product_is(got, want, dtype)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)


@few
@given(m=st.integers(1, 40), k=st.integers(1, 9), n=st.integers(1, 9), dtype=floats,
       seed=seeds, transposed=st.tuples(st.booleans(), st.booleans()),
       runs=st.sampled_from([0, 3, 4, 8, 13, 10 ** 4]))
def test_gemm_of_a_small_product_in_row_runs_is_numpys(m, k, n, dtype, seed, transposed, runs):
    """A product below the threaded size runs in OpenBLAS's small products where they
    apply (C-contiguous operands, runs of 4 or more rows within the limit, here set to
    `runs` rows' worth; 0: a BLAS without them), else as one product."""
    rng = np.random.default_rng(seed)
    a = _matrix(rng, (m, k), dtype, transposed[0])
    b = _matrix(rng, (k, n), dtype, transposed[1])
    limit = runs * k * n
    with mock.patch.multiple(gemm, _BLAS_ALONE_MAX=0,
                             small_product_limit=mock.Mock(return_value=limit)):
        assert gemm._in_small_products(a, b) == (
            runs >= 4 and a.flags.c_contiguous and b.flags.c_contiguous)
        got = gemm.gemm(a, b)
    _assert_product_is(got, a.astype(np.float64) @ b.astype(np.float64), dtype)


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(0, 40), k=st.integers(1, 70), n=st.integers(1, 70),
       limit=st.sampled_from([0, 1, 500, 4000, 20000, 10 ** 6]))
def test_small_runs_are_multiples_of_8_or_4_rows_that_fit_the_limit(rows, k, n, limit):
    run = gemm.small_run_rows(rows, k, n, limit)
    fit = limit // (k * n)
    if fit >= 4:
        assert run * k * n <= limit and run % (8 if fit >= 8 else 4) == 0
        assert (run + 8) * k * n > limit or fit < 8
    else:
        assert run == max(rows, 1)


@njit
def _dot_in_row_runs(gemm_address, a, b, out, limit):
    gemm.dot_in_row_runs(gemm_address, a, b, out, limit)


@few
@given(m=st.integers(0, 40), k=st.integers(1, 9), n=st.integers(1, 9), dtype=floats,
       seed=seeds, limit=st.sampled_from([0, 4 * 81, 8 * 81, 13 * 81, 10 ** 6]))
def test_products_in_row_runs_are_numpys(m, k, n, dtype, seed, limit):
    """Runs of 4 and 8 rows with a shorter last one, and one call (limit 0 or large)."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)
    _dot_in_row_runs(blas.address(dtype), a, b, out, limit)
    _assert_product_is(out, a.astype(np.float64) @ b.astype(np.float64), dtype)


def _blas(path, architecture, api="openblas"):
    return mock.Mock(filepath=path, architecture=architecture, internal_api=api)


def test_small_products_are_used_only_where_the_kernels_blas_has_the_small_kernels():
    """The library whose gemm the kernels call (blas.gemm_library) decides: an OpenBLAS
    running a core's kernels that include the small-matrix ones."""
    other = "/somewhere/numpy.libs/libscipy_openblas64_.so"
    for library, want in [(_blas(other, "SkylakeX"), 10 ** 6),
                          (_blas(other, "Sapphire Rapids"), 10 ** 6),
                          (_blas(other, "Haswell"), 0), (_blas(other, "Zen"), 0),
                          (_blas(other, "SkylakeX", api="mkl"), 0), (None, 0)]:
        with mock.patch.object(gemm, "gemm_library", lambda: library), \
                mock.patch.object(gemm, "_small_limit", []):
            assert gemm.small_product_limit() == want, library


def test_a_product_blas_runs_alone_skips_the_thread_controls_and_a_larger_one_uses_them():
    """Holding BLAS to one thread (threadpoolctl) costs ~20 us, ten times a 1x64 @ 64x64
    product, which OpenBLAS runs on one thread anyway; a larger product is held."""
    rng = np.random.default_rng(3)
    entered = []
    with mock.patch.object(gemm, "single_threaded_blas",
                           lambda: entered.append(1) or contextlib.nullcontext()):
        for m, k, n in ((1, 64, 64), (2, 48, 64), (16, 64, 64)):
            a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
            np.testing.assert_allclose(gemm.gemm(a, b), a @ b, rtol=1e-12)
    assert len(entered) == 1                  # only 16 x 64 x 64 >= gemm._BLAS_ALONE_MAX


@few
@given(batch=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3),
       m=st.integers(1, 6), k=st.integers(1, 6), n=st.integers(1, 6), dtype=floats,
       seed=seeds, transposed=st.booleans(), by_matrix=st.booleans())
def test_matmul_of_big_matrices_runs_gemm_per_matrix_and_is_numpys(batch, m, k, n, dtype,
                                                                   seed, transposed,
                                                                   by_matrix):
    """A stack times one matrix (one product over the stacked rows) and a stack of matrices
    each big enough for the threads (one split product each)."""
    rng = np.random.default_rng(seed)
    a = _matrix(rng, batch + (m, k), dtype, False)
    b = _matrix(rng, (k, n) if by_matrix else batch + (k, n), dtype, transposed)
    with mock.patch.multiple(gemm, THREADED_MIN_FLOPS=0, _MIN_BLOCK=1, _BLAS_ALONE_MAX=0), \
            mock.patch.multiple(array, THREADED_MIN_FLOPS=0, PARALLEL_STACK_MIN_FLOPS=0):
        got = array.matmul(a, b)
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    _assert_product_is(got, want, dtype)


def test_vector_tanh_and_sigmoid_are_within_2e_7_in_float32_and_exact_in_float64():
    from numba import njit

    from nbkeras.kernels.cpu.vector_math import sigmoid, tanh

    @njit
    def apply(values, tanhs, sigmoids):
        for i in range(values.size):
            tanhs[i] = tanh(values[i])
            sigmoids[i] = sigmoid(values[i])

    x = np.concatenate([np.linspace(-20, 20, 40_001), [0.0, -0.0, 1e-30, 100.0, -100.0,
                                                       np.inf, -np.inf, np.nan]])
    for dtype, tolerance in ((np.float32, 2e-7), (np.float64, 1e-15)):
        values = x.astype(dtype)
        tanhs, sigmoids = np.empty_like(values), np.empty_like(values)
        apply(values, tanhs, sigmoids)
        with np.errstate(over="ignore"):
            exact = values.astype(np.float64)
            want_tanh, want_sigmoid = np.tanh(exact), 1 / (1 + np.exp(-exact))
        np.testing.assert_allclose(tanhs, want_tanh, rtol=0, atol=tolerance)
        np.testing.assert_allclose(sigmoids, want_sigmoid, rtol=0, atol=tolerance)


def test_a_kernel_using_the_vector_math_twice_compiles_without_numba_warnings():
    """Numba's inliner mis-scoped the if-expressions these functions used (numba#9489):
    every recurrent kernel printed four "please report" warnings when it compiled."""
    import warnings

    from numba import njit

    from nbkeras.kernels.cpu.vector_math import sigmoid, tanh

    @njit(error_model="numpy")
    def lstm_like(gates, c):
        for u in range(c.size):
            c[u] = sigmoid(gates[0, u]) * c[u] + sigmoid(gates[1, u]) * tanh(gates[2, u])
            c[u] = tanh(c[u]) * vector_exp(gates[3, u]) + vector_exp(-c[u])

    gates = np.random.default_rng(2).standard_normal((4, 5)).astype(np.float32)
    c = np.ones(5, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lstm_like(gates, c)
    g = gates.astype(np.float64)
    sig = 1 / (1 + np.exp(-g))
    want = sig[0] + sig[1] * np.tanh(g[2])
    want = np.tanh(want) * np.exp(g[3]) + np.exp(-want)
    np.testing.assert_allclose(c, want, rtol=2e-6)
