"""The CUDA matrix products compute what the CPU ones compute: gemm (2-D) and array.matmul
(numpy's matmul: broadcast batch axes, 1-D operands, numpy's dtype promotion), on
Hypothesis-drawn small shapes and on sizes that are no multiple of the tile (the tails of
the tiled kernel), with the first and last rows and columns checked by name."""
import importlib
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbkeras.kernels.cuda.runtime import MAX_BLOCKS, TILE, to_device, to_host

cpu = importlib.import_module("nbkeras.kernels.cpu.gemm")
cuda = importlib.import_module("nbkeras.kernels.cuda.gemm")
cpu_array = importlib.import_module("nbkeras.kernels.cpu.array")
cuda_array = importlib.import_module("nbkeras.kernels.cuda.array")

TOLERANCE = {np.dtype(np.float32): dict(rtol=1e-5, atol=1e-5),
             np.dtype(np.float64): dict(rtol=1e-12, atol=1e-12)}
DTYPE_PAIRS = [(np.float32, np.float32), (np.float64, np.float64), (np.float32, np.float64),
               (np.int64, np.int64)]
sides = st.integers(1, 5)
batch_shapes = st.lists(st.integers(1, 3), max_size=2).map(tuple)


def _data(seed, shape, dtype) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "i":
        return rng.integers(-3, 4, shape).astype(dtype)
    return rng.uniform(-2.0, 2.0, shape).astype(dtype)


def _same(got, want) -> None:
    got = to_host(got)
    assert (got.shape, got.dtype) == (want.shape, want.dtype)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, **TOLERANCE[want.dtype])
    else:
        np.testing.assert_array_equal(got, want)


def test_exports_the_cpu_functions_with_their_signatures():
    assert cuda.__all__ == cpu.__all__
    for name in cpu.__all__:
        assert inspect.signature(getattr(cuda, name)) == inspect.signature(getattr(cpu, name))


@settings(max_examples=10)
@given(m=sides, k=sides, n=sides, dtypes=st.sampled_from(DTYPE_PAIRS), seed=st.integers(0, 99))
def test_gemm(m, k, n, dtypes, seed):
    a, b = _data(seed, (m, k), dtypes[0]), _data(seed + 1, (k, n), dtypes[1])
    _same(cuda.gemm(to_device(a), to_device(b)), cpu.gemm(a, b))


@settings(max_examples=10)
@given(m=sides, k=sides, n=sides, batch=batch_shapes,
       vector=st.sampled_from([None, "a", "b", "both"]), data=st.data(),
       dtypes=st.sampled_from(DTYPE_PAIRS), seed=st.integers(0, 99))
def test_matmul(m, k, n, batch, vector, data, dtypes, seed):
    """Batch axes broadcast either way, or missing on b; 1-D operands."""
    pairs = [data.draw(st.sampled_from([(s, s), (1, s), (s, 1)])) for s in batch]
    batch_a = tuple(p for p, _ in pairs)
    batch_b = tuple(q for _, q in pairs)[data.draw(st.integers(0, len(pairs))):]
    a_shape = (k,) if vector in ("a", "both") else batch_a + (m, k)
    b_shape = (k,) if vector in ("b", "both") else batch_b + (k, n)
    a, b = _data(seed, a_shape, dtypes[0]), _data(seed + 1, b_shape, dtypes[1])
    _same(cuda_array.matmul(to_device(a), to_device(b)), cpu_array.matmul(a, b))


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (TILE + 1, TILE * 2 + 3, TILE - 1),
                                     (TILE * 3 + 2, 1, TILE * 2 + 1), (2, TILE * 4 + 1, 3)])
def test_tails_of_the_tiles(m, k, n):
    """Sizes around the tile; the first and last rows and columns checked by name."""
    a, b = _data(1, (m, k), np.float64), _data(2, (k, n), np.float64)
    got, want = to_host(cuda.gemm(to_device(a), to_device(b))), cpu.gemm(a, b)
    _same(got, want)
    for i, j in [(0, 0), (0, n - 1), (m - 1, 0), (m - 1, n - 1)]:
        assert got[i, j] == pytest.approx(want[i, j], rel=1e-12)


def test_more_tiles_than_blocks_in_a_batch():
    """Blocks loop over (batch, tile) tasks: more of them than the grid has blocks."""
    a = _data(3, (MAX_BLOCKS + 1, 1, TILE + 1, 3), np.float32)
    b = _data(4, (2, 3, TILE + 2), np.float32)
    _same(cuda_array.matmul(to_device(a), to_device(b)), cpu_array.matmul(a, b))


def test_core_dimension_mismatch_raises():
    with pytest.raises(ValueError, match="matmul"):
        cuda.gemm(to_device(np.ones((2, 3))), to_device(np.ones((4, 2))))
    with pytest.raises(ValueError, match="matmul"):
        cuda_array.matmul(to_device(np.ones(3)), 2.0)


@pytest.mark.parametrize("a_shape, b_shape", [((2, 3, 5), (5, 4)), ((5,), (5, 3))])
def test_cublas_products_where_chosen_else_declined(monkeypatch, a_shape, b_shape):
    """NBKERAS_CUDA_BLAS=cublas on a GPU with CuPy: cuBLAS gives the CPU's product (numpy's
    matmul semantics, batch and 1-D operands). Elsewhere (the default, the simulator) it
    declines and the tiled kernel runs."""
    cublas = importlib.import_module("nbkeras.kernels.cuda.cublas")
    monkeypatch.setattr(cublas, "MIN_WORK", 0)
    a, b = _data(5, a_shape, np.float32), _data(6, b_shape, np.float32)
    got = cublas.product(to_device(a), to_device(b), work=1)
    if cublas._cupy() is None:
        assert got is None
        got = cuda_array.matmul(to_device(a), to_device(b))
    _same(got, cpu_array.matmul(a, b))
